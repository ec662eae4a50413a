"""Export the current slice as a figure (PNG, SVG, PDF) through the store (``atlas_core.figures``,
the same call as ``atlas export``): the colours, scale, boundaries (the page's Pdyn and IMF Bz)
and the condition in the file name are the screen's."""

from __future__ import annotations

import io

import panel as pn

from .base import REGIME_CONDITIONS, View

FORMATS = ("png", "svg", "pdf")
WATCHED = ("plane", "offset", "slice_color", "regime", *REGIME_CONDITIONS)
"""The filters that change the exported figure or its name."""


class ExportView(View):
    """Download buttons that render the slice as the controls describe it, for a talk or paper."""

    title = "Export"

    def __init__(self, **params):
        super().__init__(**params)
        self._buttons = [self._button(fmt) for fmt in FORMATS]
        self._note = pn.pane.Markdown("", margin=(12, 5), css_classes=["atlas-export-note"])
        self.filters.param.watch(self._enable, list(WATCHED))
        self._enable()

    def _empty(self) -> list[str]:
        """The conditions of the current slice that select no window (nothing to draw)."""
        f = self.filters
        conds = [f.quiet(), f.storm()] if f.slice_color == "storm_minus_quiet" else [f.current()]
        return [c.label for c in conds if not self.store.summary(c).get("n_states", 0)]

    def _enable(self, *_) -> None:
        """A figure of a selection with no window would show nothing: the buttons are disabled
        and say why, instead of a download that never comes."""
        empty = self._empty()
        for button in self._buttons:
            button.disabled = bool(empty)
        self._note.object = (f"nothing to export: {' and '.join(empty)} selects no window"
                             if empty else "")

    def render(self, fmt: str) -> bytes:
        """The current slice as ``fmt`` bytes (the same call as ``atlas export``)."""
        f = self.filters
        # boundaries that follow the selection are left to the export to find (the same
        # medians the page shows), so that its legend says where they come from
        pdyn, bz = (float(f.pdyn), float(f.imf_bz)) if f.boundaries == "chosen" else (None, None)
        return self.store.export(fmt, f.plane, float(f.offset), f.current(), f.slice_color,
                                 int(f.regime), f.quiet(), f.storm(), pdyn, bz)

    def filename(self, fmt: str) -> str:
        """The download name: plane, offset, colouring and the condition (no overwrites)."""
        f = self.filters
        return self.store.export_filename(fmt, f.plane, float(f.offset), f.current(),
                                          f.slice_color, int(f.regime), f.quiet(), f.storm())

    def _button(self, fmt: str) -> pn.widgets.FileDownload:
        button = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(self.render(fmt)), filename=self.filename(fmt),
            label=f"Download {fmt.upper()}", button_type="primary", width=150,
            css_classes=[f"atlas-export-{fmt}"])

        def rename(*_):
            button.filename = self.filename(fmt)

        self.filters.param.watch(rename, list(WATCHED))
        return button

    def __panel__(self):
        return pn.Row(pn.pane.Markdown("**Export this slice:**", margin=(12, 5)),
                      *self._buttons, self._note)

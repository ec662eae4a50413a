"""Export the current slice as a figure (PNG, SVG, PDF) through ``atlas_core.figures``."""

from __future__ import annotations

import io

import panel as pn

from .base import View

FORMATS = ("png", "svg", "pdf")


class ExportView(View):
    """Download buttons that render the slice as the controls describe it, for a talk or paper."""

    title = "Export"

    def render(self, fmt: str) -> bytes:
        """The current slice as ``fmt`` bytes (the same call as ``atlas export``)."""
        f = self.filters
        return self.store.export(fmt, f.plane, float(f.offset), f.current(), f.slice_color,
                                 int(f.regime), f.quiet(), f.storm(), float(f.pdyn),
                                 float(f.imf_bz))

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

        self.filters.param.watch(rename, ["plane", "offset", "slice_color", "regime", "mode",
                                          "show", "quiet_dst", "storm_dst", "target_dst",
                                          "target_ddst", "k_near"])
        return button

    def __panel__(self):
        return pn.Row(pn.pane.Markdown("**Export this slice:**", margin=(12, 5)),
                      *[self._button(fmt) for fmt in FORMATS])

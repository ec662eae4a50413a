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
        from atlas_core.figures import render_slice

        f = self.filters
        return render_slice(
            self.store.atlas, f.plane.lower(), float(f.offset), f.slice_color, f.current(), fmt,
            regime=int(f.regime), quiet=f.quiet(), storm=f.storm(),
            boundaries=(float(f.imf_bz), float(f.pdyn)),
        )

    def filename(self, fmt: str) -> str:
        f = self.filters
        return f"atlas_slice_{f.plane.lower()}_{f.offset:+.1f}RE_{f.slice_color}.{fmt}"

    def _button(self, fmt: str) -> pn.widgets.FileDownload:
        button = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(self.render(fmt)), filename=self.filename(fmt),
            label=f"Download {fmt.upper()}", button_type="primary", width=150,
            css_classes=[f"atlas-export-{fmt}"])

        def rename(*_):
            button.filename = self.filename(fmt)

        self.filters.param.watch(rename, ["plane", "offset", "slice_color"])
        return button

    def __panel__(self):
        return pn.Row(pn.pane.Markdown("**Export this slice:**", margin=(12, 5)),
                      *[self._button(fmt) for fmt in FORMATS])

"""The orbit of the time-series interval in the GSM XY and XZ planes, every window coloured by
its regime, with Earth and the boundaries for the interval's median solar wind."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.layouts import row
from bokeh.models import ColumnDataSource, HoverTool

from .base import View
from .drawing import BoundaryGlyphs, equal_aspect, fixed_ranges, plain_figure
from .timeseries import series_interval

FRAME = (330, 330)


class OrbitView(View):
    """Two projections of the interval's track, coloured by regime."""

    title = "Orbit"

    def __init__(self, **params):
        super().__init__(**params)
        self._labels = np.array([*self.store.labels, "no data"], dtype=object)
        self._colors = np.array([*self.store.colors, "#999999"], dtype=object)
        self.track = ColumnDataSource({"x": [], "y": [], "z": [], "fill": [], "regime": [],
                                       "time": []})
        self.figures, self._bounds = [], []
        for plane in ("XY", "XZ"):
            xr, yr = equal_aspect(self.store.plane_limits(plane), *FRAME)
            fig = plain_figure(f"atlas-orbit-{plane.lower()}", *FRAME, match_aspect=True,
                               title=f"Orbit, {plane} GSM", **fixed_ranges(xr, yr))
            v = plane[1].lower()
            dots = fig.scatter("x", v, source=self.track, fill_color="fill", line_color="fill",
                               size=4)
            fig.add_tools(HoverTool(renderers=[dots], tooltips="@time{%F %H:%M}: <b>@regime</b>",
                                    formatters={"@time": "datetime"}))
            fig.xaxis.axis_label, fig.yaxis.axis_label = "x_gsm [R_E]", f"{v}_gsm [R_E]"
            self._bounds.append((plane, BoundaryGlyphs(fig)))
            self.figures.append(fig)
        self._caption = pn.pane.Markdown("", margin=(0, 10), css_classes=["atlas-orbit-caption"])
        self.filters.param.watch(self._redraw, ["series_start", "series_hours"])
        self._redraw()

    def _redraw(self, *_) -> None:
        t0, t1 = series_interval(self.filters, self.store)
        frame = self.store.interval(t0, t1)
        codes = frame["code"].to_numpy() if "code" in frame else np.zeros(0, int)
        ok = codes >= 0
        pdyn, bz = frame.attrs.get("sw_pdyn_median"), frame.attrs.get("imf_bz_median")
        pdyn, bz = (2.0 if pdyn is None else pdyn), (0.0 if bz is None else bz)
        with pn.io.hold():
            self.track.data = {
                "x": frame["x_gsm"].to_numpy()[ok], "y": frame["y_gsm"].to_numpy()[ok],
                "z": frame["z_gsm"].to_numpy()[ok], "fill": self._colors[codes[ok]],
                "regime": self._labels[codes[ok]],
                "time": frame["time"].to_numpy(dtype="datetime64[ms]")[ok]}
            for plane, glyphs in self._bounds:
                glyphs.update(self.store.boundary_cuts(plane, 0.0, pdyn, bz))
            known = frame.attrs.get("sw_pdyn_median") is not None
            self._caption.object = (
                f"Boundaries for the interval's median solar wind: Pdyn {pdyn:.2g} nPa, "
                f"IMF Bz {bz:+.1f} nT." if known else
                "Boundaries for Pdyn 2 nPa, IMF Bz 0 nT (no solar-wind data in the interval).")

    def __panel__(self):
        return pn.Column(self._caption, pn.pane.Bokeh(row(*self.figures)),
                         sizing_mode="stretch_width", css_classes=["atlas-orbit"])

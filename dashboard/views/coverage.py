"""Orbital coverage: every window position, datashaded, in the XY, XZ and YZ (GSM) planes.

Zooming re-aggregates at the new resolution (Datashader through HoloViews' dynamic
operations, served by Bokeh).
"""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import panel as pn
from holoviews.operation.datashader import datashade, dynspread, rasterize

from atlas_core.palette import dst_scale

from ..filters import COVERAGE_COLORS
from .base import View
from .overlays import boundary_overlay

FRAME_WIDTH = 270
"""Plot frame width, px: three projections with colour bars fit beside each other."""
_MISSION_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


class CoverageView(View):
    """Three datashaded projections of the window positions."""

    title = "Orbital coverage"

    def __init__(self, **params):
        super().__init__(**params)
        self._frame = self.store.coverage_frame()  # read-only: positions, regime, Dst, mission
        f = self.filters
        self._pane = pn.pane.HoloViews(
            pn.bind(self._layout, color=f.param.coverage_color, pdyn=f.param.pdyn, bz=f.param.imf_bz),
            sizing_mode="stretch_width", min_height=420)

    def _projection(self, u: str, v: str, color: str):
        points = hv.Points(self._frame, kdims=[f"{u}_gsm", f"{v}_gsm"],
                           vdims=["regime", "dst", "mission"])
        xlim, ylim = self.store.plane_limits(f"{u}{v}".upper())
        height = int(round(FRAME_WIDTH * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])))
        common = dict(frame_width=FRAME_WIDTH, frame_height=max(120, height), bgcolor="white",
                      xlim=xlim, ylim=ylim,
                      xlabel=f"{u}_gsm [R_E]", ylabel=f"{v}_gsm [R_E]",
                      title=f"{u.upper()}{v.upper()} GSM — {COVERAGE_COLORS[color]}")
        if color == "count":
            return rasterize(points, aggregator=ds.count()).opts(
                cmap="viridis", cnorm="log", colorbar=True, clabel="windows", tools=["hover"], **common)
        if color == "dst":  # diverging, white at 0 nT: storms red, positive Dst blue
            scale = dst_scale()
            return rasterize(points, aggregator=ds.mean("dst")).opts(
                cmap=list(scale.palette()), clim=scale.clim, colorbar=True,
                clabel="mean Dst [nT]", tools=["hover"], **common)
        if color == "regime":
            key = dict(zip(self.store.labels, self.store.colors, strict=False))
            return dynspread(datashade(points, aggregator=ds.count_cat("regime"),
                                       color_key=key, min_alpha=60)).opts(**common)
        missions = list(self._frame["mission"].cat.categories)
        key = {m: _MISSION_COLORS[i % len(_MISSION_COLORS)] for i, m in enumerate(missions)}
        return dynspread(datashade(points, aggregator=ds.count_cat("mission"),
                                   color_key=key, min_alpha=60)).opts(**common)

    def _layout(self, color: str, pdyn: float, bz: float):
        plots = []
        for u, v in (("x", "y"), ("x", "z"), ("y", "z")):
            bounds = boundary_overlay(f"{u}{v}".upper(), 0.0, pdyn, bz)
            plots.append(self._projection(u, v, color) * bounds)
        return hv.Layout(plots).cols(3).opts(shared_axes=False)

    def __panel__(self):
        note = pn.pane.Markdown(
            f"{self.store.n_states:,} windows (all conditions). Boundaries at 0 R_E offset (the "
            "planes through Earth) for the page's Pdyn and IMF Bz. Zoom to re-aggregate.", margin=(0, 10))
        return pn.Column(self._pane, note, sizing_mode="stretch_width",
                         css_classes=["atlas-coverage"])

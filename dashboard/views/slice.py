"""Octree slice: the leaves cut by a plane, drawn as rectangles; click one to inspect it."""

from __future__ import annotations

import holoviews as hv
import panel as pn

from ..filters import SLICE_COLORS
from .base import REGIME_CONDITIONS, View
from .overlays import boundary_overlay

SLICE_PLOT_NAME = "atlas-slice"
"""The Bokeh figure's name (the browser tests find the plot by it)."""

_HOVER = [
    ("leaf", "@leaf"), ("regime (dominant)", "@regime"), ("windows", "@windows"),
    ("effective count", "@n_eff{0.0}"),
    ("P(dominant)", "@p_dominant{0.000}"), ("P(chosen regime)", "@p_regime{0.000}"),
    ("entropy", "@entropy{0.00} bits"), ("storm − quiet", "@diff{+0.000}"),
]


def _name_plot(plot, element):
    plot.state.name = SLICE_PLOT_NAME


def _colorbar_hook(scale):
    """A hook that shows the slice's colour scale as a Bokeh colour bar (the cells are drawn
    in their final ``fill`` colours; the bar maps the same palette and limits)."""

    def hook(plot, element):
        from bokeh.models import ColorBar, LinearColorMapper, LogColorMapper

        fig = plot.state
        bars = [r for r in fig.right if isinstance(r, ColorBar)]
        if scale.kind == "categorical":
            for bar in bars:
                bar.visible = False
            return
        kind = LogColorMapper if scale.kind == "log" else LinearColorMapper
        mapper = kind(palette=list(scale.palette()), low=scale.vmin, high=scale.vmax)
        if bars:
            bars[0].update(color_mapper=mapper, title=scale.label, visible=True)
        else:
            fig.add_layout(ColorBar(color_mapper=mapper, title=scale.label), "right")

    return hook


class SliceView(View):
    """Rectangles of the leaves cut by the chosen plane, coloured by the chosen quantity."""

    title = "Octree slice"

    def __init__(self, **params):
        super().__init__(**params)
        f = self.filters
        # the cells in a DynamicMap of their own: the Tap stream needs a plain element source.
        # One stream for the plane and offset, shared by the three layers: a slider move then
        # triggers one refresh of the overlay, not one per layer (three before)
        where = hv.streams.Params(f, ["plane", "offset"])
        cells = hv.DynamicMap(self._cells, streams=[where, hv.streams.Params(
            f, ["slice_color", "regime", *REGIME_CONDITIONS])])
        bounds = hv.DynamicMap(self._boundaries, streams=[where, hv.streams.Params(
            f, ["pdyn", "imf_bz"])])
        marker = hv.DynamicMap(self._marker, streams=[where, hv.streams.Params(f, ["cell"])])
        self._tap = hv.streams.Tap(source=cells, x=None, y=None)
        self._tap.param.watch(self._on_tap, ["x", "y"])
        watched = ["plane", "offset", "slice_color", "regime", *REGIME_CONDITIONS]
        self._caption = pn.pane.Markdown(
            pn.bind(self._describe, **{p: f.param[p] for p in watched}),
            sizing_mode="stretch_width", margin=(0, 10), css_classes=["atlas-slice-caption"])
        self._pane = pn.pane.HoloViews(cells * bounds * marker, sizing_mode="stretch_width",
                                       min_height=480)

    def _describe(self, **_) -> str:
        f = self.filters
        cond = f.current()
        what = SLICE_COLORS[f.slice_color]
        if f.slice_color in ("probability", "storm_minus_quiet"):
            what += f" ({self.store.labels[f.regime]})"
        return (f"**{f.plane} plane at {f.offset:+.1f} R_E** — colour: {what}; condition: "
                f"{cond.label}. Faded cells hold fewer than {self.store.min_states} states. Click a cell to inspect it.")

    def _cells(self, plane, offset, slice_color, regime, **_):
        # colours, fading and the colour scale come from the product layer (store.slice_frame):
        # the glyphs draw its ``fill``/``alpha``, so screen and export show the same colours
        frame = self.store.slice_frame(self.filters)
        scale = frame.attrs["scale"]
        xlabel, ylabel = self.axis_labels(plane)
        vdims = ["leaf", "regime", "windows", "n_eff", "p_dominant", "p_regime", "entropy", "diff",
                 "value", "alpha", "fill"]
        rects = hv.Rectangles(frame, kdims=["u0", "v0", "u1", "v1"], vdims=vdims)
        opts = dict(
            tools=["hover", "tap"], hover_tooltips=_HOVER, line_color="white", line_width=0.3,
            fill_alpha="alpha", xlabel=xlabel, ylabel=ylabel, data_aspect=1,
            responsive=True, min_height=460, framewise=True, hooks=[_name_plot],
            nonselection_alpha=1.0, title=f"{plane} slice at {offset:+.1f} R_E",
        )
        opts["xlim"], opts["ylim"] = self.store.plane_limits(plane)
        opts["hooks"] = [_name_plot, _colorbar_hook(scale)]
        return rects.opts(color="fill", show_legend=False, **opts)

    def _boundaries(self, plane, offset, pdyn, imf_bz):
        return boundary_overlay(plane, offset, pdyn, imf_bz).opts(
            hv.opts.Path(show_legend=True), hv.opts.Overlay(
                legend_position="top_left",
                legend_opts={"background_fill_alpha": 0.6, "label_text_font_size": "8pt"}))

    def _marker(self, cell, plane, offset):
        if cell < 0:
            return hv.Rectangles([]).opts(fill_alpha=0, line_alpha=0)
        lo, hi = self.store.leaf_lo[cell], self.store.leaf_hi[cell]
        iu, iv = ("xyz".index(plane[0].lower()), "xyz".index(plane[1].lower()))
        return hv.Rectangles([(lo[iu], lo[iv], hi[iu], hi[iv])]).opts(
            fill_alpha=0, line_color="black", line_width=3)

    def _on_tap(self, *_events):
        x, y = self._tap.x, self._tap.y
        if x is None or y is None:
            return
        leaf = self.store.leaf_at(self.filters.plane, self.filters.offset, x, y)
        if leaf >= 0:
            self.filters.cell = leaf

    def __panel__(self):
        return pn.Column(self._caption, self._pane, sizing_mode="stretch_width")

"""Octree slice: the leaves a plane cuts, drawn as rectangles in the colours the product layer
gives them (``slice_table``'s ``fill`` and ``alpha``; low-count cells hatched too), the
boundaries for the selection's solar wind, the selected cell outlined; click a cell to inspect it.

One Bokeh figure per session, built once: a control change replaces the data of its sources,
never the glyphs or their style mappings (a changed mapping made BokehJS refuse the colours).
The frame has a fixed size and the ranges are widened to equal px per R_E on both axes.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, HoverTool

from ..filters import SLICE_COLORS
from ..palette import load_palette
from .base import REGIME_CONDITIONS, View
from .drawing import (
    BoundaryGlyphs,
    colorbar_html,
    equal_aspect,
    fixed_ranges,
    plain_figure,
    set_ranges,
)

SLICE_PLOT_NAME = "atlas-slice"
"""The Bokeh figure's name (the browser tests find the plot by it)."""
FRAME = (520, 470)
"""Data frame size, px."""
_COLUMNS = ["leaf", "u0", "u1", "v0", "v1", "windows", "n_eff", "regime", "medians", "p_dominant",
            "p_regime", "p_regime_lo", "p_regime_hi", "entropy", "diff", "fill", "alpha"]
_HOVER = """<div style="font-size:12px;max-width:320px">
<b>@regime</b> <span style="color:#666">(dominant)</span><br>
<span style="color:#666">@medians</span><br>
cell @leaf: <b>@windows</b> windows, <b>@n_eff{0.0}</b> effective counts<br>
P(dominant) @p_dominant{0.000} · entropy @entropy{0.00} bits<br>
P(chosen regime) @p_regime{0.000} [@p_regime_lo{0.000}, @p_regime_hi{0.000}]<br>
storm − quiet @diff{+0.000}</div>"""


class SliceView(View):
    """The slice figure, its colour bar and caption."""

    title = "Octree slice"

    def __init__(self, **params):
        super().__init__(**params)
        pal = load_palette()
        self._hatch = pal.get("low_count", {}).get("hatch", "///")[:1]
        self._medians = np.array([*self.store.regime_medians(), ""], dtype=object)
        self.cells = ColumnDataSource({c: [] for c in _COLUMNS})
        self.faded = ColumnDataSource({c: [] for c in ("u0", "u1", "v0", "v1")})
        self.marker = ColumnDataSource({"left": [], "right": [], "bottom": [], "top": []})
        xr, yr = self._ranges()
        fig = plain_figure(SLICE_PLOT_NAME, *FRAME, match_aspect=True, **fixed_ranges(xr, yr))
        quads = fig.quad(left="u0", right="u1", bottom="v0", top="v1", source=self.cells,
                         fill_color="fill", fill_alpha="alpha", line_color="white", line_width=0.3)
        # the hatching of low-count cells: a second glyph over those cells only, with ONE
        # hatch pattern (a per-cell hatch column made BokehJS build a canvas pattern for every
        # cell on every new slice: ~0.45 s of a plane or colour change in the browser)
        fig.quad(left="u0", right="u1", bottom="v0", top="v1", source=self.faded,
                 fill_alpha=0, line_alpha=0, hatch_pattern=self._hatch, hatch_color="#555555",
                 hatch_alpha=0.45, hatch_scale=8, name="low-count hatch")
        fig.add_tools(HoverTool(renderers=[quads], tooltips=_HOVER))
        self.boundaries = BoundaryGlyphs(fig)
        fig.quad(left="left", right="right", bottom="bottom", top="top", source=self.marker,
                 fill_alpha=0, line_color="black", line_width=3)
        fig.on_event(Tap, self._on_tap)
        self.figure = fig
        self._bar = pn.pane.HTML("", css_classes=["atlas-colorbar"], visible=False,
                                 sizing_mode="fixed", width=FRAME[0], margin=(0, 0, 0, 45))
        self._caption = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10),
                                         css_classes=["atlas-slice-caption"])
        f = self.filters
        f.param.watch(self._redraw, ["plane", "offset", "slice_color", "regime",
                                     *REGIME_CONDITIONS])
        f.param.watch(self._draw_boundaries, ["plane", "offset", "pdyn", "imf_bz", "boundaries"])
        f.param.watch(self._draw_marker, ["plane", "offset", "cell"])
        self._redraw()
        self._draw_boundaries()
        self._draw_marker()

    # --- drawing ----------------------------------------------------------------------------

    def _ranges(self):
        return equal_aspect(self.store.plane_limits(self.filters.plane), *FRAME)

    def _redraw(self, *events) -> None:
        f = self.filters
        table = self.store.slice_frame(f)
        data = {c: table[c].to_numpy() for c in _COLUMNS if c in table.columns}
        data["medians"] = self._medians[table["dominant"].to_numpy()]
        faded = (table["faded"] if "faded" in table else table["alpha"] < 1).to_numpy(bool)
        with pn.io.hold():
            self.cells.data = data
            self.faded.data = {c: data[c][faded] for c in ("u0", "u1", "v0", "v1")}
            if any(e.name == "plane" for e in events):
                set_ranges(self.figure, *self._ranges())
            u, v = self.axis_labels(f.plane)
            self.figure.xaxis.axis_label, self.figure.yaxis.axis_label = u, v
            self.figure.title.text = f"{f.plane} slice at {PLANE_AXIS[f.plane]}_GSM = {f.offset:+.1f} R_E"
            scale = table.attrs["scale"]
            self._bar.object = "" if scale.kind == "categorical" else colorbar_html(scale)
            self._bar.visible = scale.kind != "categorical"
            self._caption.object = self._describe(table)

    def _describe(self, table) -> str:
        f, a = self.filters, table.attrs
        what = SLICE_COLORS[f.slice_color]
        if f.slice_color in ("probability", "storm_minus_quiet"):
            what += f" ({self.store.labels[f.regime]})"
        cond = f.current()
        span = self.store.summary(cond)
        text = (f"**{f.plane} plane at {f.offset:+.1f} R_E** — colour: {what}; condition: "
                f"{cond.label} ({span.get('n_states', 0):,} windows)")
        if cond.kind == "near":
            text += ". " + neighbour_span(span)
        n_low = int((table["alpha"] < 1).sum())
        return (text + f". Faded, hatched cells ({n_low}) hold fewer than {a['min_count']} "
                "effective counts; light grey: no windows. Click a cell to inspect it.")

    # every change of a Bokeh model goes out inside pn.io.hold(): a change made from a Panel
    # callback outside it reached the browser only with the next message

    def _draw_boundaries(self, *_):
        f = self.filters
        with pn.io.hold():
            self.boundaries.update(self.store.boundary_cuts(f.plane, f.offset, f.pdyn, f.imf_bz))

    def _draw_marker(self, *_):
        f = self.filters
        cell = int(f.cell)
        data = {"left": [], "right": [], "bottom": [], "top": []}
        if cell >= 0:
            iu, iv = ("xyz".index(f.plane[0].lower()), "xyz".index(f.plane[1].lower()))
            lo, hi = self.store.leaf_lo[cell], self.store.leaf_hi[cell]
            data = {"left": [float(lo[iu])], "right": [float(hi[iu])], "bottom": [float(lo[iv])],
                    "top": [float(hi[iv])]}
        with pn.io.hold():
            self.marker.data = data

    # --- clicks -----------------------------------------------------------------------------

    def _on_tap(self, event) -> None:
        f = self.filters
        leaf = self.store.leaf_at(f.plane, f.offset, event.x, event.y)
        # a click on empty space (outside the octree, or a cell that never held a window)
        # selects nothing: there is nothing to inspect there
        if leaf >= 0 and self.store.states_in(leaf).size:
            f.cell = leaf

    def __panel__(self):
        return pn.Column(self._caption, pn.pane.Bokeh(self.figure, sizing_mode="fixed"), self._bar,
                         sizing_mode="stretch_width", css_classes=["atlas-slice"])


PLANE_AXIS = {"XY": "z", "XZ": "y", "YZ": "x"}


def neighbour_span(summary: dict) -> str:
    """What the nearest neighbours actually cover: Dst and driver 5–95 % and medians."""
    parts = []
    for name, label in (("dst", "Dst"), ("ddst", "dDst/dt"), ("sw_pdyn", "Pdyn"),
                        ("imf_bz", "IMF Bz"), ("sw_v", "V_sw")):
        s = summary.get(name)
        if s:
            parts.append(f"{label} {s['p05']:.3g} to {s['p95']:.3g} {s['unit']} "
                         f"(median {s['p50']:.3g})")
    if not parts:
        return "The neighbours' span is unknown (no drivers in this atlas)"
    return ("**The neighbours span (5–95 %):** " + "; ".join(parts)).replace("-", "−")

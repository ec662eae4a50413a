"""MLT–R and X–ρ maps of the dominant regime under the current condition, beside the GSM
slices: the dial of magnetic local time (Sun to the right, dusk up, as in the XY slice) and
radial distance, and the (x_GSM, ρ = √(y² + z²)) half-plane in which the magnetopause and bow
shock are profiles. Bins with fewer windows than the atlas' ``min_count`` are faded and hatched.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.layouts import row
from bokeh.models import ColumnDataSource, HoverTool, Label

from atlas_core.atlas.product import Condition

from ..palette import load_palette
from .base import REGIME_CONDITIONS, View
from .drawing import BoundaryGlyphs, equal_aspect, fixed_ranges, plain_figure

FRAME = (400, 400)
_HOVER = ("<b>@regime</b> (@fraction{0%} of @windows windows)<br>"
          "@u0{0.0}–@u1{0.0} @u_name, @v0{0.0}–@v1{0.0} R_E")


def _wedge_data(table) -> dict:
    phi0 = (table["u0"].to_numpy() - 12.0) * np.pi / 12.0
    phi1 = (table["u1"].to_numpy() - 12.0) * np.pi / 12.0
    data = {c: table[c].to_numpy() for c in ("u0", "u1", "v0", "v1", "windows", "regime",
                                             "fraction", "fill", "alpha")}
    data.update(start=phi0, end=phi1, u_name=np.full(len(table), "MLT h" if table.attrs["kind"] == "mlt_r" else "x R_E"))
    return data


class MapsView(View):
    """The two maps of the current condition's windows."""

    title = "MLT–R and X–ρ maps"

    def __init__(self, **params):
        super().__init__(**params)
        self._hatch = load_palette().get("low_count", {}).get("hatch", "///")[:1]
        empty = {c: [] for c in ("u0", "u1", "v0", "v1", "windows", "regime", "fraction", "fill",
                                 "alpha", "start", "end", "u_name")}
        self.sources = {"mlt_r": ColumnDataSource(dict(empty)), "x_rho": ColumnDataSource(dict(empty))}
        # low-count bins are hatched by a second glyph with ONE pattern (a per-bin hatch column
        # makes BokehJS build a canvas pattern for every bin on every redraw)
        self.faded = {k: ColumnDataSource(dict(empty)) for k in self.sources}
        hatch = {"hatch_pattern": self._hatch, "hatch_color": "#555555", "hatch_alpha": 0.45,
                 "hatch_scale": 8, "fill_alpha": 0, "line_alpha": 0}
        lo, hi = self.store.extent
        everything = self.store.regime_map("mlt_r", Condition())
        r_max = float(everything["v1"].max()) if len(everything) else 15.0
        lim = r_max + 1
        dial = plain_figure("atlas-map-mlt", *FRAME, match_aspect=True,
                            title="MLT–R: dominant regime (Sun to the right)",
                            **fixed_ranges((-lim, lim), (-lim, lim)))
        w = dial.annular_wedge(x=0, y=0, inner_radius="v0", outer_radius="v1",
                               start_angle="start", end_angle="end", source=self.sources["mlt_r"],
                               fill_color="fill", fill_alpha="alpha", line_color="white",
                               line_width=0.3)
        dial.annular_wedge(x=0, y=0, inner_radius="v0", outer_radius="v1", start_angle="start",
                           end_angle="end", source=self.faded["mlt_r"], **hatch)
        dial.add_tools(HoverTool(renderers=[w], tooltips=_HOVER))
        for radius in range(5, int(r_max) + 1, 5):
            dial.circle(x=0, y=0, radius=radius, fill_alpha=0, line_color="#999999",
                        line_dash="dotted")
            dial.add_layout(Label(x=radius * 0.71, y=radius * 0.71, text=f"{radius} R_E",
                                  text_font_size="10px", text_color="#666666"))
        for mlt, (x, y, align) in {"12": (lim - 0.4, 0, "right"), "18": (0, lim - 1.2, "center"),
                                   "00": (-lim + 0.4, 0, "left"), "06": (0, -lim + 0.4, "center")}.items():
            dial.add_layout(Label(x=x, y=y, text=f"{mlt} MLT", text_align=align,
                                  text_font_size="11px", text_font_style="bold"))
        dial.circle(x=0, y=0, radius=1, fill_color=load_palette()["earth"], line_color="black")
        dial.axis.visible = False
        dial.grid.visible = False
        xr, yr = equal_aspect(((lo[0] - 1, hi[0] + 1), (0, r_max)), *FRAME)
        half = plain_figure("atlas-map-xrho", *FRAME, match_aspect=True,
                            title="X–ρ: dominant regime", **fixed_ranges(xr, (0, yr[1] - yr[0])))
        q = half.quad(left="u0", right="u1", bottom="v0", top="v1", source=self.sources["x_rho"],
                      fill_color="fill", fill_alpha="alpha", line_color="white", line_width=0.3)
        half.quad(left="u0", right="u1", bottom="v0", top="v1", source=self.faded["x_rho"], **hatch)
        half.add_tools(HoverTool(renderers=[q], tooltips=_HOVER))
        half.xaxis.axis_label, half.yaxis.axis_label = "x_gsm [R_E]", "ρ = √(y² + z²) [R_E]"
        self.bounds = BoundaryGlyphs(half)
        self.figures = [dial, half]
        self._caption = pn.pane.Markdown("", margin=(0, 10), css_classes=["atlas-maps-caption"])
        f = self.filters
        f.param.watch(self._redraw, list(REGIME_CONDITIONS))
        f.param.watch(self._draw_boundaries, ["pdyn", "imf_bz"])
        self._redraw()
        self._draw_boundaries()

    def _redraw(self, *_) -> None:
        cond = self.filters.current()
        with pn.io.hold():
            n = 0
            for kind, src in self.sources.items():
                table = self.store.regime_map(kind, cond)
                data = _wedge_data(table)
                src.data = data
                low = table["low_count"].to_numpy(bool)
                self.faded[kind].data = {c: v[low] for c, v in data.items()}
                n = table.attrs["n_windows"]
            self._caption.object = (
                f"**{cond.label}**: {n:,} windows in 1 h × 1 R_E (MLT–R) and 1 × 1 R_E (X–ρ) "
                "bins; colour: the regime of most windows; faded, hatched: fewer than "
                f"{self.store.min_states} windows. MLT from solar-magnetic coordinates.")

    def _draw_boundaries(self, *_) -> None:
        f = self.filters
        profiles = self.store.boundary_profiles(f.pdyn, f.imf_bz)
        t = np.linspace(0, np.pi, 91)
        with pn.io.hold():
            self.bounds.update({"earth": [np.column_stack([np.cos(t), np.sin(t)])],
                               **{k: [np.column_stack(v)] for k, v in profiles.items()}})

    def __panel__(self):
        return pn.Column(self._caption, pn.pane.Bokeh(row(*self.figures)),
                         sizing_mode="stretch_width", css_classes=["atlas-maps"])

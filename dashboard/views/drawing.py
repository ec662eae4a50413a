"""Bokeh building blocks the views share: a plain canvas figure, equal-aspect ranges, the
Earth/magnetopause/bow-shock glyphs in the styles of ``assets/palette.json`` (the same keys the
figure export reads), and the regime colour bar.

Drawing only: every number and curve comes from the store.
"""

from __future__ import annotations

import html

import numpy as np
from bokeh.models import ColumnDataSource, Legend, LegendItem, Range1d
from bokeh.plotting import figure

from ..palette import load_palette

TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
_DASH = {"solid": "solid", "dashed": "dashed", "dotted": "dotted", "dashdot": "dashdot"}
BOUNDARY_LABELS = {"magnetopause": "magnetopause (Shue et al. 1998)",
                   "bow_shock": "bow shock (Jelínek et al. 2012)"}


def plain_figure(name: str, width: int, height: int, **kw):
    """A figure drawn on a 2D canvas (WebGL would only add GPU read-back warnings for a few
    thousand rectangles), fixed frame size, toolbar above."""
    kw.setdefault("tools", TOOLS)
    kw.setdefault("toolbar_location", "above")
    fig = figure(name=name, frame_width=width, frame_height=height, output_backend="canvas",
                 background_fill_color="white", border_fill_color="white", **kw)
    fig.toolbar.logo = None
    fig.title.text_font_size = "13px"
    return fig


EMPTY_RANGE, EMPTY_LOG_RANGE = (0.0, 1.0), (0.1, 10.0)
"""y ranges of a plot with no finite value to show (linear, log axis)."""


def value_range(values, log: bool) -> tuple[float, float]:
    """A y range that holds every finite value of ``values`` (arrays; positive values on a log
    axis), padded by 5 % (a factor 1.3 on a log axis); the empty range when there is none.

    The views set their y ranges from this rather than letting BokehJS find them: an
    auto-range over no data (or no positive data on a log axis) logs console warnings."""
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values]) if len(values) else np.zeros(0)
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    if v.size == 0:
        return EMPTY_LOG_RANGE if log else EMPTY_RANGE
    lo, hi = float(v.min()), float(v.max())
    if log:
        return lo / 1.3, hi * 1.3
    pad = 0.05 * (hi - lo) or max(abs(hi) * 0.05, 1.0)
    return lo - pad, hi + pad


def set_y_range(fig, values, log: bool) -> None:
    """Set a figure's y range (and its reset) to hold ``values`` (see :func:`value_range`)."""
    lo, hi = value_range(values, log)
    fig.y_range.update(start=lo, end=hi, reset_start=lo, reset_end=hi)


def equal_aspect(limits: tuple[tuple[float, float], tuple[float, float]], width: int,
                 height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Ranges that show ``limits`` ((x0, x1), (y0, y1)) in a ``width`` x ``height`` px frame
    with one scale on both axes: the tighter axis sets px per unit, the other widens about its
    centre."""
    (x0, x1), (y0, y1) = limits
    scale = min(width / (x1 - x0), height / (y1 - y0))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = width / scale / 2, height / scale / 2
    return (cx - hw, cx + hw), (cy - hh, cy + hh)


def set_ranges(fig, xr: tuple[float, float], yr: tuple[float, float]) -> None:
    """Move a figure's ranges (and what its reset tool returns to)."""
    for rng, (lo, hi) in ((fig.x_range, xr), (fig.y_range, yr)):
        rng.update(start=lo, end=hi, reset_start=lo, reset_end=hi)


def fixed_ranges(xr, yr) -> dict:
    return {"x_range": Range1d(*xr), "y_range": Range1d(*yr)}


def boundary_style(name: str) -> dict:
    """Bokeh line properties of a boundary curve from the palette's "boundaries" block."""
    pal = load_palette()
    style = pal.get("boundaries", {}).get(name, {})
    return {"line_color": style.get("color", pal.get(name, "#222222")),
            "line_dash": _DASH.get(style.get("dash", "solid"), "solid"),
            "line_width": float(style.get("width", 2))}


def _paths(curves) -> dict:
    return {"xs": [np.asarray(c)[:, 0] for c in curves], "ys": [np.asarray(c)[:, 1] for c in curves]}


class BoundaryGlyphs:
    """Earth (filled) and the magnetopause and bow-shock curves on a figure, with a legend
    outside the data frame; :meth:`update` swaps the curves in place."""

    def __init__(self, fig, legend_place: str = "below"):
        pal = load_palette()
        self.sources = {k: ColumnDataSource(_paths([])) for k in ("earth", "magnetopause", "bow_shock")}
        fig.patches("xs", "ys", source=self.sources["earth"], fill_color=pal["earth"],
                    line_color="black", line_width=0.5, name="earth")
        items = []
        for name in ("magnetopause", "bow_shock"):
            r = fig.multi_line("xs", "ys", source=self.sources[name], name=name,
                               **boundary_style(name))
            items.append(LegendItem(label=BOUNDARY_LABELS[name], renderers=[r]))
        self.legend = Legend(items=items, orientation="horizontal", label_text_font_size="11px",
                             border_line_alpha=0, background_fill_alpha=0, margin=2, padding=2)
        fig.add_layout(self.legend, legend_place)

    def update(self, cuts: dict) -> None:
        for name, src in self.sources.items():
            src.data = _paths(cuts.get(name, []))


def colorbar_html(scale, n_stops: int = 16) -> str:
    """A horizontal colour bar of a continuous :class:`~atlas_core.palette.ColorScale` as
    HTML (title, gradient, ticks), drawn from the same colours the cells are filled with."""
    stops = scale.stops(n_stops)
    gradient = ", ".join(f"{c} {100 * i / (len(stops) - 1):.1f}%" for i, c in enumerate(stops))
    lo, hi = float(scale.vmin), float(scale.vmax)

    def where(v):
        if scale.kind == "log":
            return (np.log10(v) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
        return (v - lo) / (hi - lo)

    ticks = "".join(
        f'<span style="left:{100 * where(v):.1f}%">{_tick(v)}</span>' for v in scale.ticks())
    return (f'<div class="atlas-cbar"><div class="atlas-cbar-title">{html.escape(scale.label)}</div>'
            f'<div class="atlas-cbar-ramp" style="background:linear-gradient(to right, {gradient})">'
            f'</div><div class="atlas-cbar-ticks">{ticks}</div></div>')


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:g}".replace("-", "−")

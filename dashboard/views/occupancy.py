"""Quiet vs storm: regime occupancy under two activity conditions, side by side."""

from __future__ import annotations

import holoviews as hv
import panel as pn
from holoviews import dim

from ..filters import Condition
from .base import REGIME_CONDITIONS, View

OCCUPANCY_PLOT_NAME = "atlas-occupancy"


def _name_plot(plot, element):
    plot.state.name = OCCUPANCY_PLOT_NAME
    axis = plot.state.xaxis[0]
    axis.group_label_orientation = "vertical"  # regime names
    axis.major_label_orientation = "vertical"  # the two conditions


class OccupancyView(View):
    """Fraction of states in each regime: quiet beside storm (or nearest-neighbour beside all)."""

    title = "Regime occupancy"

    def __init__(self, **params):
        super().__init__(**params)
        watched = {p: self.filters.param[p] for p in REGIME_CONDITIONS}
        self._table = pn.bind(self._frame, **watched)
        # a DynamicMap: a condition change sends new bar heights to the same figure
        self._pane = pn.pane.HoloViews(
            hv.DynamicMap(self._bars, streams=[hv.streams.Params(self.filters, list(REGIME_CONDITIONS))]),
            sizing_mode="stretch_width", min_height=540)
        self._text = pn.pane.Markdown(pn.bind(self._summary, **watched), margin=(0, 10),
                                      css_classes=["atlas-occupancy-text"])

    def _frame(self, **_):
        f = self.filters
        if f.mode == "nearest":
            return self.store.occupancy_comparison(f.nearest(), Condition(), names=("nearest", "all"))
        return self.store.occupancy_comparison(f.quiet(), f.storm())

    def _bars(self, **_):
        frame = self._frame()
        bars = hv.Bars(frame, kdims=["regime", "condition"], vdims=["fraction", "count", "colour"])
        return bars.opts(
            color="colour", fill_alpha=dim("condition").categorize(
                dict(zip(frame["condition"].unique(), (1.0, 0.45), strict=False)), default=1.0),
            line_color="black", line_width=0.5, responsive=True, min_height=520,
            ylabel="fraction of states", xlabel="", tools=["hover"], hooks=[_name_plot],
            multi_level=True, title=f"Regime occupancy: {' (solid) vs '.join(frame['condition'].unique())} (faded)")

    def _summary(self, **_):
        frame = self._frame()
        conds = frame["condition"].unique()
        lines = [f"**Occupancy** — {' vs '.join(conds)}. Largest shifts:"]
        wide = frame.pivot(index="regime", columns="condition", values="fraction")
        if len(conds) == 2:
            shift = (wide[conds[1]] - wide[conds[0]]).sort_values()
            for name in list(shift.index[:2]) + list(shift.index[-2:]):
                lines.append(f"- {name}: {wide.loc[name, conds[0]]:.3f} → {wide.loc[name, conds[1]]:.3f}")
        return "\n".join(lines)

    def __panel__(self):
        return pn.Column(self._pane, self._text, sizing_mode="stretch_width")

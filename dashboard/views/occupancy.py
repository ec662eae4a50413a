"""Quiet vs storm: regime occupancy under two conditions, compared at the same places.

A storm selection samples other places than a quiet one (the orbit does not care about Dst), so
the global window shares of the regimes differ even where nothing changes. The bars show the
position-matched shares (the same cells, with the same weights for both conditions:
:func:`atlas_core.atlas.shifts.position_matched`); the thin bars behind them the global shares.
The text says how much of each shift is the response and how much the sampling.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.core.properties import value
from bokeh.models import ColumnDataSource, FixedTicker, Legend, LegendItem, Range1d

from atlas_core.atlas.product import Condition

from .base import REGIME_CONDITIONS, View
from .drawing import plain_figure
from .inspector import CONDITION_COLORS

OCCUPANCY_PLOT_NAME = "atlas-occupancy"


class OccupancyView(View):
    """Horizontal bars per regime: condition a beside condition b, matched and global."""

    title = "Regime occupancy"

    def __init__(self, **params):
        super().__init__(**params)
        k = self.store.k
        self.sources = {key: ColumnDataSource({"y": [], "right": [], "color": []})
                        for key in ("global_a", "global_b", "matched_a", "matched_b")}
        fig = plain_figure(OCCUPANCY_PLOT_NAME, 420, 34 * k, tools="save",
                           x_range=Range1d(0, 1), y_range=Range1d(k - 0.5, -0.5),
                           title="Share of windows per regime: same places (solid), everywhere (thin)")
        items = []
        for key, h, alpha in (("global_a", 0.36, 0.25), ("global_b", 0.36, 0.25),
                              ("matched_a", 0.22, 1.0), ("matched_b", 0.22, 1.0)):
            r = fig.hbar(y="y", left=0, right="right", height=h, source=self.sources[key],
                         fill_color="color", line_color="color", fill_alpha=alpha)
            if key.startswith("matched"):
                items.append(r)
        fig.yaxis.ticker = FixedTicker(ticks=list(range(k)))
        fig.yaxis.major_label_overrides = {i: label for i, label in enumerate(self.store.labels)}
        fig.xaxis.axis_label = "fraction of the condition's windows"
        fig.ygrid.grid_line_color = None
        self._legend = Legend(items=[LegendItem(label="a", renderers=[items[0]]),
                                     LegendItem(label="b", renderers=[items[1]])],
                              orientation="horizontal", border_line_alpha=0)
        fig.add_layout(self._legend, "below")
        self.figure = fig
        self._text = pn.pane.Markdown("", margin=(0, 10), css_classes=["atlas-occupancy-text"])
        self.filters.param.watch(self._redraw, list(REGIME_CONDITIONS))
        self._redraw()

    def _pair(self):
        f = self.filters
        if f.mode == "nearest":
            return ("nearest", f.nearest()), ("all", Condition(mission=f.current().mission))
        return ("quiet", f.quiet()), ("storm", f.storm())

    def _redraw(self, *_) -> None:
        (na, a), (nb, b) = self._pair()
        table = self.store.occupancy_matched(a, b)
        k = np.arange(self.store.k)
        widest = max((float(np.nanmax(table[c])) for c in self.sources
                      if table is not None and len(table)), default=0.0)
        with pn.io.hold():
            # an explicit range (an auto-range over no bars makes BokehJS warn)
            end = min(1.0, 1.1 * widest) if widest > 0 else 1.0
            self.figure.x_range.update(start=0, end=end, reset_start=0, reset_end=end)
            for key, name, dy in (("global_a", na, -0.2), ("global_b", nb, 0.2),
                                  ("matched_a", na, -0.2), ("matched_b", nb, 0.2)):
                values = table[key].to_numpy() if table is not None else np.zeros(0)
                self.sources[key].data = {"y": (k + dy)[: len(values)], "right": values,
                                          "color": [CONDITION_COLORS.get(name, "#888")] * len(values)}
            self._legend.items[0].label = value(f"{na}: {a.label}")
            self._legend.items[1].label = value(f"{nb}: {b.label}")
            self._text.object = self._summary(na, nb, table)

    def _summary(self, na, nb, table) -> str:
        (_, a_cond), (_, b_cond) = self._pair()
        sizes = "; ".join(f"{c.label}: {self.store.summary(c).get('n_states', 0):,} windows"
                          for c in (a_cond, b_cond))
        if table is None:
            empty = [n for n, c in ((na, a_cond), (nb, b_cond))
                     if not self.store.summary(c).get("n_states", 0)]
            return (f"**No comparison:** {' and '.join(empty) or 'a condition'} selects no "
                    f"window ({sizes}).")
        a = table.attrs
        lines = [f"{sizes}.", f"**{nb} − {na}**, compared in {a.get('n_cells', '?')} cells of "
                 f"{a.get('cell_re', '?')} R_E that both sample ({a.get('coverage_a', 0):.0%} of "
                 f"{na}'s and {a.get('coverage_b', 0):.0%} of {nb}'s windows). Largest shifts "
                 "at the same places (± standard error; the part the sampling adds to the "
                 "global shift in brackets):"]
        order = np.argsort(-np.abs(table["matched_shift"].to_numpy()))[:4]
        for i in order:
            r = table.iloc[i]
            lines.append(f"- {self.store.labels[int(r['regime'])]}: {r['matched_a']:.3f} → "
                         f"{r['matched_b']:.3f} ({r['matched_shift']:+.3f} ± {r['matched_se']:.3f}; "
                         f"sampling {r['sampling_shift']:+.3f})")
        return "\n".join(lines)

    def __panel__(self):
        return pn.Column(pn.pane.Bokeh(self.figure), self._text, sizing_mode="stretch_width",
                         css_classes=["atlas-occupancy"])

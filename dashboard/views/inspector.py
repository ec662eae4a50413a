"""Cell inspector: one octree leaf's regime distribution with credible intervals, its state
count and its feature distributions, under the current condition beside quiet and storm.

The two plots are built once as ``DynamicMap``s over numeric coordinates, so that a click
only sends new data to the existing Bokeh figures (rebuilding figures per click costs ~0.5 s).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from holoviews import dim

from atlas_core.states import FEATURES

from .base import REGIME_CONDITIONS, View

INSPECTOR_CSS = "atlas-inspector"
CONDITION_COLORS = {"all": "#555555", "nearest": "#7B3294", "quiet": "#4C9BE8", "storm": "#D1495B"}
_WATCHED = ["cell", *REGIME_CONDITIONS]


class InspectorView(View):
    """Click a slice cell (or enter a GSM position) to fill this view."""

    title = "Cell inspector"

    def __init__(self, **params):
        super().__init__(**params)
        f = self.filters
        self._position = pn.widgets.TextInput(name="Position x, y, z (GSM, R_E)",
                                              placeholder="e.g. 10, 2, 0", width=220)
        self._go = pn.widgets.Button(name="Inspect position", button_type="primary", width=140,
                                     margin=(28, 5, 5, 5))
        self._go.on_click(self._on_position)
        self._message = pn.pane.Alert("", alert_type="warning", visible=False)
        self._memo: tuple[tuple, object] | None = None
        watched = {p: f.param[p] for p in _WATCHED}
        self._head = pn.pane.Markdown(pn.bind(self._head_text, **watched), css_classes=[INSPECTOR_CSS],
                                      sizing_mode="stretch_width")
        self._table = pn.pane.DataFrame(pn.bind(self._table_frame, **watched),
                                        css_classes=[INSPECTOR_CSS + "-table"],
                                        sizing_mode="stretch_width")
        stream = hv.streams.Params(f, _WATCHED)
        self._bars = pn.pane.HoloViews(hv.DynamicMap(self._regime_plot, streams=[stream]),
                                       sizing_mode="stretch_width")
        self._boxes = pn.pane.HoloViews(hv.DynamicMap(self._feature_plot, streams=[stream]),
                                        sizing_mode="stretch_width")

    def conditions(self) -> dict:
        f = self.filters
        if f.mode == "nearest":
            return {"nearest": f.nearest(), "quiet": f.quiet(), "storm": f.storm()}
        conds = {"quiet": f.quiet(), "storm": f.storm()}
        if f.show == "all":
            conds = {"all": f.current(), **conds}
        return conds

    def report(self):
        """The store's report for the filters' cell and conditions (memoised per view)."""
        cell = self.filters.cell
        if cell < 0:
            return None
        conds = self.conditions()
        key = (cell, tuple(conds.items()))
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, self.store.inspect_cell(cell, conds))
        return self._memo[1]

    def _on_position(self, _event=None):
        try:
            pos = [float(v) for v in self._position.value.replace(";", ",").split(",")]
            if len(pos) != 3 or not np.all(np.isfinite(pos)):
                raise ValueError
        except ValueError:
            self._show_message(f"Enter three numbers x, y, z in R_E, got {self._position.value!r}.")
            return
        leaf = self.store.locate(pos)
        if leaf < 0:
            self._show_message(f"Position {pos} R_E is outside the atlas.")
            return
        self._message.visible = False
        self.filters.cell = leaf

    def _show_message(self, text: str):
        self._message.object = text
        self._message.visible = True

    def _head_text(self, **_) -> str:
        report = self.report()
        if report is None:
            return "*No cell selected: click a cell in the slice or enter a position.*"
        key = " ".join(
            f'<span style="color:{CONDITION_COLORS.get(n, "#888")}">&#9632; {n}</span>'
            for n in report.counts)
        return (f"**Cell** {report.summary()}.  \nProbabilities are Dirichlet posterior means "
                f"with 90 % credible intervals, (state counts) in brackets. Conditions: {key}")

    def _table_frame(self, **_) -> pd.DataFrame:
        report = self.report()
        if report is None:
            return pd.DataFrame()
        reg = report.regimes
        text = {}
        for name in report.counts:
            sub = reg[reg["condition"] == name]
            text[name] = [f"{p:.3f} [{lo:.3f}, {hi:.3f}] ({int(n)})" for p, lo, hi, n in
                          zip(sub["p"], sub["p_lo"], sub["p_hi"], sub["count"], strict=True)]
        return pd.DataFrame(text, index=pd.Index(self.store.labels, name="regime"))

    def _regime_plot(self, **_):
        """Bars (posterior mean) and whiskers (90 % interval) per regime, one bar per condition
        side by side; numeric x so that a new cell only changes the data."""
        report = self.report()
        k = self.store.k
        names = list(self.conditions())
        width = 0.8 / len(names)
        rects, segs = [], []
        if report is not None:
            reg = report.regimes
            for j, name in enumerate(names):
                sub = reg[reg["condition"] == name]
                x = np.arange(k) - 0.4 + width * (j + 0.5)
                color = CONDITION_COLORS.get(name, "#888888")
                for xi, p, lo, hi, rc in zip(x, sub["p"], sub["p_lo"], sub["p_hi"], sub["colour"],
                                             strict=True):
                    rects.append((xi - width / 2, 0.0, xi + width / 2, p, rc, name))
                    segs.append((xi, lo, xi, hi, color))
        bars = hv.Rectangles(rects, kdims=["x0", "y0", "x1", "y1"], vdims=["colour", "condition"])
        whiskers = hv.Segments(segs, kdims=["x0", "y0", "x1", "y1"], vdims=["wcolour"])
        ticks = list(enumerate(self.store.labels))
        return (bars.opts(color="colour", line_color=dim("condition").categorize(
                    CONDITION_COLORS, default="#888888"), line_width=2)
                * whiskers.opts(color="wcolour", line_width=2)).opts(
            hv.opts.Overlay(xticks=ticks, xrotation=60, ylim=(0, 1), xlim=(-0.6, k - 0.4),
                            height=330, responsive=True, ylabel="P(regime)", xlabel="",
                            framewise=False,
                            title="Regime distribution (outline: condition; whisker: 90 % interval)"))

    def _feature_plot(self, **_):
        """Box (quartiles), whiskers (5-95 %) and median of each feature, one box per condition
        side by side; numeric x so that a new cell only changes the data."""
        report = self.report()
        names = list(self.conditions())
        width = 0.8 / len(names)
        boxes, segs = [], []
        labels = list(dict.fromkeys(self.store.feature_label(f) for f in FEATURES))
        if report is not None and not report.features.empty:
            q = (report.features.groupby(["feature", "condition"], sort=False)["value"]
                 .quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack())
            for (feature, cond), row in q.iterrows():
                if cond not in names:
                    continue
                x = labels.index(feature) - 0.4 + width * (names.index(cond) + 0.5)
                color = CONDITION_COLORS.get(cond, "#888888")
                boxes.append((x - width / 2, row[0.25], x + width / 2, row[0.75], color))
                segs += [(x, row[0.05], x, row[0.25], "#333333"), (x, row[0.75], x, row[0.95], "#333333"),
                         (x - width / 2, row[0.5], x + width / 2, row[0.5], "#000000")]
        rects = hv.Rectangles(boxes, kdims=["x0", "y0", "x1", "y1"], vdims=["colour"])
        lines = hv.Segments(segs, kdims=["x0", "y0", "x1", "y1"], vdims=["lcolour"])
        return (rects.opts(color="colour", line_color="black", line_width=0.5)
                * lines.opts(color="lcolour", line_width=1.5)).opts(
            hv.opts.Overlay(xticks=list(enumerate(labels)), xrotation=90, responsive=True,
                            height=440, xlim=(-0.6, len(labels) - 0.4), framewise=True,
                            ylabel="value (log10 where noted)", xlabel="",
                            title="Feature distributions of the cell's states (box: quartiles, "
                                  "whiskers: 5–95 %)"))

    def __panel__(self):
        return pn.Column(pn.Row(self._position, self._go), self._message, self._head, self._bars,
                         self._table, self._boxes, sizing_mode="stretch_width")

"""Cell inspector: one octree leaf's regime distribution under the current condition beside
quiet and storm — windows and effective counts, posterior means with 90 % intervals — and, for
a condition under which the cell holds no window, a plain statement instead of the prior.

The regime chart is one Bokeh figure built once (horizontal bars, regime names on the axis);
a new cell or condition only replaces its data.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, FixedTicker, Range1d

from .base import REGIME_CONDITIONS, View
from .drawing import plain_figure

INSPECTOR_CSS = "atlas-inspector"
CONDITION_COLORS = {"all": "#555555", "nearest": "#7B3294", "quiet": "#3C8DD6", "storm": "#D1495B"}
WATCHED = ["cell", *REGIME_CONDITIONS]


def conditions_of(filters) -> dict:
    """The named conditions the inspector compares: the current one beside quiet and storm."""
    if filters.mode == "nearest":
        return {"nearest": filters.nearest(), "quiet": filters.quiet(), "storm": filters.storm()}
    conds = {"quiet": filters.quiet(), "storm": filters.storm()}
    return {"all": filters.current(), **conds} if filters.show == "all" else conds


class InspectorView(View):
    """Click a slice cell (or enter a GSM position) to fill this view."""

    title = "Cell inspector"

    def __init__(self, **params):
        super().__init__(**params)
        self._position = pn.widgets.TextInput(name="Position x, y, z (GSM, R_E)",
                                              placeholder="e.g. 10, 2, 0", width=220)
        self._go = pn.widgets.Button(name="Inspect position", button_type="primary", width=140,
                                     margin=(28, 5, 5, 5))
        self._go.on_click(self._on_position)
        self._message = pn.pane.Alert("", alert_type="warning", visible=False)
        self._head = pn.pane.Markdown("", css_classes=[INSPECTOR_CSS], sizing_mode="stretch_width")
        self._table = pn.pane.HTML("", css_classes=[INSPECTOR_CSS + "-table"],
                                   sizing_mode="stretch_width")
        self.bars = ColumnDataSource({"y": [], "left": [], "right": [], "h": [], "color": []})
        self.whiskers = ColumnDataSource({"y": [], "x0": [], "x1": []})
        # the chart is made for the first selected cell (a page that never selects one never
        # pays for it); its Column is shown or hidden (toggling a Bokeh pane's own visibility
        # trips over its stylesheets in Panel 1.9)
        self._chart = pn.Column(visible=False, margin=0)
        self.filters.param.watch(self._refresh, WATCHED)
        self._refresh()

    def _figure(self):
        k = self.store.k
        fig = plain_figure("atlas-regime-bars", 230, 30 * k, tools="save",
                           x_range=Range1d(0, 1), y_range=Range1d(k - 0.5, -0.5),
                           title="P(regime): posterior mean, 90 % interval")
        fig.hbar(y="y", left="left", right="right", height="h", source=self.bars,
                 fill_color="color", line_color="color")
        fig.segment(x0="x0", x1="x1", y0="y", y1="y", source=self.whiskers, line_color="black",
                    line_width=1.5)
        fig.yaxis.ticker = FixedTicker(ticks=list(range(k)))
        fig.yaxis.major_label_overrides = {i: label for i, label in enumerate(self.store.labels)}
        fig.xaxis.axis_label = "probability"
        fig.ygrid.grid_line_color = None
        return fig

    def prepare(self) -> None:
        """Make the chart (hidden until a cell is selected); idempotent."""
        if not self._chart.objects:
            self._chart.objects = [pn.pane.Bokeh(self._figure())]

    def report(self):
        cell = self.filters.cell
        if cell < 0:
            return None
        return self.store.inspect_cell(cell, conditions_of(self.filters))

    def _refresh(self, *_):
        report = self.report()
        with pn.io.hold():
            self._chart.visible = report is not None
            if report is None:
                self._head.object = "*No cell selected: click a cell in the slice or enter a position.*"
                self._table.object = ""
                self.bars.data = {"y": [], "left": [], "right": [], "h": [], "color": []}
                self.whiskers.data = {"y": [], "x0": [], "x1": []}
                return
            self.prepare()
            self._head.object = self._head_text(report)
            self._table.object = self._table_html(report)
            self._draw(report)

    def _head_text(self, report) -> str:
        lo = ", ".join(f"{v:.2f}" for v in report.lo)
        hi = ", ".join(f"{v:.2f}" for v in report.hi)
        eff = report.regimes.groupby("condition", sort=False)["n_eff"].sum()
        lines = [f"**Cell** leaf {report.leaf} (level {report.level}), [{lo}] – [{hi}] R_E; "
                 f"{report.n_states} windows in all."]
        conds = conditions_of(self.filters)
        for name, n in report.counts.items():
            color = CONDITION_COLORS.get(name, "#888")
            swatch = f'<span style="color:{color}">&#9632;</span>'
            label = html.escape(conds[name].label)
            if n == 0:
                lines.append(f"{swatch} **{name}** ({label}): **no windows under this "
                             "condition** — nothing to estimate, no probabilities shown.")
            else:
                lines.append(f"{swatch} **{name}** ({label}): {n} windows, "
                             f"{eff.get(name, 0.0):.1f} effective counts.")
        return "  \n".join(lines)

    def _table_html(self, report) -> str:
        reg = report.regimes
        shown = [n for n, c in report.counts.items() if c > 0]
        if not shown:
            return ""
        wide = {}
        for name in shown:
            sub = reg[reg["condition"] == name]
            wide[name] = [f"{p:.3f} [{lo:.3f}, {hi:.3f}] ({int(n)} w, {e:.1f} eff.)"
                          for p, lo, hi, n, e in zip(sub["p"], sub["p_lo"], sub["p_hi"],
                                                     sub["count"], sub["n_eff"], strict=True)]
        names = [f'<i class="atlas-dot" style="background:{c}"></i>{html.escape(label)}'
                 for label, c in zip(self.store.labels, self.store.colors, strict=True)]
        frame = pd.DataFrame(wide, index=pd.Index(names, name="regime"))
        return frame.to_html(classes="atlas-table", border=0, escape=False)

    def _draw(self, report) -> None:
        reg = report.regimes
        shown = [n for n, c in report.counts.items() if c > 0]
        h = 0.8 / max(len(report.counts), 1)
        bars = {"y": [], "left": [], "right": [], "h": [], "color": []}
        whisk = {"y": [], "x0": [], "x1": []}
        for j, name in enumerate(report.counts):
            if name not in shown:  # no windows: no bar, no whisker (the prior is not data)
                continue
            sub = reg[reg["condition"] == name]
            y = np.arange(self.store.k) - 0.4 + h * (j + 0.5)
            bars["y"] += y.tolist()
            bars["left"] += [0.0] * len(y)
            bars["right"] += sub["p"].tolist()
            bars["h"] += [h * 0.9] * len(y)
            bars["color"] += [CONDITION_COLORS.get(name, "#888")] * len(y)
            whisk["y"] += y.tolist()
            whisk["x0"] += sub["p_lo"].tolist()
            whisk["x1"] += sub["p_hi"].tolist()
        self.bars.data, self.whiskers.data = bars, whisk

    def _on_position(self, _event=None):
        try:
            pos = [float(v) for v in self._position.value.replace(";", ",").split(",")]
            if len(pos) != 3 or not np.all(np.isfinite(pos)):
                raise ValueError
        except ValueError:
            self._show(f"Enter three numbers x, y, z in R_E, got {self._position.value!r}.")
            return
        leaf = self.store.locate(pos)
        if leaf < 0:
            self._show(f"Position {pos} R_E is outside the atlas.")
            return
        self._message.visible = False
        self.filters.cell = leaf

    def _show(self, text: str):
        self._message.object = text
        self._message.visible = True

    def __panel__(self):
        return pn.Column(pn.Row(self._position, self._go), self._message, self._head, self._chart,
                         self._table, sizing_mode="stretch_width")

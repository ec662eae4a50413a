"""Cell inspector: one octree leaf's regime distribution with credible intervals, its state
count and its feature distributions, under the current condition beside quiet and storm."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from holoviews import dim

from .base import REGIME_CONDITIONS, View

INSPECTOR_CSS = "atlas-inspector"


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
        watched = {"cell": f.param.cell, **{p: f.param[p] for p in REGIME_CONDITIONS}}
        self._body = pn.bind(self._render, **watched)

    def conditions(self) -> dict:
        f = self.filters
        if f.mode == "nearest":
            return {"nearest": f.nearest(), "quiet": f.quiet(), "storm": f.storm()}
        conds = {"quiet": f.quiet(), "storm": f.storm()}
        if f.show == "all":
            conds = {"all": f.current(), **conds}
        return conds

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

    def _render(self, cell: int, **_):
        if cell < 0:
            return pn.pane.Markdown("*No cell selected: click a cell in the slice or enter a position.*",
                                    css_classes=[INSPECTOR_CSS])
        report = self.store.inspect_cell(cell, self.conditions())
        reg = report.regimes
        table = reg.pivot(index="regime", columns="condition", values="p").reindex(self.store.labels)
        for name in report.counts:
            sub = reg[reg["condition"] == name].set_index("regime")
            table[name] = [f"{p:.3f} [{lo:.3f}, {hi:.3f}] ({int(n)})" for p, lo, hi, n in
                           zip(sub["p"], sub["p_lo"], sub["p_hi"], sub["count"], strict=False)]
        table = table[list(report.counts)]
        head = pn.pane.Markdown(
            f"**Cell** {report.summary()}.  \nProbabilities are Dirichlet posterior means with "
            "90 % credible intervals, (state counts) in brackets.",
            css_classes=[INSPECTOR_CSS], sizing_mode="stretch_width")
        return pn.Column(head, pn.pane.DataFrame(
            table, css_classes=[INSPECTOR_CSS + "-table"], sizing_mode="stretch_width"),
            self._regime_plot(reg), self._feature_plot(report.features),
            sizing_mode="stretch_width")

    def _regime_plot(self, reg: pd.DataFrame):
        plots = []
        for name, sub in reg.groupby("condition", sort=False):
            bars = hv.Bars(sub, kdims=["regime"], vdims=["p", "colour"]).opts(
                color="colour", line_color="black", line_width=0.4)
            err = hv.ErrorBars((sub["regime"], sub["p"], sub["p"] - sub["p_lo"], sub["p_hi"] - sub["p"]),
                               vdims=["p", "neg", "pos"])
            n = int(sub["count"].sum())
            plots.append((bars * err).opts(title=f"{name} (n={n})", xrotation=35, height=250,
                                           width=480, ylim=(0, 1), ylabel="P(regime)", xlabel=""))
        return hv.Layout(plots).cols(1).opts(shared_axes=False)

    def _feature_plot(self, features: pd.DataFrame):
        if features.empty:
            return pn.pane.Markdown("*No states in this cell under these conditions.*")
        box = hv.BoxWhisker(features, kdims=["feature", "condition"], vdims=["value"])
        return box.opts(box_fill_color=dim("condition").categorize(
            {"quiet": "#4C9BE8", "storm": "#D1495B", "all": "#AAAAAA"}, default="#888888"),
            xrotation=90, width=480, height=420, xlabel="", ylabel="value (log10 where noted)",
            title="Feature distributions of the cell's states")

    def __panel__(self):
        return pn.Column(pn.Row(self._position, self._go), self._message, self._body,
                         sizing_mode="stretch_width")

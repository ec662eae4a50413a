"""The selected cell's feature distributions: one small box plot per feature, each with its
own axis and unit (log axis for features that span decades), one box per condition.

Box: 25–75 %, line: median, whiskers: 5–95 % (quantiles from the store). The plots sit in a
card that opens on request: fourteen figures cost the browser about 2 s to lay out the first time,
which a click that only asks for the regime mix should not wait for. The figures are built when the
card is first opened and later only get new data.
"""

from __future__ import annotations

import panel as pn
from bokeh.models import ColumnDataSource, FactorRange, Range1d

from atlas_core.atlas.describe import feature_label
from atlas_core.states import FEATURES, LOG_FEATURES

from .base import View
from .drawing import EMPTY_LOG_RANGE, EMPTY_RANGE, plain_figure, set_y_range
from .inspector import CONDITION_COLORS, WATCHED, conditions_of

SIZE = (100, 110)
"""Frame of one small plot, px."""
_EMPTY = {"x": [], "q05": [], "q25": [], "q50": [], "q75": [], "q95": [], "color": []}


class CellFeaturesView(View):
    """Small multiples of the cell's feature quantiles under each condition."""

    title = "Cell features"

    def __init__(self, **params):
        super().__init__(**params)
        self._sources: dict[str, ColumnDataSource] = {}
        self._figures = []
        self._figure_of = {}
        self._grid = pn.GridBox(ncols=4, sizing_mode="stretch_width")
        self._note = pn.pane.Markdown("", css_classes=["atlas-features-note"], margin=(0, 10))
        self._card = pn.Card(self._note, self._grid, title="Feature distributions of the cell",
                             collapsed=True, visible=False, sizing_mode="stretch_width",
                             css_classes=["atlas-features"])
        self._card.param.watch(self._refresh, "collapsed")
        self.filters.param.watch(self._refresh, WATCHED)
        self._refresh()

    def prepare(self) -> None:
        """Make the figures (when the card is first opened); idempotent."""
        if self._figures:
            return
        for feature in FEATURES:
            src = ColumnDataSource(dict(_EMPTY))
            log = feature in LOG_FEATURES
            # y ranges set from the quantiles (set_y_range): BokehJS's auto-range warns on a
            # log axis without positive data
            kw = {"y_axis_type": "log", "y_range": Range1d(*EMPTY_LOG_RANGE)} if log else \
                {"y_range": Range1d(*EMPTY_RANGE)}
            fig = plain_figure(f"atlas-feature-{feature}", *SIZE, tools="save",
                               toolbar_location=None, x_range=FactorRange(), **kw)
            fig.vbar(x="x", bottom="q25", top="q75", width=0.6, source=src, fill_color="color",
                     fill_alpha=0.55, line_color="color")
            fig.segment(x0="x", x1="x", y0="q05", y1="q25", source=src, line_color="#333333")
            fig.segment(x0="x", x1="x", y0="q75", y1="q95", source=src, line_color="#333333")
            fig.scatter(x="x", y="q50", source=src, marker="dash", size=14, line_width=2.5,
                        line_color="black")
            fig.yaxis.axis_label = feature_label(feature)
            fig.yaxis.axis_label_text_font_size = "11px"
            fig.xaxis.major_label_text_font_size = "10px"
            fig.min_border_left = 50
            self._sources[feature] = src
            self._figure_of[feature] = fig
            self._figures.append(pn.pane.Bokeh(fig))
        self._grid.objects = self._figures

    def _refresh(self, *_) -> None:
        cell = self.filters.cell
        self._card.visible = cell >= 0
        if cell < 0 or self._card.collapsed:  # nothing to show, or not asked for
            return
        conds = conditions_of(self.filters)
        q = self.store.feature_quantiles(cell, conds)
        self.prepare()
        factors = [name for name in conds if name in set(q["group"])]
        with pn.io.hold():
            for pane in self._figures:  # the factors first: the data then refer to known ones
                pane.object.x_range.factors = factors or ["no windows"]
            for feature, src in self._sources.items():
                rows = q[q["feature"] == feature]
                data = {c: rows[c].tolist() for c in ("q05", "q25", "q50", "q75", "q95")}
                data["x"] = rows["group"].tolist()
                data["color"] = [CONDITION_COLORS.get(g, "#888888") for g in data["x"]]
                src.data = data
                set_y_range(self._figure_of[feature],
                            [data[c] for c in ("q05", "q25", "q50", "q75", "q95")],
                            feature in LOG_FEATURES)
            missing = [n for n in conds if n not in factors]
            self._note.object = (
                "**Feature distributions of the cell's windows** (box 25–75 %, line median, "
                "whiskers 5–95 %; each plot its own axis and unit)."
                + (f" No windows under: {', '.join(missing)}." if missing else ""))

    def __panel__(self):
        return self._card

"""Time series of an interval, as tplot, SciQLop or AMDA show them: stacked panels of the window
features on one time axis (|B| and B_z, n, T, |V| and V_x, β, Dst) with the regime of every
window as a colour strip underneath (and, for a synthetic archive, the truth region under it).
Lines break where the data have gaps (the store marks them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HoverTool, Range1d

from ..palette import regime_colors
from .base import View
from .drawing import EMPTY_LOG_RANGE, EMPTY_RANGE, plain_figure, set_y_range

WIDTH = 900
PANELS = [  # name, axis label, [(column, legend, colour)], log axis
    ("B", "B [nT]", [("B_mean", "|B|", "#111111"), ("Bz_mean", "B_z GSM", "#D1495B")], False),
    ("n", "n [cm⁻³]", [("n_mean", "n", "#1C67C1")], True),
    ("T", "T [eV]", [("T_mean", "T", "#CC543C")], True),
    ("V", "V [km/s]", [("V_mean", "|V|", "#111111"), ("Vx_mean", "V_x GSE", "#44A075")], False),
    ("beta", "β", [("beta_mean", "β", "#5E1C77")], True),
    ("dst", "Dst [nT]", [("dst", "Dst", "#555555")], False),
]
HALF = 60_000.0  # half a window, ms


def series_interval(filters, store) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The interval the filters ask for (empty start: the first storm, else the data start)."""
    start = filters.series_start
    if start:
        t0 = pd.Timestamp(start)
    else:
        t0 = store.first_storm_time() or store.data_span()["start"]
        t0 = pd.Timestamp(t0).floor("D") if t0 is not None else pd.Timestamp("2015-09-01")
    return t0, t0 + pd.Timedelta(hours=float(filters.series_hours))


class TimeSeriesView(View):
    """The stacked panels and the regime strip of the chosen interval."""

    title = "Time series"

    def __init__(self, **params):
        super().__init__(**params)
        f = self.filters
        self._medians = np.array([*self.store.regime_medians(), "gap"], dtype=object)
        self._labels = np.array([*self.store.labels, "no data"], dtype=object)
        self._colors = np.array([*self.store.colors, "#FFFFFF"], dtype=object)
        self.lines = ColumnDataSource({"t": []})
        self.strip = ColumnDataSource({"left": [], "right": [], "fill": [], "regime": [],
                                       "medians": [], "truth": [], "truth_fill": []})
        x = Range1d(0, 1)
        figs = []
        for name, label, curves, log in PANELS:
            # explicit y ranges, set from the data in _redraw: an auto-range over an empty
            # interval makes BokehJS warn ("could not set initial ranges")
            fig = plain_figure(f"atlas-series-{name}", WIDTH, 95, x_range=x,
                               y_range=Range1d(*(EMPTY_LOG_RANGE if log else EMPTY_RANGE)),
                               x_axis_type="datetime", toolbar_location=None,
                               **({"y_axis_type": "log"} if log else {}))
            for col, legend, color in curves:
                fig.line("t", col, source=self.lines, line_color=color, line_width=1.3,
                         legend_label=legend)
            fig.yaxis.axis_label = label
            fig.xaxis.visible = False
            legend = fig.legend[0]
            legend.label_text_font_size, legend.border_line_alpha = "10px", 0
            legend.location, legend.margin, legend.padding = "top_left", 0, 2
            fig.add_layout(legend, "right")  # outside the data
            fig.min_border_left, fig.min_border_right = 70, 90
            figs.append(fig)
        self._truth = "region" in self.store.states.columns  # synthetic archives only
        rows = 2 if self._truth else 1
        strip = plain_figure("atlas-series-regimes", WIDTH, 30 * rows + 12, x_range=x,
                             y_range=Range1d(0, rows), x_axis_type="datetime",
                             tools="xpan,xwheel_zoom,reset,save")
        r = strip.quad(left="left", right="right", bottom=rows - 1, top=rows, source=self.strip,
                       fill_color="fill", line_color=None)
        strip.add_tools(HoverTool(renderers=[r], tooltips="<b>@regime</b><br>@medians"))
        ticks = {rows - 0.5: "regime"}
        if self._truth:
            strip.quad(left="left", right="right", bottom=0, top=1, source=self.strip,
                       fill_color="truth_fill", line_color=None)
            ticks[0.5] = "truth (synthetic)"
        strip.yaxis.ticker, strip.yaxis.major_label_overrides = list(ticks), ticks
        strip.min_border_left, strip.min_border_right = 70, 90
        strip.xaxis.axis_label = "time (UTC)"
        strip.ygrid.grid_line_color = None
        self.x_range, self.figures, self._panels = x, [*figs, strip], figs
        self._caption = pn.pane.Markdown("", css_classes=["atlas-series-caption"], margin=(0, 10))
        self._pane = pn.pane.Bokeh(column(*self.figures))
        f.param.watch(self._redraw, ["series_start", "series_hours"])
        self._redraw()

    def _redraw(self, *_) -> None:
        t0, t1 = series_interval(self.filters, self.store)
        frame = self.store.interval(t0, t1)
        t = frame["time"].to_numpy(dtype="datetime64[ms]").astype(np.int64).astype(float)
        data = {"t": t}
        for _, _, curves, log in PANELS:
            for col, _, _ in curves:
                v = frame[col].to_numpy(dtype=float) if col in frame else np.full(len(t), np.nan)
                data[col] = np.where(v > 0, v, np.nan) if log else v
        codes = frame["code"].to_numpy() if "code" in frame else np.full(len(t), -1)
        ok = codes >= 0
        truth = (frame["region"].astype(str).str.replace("_", " ").to_numpy()[ok]
                 if "region" in frame else np.full(int(ok.sum()), "", dtype=object))
        names, inverse = np.unique(truth, return_inverse=True)
        truth_fill = np.array(regime_colors(list(names)), dtype=object)[inverse.reshape(-1)]
        with pn.io.hold():
            self.lines.data = data
            self.strip.data = {
                "left": t[ok] - HALF, "right": t[ok] + HALF,
                "fill": self._colors[codes[ok]], "regime": self._labels[codes[ok]],
                "medians": self._medians[codes[ok]], "truth": truth, "truth_fill": truth_fill}
            lo = pd.Timestamp(t0).value / 1e6
            hi = pd.Timestamp(t1).value / 1e6
            self.x_range.update(start=lo, end=hi, reset_start=lo, reset_end=hi)
            for fig, (_, _, curves, log) in zip(self._panels, PANELS, strict=True):
                set_y_range(fig, [data[c] for c, _, _ in curves], log)
            n = frame.attrs.get("n_windows", 0)
            self._caption.object = (
                f"**{t0:%Y-%m-%d %H:%M} – {t1:%Y-%m-%d %H:%M} UTC**: {n:,} windows"
                + (" (first 20,000 shown)" if frame.attrs.get("truncated") else "")
                + ". Lines break at data gaps; the strip shows each window's regime"
                + (" and, below, the synthetic archive's truth region" if "region" in frame else "")
                + "." if n else f"**{t0:%Y-%m-%d %H:%M} – {t1:%Y-%m-%d %H:%M} UTC**: no windows "
                "in this interval (the spacecraft was elsewhere, or no data).")

    def __panel__(self):
        return pn.Column(self._caption, self._pane, sizing_mode="stretch_width",
                         css_classes=["atlas-series"])

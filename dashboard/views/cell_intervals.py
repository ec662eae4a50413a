"""The time intervals behind the selected cell: one row per contiguous visit of a spacecraft
under the current condition (start and end UTC, windows, regime, Dst), downloadable as CSV so
that a user can go and pull the burst data; clicking a row plots that interval in the time-series
view.
"""

from __future__ import annotations

import io

import pandas as pd
import panel as pn

from .base import View
from .inspector import WATCHED

_SHOWN = {"start": "start (UTC)", "end": "end (UTC)", "minutes": "min", "windows": "windows",
          "regime_name": "regime (most windows)", "dst_min": "min Dst [nT]", "probe": "probe"}


class CellIntervalsView(View):
    """A table of the cell's visits and a CSV download."""

    title = "Cell intervals"

    def __init__(self, **params):
        super().__init__(**params)
        self._frame = pd.DataFrame()
        self._table = self._download = None  # made for the first selected cell
        self._box = pn.Column(sizing_mode="stretch_width", margin=0)
        self._note = pn.pane.Markdown("", margin=(0, 10), css_classes=["atlas-intervals-note"])
        self.filters.param.watch(self._refresh, WATCHED)
        self._refresh()

    def _refresh(self, *_) -> None:
        f = self.filters
        if f.cell < 0:
            self._frame = pd.DataFrame()
            self._note.object = ""
            self._box.visible = False
            return
        self.prepare()
        cond = f.current()
        self._frame = self.store.cell_intervals(f.cell, cond)
        shown = self._frame[list(_SHOWN)].rename(columns=_SHOWN)
        for col in ("start (UTC)", "end (UTC)"):
            # (an empty frame, a cell with no visit under the condition, has no datetimes)
            shown[col] = pd.to_datetime(shown[col]).dt.strftime("%Y-%m-%d %H:%M")
        shown = shown.round({"min": 0, "min Dst [nT]": 0})
        with pn.io.hold():
            self._table.value = shown
            self._box.visible = len(shown) > 0
            self._download.filename = f"atlas_cell{f.cell}_{cond.slug}_intervals.csv"
            self._note.object = (
                f"**{len(shown)} visits** to cell {f.cell} under {cond.label} "
                f"({int(self._frame['windows'].sum()) if len(shown) else 0} windows). "
                "Click a row to plot it in *Time series and orbit*."
                if len(shown) else f"No visit to cell {f.cell} under {cond.label}.")

    def prepare(self) -> None:
        """Make the table and the download button (hidden until a cell is selected)."""
        if self._table is not None:
            return
        self._table = pn.widgets.Tabulator(
            pd.DataFrame(columns=list(_SHOWN.values())), disabled=True, show_index=False,
            pagination="local", page_size=8, sizing_mode="stretch_width", height=300,
            css_classes=["atlas-intervals"])
        self._table.on_click(self._on_row)
        self._download = pn.widgets.FileDownload(
            callback=self._csv, filename="intervals.csv", width=260,
            label="Download the intervals (CSV)", button_type="primary",
            css_classes=["atlas-intervals-csv"])
        self._box.objects = [self._download, self._table]

    def _csv(self):
        out = self._frame.copy()
        for col in ("start", "end"):
            if col in out:
                out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return io.StringIO(out.to_csv(index=False, float_format="%.4g"))

    def _on_row(self, event) -> None:
        row = self._frame.iloc[int(event.row)]
        start, end = pd.Timestamp(row["start"]), pd.Timestamp(row["end"])
        pad = pd.Timedelta(hours=1)
        hours = max(2.0, (end - start + 2 * pad) / pd.Timedelta(hours=1))
        self.filters.param.update(series_start=(start - pad).isoformat(timespec="minutes"),
                                  series_hours=min(hours, self.filters.param.series_hours.bounds[1]),
                                  view="series")

    def __panel__(self):
        return pn.Column(self._note, self._box, sizing_mode="stretch_width")

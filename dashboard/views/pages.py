"""What each tab of the page holds: one builder per entry of :data:`dashboard.filters.VIEWS`,
``builder(kw, legend) -> (views, layout)`` with ``kw`` the session's store and filters. The app
calls a tab's builder the first time the tab is shown, so a session pays only for what it opens.
The view modules are imported here, once per process (VTK and Datashader take seconds to load;
no session should wait for that).
"""

from __future__ import annotations

import panel as pn

from .cell_features import CellFeaturesView
from .cell_intervals import CellIntervalsView
from .controls import series_controls
from .coverage import CoverageView
from .export import ExportView
from .inspector import InspectorView
from .maps import MapsView
from .occupancy import OccupancyView
from .orbit import OrbitView
from .regime3d import Regime3DView
from .slice import SliceView
from .timeseries import TimeSeriesView
from .violins import ViolinView


def _after_load(*views) -> None:
    """Make views' hidden figures once the page is in the browser (the first click then only
    sends data: building them on the click cost 1.5 s of the session's time). Outside a served
    session (tests, benchmarks) they are made on first use, as before."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return

    def prepare():
        with pn.io.hold(doc, freeze=True):  # one model-graph update for all of them
            for view in views:
                view.prepare()

    pn.state.onload(prepare)


def _slice(kw, _legend):
    views = [SliceView(**kw), ExportView(**kw), InspectorView(**kw), CellFeaturesView(**kw),
             CellIntervalsView(**kw)]
    s, e, i, feats, intervals = views
    _after_load(i, intervals)
    layout = pn.Row(
        pn.Column(s, e, sizing_mode="fixed", width=620),
        pn.Column("## Cell inspector", i, feats, intervals, sizing_mode="stretch_width"),
        sizing_mode="stretch_width")
    return views, layout


def _one(view_class):
    """The builder of a tab that holds one view."""
    def build(kw, _legend):
        view = view_class(**kw)
        return [view], view
    return build


def _series(kw, _legend):
    series, orbit = TimeSeriesView(**kw), OrbitView(**kw)
    return [series, orbit], pn.Column(series_controls(kw["filters"], kw["store"]), series, orbit,
                                      sizing_mode="stretch_width")


def _regimes(_kw, legend):
    return [legend], legend


PAGES = {"slice": _slice, "maps": _one(MapsView), "series": _series,
         "coverage": _one(CoverageView), "violins": _one(ViolinView),
         "occupancy": _one(OccupancyView), "map3d": _one(Regime3DView), "regimes": _regimes}

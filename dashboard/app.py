"""The Magnetosphere Atlas dashboard: wires the filters, the store and the views.

Serve it with ``atlas serve ATLAS_DIR`` (127.0.0.1 by default) or
``panel serve dashboard/app.py --args ATLAS_DIR`` (or ``ATLAS_DIR=... panel serve ...``).

Per browser session: one :class:`Filters`, one :class:`DataStore`, one set of views. Shared
between sessions: only the read-only opened atlas, through ``pn.cache``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import urlencode

import holoviews as hv
import panel as pn
from panel.io.resources import CDN_DIST
from panel.theme.fast import Fast
from panel.viewable import Viewer

if __package__ in (None, ""):  # run as a script by `panel serve dashboard/app.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.filters import Filters  # noqa: E402
from dashboard.palette import ASSETS  # noqa: E402
from dashboard.store import DataStore, StoreError, open_atlas  # noqa: E402
from dashboard.views.controls import controls  # noqa: E402
from dashboard.views.coverage import CoverageView  # noqa: E402
from dashboard.views.export import ExportView  # noqa: E402
from dashboard.views.inspector import InspectorView  # noqa: E402
from dashboard.views.legend import LegendView, banner  # noqa: E402
from dashboard.views.occupancy import OccupancyView  # noqa: E402
from dashboard.views.slice import SliceView  # noqa: E402

DEFAULT_ATLAS = Path(__file__).resolve().parents[1] / "data" / "atlas"
TITLE = "Magnetosphere Atlas"


@pn.cache(max_items=4)
def load_atlas(atlas_dir: str):
    """The opened atlas, shared read-only by every session of this process."""
    return open_atlas(atlas_dir)


def _extensions() -> None:
    hv.extension("bokeh", logo=False)
    pn.extension("tabulator", "vtk", raw_css=[(ASSETS / "atlas.css").read_text(encoding="utf-8")],
                 notifications=True)


SYSTEM_FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
"""The page font: fonts every system has, so that nothing is fetched from a font service."""


class OfflineFast(Fast):
    """Panel's Fast design without its web font, so that the page loads offline.

    Fast lists the Open Sans stylesheet of fonts.googleapis.com as a resource, and Panel adds
    the resources of the page's design to every page: the one request a page made off the
    dashboard's server, which failed on an offline machine or cluster
    (``ERR_NAME_NOT_RESOLVED``). Everything else (Bokeh, Panel, Fast components, Tabulator,
    vtk.js) Panel serves itself; the page uses :data:`SYSTEM_FONTS` instead.
    """

    _resources = {
        **{kind: res for kind, res in Fast._resources.items() if kind != "font"},
        # Panel prefixes a relative path with the design's class name: name Fast's own file
        "js_modules": {**Fast._resources["js_modules"],
                       "fast-design": f"{CDN_DIST}bundled/fast/js/fast_design.js"},
    }


class App(Viewer):
    """The whole page for one session."""

    def __init__(self, atlas_dir: str | Path, sync_url: bool = True, **params):
        super().__init__(**params)
        atlas = load_atlas(str(Path(atlas_dir).expanduser().resolve()))
        self.store = DataStore(atlas)
        self.filters = Filters()
        self.filters.set_regime_count(self.store.k)
        self.filters.set_leaf_count(self.store.n_leaves)
        lo, hi = self.store.extent
        self.filters.set_extent(float(lo.min()), float(hi.max()))
        self.messages = pn.pane.Alert("", alert_type="warning", visible=False,
                                      sizing_mode="stretch_width", css_classes=["atlas-messages"])
        if sync_url:
            self._sync_url()
        kw = dict(store=self.store, filters=self.filters)
        self.coverage = CoverageView(**kw)
        self.slice = SliceView(**kw)
        self.inspector = InspectorView(**kw)
        self.occupancy = OccupancyView(**kw)
        self.legend = LegendView(**kw)
        self.export = ExportView(**kw)
        self._tabs = None
        self._3d_tab = -1
        self.violins = self._violins(kw)
        self.regime3d = self._regime3d()
        self.filters.param.watch(self._on_condition, ["mode", "show", "quiet_dst", "storm_dst",
                                                      "target_dst", "target_ddst", "k_near"])

    # --- URL -------------------------------------------------------------------------------

    def _sync_url(self) -> None:
        """Keep the controls and the URL in step, so that a view can be shared. Values from a
        URL are clamped into range or refused, with a message on the page."""
        location = pn.state.location
        if location is None:
            return
        args = {k: (v[0] if isinstance(v, list) and v else v)
                for k, v in (pn.state.session_args or {}).items()}
        notes = self.filters.apply_query(args)
        if notes:
            self._warn(notes)
        location.search = "?" + urlencode(self._clean_query())
        # the browser reports its URL after the session starts: values that param refuses then
        # arrive in on_error, and are clamped the same way
        location.sync(self.filters, Filters.URL, on_error=self._on_url_error)

    def _on_url_error(self, _refused: dict) -> None:
        location = pn.state.location
        raw = {k: (v if isinstance(v, str) else json.dumps(v))
               for k, v in location.query_params.items()}
        notes = self.filters.apply_query(raw)
        if notes:
            self._warn(notes)
        location.update_query(**self._clean_query())

    def _clean_query(self) -> dict[str, str]:
        """The filters as URL query values."""
        clean = {}
        for pname, qname in Filters.URL.items():
            value = self.filters.param[pname].serialize(getattr(self.filters, pname))
            clean[qname] = value if isinstance(value, str) else json.dumps(value)
        return clean

    def _warn(self, lines: list[str]) -> None:
        """Add lines to the page's message box (the newest 8 are kept)."""
        self._notes = (getattr(self, "_notes", []) + [ln for ln in lines if ln])[-8:]
        self.messages.object = "\n".join(f"- {line}" for line in self._notes)
        self.messages.visible = bool(self._notes)

    # --- views that need optional parts ----------------------------------------------------

    def _violins(self, kw):
        try:
            from dashboard.views.violins import ViolinView

            return ViolinView(**kw)
        except Exception as err:  # keep the rest of the page when the model cannot sample
            return pn.pane.Alert(f"Feature violins unavailable: {err}", alert_type="danger")

    def _regime3d(self):
        try:
            from dashboard.views.regime3d import Regime3DView

            view = Regime3DView(names=self.store.labels, colors=self.store.colors)
            view.set_data(*self.store.voxel_data(self.filters.current()))
            # one solar-wind condition for every boundary drawn on the page
            view.param.update(bz_nt=self.filters.imf_bz, pdyn_npa=min(self.filters.pdyn, 30.0))
            self.filters.param.watch(lambda e: view.param.update(
                bz_nt=self.filters.imf_bz, pdyn_npa=min(self.filters.pdyn, 30.0)), ["imf_bz", "pdyn"])
            return view
        except Exception as err:  # VTK without an off-screen GL, or E2's view not present
            return pn.pane.Alert(f"3D regime map unavailable: {err}", alert_type="danger")

    def _on_condition(self, *_):
        # the 3D scene takes ~1-2 s to rebuild: only while its tab is shown, else on showing it
        self._3d_stale = True
        if self._tabs is not None and self._tabs.active == self._3d_tab:
            self._refresh_3d()
        if self.store.warnings:
            self._warn(self.store.warnings[-3:])
            self.store.warnings.clear()

    def _refresh_3d(self, *_):
        if getattr(self, "_3d_stale", False) and hasattr(self.regime3d, "set_data"):
            self._3d_stale = False
            self.regime3d.set_data(*self.store.voxel_data(self.filters.current()))

    def _on_tab(self, event):
        if event.new == self._3d_tab:
            self._refresh_3d()

    # --- layout ----------------------------------------------------------------------------

    def main(self) -> pn.Column:
        view3d = self.regime3d
        if hasattr(view3d, "panel"):
            try:
                view3d = view3d.panel()
            except Exception as err:  # keep the rest of the page if the 3D view fails
                view3d = pn.pane.Alert(f"3D regime map unavailable: {err}", alert_type="danger")
        self._tabs = tabs = pn.Tabs(
            ("Octree slice", pn.Row(
                pn.Column(self.slice, self.export, sizing_mode="stretch_width"),
                pn.Column("## Cell inspector", self.inspector, sizing_mode="stretch_width"),
                sizing_mode="stretch_width")),
            ("Orbital coverage", self.coverage),
            ("Feature violins", self.violins),
            ("Quiet vs storm", self.occupancy),
            ("3D regime map", view3d),
            ("Regimes", self.legend),
            dynamic=True, sizing_mode="stretch_width", css_classes=["atlas-tabs"],
        )
        self._3d_tab = 4
        tabs.param.watch(self._on_tab, "active")
        return pn.Column(banner(self.store), self.messages,
                         pn.pane.HTML(self.legend.legend_html(), sizing_mode="stretch_width"),
                         tabs, sizing_mode="stretch_width")

    def template(self):
        tmpl = pn.template.FastListTemplate(
            title=TITLE, logo=str(ASSETS / "logo.svg"), favicon=str(ASSETS / "logo.svg"),
            design=OfflineFast, font=SYSTEM_FONTS,
            sidebar=[controls(self.filters, self.store)], main=[self.main()],
            accent="#0072B2", sidebar_width=330, theme_toggle=False,
        )
        return tmpl

    def __panel__(self):
        return self.main()


def error_page(message: str):
    return pn.Column(f"# {TITLE}", pn.pane.Alert(f"**Cannot start the dashboard.** {message}",
                                                 alert_type="danger", css_classes=["atlas-error"]))


def create_app(atlas_dir: str | Path, sync_url: bool = True):
    """A servable page for one session (the entry point for ``atlas serve``, ``panel serve``
    and the load test). A missing or corrupt atlas gives a page that says so."""
    _extensions()
    try:
        return App(atlas_dir, sync_url=sync_url).template()
    except StoreError as err:
        return error_page(str(err))


def atlas_dir_from_argv(argv: list[str] | None = None) -> Path:
    """ATLAS_DIR from ``panel serve dashboard/app.py --args ATLAS_DIR``, else $ATLAS_DIR, else
    ``data/atlas``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        return Path(argv[0])
    return Path(os.environ.get("ATLAS_DIR", DEFAULT_ATLAS))


if pn.state.served:
    create_app(atlas_dir_from_argv()).servable(title=TITLE)

__all__ = ["App", "create_app", "load_atlas", "atlas_dir_from_argv"]

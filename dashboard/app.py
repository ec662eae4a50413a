"""The Magnetosphere Atlas dashboard: wires the filters, the store and the views.

Serve it with ``atlas serve ATLAS_DIR`` (127.0.0.1 by default) or
``panel serve dashboard/app.py --args ATLAS_DIR`` (or ``ATLAS_DIR=... panel serve ...``).

Per browser session: one :class:`Filters`, one :class:`DataStore`, one set of views (a tab's
views are made when the tab is first opened). Shared between sessions: only the read-only
opened atlas and what the product layer caches on it (``pn.cache``); nothing mutable lives at
module level.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlencode

# every script and stylesheet from this server: Panel resolves the stylesheets of components made
# after the first render (a tab opened later) by this setting, and Bokeh's default is its CDN
os.environ.setdefault("BOKEH_RESOURCES", "server")

import holoviews as hv  # noqa: E402
import panel as pn  # noqa: E402
from bokeh.models import CustomJS  # noqa: E402
from panel.io.resources import CDN_DIST, LOCAL_DIST  # noqa: E402
from panel.theme.fast import Fast  # noqa: E402
from panel.viewable import Viewer  # noqa: E402

if __package__ in (None, ""):  # run as a script by `panel serve dashboard/app.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.filters import CONDITION_PARAMS, VIEWS, Filters  # noqa: E402
from dashboard.palette import ASSETS  # noqa: E402
from dashboard.store import DataStore, StoreError, open_atlas  # noqa: E402
from dashboard.views.controls import controls  # noqa: E402
from dashboard.views.legend import LegendView, header  # noqa: E402
from dashboard.views.nowcast import NowcastView  # noqa: E402
from dashboard.views.pages import PAGES  # noqa: E402
from dashboard.warmup import start_warm_up  # noqa: E402

DEFAULT_ATLAS = Path(__file__).resolve().parents[1] / "data" / "atlas1y"
TITLE = "Magnetosphere Atlas"
SYSTEM_FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
"""The page font: fonts every system has, so that nothing is fetched from a font service."""
BOUNDARY_INPUTS = (*CONDITION_PARAMS, "slice_color", "boundaries")
"""Filters that change the selection whose median solar wind the boundaries show."""
KEPT = "map3d"
"""The tab whose view stays in the page once made (shown or hidden, see App.__init__)."""


@pn.cache(max_items=4)
def load_atlas(atlas_dir: str):
    """The opened atlas, shared read-only by every session of this process (its shared caches
    are filled in the background from the start, :mod:`dashboard.warmup`)."""
    atlas = open_atlas(atlas_dir)
    start_warm_up(atlas)
    return atlas


def _extensions() -> None:
    hv.extension("bokeh", logo=False)
    # a 2D canvas for every plot: WebGL adds nothing for these sizes, and a software GL logs
    # "GPU stall due to ReadPixels" warnings for every read-back
    hv.renderer("bokeh").webgl = False
    pn.extension("tabulator", "vtk", raw_css=[(ASSETS / "atlas.css").read_text(encoding="utf-8")])


class OfflineFast(Fast):
    """Panel's Fast design without its web font, so that the page loads offline.

    Fast lists the Open Sans stylesheet of fonts.googleapis.com as a resource; everything else
    (Bokeh, Panel, Fast components, Tabulator, vtk.js) Panel serves itself.
    """

    _resources = {
        **{kind: res for kind, res in Fast._resources.items() if kind != "font"},
        # Panel prefixes a relative path with the design's class name: name Fast's own file
        "js_modules": {**Fast._resources["js_modules"],
                       "fast-design": f"{CDN_DIST}bundled/fast/js/fast_design.js"},
    }


class App(Viewer):
    """The whole page for one session."""

    def __init__(self, atlas_dir: str | Path, sync_url: bool = True, file_roots=(), **params):
        super().__init__(**params)
        self.file_roots = tuple(Path(p) for p in file_roots)  # folders the server may read
        atlas = load_atlas(str(Path(atlas_dir).expanduser().resolve()))
        self.store = DataStore(atlas, file_roots=self.file_roots)
        self.filters = f = Filters()
        f.set_drivers(self.store.drivers())
        f.set_regime_count(self.store.k)
        f.set_leaf_count(self.store.n_leaves)
        f.set_missions(self.store.missions())
        lo, hi = self.store.extent
        f.set_extent(float(lo.min()), float(hi.max()))
        self.messages = pn.pane.Alert("", alert_type="warning", visible=False,
                                      sizing_mode="stretch_width", css_classes=["atlas-messages"])
        self._notes: list[str] = []
        self._auto = False
        if sync_url:
            self._sync_url()
        self._follow_selection()
        f.param.watch(self._follow_selection, list(BOUNDARY_INPUTS))
        f.param.watch(self._chosen_boundaries, ["pdyn", "imf_bz"])
        f.param.watch(self._show_warnings, list(CONDITION_PARAMS))
        self.legend = LegendView(store=self.store, filters=f)
        self._pages = {name: pn.Column(sizing_mode="stretch_width") for name in VIEWS}
        self._views: dict[str, list] = {}
        # the 3D map lives beside the tabs, shown or hidden, never removed: the browser would
        # tear down its WebGL view on every tab change (and vtk.js logs GL warnings doing so)
        self._tabs = pn.Tabs(*[(VIEWS[n], pn.Spacer(height=0) if n == KEPT else self._pages[n])
                               for n in VIEWS], dynamic=True, sizing_mode="stretch_width",
                             css_classes=["atlas-tabs"])
        # hidden by moving it off stage at its full size (display: none would make the WebGL
        # view 0 x 0 px, and vtk.js then logs a burst of GL warnings)
        self._kept = pn.Column(self._pages[KEPT], sizing_mode="stretch_width",
                               css_classes=[] if f.view == KEPT else ["atlas-offstage"])
        self._tabs.active = list(VIEWS).index(f.view)
        self._tabs.param.watch(self._on_tab, "active")
        f.param.watch(self._on_view, "view")
        if f.view == KEPT and pn.state.curdoc is not None:
            # the browser-side fixes of the 3D view (_install_fixes) are installed when the
            # page is ready: a 3D view sent with the first page would be drawn without them
            pn.state.onload(lambda: self._open(KEPT))
        else:
            self._open(f.view)

    # --- tabs -------------------------------------------------------------------------------

    def _open(self, name: str) -> None:
        """Make a tab's views the first time it is shown."""
        if name in self._views:
            return
        kw = dict(store=self.store, filters=self.filters)
        try:
            views, layout = PAGES[name](kw, self.legend)
        except Exception as err:  # keep the rest of the page if one view cannot be made
            views, layout = [], pn.pane.Alert(f"{VIEWS[name]} unavailable: {err}",
                                              alert_type="danger")
        self._views[name] = views
        self._pages[name].objects = [layout]

    def _on_tab(self, event) -> None:
        self.filters.view = list(VIEWS)[event.new]

    def _on_view(self, event) -> None:
        self._open(event.new)
        self._kept.css_classes = [] if event.new == KEPT else ["atlas-offstage"]
        index = list(VIEWS).index(event.new)
        if self._tabs.active != index:
            self._tabs.active = index

    # --- boundaries follow the selection unless the user chose values ----------------------

    def _follow_selection(self, *_) -> None:
        f = self.filters
        if f.boundaries != "selection":
            return
        sw = self.store.solar_wind(f.boundary_condition())
        self._auto = True
        try:
            f.param.update(pdyn=round(sw.pdyn_npa, 2), imf_bz=round(sw.bz_nt, 2))
        finally:
            self._auto = False

    def _chosen_boundaries(self, *_) -> None:
        if not self._auto:
            self.filters.boundaries = "chosen"

    # --- URL and messages -------------------------------------------------------------------

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
        clean = {}
        for pname, qname in Filters.URL.items():
            value = self.filters.param[pname].serialize(getattr(self.filters, pname))
            clean[qname] = value if isinstance(value, str) else json.dumps(value)
        return clean

    def _warn(self, lines: list[str]) -> None:
        """Add lines to the page's message box (the newest 8 are kept)."""
        new = [ln for ln in dict.fromkeys(lines) if ln and ln not in self._notes]
        self._notes = (self._notes + new)[-8:]
        self.messages.object = "\n".join(f"- {line}" for line in self._notes)
        self.messages.visible = bool(self._notes)

    def _show_warnings(self, *_) -> None:
        if self.store.warnings:
            self._warn(self.store.warnings[-3:])
            self.store.warnings.clear()

    # --- layout -----------------------------------------------------------------------------

    def main(self) -> pn.Column:
        return pn.Column(header(self.store), self.messages,
                         pn.pane.HTML(self.legend.legend_html(), sizing_mode="stretch_width"),
                         self._tabs, self._kept, sizing_mode="stretch_width")

    def template(self):
        tmpl = pn.template.FastListTemplate(
            title=TITLE, logo=str(ASSETS / "logo.svg"), favicon=str(ASSETS / "logo.svg"),
            design=OfflineFast, font=SYSTEM_FONTS,
            sidebar=[controls(self.filters, self.store),
                     NowcastView(store=self.store, filters=self.filters)],
            main=[self.main()],
            accent="#0072B2", sidebar_width=330, theme_toggle=False,
        )
        return tmpl

    def __panel__(self):
        return self.main()


def _install_fixes() -> None:
    """Local stylesheets for every component, and browser-side fixes the page runs once it is
    ready (see ``assets/vtk_remove_fix.js``).

    Panel points the stylesheets of the components it makes at its CDN unless the document
    names the server's own folder (``dist_url``), which it does only once the first page has
    been rendered: the components of a tab opened later then asked cdn.holoviz.org for their
    CSS (ERR_NAME_NOT_RESOLVED offline). The document names it from the start here.
    """
    doc = pn.state.curdoc
    if doc is not None:
        rel = pn.state.rel_path
        doc._template_variables["dist_url"] = f"{rel}/{LOCAL_DIST}" if rel else LOCAL_DIST
        code = (ASSETS / "vtk_remove_fix.js").read_text(encoding="utf-8")
        doc.js_on_event("document_ready", CustomJS(code=code))


def _release(_session_context) -> None:
    """A session closed: collect its objects now and hand freed heap back to the system (glibc
    keeps freed memory in its arenas otherwise, and the server's footprint only grows)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def error_page(message: str):
    return pn.Column(f"# {TITLE}", pn.pane.Alert(f"**Cannot start the dashboard.** {message}",
                                                 alert_type="danger", css_classes=["atlas-error"]))


def create_app(atlas_dir: str | Path, sync_url: bool = True, file_roots=()):
    """A servable page for one session (the entry point for ``atlas serve``, ``panel serve``
    and the load test). A missing or corrupt atlas gives a page that says so. ``file_roots``:
    folders given to ``atlas serve --files`` (kept for the services' file-reading controls)."""
    _extensions()
    _install_fixes()
    if pn.state.curdoc is not None:
        pn.state.on_session_destroyed(_release)
    try:
        return App(atlas_dir, sync_url=sync_url, file_roots=file_roots).template()
    except StoreError as err:
        return error_page(str(err))


def atlas_dir_from_argv(argv: list[str] | None = None) -> Path:
    """ATLAS_DIR from ``panel serve dashboard/app.py --args ATLAS_DIR``, else $ATLAS_DIR, else
    ``data/atlas1y``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        return Path(argv[0])
    return Path(os.environ.get("ATLAS_DIR", DEFAULT_ATLAS))


if pn.state.served:
    create_app(atlas_dir_from_argv()).servable(title=TITLE)

__all__ = ["App", "create_app", "load_atlas", "atlas_dir_from_argv"]

"""Dashboard latency: server-side interaction costs, and first page / round trips in Chromium.

Server side (in this process, no network): one session's :class:`dashboard.app.App` is built
and rendered into a Bokeh document, then each interaction sets a filter the way a widget does
and the clock stops when the view's new plot objects exist (HoloViews/Panel update the Bokeh
models synchronously outside a server loop):

- slider: a new slice offset (never seen before, so no memo helps) -> new slice rectangles;
- plane / colour: other plane and colouring -> new rectangles;
- condition: all -> quiet -> storm (occupancy over every state) -> slice, inspector, 3D data;
- cell click: ``filters.cell = leaf`` -> the inspector's new regime/feature plots;
- 3D map: rebuild of the voxel scene and its vtk.js serialisation (when the tab is open);
- export: ``render_slice`` PNG (300 dpi) and PDF.

Browser (``--browser``): ``atlas serve`` on a free 127.0.0.1 port, Debian's Chromium driven
by Playwright (never ``playwright install``): first page ready (the slice plot drawn) for a
few fresh sessions, then round trips measured in the page: a widget value set through BokehJS
-> websocket -> server -> patches back, until the server-rendered caption shows the new value
and the websocket is quiet; a cell click -> the inspector names the cell.

Run (queue behind other heavy jobs)::

    flock /tmp/atlas-heavy.lock .venv/bin/python bench/bench_dashboard.py data/atlas10y --browser
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def default_atlas_dir() -> Path | None:
    """data/atlas10y, else data/atlas1y, whichever was built (None if neither)."""
    return next((REPO / "data" / d for d in ("atlas10y", "atlas1y")
                 if (REPO / "data" / d / "atlas.nc").exists()), None)


def add_atlas_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("atlas_dir", nargs="?", type=Path, default=None,
                        help="atlas directory (default: data/atlas10y, else data/atlas1y)")


def resolve_atlas(args) -> Path | None:
    """The atlas directory of the arguments or the default; None (with a message) if none."""
    atlas_dir = args.atlas_dir or default_atlas_dir()
    if atlas_dir is None:
        print("no atlas: build data/atlas1y or data/atlas10y first, or name one", file=sys.stderr)
    return atlas_dir

CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TARGET_MS = 200.0


def summarise(samples_s: list[float]) -> dict:
    """first / median / p95 / max in ms of a list of durations in seconds."""
    ms = sorted(1000.0 * s for s in samples_s)
    if not ms:
        return {"n": 0}

    def pct(q):
        return ms[min(len(ms) - 1, max(0, int(round(q * (len(ms) - 1)))))]

    return {"n": len(ms), "first_ms": round(1000.0 * samples_s[0], 1),
            "median_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(0.95), 1),
            "max_ms": round(ms[-1], 1)}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# server side
# --------------------------------------------------------------------------------------------

def bench_server(atlas_dir: Path, repeats: int) -> dict:
    import numpy as np
    from bokeh.document import Document
    from bokeh.models import GlyphRenderer

    t0 = time.perf_counter()
    from dashboard.app import App, _extensions, load_atlas

    _extensions()
    t_import = time.perf_counter() - t0
    t_load = timed(lambda: load_atlas(str(atlas_dir.resolve())))

    def new_session():
        """One session as the server makes it: the App, rendered into a Bokeh document."""
        t0 = time.perf_counter()
        app = App(atlas_dir.resolve(), sync_url=False)
        t1 = time.perf_counter()
        doc = Document()
        app.template().server_doc(doc)
        return app, doc, t1 - t0, time.perf_counter() - t1

    # the first session also fills what every session shares (states, coverage, samples)
    _, _, t_app0, t_render0 = new_session()
    app, doc, t_app, t_render = new_session()
    store, f = app.store, app.filters
    root_models = list(doc.roots)

    def slice_rects() -> int:
        """Rectangles drawn in the slice figure (the longest data source of its glyphs)."""
        n = 0
        for r in root_models:
            for fig in r.select({"name": "atlas-slice"}):
                for g in fig.select({"type": GlyphRenderer}):
                    data = g.data_source.data
                    n = max([n] + [len(v) for k, v in data.items() if k in ("u0", "left")])
        return n

    out = {"atlas": str(atlas_dir), "n_states": int(store.n_states), "n_leaves": int(store.n_leaves),
           "k": int(store.k), "synthetic": bool(store.synthetic),
           "import_s": round(t_import, 2), "open_atlas_s": round(t_load, 2),
           "first_session_app_s": round(t_app0, 2), "first_session_render_s": round(t_render0, 2),
           "session_app_s": round(t_app, 2), "session_render_s": round(t_render, 2)}
    print(f"atlas {atlas_dir}: {store.n_states:,} states, {store.n_leaves:,} leaves, k={store.k}")
    print(f"  imports {t_import:.2f} s, open atlas {t_load:.2f} s; first session of the process: "
          f"App {t_app0:.2f} s + render {t_render0:.2f} s; each further session (first page, "
          f"server time): App {t_app:.2f} s + render to Bokeh {t_render:.2f} s = "
          f"{t_app + t_render:.2f} s (target < 2 s)")

    lo, hi = store.extent
    span = np.arange(np.ceil(lo.min() + 1), np.floor(hi.max() - 1), 0.5)
    rng = np.random.default_rng(0)
    offsets = rng.permutation(span)[:repeats]

    samples: dict[str, list[float]] = {}

    def record(name, fn):
        samples.setdefault(name, []).append(timed(fn))

    # slider: new offsets; check the rectangles really changed once
    before = slice_rects()
    for v in offsets:
        record("slider: slice offset", lambda v=v: setattr(f, "offset", float(v)))
    f.offset = 0.0
    assert slice_rects() > 0 and (before > 0), "the slice plot holds no rectangles"

    # store alone (the data part of the slider cost)
    for v in offsets[: max(3, repeats // 2)]:
        f2 = type(f)()
        f2.offset = float(v)
        f2.plane = "XZ"
        record("store only: slice_frame", lambda f2=f2: store.slice_frame(f2))

    for plane in ["XZ", "YZ", "XY"] * max(1, repeats // 6):
        record("plane change", lambda p=plane: setattr(f, "plane", p))
    for color in ["entropy", "probability", "count", "storm_minus_quiet", "dominant"] * max(
            1, repeats // 10):
        record("colour change", lambda c=color: setattr(f, "slice_color", c))

    # condition: the quiet/storm ranges moved each time so that no cache answers
    for i in range(max(2, repeats // 4)):
        record("condition: Dst range", lambda i=i: setattr(f, "quiet_dst", (-20.0 - i, 20.0)))
        record("condition: all/quiet/storm",
               lambda i=i: setattr(f, "show", ["quiet", "storm", "all"][i % 3]))
    # nearest neighbours: a new target each time (k-d tree query + counts + estimates)
    f.mode = "nearest"
    for i in range(max(2, repeats // 4)):
        record("condition: nearest neighbours",
               lambda i=i: setattr(f, "target_dst", -80.0 + 3.0 * (i + 1)))
    f.param.update(mode="range", show="all")

    # cell click: non-empty leaves of the current slice
    frame = store.slice_frame(f)
    leaves = frame.loc[frame["windows"] > 0, "leaf"].to_numpy()
    for leaf in rng.permutation(leaves)[:repeats]:
        record("cell click -> inspector", lambda leaf=leaf: setattr(f, "cell", int(leaf)))

    # 3D map, once its tab is shown (the app makes it then): a condition change rebuilds and
    # reserialises the scene
    f.show = "all"
    t_first3d = timed(lambda: setattr(f, "view", "map3d"))
    view3d = app._views["map3d"][0]
    samples["3D map: tab shown, first scene + serialise"] = [t_first3d]
    for show in ["quiet", "storm", "all"] * max(1, repeats // 6):
        record("3D map: condition -> new scene", lambda s=show: setattr(f, "show", s))
    out["voxels_3d"] = int(sum(view3d._plotter.actors[n].mapper.dataset.n_cells
                               for n in view3d._plotter.actors if n.startswith("voxels_")))
    f.view = "slice"

    # export
    from atlas_core.figures import render_slice

    for fmt in ("png", "pdf", "svg"):
        for _ in range(2):
            record(f"export {fmt}", lambda fmt=fmt: render_slice(
                store.atlas, "xy", 0.0, "dominant", "quiet", fmt))

    out.update(session_memory(new_session))
    out["interactions"] = {k: summarise(v) for k, v in samples.items()}
    print(f"  {'interaction':36s} {'n':>3s} {'first':>8s} {'median':>8s} {'p95':>8s}   (ms)")
    for k, s in out["interactions"].items():
        flag = "" if k.startswith(("export", "3D", "store")) or s["p95_ms"] < TARGET_MS else "  > 200 ms"
        print(f"  {k:36s} {s['n']:3d} {s['first_ms']:8.1f} {s['median_ms']:8.1f} {s['p95_ms']:8.1f}{flag}")
    return out


def bench_layer(atlas_dir: Path, repeats: int) -> dict:
    """The product layer's share of each interaction (no views): what a control change asks
    of ``dashboard.store.DataStore`` / ``atlas_core.atlas.product``, never from a cache (new
    offsets, Dst ranges and neighbour targets each time), split into its parts."""
    import numpy as np

    from atlas_core.atlas import product
    from dashboard.filters import Filters
    from dashboard.store import DataStore

    store = DataStore.open(atlas_dir)
    atlas = store.atlas
    t_all = timed(lambda: store.slice_frame(Filters()))
    samples: dict[str, list[float]] = {}

    def record(name, fn):
        samples.setdefault(name, []).append(timed(fn))

    lo, hi = store.extent
    offsets = np.random.default_rng(2).permutation(np.arange(np.ceil(lo.min()), hi.max(), 0.25))
    f = Filters()
    for v in offsets[:repeats]:
        f.offset = float(v)
        record("slice table: new offset", lambda f=f: store.slice_frame(f))
    for i in range(repeats):
        f.slice_color = ["entropy", "probability", "count", "storm_minus_quiet", "dominant"][i % 5]
        record("slice table: colour", lambda f=f: store.slice_frame(f))
    f.slice_color = "dominant"
    for i in range(repeats):
        cond = product.Condition(dst_min=-20.0 - i - 0.5, dst_max=20.0)
        record("Dst range: select states", lambda c=cond: product.select_states(atlas, c))
        states = product.select_states(atlas, cond)
        record("Dst range: counts_of", lambda s=states: product._counts_of(atlas, s))
        record("Dst range: counts (cached after)", lambda c=cond: product.counts(atlas, c))
        record("Dst range: estimates", lambda c=cond: product.estimates(atlas, c))
        f.quiet_dst, f.show = (-20.0 - i - 0.5, 20.0), "quiet"
        record("Dst range: slice table (estimates cached)", lambda f=f: store.slice_frame(f))
        record("Dst range: whole, new range",
               lambda i=i: store.slice_table("XY", 0.0, product.Condition(dst_min=-21.0 - i - 0.25,
                                                                          dst_max=21.0)))
    for i in range(repeats):
        cond = product.Condition(near=(("dst", -80.0 + 2.5 * i + 0.1), ("ddst", -5.0)), k=20000)
        record("nearest neighbours: whole, new target", lambda c=cond: store.slice_table("XY", 0.0, c))
    f.show, f.offset = "all", 0.0
    frame = store.slice_frame(f)
    leaves = frame.loc[frame["windows"] > 0, "leaf"].to_numpy()
    conds = {"all": f.current(), "quiet": f.quiet(), "storm": f.storm()}
    for leaf in np.random.default_rng(3).permutation(leaves.copy())[:repeats]:
        record("cell report (3 conditions)", lambda leaf=leaf: store.inspect_cell(int(leaf), conds))
    for i in range(max(2, repeats // 2)):
        cond = product.Condition(dst_min=-30.0 - i - 0.75, dst_max=30.0)
        store.estimates(cond)
        record("3D cell table (estimates cached)", lambda c=cond: store.cell_table(c))
    out = {"first_slice_table_s": round(t_all, 2),
           "layer": {k: summarise(v) for k, v in samples.items()}}
    print(f"  product layer alone ({store.n_states:,} states, {store.n_leaves:,} leaves; first "
          f"slice of the process incl. the 'all' estimates: {t_all:.2f} s)")
    print(f"  {'layer step':44s} {'n':>3s} {'median':>8s} {'p95':>8s}   (ms)")
    for k, st in out["layer"].items():
        print(f"  {k:44s} {st['n']:3d} {st['median_ms']:8.1f} {st['p95_ms']:8.1f}")
    return out


def session_memory(new_session, n: int = 5) -> dict:
    """RSS growth per added session (App rendered into a document, in this process) and what
    is left after the sessions are dropped (App objects alive, RSS after malloc_trim)."""
    import ctypes
    import gc

    from probe_server import rss_mb

    from dashboard.app import App

    def settled_rss() -> float:
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return rss_mb()

    before = settled_rss()
    held = [new_session()[:2] for _ in range(n)]
    with_sessions = settled_rss()
    del held
    after = settled_rss()
    alive = sum(1 for o in gc.get_objects() if isinstance(o, App))
    per = (with_sessions - before) / n
    print(f"  memory: {before:.0f} MiB, {with_sessions:.0f} MiB with {n} more sessions "
          f"({per:.1f} MiB per session, target < 30), {after:.0f} MiB after dropping them "
          f"({alive} App objects alive: dropped here without a server's session teardown; "
          "bench/load_dashboard.py counts what real sessions leave behind)")
    return {"rss_before_mb": round(before, 1), "rss_sessions_mb": round(with_sessions, 1),
            "per_session_mb": round(per, 1), "rss_after_mb": round(after, 1), "apps_alive": alive}


# --------------------------------------------------------------------------------------------
# browser
# --------------------------------------------------------------------------------------------

JS_SET = """([title, prop, value]) => {
    for (const doc of Bokeh.documents) {
        for (const m of doc.all_models) {
            if (m.title === title && prop in m) {
                if (prop === 'value' && 'value_throttled' in m) {
                    m.setv({value: value, value_throttled: value});
                } else {
                    m.setv({[prop]: value});
                }
                return true;
            }
        }
    }
    return false;
}"""

JS_SLICE_READY = """() => {
    if (!window.Bokeh || !Bokeh.index) return false;
    const v = Bokeh.index.query_one(v => v.model && v.model.name === 'atlas-slice');
    return !!(v && v.has_finished());
}"""

JS_SLICE_PIXEL = """([x, y]) => {
    const view = Bokeh.index.query_one(v => v.model && v.model.name === 'atlas-slice');
    const frame = view.frame;
    const r = view.canvas_view.el.getBoundingClientRect();
    return [r.left + frame.x_scale.compute(x), r.top + frame.y_scale.compute(y)];
}"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``atlas serve ATLAS_DIR`` on a free loopback port, its log in a file."""

    def __init__(self, atlas_dir: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_path
        self.log = open(log_path, "wb")
        env = {**os.environ, "VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"}
        self.proc = subprocess.Popen(self.command(atlas_dir), cwd=REPO, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.started = time.perf_counter()

    def command(self, atlas_dir: Path) -> list[str]:
        return [sys.executable, "-m", "atlas_core", "serve", str(atlas_dir), "--port", str(self.port)]

    def wait(self, timeout: float = 300.0) -> float:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log_path}")
            try:  # any HTTP answer (even 404) means the server listens; GET / would make a session
                with urllib.request.urlopen(self.url + "liveness", timeout=2):
                    return time.perf_counter() - self.started
            except urllib.error.HTTPError:
                return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.25)
        raise TimeoutError(f"server did not answer in {timeout} s")

    def errors(self) -> list[str]:
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines()
                if "Traceback" in line or " ERROR " in line or "Exception" in line]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class WsClock:
    """Arrival times of websocket frames from the server, to find when an update settled."""

    def __init__(self, page):
        self.frames: list[float] = []
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda _payload: self.frames.append(time.perf_counter())))

    def settled_after(self, t0: float, page, quiet_s: float = 0.3, timeout: float = 30.0) -> float:
        """Time of the last frame after ``t0`` once no frame has come for ``quiet_s``."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            page.wait_for_timeout(50)
            after = [t for t in self.frames if t >= t0]
            if after and time.perf_counter() - after[-1] >= quiet_s:
                return after[-1]
        raise TimeoutError("the server's update did not settle")


def page_ready(page, url: str, timeout_ms: int = 120_000) -> float:
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(JS_SLICE_READY, timeout=timeout_ms, polling=50)
    return time.perf_counter() - t0


def bench_browser(atlas_dir: Path, repeats: int, sessions: int, log_dir: Path) -> dict:
    import numpy as np
    from playwright.sync_api import sync_playwright

    from dashboard.filters import SLICE_COLORS

    server = Server(atlas_dir, log_dir / "bench_dashboard_server.log")
    out: dict = {}
    try:
        out["server_start_s"] = round(server.wait(), 2)
        print(f"browser: atlas serve answered after {out['server_start_s']:.1f} s on {server.url}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
            firsts = []
            for _ in range(sessions):
                ctx = browser.new_context(viewport={"width": 1600, "height": 1100})
                page = ctx.new_page()
                firsts.append(page_ready(page, server.url))
                ctx.close()
            out["first_page_ready"] = summarise(firsts)
            print(f"  first page ready (slice drawn), {sessions} fresh sessions: "
                  f"first {firsts[0]:.2f} s, median {statistics.median(firsts):.2f} s, "
                  f"max {max(firsts):.2f} s (target < 5 s)")

            ctx = browser.new_context(viewport={"width": 1600, "height": 1100})
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            clock = WsClock(page)
            page_ready(page, server.url)
            page.wait_for_timeout(1000)

            def round_trip(title, prop, value, expect_text):
                t0 = time.perf_counter()
                ok = page.evaluate(JS_SET, [title, prop, value])
                if not ok:
                    raise RuntimeError(f"no widget titled {title!r} with {prop!r}")
                page.locator(f"text={expect_text}").first.wait_for(timeout=60_000)
                t_text = time.perf_counter()
                t_ws = clock.settled_after(t0, page)
                return max(t_text, t_ws) - t0

            rt: dict[str, list[float]] = {}
            rng = np.random.default_rng(1)
            offsets = rng.permutation(np.arange(-12.0, 12.0, 0.5))[:repeats]
            for v in offsets:
                rt.setdefault("slider: offset", []).append(round_trip(
                    "Offset along the normal [R_E]", "value", float(v), f"plane at {v:+.1f} R_E"))
            labels = {k: v for k, v in SLICE_COLORS.items()}
            for key in ["entropy", "count", "dominant"] * max(1, repeats // 6):
                rt.setdefault("select: colour", []).append(round_trip(
                    "Colour cells by", "value", labels[key], f"colour: {labels[key]}"))

            # cell clicks: the inspector must name the clicked leaf
            from dashboard.filters import Filters
            from dashboard.store import DataStore

            store = DataStore.open(atlas_dir)
            fl = Filters()  # the slice at z = 0 (where an orbit's data are), coloured by regime
            round_trip("Offset along the normal [R_E]", "value", 0.0, "plane at +0.0 R_E")
            frame = store.slice_frame(fl)
            frame = frame[frame["windows"] > 0].sort_values("u1")
            picks = frame.iloc[np.linspace(0, len(frame) - 1, min(repeats, len(frame))).astype(int)]
            clicks, failed = [], 0
            for row in picks.itertuples():
                u, v = (row.u0 + row.u1) / 2, (row.v0 + row.v1) / 2
                leaf = store.leaf_at("XY", fl.offset, u, v)
                px, py = page.evaluate(JS_SLICE_PIXEL, [u, v])
                t0 = time.perf_counter()
                page.mouse.click(px, py)
                try:
                    page.locator(".atlas-inspector", has_text=f"leaf {leaf} ").first.wait_for(
                        timeout=20_000)
                except Exception:
                    failed += 1
                    page.screenshot(path=str(log_dir / "bench_dashboard_click.png"))
                    print(f"  cell click at ({u:.2f}, {v:.2f}) R_E -> px ({px:.0f}, {py:.0f}): "
                          f"the inspector never showed leaf {leaf}")
                    continue
                t_text = time.perf_counter()
                clicks.append(max(t_text, clock.settled_after(t0, page)) - t0)
            if clicks:
                rt["cell click -> inspector"] = clicks
            out["cell_clicks_failed"] = failed
            out["round_trips"] = {k: summarise(v) for k, v in rt.items()}
            out["page_errors"] = errors
            print(f"  {'round trip in Chromium':36s} {'n':>3s} {'first':>8s} {'median':>8s} {'p95':>8s}   (ms)")
            for k, s in out["round_trips"].items():
                print(f"  {k:36s} {s['n']:3d} {s['first_ms']:8.1f} {s['median_ms']:8.1f} {s['p95_ms']:8.1f}")
            ctx.close()
            browser.close()
        out["server_errors"] = server.errors()
        print(f"  page errors: {len(out['page_errors'])}, server log errors: {len(out['server_errors'])}")
        for line in sorted(set(out["page_errors"]))[:5] + out["server_errors"][:5]:
            print(f"    {line[:300]}")
    finally:
        server.stop()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_atlas_argument(p)
    p.add_argument("--repeats", type=int, default=12, help="samples per interaction")
    p.add_argument("--browser", action="store_true", help="also measure in Chromium")
    p.add_argument("--sessions", type=int, default=5, help="fresh sessions for first-page time")
    p.add_argument("--no-server", action="store_true", help="skip the in-process part")
    p.add_argument("--layer", action="store_true",
                   help="also time the product layer alone (what the store computes per change)")
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    atlas_dir = resolve_atlas(args)
    if atlas_dir is None:
        return 2
    results: dict = {"machine": f"{os.cpu_count()} CPU cores", "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.layer:
        results["layer"] = bench_layer(atlas_dir, args.repeats)
    if not args.no_server:
        results["server"] = bench_server(atlas_dir, args.repeats)
    if args.browser:
        if not Path(CHROMIUM).exists():
            print(f"{CHROMIUM} missing: apt-get install -y chromium", file=sys.stderr)
            return 2
        log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        results["browser"] = bench_browser(atlas_dir, args.repeats, args.sessions, log_dir)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

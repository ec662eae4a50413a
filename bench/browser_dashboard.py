"""Browser benchmark: the dashboard's speed as a person feels it in Chromium, and the server's
memory, for one session and for several at once.

``atlas serve ATLAS_DIR`` runs on a free 127.0.0.1 port. Each session (a Chromium page,
1600 x 1000, driven by Playwright; never ``playwright install``) times, from the user's action
to the visible result:

- ``first_page``: from navigation until the slice is painted (a non-blank canvas) and the
  controls are on the page;
- ``colour``, ``plane``, ``offset``: a control change until the slice's cells have been
  repainted (the page counts paints: two animation frames after the cells' data source
  changed);
- ``condition``: the "quiet" button until the slice caption shows the new condition;
- ``cell_click``: a click on a cell until the inspector names it;
- ``nearest``: the nearest-neighbour mode until the caption states what the neighbours span;
- ``tab:<name>``: each tab until its drawing surface is painted (the 3D map: a WebGL canvas
  with a picture).

``--sessions N`` (default 5) then runs N such sessions at once (one process, one browser each)
and prints the ratio of their medians to the single-session figures. The server's resident
memory is sampled (psutil) at start, after a warm-up session has closed (the process' shared
caches filled), at the peak and 40 s after the last session closed (Bokeh drops closed sessions
after ~15-17 s).

Timings depend on the machine's load (the project's machine is 2 cores shared by several jobs):
run it behind other heavy work and quote the load with the numbers::

    flock /tmp/atlas-heavy.lock .venv/bin/python bench/browser_dashboard.py data/atlas1y
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "dashboard"))

from e2e_harness import (  # noqa: E402
    SLICE,
    VIEWPORT,
    PageWatch,
    atlas_serve_cmd,
    data_to_page,
    free_port,
    image_is_nonblank,
    launch,
    served,
    show_tab,
    text_of,
)

TABS = {"MLT–R and X–ρ maps": ".atlas-maps", "Time series and orbit": ".atlas-series",
        "Orbital coverage": ".atlas-coverage", "Feature violins": ".atlas-violins",
        "Quiet vs storm": ".atlas-occupancy", "3D regime map": ".atlas-regime3d",
        "Regimes": ".atlas-regimes"}
JS_COUNT_PAINTS = """() => {
    const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-slice');
    if (!v) return false;
    if (window.__atlasPaints === undefined) {
        window.__atlasPaints = 0;
        const src = v.model.renderers[0].data_source;
        src.connect(src.properties.data.change, () => requestAnimationFrame(
            () => requestAnimationFrame(() => { window.__atlasPaints += 1; })));
    }
    return true;
}"""


def wait(check, timeout=120.0, poll=0.03):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:  # an element replaced while we looked
            pass
        time.sleep(poll)
    raise TimeoutError("no visible result")


def timed(action, check, timeout=120.0) -> float:
    t0 = time.perf_counter()
    action()
    wait(check, timeout)
    return time.perf_counter() - t0


def slice_painted(page) -> bool:
    canvas = page.locator(".atlas-slice canvas").first
    return canvas.is_visible() and image_is_nonblank(canvas.screenshot(timeout=5000), 6)


def paints(page) -> int:
    return int(page.evaluate("() => window.__atlasPaints || 0"))


def repaint(page, action) -> float:
    before = paints(page)
    return timed(action, lambda: paints(page) > before)


def select(page, label, option):
    page.locator(".bk-input-group", has_text=label).locator("select").first.select_option(
        label=option)


def click_button(page, css, text):
    page.locator(css).locator("button", has_text=text).first.click()


def tab_painted(page, selector, min_colors):
    for canvas in page.locator(f"{selector} canvas").all():
        if canvas.is_visible():
            box = canvas.bounding_box()
            if box and box["width"] > 150 and box["height"] > 80 and image_is_nonblank(
                    canvas.screenshot(timeout=5000), min_colors):
                return True
    if selector == ".atlas-regimes":
        return "n [cm" in text_of(page.locator(".atlas-summary").first)
    return False


def session(url: str, cell_uv: tuple[float, float], leaf: int, out: dict | None = None) -> dict:
    """One scripted session; returns {metric: seconds} and the page's problem count."""
    from playwright.sync_api import sync_playwright

    times: dict[str, float] = {}
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(120_000)
        watch = PageWatch.on(page)
        t0 = time.perf_counter()
        page.goto(url + "/?offset=-0.5")
        wait(lambda: slice_painted(page) and page.locator(".atlas-legend").first.is_visible())
        times["first_page"] = time.perf_counter() - t0
        wait(lambda: page.evaluate(JS_COUNT_PAINTS))
        time.sleep(1.0)
        times["colour"] = repaint(page, lambda: select(page, "Colour cells by", "entropy (bits)"))
        times["colour_back"] = repaint(page, lambda: select(page, "Colour cells by",
                                                            "dominant regime"))
        caption = page.locator(".atlas-slice-caption").first
        before = text_of(caption)
        times["condition"] = timed(lambda: click_button(page, ".atlas-show", "quiet"),
                                   lambda: text_of(caption) != before and "quiet" in text_of(caption))
        click_button(page, ".atlas-show", "all states")
        wait(lambda: "all states" in text_of(caption))
        time.sleep(0.5)
        px, py = data_to_page(page, SLICE, *cell_uv)
        times["cell_click"] = timed(lambda: page.mouse.click(px, py),
                                    lambda: f"leaf {leaf} " in text_of(
                                        page.locator(".atlas-inspector").first))
        times["plane"] = repaint(page, lambda: click_button(page, ".atlas-plane", "XZ"))
        times["plane_back"] = repaint(page, lambda: click_button(page, ".atlas-plane", "XY"))
        handle = page.locator(".bk-input-group", has_text="Offset along").locator(
            ".noUi-handle").first
        times["offset"] = repaint(page, lambda: (handle.focus(), handle.press("ArrowRight")))
        times["nearest"] = timed(lambda: click_button(page, ".atlas-mode", "nearest"),
                                 lambda: "neighbours span" in text_of(caption))
        click_button(page, ".atlas-mode", "Dst ranges")
        for title, selector in TABS.items():
            times[f"tab:{title}"] = timed(lambda t=title: show_tab(page, t),
                                          lambda s=selector, t=title: tab_painted(
                                              page, s, 20 if "3D" in t else 8), timeout=180)
        show_tab(page, "Octree slice")
        wait(lambda: slice_painted(page))
        times["problems"] = float(watch.count())
        browser.close()
    if out is not None:
        out.update(times)
    return times


def _worker(args):
    url, cell_uv, leaf = args
    return session(url, cell_uv, leaf)


def rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def pick_cell(atlas_dir: Path) -> tuple[tuple[float, float], int]:
    """The biggest cell holding windows in the XY plane at z = -0.5 R_E (easy to hit)."""
    from atlas_core.atlas import Atlas, product

    atlas = Atlas.open(atlas_dir)
    t = product.slice_table(atlas, "xy", -0.5, None, "dominant", 0)
    t = t[~t["empty"]].assign(size=t["u1"] - t["u0"]).sort_values("size")
    row = t.iloc[-1]
    return ((row.u0 + row.u1) / 2, (row.v0 + row.v1) / 2), int(row.leaf)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atlas_dir", type=Path, nargs="?", default=REPO / "data" / "atlas1y")
    ap.add_argument("--sessions", type=int, default=5)
    args = ap.parse_args(argv)
    cell_uv, leaf = pick_cell(args.atlas_dir)
    port = free_port()
    load = os.getloadavg()
    print(f"atlas {args.atlas_dir}; machine load (1/5/15 min) {load[0]:.1f}/{load[1]:.1f}/"
          f"{load[2]:.1f} on {os.cpu_count()} cores")
    with served(atlas_serve_cmd(args.atlas_dir, port), port,
                env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"}) as url:
        pid = url.pid
        mem = {"start": rss_mb(pid)}
        session(url, cell_uv, leaf)  # warm-up: imports, caches shared by every session
        time.sleep(40)
        mem["warm"] = rss_mb(pid)
        single = session(url, cell_uv, leaf)
        with mp.get_context("spawn").Pool(args.sessions) as pool:
            result = pool.map_async(_worker, [(url, cell_uv, leaf)] * args.sessions)
            peak = 0.0
            while not result.ready():
                peak = max(peak, rss_mb(pid))
                time.sleep(0.5)
            many = result.get()
        mem["peak"] = peak
        time.sleep(40)
        mem["after_close"] = rss_mb(pid)
    many_head = f"{args.sessions} sessions (median)"
    print(f"\n{'metric':32s} {'1 session':>10s} {many_head:>22s} {'ratio':>6s}")
    for key in single:
        if key == "problems":
            continue
        m = statistics.median(r[key] for r in many)
        print(f"{key:32s} {single[key]:10.2f} {m:22.2f} {m / single[key]:6.2f}")
    print(f"\nbrowser problems (console errors/warnings, page errors, off-host requests): "
          f"single {int(single['problems'])}, concurrent {[int(r['problems']) for r in many]}")
    print(f"server memory [MB]: start {mem['start']:.0f}, after a warm-up session "
          f"{mem['warm']:.0f}, peak with {args.sessions} sessions {mem['peak']:.0f}, 40 s after "
          f"they closed {mem['after_close']:.0f} (vs warm: {mem['after_close'] - mem['warm']:+.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load test: concurrent Chromium sessions change the dashboard's controls for a minute.

``atlas serve`` runs on a free 127.0.0.1 port; one Chromium (Debian's, driven by Playwright's
async API; never ``playwright install``) opens ``--sessions`` isolated browser contexts, each a
separate Panel session. Every session owns a disjoint window of slice offsets (and starts from
its own plane and colouring through the URL), then loops until ``--duration`` s are up: it sets
a control through BokehJS exactly as a widget would (offset slider, plane buttons, colour
select, quiet/storm/all condition), and times the round trip until

1. the server-rendered caption of its slice shows its own new state, and
2. its websocket has gone quiet (the last patch of the update has arrived).

Isolation check (no cross-session leakage): after each update, the session reads back its
caption, its slider's value in the page and the URL's query; any value that is not its own
(for instance another session's offset) is counted as a leak, with the details printed.

Errors: page errors (uncaught JavaScript exceptions), browser console errors, failed updates
(no caption within the timeout) and tracebacks in the server log are counted. Prints
per-session counts and overall median/p95/max latency.

Memory (the server is ``bench/probe_server.py``: the app and serve options of ``atlas serve``
plus a ``/bench-probe`` endpoint): the server's RSS after one warm-up page has loaded what all
sessions share, with every session live at the end of the run (growth per added session, the
product layer's shared cache growth taken out), and after the browsers closed, once Bokeh has
dropped the sessions (sessions and App objects left; RSS before and after ``malloc_trim``).

Run (queue behind other heavy jobs)::

    flock /tmp/atlas-heavy.lock .venv/bin/python bench/load_dashboard.py data/atlas10y
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dashboard import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    JS_SET,
    JS_SLICE_READY,
    Server,
    add_atlas_argument,
    resolve_atlas,
    summarise,
)

JS_SET_ACTIVE = """([label, index]) => {
    for (const doc of Bokeh.documents) {
        for (const m of doc.all_models) {
            if (Array.isArray(m.labels) && m.labels.includes(label) && 'active' in m) {
                m.setv({active: index});
                return true;
            }
        }
    }
    return false;
}"""

JS_READ_SLIDER = """(title) => {
    for (const doc of Bokeh.documents) {
        for (const m of doc.all_models) {
            if (m.title === title && 'value' in m) return m.value;
        }
    }
    return null;
}"""

OFFSET_TITLE = "Offset along the normal [R_E]"
PLANES = ["XY", "XZ", "YZ"]
SHOWS = {"all states": "all", "quiet": "quiet", "storm": "storm"}
COLOURS = ["dominant", "entropy", "count"]  # captions of these need no regime label


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (Linux /proc/stat)."""
    vals = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = vals[3] + vals[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(vals) - idle) / tick, sum(vals) / tick


class Session:
    """One browser context = one Panel session, with its own expected state."""

    def __init__(self, i: int, offsets: list[float], labels: dict, cond_labels: dict):
        self.i = i
        self.offsets = offsets
        self.labels = labels
        self.cond_labels = cond_labels
        self.state = {"plane": PLANES[i % 3], "offset": offsets[0],
                      "color": COLOURS[i % len(COLOURS)], "show": "all"}
        self.latencies: list[float] = []
        self.first_page_s: float | None = None
        self.updates = 0
        self.failed: list[str] = []
        self.leaks: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.frames: list[float] = []

    def caption(self) -> str:
        s = self.state
        # the caption goes on with the number of windows: "... condition: LABEL (N windows)."
        return (f"{s['plane']} plane at {s['offset']:+.1f} R_E — colour: {self.labels[s['color']]}; "
                f"condition: {self.cond_labels[s['show']]} (")

    def query(self) -> str:
        s = self.state
        return f"?plane={s['plane']}&offset={s['offset']}&color={s['color']}"


async def settled(session: Session, t0: float, quiet_s: float = 0.3, timeout: float = 60.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        after = [t for t in session.frames if t >= t0]
        if after and time.perf_counter() - after[-1] >= quiet_s:
            return after[-1]
    raise TimeoutError("update did not settle")


async def check_isolation(session: Session, page) -> None:
    """The session's caption, slider and URL all hold its own values."""
    s = session.state
    text = await page.locator("p").filter(has_text=re.compile(r"plane at [+-]\d")).first.inner_text()
    if session.caption() not in text.replace("\n", " "):
        session.leaks.append(f"caption {text[:120]!r}, expected {session.caption()!r}")
    value = await page.evaluate(JS_READ_SLIDER, OFFSET_TITLE)
    if value is None or abs(float(value) - s["offset"]) > 1e-9:
        session.leaks.append(f"slider value {value}, expected {s['offset']}")
    m = re.search(r"[?&]offset=([-+0-9.e]+)", page.url)
    if m and abs(float(m.group(1)) - s["offset"]) > 1e-9:
        session.leaks.append(f"URL offset {m.group(1)}, expected {s['offset']}")


async def run_session(session: Session, browser, url: str, duration: float, seed: int,
                      timeout_s: float):
    """Open the session's page and change its controls for ``duration`` s; returns the
    browser context, still open (the caller measures the server with every session live)."""
    ctx = await browser.new_context(viewport={"width": 1500, "height": 1000})
    page = await ctx.new_page()
    page.on("pageerror", lambda e: session.page_errors.append(str(e)))
    page.on("console", lambda m: session.console_errors.append(m.text)
            if m.type == "error" else None)
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda _p: session.frames.append(time.perf_counter())))
    rng = random.Random(seed)
    t0 = time.perf_counter()
    try:
        # a Panel page is ready when its websocket has delivered the views, not at "load"
        await page.goto(url + session.query(), timeout=timeout_s * 1000, wait_until="commit")
        await page.wait_for_function(JS_SLICE_READY, timeout=timeout_s * 1000, polling=100)
        session.first_page_s = time.perf_counter() - t0
        await page.get_by_text(session.caption()).first.wait_for(timeout=timeout_s * 1000)
        await check_isolation(session, page)
    except Exception as err:  # noqa: BLE001 - a session that never came up is a failure
        session.failed.append(f"first page: {type(err).__name__}: {str(err)[:120]}")
        return ctx

    actions = ["offset", "offset", "color", "plane", "show"]
    end = time.perf_counter() + duration
    step = 0
    while time.perf_counter() < end:
        action = actions[step % len(actions)]
        step += 1
        s = session.state
        if action == "offset":
            choices = [o for o in session.offsets if o != s["offset"]]
            s["offset"] = rng.choice(choices)
            js, arg = JS_SET, [OFFSET_TITLE, "value", s["offset"]]
        elif action == "color":
            s["color"] = rng.choice([c for c in COLOURS if c != s["color"]])
            js, arg = JS_SET, ["Colour cells by", "value", session.labels[s["color"]]]
        elif action == "plane":
            s["plane"] = rng.choice([p for p in PLANES if p != s["plane"]])
            js, arg = JS_SET_ACTIVE, ["XY", PLANES.index(s["plane"])]
        else:
            names = list(SHOWS.values())
            s["show"] = rng.choice([n for n in names if n != s["show"]])
            js, arg = JS_SET_ACTIVE, ["quiet", names.index(s["show"])]
        t_start = time.perf_counter()
        ok = await page.evaluate(js, arg)
        if not ok:
            session.failed.append(f"no widget for {action}")
            continue
        try:
            await page.get_by_text(session.caption()).first.wait_for(timeout=timeout_s * 1000)
            t_caption = time.perf_counter()
            t_ws = await settled(session, t_start)
        except Exception as err:  # noqa: BLE001 - any failure to update is a failed update
            session.failed.append(f"{action} -> {session.caption()!r}: {type(err).__name__}")
            continue
        session.latencies.append(max(t_caption, t_ws) - t_start)
        session.updates += 1
        await check_isolation(session, page)
        await asyncio.sleep(rng.uniform(0.1, 0.5))  # a user's pause between changes
    return ctx


def niced_chromium(niceness: int) -> str:
    """A wrapper script that runs Chromium at a lower CPU priority (``nice -n``), so that on
    one small machine the browsers, which in real use run on the users' own computers, take
    CPU only when the server does not need it."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="atlas-load-")) / "chromium-niced"
    path.write_text(f'#!/bin/sh\nexec nice -n {int(niceness)} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return str(path)


async def run_load(server, sessions: list[Session], duration: float, timeout_s: float,
                   executable: str = CHROMIUM) -> dict:
    """Warm the server with one page, then run the sessions; the server's memory is probed
    with none open (after the warm-up), with every session live, and after they closed."""
    from playwright.async_api import async_playwright

    out: dict = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                           headless=True)
        warm = await browser.new_context()
        page = await warm.new_page()
        await page.goto(server.url, wait_until="commit")
        await page.wait_for_function(JS_SLICE_READY, timeout=timeout_s * 1000, polling=100)
        await warm.close()
        out["idle"] = await server.probe_until_closed()
        t0 = time.perf_counter()
        contexts = await asyncio.gather(*[
            run_session(s, browser, server.url, duration, seed=s.i, timeout_s=timeout_s)
            for s in sessions])
        out["wall_s"] = time.perf_counter() - t0
        out["live"] = await asyncio.to_thread(server.probe)
        for ctx in contexts:
            await ctx.close()
        await browser.close()
    out["closed"] = await server.probe_until_closed()
    out["closed_trimmed"] = await asyncio.to_thread(server.probe, True)
    return out


class ProbeServer(Server):
    """:class:`bench_dashboard.Server` running ``bench/probe_server.py`` (the same app and
    serve options as ``atlas serve``) with its ``/bench-probe`` memory and session probe."""

    threads = 0  # Panel's event thread pool in the server (0: none, as atlas serve)

    def command(self, atlas_dir: Path) -> list[str]:
        return [sys.executable, str(Path(__file__).with_name("probe_server.py")), str(atlas_dir),
                "--port", str(self.port), "--threads", str(self.threads)]

    def probe(self, trim: bool = False, chain: bool = False) -> dict:
        """The server's probe; ``chain``: print what holds a surviving App in the server log."""
        import urllib.request

        query = "&".join(q for q, on in (("trim=1", trim), ("chain=1", chain)) if on)
        with urllib.request.urlopen(self.url + "bench-probe" + ("?" + query if query else ""),
                                    timeout=120) as r:
            return json.loads(r.read())

    async def probe_until_closed(self, timeout_s: float = 120.0) -> dict:
        """Probe until no session and no App is left (Bokeh drops a closed session after its
        unused lifetime, ~15-30 s), or the timeout; ``waited_s`` says how long that took."""
        t0 = time.perf_counter()
        while True:
            state = await asyncio.to_thread(self.probe)
            if state["sessions"] == 0 and state["apps"] == 0:
                return {**state, "waited_s": round(time.perf_counter() - t0, 1)}
            if time.perf_counter() - t0 > timeout_s:
                state = await asyncio.to_thread(self.probe, False, True)
                return {**state, "waited_s": round(time.perf_counter() - t0, 1)}
            await asyncio.sleep(2.0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_atlas_argument(p)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--threads", type=int, default=0,
                   help="Panel's event thread pool in the server (0: none, as atlas serve)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of control changes")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds one update may take")
    p.add_argument("--nice-browsers", type=int, default=0, metavar="N",
                   help="run Chromium under `nice -n N` (browsers yield the CPU to the server, "
                        "as if they ran on the users' machines)")
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    atlas_dir = resolve_atlas(args)
    if atlas_dir is None:
        return 2
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} missing: apt-get install -y chromium", file=sys.stderr)
        return 2

    import numpy as np

    from dashboard.filters import SLICE_COLORS, Filters
    from dashboard.store import DataStore

    store = DataStore.open(atlas_dir)
    f = Filters()
    lo, hi = store.extent
    f.set_extent(float(lo.min()), float(hi.max()))
    a, b = f.param.offset.bounds
    # disjoint offset windows, one per session, 0.5 R_E steps inside the data's extent
    edges = np.linspace(a + 1, b - 1, args.sessions + 1)
    windows = []
    for i in range(args.sessions):
        vals = np.arange(np.ceil(edges[i] * 2) / 2, edges[i + 1] - 0.25, 0.5)
        windows.append([float(v) for v in vals])
    if min(len(w) for w in windows) < 2:
        print("extent too small for disjoint offset windows", file=sys.stderr)
        return 2
    cond_labels = {"all": f.current().label, "quiet": f.quiet().label, "storm": f.storm().label}
    sessions = [Session(i, windows[i], SLICE_COLORS, cond_labels) for i in range(args.sessions)]
    print(f"load test: {args.sessions} sessions x {args.duration:.0f} s on {atlas_dir} "
          + (f"(Chromium under nice -n {args.nice_browsers}) " if args.nice_browsers else "")
          + f"({store.n_states:,} states, {store.n_leaves:,} leaves); offset windows "
          + ", ".join(f"[{w[0]:+.1f}..{w[-1]:+.1f}]" for w in windows))
    del store

    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    server = ProbeServer(atlas_dir, log_dir / "load_dashboard_server.log")
    server.threads = args.threads
    try:
        server.wait()
        cpu0, (busy0, tot0) = proc_cpu_s(server.proc.pid), machine_cpu_s()
        exe = niced_chromium(args.nice_browsers) if args.nice_browsers else CHROMIUM
        memory = asyncio.run(run_load(server, sessions, args.duration, args.timeout, exe))
        wall = memory.pop("wall_s")
        cpu1, (busy1, tot1) = proc_cpu_s(server.proc.pid), machine_cpu_s()
        server_errors = server.errors()
        server_cpu = cpu1 - cpu0
        machine_busy = (busy1 - busy0) / max(tot1 - tot0, 1e-9)
    finally:
        server.stop()

    all_lat = [x for s in sessions for x in s.latencies]
    total = summarise(all_lat)
    firsts = [s.first_page_s for s in sessions if s.first_page_s is not None]
    n_fail = sum(len(s.failed) for s in sessions)
    n_leak = sum(len(s.leaks) for s in sessions)
    n_perr = sum(len(s.page_errors) for s in sessions)
    n_cons = sum(len(s.console_errors) for s in sessions)
    print(f"  {'session':8s} {'updates':>7s} {'median':>8s} {'p95':>8s} {'failed':>6s} {'leaks':>5s} "
          f"{'js err':>6s} {'console':>7s}")
    for s in sessions:
        st = summarise(s.latencies)
        print(f"  {s.i:8d} {s.updates:7d} {st.get('median_ms', float('nan')):8.1f} "
              f"{st.get('p95_ms', float('nan')):8.1f} {len(s.failed):6d} {len(s.leaks):5d} "
              f"{len(s.page_errors):6d} {len(s.console_errors):7d}")
    print(f"  all: {total.get('n', 0)} updates in {wall:.0f} s; latency median "
          f"{total.get('median_ms', float('nan')):.0f} ms, p95 {total.get('p95_ms', float('nan')):.0f} ms, "
          f"max {total.get('max_ms', float('nan')):.0f} ms; first page under load: median "
          f"{np.median(firsts) if firsts else float('nan'):.1f} s, "
          f"max {max(firsts) if firsts else float('nan'):.1f} s")
    print(f"  failed updates {n_fail}, cross-session leaks {n_leak}, page errors {n_perr}, "
          f"console errors {n_cons}, server tracebacks/errors {len(server_errors)}")
    idle, live, closed = memory["idle"], memory["live"], memory["closed"]
    per_session = (live["rss_mb"] - idle["rss_mb"] - (live["cache_mb"] - idle["cache_mb"])) / len(sessions)
    memory["per_session_mb"] = per_session
    print(f"  server memory: {idle['rss_mb']:.0f} MiB idle after a warm-up page (shared cache "
          f"{idle['cache_mb']:.0f} MiB); {live['rss_mb']:.0f} MiB with {live['sessions']} sessions "
          f"live (cache {live['cache_mb']:.0f} MiB) -> {per_session:.1f} MiB per added session "
          "besides the shared cache")
    print(f"  after closing: {closed['sessions']} sessions and {closed['apps']} App objects left "
          f"after {closed['waited_s']:.0f} s; {closed['rss_mb']:.0f} MiB "
          f"({memory['closed_trimmed']['rss_mb']:.0f} MiB after malloc_trim), i.e. "
          f"{closed['rss_mb'] - idle['rss_mb']:+.0f} MiB against idle")
    print(f"  CPU: the server process used {server_cpu:.0f} s of CPU in {wall:.0f} s "
          f"({100 * server_cpu / wall:.0f} % of one core); the machine's {os.cpu_count()} cores "
          f"were {100 * machine_busy:.0f} % busy (server + {args.sessions} Chromium sessions + "
          "anything else running)")
    for s in sessions:
        for line in (s.failed[:2] + s.leaks[:2] + sorted(set(s.page_errors))[:2]
                     + sorted(set(s.console_errors))[:2]):
            print(f"    session {s.i}: {line[:200]}")
    for line in server_errors[:5]:
        print(f"    server: {line[:200]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "atlas": str(atlas_dir), "sessions": args.sessions, "duration_s": args.duration,
            "wall_s": wall, "latency": total, "server_cpu_s": server_cpu,
            "machine_busy_fraction": machine_busy, "first_page_s": firsts, "failed": n_fail,
            "leaks": n_leak, "page_errors": n_perr, "console_errors": n_cons,
            "server_errors": server_errors[:20], "memory": memory,
            "per_session": [{"updates": s.updates, **summarise(s.latencies)} for s in sessions],
        }, indent=2))
    return 0 if (n_leak == 0 and n_fail == 0 and n_perr == 0 and n_cons == 0) else 1


if __name__ == "__main__":
    sys.exit(main())

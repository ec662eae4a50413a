"""Benchmarks of the atlas as a service (issue 14): nowcast, flythrough, HAPI.

Prints its figures; record them in docs/benchmarks.md with the machine load (the 2 shared cores
are busy with other work, so timings are noisy upper bounds).

    .venv/bin/python bench/bench_services.py [--atlas data/atlas10y] [--clients 20]

- nowcast: :func:`atlas_core.service.nowcast.nowcast` from one year of OMNI2 + Kyoto Dst files,
  at hours never asked before (cold product cache), median and max of ``--repeat`` runs;
- flythrough of one day at 1-minute resolution (1440 points): with the drivers of each hour
  (24 nearest-neighbour conditions, cold) and under a fixed Dst range;
- HAPI: ``atlas hapi`` in a subprocess on 127.0.0.1: startup (labelling every window), one
  year of window labels as CSV and as binary (wall time to the last byte, urllib), then
  ``--clients`` concurrent clients each asking ``--requests`` different days of labels: p50/p95
  latency, errors, and the server's resident memory before, after one round and after a second
  (flat memory = a streamed, not built, response).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def default_atlas() -> Path:
    log = Path("/tmp/demo10y.log")
    ten = ROOT / "data" / "atlas10y"
    if ten.is_dir() and log.exists() and log.read_text().rstrip().endswith("DONE10"):
        return ten
    return ROOT / "data" / "atlas1y"


def load() -> str:
    """The 1-min load average now, printed beside every timing (the 2 cores are shared)."""
    return f"[load {os.getloadavg()[0]:.1f}]"


def driver_files(atlas) -> list[Path]:
    """OMNI2 + Kyoto files of the synthetic archive behind the atlas (by its states' years)."""
    years = sorted(set(pd.DatetimeIndex(atlas.states["time"]).year))
    found = []
    for name in ("synth10y", "synth1y"):
        ind = ROOT / "data" / name / "indices"
        files = [ind / f"omni2_{y}.dat" for y in years] + [ind / f"dst_{y}.wdc" for y in years]
        found.append([f for f in files if f.exists()])
    return max(found, key=len)


def bench_nowcast(atlas, files, repeat: int) -> None:
    from atlas_core.service.drivers import _read_drivers, read_drivers
    from atlas_core.service.nowcast import nowcast

    table = read_drivers(files)
    ok = table[["dst", "sw_pdyn", "imf_bz_gsm", "sw_v"]].notna().all(axis=1)
    hours = table.index[ok][np.linspace(0, ok.sum() - 1, repeat + 1).astype(int)[1:]]
    nowcast(atlas, files, time=str(table.index[ok][0]))  # warm: trees, imports
    times = []
    for h in hours:
        t0 = time.perf_counter()
        nowcast(atlas, files, time=str(h))
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    _read_drivers(files)
    t_read = time.perf_counter() - t0
    print(f"nowcast (cold condition; the {len(files)} driver files parsed once and kept): median "
          f"{np.median(times):.3f} s, max {np.max(times):.3f} s over {repeat}; parsing the files "
          f"(a one-shot `atlas nowcast` pays it) {t_read:.3f} s {load()}")


def one_day(atlas, day_index: int) -> pd.DataFrame:
    st = atlas.states
    days = st["time"].dt.floor("D")
    counts = days.value_counts().sort_index()
    day = counts.index[counts.to_numpy() > 300][day_index]
    d = st[days == day]
    t = pd.date_range(day, day + pd.Timedelta("1D"), freq="min", inclusive="left")
    traj = pd.DataFrame({"time": t})
    for c in ("x_gsm", "y_gsm", "z_gsm"):
        traj[c] = np.interp(t.asi8, d["time"].astype("int64"), d[c])
    return traj


def bench_flythrough(atlas, files, repeat: int = 3) -> None:
    """One day at 1-minute resolution on ``repeat`` different days. With the drivers of each
    hour, every day is run twice, interleaved and in alternating order: counted over the
    selection's keys (now) and over dense (L, K) tables per condition (before), so load swings
    hit both alike; the kNN searches of a day are cold for whichever runs first."""
    from atlas_core.atlas.product import Condition
    from atlas_core.service import flythrough as module
    from atlas_core.service.drivers import read_drivers
    from atlas_core.service.flythrough import flythrough

    table = read_drivers(files)
    flythrough(atlas, one_day(atlas, 0), drivers=table)  # warm
    sparse = module.SPARSE_FACTOR
    runs = {"now": [], "before": []}
    loads = []
    try:
        for j, idx in enumerate(range(3, 3 + repeat)):
            traj = one_day(atlas, idx)
            order = ("now", "before") if j % 2 == 0 else ("before", "now")
            for which in order:
                module.SPARSE_FACTOR = sparse if which == "now" else 10**15
                t0 = time.perf_counter()
                out = flythrough(atlas, traj, drivers=table)
                runs[which].append(time.perf_counter() - t0)
            loads.append(os.getloadavg()[0])
    finally:
        module.SPARSE_FACTOR = sparse
    now, before = np.array(runs["now"]), np.array(runs["before"])
    print(f"flythrough 1 day x 1 min ({len(traj)} points), drivers of each hour (24 kNN "
          f"conditions): median {np.median(now):.3f} s, max {now.max():.3f} s over {repeat} days; "
          f"before (dense (L, K) tables per condition, same days interleaved): median "
          f"{np.median(before):.3f} s, max {before.max():.3f} s; per-day ratio now/before median "
          f"{np.median(now / before):.2f} ({(out['regime'] >= 0).mean():.0%} points in cells "
          f"with data on the last day) [load {min(loads):.1f}-{max(loads):.1f}]")
    dts = []
    for idx in range(5, 5 + repeat):
        traj = one_day(atlas, idx)
        t0 = time.perf_counter()
        out = flythrough(atlas, traj, cond=Condition(-50, 20))
        dts.append(time.perf_counter() - t0)
    print(f"flythrough 1 day x 1 min, fixed condition -50 <= Dst <= 20 nT: median "
          f"{np.median(dts):.3f} s, max {max(dts):.3f} s over {repeat} days "
          f"({(out['regime'] >= 0).mean():.0%} points in cells with data on the last) {load()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as r:
        n = 0
        while chunk := r.read(1 << 20):
            n += len(chunk)
        return time.perf_counter() - t0, r.status, n


def bench_hapi(atlas_dir: Path, clients: int, requests: int) -> None:
    import psutil

    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "atlas_core", "hapi", str(atlas_dir),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/hapi"
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("HAPI server exited")
            if line.startswith("HAPI server on"):
                break
        print(f"HAPI server startup (open atlas, label every window): {time.perf_counter() - t0:.1f} s "
              f"{load()}")
        ps = psutil.Process(proc.pid)
        cat = json.load(urllib.request.urlopen(f"{base}/catalog"))
        did = next(d["id"] for d in cat["catalog"] if d["id"].endswith("_regime_labels"))
        info = json.load(urllib.request.urlopen(f"{base}/info?dataset={did}"))
        start = pd.Timestamp(info["startDate"].rstrip("Z"))
        year0 = start.ceil("D")
        y0, y1 = year0.strftime("%Y-%m-%dT%H:%M:%SZ"), (year0 + pd.DateOffset(years=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for form in ("csv", "binary"):
            fetch(f"{base}/data?dataset={did}&start={y0}&stop={y1}&format={form}")  # warm
            dts = []
            for _ in range(3):
                dt, _, n = fetch(f"{base}/data?dataset={did}&start={y0}&stop={y1}&format={form}")
                dts.append(dt)
            print(f"HAPI one year of window labels ({form}, {n / 1e6:.1f} MB, all parameters): "
                  f"median {np.median(dts):.3f} s, max {max(dts):.3f} s {load()}")
        rss0 = ps.memory_info().rss
        stop = pd.Timestamp(info["stopDate"].rstrip("Z"))
        days = pd.date_range(year0, stop - pd.Timedelta("1D"), freq="D")
        rng = np.random.default_rng(0)

        def client(i: int) -> list[tuple[float, int]]:
            out = []
            for d in rng.choice(days, size=requests):
                d = pd.Timestamp(d)
                url = (f"{base}/data?dataset={did}&start={d:%Y-%m-%dT%H:%M:%SZ}"
                       f"&stop={d + pd.Timedelta('1D'):%Y-%m-%dT%H:%M:%SZ}")
                try:
                    dt, status, _ = fetch(url)
                    out.append((dt, 0 if status == 200 else 1))
                except OSError:
                    out.append((np.nan, 1))
            return out

        rss = []
        for rnd in range(2):
            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(clients) as ex:
                res = [r for part in ex.map(client, range(clients)) for r in part]
            wall = time.perf_counter() - t0
            lat = np.array([r[0] for r in res])
            errors = sum(r[1] for r in res)
            rss.append(ps.memory_info().rss)
            print(f"HAPI load round {rnd + 1}: {clients} concurrent clients x {requests} requests "
                  f"(a day of labels, csv): p50 {np.nanpercentile(lat, 50):.3f} s, p95 "
                  f"{np.nanpercentile(lat, 95):.3f} s, max {np.nanmax(lat):.3f} s, errors "
                  f"{errors}/{len(res)}, {len(res) / wall:.1f} requests/s {load()}")
        print(f"HAPI server RSS: before load {rss0 / 2**20:.0f} MiB, after round 1 "
              f"{rss[0] / 2**20:.0f} MiB, after round 2 {rss[1] / 2**20:.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--atlas", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--skip-hapi", action="store_true")
    args = ap.parse_args()
    from atlas_core.atlas import Atlas

    atlas_dir = args.atlas or default_atlas()
    print(f"atlas {atlas_dir}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(shared machine: timings are noisy upper bounds)")
    t0 = time.perf_counter()
    atlas = Atlas.open(atlas_dir)
    print(f"atlas open: {time.perf_counter() - t0:.1f} s ({len(atlas.states):,} states, "
          f"{atlas.n_leaves:,} leaves) {load()}")
    files = driver_files(atlas)
    bench_nowcast(atlas, files, args.repeat)
    bench_flythrough(atlas, files, args.repeat)
    if not args.skip_hapi:
        bench_hapi(atlas_dir, args.clients, args.requests)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

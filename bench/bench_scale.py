"""The atlas stage at the scale of MMS + Cluster + THEMIS together (~5 x 10^7 2-minute states).

**The load is synthetic and resampled**: states drawn with replacement from the synthetic
multi-mission state tables (``--sources``), each with its time shifted by a whole number of
years (0-19) plus up to +-12 h, its GSM position jittered by 0.25 R_E (Gaussian, per axis), its
log-scaled features multiplied by exp(N(0, 0.05)) and its signed features (Bz_mean, Vx_mean)
moved by 5 % of their spread: every row is distinct (no cache can answer a code), the mission
mix and the regime mix are the sources'. Say so next to every figure.

Stages (each in its own process, so that its peak memory is its own; peak = the largest sum of
the RSS of the process and its children, sampled every 0.2 s):

- ``load``: write the resampled table as Parquet partitions (``month=load/day=pNNNNN.parquet``,
  the state-table layout, so :func:`atlas_core.states.read_states` reads it);
- ``build``: :func:`atlas_core.atlas.partitioned.build_atlas_partitioned`: positions -> octree,
  regime codes, passes, counts and hierarchical estimates, anomaly calibration (10^6-state
  sample), NetCDF + Zarr, lean states.parquet; the regime model and the sampling model are
  the ``--reference`` atlas's (fitted on the sources: training is not in the timing); ``--scheduler local:N`` runs the codes step on a real
  dask.distributed LocalCluster of N single-threaded worker processes;
- ``dashboard``: the dashboard's data side at that scale: open the atlas (``Atlas.open``), the
  product-layer calls behind each interaction (2D slice at a new offset or plane, a new Dst
  range, a mission condition, a cell's numbers) and the session's ``DataStore``;
- ``all``: load (if missing), build locally, build on Dask, compare the two builds' counts
  (identical or not), then the dashboard; figures in ``data/missions/bench_scale.json``.

Run it alone (it keeps a core busy for minutes and needs up to ~12 GB)::

    free -g
    .venv/bin/python bench/bench_scale.py all --n 50000000 \\
        --sources data/missions/states_multi1y --reference data/missions/atlas_multi1y
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "data" / "missions"

LOG_JITTER = 0.05
SIGNED_JITTER = 0.05
POS_JITTER_RE = 0.25


class PeakRSS:
    """Largest total RSS (MB) of this process and its children, and the CPU seconds of all of
    them (each process's last sampled user + system time), sampled in a thread; the load
    average of the machine at the start and the end (others' jobs share it)."""

    def __init__(self, period_s: float = 0.2):
        import psutil

        self.proc = psutil.Process()
        self.period = period_s
        self.peak = 0.0
        self.cpu: dict[int, float] = {}
        self.load = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    def _total(self) -> float:
        import psutil

        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
                t = p.cpu_times()
                self.cpu[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        return total / 1e6

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            self._stop.wait(self.period)

    def current(self) -> float:
        """RSS (MB) of this process and its children now."""
        return self._total()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._total())
        self.load.append(os.getloadavg()[0])


def _source(paths: list[str]):
    """The source state tables, concatenated (positions, features, Dst/driver, mission)."""
    import pandas as pd

    from atlas_core.states import FEATURES, POSITION_GSM, read_states

    frames = []
    for p in paths:
        df = read_states(p)
        keep = ["time", *POSITION_GSM, *FEATURES, "dst", "ddst_dt", "sw_n", "sw_v",
                "imf_bz_gsm", "sw_pdyn", "mission", "probe"]
        df = df[[c for c in keep if c in df.columns]]
        frames.append(df)
    src = pd.concat(frames, ignore_index=True)
    src = src.dropna(subset=[*POSITION_GSM, *FEATURES]).reset_index(drop=True)
    for c in ("mission", "probe"):
        if c not in src:
            src[c] = "MMS" if c == "mission" else "mms1"
    print(f"sources: {len(src):,} states "
          + ", ".join(f"{m} {n:,}" for m, n in src["mission"].value_counts().items()))
    return src


def make_load(sources: list[str], n: int, partitions: int, out: Path, seed: int = 0) -> dict:
    """Write ``n`` resampled, jittered states from ``sources`` as ``partitions`` files."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from atlas_core.states import FEATURES, LOG_FEATURES, POSITION_GSM

    src = _source(sources)
    t0 = time.perf_counter()
    part_dir = out / "month=load"
    part_dir.mkdir(parents=True, exist_ok=True)
    signed = [f for f in FEATURES if f not in LOG_FEATURES]
    spread = {f: float(src[f].std()) for f in signed}
    numeric = [c for c in src.columns if c not in ("time", "mission", "probe")]
    cols = {c: src[c].to_numpy(np.float64) for c in numeric}
    cols["time"] = src["time"].to_numpy("datetime64[ns]")
    cats = {c: pd.Categorical(src[c].astype(str)) for c in ("mission", "probe")}
    per = -(-n // partitions)
    written = 0
    for k in range(partitions):
        m = min(per, n - written)
        if m <= 0:
            break
        rng = np.random.default_rng([seed, k])
        idx = rng.integers(0, len(src), m)
        years = rng.integers(0, 20, m).astype("timedelta64[D]") * 365
        jitter = (rng.uniform(-12, 12, m) * 3600).astype("timedelta64[s]")
        data = {"time": cols["time"][idx] + years + jitter}
        for c in numeric:
            v = cols[c][idx]
            if c in POSITION_GSM:
                v = v + rng.normal(0, POS_JITTER_RE, m)
            elif c in LOG_FEATURES:
                v = v * np.exp(rng.normal(0, LOG_JITTER, m))
            elif c in signed:
                v = v + rng.normal(0, SIGNED_JITTER * spread[c], m)
            data[c] = v.astype(np.float32)
        for c, cat in cats.items():
            data[c] = pa.DictionaryArray.from_arrays(
                pa.array(cat.codes[idx].astype(np.int32)), pa.array(list(cat.categories)))
        table = pa.table(data)
        path = part_dir / f"day=p{k:05d}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp, compression="lz4")
        os.replace(tmp, path)
        written += m
        if (k + 1) % 10 == 0 or written == n:
            el = time.perf_counter() - t0
            print(f"  load: {k + 1}/{partitions} partitions, {written:,} states, "
                  f"{written / el:,.0f} states/s", flush=True)
    size = sum(p.stat().st_size for p in part_dir.glob("*.parquet"))
    info = {"states": written, "partitions": partitions, "seconds": round(time.perf_counter() - t0, 1),
            "disk_gb": round(size / 1e9, 2), "sources": sources,
            "jitter": {"years": "0-19 whole years", "hours": "+-12", "position_re": POS_JITTER_RE,
                       "log_features": f"x exp(N(0, {LOG_JITTER}))",
                       "signed_features": f"+ N(0, {SIGNED_JITTER} x std)"}}
    (out / "load.json").write_text(json.dumps(info, indent=1))
    return info


def run_build(states: Path, reference: Path, out: Path, scheduler: str | None,
              max_states: int) -> dict:
    """The partitioned build with the regime model and sampling model of ``reference`` (an
    atlas built on the sources: training is not part of the timing)."""
    import logging

    import numpy as np

    from atlas_core.atlas import Atlas
    from atlas_core.atlas.partitioned import build_atlas_partitioned

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    sampling = Atlas.open(reference).sampling
    with PeakRSS() as peak:
        res = build_atlas_partitioned(states, out, reference / "model", scheduler=scheduler,
                                      sampling=sampling,
                                      octree_options={"max_states": max_states})
    counts = np.ascontiguousarray(res["counts"])
    info = {"scheduler": scheduler or "local (one process)", "states": res["n_states"],
            "max_states": max_states,
            "leaves": res["n_leaves"], "stages": res["stages"],
            "peak_rss_gb": round(peak.peak / 1e3, 2), "cpu_s_all_processes": round(peak.cpu_s, 1),
            "load_average_start_end": [round(x, 1) for x in peak.load],
            "counts_sha256": hashlib.sha256(counts.tobytes()).hexdigest(),
            "counts_total": int(counts[:, 0].sum())}
    return info


def profile_conditions(atlas: Path, top: int = 14) -> None:
    """cProfile (internal time) of a new wide Dst range, a mission condition and a storm range
    on an opened atlas whose Dst order is built: what a condition change spends its time on."""
    import cProfile
    import pstats

    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import Condition, counts, estimates, slice_table

    a = Atlas.open(atlas)
    a.index  # noqa: B018 - the Dst order, built once, outside the profiles
    slice_table(a, "xy", 0.0, Condition(), "dominant")
    for name, cond in [("wide Dst range (-23..20 nT)", Condition(dst_min=-23.0, dst_max=20.0)),
                       ("mission (Cluster)", Condition(mission="Cluster")),
                       ("storm (Dst <= -66 nT)", Condition(dst_max=-66.0))]:
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        c = counts(a, cond)
        t1 = time.perf_counter()
        estimates(a, cond)
        prof.disable()
        t2 = time.perf_counter()
        print(f"== {name}: {c.n_states:,} states; counts {t1 - t0:.2f} s, estimates "
              f"{t2 - t1:.2f} s (load {os.getloadavg()[0]:.1f})")
        pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def run_dashboard(atlas: Path, repeats: int) -> dict:
    """The dashboard's data side at scale: open the atlas as a dashboard session does (the
    Atlas, then the DataStore over it), then time the product-layer calls each interaction
    makes: a 2D slice at a new offset (condition cached), a new plane, a new Dst range (counts
    and estimates computed), a mission condition, a cell's numbers (query at a position)."""
    import statistics

    import numpy as np

    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import Condition, estimates, query_cells, slice_table

    def timed(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    out: dict = {}
    with PeakRSS() as peak:
        opened = []
        out["open_atlas_s"] = round(timed(lambda: opened.append(Atlas.open(atlas))), 2)
        a = opened[0]
        out["rss_after_open_gb"] = round(peak.current() / 1e3, 2)
        out["n_states"], out["n_leaves"] = int(a.n_states), int(a.n_leaves)
        out["first_all_estimates_s"] = round(timed(lambda: estimates(a, Condition())), 2)
        rng = np.random.default_rng(0)
        samples: dict[str, list[float]] = {}
        for v in rng.uniform(-12, 8, repeats):
            samples.setdefault("2D slice, new offset (all)", []).append(
                timed(lambda v=v: slice_table(a, "xy", float(v), Condition(), "dominant")))
        for plane in ["xz", "yz", "xy"] * max(1, repeats // 3):
            samples.setdefault("2D slice, plane change", []).append(
                timed(lambda p=plane: slice_table(a, p, 0.0, Condition(), "entropy")))
        # the first Dst range sorts the states by Dst (Atlas.index, built on first use)
        out["first_dst_range_s"] = round(timed(lambda: slice_table(
            a, "xy", 0.0, Condition(dst_min=-50.0, dst_max=-20.0), "dominant")), 2)
        for i in range(max(2, repeats // 2)):
            cond = Condition(dst_min=-20.0 - i, dst_max=20.0)
            samples.setdefault("new Dst range: counts + estimates + slice", []).append(
                timed(lambda c=cond: slice_table(a, "xy", 0.0, c, "dominant")))
        for i in range(max(2, repeats // 2)):
            cond = Condition(dst_max=-50.0 - 5 * i)
            samples.setdefault("new storm range (Dst <= -50 - 5i): counts + estimates + slice",
                               []).append(timed(lambda c=cond: slice_table(a, "xy", 0.0, c, "dominant")))
        for m in ("MMS", "Cluster", "THEMIS"):
            samples.setdefault("mission condition: counts + estimates + slice", []).append(
                timed(lambda m=m: slice_table(a, "xy", 0.0, Condition(mission=m), "dominant")))
        if "ddst_dt" in a.columns:  # nearest neighbours: the first builds the k-d tree
            def near(i):
                return Condition(near=(("ddst", -10.0 + i), ("dst", -80.0)), k=8000)

            out["first_nearest_neighbours_s"] = round(timed(lambda: slice_table(
                a, "xy", 0.0, near(0), "dominant")), 2)
            for i in range(1, max(2, repeats // 2) + 1):
                samples.setdefault("nearest-neighbour condition (dst, ddst), k 8000", []).append(
                    timed(lambda i=i: slice_table(a, "xy", 0.0, near(i), "dominant")))
        pts = rng.uniform([-15, -10, -5], [10, 10, 5], (repeats, 3))
        for p in pts:
            samples.setdefault("cell numbers at a position (all)", []).append(
                timed(lambda p=p: query_cells(a, p[None, :], Condition(), outside="nan")))
        out["interactions_ms"] = {k: {"n": len(v), "median": round(1e3 * statistics.median(v), 1),
                                      "max": round(1e3 * max(v), 1)} for k, v in samples.items()}
        out["state_columns_read"] = a.columns.loaded()
        out["rss_after_interactions_gb"] = round(peak.current() / 1e3, 2)
        try:  # the dashboard's own data store over the same atlas (what a session builds)
            sys.path.insert(0, str(REPO))
            from dashboard.store import DataStore

            out["datastore_s"] = round(timed(lambda: DataStore(a)), 2)
        except Exception as err:  # report, do not hide
            out["datastore_error"] = f"{type(err).__name__}: {err}"
    out["peak_rss_gb"] = round(peak.peak / 1e3, 2)
    out["load_average_start_end"] = [round(x, 1) for x in peak.load]
    return out


def _child(args: list[str]) -> dict:
    """Run one stage in a fresh process; its JSON result is the last line it prints."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args, "--json"]
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    for ln in lines[:-1]:
        print("   ", ln)
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"stage {args[0]} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


def print_build(info: dict) -> None:
    print(f"  build [{info['scheduler']}]: {info['states']:,} states, {info['leaves']:,} leaves "
          f"(octree max_states {info['max_states']}), peak RSS {info['peak_rss_gb']:.2f} GB, "
          f"CPU {info['cpu_s_all_processes']:.0f} s in all processes, load average "
          f"{info['load_average_start_end']}, counts sha256 {info['counts_sha256'][:16]}")
    print(f"    {'stage':26s} {'wall s':>8s} {'CPU s':>8s}  (CPU: the driver process)")
    for name, s in info["stages"].items():
        extra = {k: v for k, v in s.items() if k not in ("seconds", "cpu_s", "model")}
        print(f"    {name:26s} {s['seconds']:8.1f} {s['cpu_s']:8.1f}  {extra if extra else ''}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=["load", "build", "dashboard", "all"])
    ap.add_argument("--sources", nargs="+", default=[str(REPO / "data" / "states1y")])
    ap.add_argument("--n", type=int, default=50_000_000)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--states", type=Path, default=None, help="the load (default data/missions/scaleN)")
    ap.add_argument("--reference", type=Path, default=OUT / "atlas_multi1y",
                    help="atlas built on the sources: its regime and sampling models are used")
    ap.add_argument("--max-states", type=int, default=25,
                    help="octree: split a cell holding more states than this (default 25)")
    ap.add_argument("--out", type=Path, default=None, help="atlas dir (build) or result JSON (all)")
    ap.add_argument("--scheduler", default=None, help="local:N for a dask LocalCluster")
    ap.add_argument("--workers", type=int, default=2, help="Dask workers in 'all'")
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    ap.add_argument("--profile", action="store_true",
                    help="dashboard: profile three condition changes instead of timing")
    a = ap.parse_args(argv)
    tag = f"{a.n // 1_000_000}m" if a.n >= 1_000_000 else f"{a.n // 1000}k"
    states = a.states or OUT / f"scale{tag}"

    if a.stage == "load":
        res = make_load(a.sources, a.n, a.partitions, states)
    elif a.stage == "build":
        res = run_build(states, a.reference, a.out or OUT / f"atlas{tag}", a.scheduler,
                        a.max_states)
        if not a.json:
            print_build(res)
    elif a.stage == "dashboard" and a.profile:
        profile_conditions(a.out or OUT / f"atlas{tag}")
        return 0
    elif a.stage == "dashboard":
        res = run_dashboard(a.out or OUT / f"atlas{tag}", a.repeats)
        if not a.json:
            print(json.dumps(res, indent=1))
    else:
        res = {"load": (json.loads((states / "load.json").read_text())
                        if (states / "load.json").exists()
                        else _child(["load", "--n", str(a.n), "--partitions", str(a.partitions),
                                     "--states", str(states), "--sources", *a.sources]))}
        local = OUT / f"atlas{tag}"
        common = ["--states", str(states), "--reference", str(a.reference),
                  "--max-states", str(a.max_states)]
        res["build_local"] = _child(["build", *common, "--out", str(local)])
        print_build(res["build_local"])
        res["build_dask"] = _child(["build", *common, "--out", str(OUT / f"atlas{tag}_dask"),
                                    "--scheduler", f"local:{a.workers}"])
        print_build(res["build_dask"])
        same = res["build_local"]["counts_sha256"] == res["build_dask"]["counts_sha256"]
        res["identical_counts"] = same
        print(f"  local and Dask counts identical: {same}")
        res["dashboard"] = _child(["dashboard", "--out", str(local), "--repeats", str(a.repeats)])
        res["machine"] = {"cpus": os.cpu_count(), "note": "2 cores shared with other engineers: "
                          "timings are noisy"}
        path = OUT / f"bench_scale_{tag}.json"
        path.write_text(json.dumps(res, indent=1, default=str))
        print(f"results: {path}")
    if a.json:
        print(json.dumps(res, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

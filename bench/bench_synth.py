"""Benchmark: ``atlas synth`` + ``atlas ingest`` wall time and peak memory, one or ten years.

Runs the two CLI commands as child processes (exactly what a user runs) and reports, for each:
wall time, CPU time (user + system of the whole process tree, from
``resource.getrusage(RUSAGE_CHILDREN)`` before and after: on a shared machine the CPU time is
the steadier figure), the machine's load average when it started and ended, the peak of the
summed resident memory of the whole process tree (sampled every 0.2 s with psutil: the main
process plus its worker processes), and ``ru_maxrss`` of the largest child. Then counts the
states.

    python bench/bench_synth.py --years 1  --out data/synth1y  --states data/states1y
    python bench/bench_synth.py --years 10 --out data/synth10y --states data/states10y
    python bench/bench_synth.py --years 1  --out data/physics/synth1y --states data/physics/states1y

Existing output folders are removed first (the ingest would otherwise resume).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

SPANS = {1: ("2015-09-01", "2016-09-01"), 10: ("2015-09-01", "2025-11-01")}


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_measured(cmd: list[str]) -> dict:
    """Run ``cmd``; return wall and CPU time (s), load averages and peak tree RSS (MiB)."""
    load0 = os.getloadavg()[0]
    cpu0 = _cpu_children()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [ps] + ps.children(recursive=True)
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with status {proc.returncode}")
    return {"wall_s": round(wall, 1), "cpu_s": round(_cpu_children() - cpu0, 1),
            "load_avg_1min_start_end": [round(load0, 2), round(os.getloadavg()[0], 2)],
            "peak_tree_rss_mib": round(peak / 2**20),
            "max_child_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--years", type=int, choices=sorted(SPANS), default=1)
    ap.add_argument("--out", required=True, help="archive folder to write")
    ap.add_argument("--states", required=True, help="state-table folder to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    start, end = SPANS[args.years]
    out, states = Path(args.out), Path(args.states)
    for p in (out, states):
        if p.exists():
            shutil.rmtree(p)
    py = [sys.executable, "-m", "atlas_core"]
    synth = run_measured(py + ["synth", "--start", start, "--end", end, "--seed", str(args.seed),
                               "--out", str(out), "--no-progress"])
    idx = out / "indices"
    extra = [a for f in sorted(idx.glob("dst_*.wdc")) for a in ("--dst", str(f))]
    extra += [a for f in sorted(idx.glob("omni2_*.dat")) for a in ("--omni", str(f))]
    ingest = run_measured(py + ["ingest", "--data", str(out), "--out", str(states),
                                "--no-progress"] + extra)
    from atlas_core.states import read_states

    df = read_states(states, columns=["time", "x_gsm", "y_gsm", "z_gsm", "dst"])
    meta = json.loads((out / "archive.json").read_text())
    result = {
        "years": args.years, "span": [start, end], "seed": args.seed,
        "synth": synth, "ingest": ingest,
        "total_wall_s": round(synth["wall_s"] + ingest["wall_s"], 1),
        "total_cpu_s": round(synth["cpu_s"] + ingest["cpu_s"], 1),
        "states": int(len(df)), "days_with_data": meta["days_with_data"],
        "fpi_samples": meta["fpi_samples"],
        "quiet_fraction_states": round(float((df["dst"].abs() <= 20).mean()), 4),
        "quiet_fraction_hours": round(meta["quiet_fraction_hours"], 4),
        "extent_gsm_re": {c: [round(float(df[c].min()), 2), round(float(df[c].max()), 2)]
                          for c in ("x_gsm", "y_gsm", "z_gsm")},
        "cpu_count": psutil.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU cost of synth and ingest, this code against another version, on the same days.

Wall times on a shared machine say little; CPU time (``time.process_time``, best of 3, one
process, no workers) of the same work by two versions run back to back says how much the code
changed. Each version runs in its own child process:

    git archive 28afb51 atlas_core | tar -x -C /tmp/atlas_old        # a version to compare
    python bench/bench_synth_cpu.py --states-archive data/physics/synth1y --other /tmp/atlas_old

prints, per version, the CPU seconds of: synth of 10 days in June 2025 (ten years after the
orbit's epoch: the old mean anomaly integrated from it), ingest of 19 days of a one-year archive
(``scheduler="sync"``), and writing one year of OMNI2 text.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        c = time.process_time()
        fn()
        best = min(best, time.process_time() - c)
    return round(best, 3)


def measure(archive: str) -> dict:
    """The three CPU figures for the atlas_core this process imports."""
    import glob
    import shutil

    import numpy as np

    import atlas_core
    from atlas_core.pipeline import ingest
    from atlas_core.synth import generate_archive
    from atlas_core.synth.writer import write_omni2

    tmp = Path(tempfile.mkdtemp())
    n = [0]

    def fresh() -> Path:
        n[0] += 1
        return tmp / str(n[0])

    idx = {"dst": sorted(glob.glob(f"{archive}/indices/dst_*.wdc")),
           "omni": sorted(glob.glob(f"{archive}/indices/omni2_*.dat"))}
    hours = np.datetime64("2016-01-01T00", "ns") + np.arange(8784) * np.timedelta64(1, "h")
    rng = np.random.default_rng(0)
    words = {k: np.round(rng.normal(0, 5, hours.size), 1) for k in (13, 14, 15, 16, 17)}
    words.update({24: rng.uniform(1, 20, hours.size), 25: rng.uniform(300, 700, hours.size),
                  29: rng.uniform(0.5, 5, hours.size), 41: rng.integers(-100, 20, hours.size)})
    out = {
        "code": str(Path(atlas_core.__file__).parent),
        "synth_10_days_2025_cpu_s": _best(lambda: generate_archive(
            fresh(), "2025-06-01", "2025-06-11", seed=0, workers=1, progress=False)),
        "ingest_19_days_cpu_s": _best(lambda: ingest(
            archive, fresh(), start="2015-12-01", end="2015-12-21", progress=False,
            scheduler="sync", **idx)),
        "omni2_one_year_cpu_s": _best(lambda: write_omni2(fresh() / "omni2.dat", hours, words)),
    }
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--states-archive", default="data/synth1y",
                    help="a one-year synthetic archive to ingest (2015-12-01 .. 2015-12-20)")
    ap.add_argument("--other", help="root of another atlas_core tree to compare (its parent "
                                    "folder holds atlas_core/)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        if args.child:
            # import the other tree, not the editable install of this one
            sys.meta_path = [f for f in sys.meta_path if "editable" not in str(f)]
            sys.path.insert(0, args.child)
        print(json.dumps(measure(args.states_archive)))
        return 0
    archive = str(Path(args.states_archive).resolve())
    runs = [""] + ([str(Path(args.other).resolve())] if args.other else [])
    for root in runs:
        cmd = [sys.executable, os.path.abspath(__file__), "--states-archive", archive,
               "--child", root]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd="/")
        print(res.stdout.strip().splitlines()[-1])
    print(json.dumps({"load_avg_1min": round(os.getloadavg()[0], 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

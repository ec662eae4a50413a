"""A ten-year-sized atlas from the one-year states, for dashboard benchmarks when the ten-year
atlas is not built: the year's states are replicated ``--copies`` times, each copy shifted by
whole years in time (so passes and day folds stay distinct) and jittered by 0.05 R_E in
position (so the octree splits as a ten-times denser sampling would), then built with the
one-year atlas' regime model (no training). Not a physical ten-year archive: its numbers only
stand in for the ten-year atlas' size (states, leaves) in latency and memory benchmarks.

    nice -n 10 .venv/bin/python bench/scaled_atlas.py data/states1y data/atlas1y/model \
        data/product/atlas10x --copies 8.5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def scaled_states(states: pd.DataFrame, copies: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    whole, frac = int(copies), copies - int(copies)
    parts = []
    for j in range(whole + (frac > 0)):
        part = states if j < whole else states.iloc[: int(round(frac * len(states)))]
        part = part.copy()
        part["time"] = part["time"] + pd.DateOffset(years=j)
        for c in ("x_gsm", "y_gsm", "z_gsm"):
            part[c] = part[c] + (0.05 * rng.standard_normal(len(part)) if j else 0.0)
        parts.append(part)
    return pd.concat(parts, ignore_index=True).sort_values("time", kind="stable").reset_index(drop=True)


def main(argv=None) -> int:
    from atlas_core.atlas import build_atlas
    from atlas_core.states import read_states

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("states", type=Path)
    p.add_argument("model", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--copies", type=float, default=8.5)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    states = scaled_states(read_states(args.states), args.copies)
    print(f"{len(states):,} states ({args.copies} copies) in {time.perf_counter() - t0:.1f} s", flush=True)
    build_atlas(states, args.out, model=args.model)
    print(f"built {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

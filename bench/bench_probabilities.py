"""Benchmark the honest statistics at the paper's scale (660,340 states): what a condition change
costs now (window and effective counts, the hierarchical posterior) against the old estimator
(window counts, a per-leaf Dirichlet posterior) in the same process.

Per condition (all states, quiet, storm, TS07D-style neighbours):

* **counts**: ``Atlas.counts_of`` (two ``bincount`` over the selection) vs one ``bincount`` of
  the windows (the old path);
* **estimate, non-empty leaves**: ``Atlas.estimate(windows, effective, leaves=non-empty)`` (the
  hierarchy over every leaf, intervals for the leaves with windows) vs ``dirichlet_posterior`` of
  the same leaves' windows;
* **estimate, one slice**: the same for the leaves cut by the plane z = 0 only.

Usage::

    .venv/bin/python bench/bench_probabilities.py                       # synthetic table
    .venv/bin/python bench/bench_probabilities.py --atlas data/atlas10y   # a built atlas

Prints a Markdown table, best of ``--repeat`` (the machine is shared; noise only adds time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_atlas import N_STATES, synthetic_atlas, timed  # noqa: E402

from atlas_core.atlas import Atlas, product  # noqa: E402
from atlas_core.atlas.posterior import dirichlet_posterior  # noqa: E402


def measure(atlas, name: str, states, plane: np.ndarray, repeat: int) -> tuple:
    """Timings of one condition: counts, estimates of the non-empty leaves and of a slice."""
    key = atlas.neighbours.key
    sel = key if states is None else key[states]
    n_keys = atlas.n_leaves * atlas.k
    t_new, (w, e) = timed(lambda: atlas.counts_of(states), repeat)
    t_old, w_old = timed(lambda: np.bincount(sel, minlength=n_keys).reshape(-1, atlas.k), repeat)
    assert np.array_equal(w, w_old)
    seen = np.flatnonzero(w.sum(1) > 0)
    t_est, _ = timed(lambda: atlas.estimate(w, e, leaves=seen), repeat)
    t_dir, _ = timed(lambda: dirichlet_posterior(w[seen], atlas.alpha, atlas.level), repeat)
    t_sl, _ = timed(lambda: atlas.estimate(w, e, leaves=plane), repeat)
    t_sl_old, _ = timed(lambda: dirichlet_posterior(w[plane], atlas.alpha, atlas.level), repeat)
    return name, len(sel), seen.size, t_new, t_old, t_est, t_dir, t_sl, t_sl_old


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--atlas", help="a built atlas directory (default: synthetic 660,340 states)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    atlas = Atlas.open(args.atlas) if args.atlas else synthetic_atlas(N_STATES, 12, args.seed)
    t_open = time.perf_counter() - t
    key = atlas.neighbours.key
    print(f"# {args.atlas or 'synthetic table'}: {len(key):,} states, {atlas.n_leaves:,} leaves, "
          f"K = {atlas.k}, {atlas.stats.counter.n_passes:,} passes; open {t_open:.2f} s")
    atlas.estimate(*atlas.counts_of(None))  # first call builds the quantile tables
    plane = atlas.octree.slice("z", 0.0)
    conditions = {"all states": None, "quiet (|Dst| <= 20 nT)": product.counts(atlas, product.Condition(-20, 20)).states,
                  "storm (Dst <= -50 nT)": product.counts(atlas, product.Condition(None, -50)).states}
    if "ddst_dt" in atlas.neighbours.columns:
        conditions["neighbours (k = 8000, Dst -80, dDst/dt -10)"] = np.sort(
            atlas.select_near(k=8000, dst=-80, ddst=-10))
    rows = [measure(atlas, name, states, plane, args.repeat) for name, states in conditions.items()]
    print(f"\n| condition | windows | non-empty leaves | counts (new / old) | estimate, non-empty "
          f"leaves (new / old) | estimate, slice z = 0 of {plane.size:,} leaves (new / old) |")
    print("|---|---|---|---|---|---|")
    for name, n, m, tn, to, te, td, ts, tso in rows:
        print(f"| {name} | {n:,} | {m:,} | {tn * 1e3:.1f} / {to * 1e3:.1f} ms ({tn / to:.1f}x) | "
              f"{te * 1e3:.0f} / {td * 1e3:.0f} ms ({te / td:.1f}x) | "
              f"{ts * 1e3:.0f} / {tso * 1e3:.1f} ms ({ts / tso:.0f}x) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

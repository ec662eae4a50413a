"""Where the bytes of an opened atlas go: ``Atlas.open`` under tracemalloc, then every numpy array
the Atlas object holds (walked through its attributes), with bytes per state.

    .venv/bin/python bench/atlas_memory.py data/missions/atlas5m [--condition storm]

Arrays shared between attributes are listed once (a view or the same array under two names is
marked as such). ``--condition`` also resolves a condition (``all``, ``quiet``, ``storm``,
``LO:HI``, ``near:dst=-80,ddst=-10`` ...) first, to see what it adds (the Dst order, a k-d
tree, the columns it reads).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def arrays_of(obj, name: str, seen: dict, out: list, depth: int = 0) -> None:
    """(name, array, shared-with) of every numpy array reachable from ``obj``'s attributes."""
    if depth > 5:
        return
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None else obj.base
        out.append((name, obj, seen.get(id(base))))
        seen.setdefault(id(base), name)
        return
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            arrays_of(v, f"{name}[{k!r}]", seen, out, depth + 1)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            arrays_of(v, f"{name}[{i}]", seen, out, depth + 1)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("atlas_core"):
        for k, v in vars(obj).items():
            arrays_of(v, f"{name}.{k}", seen, out, depth + 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atlas", type=Path)
    ap.add_argument("--condition", default=None)
    ap.add_argument("--min-mb", type=float, default=1.0, help="list arrays above this size")
    a = ap.parse_args(argv)

    from atlas_core.atlas import Atlas

    tracemalloc.start()
    t0 = time.perf_counter()
    atlas = Atlas.open(a.atlas)
    t_open = time.perf_counter() - t0
    if a.condition:
        from atlas_core.atlas.product import Condition, estimates

        estimates(atlas, Condition.parse(a.condition, atlas.bins))
    now, peak = tracemalloc.get_traced_memory()
    n = atlas.n_states
    print(f"# {a.atlas}: {n:,} states, {atlas.n_leaves:,} leaves; open {t_open:.1f} s "
          f"(machine shared: noisy); traced {now / 1e9:.2f} GB now, {peak / 1e9:.2f} GB peak; "
          f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    found: list = []
    arrays_of(atlas, "atlas", {}, found)
    per_state = per_leaf = 0
    print(f"{'array':55s} {'dtype':8s} {'shape':>18s} {'MB':>9s} {'B/state':>8s}")
    for name, arr, shared in found:
        if shared is not None:
            continue
        if arr.shape and arr.shape[0] == n:
            per_state += arr.nbytes
        else:
            per_leaf += arr.nbytes
        if arr.nbytes >= a.min_mb * 1e6:
            print(f"{name:55s} {str(arr.dtype):8s} {str(arr.shape):>18s} "
                  f"{arr.nbytes / 1e6:9.1f} {arr.nbytes / n:8.1f}")
    ds_bytes = sum(v.nbytes for v in atlas.ds.variables.values())
    print(f"per-state arrays: {per_state / 1e6:.0f} MB = {per_state / n:.1f} B/state; other arrays "
          f"{per_leaf / 1e6:.0f} MB; the atlas dataset (per leaf, xarray) {ds_bytes / 1e6:.0f} MB; "
          f"columns read: {atlas.columns.loaded()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Octree benchmark: build and point lookup, against a straightforward recursive Python octree.

Prints, for 66 k, 660 k and 6.6 M states (the largest resampled from the state table with
0.05 R_E jitter): the linear octree's build time, the recursive octree's build time and their
ratio; then the lookup of 10 M random points in the 660 k tree, against the recursive tree's
per-point descent (timed on a subset, rates compared). Both trees use the same rules (2 R_E root
cells, split above 25 states, minimum size 2/2**6 R_E) and are checked to agree.

    .venv/bin/python bench/bench_octree.py [--states data/states10y]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from atlas_core.octree import Octree  # noqa: E402


class RecursiveOctree:
    """The textbook version: one Python object per node, built by recursion, one numpy mask
    per node to split its points; lookup descends node by node for each point."""

    class Node:
        __slots__ = ("lo", "size", "children", "count", "leaf_id")

        def __init__(self, lo, size):
            self.lo, self.size, self.children, self.count, self.leaf_id = lo, size, None, 0, -1

    def __init__(self, pos, base=2.0, max_states=25, min_size=2.0 / 2**6):
        self.base, self.max_states, self.min_size = base, max_states, min_size
        self.origin = np.floor(pos.min(0) / base) * base
        self.shape = (np.floor((pos.max(0) - self.origin) / base) + 1).astype(int)
        self.n_leaves = 0
        cell = np.floor((pos - self.origin) / base).astype(int)
        key = (cell[:, 0] * self.shape[1] + cell[:, 1]) * self.shape[2] + cell[:, 2]
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.arange(np.prod(self.shape) + 1))
        self.roots = []
        for r in range(int(np.prod(self.shape))):
            ijk = np.unravel_index(r, self.shape)
            node = self.Node(self.origin + np.array(ijk) * base, base)
            self._split(node, pos, order[bounds[r]:bounds[r + 1]])
            self.roots.append(node)

    def _split(self, node, pos, idx):
        node.count = len(idx)
        if len(idx) <= self.max_states or node.size <= self.min_size * 1.0000001:
            node.leaf_id = self.n_leaves
            self.n_leaves += 1
            return
        half = node.size / 2
        mid = node.lo + half
        p = pos[idx]
        bits = ((p[:, 0] >= mid[0]) * 4 + (p[:, 1] >= mid[1]) * 2 + (p[:, 2] >= mid[2]))
        node.children = []
        for o in range(8):
            off = np.array([(o >> 2) & 1, (o >> 1) & 1, o & 1]) * half
            child = self.Node(node.lo + off, half)
            self._split(child, pos, idx[bits == o])
            node.children.append(child)

    def locate(self, p):
        c = np.floor((p - self.origin) / self.base).astype(int)
        if (c < 0).any() or (c >= self.shape).any():
            return None
        node = self.roots[(c[0] * self.shape[1] + c[1]) * self.shape[2] + c[2]]
        while node.children is not None:
            mid = node.lo + node.size / 2
            node = node.children[int(p[0] >= mid[0]) * 4 + int(p[1] >= mid[1]) * 2
                                 + int(p[2] >= mid[2])]
        return node

    def n_nonempty(self):
        stack, n = list(self.roots), 0
        while stack:
            node = stack.pop()
            if node.children is None:
                n += node.count > 0
            else:
                stack.extend(node.children)
        return n


def load_positions(path: Path | None) -> tuple[np.ndarray, str]:
    for cand in ([path] if path else [Path("data/states10y"), Path("data/states1y")]):
        if cand is not None and cand.exists():
            from atlas_core.states import POSITION_GSM, read_states

            df = read_states(cand, columns=POSITION_GSM)
            return df[POSITION_GSM].to_numpy(np.float64), str(cand)
    raise SystemExit("no state table: pass --states (data/states10y or data/states1y)")


def resample(pos: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if n <= len(pos):
        return pos[np.sort(rng.choice(len(pos), n, replace=False))]
    return pos[rng.integers(0, len(pos), n)] + rng.normal(0, 0.05, (n, 3))


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--states", type=Path, default=None)
    ap.add_argument("--sizes", default="66000,full,6600000",
                    help="state counts; 'full' is the whole table")
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--baseline-points", type=int, default=100_000)
    ap.add_argument("--skip-recursive-above", type=int, default=7_000_000)
    args = ap.parse_args()
    pos, source = load_positions(args.states)
    print(f"positions: {len(pos)} states from {source}")
    print("\n| states | leaves (all) | non-empty | linear build | recursive build | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
    trees = {}
    for n in [len(pos) if s == "full" else int(s) for s in args.sizes.split(",")]:
        p = pos if n == len(pos) else resample(pos, n)
        t_lin, tree = best_of(lambda p=p: Octree.build(p))
        trees[n] = (p, tree)
        if n <= args.skip_recursive_above:
            t0 = time.perf_counter()
            rec = RecursiveOctree(p)
            t_rec = time.perf_counter() - t0
            assert rec.n_leaves == tree.n_leaves and rec.n_nonempty() == tree.n_nonempty
            rec_s, ratio = f"{t_rec:.2f} s", f"{t_rec / t_lin:.0f}x"
        else:
            rec_s, ratio = "—", "—"
        print(f"| {n:,} | {tree.n_leaves:,} | {tree.n_nonempty:,} | {t_lin:.3f} s | {rec_s} | "
              f"{ratio} |", flush=True)

    n_ref = min(trees, key=lambda n: abs(n - 660_000))
    p, tree = trees[n_ref]
    rng = np.random.default_rng(1)
    lo, hi = tree.extent_re
    # half the queries near the data (where the tree is deep), half uniform over the grid
    near = p[rng.integers(0, len(p), args.points // 2)] + rng.normal(0, 0.1, (args.points // 2, 3))
    pts = np.concatenate([near, rng.uniform(lo, hi, (args.points - len(near), 3))])
    t_lin, leaves = best_of(lambda: tree.locate(pts), repeat=2)
    rec = RecursiveOctree(p)
    sub = pts[rng.choice(len(pts), args.baseline_points, replace=False)]
    t0 = time.perf_counter()
    got = [rec.locate(q) for q in sub]
    t_rec = time.perf_counter() - t0
    ids = tree.locate(sub)
    assert all((g is None) == (i < 0) for g, i in zip(got, ids, strict=True))
    # same leaf: the two trees number leaves differently, so compare the bounds
    assert all(g is None or (np.allclose(g.lo, tree.leaf_lo[i]) and np.isclose(
        g.size, tree.leaf_size_re[i])) for g, i in zip(got, ids, strict=True))
    rate_lin = len(pts) / t_lin
    rate_rec = len(sub) / t_rec
    print(f"\nlookup in the {n_ref:,}-state tree: {len(pts):,} points in {t_lin:.2f} s "
          f"({rate_lin / 1e6:.1f} M points/s, {int((leaves >= 0).sum()):,} inside); recursive: "
          f"{len(sub):,} points in {t_rec:.2f} s ({rate_rec / 1e3:.0f} k points/s, "
          f"{len(pts) / rate_rec:.0f} s extrapolated to {len(pts):,}); speed-up "
          f"{rate_lin / rate_rec:.0f}x")
    t_slice, s = best_of(lambda: tree.slice("z", 0.0), repeat=5)
    t_box, b = best_of(lambda: tree.box([-10, -5, -2], [0, 5, 2]), repeat=5)
    print(f"slice z=0: {len(s):,} leaves in {t_slice * 1e3:.1f} ms; box 10x10x4 R_E: "
          f"{len(b):,} leaves in {t_box * 1e3:.1f} ms")


if __name__ == "__main__":
    main()

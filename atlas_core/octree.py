"""A linear (array-based) adaptive octree over state positions (GSM, R_E).

After Markidis, Ekelund & Pennati, "A Generative Atlas of the Magnetosphere" (ICCS 2026): a
uniform root grid of ``base_size_re`` cubes covers the data's extent, and a cell holding more
than ``max_states`` states is split into 8 children, recursively, down to ``min_size_re``
(default 2 R_E / 2**6 = 0.03125 R_E, i.e. at most 6 splits below a root cell; a cell of the
minimum size is a leaf however many states it holds). The paper's tree over 660,340 MMS1
states has 65,352 leaves.

Layout (no Python objects per node, everything is a flat array):

- positions are quantised once to integer coordinates ``q`` on the finest grid (cell size
  ``min_size_re``), so the cell of a point at level ``l`` is ``q >> (depth - l)`` and its octant
  inside its parent is one bit per axis;
- ``root_code`` (``nx*ny*nz``) and ``children`` (``n_internal x 8``) hold *node codes*: a code
  ``>= 0`` is a leaf id, a code ``< 0`` is internal node ``-code - 1``. A point lookup is at
  most ``depth`` vectorised gathers over the points still inside internal nodes;
- leaves are numbered level by level (coarse first) and carry ``level``, integer cell
  coordinates at their level, bounds, and state counts; their states are a CSR list.

Cells are half-open, ``[lo, hi)``: a point on a shared face belongs to the upper cell, and a
plane at ``offset`` cuts the leaves with ``lo <= offset < hi``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Octree"]

_OCTANTS = np.array([[(o >> 2) & 1, (o >> 1) & 1, o & 1] for o in range(8)], dtype=np.int64)
"""Child offsets (x, y, z) of octant o = 4*bx + 2*by + bz."""

_AXES = {"x": 0, "y": 1, "z": 2}

_ARRAY_KEYS = ("origin_re", "base_size_re", "max_states", "depth", "root_shape", "root_code",
               "children", "internal_level", "internal_ijk", "leaf_level", "leaf_ijk",
               "leaf_count", "leaf_of_state")


def _spread_bits(depth: int) -> np.ndarray:
    """Table v -> v with its bits moved to every third position (Morton interleave)."""
    v = np.arange(2**depth, dtype=np.int64)
    out = np.zeros_like(v)
    for b in range(depth):
        out |= ((v >> b) & 1) << (3 * b)
    return out


def _keys(cols, origin, base, depth, root_shape, clip):
    """int64 key per point: root-cell index, then the Morton code of its finest-grid
    coordinates inside the root cell (octant 4*bx + 2*by + bz at each level)."""
    fine = base / 2**depth
    spread = _spread_bits(depth)
    mask = 2**depth - 1
    n_fine = root_shape * 2**depth
    q = []
    for a in range(3):
        qa = np.floor((cols[a] - origin[a]) / fine).astype(np.int64)
        if clip:  # guard against rounding at the grid's edges
            np.clip(qa, 0, n_fine[a] - 1, out=qa)
        q.append(qa)
    root = ((q[0] >> depth) * root_shape[1] + (q[1] >> depth)) * root_shape[2] + (q[2] >> depth)
    morton = (spread[q[0] & mask] << 2) | (spread[q[1] & mask] << 1) | spread[q[2] & mask]
    return (root << (3 * depth)) | morton


class Octree:
    """Adaptive linear octree; build with :meth:`Octree.build`, restore with :meth:`from_arrays`.

    Attributes (``L`` leaves, ``N`` build states):
        origin_re (3,): lower corner of the root grid, R_E (a multiple of ``base_size_re``).
        root_shape (3,): root cells along x, y, z.
        leaf_level (L,): 0 = a root cell of ``base_size_re``; level l has size base / 2**l.
        leaf_ijk (L, 3): integer cell coordinates of each leaf on its level's grid.
        leaf_lo, leaf_hi (L, 3): leaf bounds, R_E (GSM).
        leaf_count (L,): states per leaf.
        leaf_of_state (N,): leaf id of every build state.
    """

    def __init__(self, *, origin_re, base_size_re, max_states, depth, root_shape, root_code,
                 children, internal_level, internal_ijk, leaf_level, leaf_ijk, leaf_count,
                 leaf_of_state, state_order=None, leaf_offsets=None):
        self.origin_re = np.asarray(origin_re, dtype=np.float64)
        self.base_size_re = float(base_size_re)
        self.max_states = int(max_states)
        self.depth = int(depth)
        self.root_shape = np.asarray(root_shape, dtype=np.int64)
        self.root_code = np.asarray(root_code, dtype=np.int64)
        self.children = np.asarray(children, dtype=np.int64).reshape(-1, 8)
        self.internal_level = np.asarray(internal_level, dtype=np.int8)
        self.internal_ijk = np.asarray(internal_ijk, dtype=np.int64).reshape(-1, 3)
        self.leaf_level = np.asarray(leaf_level, dtype=np.int8)
        self.leaf_ijk = np.asarray(leaf_ijk, dtype=np.int64).reshape(-1, 3)
        self.leaf_count = np.asarray(leaf_count, dtype=np.int64)
        self.leaf_of_state = np.asarray(leaf_of_state, dtype=np.int64)
        self._state_order = None if state_order is None else np.asarray(state_order, np.int64)
        size = self.leaf_size_re[:, None]
        self.leaf_lo = self.origin_re + self.leaf_ijk * size
        self.leaf_hi = self.leaf_lo + size

    # --- build ----------------------------------------------------------------------------

    @classmethod
    def build(cls, positions_re, base_size_re: float = 2.0, max_states: int = 25,
              min_size_re: float = 2.0 / 2**6) -> Octree:
        """Build the tree over ``positions_re`` (N, 3), GSM, R_E.

        The root grid starts at ``floor(min / base) * base`` and has enough cells to hold the
        maximum (half-open cells). ``min_size_re`` is rounded to ``base / 2**depth``.
        Raises ``ValueError`` for an empty, non-finite or wrongly shaped input.

        Every state gets one int64 key: its root cell, then its octant path (3 bits a level,
        a Morton code of its finest-grid coordinates). The cell of a state at level ``l`` is
        ``key >> 3 (depth - l)``, so each level is a handful of 1-D gathers and one
        ``bincount`` over the states still in cells to split.
        """
        pos = np.asarray(positions_re, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ValueError(f"octree: positions must have shape (N, 3), got {pos.shape}")
        if len(pos) == 0:
            raise ValueError("octree: no positions to build from")
        cols = [np.ascontiguousarray(pos[:, a]) for a in range(3)]
        lo = np.array([c.min() for c in cols])
        hi = np.array([c.max() for c in cols])
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            bad = int((~np.isfinite(pos).all(axis=1)).sum())
            raise ValueError(f"octree: {bad} positions are NaN or infinite")
        if base_size_re <= 0 or min_size_re <= 0 or min_size_re > base_size_re:
            raise ValueError("octree: need 0 < min_size_re <= base_size_re")
        if max_states < 1:
            raise ValueError("octree: max_states must be >= 1")
        depth = int(round(np.log2(base_size_re / min_size_re)))
        if depth > 14:
            raise ValueError(f"octree: min_size_re gives {depth} levels, at most 14 supported")
        origin = np.floor(lo / base_size_re) * base_size_re
        root_shape = (np.floor((hi - origin) / base_size_re) + 1).astype(np.int64)
        n_root = int(np.prod(root_shape))
        if n_root >= 2 ** (62 - 3 * depth):
            raise ValueError(f"octree: root grid {tuple(root_shape)} too large for the keys")
        key = _keys(cols, origin, base_size_re, depth, root_shape, clip=True)
        shift0 = 3 * depth

        # level 0: every root cell is a node
        root_key = key >> shift0
        counts = np.bincount(root_key, minlength=n_root)
        split = counts > max_states if depth > 0 else np.zeros(n_root, bool)
        root_ijk = np.stack(np.unravel_index(np.arange(n_root), tuple(root_shape)), axis=1)

        leaf_level, leaf_ijk, leaf_count = [], [], []
        internal_level, internal_ijk, children_rows = [], [], []

        is_leaf = ~split
        leaf_rank = np.cumsum(is_leaf) - 1
        root_code = np.where(is_leaf, leaf_rank, -np.cumsum(split))
        n_leaves = int(is_leaf.sum())
        leaf_level.append(np.zeros(n_leaves, np.int8))
        leaf_ijk.append(root_ijk[is_leaf])
        leaf_count.append(counts[is_leaf])
        # a state's entry is overwritten level by level until it holds a leaf id (>= 0)
        leaf_of_state = root_code[root_key]
        parent_ijk = root_ijk[split]
        internal_level.append(np.zeros(len(parent_ijk), np.int8))
        internal_ijk.append(parent_ijk)

        go = leaf_of_state < 0
        active = np.flatnonzero(go)  # states inside internal nodes
        parent = -leaf_of_state[active] - 1  # their node, rank within its level
        active_key = key[active]
        for level in range(1, depth + 1):
            m = len(parent_ijk)
            if m == 0:
                break
            child = parent * 8 + ((active_key >> (3 * (depth - level))) & 7)
            counts = np.bincount(child, minlength=m * 8)
            split = counts > max_states if level < depth else np.zeros(m * 8, bool)
            is_leaf = ~split
            leaf_rank = n_leaves + np.cumsum(is_leaf) - 1
            # internal children are coded -(rank among this level's internal nodes) - 1 while
            # building; shifted to global internal ids below
            code = np.where(is_leaf, leaf_rank, -np.cumsum(split))
            children_rows.append(code.reshape(m, 8))
            ijk = (parent_ijk[:, None, :] * 2 + _OCTANTS[None]).reshape(-1, 3)
            leaf_level.append(np.full(int(is_leaf.sum()), level, np.int8))
            leaf_ijk.append(ijk[is_leaf])
            leaf_count.append(counts[is_leaf])
            n_leaves += int(is_leaf.sum())
            state_code = code[child]
            leaf_of_state[active] = state_code
            go = state_code < 0
            active, active_key = active[go], active_key[go]
            parent = -state_code[go] - 1
            parent_ijk = ijk[split]
            internal_level.append(np.full(len(parent_ijk), level, np.int8))
            internal_ijk.append(parent_ijk)

        # level-local internal ranks -> global internal ids (parents of level l+1 follow all
        # internal nodes of levels <= l)
        offset = len(internal_ijk[0])
        for rows, nodes in zip(children_rows, internal_ijk[1:], strict=False):
            rows[rows < 0] -= offset
            offset += len(nodes)
        children = (np.concatenate(children_rows) if children_rows
                    else np.zeros((0, 8), np.int64))
        return cls(origin_re=origin, base_size_re=base_size_re, max_states=max_states,
                   depth=depth, root_shape=root_shape, root_code=root_code, children=children,
                   internal_level=np.concatenate(internal_level)[: len(children)],
                   internal_ijk=np.concatenate(internal_ijk)[: len(children)],
                   leaf_level=np.concatenate(leaf_level), leaf_ijk=np.concatenate(leaf_ijk),
                   leaf_count=np.concatenate(leaf_count), leaf_of_state=leaf_of_state)

    # --- properties -----------------------------------------------------------------------

    @property
    def n_leaves(self) -> int:
        """All leaves, empty ones included (they tile the root grid's extent)."""
        return len(self.leaf_level)

    @property
    def n_nonempty(self) -> int:
        """Leaves holding at least one state."""
        return int((self.leaf_count > 0).sum())

    @property
    def min_size_re(self) -> float:
        return self.base_size_re / 2**self.depth

    @property
    def leaf_size_re(self) -> np.ndarray:
        """(L,) edge length of each leaf, R_E."""
        return self.base_size_re / 2.0 ** self.leaf_level.astype(np.float64)

    @property
    def leaf_center(self) -> np.ndarray:
        """(L, 3) leaf centres, R_E (GSM)."""
        return 0.5 * (self.leaf_lo + self.leaf_hi)

    @property
    def extent_re(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corner of the root grid, R_E."""
        return self.origin_re, self.origin_re + self.root_shape * self.base_size_re

    def __repr__(self) -> str:
        return (f"Octree({self.n_leaves} leaves, {self.n_nonempty} non-empty, "
                f"{len(self.leaf_of_state)} states, depth {self.depth}, "
                f"root grid {tuple(int(s) for s in self.root_shape)} x {self.base_size_re} R_E)")

    # --- queries --------------------------------------------------------------------------

    def states_in(self, leaf: int) -> np.ndarray:
        """Indices (into the build positions) of the states in ``leaf``."""
        leaf = int(leaf)
        if not 0 <= leaf < self.n_leaves:
            raise IndexError(f"octree: leaf {leaf} out of range 0..{self.n_leaves - 1}")
        if self._state_order is None:  # the CSR list is built on first use
            self._state_order = np.argsort(self.leaf_of_state, kind="stable")
            self._leaf_offsets = np.concatenate([[0], np.cumsum(self.leaf_count)])
        return self._state_order[self._leaf_offsets[leaf]: self._leaf_offsets[leaf + 1]]

    def locate(self, points_re, chunk: int = 2_000_000) -> np.ndarray:
        """Leaf id of each point (M, 3) R_E GSM; -1 outside the root grid or for NaN."""
        pts = np.asarray(points_re, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"octree: points must have shape (M, 3), got {pts.shape}")
        out = np.empty(len(pts), dtype=np.int64)
        for start in range(0, len(pts), chunk):  # bounded temporaries for huge inputs
            out[start:start + chunk] = self._locate(pts[start:start + chunk])
        return out

    def _locate(self, pts: np.ndarray) -> np.ndarray:
        cols = [np.ascontiguousarray(pts[:, a]) for a in range(3)]
        lo, hi = self.extent_re
        with np.errstate(invalid="ignore"):
            inside = ((cols[0] >= lo[0]) & (cols[0] < hi[0]) & (cols[1] >= lo[1])
                      & (cols[1] < hi[1]) & (cols[2] >= lo[2]) & (cols[2] < hi[2]))
        out = np.full(len(pts), -1, dtype=np.int64)
        idx = np.flatnonzero(inside)
        if len(idx) < len(pts):
            cols = [c[idx] for c in cols]
        key = _keys(cols, self.origin_re, self.base_size_re, self.depth, self.root_shape,
                    clip=True)
        code = self.root_code[key >> (3 * self.depth)]
        level = 0
        while True:
            leaf = code >= 0
            if leaf.all():
                out[idx] = code
                return out
            out[idx[leaf]] = code[leaf]
            keep = ~leaf
            idx, key, code = idx[keep], key[keep], code[keep]
            level += 1
            code = self.children[-code - 1, (key >> (3 * (self.depth - level))) & 7]

    def box(self, lo, hi) -> np.ndarray:
        """Sorted ids of the leaves that meet the closed box ``[lo, hi]`` (R_E, GSM).

        A leaf ``[l, h)`` meets the box when ``l <= hi`` and ``h > lo`` on every axis. The
        search descends the tree, visiting only nodes that meet the box.
        """
        lo = np.asarray(lo, dtype=np.float64).reshape(3)
        hi = np.asarray(hi, dtype=np.float64).reshape(3)
        if (hi < lo).any():
            raise ValueError(f"octree: box hi {hi} below lo {lo}")
        size = self.base_size_re
        # root cells meeting the box: index ranges per axis
        i0 = np.maximum(np.floor((lo - self.origin_re) / size), 0).astype(np.int64)
        i1 = np.minimum(np.floor((hi - self.origin_re) / size), self.root_shape - 1).astype(np.int64)
        if (i1 < i0).any():
            return np.zeros(0, dtype=np.int64)
        grids = np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(i0, i1, strict=True)],
                            indexing="ij")
        rijk = np.stack([g.ravel() for g in grids], axis=1)
        codes = self.root_code[(rijk[:, 0] * self.root_shape[1] + rijk[:, 1])
                               * self.root_shape[2] + rijk[:, 2]]
        found = []
        while len(codes):
            leaf = codes >= 0
            found.append(codes[leaf])
            internal = -codes[~leaf] - 1
            if len(internal) == 0:
                break
            child_codes = self.children[internal].ravel()
            level = self.internal_level[internal].astype(np.float64) + 1
            ijk = (self.internal_ijk[internal][:, None, :] * 2 + _OCTANTS[None]).reshape(-1, 3)
            csize = np.repeat(self.base_size_re / 2.0**level, 8)[:, None]
            clo = self.origin_re + ijk * csize
            meets = ((clo <= hi) & (clo + csize > lo)).all(axis=1)
            codes = child_codes[meets]
        return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def slice(self, axis: str, offset_re: float) -> np.ndarray:
        """Sorted ids of the leaves cut by the plane ``axis = offset_re`` (``lo <= offset < hi``)."""
        if axis not in _AXES:
            raise ValueError(f"octree: axis must be 'x', 'y' or 'z', got {axis!r}")
        a = _AXES[axis]
        lo, hi = self.extent_re
        blo, bhi = lo.copy(), hi.copy()
        blo[a] = bhi[a] = float(offset_re)
        return self.box(blo, bhi)

    def neighbours(self, leaf: int) -> np.ndarray:
        """Sorted ids of the leaves touching ``leaf`` (face, edge or corner), itself excluded."""
        leaf = int(leaf)
        if not 0 <= leaf < self.n_leaves:
            raise IndexError(f"octree: leaf {leaf} out of range 0..{self.n_leaves - 1}")
        eps = 0.25 * self.min_size_re
        ids = self.box(self.leaf_lo[leaf] - eps, self.leaf_hi[leaf] + eps)
        return ids[ids != leaf]

    def sample_weights(self) -> np.ndarray:
        """(N,) weight of each build state, inversely proportional to its leaf's occupancy,
        normalised to mean 1: every non-empty leaf carries the same total weight, so densely
        sampled orbit segments do not dominate (the paper's octree-informed weighting)."""
        w = 1.0 / self.leaf_count[self.leaf_of_state]
        return w * (len(w) / w.sum())

    # --- persistence ----------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez``); :meth:`from_arrays` restores the tree."""
        return {
            "origin_re": self.origin_re,
            "base_size_re": np.float64(self.base_size_re),
            "max_states": np.int64(self.max_states),
            "depth": np.int64(self.depth),
            "root_shape": self.root_shape,
            "root_code": self.root_code,
            "children": self.children,
            "internal_level": self.internal_level,
            "internal_ijk": self.internal_ijk,
            "leaf_level": self.leaf_level,
            "leaf_ijk": self.leaf_ijk,
            "leaf_count": self.leaf_count,
            "leaf_of_state": self.leaf_of_state,
        }

    @classmethod
    def from_arrays(cls, d) -> Octree:
        """Restore from :meth:`to_arrays` output (or an ``np.load`` of it)."""
        missing = [k for k in _ARRAY_KEYS if k not in d]
        if missing:
            raise ValueError(f"octree: arrays are missing {missing}")
        return cls(**{k: np.asarray(d[k]) for k in _ARRAY_KEYS})

    def save(self, path) -> None:
        """Write ``path`` (.npz) atomically."""
        import os
        from pathlib import Path

        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **self.to_arrays())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> Octree:
        with np.load(path, allow_pickle=False) as d:
            return cls.from_arrays({k: d[k] for k in d.files})

"""Hierarchical regime probabilities along the octree: a sparse cell borrows from its parent.

A leaf holding one pass cannot carry a probability of its own. Along the octree every cell has
a parent (the octree's internal nodes, then coarser super-cells of 4, 8, 16 R_E above the 2 R_E
root grid, then the whole atlas), and a cell's regime mix is estimated under a Dirichlet prior
*centred on its parent's estimate*:

    m_c = (e_c + s_l m_parent(c)) / (n_c + s_l)            posterior mean of cell c at level l
    v_c = (m_c (1 - m_c) - W_c) / (n_c + s_l + 1) + W_c,   W_c = (s_l / (n_c + s_l))^2 v_parent(c)

with ``e_c`` (K,) the cell's effective regime counts (:mod:`atlas_core.atlas.passes`),
``n_c = sum_k e_c,k`` and ``s_l`` the prior strength at level ``l`` (pseudo-passes). A cell
with many passes reports its own mix; a cell with none reports its parent's; in between the
two are weighted by ``n_c : s_l``. Given its parent's mix, a cell's posterior is
Dirichlet(e_c + s_l m_parent); the parent's mix is itself uncertain, and the variance ``v_c``
adds it by the law of total variance (``W_c`` is the variance of the conditional mean), so a
cell leaning on a sparse parent is as uncertain as that parent. Each regime's marginal is reported as the Beta with that mean and
variance (moment matching). This is a Pólya tree
(Lavine 1992, Ann. Stat. 20, 1222; Mauldin, Sudderth & Williams 1992) used as a hierarchical
Dirichlet smoother (Teh et al. 2006, JASA 101, 1566, for the nested-Dirichlet idea), with the
strengths chosen empirically by held-out likelihood on whole-day folds (empirical Bayes,
:func:`choose_strengths`) instead of fixed a priori. The top node (the whole atlas) has the
symmetric Jeffreys prior Dirichlet(1/2).

The tree is arrays only: nodes numbered coarse to fine, grouped by level and, within a level,
by parent, so aggregating up is one ``np.add.reduceat`` per level and estimating down one
vectorised update per level.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from atlas_core.atlas.posterior import DEFAULT_LEVEL, beta_ppfs

SUPER_LEVELS = 3
"""Coarser levels above the octree's root grid (2 R_E -> 4, 8, 16 R_E), then the global node."""
TOP_ALPHA = 0.5
"""Symmetric Dirichlet prior of the global node (Jeffreys)."""
SPARSE_SHARE = 0.1
"""Below this share of non-empty leaves the moments are computed on the data's ancestors only."""
DEFAULT_STRENGTH = 2.0
"""Prior strength (pseudo-passes) when none was fitted (atlases built before the hierarchy)."""


@dataclass(frozen=True, eq=False)
class CellTree:
    """Ancestry of the octree leaves.

    Attributes: ``level`` (n_nodes,) node level (global node: ``-SUPER_LEVELS - 1``; the octree
    root grid is level 0); ``parent`` (n_nodes,) parent node (-1 for the global node);
    ``level_slices`` ``[(level, start, stop)]`` coarse to fine; ``leaf_node`` (L,) node of each
    leaf; ``n_nodes``.
    """

    level: np.ndarray
    parent: np.ndarray
    level_slices: tuple
    leaf_node: np.ndarray
    _runs: tuple  # per level (coarse to fine): (unique parents, run starts) of its nodes

    @property
    def n_nodes(self) -> int:
        return len(self.level)

    @property
    def levels(self) -> np.ndarray:
        return np.array([lv for lv, _, _ in self.level_slices])

    @classmethod
    def from_octree(cls, leaf_level: np.ndarray, leaf_ijk: np.ndarray,
                    super_levels: int = SUPER_LEVELS) -> CellTree:
        """Tree of the octree leaves (``leaf_level`` (L,), ``leaf_ijk`` (L, 3) integer cell
        coordinates on each leaf's level grid, as :class:`atlas_core.octree.Octree` holds)."""
        leaf_level = np.asarray(leaf_level, dtype=np.int64)
        ijk = np.asarray(leaf_ijk, dtype=np.int64).reshape(-1, 3)
        if len(leaf_level) != len(ijk):
            raise ValueError("leaf_level and leaf_ijk differ in length")
        if len(ijk) and ijk.min() < 0:
            raise ValueError("leaf_ijk must be non-negative")
        n_leaves = len(leaf_level)
        top = int(leaf_level.max()) if n_leaves else 0
        bottom = -int(super_levels)
        # bottom-up: the nodes of each level (their ijk) and each node's index among its level's
        per_level: dict[int, np.ndarray] = {}
        child_parent_local: dict[int, np.ndarray] = {}
        leaf_local = np.empty(n_leaves, dtype=np.int64)
        below = np.zeros((0, 3), dtype=np.int64)  # nodes of the level below (finer)
        for lv in range(top, bottom - 1, -1):
            mine = np.flatnonzero(leaf_level == lv)
            up = below >> 1
            keys_up = _pack(up)
            uniq_up, inv_up = np.unique(keys_up, return_inverse=True)
            nodes = np.concatenate([ijk[mine], _unpack(uniq_up)])
            leaf_local[mine] = np.arange(len(mine))
            child_parent_local[lv + 1] = len(mine) + inv_up.ravel()
            per_level[lv] = nodes
            below = nodes
        # top-down numbering: global node 0, then levels coarse to fine, each sorted by parent
        level_list, parent_list, slices, runs = [np.array([bottom - 1])], [np.array([-1])], [], []
        start = 1
        prev_index = np.zeros(len(per_level[bottom]), dtype=np.int64)  # parent global ids
        local_to_global: dict[int, np.ndarray] = {}
        for lv in range(bottom, top + 1):
            n = len(per_level[lv])
            par = prev_index if lv == bottom else local_to_global[lv - 1][child_parent_local[lv]]
            order = np.argsort(par, kind="stable")
            g = np.empty(n, dtype=np.int64)
            g[order] = start + np.arange(n)
            local_to_global[lv] = g
            level_list.append(np.full(n, lv))
            parent_list.append(par[order])
            slices.append((lv, start, start + n))
            sorted_par = par[order]
            if n:
                first = np.r_[True, sorted_par[1:] != sorted_par[:-1]]
                runs.append((sorted_par[first], np.flatnonzero(first)))
            else:
                runs.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
            start += n
        leaf_node = np.empty(n_leaves, dtype=np.int64)
        for lv in range(0, top + 1):
            mine = np.flatnonzero(leaf_level == lv)
            leaf_node[mine] = local_to_global[lv][leaf_local[mine]]
        return cls(np.concatenate(level_list).astype(np.int16), np.concatenate(parent_list),
                   tuple(slices), leaf_node, tuple(runs))

    @functools.cached_property
    def chains(self) -> np.ndarray:
        """(L, depth) each leaf's node and its ancestors up to the global node (node 0), padded
        with 0 for shallower leaves."""
        depth = len(self.level_slices) + 1
        out = np.zeros((len(self.leaf_node), depth), dtype=np.int64)
        node = self.leaf_node.copy()
        for j in range(depth):
            out[:, j] = node
            node = np.where(node > 0, self.parent[np.maximum(node, 0)], 0)
        return out

    def sparse_moments(self, leaves: np.ndarray, values: np.ndarray, strengths
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(len(leaves), K) posterior means and variances of the ``leaves`` when ``values``
        (len(leaves), K) are every non-zero leaf's counts: only these leaves' ancestors are
        visited, so a sparse selection costs what its data cost (same numbers as
        :meth:`posterior_moments`)."""
        chain = self.chains[leaves]
        nodes, inv = np.unique(chain, return_inverse=True)  # node ids: coarse to fine
        inv = inv.reshape(chain.shape)
        k = values.shape[1]
        counts = np.zeros((len(nodes), k))
        flat, cols = counts.reshape(-1), np.arange(k)
        for j in range(chain.shape[1]):  # every leaf adds to each of its ancestors once
            first = (j == 0) | (chain[:, j] != chain[:, max(j - 1, 0)])
            # add.at on the flat table: the same additions in the same order as on (node, K)
            # rows, several times faster (numpy's 1-D fast path)
            np.add.at(flat, (inv[first, j][:, None] * k + cols).ravel(),
                      np.ascontiguousarray(values[first], dtype=np.float64).ravel())
        n = counts.sum(axis=1)
        parent = np.searchsorted(nodes, self.parent[nodes])
        level = self.level[nodes]
        m, v = np.empty_like(counts), np.empty_like(counts)
        m[0] = (counts[0] + TOP_ALPHA) / (n[0] + k * TOP_ALPHA)
        v[0] = m[0] * (1 - m[0]) / (n[0] + k * TOP_ALPHA + 1)
        bounds = np.searchsorted(level, [lv for lv, _, _ in self.level_slices] + [np.inf])
        for (lv, _, _), a, b in zip(self.level_slices, bounds[:-1], bounds[1:], strict=True):
            if b <= a:
                continue
            s_lv = strength_at(strengths, lv)
            par = parent[a:b]
            total = (n[a:b] + s_lv)[:, None]
            mean = (counts[a:b] + s_lv * m[par]) / total
            w = (s_lv / total) ** 2 * v[par]
            m[a:b], v[a:b] = mean, (mean * (1 - mean) - w) / (total + 1) + w
        return m[inv[:, 0]], v[inv[:, 0]]

    def ancestor_at(self, level: int) -> np.ndarray:
        """(L,) node of each leaf's ancestor at ``level`` (the leaf's own node when the leaf is
        at that level or coarser)."""
        node = self.leaf_node.copy()
        while True:
            up = self.level[node] > level
            if not up.any():
                return node
            node[up] = self.parent[node[up]]

    def aggregate(self, leaf_values: np.ndarray) -> np.ndarray:
        """(n_nodes, K) sums of (L, K) leaf values over each node's subtree."""
        leaf_values = np.asarray(leaf_values, dtype=np.float64)
        out = np.zeros((self.n_nodes, leaf_values.shape[1]))
        out[self.leaf_node] = leaf_values
        for (_, start, stop), (par, run_start) in zip(self.level_slices[::-1], self._runs[::-1],
                                                      strict=True):
            if stop > start:
                out[par] += np.add.reduceat(out[start:stop], run_start, axis=0)
        return out

    def strengths_per_node(self, strengths) -> np.ndarray:
        """(n_nodes,) prior strength of each node from a per-level table ``{level: s}`` (or a
        scalar for every level)."""
        s = np.empty(self.n_nodes)
        s[0] = np.nan
        for lv, start, stop in self.level_slices:
            s[start:stop] = strength_at(strengths, lv)
        return s

    def posterior_means(self, node_counts: np.ndarray, strengths) -> np.ndarray:
        """(n_nodes, K) hierarchical posterior means from (n_nodes, K) aggregated counts."""
        return self.posterior_moments(node_counts, strengths, variances=False)[0]

    def posterior_moments(self, node_counts: np.ndarray, strengths, variances: bool = True,
                          only_seen: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """(n_nodes, K) hierarchical posterior means and variances (module doc) from
        (n_nodes, K) aggregated counts, top-down. ``only_seen``: compute the nodes holding
        counts only (their ancestors hold counts too), leave the others undefined — a sparse
        condition then costs what its data cost."""
        k = node_counts.shape[1]
        n = node_counts.sum(axis=1)
        m = np.empty_like(node_counts)
        m[0] = (node_counts[0] + TOP_ALPHA) / (n[0] + k * TOP_ALPHA)
        v = None
        if variances:
            v = np.empty_like(node_counts)
            v[0] = m[0] * (1 - m[0]) / (n[0] + k * TOP_ALPHA + 1)
        for lv, start, stop in self.level_slices:
            s = strength_at(strengths, lv)
            rows = start + np.flatnonzero(n[start:stop] > 0) if only_seen else slice(start, stop)
            par = self.parent[rows]
            total = (n[rows] + s)[:, None]
            mean = (node_counts[rows] + s * m[par]) / total
            m[rows] = mean
            if variances:  # law of total variance over the parent's mix
                w = (s / total) ** 2 * v[par]
                v[rows] = (mean * (1 - mean) - w) / (total + 1) + w
        return m, v

class Estimate(NamedTuple):
    """Regime probabilities of every leaf: ``p``, ``lo``, ``hi`` (L, K) posterior mean and
    equal-tailed credible bounds, ``n_eff`` (L,) the leaf's own effective count (passes)."""

    p: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_eff: np.ndarray


class CellPosterior:
    """The hierarchical posterior of some leaves under one condition: means and variances
    computed once, credible bounds on request (cache one per condition; ask bounds only for the
    cells someone looks at).

    ``leaves`` (m,) leaf ids (None: all), ``p``/``var`` (m, K), ``n_eff`` (m,).
    """

    def __init__(self, leaves, p, var, n_eff, parent, strength) -> None:
        self.leaves, self.p, self.var, self.n_eff = leaves, p, var, n_eff
        self._parent, self._strength = parent, strength

    def _rows(self, leaves) -> np.ndarray:
        if leaves is None:
            return np.arange(len(self.p))
        leaves = np.asarray(leaves, dtype=np.int64)
        return leaves if self.leaves is None else np.searchsorted(self.leaves, leaves)

    def bounds(self, level: float = DEFAULT_LEVEL, leaves=None) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed credible bounds (rows, K) at ``level`` of ``leaves`` (None: all held)."""
        if not 0 < level < 1:
            raise ValueError(f"credible level must be in (0, 1), got {level}")
        rows = self._rows(leaves)
        p, var, n_eff = self.p[rows], self.var[rows], self.n_eff[rows]
        parent, strength = self._parent[rows], self._strength[rows]
        lo, hi = np.empty_like(p), np.empty_like(p)
        seen = np.flatnonzero(n_eff > 0)
        empty = np.flatnonzero(n_eff <= 0)
        # leaves without a look hold their parent's prior: one computation per parent
        _, s_index = np.unique(strength[empty], return_inverse=True)
        _, first, inverse = np.unique(parent[empty] * 4096 + s_index.ravel(), return_index=True,
                                      return_inverse=True)
        todo = np.concatenate([seen, empty[first]])
        a, b = beta_of_moments(p[todo], var[todo])
        q_lo, q_hi = beta_ppfs(a, b, ((1 - level) / 2, (1 + level) / 2))
        n = len(seen)
        lo[seen], hi[seen] = q_lo[:n], q_hi[:n]
        lo[empty], hi[empty] = q_lo[n:][inverse.ravel()], q_hi[n:][inverse.ravel()]
        # a very skewed marginal (a rare regime under an uncertain parent) can have its mean
        # beyond an equal-tailed bound; the interval is widened to hold the estimate shown
        np.minimum(lo, p, out=lo)
        np.maximum(hi, p, out=hi)
        return lo, hi


class CellEstimator:
    """Hierarchical posterior of every leaf from (L, K) effective counts (contract C2).

    ``strengths`` is a scalar or ``{level: s}`` (pseudo-passes, :func:`choose_strengths`);
    ``level`` the credible mass of the intervals.
    """

    def __init__(self, tree: CellTree, strengths, level: float = DEFAULT_LEVEL) -> None:
        self.tree, self.strengths, self.level = tree, strengths, float(level)
        self._leaf_strength = tree.strengths_per_node(strengths)[tree.leaf_node]
        self._leaf_parent = tree.parent[tree.leaf_node]

    def moments(self, effective: np.ndarray, leaves: np.ndarray | None = None,
                nonzero: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(L, K) posterior mean and variance of each leaf's regime probabilities, or (m, K) of
        the ``leaves`` given. A sparse selection (few leaves with looks) visits only the
        ancestors of those leaves and of the leaves asked for. ``nonzero``: the sorted leaves
        holding looks, when the caller knows them (saves a pass over the (L, K) table)."""
        effective = np.asarray(effective, dtype=np.float64)
        if leaves is not None:
            leaves = np.asarray(leaves, dtype=np.int64)
            if nonzero is None:
                nonzero = np.flatnonzero(effective.sum(axis=1) > 0)
            if nonzero.size < SPARSE_SHARE * len(effective):
                union = np.union1d(nonzero, leaves)
                m, v = self.tree.sparse_moments(union, effective[union], self.strengths)
                rows = np.searchsorted(union, leaves)
                return m[rows], v[rows]
        seen = leaves is not None and bool(np.all(effective[leaves].sum(axis=1) > 0))
        m, v = self.tree.posterior_moments(self.tree.aggregate(effective), self.strengths,
                                           only_seen=seen)
        nodes = self.tree.leaf_node if leaves is None else self.tree.leaf_node[leaves]
        return m[nodes], v[nodes]

    def marginals(self, effective: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(L, K) Beta parameters ``(a, b)`` of each leaf's regime marginals: mean and variance
        of :meth:`moments`, ``a + b = m (1 - m) / v - 1``."""
        m, v = self.moments(effective)
        return beta_of_moments(m, v)

    def means(self, effective: np.ndarray) -> np.ndarray:
        """(L, K) posterior means only (no intervals): cheaper, e.g. for anomaly mixtures."""
        m = self.tree.posterior_means(self.tree.aggregate(effective), self.strengths)
        return m[self.tree.leaf_node]

    def posterior(self, effective: np.ndarray, leaves: np.ndarray | None = None
                  ) -> CellPosterior:
        """:class:`CellPosterior` of every leaf, or of ``leaves`` (sorted; the hierarchy still
        pools all of ``effective``)."""
        effective = np.asarray(effective, dtype=np.float64)
        if leaves is not None:
            leaves = np.asarray(leaves, dtype=np.int64)
            if leaves.size > 1 and np.any(np.diff(leaves) <= 0):
                raise ValueError("posterior(leaves=...) needs sorted, distinct leaf ids")
        p, var = self.moments(effective, leaves)
        rows = slice(None) if leaves is None else leaves
        return CellPosterior(leaves, p, var, effective[rows].sum(axis=1),
                             self._leaf_parent[rows], self._leaf_strength[rows])

    def estimate(self, effective: np.ndarray, level: float | None = None,
                 leaves: np.ndarray | None = None, bounds: bool = True,
                 nonzero: np.ndarray | None = None) -> Estimate:
        """Posterior mean and credible interval of every leaf (see the module doc), or of the
        ``leaves`` given (any order; the hierarchy still pools all of ``effective``).
        ``bounds=False``: means and n_eff only (``lo``, ``hi`` None). ``nonzero``: see
        :meth:`moments`."""
        level = self.level if level is None else float(level)
        if not 0 < level < 1:
            raise ValueError(f"credible level must be in (0, 1), got {level}")
        effective = np.asarray(effective, dtype=np.float64)
        p, var = self.moments(effective, leaves, nonzero)
        rows = slice(None) if leaves is None else np.asarray(leaves, dtype=np.int64)
        post = CellPosterior(None, p, var, effective[rows].sum(axis=1),
                             self._leaf_parent[rows], self._leaf_strength[rows])
        if not bounds:
            return Estimate(p, None, None, post.n_eff)
        lo, hi = post.bounds(level)
        return Estimate(p, lo, hi, post.n_eff)


def strength_at(strengths, level: int) -> float:
    """Prior strength at ``level`` from a scalar or a ``{level: s}`` table (the nearest level
    given when ``level`` is not in it)."""
    if np.isscalar(strengths):
        return float(strengths)
    table = {int(k): float(v) for k, v in dict(strengths).items()}
    if level in table:
        return table[level]
    nearest = min(table, key=lambda lv: abs(lv - level))
    return table[nearest]


def beta_of_moments(m: np.ndarray, v: np.ndarray, min_total: float = 1e-2
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Beta(a, b) with mean ``m`` and variance ``v``: ``a + b = m (1 - m) / v - 1`` (kept above
    ``min_total``), ``a = m (a + b)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.where(v > 0, m * (1 - m) / v - 1.0, np.inf)
    total = np.maximum(np.nan_to_num(total, nan=min_total, posinf=1e12), min_total)
    return m * total, (1 - m) * total


def heldout_loglik(tree: CellTree, train: np.ndarray, test: np.ndarray, strengths) -> float:
    """Sum over leaves and regimes of ``test * log p`` with ``p`` the leaves' hierarchical
    posterior means from ``train`` (both (L, K) effective counts): the log predictive
    probability of the held-out passes, each counting once."""
    return _FoldScore(tree, train, test)(strengths)


class _FoldScore:
    """Held-out log-likelihood of one fold as a function of the strengths (train counts
    aggregated once)."""

    def __init__(self, tree: CellTree, train: np.ndarray, test: np.ndarray) -> None:
        self.tree = tree
        self.node_counts = tree.aggregate(train)
        train = np.asarray(train, dtype=np.float64)
        rows = np.flatnonzero(np.asarray(test).sum(axis=1) > 0)
        self.rows, self.train, self.test = rows, train[rows], np.asarray(test, np.float64)[rows]
        self.parent = tree.parent[tree.leaf_node[rows]]
        self.leaf_level = tree.level[tree.leaf_node[rows]]

    def __call__(self, strengths) -> float:
        m = self.tree.posterior_means(self.node_counts, strengths)
        s = np.array([strength_at(strengths, int(lv)) for lv in range(-64, 64)])[self.leaf_level + 64]
        conc = self.train + s[:, None] * m[self.parent]
        p = conc / conc.sum(axis=1, keepdims=True)
        use = self.test > 0
        return float((self.test[use] * np.log(p[use])).sum())


def choose_strengths(tree: CellTree, folds, grid=None, sweeps: int = 3, log=None) -> dict[int, float]:
    """Per-level prior strengths maximising the summed held-out log-likelihood over ``folds``
    (a list of ``(train, test)`` (L, K) effective-count pairs split by whole days).

    Coordinate ascent over the levels, fine to coarse, each level's strength picked from
    ``grid`` (pseudo-passes, log-spaced); sweeps until no level changes (at most ``sweeps``).
    Returns ``{level: strength}``.
    """
    grid = np.asarray(grid if grid is not None else np.geomspace(0.25, 1024.0, 13))
    levels = [int(lv) for lv in tree.levels]
    current = dict.fromkeys(levels, DEFAULT_STRENGTH)
    scorers = [_FoldScore(tree, tr, te) for tr, te in folds]

    def score(table):
        return sum(f(table) for f in scorers)

    best = score(current)
    for sweep in range(sweeps):
        changed = False
        for lv in levels[::-1]:
            for s in grid:
                if s == current[lv]:
                    continue
                trial = {**current, lv: float(s)}
                ll = score(trial)
                if ll > best + 1e-9:
                    best, current, changed = ll, trial, True
        if log:
            log("hierarchy strengths, sweep %d: held-out log-likelihood %.1f, %s", sweep + 1,
                best, {k: round(v, 3) for k, v in current.items()})
        if not changed:
            break
    return current


def _pack(ijk: np.ndarray) -> np.ndarray:
    return (ijk[:, 0] << 42) | (ijk[:, 1] << 21) | ijk[:, 2]


def _unpack(key: np.ndarray) -> np.ndarray:
    mask = (1 << 21) - 1
    return np.stack([key >> 42, (key >> 21) & mask, key & mask], axis=1)

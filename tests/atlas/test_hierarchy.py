"""The octree hierarchy: aggregation against brute force, pooling arithmetic, fast Beta quantiles."""

import numpy as np
import pytest
from scipy import special

from atlas_core.atlas.hierarchy import (
    TOP_ALPHA,
    CellEstimator,
    CellTree,
    beta_of_moments,
    choose_strengths,
)
from atlas_core.atlas.posterior import beta_ppf, shift_significant
from atlas_core.octree import Octree


@pytest.fixture(scope="module")
def tree():
    rng = np.random.default_rng(0)
    pos = np.concatenate([rng.uniform(-6, 6, (3000, 3)), rng.normal(2.0, 0.3, (2000, 3))])
    return Octree.build(pos, base_size_re=2.0, max_states=25)


def test_tree_aggregates_like_brute_force(tree):
    cells = CellTree.from_octree(tree.leaf_level, tree.leaf_ijk)
    rng = np.random.default_rng(1)
    values = rng.random((tree.n_leaves, 3))
    node = cells.aggregate(values)
    np.testing.assert_allclose(node[0], values.sum(0))  # the global node holds everything
    for lv, start, stop in cells.level_slices:           # every level partitions the leaves
        deeper = tree.leaf_level >= max(lv, 0)
        np.testing.assert_allclose(node[start:stop].sum(0), values[deeper].sum(0) if lv >= 0
                                   else values.sum(0))
    # a level-0 node is the sum of the leaves inside its 2 R_E root cell (brute force)
    root = tree.leaf_ijk >> tree.leaf_level[:, None].astype(np.int64)
    anc = cells.ancestor_at(0)
    for r in np.unique(anc)[:20]:
        inside = anc == r
        same_root = (root == root[inside][0]).all(axis=1)
        np.testing.assert_array_equal(inside, same_root)
        np.testing.assert_allclose(node[r], values[inside].sum(0))


def test_pooling_arithmetic(tree):
    cells = CellTree.from_octree(tree.leaf_level, tree.leaf_ijk)
    k, s = 3, 4.0
    est = CellEstimator(cells, s)
    eff = np.zeros((tree.n_leaves, k))
    busy = int(np.argmax(tree.leaf_count))
    eff[busy] = [6.0, 0.0, 2.0]
    m, v = est.moments(eff)
    # the global node: Jeffreys prior on the total; every level shrinks towards its parent
    g = (eff.sum(0) + TOP_ALPHA) / (eff.sum() + k * TOP_ALPHA)
    empty_far = np.flatnonzero(cells.ancestor_at(-3) != cells.ancestor_at(-3)[busy])
    np.testing.assert_allclose(m[empty_far], np.broadcast_to(g, (len(empty_far), k)))
    # the busy leaf and all its ancestors hold the same 8 looks: m <- (e + s m) / (n + s) once
    # per level from the global node (super-levels -3..-1, then 0 .. the leaf's level)
    chain = g.copy()
    for _ in range(3 + int(tree.leaf_level[busy]) + 1):
        chain = (eff[busy] + s * chain) / (8 + s)
    np.testing.assert_allclose(m[busy], chain)
    assert np.all(v[busy] >= m[busy] * (1 - m[busy]) / (8 + s + 1) - 1e-12)
    np.testing.assert_allclose(m.sum(1), 1.0)
    # estimate(leaves=...) is the same rows as the full estimate
    full = est.estimate(eff)
    some = np.array([busy, 0, tree.n_leaves - 1])
    part = est.estimate(eff, leaves=some)
    for a, b in zip(full, part, strict=True):
        np.testing.assert_allclose(a[some], b)
    # leaves that all hold looks: only the data's ancestors are visited, same numbers
    rng = np.random.default_rng(3)
    seen = rng.choice(np.flatnonzero(tree.leaf_count > 0), 40, replace=False)
    eff[seen] = rng.random((40, k)) * 3
    full = est.estimate(eff)
    for a, b in zip(full, est.estimate(eff, leaves=seen), strict=True):
        np.testing.assert_allclose(a[seen], b, rtol=1e-9, atol=1e-12)
    # ... and of leaves without looks asked beside them
    mixed = np.concatenate([seen[:5], np.flatnonzero(eff.sum(1) == 0)[:5]])
    for a, b in zip(full, est.estimate(eff, leaves=mixed), strict=True):
        np.testing.assert_allclose(a[mixed], b, rtol=1e-9, atol=1e-12)
    # means now, bounds later: the same numbers
    post = est.posterior(eff, leaves=np.sort(seen))
    np.testing.assert_allclose(post.p, full.p[np.sort(seen)], rtol=1e-9)
    lo, hi = post.bounds(0.9, leaves=np.sort(seen)[:7])
    np.testing.assert_allclose(lo, full.lo[np.sort(seen)[:7]], rtol=1e-9)
    np.testing.assert_allclose(hi, full.hi[np.sort(seen)[:7]], rtol=1e-9)
    quick = est.estimate(eff, bounds=False)
    assert quick.lo is None and np.allclose(quick.p, full.p)
    assert np.all(full.lo <= full.p) and np.all(full.p <= full.hi)
    a, b = beta_of_moments(m, v)
    np.testing.assert_allclose(a / (a + b), m)
    np.testing.assert_allclose(a * b / ((a + b) ** 2 * (a + b + 1)), v, rtol=1e-6)


def test_strengths_follow_the_data(tree):
    """Leaves that share their parent's mix get a strong prior; leaves with a mix of their own
    a weak one (held-out likelihood on folds of independent draws)."""
    cells = CellTree.from_octree(tree.leaf_level, tree.leaf_ijk)
    rng = np.random.default_rng(2)
    busy = np.flatnonzero(tree.leaf_count > 0)
    anc = cells.ancestor_at(0)
    root_p = {r: rng.dirichlet(np.ones(3)) for r in np.unique(anc)}
    chosen = {}
    for name, own in (("shared", False), ("own", True)):
        p = np.array([rng.dirichlet(np.ones(3) * 0.3) if own else root_p[anc[i]]
                      for i in range(tree.n_leaves)])
        folds = []
        for _ in range(3):
            draws = [rng.multinomial(20, p[i]) if i in set(busy) else np.zeros(3)
                     for i in range(tree.n_leaves)]
            folds.append(np.array(draws, dtype=float))
        pairs = [(folds[i] + folds[(i + 1) % 3], folds[(i + 2) % 3]) for i in range(3)]
        chosen[name] = choose_strengths(cells, pairs, sweeps=1)
    finest = int(max(chosen["own"]))
    assert chosen["shared"][finest] > 10 * chosen["own"][finest]


def test_beta_ppf_against_scipy():
    rng = np.random.default_rng(4)
    a = np.exp(rng.uniform(-8, 10, 50_000))
    b = np.exp(rng.uniform(-8, 10, 50_000))
    for q in (0.05, 0.25, 0.75, 0.95):
        exact = special.betaincinv(a, b, q)
        got = beta_ppf(a, b, q)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, exact, atol=3e-3)


def test_shift_test_counts_posterior_spread():
    m = np.array([0.5, 0.5])
    assert shift_significant(m, np.array([1e-4, 1e-4]), m + 0.1, np.array([1e-4, 1e-4])).all()
    assert not shift_significant(m, np.array([0.01, 0.01]), m + 0.1,
                                 np.array([0.01, 0.01])).any()

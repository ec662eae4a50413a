"""The linear octree against brute force over its own leaf bounds and a recursive reference."""

from __future__ import annotations

import numpy as np
import pytest

from atlas_core.octree import Octree


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    """Orbit-like tracks plus a dense blob and uniform background, GSM R_E."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 40 * np.pi, n // 2)
    r = rng.uniform(6, 20, n // 2)
    track = np.stack([r * np.cos(t / 3), r * np.sin(t / 3), np.sin(t)], axis=1)
    track += rng.normal(0, 0.05, track.shape)
    blob = rng.normal([5.0, -3.0, 1.0], 0.02, (n // 4, 3))
    background = rng.uniform([-28, -28, -20], [28, 28, 10], (n - n // 2 - n // 4, 3))
    return np.concatenate([track, blob, background])


@pytest.fixture(scope="module")
def points() -> np.ndarray:
    return _clustered(20_000)


@pytest.fixture(scope="module")
def tree(points) -> Octree:
    return Octree.build(points)


def _brute_leaf(tree: Octree, pts: np.ndarray) -> np.ndarray:
    """Leaf containing each point by testing every leaf's half-open bounds."""
    inside = ((tree.leaf_lo[None] <= pts[:, None]) & (pts[:, None] < tree.leaf_hi[None])).all(2)
    count = inside.sum(axis=1)
    assert (count <= 1).all(), "leaves overlap"
    return np.where(count == 1, inside.argmax(axis=1), -1)


def test_every_state_in_exactly_one_leaf(tree, points):
    inside = ((tree.leaf_lo[None] <= points[:2000, None])
              & (points[:2000, None] < tree.leaf_hi[None])).all(2)
    assert (inside.sum(axis=1) == 1).all()
    assert (inside.argmax(axis=1) == tree.leaf_of_state[:2000]).all()
    # the CSR lists partition the states
    listed = np.concatenate([tree.states_in(i) for i in range(tree.n_leaves)])
    assert np.array_equal(np.sort(listed), np.arange(len(points)))
    assert tree.leaf_count.sum() == len(points)
    assert np.array_equal(np.bincount(tree.leaf_of_state, minlength=tree.n_leaves),
                          tree.leaf_count)


def test_leaves_tile_the_root_grid(tree):
    lo, hi = tree.extent_re
    assert np.isclose((tree.leaf_size_re**3).sum(), np.prod(hi - lo))
    assert (tree.leaf_lo >= lo - 1e-9).all() and (tree.leaf_hi <= hi + 1e-9).all()


def test_split_rule(tree, points):
    above_min = tree.leaf_level < tree.depth
    assert tree.leaf_count[above_min].max() <= 25
    # the dense blob forces minimum-size leaves holding more than 25 states
    assert tree.leaf_count[~above_min].max() > 25
    assert np.isclose(tree.min_size_re, 2.0 / 2**6)
    # every internal node held more than 25 states: its children's counts add up to > 25
    for node in np.random.default_rng(1).choice(len(tree.children), 50, replace=False):
        lo = tree.origin_re + tree.internal_ijk[node] * (2.0 / 2.0 ** tree.internal_level[node])
        hi = lo + 2.0 / 2.0 ** tree.internal_level[node]
        assert ((points >= lo) & (points < hi)).all(axis=1).sum() > 25
    assert 0 < tree.n_nonempty < tree.n_leaves


def test_locate_matches_brute_force(tree):
    rng = np.random.default_rng(2)
    lo, hi = tree.extent_re
    pts = np.concatenate([rng.uniform(lo - 3, hi + 3, (3000, 3)),
                          rng.normal([5.0, -3.0, 1.0], 0.05, (1000, 3)),
                          tree.leaf_lo[rng.choice(tree.n_leaves, 500)],  # exactly on corners
                          [[np.nan, 0, 0]]])
    got = tree.locate(pts)
    assert np.array_equal(got, _brute_leaf(tree, pts))
    assert got[-1] == -1
    assert (got[:3000] == -1).any()  # some points fall outside the grid
    # chunked path gives the same answer
    assert np.array_equal(tree.locate(pts, chunk=777), got)


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_slice_matches_brute_force(tree, axis):
    a = "xyz".index(axis)
    rng = np.random.default_rng(3)
    offsets = list(rng.uniform(-25, 25, 6)) + [5.0, -3.0 + 2.0 / 64, 0.0]  # incl. cell faces
    for off in offsets:
        got = tree.slice(axis, off)
        want = np.flatnonzero((tree.leaf_lo[:, a] <= off) & (tree.leaf_hi[:, a] > off))
        assert np.array_equal(got, want), (axis, off)
    lo, hi = tree.extent_re
    assert len(tree.slice(axis, hi[a] + 1)) == 0


def test_box_and_neighbours(tree):
    rng = np.random.default_rng(4)
    for _ in range(20):
        c = rng.uniform(-20, 20, 3)
        half = rng.uniform(0.01, 4, 3)
        lo, hi = c - half, c + half
        want = np.flatnonzero(((tree.leaf_lo <= hi) & (tree.leaf_hi > lo)).all(axis=1))
        assert np.array_equal(tree.box(lo, hi), want)
    for leaf in rng.choice(tree.n_leaves, 30, replace=False):
        nb = tree.neighbours(leaf)
        touch = ((tree.leaf_lo <= tree.leaf_hi[leaf] + 1e-9)
                 & (tree.leaf_hi >= tree.leaf_lo[leaf] - 1e-9)).all(axis=1)
        touch[leaf] = False
        assert np.array_equal(nb, np.flatnonzero(touch))


def test_roundtrip_and_weights(tree, points, tmp_path):
    arrays = tree.to_arrays()
    again = Octree.from_arrays(arrays)
    assert again.n_leaves == tree.n_leaves and again.n_nonempty == tree.n_nonempty
    assert np.array_equal(again.locate(points), tree.leaf_of_state)
    tree.save(tmp_path / "octree.npz")
    loaded = Octree.load(tmp_path / "octree.npz")
    assert np.array_equal(loaded.slice("z", 0.5), tree.slice("z", 0.5))
    assert np.array_equal(loaded.states_in(7), tree.states_in(7))
    w = tree.sample_weights()
    assert np.isclose(w.mean(), 1.0)
    # every non-empty leaf carries the same total weight
    totals = np.bincount(tree.leaf_of_state, weights=w, minlength=tree.n_leaves)
    assert np.allclose(totals[tree.leaf_count > 0], totals[tree.leaf_count > 0][0])
    with pytest.raises(ValueError, match="missing"):
        Octree.from_arrays({k: v for k, v in arrays.items() if k != "children"})


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        Octree.build(np.array([[0.0, 0, 0], [np.nan, 1, 1]]))
    with pytest.raises(ValueError, match="shape"):
        Octree.build(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="no positions"):
        Octree.build(np.zeros((0, 3)))


def test_single_cell_and_few_points():
    tree = Octree.build(np.array([[0.5, 0.5, 0.5], [1.5, 1.5, 1.5]]))
    assert tree.n_leaves == 1 and tree.n_nonempty == 1
    assert list(tree.locate(np.array([[1.0, 1.0, 1.0], [2.0, 1.0, 1.0]]))) == [0, -1]

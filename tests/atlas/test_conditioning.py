"""The conditioning engine on plain arrays: Dst ranges and bins against brute-force recounts,
nearest-neighbour selection against a brute-force distance sort."""

import numpy as np
import pandas as pd
import pytest

from atlas_core.atlas.conditioning import ActivityBins, NeighbourIndex, OccupancyIndex
from atlas_core.atlas.errors import AtlasError

L, K, N = 300, 12, 20_000


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(7)
    leaf = rng.integers(0, L, N)
    code = rng.integers(0, K, N)
    dst = np.round(rng.normal(-15, 25, N))  # integer nT, many ties and exact bin edges
    dst[rng.random(N) < 0.02] = np.nan
    return leaf, code, dst


def brute(leaf, code, mask):
    out = np.zeros((L, K), dtype=np.int64)
    np.add.at(out, (leaf[mask], code[mask]), 1)
    return out


def test_all_counts_sum_to_cell_counts(arrays):
    leaf, code, dst = arrays
    idx = OccupancyIndex(leaf, code, dst, L, K)
    c = idx.counts()
    np.testing.assert_array_equal(c.sum(axis=1), np.bincount(leaf, minlength=L))
    np.testing.assert_array_equal(c, brute(leaf, code, np.ones(N, bool)))


@pytest.mark.parametrize("lo,hi", [(-50, -20), (-20, 20), (None, -50), (20, None), (-7, -7),
                                   (-300, -200), (-19.5, 3.2)])
def test_range_matches_brute_force(arrays, lo, hi):
    leaf, code, dst = arrays
    idx = OccupancyIndex(leaf, code, dst, L, K)
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(dst) & (dst >= (-np.inf if lo is None else lo)) & (
            dst <= (np.inf if hi is None else hi))
    np.testing.assert_array_equal(idx.counts(lo, hi), brute(leaf, code, mask))


def test_pandas_groupby_recount_agrees(arrays):
    leaf, code, dst = arrays
    idx = OccupancyIndex(leaf, code, dst, L, K)
    df = pd.DataFrame({"leaf": leaf, "code": code, "dst": dst})
    sel = df[(df.dst >= -40) & (df.dst <= -10)]
    g = sel.groupby(["leaf", "code"]).size()
    expect = np.zeros((L, K), dtype=np.int64)
    expect[g.index.get_level_values(0), g.index.get_level_values(1)] = g.to_numpy()
    np.testing.assert_array_equal(idx.counts(-40, -10), expect)


def test_activity_bins_partition_the_known_dst(arrays):
    leaf, code, dst = arrays
    bins = ActivityBins()
    idx = OccupancyIndex(leaf, code, dst, L, K)
    total = sum(idx.counts(*r) for r in bins.ranges().values())
    np.testing.assert_array_equal(total, brute(leaf, code, np.isfinite(dst)))
    # the edges as DESIGN.md fixes them: |Dst| <= 20 quiet, Dst <= -50 storm
    labels = bins.label(np.array([-50, -49, -21, -20, 0, 20, 21, np.nan]))
    assert labels.tolist() == ["storm", "moderate", "moderate", "quiet", "quiet", "quiet",
                               "positive", ""]
    for name, (lo, hi, lo_in, hi_in) in bins.ranges().items():
        sel = idx.counts(lo, hi, lo_in, hi_in)
        np.testing.assert_array_equal(sel, brute(leaf, code, bins.label(dst) == name))


def test_bad_ranges_and_bins(arrays):
    idx = OccupancyIndex(*arrays, L, K)
    with pytest.raises(AtlasError, match="empty Dst range"):
        idx.counts(10, -10)
    with pytest.raises(AtlasError, match="NaN"):
        idx.counts(np.nan, 0)
    with pytest.raises(AtlasError, match="storm_max"):
        ActivityBins(quiet_max=20, storm_max=-10)
    with pytest.raises(AtlasError, match="leaf ids"):
        OccupancyIndex(np.array([L]), np.array([0]), np.array([0.0]), L, K)
    assert isinstance(AtlasError("x"), ValueError)


@pytest.fixture(scope="module")
def drivers():
    rng = np.random.default_rng(3)
    cols = {
        "dst": rng.normal(-10, 30, N),
        "ddst_dt": rng.normal(0, 5, N),
        "sw_v": rng.normal(420, 90, N),
        "imf_bz_gsm": rng.normal(0, 4, N),
    }
    cols["sw_v"][:50] = np.nan  # missing OMNI rows are left out of trees that need them
    key = rng.integers(0, L * K, N)
    return cols, key


@pytest.mark.parametrize("target", [{"dst": -80, "ddst": -10}, {"dst": 5},
                                    {"dst": -60, "sw_v": 600, "imf_bz": -8}])
def test_knn_matches_brute_force(drivers, target):
    cols, key = drivers
    nn = NeighbourIndex(cols, key)
    got, dist = nn.select(target, k=500)
    names = {"dst": "dst", "ddst": "ddst_dt", "sw_v": "sw_v", "imf_bz": "imf_bz_gsm"}
    used = [names[t] for t in target]
    z2 = np.zeros(N)
    ok = np.ones(N, bool)
    for t, c in zip(target, used, strict=True):
        v = cols[c]
        f = v[np.isfinite(v)]
        z2 += ((v - target[t]) / f.std()) ** 2
        ok &= np.isfinite(v)
    cand = np.flatnonzero(ok)
    expect = cand[np.argsort(z2[cand], kind="stable")[:500]]
    assert set(got.tolist()) == set(expect.tolist())
    np.testing.assert_allclose(np.sort(dist), np.sqrt(np.sort(z2[expect])), rtol=1e-9)
    # their occupancy is the bincount of their keys
    idx = OccupancyIndex(np.zeros(1, int), np.zeros(1, int), np.zeros(1), L, K)
    occ = idx.counts_of_keys(key[got])
    assert occ.sum() == 500
    np.testing.assert_array_equal(occ.ravel(), np.bincount(key[expect], minlength=L * K))


def test_knn_errors(drivers):
    cols, key = drivers
    nn = NeighbourIndex(cols, key)
    with pytest.raises(AtlasError, match="unknown conditioning parameter"):
        nn.select({"kp": 3})
    with pytest.raises(AtlasError, match="sw_n"):
        nn.select({"sw_n": 5})  # no OMNI density column in this set
    with pytest.raises(AtlasError, match="no neighbours"):
        nn.select({"dst": 500}, max_distance=1.0)
    with pytest.raises(AtlasError, match="at least one"):
        nn.select({})
    with pytest.raises(AtlasError, match="not a number"):
        nn.select({"dst": "storm"})
    got, _ = nn.select({"dst": -20}, k=10 * N)  # k above the state count: all of them
    assert len(got) == N

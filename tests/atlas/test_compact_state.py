"""An opened atlas holds its states compactly (issue 13 item 5, 5 x 10^7 states): float32 Dst
and drivers compared with exact bounds, Dst ranges and pass sizes at the cost of the selection,
columns read from states.parquet one row group at a time and only when a condition needs them."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atlas_core.atlas.columns import StateColumns
from atlas_core.atlas.conditioning import OccupancyIndex, inclusive_bounds
from atlas_core.atlas.passes import number_in_state_order, pass_sizes, pass_weights

L, K, N = 200, 12, 30_000


@pytest.fixture(scope="module")
def states():
    rng = np.random.default_rng(3)
    leaf = rng.integers(0, L, N)
    code = rng.integers(0, K, N)
    # Dst with fractions that float32 cannot hold exactly, and values right at the edges below
    dst = rng.normal(-20, 30, N)
    dst[:6] = [-50.0, -20.0, 20.0, -19.999999, -50.0000001, np.nan]
    dst[rng.random(N) < 0.02] = np.nan
    return leaf, code, dst.astype(np.float32)


@pytest.mark.parametrize("lo,hi,inc_lo,inc_hi", [
    (-50.0, -20.0, True, True), (-50.0, -20.0, False, False), (-19.9999995, 20.0, True, True),
    (-50.00000005, None, True, True), (None, -49.9999999, True, False), (-7.3, -7.3, True, True),
    (None, None, True, True), (-1e40, 1e40, True, True)])
def test_float32_bounds_select_what_float64_selects(states, lo, hi, inc_lo, inc_hi):
    _, _, dst = states
    wide = dst.astype(np.float64)
    a = -np.inf if lo is None else lo
    b = np.inf if hi is None else hi
    with np.errstate(invalid="ignore"):
        expect = (wide >= a if inc_lo else wide > a) & (wide <= b if inc_hi else wide < b)
    lo32, hi32 = inclusive_bounds(np.float32, lo, hi, inc_lo, inc_hi)
    assert lo32.dtype == np.float32 and hi32.dtype == np.float32
    with np.errstate(invalid="ignore"):
        got = (dst >= lo32) & (dst <= hi32)
    np.testing.assert_array_equal(got, expect)


@pytest.mark.parametrize("lo,hi", [(-80.0, -60.0), (-60.0, 40.0), (None, -50.0), (-20.0, 20.0),
                                   (-19.9999995, -19.9999995), (100.0, 200.0)])
def test_states_in_a_range_narrow_and_wide(states, lo, hi):
    leaf, code, dst = states
    idx = OccupancyIndex(leaf, code, dst, L, K)
    wide = dst.astype(np.float64)
    with np.errstate(invalid="ignore"):
        expect = np.flatnonzero((wide >= (-np.inf if lo is None else lo))
                                & (wide <= (np.inf if hi is None else hi)))
    got = idx.states_in(lo, hi)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expect)  # sorted, whichever way it was found
    counts = np.zeros((L, K), np.int64)
    np.add.at(counts, (leaf[expect], code[expect]), 1)
    np.testing.assert_array_equal(idx.counts(lo, hi), counts)


def test_pass_sizes_of_a_small_and_a_large_selection():
    rng = np.random.default_rng(5)
    pid = rng.integers(0, 5000, 40_000).astype(np.int32)
    for sel in (pid[:300], pid):  # 300 << 5000 passes: sort path; all: bincount path
        expect = np.array([np.count_nonzero(sel == p) for p in sel[:200]])
        np.testing.assert_array_equal(pass_sizes(sel, 5000)[:200], expect)


def test_passes_renumbered_in_row_order_group_the_same_states():
    rng = np.random.default_rng(9)
    runs = rng.integers(1, 30, 2000)  # passes as runs of rows, ids in a random order
    old = np.repeat(rng.permutation(5000)[:runs.size], runs).astype(np.int32)
    new = number_in_state_order(old)
    assert new.dtype == np.int32
    pairs = np.unique(np.stack([old, new]), axis=1)
    assert pairs.shape[1] == runs.size == np.unique(old).size  # one new id per old pass
    np.testing.assert_array_equal(np.unique(new), np.arange(runs.size))
    assert np.all(np.diff(new) >= 0)  # contiguous passes: ids rise with the rows
    sel = np.flatnonzero(rng.random(old.size) < 0.3)
    for rho in (0.0, 0.5, 1.0):  # the same weights, whatever the numbering
        np.testing.assert_array_equal(pass_weights(new[sel], rho, runs.size),
                                      pass_weights(old[sel], rho, 5000))


def test_state_columns_read_row_groups_compactly(tmp_path, states):
    leaf, code, dst = states
    missions = np.array(["MMS", "Cluster", "THEMIS"])[np.arange(N) % 3]
    table = pa.table({"leaf": leaf.astype(np.int64), "code": code.astype(np.int16),
                      "dst": dst.astype(np.float64), "pass_id": np.arange(N, dtype=np.int64),
                      "mission": pa.array(missions).dictionary_encode()})
    path = tmp_path / "states.parquet"
    pq.write_table(table, path, row_group_size=7_000)  # five row groups, the last short
    cols = StateColumns(path, ["dst", "sw_v"])
    assert cols.n == N and list(cols) == ["dst"] and cols.loaded() == []
    d = cols["dst"]
    assert d.dtype == np.float32 and cols.loaded() == ["dst"] and cols["dst"] is d
    np.testing.assert_array_equal(d, dst)
    assert cols.ids("leaf", L).dtype == np.int32
    np.testing.assert_array_equal(cols.ids("pass_id", N), np.arange(N))
    assert cols.ids("pass_id", 2**40).dtype == np.int64
    assert cols.equals("leaf", leaf) and not cols.equals("leaf", leaf[::-1])
    codes, names = cols.labels("mission")
    np.testing.assert_array_equal(np.array(names)[codes], missions)
    frame = StateColumns(pd.DataFrame({"dst": dst.astype(np.float64)}), ["dst"])
    np.testing.assert_array_equal(frame["dst"], dst)


def test_opened_atlas_reads_columns_when_conditions_need_them(small_atlas):
    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import Condition, counts

    atlas = Atlas.open(small_atlas)
    assert atlas.columns.loaded() == []  # nothing per state but key, pass and leaf ids
    assert atlas.stats.counter.key.dtype == np.int32
    assert atlas.stats.counter.pass_id.dtype == np.int32
    assert atlas.octree.leaf_of_state.dtype == np.int32
    states = pd.read_parquet(small_atlas / "states.parquet", columns=["dst", "mission", "leaf"])
    c = counts(atlas, Condition(dst_max=-20.0))
    assert atlas.columns.loaded() == ["dst"]
    np.testing.assert_array_equal(c.states, np.flatnonzero(states["dst"].to_numpy() <= -20.0))
    m = counts(atlas, Condition(mission="MMS"))
    expect = np.flatnonzero(states["mission"].astype(str).to_numpy() == "MMS")
    np.testing.assert_array_equal(m.states, expect)
    assert m.windows.sum() == expect.size
    np.testing.assert_array_equal(atlas.octree.leaf_of_state, states["leaf"].to_numpy())

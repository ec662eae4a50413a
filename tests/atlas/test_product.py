"""The product layer: conditions, counts and estimates against independent recounts and the
Dirichlet formula, the cache, the selection summary, slice colours and scales."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize, to_hex

from atlas_core.atlas import product
from atlas_core.atlas.errors import AtlasError
from atlas_core.atlas.product import Condition


@pytest.fixture(scope="module")
def atlas(small_atlas):
    from atlas_core.atlas import Atlas

    return Atlas.open(small_atlas)


# --- Condition ------------------------------------------------------------------------------

def test_condition_forms_equality_and_names():
    assert Condition.parse("quiet") == Condition(dst_min=-20, dst_max=20)  # name is display only
    assert Condition.parse("quiet").label == "quiet, |Dst| ≤ 20 nT"
    assert Condition.parse("storm") == Condition(dst_max=-50.0)
    assert Condition.parse("-100:-30").label == "-100 ≤ Dst ≤ -30 nT"
    assert Condition.parse(":-50") == Condition(dst_max=-50)
    near = Condition.parse("near:ddst=-10,dst=-80,k=2000")
    assert near == Condition(near=(("dst", -80), ("ddst_dt", -10)), k=2000)
    assert hash(near) == hash(Condition(near={"ddst": -10.0, "dst": -80.0}, k=2000))
    assert near.label == "2000 states nearest to Dst -80 nT, dDst/dt -10 nT/h"
    assert Condition(k=5) == Condition()  # k means nothing without a target
    assert Condition.parse("all@Cluster").mission == "Cluster"
    for c in (Condition(), near, Condition.parse("quiet"), Condition(dst_min=-5.0)):
        assert Condition.from_dict(c.to_dict()) == c
    slugs = {Condition.parse(t).slug for t in ("all", "quiet", "storm", "-60:0", "near:dst=-80")}
    assert len(slugs) == 5
    for bad, match in [("stormy", "expected all"), ("a:b", "LO:HI"), ("near:dts=1", "unknown"),
                       ("10:-10", "empty Dst range")]:
        with pytest.raises(AtlasError, match=match):
            Condition.parse(bad)
    with pytest.raises(AtlasError, match="not both"):
        Condition(dst_max=0, near=(("dst", -50),))


# --- counts and estimates -------------------------------------------------------------------

def _recount(atlas, mask):
    st = atlas.states
    full = np.zeros((atlas.n_leaves, atlas.k), int)
    np.add.at(full, (st["leaf"].to_numpy()[mask], st["code"].to_numpy()[mask]), 1)
    return full


def test_counts_are_the_state_table_recounted(atlas):
    dst = atlas.states["dst"].to_numpy()
    for cond, mask in [(Condition(), np.ones(len(dst), bool)),
                       (Condition.parse("-30:5"), (dst >= -30) & (dst <= 5))]:
        c = product.counts(atlas, cond)
        np.testing.assert_array_equal(c.windows, _recount(atlas, mask))
        assert c.n_states == mask.sum() and c.per_regime.sum() == mask.sum()
    near = product.counts(atlas, "near:dst=-30,ddst=0,k=300")
    assert near.n_states == 300 and len(near.states) == 300
    with pytest.raises(AtlasError, match="no state with 400 ≤ Dst ≤ 450 nT"):
        product.counts(atlas, "400:450")
    assert product.counts(atlas, "400:450", allow_empty=True).n_states == 0


def _estimator(atlas, c):
    """The atlas' own estimator (contract C2) on the dense counts, else the Dirichlet mean
    written out: the numbers the layer must pass through unchanged."""
    if hasattr(atlas, "estimate"):
        e = atlas.estimate(c.windows, c.effective)
        return e.p, e.n_eff, e.lo, e.hi
    n = c.windows
    a, k = atlas.alpha, atlas.k
    _, lo, hi = atlas.probabilities(n)
    return (n + a) / (n.sum(1, keepdims=True) + k * a), c.effective.sum(1), lo, hi


def test_estimates_pass_the_estimator_through_with_honest_empty_cells(atlas):
    cond = Condition.parse("-30:5")
    est = product.estimates(atlas, cond)
    c = product.counts(atlas, cond)
    p, n_eff, lo, hi = _estimator(atlas, c)
    has = c.windows.sum(1) > 0
    np.testing.assert_allclose(est.p[has], p[has])
    np.testing.assert_allclose(est.n_eff[has], n_eff[has])
    assert np.isnan(est.p[~has]).all() and np.isnan(est.entropy[~has]).all()
    np.testing.assert_array_equal(est.n, c.windows.sum(1))
    np.testing.assert_array_equal(est.dominant[~has], -1)
    np.testing.assert_array_equal(est.dominant[has], np.argmax(p[has], axis=1))
    ent = -(p[has] * np.log2(p[has])).sum(1)
    np.testing.assert_allclose(est.entropy[has], ent)
    assert est.low_count[~has].all()
    rows = np.r_[np.flatnonzero(has)[:7], np.flatnonzero(~has)[:2]]
    p_at, lo_at, hi_at = est.at(rows)  # bounds for these cells only (lazily, C2)
    np.testing.assert_array_equal(p_at, est.p[rows])
    np.testing.assert_allclose(lo_at[:7], lo[rows[:7]])
    np.testing.assert_allclose(hi_at[:7], hi[rows[:7]])
    assert np.isnan(lo_at[7:]).all() and np.isnan(hi_at[7:]).all()


def test_summary_states_what_the_selection_spans(atlas):
    st = atlas.states
    s = product.counts(atlas, "near:dst=-40,ddst=0,k=500").summary
    chosen = st.iloc[product.counts(atlas, "near:dst=-40,ddst=0,k=500").states]
    assert s["n_states"] == 500
    for name, col in (("dst", "dst"), ("sw_pdyn", "sw_pdyn"), ("imf_bz", "imf_bz_gsm")):
        q = np.percentile(chosen[col].dropna(), [5, 50, 95])
        assert [s[name]["p05"], s[name]["p50"], s[name]["p95"]] == pytest.approx(q)
    sw = product.solar_wind(atlas, "near:dst=-40,ddst=0,k=500")
    assert sw.pdyn_npa == pytest.approx(np.median(chosen["sw_pdyn"].dropna()))
    assert sw.bz_nt == pytest.approx(np.median(chosen["imf_bz_gsm"].dropna()))
    assert product.solar_wind(atlas, "all", 3.0, -4.0) == product.SolarWind(3.0, -4.0, "chosen")


def test_cache_is_shared_bounded_and_computes_a_key_once(atlas):
    cond = Condition.parse("-12:7")
    assert product.counts(atlas, cond) is product.counts(atlas, Condition(dst_min=-12, dst_max=7))
    calls = []
    cache = product.ProductCache(max_items=2)

    def slow():
        calls.append(1)
        threading.Event().wait(0.05)
        return np.zeros(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(r is results[0] for r in results)
    cache.get("a", lambda: np.zeros(1))
    cache.get("b", lambda: np.zeros(1))
    assert len(cache) == 2 and cache.get("k", lambda: "again") == "again"  # "k" was evicted
    small = product.ProductCache(max_bytes=1000)
    small.get("x", lambda: np.zeros(100))
    small.get("y", lambda: np.zeros(100))
    assert len(small) == 1 and small.nbytes == 800


# --- slices and scales ----------------------------------------------------------------------

def test_slice_table_colours_come_from_the_scale_and_fade_low_counts(atlas):
    busiest = int(np.argmax(product.counts(atlas, Condition()).windows.sum(1)))
    z = float(atlas.octree.leaf_center[busiest][2])
    for color in product.COLORINGS:  # the small atlas' days span Dst -23 .. -3 nT
        t = product.slice_table(atlas, "xy", z, "all", color, regime=1, quiet="-8:0",
                                storm=":-15")
        assert set(t["leaf"]) == set(atlas.octree.slice("z", z)) and busiest in set(t["leaf"])
        scale = t.attrs["scale"]
        shown = np.isfinite(t["value"].to_numpy())
        assert (t.loc[~shown, "fill"] == scale.missing).all()
        assert list(t.loc[shown, "fill"]) == list(scale.colors_of(t.loc[shown, "value"]))
        faded = t["alpha"].to_numpy() == product.LOW_COUNT_ALPHA
        if color != "storm_minus_quiet":
            np.testing.assert_array_equal(faded, t["low_count"].to_numpy() & ~t["empty"].to_numpy())


def test_scales_match_matplotlib_colormaps():
    from atlas_core.palette import regime_colors, slice_scale

    names = ["solar wind", "magnetosheath", "lobe", "plasma sheet"]
    count = slice_scale("count", names, count_max=5000)
    values = np.array([1, 3, 70, 5000, 9999])
    expect = [to_hex(colormaps[count.cmap](LogNorm(1, 5000)(v))) for v in values]
    assert list(count.colors_of(values)) == expect
    ent = slice_scale("entropy", names)
    assert (ent.vmin, ent.vmax) == (0.0, 2.0)
    v = np.array([0.0, 0.7, 2.0])
    assert list(ent.colors_of(v)) == [to_hex(colormaps[ent.cmap](Normalize(0, 2)(x))) for x in v]
    dom = slice_scale("dominant", names)
    assert list(dom.colors_of([0, 2, np.nan])) == [*np.array(regime_colors(names))[[0, 2]], dom.missing]
    diff = slice_scale("storm_minus_quiet", names, 1, diff_max=0.23)
    assert (diff.vmin, diff.vmax) == (-0.25, 0.25) and diff.colors_of([0.0])[0] != diff.missing


def test_3d_cells_merge_small_leaves_into_the_blocks_that_hold_them(atlas):
    full = product.cell_table(atlas, "all")
    tree = atlas.octree
    est = product.estimates(atlas, "all")
    assert full.attrs["block_re"] is None and (full["n_leaves"] == 1).all()
    sizes = [b for b in product.slices.BLOCK_SIZES_RE if b <= tree.base_size_re]
    n_cells = {b: product.merge_blocks(tree, est.leaves, b, est.p_at(est.leaves),
                                       est.n_eff[est.leaves])[1].shape[0] for b in sizes}
    cap = n_cells[sizes[-2]]  # a cap the second-coarsest blocks meet
    merged = product.cell_table(atlas, "all", max_cells=cap)
    size = merged.attrs["block_re"]
    assert size == min(b for b in sizes if n_cells[b] <= cap)  # the finest that fits
    assert len(merged) <= cap < len(full)
    assert merged.attrs["n_leaves"] == len(full) == merged["n_leaves"].sum()
    assert merged["windows"].sum() == full["windows"].sum()
    # recount by coordinates: the block of a small leaf is floor((centre - origin) / size)
    leaves = full["leaf"].to_numpy()
    centre = tree.leaf_center[leaves]
    small = (tree.leaf_hi[leaves] - tree.leaf_lo[leaves])[:, 0] < size
    block_lo = tree.origin_re + np.floor((centre - tree.origin_re) / size) * size
    lo = np.where(small[:, None], block_lo, tree.leaf_lo[leaves])
    hi = np.where(small[:, None], block_lo + size, tree.leaf_hi[leaves])
    p, w = est.p_at(leaves), est.n_eff[leaves]
    expected = {}
    for a, b, pi, wi in zip(map(tuple, lo), map(tuple, hi), p, w, strict=True):
        acc = expected.setdefault(a + b, [np.zeros(atlas.k), 0.0])
        acc[0] += wi * pi
        acc[1] += wi
    assert len(expected) == len(merged)
    got = merged.set_index(["x0", "y0", "z0", "x1", "y1", "z1"])
    for key, (mix, weight) in expected.items():
        row = got.loc[key]
        assert row["n_eff"] == pytest.approx(weight)
        assert row["confidence"] == pytest.approx((mix / weight).max())
        assert row["dominant"] == np.argmax(mix)
    one = merged[merged["n_leaves"] == 1]
    assert (one["leaf"] >= 0).all() and (merged.loc[merged["n_leaves"] > 1, "leaf"] == -1).all()


def test_cell_table_and_query_agree_with_the_estimates(atlas):
    est = product.estimates(atlas, "quiet")
    cells = product.cell_table(atlas, "quiet")
    np.testing.assert_array_equal(cells["leaf"], est.leaves)
    assert (cells["windows"] > 0).all() and len(cells) == (est.n > 0).sum()
    centres = atlas.octree.leaf_center[cells["leaf"].to_numpy()[:50]]
    q = product.query_cells(atlas, centres, "quiet")
    np.testing.assert_array_equal(q["leaf"], cells["leaf"][:50])
    np.testing.assert_array_equal(q["dominant"], cells["dominant"][:50])
    rec = product.query_records(q)[0]
    assert rec["regimes"][0]["id"] == rec["dominant"] and rec["count"] == cells["windows"].iloc[0]
    out = product.query_cells(atlas, [[500.0, 0, 0]], "quiet", outside="nan")
    assert out["leaf"].iloc[0] == -1 and np.isnan(out["p_0"].iloc[0])

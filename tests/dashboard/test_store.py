"""The dashboard's data layer without any UI: Filters (URL clamping) and DataStore numbers,
checked against the atlas and the state table directly, and against published boundary values."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from atlas_core.atlas.product import Condition
from dashboard.filters import DST_OPEN, Filters
from dashboard.palette import regime_colors

# --- Filters -----------------------------------------------------------------------------

def test_filters_defaults_are_the_design_conditions():
    f = Filters()
    assert f.quiet() == Condition.quiet() and f.quiet().label == "quiet, |Dst| ≤ 20 nT"
    assert f.storm() == Condition.storm()
    assert f.current().kind == "all"
    f.mode = "nearest"
    assert f.current() == Condition.parse("near:dst=-80,ddst=-5,k=20000")


def test_url_values_are_clamped_or_refused_with_messages():
    f = Filters()
    f.set_leaf_count(100)
    msgs = f.apply_query({"offset": "99", "plane": "AB", "quiet": "[30,-40]", "cell": "500",
                          "k": "many", "pdyn": "nan", "regime": "3", "color": "entropy",
                          "storm": "[-900, -60]", "unrelated": "x"})
    assert f.offset == 30.0 and f.plane == "XY" and f.quiet_dst == (-40.0, 30.0)
    assert f.cell == 99 and f.k_near == 20000 and f.pdyn == 2.0
    assert f.regime == 3 and f.slice_color == "entropy"
    assert f.storm_dst == (-DST_OPEN, -60.0) and f.storm().dst_min is None
    joined = "\n".join(msgs)
    for name in ("offset=", "plane=", "cell=", "k=", "pdyn=", "storm="):
        assert name in joined
    assert "regime=" not in joined and "unrelated" not in joined


def test_palette_groups_regimes_by_physics_family():
    from dashboard.palette import load_palette

    shades = {f["family"]: f["shades"] for f in load_palette()["families"]}
    colors = regime_colors(["magnetosheath", "solar wind", "dense magnetosheath", "lobe", "weird"])
    assert colors[0] != colors[2]  # two sheath regimes: two shades
    assert colors[0] == shades["magnetosheath"][0] and colors[3] == shades["lobe"][0]
    assert len(set(colors)) == 5


def test_store_module_imports_no_ui():
    code = ("import sys, dashboard.store, dashboard.filters; "
            "bad = [m for m in ('panel', 'bokeh', 'holoviews') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- DataStore on the small atlas -----------------------------------------------------------

@pytest.fixture(scope="module")
def store(small_atlas):
    from dashboard.store import DataStore

    return DataStore.open(small_atlas)


def _dst_counts(store, leaf, lo, hi):
    """Independent count: states of a leaf per regime with lo <= Dst <= hi, from the table."""
    s = store.states
    m = (s["leaf"].to_numpy() == leaf)
    if lo is not None:
        m &= s["dst"].to_numpy() >= lo
    if hi is not None:
        m &= s["dst"].to_numpy() <= hi
    return np.bincount(s["code"].to_numpy()[m], minlength=store.k)


def test_slice_frame_matches_the_octree_and_the_state_table(store):
    f = Filters()
    f.set_regime_count(store.k)
    busiest = int(np.argmax(store.atlas.occupancy().sum(axis=1)))
    centre = (store.leaf_lo[busiest] + store.leaf_hi[busiest]) / 2
    f.plane, f.offset = "XZ", float(centre[1])
    frame = store.slice_frame(f)
    leaves = frame["leaf"].to_numpy()
    assert set(leaves) == set(store.octree.slice("y", f.offset))
    assert busiest in leaves
    row = frame.set_index("leaf").loc[busiest]
    expected = _dst_counts(store, busiest, None, None)
    assert row["windows"] == expected.sum()
    assert row["dominant"] == np.argmax(expected)
    assert (row["u0"], row["v0"]) == (store.leaf_lo[busiest][0], store.leaf_lo[busiest][2])
    assert 0 <= row["entropy"] <= np.log2(store.k)
    # rectangles lie in the plane's axes and cover the offset
    lo, hi = store.leaf_lo[leaves], store.leaf_hi[leaves]
    assert np.all((lo[:, 1] <= f.offset) & (hi[:, 1] >= f.offset))
    assert frame.loc[frame["windows"] == 0, "regime"].eq("no data").all()
    assert (frame.loc[frame["windows"] == 0, "fill"] == frame.attrs["scale"].missing).all()


def test_slice_colourings_and_storm_minus_quiet(store):
    f = Filters()
    f.set_regime_count(store.k)
    f.regime = int(np.argmax(store.atlas.occupancy().sum(axis=0)))
    f.storm_dst = (-DST_OPEN, -15.0)  # the small atlas's synthetic days hold no Dst <= -50 nT
    both = (store.occupancy(f.quiet()).sum(axis=1) > 0) & (store.occupancy(f.storm()).sum(axis=1) > 0)
    leaf = int(np.flatnonzero(both)[0])  # a plane through a cell sampled in both conditions
    f.plane, f.offset = "XY", float((store.leaf_lo[leaf][2] + store.leaf_hi[leaf][2]) / 2)
    for color in ("probability", "entropy", "count", "storm_minus_quiet"):
        f.slice_color = color
        frame = store.slice_frame(f)
        assert len(frame)
        values = frame["value"].to_numpy()
        if color == "probability":
            assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1
        if color == "count":
            has = frame["windows"] > 0
            assert np.array_equal(values[has], frame["windows"][has])
            assert frame.attrs["scale"].kind == "log"
        if color == "storm_minus_quiet":
            quiet = store.occupancy(f.quiet())[frame["leaf"]]
            storm = store.occupancy(f.storm())[frame["leaf"]]  # zeros when no storm state
            pq = store.estimates(f.quiet()).p[frame["leaf"]]
            ps = store.estimates(f.storm()).p[frame["leaf"]]
            ok = np.isfinite(values)
            both = (quiet.sum(axis=1) > 0) & (storm.sum(axis=1) > 0)
            assert np.array_equal(ok, both)
            assert ok.any() and np.allclose(values[ok], (ps - pq)[ok, f.regime])


def test_dst_range_changes_counts_and_occupancy(store):
    f = Filters()
    f.storm_dst = (-DST_OPEN, -15.0)  # the small atlas's synthetic days hold no Dst <= -50 nT
    quiet = store.occupancy(f.quiet())
    storm = store.occupancy(f.storm())
    assert storm.sum() == np.count_nonzero(store.states["dst"].to_numpy() <= -15)
    dst = store.states["dst"].to_numpy()
    assert quiet.sum() == np.count_nonzero((dst >= -20) & (dst <= 20))
    comp = store.occupancy_comparison(f.quiet(), f.storm())
    assert np.allclose(comp.groupby("condition")["fraction"].sum(), 1.0)
    f.quiet_dst = (-5.0, 5.0)
    comp2 = store.occupancy_comparison(f.quiet(), f.storm())
    assert not np.allclose(comp["count"], comp2["count"])


def test_inspect_cell_counts_and_credible_intervals(store):
    f = Filters()
    leaf = int(np.argmax(store.atlas.occupancy().sum(axis=1)))
    report = store.inspect_cell(leaf, {"all": Condition(), "quiet": f.quiet(), "storm": f.storm()})
    assert report.n_states == int((store.states["leaf"] == leaf).sum())
    quiet = report.regimes[report.regimes["condition"] == "quiet"]
    assert np.array_equal(quiet["count"].to_numpy(), _dst_counts(store, leaf, -20, 20))
    assert report.counts["quiet"] == quiet["count"].sum()
    r = report.regimes.dropna(subset=["p"])
    assert np.allclose(r.groupby("condition")["p"].sum(), 1.0)
    # a condition with no window in the cell shows no probabilities (the prior is not data)
    empty = [n for n, c in report.counts.items() if c == 0]
    assert report.regimes.loc[report.regimes["condition"].isin(empty), "p"].isna().all()
    assert set(report.features["condition"]) <= {"all", "quiet", "storm"}
    assert report.features["value"].notna().all()
    with pytest.raises(ValueError, match="outside"):
        store.inspect_cell(store.n_leaves, {"all": Condition()})


def test_leaf_at_and_locate_find_the_cell_under_a_point(store):
    leaf = int(np.argmax(store.atlas.occupancy().sum(axis=1)))
    centre = (store.leaf_lo[leaf] + store.leaf_hi[leaf]) / 2
    assert store.locate(centre) == leaf
    assert store.leaf_at("YZ", centre[0], centre[1], centre[2]) == leaf
    assert store.locate([1e4, 0, 0]) == -1
    assert store.locate([np.nan, 0, 0]) == -1


def test_nearest_neighbour_condition_selects_k_states(store):
    cond = Condition.parse("near:dst=-30,ddst=0,k=200")
    assert store.occupancy(cond).sum() == min(200, store.n_states)
    comp = store.occupancy_comparison(cond, Condition(), names=("nearest", "all"))
    assert comp.loc[comp["condition"].str.startswith("nearest"), "count"].sum() == 200


def test_empty_dst_range_is_reported_not_fatal(store):
    cond = Condition(dst_min=400.0, dst_max=450.0)
    assert store.occupancy(cond).sum() == 0
    assert store.warnings and "400" in store.warnings[-1]
    frame = store.slice_table("XY", 0.0, cond, "entropy")
    assert (frame["fill"] == frame.attrs["scale"].missing).all()


def test_sessions_share_what_is_shared_and_keep_their_own_warnings(store):
    from dashboard.store import DataStore

    other = DataStore(store.atlas)  # a second session over the same opened atlas
    cond = Condition.parse("-15:-5")
    assert other.counts(cond) is store.counts(cond)
    assert other.coverage_frame() is store.coverage_frame()
    assert other.feature_samples("n_mean", 20) is store.feature_samples("n_mean", 20)
    other.counts(Condition(dst_min=300.0))
    assert other.warnings and not any("300" in w for w in store.warnings)


def test_summary_and_boundaries_follow_the_selection(store):
    cond = Condition.parse("near:dst=-20,ddst=0,k=300")
    summary = store.summary(cond)
    chosen = store.states[store.state_mask(cond)]
    assert summary["n_states"] == 300
    assert summary["dst"]["p50"] == np.percentile(chosen["dst"], 50)
    sw = store.solar_wind(cond)
    assert sw.pdyn_npa == np.median(chosen["sw_pdyn"].dropna())


def test_violins_hold_observed_and_generated_per_regime(store):
    frame = store.feature_samples("n_mean", n_per_regime=50)
    assert set(frame["source"]) == {"observed", "generated"}
    present = set(store.labels[c] for c in np.unique(store.states["code"]))
    assert set(frame.loc[frame["source"] == "generated", "regime"]) == present
    with pytest.raises(ValueError, match="unknown feature"):
        store.feature_samples("nope")


def test_cell_table_for_the_3d_map(store):
    cells = store.cell_table(Condition())
    assert len(cells) == store.octree.n_nonempty
    assert (cells["fill"] == np.array(store.colors, dtype=object)[cells["dominant"]]).all()
    lo, hi = cells[["x0", "y0", "z0"]].to_numpy(), cells[["x1", "y1", "z1"]].to_numpy()
    conf = cells["confidence"].to_numpy()
    assert np.all(hi > lo) and np.all((conf > 0) & (conf <= 1))


def test_boundary_curves_against_published_subsolar_distances():
    from dashboard.store import DataStore

    # Shue et al. (1998) Eq. 10 at Bz = 0, Dp = 2 nPa; Jelinek et al. (2012) bow shock R0.
    r0_mp = (10.22 + 1.29 * np.tanh(0.184 * 8.14)) * 2.0 ** (-1 / 6.6)
    r0_bs = 15.02 * 2.0 ** (-1 / 6.55)
    curves = DataStore.boundary_curves("XY", 0.0, 2.0, 0.0)
    for name, r0 in (("magnetopause", r0_mp), ("bow shock", r0_bs)):
        xy = curves[name][0]
        assert abs(xy[:, 0].max() - r0) < 0.01
    assert np.allclose(np.hypot(*curves["Earth"][0].T), 1.0)
    assert DataStore.boundary_curves("XY", 5.0, 2.0, 0.0)["Earth"] == []
    # the terminator plane (x = 0): the magnetopause is a circle of radius r0 * 2^alpha
    alpha = 0.58 * (1 + 0.024 * np.log(2.0))
    ring = DataStore.boundary_curves("YZ", 0.0, 2.0, 0.0)["magnetopause"][0]
    assert np.allclose(np.hypot(*ring.T), r0_mp * 2**alpha, rtol=2e-3)


def test_open_atlas_names_the_problem(tmp_path):
    from dashboard.store import StoreError, open_atlas

    with pytest.raises(StoreError, match="does not exist"):
        open_atlas(tmp_path / "missing")
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "atlas.nc").write_bytes(b"not a netcdf file")
    with pytest.raises(StoreError, match=str(bad)):
        open_atlas(bad)


def test_atlas_serve_refuses_a_bad_atlas_at_start(tmp_path):
    missing = tmp_path / "nowhere"
    run = subprocess.run([sys.executable, "-m", "atlas_core", "serve", str(missing)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2
    assert str(missing) in run.stderr and "does not exist" in run.stderr


def test_atlas_serve_check_accepts_the_small_atlas(small_atlas):
    run = subprocess.run([sys.executable, "-m", "atlas_core", "serve", str(small_atlas), "--check"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok: ") and "synthetic" in run.stdout

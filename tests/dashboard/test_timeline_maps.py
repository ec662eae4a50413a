"""The data functions behind the new views: data span, intervals with gaps, a cell's visits,
MLT–R and X–ρ regime maps, feature quantiles and labels (analytic cases, numpy recomputation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atlas_core.atlas.describe import feature_label, feature_quantiles, regime_medians
from atlas_core.atlas.maps import magnetic_local_time, map_coordinates, regime_map
from atlas_core.atlas.timeline import cell_intervals, data_span, interval


def _states(times, **cols):
    frame = pd.DataFrame({"time": pd.to_datetime(times)})
    for k, v in cols.items():
        frame[k] = v
    return frame


def test_data_span_counts_days_and_storm_days():
    t = ["2016-01-01T10:00", "2016-01-01T10:01", "2016-01-03T00:05", "2016-01-07T23:59"]
    s = _states(t, dst=[-10.0, -60.0, -49.0, np.nan])
    span = data_span(s, storm_dst_nt=-50.0)
    assert span["start"] == pd.Timestamp("2016-01-01T09:59")
    assert span["end"] == pd.Timestamp("2016-01-08T00:00")
    assert (span["n_windows"], span["n_days"], span["n_storm_days"]) == (4, 3, 1)


def test_interval_keeps_its_windows_in_order_and_breaks_lines_at_gaps():
    t = pd.date_range("2016-01-01T00:00", periods=10, freq="60s").append(
        pd.date_range("2016-01-01T01:00", periods=5, freq="60s"))
    s = _states(t, B_mean=np.arange(15.0), code=np.arange(15) % 3, sw_pdyn=2.0, imf_bz_gsm=-3.0)
    out = interval(s, "2016-01-01T00:02", "2016-01-01T01:03")
    real = out[out["code"] >= 0]
    assert list(real["B_mean"]) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    gap = out[out["code"] < 0]
    assert len(gap) == 1 and np.isnan(gap["B_mean"].iloc[0])
    assert pd.Timestamp("2016-01-01T00:09") < gap["time"].iloc[0] < pd.Timestamp("2016-01-01T01:00")
    assert out["time"].is_monotonic_increasing
    assert out.attrs["n_windows"] == 11 and out.attrs["sw_pdyn_median"] == 2.0
    with pytest.raises(ValueError, match="after its start"):
        interval(s, "2016-01-02", "2016-01-01")


def test_cell_intervals_are_runs_of_one_spacecraft():
    t = (list(pd.date_range("2016-01-01T00:00", periods=4, freq="60s"))
         + list(pd.date_range("2016-01-01T00:10", periods=2, freq="120s"))
         + list(pd.date_range("2016-01-01T00:00", periods=3, freq="60s")))
    s = _states(t, code=[1, 1, 2, 1, 0, 0, 2, 2, 2], dst=[-5, -7, -6, -5, -60, -70, 1, 2, 3],
                x_gsm=1.0, y_gsm=2.0, z_gsm=3.0,
                probe=["mms1"] * 6 + ["mms2"] * 3, mission="MMS")
    runs = cell_intervals(s, np.arange(len(s)), names=["a", "b", "c"])
    assert list(runs["windows"]) == [4, 3, 2]
    first = runs.iloc[0]
    assert first["start"] == pd.Timestamp("2015-12-31T23:59") and first["end"] == pd.Timestamp(
        "2016-01-01T00:04")
    assert (first["regime"], first["regime_name"], first["probe"]) == (1, "b", "mms1")
    assert first["dst_min"] == -7 and first["dst_mean"] == pytest.approx(-5.75)
    assert list(runs["probe"]) == ["mms1", "mms2", "mms1"]
    assert runs.iloc[2]["dst_min"] == -70 and runs.iloc[2]["minutes"] == pytest.approx(4.0)
    assert cell_intervals(s, []).empty


@pytest.mark.parametrize("time", ["2015-06-21T16:50", "2015-12-21T04:50", "2016-03-20T12:00"])
def test_magnetic_local_time_of_the_gsm_axes(time):
    """Whatever the dipole tilt: the Sun-Earth line is noon and midnight, +y dusk (18 h),
    -y dawn (6 h)."""
    t = np.array([time] * 4, dtype="datetime64[ns]")
    x = np.array([5.0, -5.0, 0.0, 0.0])
    y = np.array([0.0, 0.0, 5.0, -5.0])
    mlt = magnetic_local_time(x, y, np.zeros(4), t)
    np.testing.assert_allclose(mlt, [12.0, 0.0, 18.0, 6.0], atol=1e-9)


def test_northern_summer_tilt_puts_points_above_the_gsm_equator_on_the_night_side():
    """Near the June solstice at ~17 UT the north dipole pole leans ~33° towards the Sun: a
    point straight above Earth in GSM lies on the night side of the SM equator (MLT 0);
    in December the other way round (noon)."""
    t = np.array(["2015-06-21T16:50", "2015-12-21T04:50"], dtype="datetime64[ns]")
    mlt = magnetic_local_time(np.zeros(2), np.zeros(2), np.full(2, 5.0), t)
    assert mlt[0] % 24 == pytest.approx(0.0, abs=1e-6) or mlt[0] == pytest.approx(24.0)
    assert mlt[1] == pytest.approx(12.0)


def test_regime_map_bins_counts_and_dominant():
    names = ["solar wind", "magnetosheath", "lobe"]
    u = np.array([0.5, 0.6, 0.7, 1.5, 23.9, 23.5])
    v = np.array([10.2, 10.8, 10.1, 10.5, 3.0, 3.5])
    codes = np.array([1, 1, 0, 2, 0, 0])
    m = regime_map(u, v, codes, names, "mlt_r", min_count=3).set_index(["u0", "v0"])
    assert m.loc[(0.0, 10.0), "windows"] == 3
    assert m.loc[(0.0, 10.0), "dominant"] == 1 and m.loc[(0.0, 10.0), "fraction"] == pytest.approx(2 / 3)
    assert m.loc[(0.0, 10.0), "w0"] == 1 and not m.loc[(0.0, 10.0), "low_count"]
    assert m.loc[(23.0, 3.0), "windows"] == 2 and m.loc[(23.0, 3.0), "low_count"]
    assert m.loc[(1.0, 10.0), "regime"] == "lobe"
    only = regime_map(u, v, codes, names, "mlt_r", rows=[3], min_count=1)
    assert len(only) == 1 and only["windows"].sum() == 1
    with pytest.raises(ValueError):
        regime_map(u, v, codes, names, "polar")


def test_x_rho_coordinates():
    s = _states(["2016-01-01"] * 2, x_gsm=[3.0, -4.0], y_gsm=[3.0, 0.0], z_gsm=[4.0, -2.0])
    u, v = map_coordinates(s, "x_rho")
    np.testing.assert_allclose(u, [3.0, -4.0])
    np.testing.assert_allclose(v, [5.0, 2.0])


def test_feature_labels_and_quantiles():
    assert feature_label("n_mean") == "n [cm⁻³]"
    assert feature_label("beta_std") == "σ(β)"
    assert feature_label("B_std") == "σ(|B|) [nT]"
    assert "ion temperature" in feature_label("T_mean", long=True)
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"n_mean": rng.lognormal(0, 1, 200), "Bz_mean": rng.normal(0, 5, 200)})
    a.loc[0, "n_mean"] = -1.0  # not positive: no place on a log axis
    q = feature_quantiles({"all": a, "half": a.iloc[:100]}, features=["n_mean", "Bz_mean"])
    row = q[(q["feature"] == "n_mean") & (q["group"] == "all")].iloc[0]
    want = np.quantile(a["n_mean"][a["n_mean"] > 0], [0.05, 0.5, 0.95])
    assert row["n"] == 199 and row["log"]
    np.testing.assert_allclose([row["q05"], row["q50"], row["q95"]], want)
    assert set(q["group"]) == {"all", "half"}


def test_regime_medians_read_like_a_physicist_writes_them():
    summary = pd.DataFrame({"n": [0.3], "T": [4100.0], "B": [28.0], "V": [40.0],
                            "x_gsm": [-3.2], "r": [8.1]})
    assert regime_medians(summary) == ["n 0.3 cm⁻³, T 4.1 keV, |B| 28 nT, |V| 40 km/s, "
                                       "x −3.2, r 8.1 R_E"]


def test_cell_intervals_view_says_so_when_a_condition_leaves_no_visit(dashboard_atlas):
    """The interval list of a cell under a condition without windows there is an empty list and
    a sentence (it raised on the empty frame's time columns, and the view stopped updating)."""
    from dashboard.filters import Filters
    from dashboard.store import DataStore
    from dashboard.views.cell_intervals import CellIntervalsView

    store, f = DataStore.open(dashboard_atlas), Filters()
    view = CellIntervalsView(store=store, filters=f)
    f.cell = int(store.states["leaf"].value_counts().index[0])
    assert "visits** to cell" in view._note.object
    f.param.update(mode="range", show="storm", storm_dst=(-500.0, -499.0))  # no window there
    assert view._note.object.startswith(f"No visit to cell {f.cell}")
    assert len(view._table.value) == 0

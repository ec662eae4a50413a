"""Windowing: analytic cases, the validity rule, alignment, truth majority, and the real burst
pair against an independent pandas computation from the raw CDF arrays."""

from __future__ import annotations

import cdflib
import numpy as np
import pandas as pd
import pytest

from atlas_core.pipeline import ingest
from atlas_core.sources.layout import sdc_relpath
from atlas_core.sources.mms import read_fgm, read_fpi_dis
from atlas_core.states import COLUMNS, FEATURES, make_states, read_states, validate_states


def _beta_by_hand(b_nt, n_cm3, t_ev, v_kms):
    # SI by hand: mu0 = 4 pi 1e-7 (to 1e-10), m_p, e (CODATA)
    p_th = n_cm3 * 1e6 * t_ev * 1.602176634e-19
    p_dyn = 1.67262192369e-27 * n_cm3 * 1e6 * (v_kms * 1e3) ** 2
    return (p_th + p_dyn) / ((b_nt * 1e-9) ** 2 / (2 * 4e-7 * np.pi))


def test_constant_plasma_gives_analytic_features(tmp_path, make_day):
    make_day(tmp_path / "a", "2015-10-20", hours=(10, 12), fgm_cadence_s=8.0)
    ingest(tmp_path / "a", tmp_path / "s", progress=False)
    df = validate_states(read_states(tmp_path / "s"))
    assert list(df.columns[: len(COLUMNS)]) == COLUMNS
    # FPI 10:00:00-11:59:55.5: window centres 10:01 ... 11:59 (10:00 has only 6 bins)
    assert len(df) == 119
    assert df["time"].iloc[0] == pd.Timestamp("2015-10-20T10:01")
    assert (df["time"].dt.second == 0).all() and df["time"].is_monotonic_increasing
    row = df.iloc[5]
    assert row["B_mean"] == pytest.approx(13.0, rel=1e-6)
    assert row["Bz_mean"] == pytest.approx(12.0, rel=1e-6)
    assert row["n_mean"] == pytest.approx(5.0, rel=1e-6)
    assert row["T_mean"] == pytest.approx(100.0, rel=1e-6)
    assert row["V_mean"] == pytest.approx(400.0, rel=1e-6)
    assert row["Vx_mean"] == pytest.approx(-400.0, rel=1e-6)
    assert row["beta_mean"] == pytest.approx(_beta_by_hand(13.0, 5.0, 100.0, 400.0), rel=1e-6)
    assert row["beta_mean"] == pytest.approx(21.09, abs=0.01)
    assert np.allclose(df[[f for f in FEATURES if f.endswith("_std")]], 0.0, atol=1e-4)
    # position: the ephemeris is constant (60000, 10000, 5000) km
    assert row["x_gsm"] == pytest.approx(60000 / 6371.2, rel=1e-6)
    assert (df["n_bins"] == 12).all() and (df["mission"] == "MMS").all()


def _synthetic(times_f, bz_f, times_p, n_p, start="2015-10-20T10:00"):
    """Datasets like the readers' from arrays (no files), for the rule tests."""
    import xarray as xr

    tf = np.asarray(times_f, "datetime64[ns]")
    b = np.column_stack([np.zeros(tf.size), np.zeros(tf.size), bz_f])
    ts = np.arange(np.datetime64(start, "ns"), np.datetime64(start, "ns") + np.timedelta64(1, "h"),
                   np.timedelta64(30, "s"))
    r = np.tile([7e4, 0, 0], (ts.size, 1))
    fgm = xr.Dataset(
        {"b_gsm": (("time", "component"), b), "b_total": ("time", np.abs(bz_f)),
         "r_gsm": (("time_state", "component"), r), "r_gse": (("time_state", "component"), r)},
        coords={"time": tf, "time_state": ts})
    tp = np.asarray(times_p, "datetime64[ns]")
    fpi = xr.Dataset(
        {"n": ("time", n_p), "v_gse": (("time", "component"), np.tile([-100.0, 0, 0], (tp.size, 1))),
         "t": ("time", np.full(tp.size, 50.0))}, coords={"time": tp})
    return fgm, fpi


def test_valid_bin_rule_and_gaps():
    t0 = np.datetime64("2015-10-20T10:00", "ns")
    sec = lambda s: t0 + (np.asarray(s) * 1e9).astype("timedelta64[ns]")  # noqa: E731
    tf = sec(np.arange(0, 1200, 1.0))
    # plasma every 5 s but a gap [300, 330) s: three empty bins
    ps = np.arange(0, 1200, 5.0)
    ps = ps[(ps < 300) | (ps >= 330)]
    fgm, fpi = _synthetic(tf, np.full(tf.size, 20.0), sec(ps), np.full(ps.size, 3.0))
    df = make_states(fgm, fpi, "2015-10-20", "2015-10-21")
    by_t = df.set_index("time")["n_bins"]
    # window centred 10:05 covers [10:04, 10:06): bins 300..330 s missing -> 12 - 3 = 9 (kept)
    assert by_t[pd.Timestamp("2015-10-20T10:05")] == 9
    assert by_t[pd.Timestamp("2015-10-20T10:06")] == 9
    # a 4-bin gap drops the windows that contain it (8 < 9)
    ps2 = ps[(ps < 600) | (ps >= 640)]
    fgm, fpi = _synthetic(tf, np.full(tf.size, 20.0), sec(ps2), np.full(ps2.size, 3.0))
    df2 = make_states(fgm, fpi, "2015-10-20", "2015-10-21")
    assert pd.Timestamp("2015-10-20T10:10") not in set(df2["time"])
    assert pd.Timestamp("2015-10-20T10:11") not in set(df2["time"])
    assert pd.Timestamp("2015-10-20T10:12") in set(df2["time"])


def test_std_is_population_std_over_bin_means():
    t0 = np.datetime64("2015-10-20T10:00", "ns")
    tf = t0 + (np.arange(0, 600, 0.5) * 1e9).astype("timedelta64[ns]")
    secs = np.arange(0, 600, 0.5)
    bz = 10.0 + secs / 10.0  # a ramp: bin means 10.25, 11.25, ... per 10 s bin
    tp = t0 + (np.arange(0, 600, 2.0) * 1e9).astype("timedelta64[ns]")
    fgm, fpi = _synthetic(tf, bz, tp, np.full(tp.size, 3.0))
    df = make_states(fgm, fpi, "2015-10-20", "2015-10-21").set_index("time")
    row = df.loc[pd.Timestamp("2015-10-20T10:05")]
    bins = 10.0 + (np.arange(240, 360, 10) + 4.75) / 10.0  # [10:04, 10:06)
    assert row["Bz_mean"] == pytest.approx(bins.mean())
    assert row["Bz_std"] == pytest.approx(bins.std(ddof=0))


def test_low_cadence_field_still_windows(tmp_path, make_day):
    # a synthetic archive may write FGM at 4.5 s: every 10 s bin still gets a sample
    make_day(tmp_path / "a", "2015-10-21", hours=(2, 4), fgm_cadence_s=4.5)
    rep = ingest(tmp_path / "a", tmp_path / "s", progress=False)
    assert rep.states == 119


def test_majority_truth_region():
    t0 = np.datetime64("2015-10-20T10:00", "ns")
    tf = t0 + (np.arange(0, 1200, 1.0) * 1e9).astype("timedelta64[ns]")
    tp = t0 + (np.arange(0, 1200, 4.5) * 1e9).astype("timedelta64[ns]")
    fgm, fpi = _synthetic(tf, np.full(tf.size, 20.0), tp, np.full(tp.size, 3.0))
    secs = (tp - t0).astype(np.int64) / 1e9
    region = np.where(secs < 400, "magnetosheath", "plasma_sheet")
    truth = pd.DataFrame({"time": tp, "region": region})
    df = make_states(fgm, fpi, "2015-10-20", "2015-10-21", truth=truth).set_index("time")
    assert df.loc[pd.Timestamp("2015-10-20T10:03"), "region"] == "magnetosheath"
    # window [10:06, 10:08) = 360..480 s: 40 s sheath, 80 s plasma sheet
    assert df.loc[pd.Timestamp("2015-10-20T10:07"), "region"] == "plasma_sheet"
    assert df.loc[pd.Timestamp("2015-10-20T10:15"), "region"] == "plasma_sheet"


def _independent_windows(fgm_path, fpi_path):
    """Windows from the raw arrays with pandas, written without atlas_core."""
    f = cdflib.CDF(str(fgm_path))
    tf = cdflib.cdfepoch.to_datetime(f.varget("Epoch"))
    b = f.varget("mms1_fgm_b_gsm_brst_l2").astype(float)
    field = pd.DataFrame({"B": b[:, 3], "Bz": b[:, 2]}, index=pd.DatetimeIndex(tf))
    p = cdflib.CDF(str(fpi_path))
    # FPI's Epoch is the start of each accumulation ("begin-time"): its centre is half of
    # Epoch_plus_var (0.15 s in burst) later
    half = (float(p.varget("Epoch_plus_var")) - float(p.varget("Epoch_minus_var"))) / 2
    tp = pd.DatetimeIndex(cdflib.cdfepoch.to_datetime(p.varget("Epoch"))) + pd.to_timedelta(
        round(half * 1e9), "ns")
    v = p.varget("mms1_dis_bulkv_gse_brst").astype(float)
    tpar = p.varget("mms1_dis_temppara_brst").astype(float)
    tperp = p.varget("mms1_dis_tempperp_brst").astype(float)
    plasma = pd.DataFrame({"n": p.varget("mms1_dis_numberdensity_brst").astype(float),
                           "T": (tpar + 2 * tperp) / 3, "V": np.sqrt((v**2).sum(1)),
                           "Vx": v[:, 0]}, index=pd.DatetimeIndex(tp))
    bf = field.resample("10s").mean()
    bp = plasma.resample("10s").mean()
    bins = bf.join(bp, how="inner").dropna()
    bins["beta"] = _beta_by_hand(bins["B"], bins["n"], bins["T"], bins["V"])
    out = {}
    for centre in pd.date_range("2015-10-16T13:04", "2015-10-16T13:09", freq="1min"):
        w = bins[(bins.index >= centre - pd.Timedelta("60s"))
                 & (bins.index < centre + pd.Timedelta("60s"))]
        if len(w) >= 9:
            feats = {}
            for q in ["B", "Bz", "n", "T", "V", "Vx", "beta"]:
                feats[f"{q}_mean"] = w[q].mean()
                feats[f"{q}_std"] = w[q].std(ddof=0)
            feats["n_bins"] = len(w)
            out[centre] = feats
    return pd.DataFrame(out).T


def test_real_burst_ingest_matches_independent_windows(real_data, tmp_path):
    names = ["mms1_fgm_brst_l2_20151016130524_v4.18.1.cdf",
             "mms1_fpi_brst_l2_dis-moms_20151016130524_v3.3.0.cdf"]
    for name in names:
        dest = tmp_path / "mms" / sdc_relpath(name)
        dest.parent.mkdir(parents=True)
        dest.symlink_to(real_data / "mms" / name)
    from atlas_core.cli import main

    dst = real_data / "indices" / "kyoto_dst_final_2015_2016.txt"
    rc = main(["ingest", "--data", str(tmp_path / "mms"), "--dst", str(dst), "--out",
               str(tmp_path / "states"), "--fgm-rate", "brst", "--fpi-rate", "brst",
               "--no-progress"])
    assert rc == 0
    df = validate_states(read_states(tmp_path / "states")).set_index("time")
    ref = _independent_windows(real_data / "mms" / names[0], real_data / "mms" / names[1])
    assert list(df.index) == list(ref.index) == [pd.Timestamp("2015-10-16T13:06"),
                                                 pd.Timestamp("2015-10-16T13:07")]
    for col in ref.columns:
        np.testing.assert_allclose(df[col].to_numpy(float), ref[col].to_numpy(float),
                                   rtol=1e-5, err_msg=col)
    # a magnetopause crossing: Bz changes sign inside the first window (large std)
    assert df["Bz_std"].iloc[0] > 10
    assert (df["dst"] == -20).all() and "ddst_dt" in df
    # the position: ~10.8 R_E on the dayside flank (FGM ephemeris), GSE from the file
    assert 8 < df["x_gsm"].iloc[0] < 9 and 8 < df["y_gse"].iloc[0] < 9
    # readers and the test's raw arrays agree on the sample count
    assert read_fgm(real_data / "mms" / names[0]).sizes["time"] == 17792
    assert read_fpi_dis(real_data / "mms" / names[1]).sizes["time"] == 932

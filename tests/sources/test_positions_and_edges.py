"""Positions (MEC preferred over the FGM ephemeris) and the day
boundary (the first window of a day uses the last minute of the day before)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cdflib.cdfwrite import CDF
from mms_testfiles import REAL4, TT2000, fgm_name, fpi_name, tt2000, write_fgm, write_fpi

from atlas_core.physics.coordinates import gsm_to_gse
from atlas_core.pipeline import ingest
from atlas_core.sources.layout import sdc_relpath
from atlas_core.sources.mms import read_mec
from atlas_core.states import read_states


def _write_mec(path, times, r_gsm_km, r_gse_km):
    path.parent.mkdir(parents=True, exist_ok=True)
    cdf = CDF(str(path), cdf_spec={"Checksum": True}, delete=True)
    cdf.write_globalattrs({"Logical_source": {0: "mms1_mec_srvy_l2_epht89d"}})
    spec = {"Num_Elements": 1, "Rec_Vary": True}
    cdf.write_var({**spec, "Variable": "Epoch", "Data_Type": TT2000, "Dim_Sizes": []},
                  var_attrs={}, var_data=tt2000(times))
    for name, r in (("mms1_mec_r_gsm", r_gsm_km), ("mms1_mec_r_gse", r_gse_km)):
        cdf.write_var({**spec, "Variable": name, "Data_Type": REAL4, "Dim_Sizes": [3]},
                      var_attrs={"FILLVAL": np.float32(-1e31), "UNITS": "km"},
                      var_data=np.asarray(r, np.float32))
    cdf.close()


def _day_of_data(root, day, fpi_hours, fgm_cadence_s=8.0):
    d0 = np.datetime64(day, "ns")
    tf = d0 + (np.arange(0, 86400, fgm_cadence_s) * 1e9).astype("timedelta64[ns]")
    write_fgm(root / sdc_relpath(fgm_name(day)), tf, np.tile([0.0, 0.0, 10.0], (tf.size, 1)),
              t_state=np.arange(d0, d0 + np.timedelta64(1, "D"), np.timedelta64(30, "s")))
    for h in fpi_hours:
        secs = np.arange(h * 3600, (h + 2) * 3600, 4.5)
        tp = d0 + (secs * 1e9).astype("timedelta64[ns]")
        m = tp.size
        start = str(d0.astype("datetime64[s]") + np.timedelta64(h * 3600, "s"))
        write_fpi(root / sdc_relpath(fpi_name(start)), tp, np.full(m, 2.0),
                  np.tile([-50.0, 0, 0], (m, 1)), np.full(m, 1000.0), np.full(m, 1000.0))


def test_first_window_of_a_day_uses_the_day_before(tmp_path):
    _day_of_data(tmp_path / "a", "2015-10-20", [22])
    _day_of_data(tmp_path / "a", "2015-10-21", [0])
    rep = ingest(tmp_path / "a", tmp_path / "s", progress=False)
    df = read_states(tmp_path / "s").set_index("time")
    midnight = pd.Timestamp("2015-10-21T00:00")
    assert midnight in df.index and df.loc[midnight, "n_bins"] == 12
    # continuous data 22:00 -> 02:00 gives every window once: 22:01 ... 01:59
    expected = pd.date_range("2015-10-20T22:01", "2015-10-21T01:59", freq="1min")
    assert list(df.index) == list(expected)
    assert rep.states == len(expected)


def test_mec_positions_preferred_and_gse_derived(tmp_path):
    day = "2015-10-22"
    _day_of_data(tmp_path / "a", day, [10])
    d0 = np.datetime64(day, "ns")
    tm = np.arange(d0, d0 + np.timedelta64(1, "D"), np.timedelta64(30, "s"))
    gsm = np.tile([-120000.0, 30000.0, 6000.0], (tm.size, 1))
    gse = gsm_to_gse(gsm, tm)
    mec = tmp_path / "a" / sdc_relpath(f"mms1_mec_srvy_l2_epht89d_{day.replace('-', '')}_v2.1.0.cdf")
    _write_mec(mec, tm, gsm, gse)
    ds = read_mec(mec)
    assert ds["r_gsm"].attrs["units"] == "km" and ds.sizes["time"] == tm.size
    ingest(tmp_path / "a", tmp_path / "s", progress=False)
    df = read_states(tmp_path / "s")
    assert df["x_gsm"].iloc[0] == pytest.approx(-120000.0 / 6371.2, rel=1e-6)
    # GSE from the MEC file (it rotates with the dipole tilt over the day), not from FGM
    at = int(np.searchsorted(tm, df["time"].iloc[0].to_datetime64()))
    np.testing.assert_allclose(df[["x_gse", "y_gse", "z_gse"]].iloc[0], gse[at] / 6371.2,
                               rtol=2e-3)



def test_partial_mec_falls_back_to_fgm_and_missing_ephemeris_is_reported(tmp_path):
    day = "2015-10-23"
    _day_of_data(tmp_path / "a", day, [10])
    d0 = np.datetime64(day, "ns")
    # MEC covers 10:00-11:00 only; the FGM ephemeris (60000, 10000, 5000) km the rest
    tm = np.arange(d0 + np.timedelta64(10, "h"), d0 + np.timedelta64(11, "h"),
                   np.timedelta64(30, "s"))
    gsm = np.tile([-120000.0, 30000.0, 6000.0], (tm.size, 1))
    mec = tmp_path / "a" / sdc_relpath(f"mms1_mec_srvy_l2_epht89d_{day.replace('-', '')}_v2.1.0.cdf")
    _write_mec(mec, tm, gsm, gsm)
    ingest(tmp_path / "a", tmp_path / "s", progress=False)
    df = read_states(tmp_path / "s").set_index("time")
    assert df.loc[pd.Timestamp(f"{day}T10:30"), "x_gsm"] == pytest.approx(-120000 / 6371.2)
    assert df.loc[pd.Timestamp(f"{day}T11:30"), "x_gsm"] == pytest.approx(60000 / 6371.2)
    assert len(df) == 119


def test_windows_without_ephemeris_are_dropped_and_reported(tmp_path):
    day = "2015-10-24"
    d0 = np.datetime64(day, "ns")
    tf = d0 + (np.arange(0, 86400, 8.0) * 1e9).astype("timedelta64[ns]")
    ts = np.arange(d0 + np.timedelta64(10, "h"), d0 + np.timedelta64(630, "m"),
                   np.timedelta64(30, "s"))  # ephemeris 10:00-10:29:30 only
    write_fgm(tmp_path / "a" / sdc_relpath(fgm_name(day)), tf,
              np.tile([0.0, 0.0, 10.0], (tf.size, 1)), t_state=ts)
    tp = d0 + (np.arange(10 * 3600, 12 * 3600, 4.5) * 1e9).astype("timedelta64[ns]")
    m = tp.size
    write_fpi(tmp_path / "a" / sdc_relpath(fpi_name(f"{day}T10")), tp, np.full(m, 2.0),
              np.tile([-50.0, 0, 0], (m, 1)), np.full(m, 1000.0), np.full(m, 1000.0))
    rep = ingest(tmp_path / "a", tmp_path / "s", progress=False)
    df = read_states(tmp_path / "s")
    # bins within 90 s of the last ephemeris point (10:29:30) still get a position, so the
    # window [10:30, 10:32) is placed from its first six bins; later ones are dropped
    assert df["time"].max() == pd.Timestamp(f"{day}T10:31")
    note = [e for e in rep.skipped_files if e["file"] == f"day {day}"]
    assert note and "no ephemeris position" in note[0]["error"]
    assert rep.states + int(note[0]["error"].split()[0]) == 119

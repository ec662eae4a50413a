"""Time tags on the real MMS files: FPI tags the start of each accumulation, FGM the centre;
the readers centre both from the file's own DELTA_PLUS_VAR / DELTA_MINUS_VAR, and the state
windows bin a sample by its centre."""

from __future__ import annotations

import cdflib
import numpy as np
import pandas as pd
import pytest
from mms_testfiles import write_fgm

from atlas_core.sources.mms import read_fgm, read_fpi_dis, read_mec
from atlas_core.states import make_states
from atlas_core.synth import writer


def _raw_epoch(path) -> np.ndarray:
    return np.asarray(cdflib.cdfepoch.to_datetime(cdflib.CDF(str(path)).varget("Epoch")),
                      dtype="datetime64[ns]")


def _half_width_ns(path) -> int:
    """(Epoch_plus_var - Epoch_minus_var) / 2 read straight from the file with cdflib."""
    raw = cdflib.CDF(str(path))
    plus = float(raw.varget(raw.varattsget("Epoch")["DELTA_PLUS_VAR"]))
    minus = float(raw.varget(raw.varattsget("Epoch")["DELTA_MINUS_VAR"]))
    return round((plus - minus) / 2 * 1e9)


@pytest.mark.parametrize("hour", ["04", "06", "08", "10", "12", "14", "16"])
def test_fpi_fast_tags_move_to_the_accumulation_centre(real_data, hour):
    """FPI fast survey: Epoch is the start of a 4.5 s accumulation (VAR_NOTES "begin-time",
    Epoch_plus_var = 4.5 s, Epoch_minus_var = 0), so every moment moves 2.25 s later."""
    path = real_data / "mms" / f"mms1_fpi_fast_l2_dis-moms_20151017{hour}0000_v3.4.0.cdf"
    assert "begin-time" in cdflib.CDF(str(path)).varattsget("Epoch")["VAR_NOTES"]
    assert _half_width_ns(path) == 2_250_000_000
    ds = read_fpi_dis(path)
    raw = _raw_epoch(path)
    assert ds.sizes["time"] == raw.size
    np.testing.assert_array_equal(ds["time"].values - raw, np.timedelta64(2_250_000_000, "ns"))
    assert ds.attrs["time_offset_s"] == pytest.approx(2.25)


def test_fpi_burst_tags_move_by_half_of_150_ms(real_data):
    path = real_data / "mms" / "mms1_fpi_brst_l2_dis-moms_20151016130524_v3.3.0.cdf"
    ds = read_fpi_dis(path)
    shift = ds["time"].values - _raw_epoch(path)
    assert np.all(shift == shift[0])
    assert shift[0] / np.timedelta64(1, "ms") == pytest.approx(75.0, abs=1e-3)


@pytest.mark.parametrize("name", ["mms1_fgm_brst_l2_20151016130524_v4.18.1.cdf",
                                  "mms1_fgm_brst_l2_20161209090054_v5.87.0.cdf"])
def test_fgm_tags_are_centred_already(real_data, name):
    """FGM's Epoch is "Interval centered": both DELTA attributes name one bdeltahalf
    variable, so the tags stay as written."""
    path = real_data / "mms" / name
    atts = cdflib.CDF(str(path)).varattsget("Epoch")
    assert atts["DELTA_PLUS_VAR"] == atts["DELTA_MINUS_VAR"]
    ds = read_fgm(path)
    np.testing.assert_array_equal(ds["time"].values, _raw_epoch(path))
    assert ds.attrs["time_offset_s"] == 0.0


def test_mec_without_delta_attributes_is_unchanged(real_data):
    path = real_data / "mms" / "mms1_mec_brst_l2_epht89q_20161209090055_v2.2.0.cdf"
    ds = read_mec(path)
    raw = _raw_epoch(path)
    np.testing.assert_array_equal(ds["time"].values, raw[np.argsort(raw, kind="stable")])


def test_windows_bin_fpi_samples_by_their_centre(tmp_path):
    """A density step at 10:05:00 in accumulation *centres*: the window centred on 10:05 then
    holds six pure bins either side, n = 1 and n = 100 cm^-3, so its mean is 50.5 and its std
    49.5 exactly. The sample tagged 10:04:58 (start) is centred at 10:05:00.25: left at its
    tag it would fall in the 10:04:50 bin and mix it."""
    t0 = np.datetime64("2015-10-20T10:00", "ns")
    start = t0 + (np.arange(1.0, 600.0, 4.5) * 1e9).astype("timedelta64[ns]")
    centre = start + np.timedelta64(2_250_000_000, "ns")
    n = np.where(centre >= t0 + np.timedelta64(300, "s"), 100.0, 1.0).astype(np.float32)
    m = start.size
    fpi_path = tmp_path / "mms1_fpi_fast_l2_dis-moms_20151020100000_v3.4.0.cdf"
    writer.write_fpi_dis(fpi_path, "3.4.0", writer.tt2000(start), n,
                         np.tile(np.float32([-300, 0, 0]), (m, 1)), np.full(m, 100, np.float32),
                         np.full(m, 100, np.float32), np.zeros(m, np.uint32))
    tf = t0 + (np.arange(0, 600, 1.0) * 1e9).astype("timedelta64[ns]")
    fgm_path = write_fgm(tmp_path / "mms1_fgm_srvy_l2_20151020_v4.18.0.cdf", tf,
                         np.tile([0.0, 0.0, 20.0], (tf.size, 1)))
    df = make_states(read_fgm(fgm_path), read_fpi_dis(fpi_path), "2015-10-20",
                     "2015-10-21").set_index("time")
    row = df.loc[pd.Timestamp("2015-10-20T10:05")]
    assert row["n_mean"] == pytest.approx(50.5, rel=1e-6)
    assert row["n_std"] == pytest.approx(49.5, rel=1e-6)

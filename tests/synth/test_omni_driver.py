"""`atlas synth --omni`: the archive driven by the real OMNI2 hourly file of 2015."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from atlas_core.sources.indices import read_dst_wdc, read_omni2
from atlas_core.synth.driver import driver_from_omni


@pytest.fixture(scope="module")
def omni_2015(real_data):
    return real_data / "indices" / "omni2_2015.dat"


def test_driver_follows_the_real_hourly_values(omni_2015):
    """Minutes interpolate linearly between hour centres (hh:30), so the mean of an hour's
    60 minutes (hh:00 .. hh:59) is 0.75 v_k + (7.75 v_k-1 + 7.25 v_k+1) / 60 of the real
    hourly values; Dst is OMNI's."""
    real = read_omni2(omni_2015)
    drv = driver_from_omni([omni_2015], "2015-10-16", "2015-10-19", seed=0)
    hours = pd.date_range("2015-10-16", "2015-10-19", freq="h", inclusive="left")
    assert drv.n.size == 3 * 1440 and drv.dst_hourly.size == hours.size
    np.testing.assert_array_equal(drv.dst_hourly, real["dst"].reindex(hours).to_numpy())
    for col, series in (("sw_n", drv.n), ("sw_v", drv.v), ("na_np", drv.alpha_ratio)):
        v = real[col].reindex(pd.date_range("2015-10-15T23", "2015-10-19T00", freq="h"))
        v = v.to_numpy()
        assert np.isfinite(v).all()  # no gap in these days
        want = 0.75 * v[1:-1] + (7.75 * v[:-2] + 7.25 * v[2:]) / 60
        got = np.asarray(series, float).reshape(-1, 60).mean(axis=1)
        np.testing.assert_allclose(got[1:-1], want[1:-1], rtol=1e-5)  # float32 series
    # ... the He++/H+ ratio (word 28) too: it enters the pressure, as in OMNI's word 29


def test_archive_from_omni_writes_the_real_solar_wind(omni_2015, tmp_path):
    from atlas_core.synth import generate_archive

    meta = generate_archive(tmp_path, "2015-10-16", "2015-10-19", seed=0, workers=1,
                            progress=False, omni=[omni_2015], block_availability=1.0)
    assert meta["driver"].startswith("omni:") and meta["days_with_data"] == 3
    real = read_omni2(omni_2015).loc["2015-10-16":"2015-10-18"]
    written = read_omni2(tmp_path / "indices" / "omni2_2015.dat").reindex(real.index)
    np.testing.assert_array_equal(
        read_dst_wdc(tmp_path / "indices" / "dst_2015.wdc")["dst"].reindex(real.index),
        real["dst"])
    for col in ("sw_n", "sw_v", "sw_pdyn"):
        rel = np.abs(written[col] / real[col] - 1)
        assert rel.median() < 0.03, col
    # the OMNI pressure definition carries through: word 29 vs words 24, 25, 28 as written
    from atlas_core.physics.boundaries import dynamic_pressure_npa

    np.testing.assert_allclose(written["sw_pdyn"], dynamic_pressure_npa(
        written["sw_n"], written["sw_v"], written["na_np"]), rtol=0.02, atol=0.01)


def test_a_span_the_file_does_not_cover_is_refused(omni_2015, tmp_path, capsys):
    from atlas_core.cli import main

    with pytest.raises(ValueError, match="cover 2015-01-01"):
        driver_from_omni([omni_2015], "2016-01-01", "2016-01-02")
    assert main(["synth", "--start", "2016-01-01", "--end", "2016-01-02", "--omni",
                 str(omni_2015), "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert main(["synth", "--start", "2015-10-17", "--end", "2015-10-18", "--omni",
                 str(omni_2015), "--out", str(tmp_path / "y"), "--workers", "1",
                 "--no-progress"]) == 0
    assert "real OMNI2 solar wind and Dst" in capsys.readouterr().out
    assert json.loads((tmp_path / "y" / "archive.json").read_text())["driver"].startswith("omni:")

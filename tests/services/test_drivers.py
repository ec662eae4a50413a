"""Driver files -> conditions: the real OMNI HRO 1-min CDF, real OMNI2 and Kyoto Dst files,
checked against values read independently (cdflib, the Kyoto storm minimum in the README)."""

from __future__ import annotations

import os

import cdflib
import numpy as np
import pytest

from atlas_core.service.drivers import drivers_at, file_kind, read_drivers
from atlas_core.service.files import FileAccessError, checked_file
from atlas_core.sources.cdf import SourceError
from atlas_core.sources.omni_hro import read_omni_hro

HRO = "indices/omni_hro2s_1min_20130528000000_20130905000000_cdaweb.cdf"


@pytest.fixture(scope="module")
def hro(real_data):
    return read_omni_hro(real_data / HRO)


def test_hro_reader_matches_raw_cdf_and_rotates_bz(real_data, hro):
    raw = cdflib.CDF(str(real_data / HRO))
    sym = raw.varget("SYM_H").astype(float)
    pres = raw.varget("Pressure").astype(float)
    by, bz = raw.varget("BY_GSE").astype(float), raw.varget("BZ_GSE").astype(float)
    assert len(hro) == sym.size == 144001
    ok = sym != 99999
    np.testing.assert_array_equal(hro["sym_h"].to_numpy()[ok], sym[ok])
    fill = np.isclose(pres, 99.99)
    assert np.isnan(hro["sw_pdyn"].to_numpy()[fill]).all()
    np.testing.assert_allclose(hro["sw_pdyn"].to_numpy()[~fill], pres[~fill], rtol=1e-6)
    # GSE -> GSM is a rotation about X: |Bz_GSM| <= |(By, Bz)_GSE|, and Bz stays close to Bz GSE
    good = (np.abs(by) < 999) & (np.abs(bz) < 999)
    bz_gsm = hro["imf_bz_gsm"].to_numpy()[good]
    assert np.all(np.abs(bz_gsm) <= np.hypot(by[good], bz[good]) + 1e-4)
    assert np.corrcoef(bz_gsm, bz[good])[0, 1] > 0.8
    assert not np.allclose(bz_gsm, bz[good])  # it was rotated (the dipole tilts by up to ~35 deg)


def test_hourly_drivers_from_hro_use_symh_for_dst(real_data):
    table = read_drivers([real_data / HRO])
    assert table.attrs["dst_source"].startswith("SYM-H")
    v = drivers_at(table, "2013-06-01T06:30:00Z")
    hro = read_omni_hro(real_data / HRO).loc["2013-06-01 06:00":"2013-06-01 06:59"]
    assert v["sym_h"]["value"] == pytest.approx(hro["sym_h"].mean())
    assert v["sw_pdyn"]["value"] == pytest.approx(hro["sw_pdyn"].mean())
    assert v["dst"]["value"] == v["sym_h"]["value"] < -80  # the 2013-06-01 storm


def test_kyoto_storm_minimum_and_ddst(real_data):
    files = [real_data / "indices/omni2_2015.dat", real_data / "indices/kyoto_dst_final_2015_2016.txt"]
    assert [file_kind(f) for f in files] == ["omni2", "dst_wdc"]
    table = read_drivers(files)
    assert table.attrs["dst_source"] == "Kyoto WDC Dst"
    v = drivers_at(table, "2015-03-17T22:10Z")
    assert v["dst"]["value"] == -234.0          # README: storm minimum 2015-03-17, -234 nT
    dst = table["dst"]
    expected = (dst.loc["2015-03-17 23:00"] - dst.loc["2015-03-17 21:00"]) / 2
    assert v["ddst"]["value"] == pytest.approx(expected)
    assert {"imf_bz", "sw_pdyn", "sw_v"} <= set(v)
    # default time: the last hour every file covers (OMNI2 ends with 2015, Kyoto with 2016)
    assert str(drivers_at(table)["_time"]).startswith("2015-12-31 23")


def test_bad_driver_file_is_named(tmp_path):
    bad = tmp_path / "omni.cdf"
    bad.write_bytes(b"\xcd\xf3\x00\x01garbage")
    with pytest.raises(SourceError, match="omni.cdf"):
        read_drivers([bad])


def test_checked_file_refuses_paths_outside_the_roots(tmp_path):
    root = tmp_path / "allowed"
    root.mkdir()
    good = root / "omni.dat"
    good.write_text("x")
    (tmp_path / "secret.dat").write_text("no")
    os.symlink(tmp_path / "secret.dat", root / "link.dat")
    assert checked_file("omni.dat", [root]) == good.resolve()
    assert checked_file(str(good), [root]) == good.resolve()
    for bad in ("../secret.dat", str(tmp_path / "secret.dat"), "link.dat", "/etc/passwd",
                "nothere.dat", "", "a\x00b"):
        with pytest.raises(FileAccessError):
            checked_file(bad, [root])
    (root / "notes.py").write_text("x")
    with pytest.raises(FileAccessError, match="expected a file ending"):
        checked_file("notes.py", [root])
    with pytest.raises(FileAccessError, match="no directory"):
        checked_file("omni.dat", [])

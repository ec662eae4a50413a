"""THEMIS readers: the real THEMIS-A state file, and files the synthetic archive writes in the
CDAWeb layout (no real L2 FGM or moments file could be had)."""

from __future__ import annotations

import cdflib
import numpy as np
import pytest
from helpers import day_files

from atlas_core.physics.constants import R_E_KM
from atlas_core.sources import themis
from atlas_core.sources.cdf import SourceError
from atlas_core.sources.missions import read_source_day, scan_archive
from atlas_core.states import make_states
from atlas_core.synth import themis as synth_themis
from atlas_core.synth.driver import make_driver

STATE = "tha_l1_state_20100225.cdf"


@pytest.fixture(scope="module")
def state_file(real_data):
    path = real_data / "themis" / STATE
    if not path.is_file():
        pytest.skip("no real THEMIS state file")
    return path


def test_real_state_file(state_file):
    """1440 one-minute positions; GSM from the file's GSE with the project's transform agrees
    with THEMIS SOC's own GSM to within a kilometre (an independent check of GSE -> GSM)."""
    ds = themis.read_state(state_file)
    raw = cdflib.CDF(str(state_file))
    assert ds.sizes["time"] == 1440
    assert str(ds.time.values[0]) == "2010-02-25T00:00:00.000000000"
    assert str(ds.time.values[-1]) == "2010-02-25T23:59:00.000000000"
    # the epoch variable is virtual (no records): times come from the Unix-seconds variable
    assert raw.varattsget("tha_state_epoch")["VIRTUAL"] == "TRUE"
    np.testing.assert_allclose(ds["r_gse"].values, raw.varget("tha_pos_gse"), rtol=1e-7)
    diff = np.linalg.norm(ds["r_gsm"].values - raw.varget("tha_pos_gsm"), axis=1)
    assert diff.max() < 1.0  # km, at up to 11.6 R_E
    r = np.linalg.norm(ds["r_gse"].values, axis=1) / R_E_KM
    assert 1.0 < r.min() and 10.0 < r.max() < 13.0  # THEMIS-A: ~12 R_E apogee in 2010


def test_wrong_product_is_named(state_file):
    with pytest.raises(SourceError, match="expected fgm"):
        themis.read_fgm(state_file)


@pytest.fixture(scope="module")
def synth_days(tmp_path_factory):
    """Two days of THB, THC and THD in the 2008 tail season, and their states."""
    root = tmp_path_factory.mktemp("themis")
    drv = make_driver(np.datetime64("2008-02-20"), np.datetime64("2008-02-24"), 1)
    for day in ("2008-02-21", "2008-02-22"):
        sw = drv.slice(np.datetime64(day, "ns"), 1441)
        for probe in ("thb", "thc", "thd"):
            synth_themis.generate_day(day, root, 1, sw, probe)
    return root


def test_synthetic_files_read_back(synth_days):
    archive = scan_archive(synth_days)
    assert archive.skipped == []
    assert {p for m, p in archive.sources()} <= {"thb", "thc", "thd"}
    path = next(synth_days.rglob("thd_l2_fgm_20080221_v01.cdf"))
    fgm = themis.read_fgm(path)
    raw = cdflib.CDF(str(path))
    assert raw.varinq("thd_fgs_epoch").Last_Rec == -1  # virtual, as at CDAWeb
    b = raw.varget("thd_fgs_gsm").astype(float)
    q = raw.varget("thd_fgm_fgs_quality")
    good = q == 0
    np.testing.assert_allclose(fgm["b_gsm"].values[good], b[good], rtol=1e-6)
    assert np.isnan(fgm["b_gsm"].values[~good]).all()
    t = themis.unix_seconds_to_datetime64(raw.varget("thd_fgs_time"))
    np.testing.assert_array_equal(fgm.time.values, t)
    moms = sorted(synth_days.rglob("thd_l2_mom_*.cdf")) + sorted(synth_days.rglob("thd_l2_esa_*"))
    ds = themis.read_mom(moms[0]) if "_mom_" in moms[0].name else themis.read_esa(moms[0])
    assert ds["t"].attrs["units"] == "eV" and ds["n"].attrs["units"] == "cm^-3"
    np.testing.assert_allclose(ds["t"], (ds["t_para"] + 2 * ds["t_perp"]) / 3, rtol=1e-5)
    # V_x is frame-independent (GSE x = GSM x) and |V| too
    np.testing.assert_allclose(ds["v_gse"][:, 0], ds["v_gsm"][:, 0])
    np.testing.assert_allclose(np.linalg.norm(ds["v_gse"], axis=1),
                               np.linalg.norm(ds["v_gsm"], axis=1), rtol=1e-9)


def test_synthetic_state_file_has_the_real_layout(synth_days, state_file):
    """The synthetic state file carries the real file's position variables and attributes."""
    synth = cdflib.CDF(str(next(synth_days.rglob("thd_l1_state_*.cdf"))))
    real = cdflib.CDF(str(state_file))
    for name in ("pos", "pos_gse", "pos_gsm"):
        r_att = real.varattsget(f"tha_{name}")
        s_att = synth.varattsget(f"thd_{name}")
        for key in ("DEPEND_0", "DEPEND_TIME", "UNIT_PTR", "LABL_PTR_1", "COORDINATE_SYSTEM",
                    "VAR_TYPE", "FILLVAL"):
            assert key in s_att, (name, key)
            assert str(s_att[key]).replace("thd", "tha") == str(r_att[key]), (name, key)
        assert real.varinq(f"tha_{name}").Data_Type_Description == synth.varinq(
            f"thd_{name}").Data_Type_Description
    t_att = synth.varattsget("thd_state_time")
    assert t_att["UNITS"] == "sec" and t_att["VAR_NOTES"] == "Unleaped seconds"
    assert synth.globalattsget()["Logical_source"] == ["thd_l1_state"]


def test_synthetic_states_per_probe(synth_days):
    """States of every probe-day, positions on the probe's orbit (THB's apogee ~31 R_E in the
    tail in February 2008, THD's ~12 R_E)."""
    archive = scan_archive(synth_days)
    apogee = {}
    for mission, probe in archive.sources():
        for d in archive.days(mission, probe):
            rng = (d.astype("datetime64[ns]") - np.timedelta64(60, "s"),
                   (d + 1).astype("datetime64[ns]"))
            errors: list = []
            field, plasma, eph = read_source_day(mission, day_files(archive, mission, probe, d),
                                                 rng, errors)
            assert errors == []
            df = make_states(field, plasma, d, d + 1, positions=eph, mission=mission, probe=probe)
            assert (df["probe"] == probe).all() and (df["mission"] == "THEMIS").all()
            r = np.sqrt(df.x_gsm**2 + df.y_gsm**2 + df.z_gsm**2)
            apogee[probe] = max(apogee.get(probe, 0.0), float(r.max()) if len(r) else 0.0)
            assert (df["T_mean"] > 0).all() and (df["n_mean"] > 0).all()
    assert apogee.get("thb", 31) > 25 and apogee.get("thd", 11) < 13

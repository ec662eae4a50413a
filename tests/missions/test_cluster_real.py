"""Cluster readers and windows on the real CSA files in ../shared/real-data/cluster, checked
against an independent read of the same files (tests/missions/independent.py)."""

from __future__ import annotations

import cdflib
import numpy as np
import pytest
from helpers import day_files
from independent import MK_EV, read_cis, read_fgm, windows

from atlas_core.sources import cluster
from atlas_core.sources.missions import read_source_day, scan_archive
from atlas_core.states import make_states

DAYS = {  # day inside -> (FGM file, CIS file); the names span more than the day
    "2006-08-13": ("c1_cps_fgm_spin_20060812142632_20060814185651.cdf",
                   "c1_pps_cis_2006081242632_2006081485651.cdf"),
    "2006-09-01": ("c1_cps_fgm_spin_20060901000001_20060902235959.cdf",
                   "c1_pps_cis_2006090142632_2006093185651.cdf"),
    "2007-08-14": ("c1_cps_fgm_spin_20070813000001_20070815235959.cdf",
                   "c1_pps_cis_20070813142632_20070815185651.cdf"),
    "2008-08-22": ("c1_cps_fgm_spin_20080821000001_20080823235959.cdf",
                   "c1_pps_cis_20080821142632_20080823185651.cdf"),
}


@pytest.fixture(scope="module")
def cluster_dir(real_data):
    path = real_data / "cluster"
    if not path.is_dir():
        pytest.skip("no real Cluster files")
    return path


def test_time_tags_trap_and_content_dates(cluster_dir):
    """cdflib cannot convert the FGM time tags as stored; the reader can, and the data hold
    one day although the file names span three."""
    fgm = cluster_dir / DAYS["2006-08-13"][0]
    raw = cdflib.CDF(str(fgm)).varget("time_tags__C1_CP_FGM_SPIN")
    assert raw.shape[1:] == (1,)
    with pytest.raises((ValueError, TypeError)):
        cdflib.cdfepoch.to_datetime(raw)
    ds = cluster.read_fgm_spin(fgm)
    assert str(ds.time.values[0]).startswith("2006-08-13T00:00:02")
    assert str(ds.time.values[-1]).startswith("2006-08-13T23:59:57")
    assert ds.sizes["time"] == raw.shape[0] == 20747
    for day, (f, c) in DAYS.items():
        for name in (f, c):
            probe, product, t0, t1 = cluster.time_span(cluster_dir / name)
            assert probe == "c1" and str(t0)[:10] == day and str(t1)[:10] == day


@pytest.mark.parametrize("day", sorted(DAYS))
def test_reader_values_match_independent_read(cluster_dir, day):
    """Medians of n, T (eV), |B| and the GSE position: the reader against a raw read."""
    fgm_path, cis_path = (cluster_dir / n for n in DAYS[day])
    fgm, cis = cluster.read_fgm_spin(fgm_path), cluster.read_pp_cis(cis_path)
    raw_f, raw_c = read_fgm(fgm_path), read_cis(cis_path)
    assert fgm.sizes["time"] == len(raw_f) and cis.sizes["time"] == len(raw_c)
    np.testing.assert_allclose(float(cis["n"].median()), raw_c["n"].median(), rtol=1e-12)
    np.testing.assert_allclose(float(cis["t"].median()), raw_c["T"].median(), rtol=1e-12)
    np.testing.assert_allclose(float(fgm["b_total"].median()), raw_f["B"].median(), rtol=1e-12)
    np.testing.assert_allclose(np.median(fgm["r_gse"].values, axis=0),
                               raw_f[["X", "Y", "Z"]].median().to_numpy(), rtol=1e-12)
    # temperatures are MK in the file, eV here (1 MK = 86.17 eV)
    assert cis["t"].attrs["units"] == "eV" and abs(MK_EV - 86.173) < 1e-3
    raw_mk = cdflib.CDF(str(cis_path)).varget("T_HIA_par__C1_PP_CIS")
    good = raw_mk > -1e30
    np.testing.assert_allclose(cis["t_para"].values[good], raw_mk[good] * MK_EV, rtol=1e-6)
    # fill rows (-1e31) are NaN, and nothing else is
    n_fill = int((~good).sum())
    assert int(np.isnan(cis["n"].values).sum()) == n_fill + cis.attrs[
        "n_density_outside_valid_range"]


def test_fills_and_status(cluster_dir):
    """The 2006-08-13 CIS file has 104 fill rows (-1e31), flagged Status[0] = 2; none leak."""
    cis = cluster.read_pp_cis(cluster_dir / DAYS["2006-08-13"][1])
    raw = cdflib.CDF(str(cluster_dir / DAYS["2006-08-13"][1]))
    n = raw.varget("N_HIA__C1_PP_CIS")
    assert int((n < -1e30).sum()) == 104
    assert np.nanmin(cis["n"].values) > 0 and np.nanmin(cis["t"].values) > 0
    assert np.nanmax(np.abs(cis["v_gse"].values)) < 2000
    assert cis.attrs["density"] == "N_HIA" and cis.attrs["instrument"] == "CIS-HIA"


@pytest.mark.parametrize("day", sorted(DAYS))
def test_states_match_independent_windows(cluster_dir, day):
    """The state windows of a real Cluster day equal an independent pandas windowing of the
    same files: same windows, and every feature and position to rounding."""
    archive = scan_archive(cluster_dir)
    assert archive.sources() == [("Cluster", "c1")]
    d = np.datetime64(day, "D")
    rng = (d.astype("datetime64[ns]") - np.timedelta64(60, "s"), (d + 1).astype("datetime64[ns]"))
    errors: list = []
    field, plasma, eph = read_source_day("Cluster", day_files(archive, "Cluster", "c1", d),
                                         rng, errors)
    assert errors == []
    states = make_states(field, plasma, d, d + 1, positions=eph, mission="Cluster", probe="c1")
    ref = windows(read_fgm(cluster_dir / DAYS[day][0]), read_cis(cluster_dir / DAYS[day][1]), day)
    assert len(states) == len(ref) > 1300
    assert (states["mission"] == "Cluster").all() and (states["probe"] == "c1").all()
    merged = states.merge(ref, on="time", suffixes=("", "_ref"))
    assert len(merged) == len(ref)
    for col in ("n_mean", "T_mean", "B_mean", "Bz_mean", "V_mean", "Vx_mean", "beta_mean",
                "n_std", "T_std", "B_std"):
        # pandas' rolling std is a running sum: ~1e-8 absolute from cancellation
        atol = 1e-6 if col.endswith("_std") else 1e-9
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=1e-6, atol=atol,
                                   err_msg=col)
    for col in ("x_gsm", "y_gsm", "z_gsm"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], atol=1e-6, err_msg=col)
    # the medians the closing note quotes, to the value
    for col in ("n_mean", "T_mean", "B_mean", "x_gsm", "y_gsm", "z_gsm"):
        np.testing.assert_allclose(states[col].median(), ref[col].median(), rtol=1e-7)
    print(f"\n{day}: {len(states)} states; medians n {states.n_mean.median():.4f} cm^-3, "
          f"T {states.T_mean.median():.1f} eV, |B| {states.B_mean.median():.2f} nT, "
          f"GSM ({states.x_gsm.median():.3f}, {states.y_gsm.median():.3f}, "
          f"{states.z_gsm.median():.3f}) R_E")


def test_inspect_cluster_and_themis(real_data):
    """``atlas inspect`` summarises Cluster and THEMIS files (medians in eV, nT, R_E)."""
    from atlas_core.sources.inspect import inspect_file

    s = inspect_file(real_data / "cluster" / DAYS["2006-09-01"][1])
    assert s["mission"] == "Cluster" and s["product"] == "pp-cis" and s["probe"] == "c1"
    assert s["start"].startswith("2006-09-01") and s["records"] == 20726
    assert abs(s["medians"]["T"] - 275.28) < 0.01  # eV, from MK in the file
    f = inspect_file(real_data / "cluster" / DAYS["2006-09-01"][0])
    assert f["product"] == "fgm-spin" and abs(f["medians"]["B"] - 36.15) < 0.01
    t = inspect_file(real_data / "themis" / "tha_l1_state_20100225.cdf")
    assert t["mission"] == "THEMIS" and t["product"] == "state" and t["records"] == 1440

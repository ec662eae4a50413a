"""The synthetic Cluster archive: CSA layout like the real files, read back by the readers, and
an orbit that follows the real C1 on the day it was fitted to."""

from __future__ import annotations

import cdflib
import numpy as np
import pytest

from atlas_core.physics import coordinates
from atlas_core.physics.constants import R_E_KM
from atlas_core.sources import cluster
from atlas_core.sources.missions import scan_archive
from atlas_core.synth import cluster as synth_cluster
from atlas_core.synth.driver import make_driver

REAL_FGM = "c1_cps_fgm_spin_20060812142632_20060814185651.cdf"
REAL_CIS = "c1_pps_cis_2006081242632_2006081485651.cdf"


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    drv = make_driver(np.datetime64("2006-08-12"), np.datetime64("2006-08-17"), 2)
    written = []
    for day in ("2006-08-13", "2006-08-14", "2006-08-15"):
        s = synth_cluster.generate_day(day, root, 2, drv.slice(np.datetime64(day, "ns"), 1441),
                                       "c1")
        if s["files"]:
            written.append(day)
    assert "2006-08-13" in written
    (root / "days.txt").write_text(" ".join(written))
    return root


def test_orbit_follows_real_c1(real_data):
    path = real_data / "cluster" / REAL_FGM
    if not path.is_file():
        pytest.skip("no real Cluster files")
    real = cluster.read_fgm_spin(path)
    t = real.time.values[::120]
    r_real = real["r_gse"].values[::120] / R_E_KM
    r_syn = coordinates.j2000_to_gse(synth_cluster.orbit("c1").position_j2000_km(t), t) / R_E_KM
    rms = np.sqrt(np.mean(np.sum((r_syn - r_real) ** 2, axis=1)))
    assert rms < 0.5
    el = synth_cluster.orbit("c1")
    assert abs(el.period_h("2006-08-13") - 57.0) < 0.5


def test_synthetic_layout_matches_real(synth_root, real_data):
    if not (real_data / "cluster").is_dir():
        pytest.skip("no real Cluster files")
    syn_f = cdflib.CDF(str(next(synth_root.rglob("C1_CP_FGM_SPIN__20060813*.cdf"))))
    real_f = cdflib.CDF(str(real_data / "cluster" / REAL_FGM))
    for stem in ("time_tags", "B_vec_xyz_gse", "B_mag", "sc_pos_xyz_gse", "half_interval"):
        name = f"{stem}__C1_CP_FGM_SPIN"
        r, s = real_f.varinq(name), syn_f.varinq(name)
        assert (r.Data_Type, r.Dim_Sizes) == (s.Data_Type, s.Dim_Sizes), name
        ra, sa = real_f.varattsget(name), syn_f.varattsget(name)
        for key in ("UNITS", "DEPEND_0", "COORDINATE_SYSTEM"):
            assert ra.get(key) == sa.get(key), (name, key)
        np.testing.assert_allclose(np.ravel(sa["FILLVAL"]), np.ravel(ra["FILLVAL"]), rtol=1e-6)
    syn_c = cdflib.CDF(str(next(synth_root.rglob("C1_PP_CIS__20060813*.cdf"))))
    real_c = cdflib.CDF(str(real_data / "cluster" / REAL_CIS))
    for stem in ("Epoch", "Status", "N_HIA", "N_p", "V_HIA_xyz_gse", "T_HIA_par", "T_HIA_perp"):
        name = f"{stem}__C1_PP_CIS"
        r, s = real_c.varinq(name), syn_c.varinq(name)
        assert (r.Data_Type, r.Dim_Sizes) == (s.Data_Type, s.Dim_Sizes), name
        ra, sa = real_c.varattsget(name), syn_c.varattsget(name)
        keys = ["UNITS", "DEPEND_0", "SI_conversion", "FILLVAL"]
        if stem != "Epoch":  # the real 2006 files end their valid epochs at 2010: ours at 2030
            keys += ["VALIDMIN", "VALIDMAX"]
        for key in keys:
            np.testing.assert_array_equal(np.ravel(ra.get(key, "")), np.ravel(sa.get(key, "")),
                                          err_msg=f"{name} {key}")


def test_synthetic_files_read_back(synth_root):
    archive = scan_archive(synth_root)
    assert archive.sources() == [("Cluster", "c1")]
    written = (synth_root / "days.txt").read_text().split()
    assert [str(d) for d in archive.days("Cluster", "c1")] == written
    path = next(synth_root.rglob("C1_PP_CIS__20060813*.cdf"))
    cis = cluster.read_pp_cis(path)
    raw = cdflib.CDF(str(path))
    mk = raw.varget("T_HIA_perp__C1_PP_CIS")
    good = mk > -1e30
    np.testing.assert_allclose(cis["t_perp"].values[good], mk[good] * cluster.EV_PER_MK,
                               rtol=1e-6)
    assert np.isnan(cis["n"].values[~good]).all()
    fgm = cluster.read_fgm_spin(next(synth_root.rglob("C1_CP_FGM_SPIN__20060813*.cdf")))
    # B rotated to GSM keeps its magnitude and its x component
    ok = np.isfinite(fgm["b_gse"].values).all(axis=1)
    np.testing.assert_allclose(np.linalg.norm(fgm["b_gsm"].values[ok], axis=1),
                               np.linalg.norm(fgm["b_gse"].values[ok], axis=1), rtol=1e-9)
    np.testing.assert_allclose(fgm["b_gsm"].values[ok, 0], fgm["b_gse"].values[ok, 0])
    # the truth file keys every CIS sample
    import pandas as pd

    truth = pd.read_parquet(next(synth_root.rglob("c1_truth_20060813.parquet")))
    assert len(truth) == raw.varinq("Epoch__C1_PP_CIS").Last_Rec + 1

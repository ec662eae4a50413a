"""One plasma, three missions' files: the same samples written as MMS SDC, Cluster CSA and
THEMIS CDAWeb CDFs give the same state windows (units, frames, times, positions harmonised)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import day_files

from atlas_core.physics import coordinates
from atlas_core.sources.missions import read_source_day, scan_archive
from atlas_core.states import FEATURES, make_states
from atlas_core.synth import cluster as synth_cluster
from atlas_core.synth import spacecraft
from atlas_core.synth import themis as synth_themis
from atlas_core.synth import writer as mms_writer
from atlas_core.synth.driver import make_driver

DAY = np.datetime64("2016-01-10", "D")


@pytest.fixture(scope="module")
def three_archives(tmp_path_factory):
    """The same 4-s samples along Cluster's orbit, written in each mission's format."""
    rng = np.random.default_rng(5)
    drv = make_driver(DAY - 1, DAY + 2, 5)
    orbit = synth_cluster.orbit("c1")
    minutes = np.zeros(1440, bool)
    minutes[120:480] = True  # 02:00-08:00
    s = spacecraft.sample_model(rng, orbit, DAY, minutes, 4.0,
                                drv.slice(DAY.astype("datetime64[ns]"), 1441))
    b_gse = coordinates.gsm_to_gse(s.b_gsm, s.times)
    v_gse = coordinates.gsm_to_gse(s.v_gsm, s.times)
    roots = {m: tmp_path_factory.mktemp(m) for m in ("MMS", "Cluster", "THEMIS")}
    ymd = str(DAY).replace("-", "")

    # MMS: FGM survey (B GSE/GSM + |B|, positions on Epoch_state) and FPI DIS, whose epochs tag
    # the start of each 4.5 s accumulation (the readers centre them): written 2.25 s early
    def four(v):
        return np.column_stack([v, np.linalg.norm(v, axis=1)]).astype(np.float32)

    tt = mms_writer.tt2000(s.times)
    fgm_dir = roots["MMS"] / "mms1" / "fgm" / "srvy" / "l2" / ymd[:4] / ymd[4:6]
    mms_writer.write_fgm(fgm_dir / f"mms1_fgm_srvy_l2_{ymd}_v4.18.0.cdf", "4.18.0", tt,
                         four(b_gse), four(s.b_gsm), np.zeros(s.times.size, np.uint32), tt,
                         four(s.pos_gse_km), four(s.pos_gsm_km), 0.25)
    fpi_dir = (roots["MMS"] / "mms1" / "fpi" / "fast" / "l2" / "dis-moms" / ymd[:4]
               / ymd[4:6])
    mms_writer.write_fpi_dis(fpi_dir / f"mms1_fpi_fast_l2_dis-moms_{ymd}000000_v3.4.0.cdf",
                             "3.4.0", mms_writer.tt2000(s.times - np.timedelta64(2250, "ms")),
                             s.n.astype(np.float32), v_gse.astype(np.float32),
                             s.tpara.astype(np.float32), s.tperp.astype(np.float32),
                             np.zeros(s.times.size, np.uint32))
    # Cluster: GSE field and position, MK temperatures, CDF_EPOCH
    base = roots["Cluster"] / "cluster" / "C1"
    synth_cluster.write_fgm_spin(base / synth_cluster.file_name("c1", "CP_FGM_SPIN", DAY), "c1",
                                 DAY, s.times, b_gse, s.pos_gse_km)
    synth_cluster.write_pp_cis(base / synth_cluster.file_name("c1", "PP_CIS", DAY), "c1", DAY,
                               s.times, s.n, v_gse, s.tpara, s.tperp,
                               np.zeros(s.times.size, bool))
    # THEMIS: GSM field and velocity, (Tperp, Tperp, Tpar) eV, Unix seconds, state per minute
    root = roots["THEMIS"]
    synth_themis.write_fgm(synth_themis.path_of(root, "thd", "fgm", DAY), "thd", DAY, s.times,
                           s.b_gsm, np.zeros(s.times.size, np.int32))
    synth_themis.write_mom(synth_themis.path_of(root, "thd", "mom", DAY), "thd", DAY, s.times,
                           s.n, s.v_gsm, np.stack([s.tperp, s.tperp, s.tpara], -1),
                           np.zeros(s.times.size, np.int32))
    tm = spacecraft.minute_grid(DAY)[:1440]
    r_j2000 = orbit.position_j2000_km(tm)
    r_gei = coordinates.j2000_to_gei(r_j2000, tm)
    synth_themis.write_state(synth_themis.path_of(root, "thd", "state", DAY), "thd", DAY, tm,
                             r_gei, coordinates.gei_to_gse(r_gei, tm),
                             coordinates.gei_to_gsm(r_gei, tm))
    return roots


def _states(root):
    archive = scan_archive(root)
    (mission, probe), = archive.sources()
    rng = (DAY.astype("datetime64[ns]") - np.timedelta64(60, "s"),
           (DAY + 1).astype("datetime64[ns]"))
    errors: list = []
    field, plasma, eph = read_source_day(mission, day_files(archive, mission, probe, DAY), rng,
                                         errors)
    assert errors == []
    return make_states(field, plasma, DAY, DAY + 1, positions=eph, mission=mission,
                       probe=probe).set_index("time")


def test_same_plasma_same_states(three_archives):
    mms, clu, thm = (_states(three_archives[m]) for m in ("MMS", "Cluster", "THEMIS"))
    assert len(mms) > 300 and mms.index.equals(clu.index) and mms.index.equals(thm.index)
    for other in (clu, thm):
        for f in FEATURES:
            # float32 storage in every format (and MK for Cluster): a few 1e-6 relative
            np.testing.assert_allclose(other[f], mms[f], rtol=2e-5, atol=1e-4, err_msg=f)
    # positions: MMS's file GSM vs Cluster's GSE -> GSM (same transform: to rounding) and
    # THEMIS's 1-min state GSE -> GSM (interpolated from minutes: within a few km)
    np.testing.assert_allclose(clu[["x_gsm", "y_gsm", "z_gsm"]], mms[["x_gsm", "y_gsm", "z_gsm"]],
                               atol=1e-5)
    np.testing.assert_allclose(thm[["x_gsm", "y_gsm", "z_gsm"]], mms[["x_gsm", "y_gsm", "z_gsm"]],
                               atol=2e-3)

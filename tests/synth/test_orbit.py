"""The synthetic MMS1 orbit against the real MEC ephemeris and the mission profile."""

import numpy as np
import pytest

from atlas_core.physics import coordinates
from atlas_core.physics.constants import R_E_KM
from atlas_core.synth import orbit

# MMS1 MEC (mms1_mec_srvy_l2_epht89d_20151201_v2.1.0) at 2015-12-01T00:00 UTC, DESIGN.md §3
MEC_GCI_KM = np.array([-39232.5166153, -38027.67374968, -19823.08526458])
MEC_GSM_KM = np.array([54272.04901561, -20525.29361705, -3392.05804342])


def test_position_near_real_mec_on_2015_12_01():
    t = np.array(["2015-12-01T00:00"], dtype="datetime64[ns]")
    p = orbit.position_j2000_km(t)[0]
    assert np.linalg.norm(p - MEC_GCI_KM) / R_E_KM < 0.1
    gsm = coordinates.j2000_to_gsm(p, t)
    assert np.linalg.norm(gsm - MEC_GSM_KM) / R_E_KM < 0.1


@pytest.mark.parametrize("day, apogee", [("2016-01-01", 12.0), ("2018-01-01", 25.0),
                                         ("2022-01-01", 29.0)])
def test_phase_apogee_and_perigee(day, apogee):
    t = np.datetime64(day, "ns") + np.arange(0, 5 * 86400, 60).astype("timedelta64[s]")
    r = np.linalg.norm(orbit.position_j2000_km(t), axis=1) / R_E_KM
    assert r.max() == pytest.approx(apogee, abs=0.1)
    assert r.min() == pytest.approx(1.2, abs=0.1)


def test_apogee_sweeps_local_time_in_a_year():
    # apogee GSE longitude: dayside (x > 0) in northern winter, tail (x < 0) in summer
    def apogee_gse(day):
        t = np.datetime64(day, "ns") + np.arange(0, 86400, 120).astype("timedelta64[s]")
        p = orbit.position_j2000_km(t)
        i = np.argmax(np.linalg.norm(p, axis=1))
        return coordinates.j2000_to_gse(p[i], t[i])

    assert apogee_gse("2015-12-15")[0] > 0.8 * 12 * R_E_KM
    assert apogee_gse("2016-06-15")[0] < -0.8 * 12 * R_E_KM


def test_roi_is_near_apogee():
    t = np.datetime64("2018-01-01", "ns") + np.arange(0, 3 * 86400, 60).astype("timedelta64[s]")
    r = np.linalg.norm(orbit.position_j2000_km(t), axis=1) / R_E_KM
    roi = orbit.in_roi(t, r)
    assert 0.2 < roi.mean() < 0.9
    assert r[roi].min() >= orbit.ROI_FRACTION * 25 - 1e-9 and orbit.ROI_FRACTION >= 0.4

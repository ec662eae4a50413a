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


def test_mean_anomaly_is_the_integral_of_the_mean_motion():
    """M(t) - M(epoch) = integral of n = sqrt(mu / a^3) dt. Within a phase of constant apogee
    that is n (t - t0) exactly (Kepler's third law); across the 2017 apogee raise (a linear in
    time) it is checked against scipy's adaptive quadrature. The closed form costs the same
    for a day ten years from the epoch as for the epoch's own day (linear in the span)."""
    from scipy.integrate import quad

    mu = orbit.MU_EARTH_KM3_S2
    # phase 1 (apogee 12 R_E): 30 days after the epoch
    a1 = 0.5 * (12.0 + orbit.PERIGEE_RE) * R_E_KM
    t = np.array([orbit.EPOCH, orbit.EPOCH + np.timedelta64(30, "D")])
    m = orbit.mean_anomaly(t)
    assert m[1] - m[0] == pytest.approx(np.sqrt(mu / a1**3) * 30 * 86400, rel=1e-12)
    # across the apogee raise 2017-02-01 .. 2017-05-01 (12 -> 25 R_E)
    t0, t1 = np.datetime64("2017-01-15", "ns"), np.datetime64("2017-06-01", "ns")
    s0, s1 = (orbit._seconds(np.array([x]))[0] for x in (t0, t1))

    def n_of(s):
        return float(orbit._elements_s(np.array([s]))["n"][0])

    nodes = [orbit._seconds(np.array([np.datetime64(d, "ns")]))[0]
             for d in ("2017-02-01", "2017-05-01")]
    want = sum(quad(n_of, lo, hi, epsabs=1e-12, epsrel=1e-13)[0]
               for lo, hi in zip([s0, *nodes], [*nodes, s1], strict=True))
    got = np.diff(orbit.mean_anomaly(np.array([t0, t1])))[0]
    assert got == pytest.approx(want, rel=1e-10)
    # one call over ten years of minutes-apart times agrees with calls one day at a time
    days = np.datetime64("2015-09-01", "ns") + np.arange(0, 3700, 97) * np.timedelta64(1, "D")
    np.testing.assert_allclose(orbit.mean_anomaly(days),
                               [orbit.mean_anomaly(np.array([d]))[0] for d in days], rtol=1e-14)

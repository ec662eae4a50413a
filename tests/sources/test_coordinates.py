"""Coordinate transforms against independent numbers: a real MMS MEC value, the equinox and
solstice directions of the Sun, the IGRF geomagnetic pole, and the seasonal dipole tilt."""

from __future__ import annotations

import numpy as np
import pytest

from atlas_core.physics import coordinates as co

# MMS1 MEC (mms1_mec_srvy_l2_epht89d_20151201_v2.1.0) at 2015-12-01T00:00 UTC, from
# ../shared/real-data/README.md.
MEC_TIME = np.datetime64("2015-12-01T00:00:00")
MEC_GCI_KM = np.array([-39232.5166153, -38027.67374968, -19823.08526458])
MEC_GSM_KM = np.array([54272.04901561, -20525.29361705, -3392.05804342])


def test_j2000_to_gsm_matches_mec_reference():
    gsm = co.j2000_to_gsm(MEC_GCI_KM, MEC_TIME)
    residual = np.linalg.norm(gsm - MEC_GSM_KM)
    # 2.6 km in 58,123 km (0.0026 deg); without precession the error would be ~220 km.
    assert residual < 4.0, residual
    unprecessed = co.gei_to_gsm(MEC_GCI_KM, MEC_TIME)
    assert np.linalg.norm(unprecessed - MEC_GSM_KM) > 100.0


def test_gse_and_gsm_share_x_and_rotate_by_psi():
    gse = co.j2000_to_gse(MEC_GCI_KM, MEC_TIME)
    gsm = co.j2000_to_gsm(MEC_GCI_KM, MEC_TIME)
    assert gse[0] == pytest.approx(gsm[0], abs=1e-6)
    assert np.hypot(gse[1], gse[2]) == pytest.approx(np.hypot(gsm[1], gsm[2]), rel=1e-12)
    np.testing.assert_allclose(co.gse_to_gsm(gse, MEC_TIME), gsm, atol=1e-6)
    np.testing.assert_allclose(co.gsm_to_gse(gsm, MEC_TIME), gse, atol=1e-6)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # March equinox 2015-03-20 22:45 UTC: Sun at the vernal equinox (GEI +X).
        ("2015-03-20T22:45", (1.0, 0.0, 0.0)),
        # June solstice 2015-06-21 16:38 UTC: Sun at ecliptic longitude 90 deg.
        ("2015-06-21T16:38", (0.0, np.cos(np.radians(23.4371)), np.sin(np.radians(23.4371)))),
        # September equinox 2015-09-23 08:20 UTC.
        ("2015-09-23T08:20", (-1.0, 0.0, 0.0)),
    ],
)
def test_sun_direction_at_equinoxes_and_solstice(when, expected):
    sun = co.sun_direction_gei(np.datetime64(when))[0]
    # GSE X in GEI is the Sun direction; 0.01 deg = 1.7e-4 rad.
    assert np.linalg.norm(sun - np.array(expected)) < 2e-4
    gse = co.gei_to_gse(np.array(expected), np.datetime64(when))
    assert gse[0] == pytest.approx(1.0, abs=1e-7)


def test_geomagnetic_north_pole_matches_igrf14():
    # IGRF-14 (Alken et al. 2025) geomagnetic north pole at 2025.0: 80.8 N, 72.8 W.
    q = co.dipole_axis_geo(np.datetime64("2025-01-01"))[0]
    lat = np.degrees(np.arcsin(q[2]))
    lon = np.degrees(np.arctan2(q[1], q[0]))
    assert lat == pytest.approx(80.79, abs=0.02)
    assert lon == pytest.approx(-72.76, abs=0.02)
    # the pole drifts north-west-ish, slowly: 2015 lies within 0.6 deg
    q15 = co.dipole_axis_geo(np.datetime64("2015-01-01"))[0]
    assert 0.1 < np.degrees(np.arccos(q @ q15)) < 0.6


def test_dipole_tilt_season_and_range():
    # Northern summer tilts the northern pole towards the Sun (positive); the extremes over a
    # day are +/- (23.4 + 9.6) ~ 33-35 deg near the solstices.
    june = np.arange("2015-06-21T00", "2015-06-22T00", dtype="datetime64[h]")
    dec = np.arange("2015-12-21T00", "2015-12-22T00", dtype="datetime64[h]")
    tj = np.degrees(co.dipole_tilt(june))
    td = np.degrees(co.dipole_tilt(dec))
    assert tj.min() > 10 and 30 < tj.max() < 36
    assert td.max() < -10 and -36 < td.min() < -30
    # Diurnal wobble: maximum tilt in June near 16-17 UT (pole at ~72 W faces the Sun).
    assert 15 <= int(np.argmax(tj)) <= 18
    # tilt is the GSM-frame angle: dipole axis in GSM lies in the X-Z plane
    t = np.datetime64("2016-02-01T05:00")
    q_gsm = co.gei_to_gsm(co.dipole_axis_gei(t), t)[0]
    assert abs(q_gsm[1]) < 1e-12
    assert np.arcsin(q_gsm[0]) == pytest.approx(co.dipole_tilt(t)[0], abs=1e-12)


def test_vectorised_roundtrips_and_shapes():
    rng = np.random.default_rng(1)
    n = 1000
    times = np.datetime64("2015-09-01") + rng.integers(0, 10 * 365 * 86400, n).astype(
        "timedelta64[s]"
    )
    xyz = rng.normal(size=(n, 3)) * 60000.0
    for fwd, back in [
        (co.gei_to_gse, co.gse_to_gei),
        (co.gei_to_gsm, co.gsm_to_gei),
        (co.gse_to_gsm, co.gsm_to_gse),
        (co.j2000_to_gei, co.gei_to_j2000),
        (co.j2000_to_gsm, co.gsm_to_j2000),
    ]:
        out = fwd(xyz, times)
        assert out.shape == (n, 3)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(xyz, axis=1))
        np.testing.assert_allclose(back(out, times), xyz, atol=1e-6)
    # one time broadcast over many positions equals the per-row result
    one = co.gei_to_gsm(xyz, times[0])
    np.testing.assert_allclose(one, co.gei_to_gsm(xyz, np.repeat(times[0], n)), atol=1e-9)
    with pytest.raises(ValueError):
        co.gei_to_gse(xyz, times[:10])


def test_gse_to_gsm_matches_the_real_fgm_file_positions(real_data):
    """The FGM burst file carries the same ephemeris in GSE and GSM (8 points, ~11.9 R_E):
    our GSE -> GSM rotation reproduces its GSM with the dipole model it used (IGRF-12)."""
    from atlas_core.sources.mms import read_fgm

    ds = read_fgm(real_data / "mms" / "mms1_fgm_brst_l2_20151016130524_v4.18.1.cdf")
    t, gse, gsm = ds["time_state"].values, ds["r_gse"].values, ds["r_gsm"].values
    err12 = np.linalg.norm(co.gse_to_gsm(gse, t, igrf="igrf12") - gsm, axis=1)
    err14 = np.linalg.norm(co.gse_to_gsm(gse, t) - gsm, axis=1)
    assert err12.max() < 0.5  # km, in 76,000 km (float32 positions)
    assert err14.max() < 15.0  # the IGRF-14 dipole differs by ~0.007 deg
    np.testing.assert_allclose(co.gsm_to_gse(gsm, t, igrf="igrf12"), gse, atol=0.5)
    # GSE is model-free: X agrees exactly between the frames
    np.testing.assert_allclose(co.gse_to_gsm(gse, t)[:, 0], gse[:, 0], atol=1e-6)

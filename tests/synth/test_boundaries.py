"""Shue (1998) and Jelínek (2012) surfaces against numbers worked out by hand from the papers'
formulas and coefficients (not from the code under test)."""

import numpy as np
import pytest

from atlas_core.physics.boundaries import (
    bow_shock_jelinek2012,
    dynamic_pressure_npa,
    magnetopause_jelinek2012,
    magnetopause_shue1998,
    shue1998_parameters,
)


def test_shue_subsolar_bz0_dp2():
    # r0 = (10.22 + 1.29 tanh(0.184 * 8.14)) * 2^(-1/6.6)
    #    = (10.22 + 1.29 * 0.904753) * 0.900303 = 11.387131 * 0.900303 = 10.2519 R_E
    assert magnetopause_shue1998(0.0, 0.0, 2.0) == pytest.approx(10.2519, abs=2e-3)
    r0, alpha = shue1998_parameters(0.0, 2.0)
    # alpha = 0.58 * (1 + 0.024 ln 2) = 0.589649
    assert alpha == pytest.approx(0.589649, abs=1e-5)
    # at the terminator r = r0 2^alpha = 10.2519 * 1.504977 = 15.429 R_E
    assert magnetopause_shue1998(np.pi / 2, 0.0, 2.0) == pytest.approx(15.429, abs=5e-3)


def test_shue_extreme_compression():
    # Bz = -20 nT, Dp = 20 nPa: tanh(0.184 * -11.86) = tanh(-2.18224) = -0.974871;
    # r0 = (10.22 - 1.257584) * exp(-ln(20) / 6.6) = 8.962416 * 0.635157 = 5.6925 R_E
    # (Shue et al. 1998 discuss the magnetopause inside geosynchronous orbit in such conditions)
    assert magnetopause_shue1998(0.0, -20.0, 20.0) == pytest.approx(5.6925, abs=2e-3)


def test_shue_shape_and_broadcasting():
    theta = np.radians([0, 30, 60, 90, 120, 150])
    r = magnetopause_shue1998(theta[:, None], np.array([-5.0, 0.0, 5.0]), 2.0)
    assert r.shape == (6, 3)
    assert np.all(np.diff(r, axis=0) > 0)  # flaring: distance grows away from the nose
    assert np.all(np.diff(r[0]) > 0)  # northward IMF: larger standoff
    with pytest.raises(ValueError, match="pressure"):
        magnetopause_shue1998(0.0, 0.0, 0.0)


def test_jelinek_bow_shock():
    # R0 = 15.02 * 2^(-1/6.55) = 15.02 * 0.899581 = 13.5117 R_E
    assert bow_shock_jelinek2012(0.0, 2.0) == pytest.approx(13.5117, abs=2e-3)
    # at 90 deg: r = 2 R0 / 1.17 = 23.097 R_E
    assert bow_shock_jelinek2012(np.pi / 2, 2.0) == pytest.approx(23.097, abs=5e-3)


def test_jelinek_magnetopause():
    # R0 = 12.82 * 2^(-1/5.26) = 12.82 * 0.876534 = 11.2372 R_E; at 90 deg 2 R0 / 1.54
    assert magnetopause_jelinek2012(0.0, 2.0) == pytest.approx(11.2372, abs=2e-3)
    assert magnetopause_jelinek2012(np.pi / 2, 2.0) == pytest.approx(14.594, abs=5e-3)
    # the shock stands outside the magnetopause at every angle
    th = np.linspace(0, 2.5, 50)
    assert np.all(bow_shock_jelinek2012(th, 2.0) > magnetopause_jelinek2012(th, 2.0))


def test_dynamic_pressure():
    # protons only: m_p n V^2 = 1.67262e-27 * 5e6 * (4e5)^2 = 1.3381e-9 Pa
    assert dynamic_pressure_npa(5.0, 400.0, alpha_ratio=0.0) == pytest.approx(1.3381, abs=1e-3)
    # OMNI's flow pressure with 4 % alphas (the default): 1.3381 * (1 + 4 * 0.04) = 1.5522 nPa
    assert dynamic_pressure_npa(5.0, 400.0) == pytest.approx(1.5522, abs=1e-3)


def test_dynamic_pressure_is_omni_flow_pressure(real_data):
    """The real OMNI2 hourly file computes its flow pressure (word 29) from the proton density
    (24), speed (25) and He++/H+ ratio (28) exactly as dynamic_pressure_npa does: every hour
    agrees within the rounding of the written inputs; hours whose ratio is fill use 5 % (in the
    median: some of those hours average other sources)."""
    table = np.loadtxt(real_data / "indices" / "omni2_2015.dat")
    n, v, ratio, p = table[:, 23], table[:, 24], table[:, 27], table[:, 28]
    have = (n < 999) & (v < 9999) & (p < 99)
    with_ratio = have & (ratio < 9.9)
    assert with_ratio.sum() > 8000
    # rounding of n (F6.1), V (F6.0), Na/Np (F6.3) and the pressure (F6.2)
    tol = p * (0.05 / n + 1.0 / v + 2 * 0.0005 / (1 + 4 * ratio)) + 0.005
    calc = dynamic_pressure_npa(n, v, np.where(with_ratio, ratio, 0.05))
    assert np.all(np.abs(calc - p)[with_ratio] <= tol[with_ratio])
    no_ratio = have & (ratio >= 9.9)  # 2.0e-6 n V^2 (= 1.2 m_p n V^2) in the median
    assert np.median(np.abs(calc / p - 1)[no_ratio]) < 0.01
    # ... and protons alone would be ~10 % low
    assert np.median(p[with_ratio] / dynamic_pressure_npa(n, v, 0.0)[with_ratio]) > 1.05

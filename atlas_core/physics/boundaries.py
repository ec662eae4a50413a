"""Empirical magnetopause and bow-shock surfaces, as functions over arrays.

All surfaces are axisymmetric about the (aberrated or not) Sun-Earth line: ``theta_rad`` is the
angle between the radius vector and +X (GSM or GSE; the models do not distinguish), and the
functions return the geocentric distance of the surface at that angle, in Earth radii (R_E).
Dynamic pressure ``pdyn_nPa`` is in nPa, the IMF ``bz_nT`` (GSM) in nT. Inputs broadcast.

References
----------
- Shue, J.-H., et al. (1998), Magnetopause location under extreme solar wind conditions,
  J. Geophys. Res., 103(A8), 17691-17700, doi:10.1029/98JA01103.
- Jelínek, K., Němeček, Z., & Šafránková, J. (2012), A new approach to magnetopause and bow
  shock modeling based on automated region identification, J. Geophys. Res., 117, A05208,
  doi:10.1029/2011JA017252.
"""

from __future__ import annotations

import numpy as np

from .constants import CM3_M3, KMS_MS, M_P_KG, NPA_PA

__all__ = [
    "dynamic_pressure_npa",
    "magnetopause_shue1998",
    "shue1998_parameters",
    "bow_shock_jelinek2012",
    "magnetopause_jelinek2012",
]


def dynamic_pressure_npa(n_cm3, v_kms, alpha_fraction=0.0):
    """Solar-wind dynamic pressure ``Pdyn = m_p n V^2 (1 + 4 alpha)``, nPa.

    ``n_cm3`` proton density (cm^-3), ``v_kms`` bulk speed (km/s); ``alpha_fraction`` the
    He++/H+ density ratio (OMNI uses 1.16 m_p n V^2 when alphas are unknown; default: none).
    """
    n = np.asarray(n_cm3, dtype=float)
    v = np.asarray(v_kms, dtype=float)
    return M_P_KG * n * CM3_M3 * (v * KMS_MS) ** 2 * (1.0 + 4.0 * alpha_fraction) / NPA_PA


def shue1998_parameters(bz_nT, pdyn_nPa):
    """Shue et al. (1998) subsolar distance ``r0`` (R_E) and flaring ``alpha`` (1).

    Eqs. (10)-(11) of Shue et al. (1998):
    ``r0 = (10.22 + 1.29 tanh(0.184 (Bz + 8.14))) Dp^(-1/6.6)``,
    ``alpha = (0.58 - 0.007 Bz) (1 + 0.024 ln Dp)``.
    """
    bz = np.asarray(bz_nT, dtype=float)
    dp = np.asarray(pdyn_nPa, dtype=float)
    if np.any(dp <= 0):
        raise ValueError("magnetopause_shue1998: dynamic pressure must be > 0 nPa")
    r0 = (10.22 + 1.29 * np.tanh(0.184 * (bz + 8.14))) * dp ** (-1.0 / 6.6)
    alpha = (0.58 - 0.007 * bz) * (1.0 + 0.024 * np.log(dp))
    return r0, alpha


def magnetopause_shue1998(theta_rad, bz_nT, pdyn_nPa):
    """Magnetopause distance of Shue et al. (1998), R_E.

    ``r = r0 (2 / (1 + cos theta))^alpha`` with ``r0, alpha`` from
    :func:`shue1998_parameters`. ``theta_rad`` (radians) is the angle from +X; the surface is
    open (r -> infinity as theta -> pi).
    """
    r0, alpha = shue1998_parameters(bz_nT, pdyn_nPa)
    cos_t = np.cos(np.asarray(theta_rad, dtype=float))
    with np.errstate(divide="ignore"):
        return r0 * (2.0 / (1.0 + cos_t)) ** alpha


def _jelinek(theta_rad, pdyn_nPa, lam, eps_p, flaring):
    dp = np.asarray(pdyn_nPa, dtype=float)
    if np.any(dp <= 0):
        raise ValueError("Jelínek (2012) surface: dynamic pressure must be > 0 nPa")
    theta = np.asarray(theta_rad, dtype=float)
    r0 = lam * dp ** (-1.0 / eps_p)
    c = np.cos(theta)
    s = np.sin(theta)
    with np.errstate(divide="ignore"):
        return 2.0 * r0 / (c + np.sqrt(c * c + (flaring * s) ** 2))


def bow_shock_jelinek2012(theta_rad, pdyn_nPa):
    """Bow-shock distance of Jelínek et al. (2012), R_E.

    ``R0 = 15.02 Dp^(-1/6.55)`` (subsolar distance) and
    ``r = 2 R0 / (cos theta + sqrt(cos^2 theta + 1.17^2 sin^2 theta))`` (their Eq. 1 with
    lambda = 15.02, epsilon = 6.55, flaring 1.17, fitted to THEMIS crossings).
    """
    return _jelinek(theta_rad, pdyn_nPa, 15.02, 6.55, 1.17)


def magnetopause_jelinek2012(theta_rad, pdyn_nPa):
    """Magnetopause distance of Jelínek et al. (2012), R_E.

    Same functional form as :func:`bow_shock_jelinek2012` with lambda = 12.82,
    epsilon = 5.26 and flaring 1.54.
    """
    return _jelinek(theta_rad, pdyn_nPa, 12.82, 5.26, 1.54)

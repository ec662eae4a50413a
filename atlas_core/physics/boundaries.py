"""Empirical magnetopause and bow-shock surfaces, as functions over arrays.

All surfaces are axisymmetric about the (aberrated or not) Sun-Earth line: ``theta_rad`` is the
angle between the radius vector and +X (GSM or GSE; the models do not distinguish), and the
functions return the geocentric distance of the surface at that angle, in Earth radii (R_E).
Dynamic pressure ``pdyn_nPa`` is in nPa, the IMF ``bz_nT`` (GSM) in nT. Inputs broadcast.

The drawn boundaries (the slice curves of the dashboard and the figures, the 3D surfaces) all
come from :func:`boundary_profiles` / :func:`boundary_cuts`: one range of angles, one clamp of
the solar-wind condition (:func:`clamp_solar_wind`), one tailward end (``X_MIN_RE``).

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
    "BZ_RANGE_NT",
    "PDYN_RANGE_NPA",
    "boundary_cuts",
    "boundary_profiles",
    "check_plane",
    "clamp_solar_wind",
    "dynamic_pressure_npa",
    "earth_cut",
    "magnetopause_shue1998",
    "shue1998_parameters",
    "bow_shock_jelinek2012",
    "magnetopause_jelinek2012",
]


SW_ALPHA_RATIO = 0.04
"""He++/H+ number-density ratio assumed for the solar wind when none is measured: 4 %, the
typical slow-wind abundance (SPEDAS ``calc_pdyn`` default, after Angelopoulos); OMNI writes the
measured ratio in word 28 of its hourly files (fill: it assumes 5 %, i.e. 2.0e-6 n V^2)."""


def dynamic_pressure_npa(n_cm3, v_kms, alpha_ratio=SW_ALPHA_RATIO):
    """Solar-wind dynamic (flow) pressure as OMNI defines it, nPa:
    ``Pdyn = m_p n_p V^2 (1 + 4 Na/Np)`` (protons plus alphas at the proton speed, alpha mass
    4 m_p), i.e. ``1.67e-6 n V^2 (1 + 4 Na/Np)`` nPa with ``n`` in cm^-3 and ``V`` in km/s.

    This is the one definition used end to end in this project: the synthetic driver places
    its magnetopause and bow shock with it, the synthetic OMNI file writes it as word 29 (flow
    pressure) beside ``alpha_ratio`` as word 28, and the real OMNI2 hourly files compute word 29
    this way from words 24, 25 and 28 (checked on ``omni2_2015.dat`` in the tests). Why OMNI's:
    the boundary models are driven from OMNI's flow pressure by their users (and by the atlas,
    which reads ``sw_pdyn`` from word 29), so the synthetic truth and anything the atlas derives
    from its OMNI file must agree on it. With the default ``alpha_ratio`` = 0.04 this is
    1.16 m_p n V^2; ``alpha_ratio=0`` gives protons only. ``n_cm3`` proton density (cm^-3),
    ``v_kms`` bulk speed (km/s).
    """
    n = np.asarray(n_cm3, dtype=float)
    v = np.asarray(v_kms, dtype=float)
    return M_P_KG * n * CM3_M3 * (v * KMS_MS) ** 2 * (1.0 + 4.0 * np.asarray(alpha_ratio)) / NPA_PA


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


# --------------------------------------------------------------------------------------------
# The drawn boundaries: profiles x(theta), rho(theta) and their cuts by a slice plane
# --------------------------------------------------------------------------------------------

PDYN_RANGE_NPA = (0.1, 30.0)
"""Dynamic pressures the drawn boundaries accept, nPa: beyond ~30 nPa the fits of Shue et al.
(1998) and Jelínek et al. (2012) are extrapolations (their data reach ~10-20 nPa), and the
magnetopause would cross geosynchronous orbit."""
BZ_RANGE_NT = (-30.0, 30.0)
"""IMF Bz range the drawn magnetopause accepts, nT (the Shue et al. 1998 fit spans about
-20..+15 nT; the flaring ``0.58 - 0.007 Bz`` stays positive well past both ends)."""
THETA_MAX_RAD = float(np.deg2rad(179.0))
"""Largest angle from +X drawn; the tail end is set by ``X_MIN_RE`` before it is reached."""
X_MIN_RE = -40.0
"""Tailward end of the drawn surfaces, x (R_E): the atlas' octree reaches about -30 R_E."""
N_THETA = 721
"""Points along a drawn profile."""


def clamp_solar_wind(pdyn_npa, bz_nt) -> tuple[float, float]:
    """The solar-wind condition a drawn boundary uses: ``pdyn_npa`` clipped into
    :data:`PDYN_RANGE_NPA` and ``bz_nt`` into :data:`BZ_RANGE_NT` (NaN: 2 nPa, 0 nT)."""
    pdyn = float(pdyn_npa) if np.isfinite(pdyn_npa) else 2.0
    bz = float(bz_nt) if np.isfinite(bz_nt) else 0.0
    return (float(np.clip(pdyn, *PDYN_RANGE_NPA)), float(np.clip(bz, *BZ_RANGE_NT)))


def boundary_profiles(pdyn_npa: float, bz_nt: float, *, x_min_re: float = X_MIN_RE,
                      n: int = N_THETA) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Profiles ``(x, rho)`` (R_E, GSM x and cylindrical radius about it) of the magnetopause
    (Shue et al. 1998) and the bow shock (Jelínek et al. 2012), from the nose tailward to
    ``x = x_min_re`` (the last point lies on that plane), for the clamped solar-wind condition
    (:func:`clamp_solar_wind`). Keys ``"magnetopause"`` and ``"bow_shock"``."""
    pdyn, bz = clamp_solar_wind(pdyn_npa, bz_nt)
    theta = np.linspace(0.0, THETA_MAX_RAD, int(n))
    radii = {"magnetopause": magnetopause_shue1998(theta, bz, pdyn),
             "bow_shock": bow_shock_jelinek2012(theta, pdyn)}
    out = {}
    for name, r in radii.items():
        r = np.asarray(r, dtype=float)
        ok = np.isfinite(r)
        x, rho = r[ok] * np.cos(theta[ok]), r[ok] * np.sin(theta[ok])
        past = np.flatnonzero(x < x_min_re)
        if past.size:  # end exactly on x = x_min_re (x falls monotonically along the tail)
            i = int(past[0])
            f = (x[i - 1] - x_min_re) / (x[i - 1] - x[i])
            rho_end = rho[i - 1] + f * (rho[i] - rho[i - 1])
            x, rho = np.r_[x[:i], x_min_re], np.r_[rho[:i], rho_end]
        out[name] = (x, rho)
    return out


_PLANES = {"xy": 2, "xz": 1, "yz": 0}


def check_plane(plane: str) -> str:
    """A slice plane's name, lower case (``xy``, ``xz`` or ``yz``); ``ValueError`` otherwise."""
    key = str(plane).lower()
    if key not in _PLANES:
        raise ValueError(f"plane must be one of xy, xz, yz, got {plane!r}")
    return key


def _cut_profile(x: np.ndarray, rho: np.ndarray, plane: str, offset_re: float) -> list[np.ndarray]:
    """A surface of revolution about x, given by its profile rho(x), cut by a slice plane."""
    if plane in ("xy", "xz"):  # the plane holds x: rho^2 = w^2 + offset^2
        inside = rho >= abs(offset_re)
        if not inside.any():
            return []
        xs = x[inside]
        w = np.sqrt(rho[inside] ** 2 - offset_re**2)
        # one curve closed at the nose: lower branch tail -> nose, upper branch nose -> tail
        return [np.column_stack([np.r_[xs[::-1], xs], np.r_[-w[::-1], w]])]
    if not x.min() <= offset_re <= x.max():  # yz at x = offset: a circle of radius rho(offset)
        return []
    radius = float(np.interp(offset_re, x[::-1], rho[::-1]))
    phi = np.linspace(0.0, 2.0 * np.pi, 361)
    return [np.column_stack([radius * np.cos(phi), radius * np.sin(phi)])]


def boundary_cuts(plane: str, offset_re: float, pdyn_npa: float, bz_nt: float
                  ) -> dict[str, list[np.ndarray]]:
    """Magnetopause and bow shock cut by a GSM slice plane: ``{"magnetopause": [(m, 2)],
    "bow_shock": [(m, 2)]}``, each a list of polylines in the plane's two axes (R_E): ``xy``
    and ``xz`` hold (x, y) and (x, z), ``yz`` holds (y, z). ``offset_re`` is the plane's
    position along its normal axis. The one cut every view, figure and the 3D map draws."""
    plane = check_plane(plane)
    profiles = boundary_profiles(pdyn_npa, bz_nt)
    return {name: _cut_profile(x, rho, plane, float(offset_re))
            for name, (x, rho) in profiles.items()}


def earth_cut(plane: str, offset_re: float, radius_re: float = 1.0, n: int = 181
              ) -> list[np.ndarray]:
    """Earth (a sphere of ``radius_re``) cut by a slice plane: one circle, or none."""
    check_plane(plane)
    if abs(offset_re) >= radius_re:
        return []
    r = float(np.sqrt(radius_re**2 - offset_re**2))
    t = np.linspace(0.0, 2.0 * np.pi, int(n))
    return [np.column_stack([r * np.cos(t), r * np.sin(t)])]

"""Geophysical coordinate transforms: GEI (J2000 and mean of date), GSE, GSM; dipole tilt.

Following Hapgood (1992), "Space physics coordinate transformations: a user guide", Planet.
Space Sci. 40, 711-717 (with its 1997 corrigendum), but with each frame built from its
defining unit vectors rather than a chain of Euler angles:

- GEI (mean of date): X towards the mean vernal equinox of date, Z the mean celestial pole.
- GSE: X towards the Sun, Z the ecliptic north pole of date, Y completing the right-handed set.
- GSM: X towards the Sun, Z the projection of the northern magnetic dipole axis onto the plane
  perpendicular to X, Y = Z x X.

The dipole axis comes from the IGRF degree-1 Gauss coefficients (IGRF-14, linear in time
between the 5-year epochs, secular variation after the last), the Sun from the Astronomical
Almanac low-precision formulae (as in Hapgood §2.1, 0.01 deg, plus aberration), the Earth's
rotation from the IAU 1982 GMST. MMS MEC "GCI" positions are in the J2000 frame (EME2000):
:func:`j2000_to_gei` applies the IAU 1976 precession (Lieske et al. 1977) to reach mean of
date; nutation (<= 17") is left out of the GEI frame but does not matter for GSE/GSM, which are
defined by physical directions.

Checked against an MMS1 MEC file (mms1_mec_srvy_l2_epht89d_20151201_v2.1.0, 2015-12-01T00:00
UTC): J2000 -> GSM agrees to 2.6 km in 58,123 km (0.0026 deg; tests/sources/test_coordinates.py).
The residual is mostly along GSM Y, within the 0.01 deg of the low-precision solar longitude;
adding IAU 1980 nutation to the Earth-rotation step changes it by < 0.1 km, so it is omitted.
The GSE -> GSM rotation also reproduces the positions in an MMS FGM L2 file (v4.18, whose
GSM used IGRF-12) to 0.24 km in 76,000 km with ``igrf="igrf12"`` (9.7 km with IGRF-14): the
dipole model, not the method, is what separates products.

All functions are vectorised: positions are ``(N, 3)`` arrays (any length unit; the transforms
are rotations) and times ``(N,)`` ``datetime64`` (UTC) arrays, or one time for all positions.
"""

from __future__ import annotations

import numpy as np

# --- IGRF degree-1 Gauss coefficients (nT) ------------------------------------------------
# epochs, g10, g11, h11 at the epochs, and the secular variation (nT/yr) after the last one.
IGRF_MODELS = {
    # IGRF-14 (Alken et al. 2025): DGRF to 2020, IGRF 2025, SV 2025-30. The default.
    "igrf14": (
        np.array([2000.0, 2005.0, 2010.0, 2015.0, 2020.0, 2025.0]),
        np.array([-29619.4, -29554.63, -29496.57, -29441.46, -29403.41, -29350.0]),
        np.array([-1728.2, -1669.05, -1586.42, -1501.77, -1451.37, -1410.3]),
        np.array([5186.1, 5077.99, 4944.26, 4795.99, 4653.35, 4545.5]),
        np.array([12.6, 10.0, -21.5]),
    ),
    # IGRF-12 (Thebault et al. 2015): DGRF to 2010, IGRF 2015, SV 2015-20. What the MMS FGM
    # L2 v4.18 files used for their GSM positions (tests/sources/test_coordinates.py).
    "igrf12": (
        np.array([2000.0, 2005.0, 2010.0, 2015.0]),
        np.array([-29619.4, -29554.63, -29496.57, -29442.0]),
        np.array([-1728.2, -1669.05, -1586.42, -1501.0]),
        np.array([5186.1, 5077.99, 4944.26, 4797.1]),
        np.array([10.3, 18.1, -26.6]),
    ),
}
"""Dipole (degree-1) IGRF coefficients by model name; ``igrf`` arguments pick one."""

# TAI - UTC (leap seconds) from 1999 on; TT = TAI + 32.184 s.
_LEAP_DATES = np.array(
    ["1999-01-01", "2006-01-01", "2009-01-01", "2012-07-01", "2015-07-01", "2017-01-01"],
    dtype="datetime64[ns]",
)
_LEAP_TAI_UTC = np.array([32.0, 33.0, 34.0, 35.0, 36.0, 37.0])

_J2000_UTC = np.datetime64("2000-01-01T12:00:00", "ns")
_DEG = np.pi / 180.0
_ARCSEC = _DEG / 3600.0


def _as_times(times, n: int | None = None) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    if n is not None and t.size == 1 and n != 1:
        t = np.repeat(t, n)
    return t


def _days_since_j2000_utc(times: np.ndarray) -> np.ndarray:
    """Days from J2000.0 (2000-01-01T12:00) on the UTC (~UT1) scale, float64."""
    return (times - _J2000_UTC).astype("timedelta64[ns]").astype(np.float64) / 86400e9


def _centuries_tt(times: np.ndarray) -> np.ndarray:
    """Julian centuries of Terrestrial Time from J2000.0."""
    idx = np.searchsorted(_LEAP_DATES, times, side="right") - 1
    tai_utc = np.where(idx >= 0, _LEAP_TAI_UTC[np.clip(idx, 0, None)], 32.0)
    return (_days_since_j2000_utc(times) + (tai_utc + 32.184) / 86400.0) / 36525.0


def decimal_year(times) -> np.ndarray:
    """Decimal year of ``times`` (UTC), e.g. 2015.9167 for 2015-12-01."""
    t = _as_times(times)
    year = t.astype("datetime64[Y]")
    start = year.astype("datetime64[ns]")
    length = (year + 1).astype("datetime64[ns]") - start
    return year.astype(np.int64) + 1970 + (t - start) / length


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Frame rotation matrices ``(N, 3, 3)`` by ``angle`` (rad) about ``axis`` (0=x, 1=y, 2=z).

    ``R @ v`` gives the components of a fixed vector in a frame rotated by +angle (Hapgood's
    ``<angle, axis>``)."""
    angle = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = s
    m[..., j, i] = -s
    return m


def _per_unique(times: np.ndarray, unit: str, fn):
    """``fn`` evaluated once per distinct ``unit`` (hour, day) of ``times`` and spread back:
    for quantities that change far too slowly to matter within that unit."""
    coarse = times.astype(f"datetime64[{unit}]")
    uniq, inv = np.unique(coarse, return_inverse=True)
    mid = uniq.astype("datetime64[ns]") + np.timedelta64(1, unit).astype("timedelta64[ns]") // 2
    return fn(mid), inv.reshape(-1)


def precession_matrix(times) -> np.ndarray:
    """J2000 (EME2000) -> mean equator and equinox of date, ``(N, 3, 3)``.

    IAU 1976 precession angles (Lieske et al. 1977, A&A 58, 1). Precession moves the frame by
    50"/yr, so the matrix is evaluated once per hour (0.006" error at most)."""
    mats, inv = _per_unique(_as_times(times), "h", _precession_exact)
    return mats[inv]


def _precession_exact(times: np.ndarray) -> np.ndarray:
    t = _centuries_tt(times)
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * _ARCSEC
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * _ARCSEC
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * _ARCSEC
    return _rot(2, -z) @ _rot(1, theta) @ _rot(2, -zeta)


def gmst(times) -> np.ndarray:
    """Greenwich mean sidereal time (rad), IAU 1982 (UT1 taken as UTC, error < 1 s)."""
    t = _as_times(times)
    d = _days_since_j2000_utc(t)
    tu = d / 36525.0
    deg = 280.46061837 + 360.98564736629 * d + 0.000387933 * tu**2 - tu**3 / 38710000.0
    return np.mod(deg, 360.0) * _DEG


def obliquity(times) -> np.ndarray:
    """Mean obliquity of the ecliptic (rad), IAU 1980."""
    t = _centuries_tt(_as_times(times))
    return (23.439291111 - 0.013004167 * t - 1.639e-7 * t**2 + 5.036e-7 * t**3) * _DEG


def sun_direction_gei(times) -> np.ndarray:
    """Unit vector Earth -> Sun in GEI mean of date, ``(N, 3)``.

    Apparent solar longitude from the Astronomical Almanac / Meeus (1998, ch. 25) low-precision
    series (Hapgood 1992 §2.1 uses the same, truncated), accurate to ~0.01 deg; the Sun's
    ecliptic latitude (< 1.2") is neglected."""
    t = _centuries_tt(_as_times(times))
    l0 = 280.46646 + 36000.76983 * t + 0.0003032 * t**2
    m = (357.52911 + 35999.05029 * t - 0.0001537 * t**2) * _DEG
    c = ((1.914602 - 0.004817 * t - 0.000014 * t**2) * np.sin(m)
         + (0.019993 - 0.000101 * t) * np.sin(2 * m) + 0.000289 * np.sin(3 * m))
    # aberration (-20.5") gives the apparent direction, which is what the Sun-Earth line
    # "sees"; nutation in longitude is left out with the rest of nutation (frame of date).
    lam = (l0 + c - 0.00569) * _DEG
    eps = obliquity(times)
    return np.stack([np.cos(lam), np.cos(eps) * np.sin(lam), np.sin(eps) * np.sin(lam)], -1)


def ecliptic_pole_gei(times) -> np.ndarray:
    """Unit vector of the ecliptic north pole in GEI mean of date, ``(N, 3)``."""
    eps = obliquity(times)
    return np.stack([np.zeros_like(eps), -np.sin(eps), np.cos(eps)], -1)


def igrf_dipole_coefficients(times, igrf: str = "igrf14"):
    """IGRF degree-1 Gauss coefficients ``g10, g11, h11`` (nT) at ``times``.

    Linear between the 5-year epochs; after the last epoch its secular variation; before 2000
    the 2000 values (MMS and its successors fly after 2015). ``igrf``: a key of
    :data:`IGRF_MODELS`."""
    epochs, *coefs, svs = IGRF_MODELS[igrf]

    def exact(days):
        y = decimal_year(days)
        out = []
        for coef, sv in zip(coefs, svs, strict=True):
            inside = np.interp(y, epochs, coef)
            after = coef[-1] + sv * (y - epochs[-1])
            out.append(np.where(y > epochs[-1], after, inside))
        return np.stack(out, -1)

    # the coefficients drift by < 0.1 nT per day: one evaluation per day
    values, inv = _per_unique(_as_times(times), "D", exact)
    g = values[inv]
    return g[:, 0], g[:, 1], g[:, 2]


def dipole_axis_geo(times, igrf: str = "igrf14") -> np.ndarray:
    """Unit vector towards the northern geomagnetic (dipole) pole in GEO, ``(N, 3)``.

    The dipole moment points along (g11, h11, g10) (southwards, g10 < 0); the northern pole is
    the opposite direction (Hapgood 1992 §3.3: ~80.4 N, 72.6 W in 2015)."""
    g10, g11, h11 = igrf_dipole_coefficients(times, igrf)
    q = -np.stack([g11, h11, g10], -1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def dipole_axis_gei(times, igrf: str = "igrf14") -> np.ndarray:
    """Unit vector of the northern dipole axis in GEI mean of date, ``(N, 3)``.

    GEO -> GEI is a rotation by GMST about Z (Hapgood's T1 transposed)."""
    t = _as_times(times)
    q = dipole_axis_geo(t, igrf)
    theta = gmst(t)
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([c * q[:, 0] - s * q[:, 1], s * q[:, 0] + c * q[:, 1], q[:, 2]], -1)


def _gse_axes(times: np.ndarray) -> np.ndarray:
    """Rows = GSE unit vectors in GEI (mean of date): the GEI -> GSE matrix, ``(N, 3, 3)``."""
    x = sun_direction_gei(times)
    z = ecliptic_pole_gei(times)
    z = z - np.sum(z * x, -1, keepdims=True) * x  # exact orthogonality (Sun latitude ~0)
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return np.stack([x, np.cross(z, x), z], -2)


def _gsm_axes(times: np.ndarray, igrf: str = "igrf14") -> np.ndarray:
    """Rows = GSM unit vectors in GEI (mean of date): the GEI -> GSM matrix, ``(N, 3, 3)``."""
    x = sun_direction_gei(times)
    q = dipole_axis_gei(times, igrf)
    z = q - np.sum(q * x, -1, keepdims=True) * x
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return np.stack([x, np.cross(z, x), z], -2)


def _apply(matrix: np.ndarray, xyz) -> np.ndarray:
    v = np.asarray(xyz, dtype=np.float64)
    single = v.ndim == 1
    v = np.atleast_2d(v)
    if matrix.shape[0] == 1 and v.shape[0] != 1:
        out = v @ matrix[0].T
    else:
        out = np.einsum("nij,nj->ni", matrix, v)
    return out[0] if single else out


def _prep(xyz, times):
    n = np.atleast_2d(np.asarray(xyz)).shape[0]
    t = _as_times(times)
    if t.size not in (1, n):
        raise ValueError(f"{t.size} times for {n} positions")
    return t


def dipole_tilt(times, igrf: str = "igrf14") -> np.ndarray:
    """Dipole tilt angle mu (rad): angle between the GSM Z axis and the dipole axis, positive
    when the northern magnetic pole leans towards the Sun (northern summer), Hapgood (1992)
    eq. for mu = arctan(x_e / sqrt(y_e^2 + z_e^2)) with the dipole axis in GSE."""
    t = _as_times(times)
    x = sun_direction_gei(t)
    q = dipole_axis_gei(t, igrf)
    return np.arcsin(np.clip(np.sum(q * x, -1), -1.0, 1.0))


def gei_to_gse(xyz, times) -> np.ndarray:
    """GEI (mean equator and equinox of date) -> GSE. ``xyz`` ``(N, 3)``, any length unit."""
    return _apply(_gse_axes(_prep(xyz, times)), xyz)


def gse_to_gei(xyz, times) -> np.ndarray:
    """GSE -> GEI (mean of date)."""
    return _apply(np.swapaxes(_gse_axes(_prep(xyz, times)), -1, -2), xyz)


def gei_to_gsm(xyz, times, igrf: str = "igrf14") -> np.ndarray:
    """GEI (mean of date) -> GSM."""
    return _apply(_gsm_axes(_prep(xyz, times), igrf), xyz)


def gsm_to_gei(xyz, times, igrf: str = "igrf14") -> np.ndarray:
    """GSM -> GEI (mean of date)."""
    return _apply(np.swapaxes(_gsm_axes(_prep(xyz, times), igrf), -1, -2), xyz)


def gse_to_gsm(xyz, times, igrf: str = "igrf14") -> np.ndarray:
    """GSE -> GSM: a rotation about the common X axis by the angle psi (Hapgood's T3)."""
    t = _prep(xyz, times)
    return _apply(_gsm_axes(t, igrf), _apply(np.swapaxes(_gse_axes(t), -1, -2), xyz))


def gsm_to_gse(xyz, times, igrf: str = "igrf14") -> np.ndarray:
    """GSM -> GSE."""
    t = _prep(xyz, times)
    return _apply(_gse_axes(t), _apply(np.swapaxes(_gsm_axes(t, igrf), -1, -2), xyz))


def j2000_to_gei(xyz, times) -> np.ndarray:
    """J2000 / EME2000 (MMS MEC "GCI") -> GEI mean of date (IAU 1976 precession)."""
    return _apply(precession_matrix(_prep(xyz, times)), xyz)


j2000_to_gei_mod = j2000_to_gei


def gei_to_j2000(xyz, times) -> np.ndarray:
    """GEI mean of date -> J2000 / EME2000."""
    return _apply(np.swapaxes(precession_matrix(_prep(xyz, times)), -1, -2), xyz)


def j2000_to_gse(xyz, times) -> np.ndarray:
    """J2000 -> GSE."""
    t = _prep(xyz, times)
    return _apply(_gse_axes(t), j2000_to_gei(xyz, t))


def j2000_to_gsm(xyz, times, igrf: str = "igrf14") -> np.ndarray:
    """J2000 -> GSM."""
    t = _prep(xyz, times)
    return _apply(_gsm_axes(t, igrf), j2000_to_gei(xyz, t))


def gsm_to_j2000(xyz, times, igrf: str = "igrf14") -> np.ndarray:
    """GSM -> J2000."""
    t = _prep(xyz, times)
    return gei_to_j2000(gsm_to_gei(xyz, t, igrf), t)


def gse_to_j2000(xyz, times) -> np.ndarray:
    """GSE -> J2000."""
    t = _prep(xyz, times)
    return gei_to_j2000(gse_to_gei(xyz, t), t)

"""An MMS1-like Keplerian orbit, fixed in inertial space, and its region of interest (ROI).

MMS flies a highly elliptical orbit of inclination ~28 deg and perigee ~1.2 R_E whose apogee
was raised in mission phases: ~12 R_E (phase 1, 2015-09 .. 2017-02), ~25 R_E (phase 2, from
2017-05) and ~29 R_E (phase 3 onwards, from 2019-02); Fuselier et al. (2016), "Magnetospheric
Multiscale science mission profile and operations", Space Sci. Rev. 199, 77-103. Because the
line of apsides stays fixed in inertial space while the Sun moves 360 deg a year, apogee sweeps
all local times once a year: dayside season around northern winter, tail season around northern
summer.

The orbit here is a two-body Kepler orbit in the J2000 (EME2000) frame; the elements are
chosen so that on 2015-12-01T00:00 UTC the synthetic MMS1 sits near where the real MEC
ephemeris puts it (9.1 R_E, right ascension 224 deg, declination -20 deg). Phase changes are
linear ramps of apogee, inclination and argument of perigee over the manoeuvre months; the mean
anomaly is the time integral of the mean motion, so the orbit is continuous across them.
Perturbations (lunisolar, J2) are left out: they move the real orbit by a few degrees a year.

Fast-survey data (what the atlas ingests) exist only in a region of interest near apogee.
:func:`in_roi` uses a radial threshold that is a fixed fraction of each phase's apogee, tuned
so that ten years give about 660 k valid 2-min windows (the paper has 660,340).
"""

from __future__ import annotations

import numpy as np

from atlas_core.physics.constants import R_E_KM

MU_EARTH_KM3_S2 = 398600.4418
"""Earth's gravitational parameter GM, km^3 s^-2."""

PERIGEE_RE = 1.2
"""Geocentric perigee distance, R_E."""

# (date, apogee R_E, inclination deg, argument of perigee deg); linear between rows. The
# argument of perigee drifts in phase 3 (lunisolar perturbations moved the real apogee south),
# which spreads the coverage in GSM z as in the paper (z from about -20 to +10 R_E).
_PHASES = [
    ("2015-03-13", 12.0, 28.0, 68.1),
    ("2017-02-01", 12.0, 28.0, 68.1),
    ("2017-05-01", 25.0, 28.0, 0.0),
    ("2019-02-01", 25.0, 28.0, 0.0),
    ("2019-03-15", 29.0, 28.0, 10.0),
    ("2026-01-01", 29.0, 35.0, 85.0),
]
RAAN_DEG = 1.2
"""Right ascension of the ascending node, J2000, deg (held fixed)."""
EPOCH = np.datetime64("2015-12-01T00:00:00", "ns")
"""Epoch of :data:`TRUE_ANOMALY_AT_EPOCH_DEG`."""
TRUE_ANOMALY_AT_EPOCH_DEG = 158.4

ROI_FRACTION = 0.5
"""Fast-survey region of interest: geocentric distance >= this fraction of the phase's apogee."""
ROI_MIN_RE = 6.0
"""... and never below this distance, R_E."""

_PHASE_T = np.array([np.datetime64(p[0], "ns") for p in _PHASES]).astype("int64") / 1e9
_PHASE_APO = np.array([p[1] for p in _PHASES])
_PHASE_INC = np.radians([p[2] for p in _PHASES])
_PHASE_ARGP = np.radians([p[3] for p in _PHASES])


def _seconds(times) -> np.ndarray:
    return np.asarray(times, dtype="datetime64[ns]").astype("int64") / 1e9


def elements(times) -> dict[str, np.ndarray]:
    """Orbital elements at ``times``: apogee and perigee (R_E), semi-major axis ``a_km``,
    eccentricity ``e``, inclination ``inc``, argument of perigee ``argp``, node ``raan`` (rad),
    mean motion ``n`` (rad/s)."""
    return _elements_s(_seconds(times))


def _elements_s(s: np.ndarray) -> dict[str, np.ndarray]:
    apo = np.interp(s, _PHASE_T, _PHASE_APO)
    a_km = 0.5 * (apo + PERIGEE_RE) * R_E_KM
    e = (apo - PERIGEE_RE) / (apo + PERIGEE_RE)
    return {
        "apogee_re": apo,
        "perigee_re": np.full_like(apo, PERIGEE_RE),
        "a_km": a_km,
        "e": e,
        "inc": np.interp(s, _PHASE_T, _PHASE_INC),
        "argp": np.interp(s, _PHASE_T, _PHASE_ARGP),
        "raan": np.full_like(apo, np.radians(RAAN_DEG)),
        "n": np.sqrt(MU_EARTH_KM3_S2 / a_km**3),
    }


def _mean_from_true(nu, e):
    ecc_anom = 2.0 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
    return ecc_anom - e * np.sin(ecc_anom)


def _mean_motion_integral(s: np.ndarray) -> np.ndarray:
    """Integral of the mean motion from the first phase node to ``s`` (seconds since 1970), rad.

    Between phase nodes the apogee, hence the semi-major axis, is linear in time,
    ``a(t) = a0 + k t``, and ``n = sqrt(mu) a^{-3/2}`` integrates exactly:
    ``int n dt = 2 sqrt(mu) (a0^{-1/2} - a(t)^{-1/2}) / k`` (``n dt`` where ``k`` = 0); before the
    first and after the last node ``a`` is constant. Closed form and vectorised: the cost is
    linear in the number of times, whatever the span."""
    t_nodes = _PHASE_T
    a_nodes = 0.5 * (_PHASE_APO + PERIGEE_RE) * R_E_KM
    sq_mu = np.sqrt(MU_EARTH_KM3_S2)

    def segment(a0, a1, dt):
        # integral over a segment of length dt whose a goes linearly from a0 to a1
        with np.errstate(divide="ignore", invalid="ignore"):
            ramp = 2.0 * sq_mu * (a0 ** -0.5 - a1 ** -0.5) * dt / (a1 - a0)
        flat = sq_mu * a0 ** -1.5 * dt
        return np.where(np.abs(a1 - a0) > 1e-9 * a0, ramp, flat)

    seg_dt = np.diff(t_nodes)
    cum = np.concatenate([[0.0], np.cumsum(segment(a_nodes[:-1], a_nodes[1:], seg_dt))])
    s = np.asarray(s, dtype=float)
    i = np.clip(np.searchsorted(t_nodes, s, side="right") - 1, 0, t_nodes.size - 2)
    before, after = s < t_nodes[0], s > t_nodes[-1]
    dt = np.clip(s - t_nodes[i], 0.0, seg_dt[i])
    a_s = np.interp(s, t_nodes, a_nodes)
    out = cum[i] + segment(a_nodes[i], a_s, dt)
    out = np.where(before, sq_mu * a_nodes[0] ** -1.5 * (s - t_nodes[0]), out)
    out = np.where(after, cum[-1] + sq_mu * a_nodes[-1] ** -1.5 * (s - t_nodes[-1]), out)
    return out


def mean_anomaly(times) -> np.ndarray:
    """Mean anomaly (rad, unwrapped) at ``times``: M(epoch) + the integral of the mean motion
    from the epoch (:func:`_mean_motion_integral`, exact for the piecewise-linear apogee)."""
    s = _seconds(times)
    s0 = _seconds(EPOCH)
    m0 = _mean_from_true(np.radians(TRUE_ANOMALY_AT_EPOCH_DEG), _elements_s(np.array(s0))["e"])
    return m0 + _mean_motion_integral(s) - _mean_motion_integral(np.array(s0))


def _solve_kepler(m, e, iterations: int = 12):
    """Eccentric anomaly from mean anomaly (Newton's method, vectorised)."""
    m = np.mod(m, 2 * np.pi)
    ecc = np.where(e > 0.8, np.pi, m)
    for _ in range(iterations):
        ecc = ecc - (ecc - e * np.sin(ecc) - m) / (1 - e * np.cos(ecc))
    return ecc


def position_j2000_km(times, mean_anom=None) -> np.ndarray:
    """MMS1-like position in J2000 (EME2000, "GCI"), km, ``(N, 3)``."""
    el = elements(times)
    m = mean_anomaly(times) if mean_anom is None else mean_anom
    e = el["e"]
    ecc = _solve_kepler(m, e)
    nu = 2.0 * np.arctan2(np.sqrt(1 + e) * np.sin(ecc / 2), np.sqrt(1 - e) * np.cos(ecc / 2))
    r = el["a_km"] * (1 - e * np.cos(ecc))
    u = el["argp"] + nu
    inc, raan = el["inc"], el["raan"]
    cu, su, ci, si, cO, sO = np.cos(u), np.sin(u), np.cos(inc), np.sin(inc), np.cos(raan), np.sin(raan)
    x = r * (cO * cu - sO * su * ci)
    y = r * (sO * cu + cO * su * ci)
    z = r * (su * si)
    return np.stack([x, y, z], axis=-1)


def roi_threshold_re(times) -> np.ndarray:
    """Geocentric distance (R_E) above which fast-survey data are taken at ``times``."""
    return np.maximum(ROI_FRACTION * elements(times)["apogee_re"], ROI_MIN_RE)


def in_roi(times, r_re) -> np.ndarray:
    """True where the spacecraft at distance ``r_re`` (R_E) is inside the region of interest."""
    return np.asarray(r_re) >= roi_threshold_re(times)

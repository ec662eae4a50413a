"""Regime maps in the coordinates space physicists bin statistics in, beside the GSM slices:

- MLT–R: magnetic local time (h, from solar-magnetic coordinates) and radial distance (R_E),
  the usual dial of ring-current, plasmasphere and plasma-sheet statistics;
- X–ρ: GSM x and the distance from the Sun–Earth line ρ = sqrt(y² + z²) (R_E), the plane the
  magnetopause and bow-shock models are surfaces of revolution in.

:func:`regime_map` bins the windows a condition selects and gives, per non-empty bin, the
windows per regime, the dominant regime, its fraction of the bin's windows, a low-count flag
and the fill colour and alpha the product layer's slice rule gives (:mod:`atlas_core.palette`,
:data:`atlas_core.atlas.product.LOW_COUNT_ALPHA`), so the maps read like the slices. Fractions
are of 2-minute windows (consecutive windows are not independent looks; the effective counts
of the octree cells do not apply to these bins).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlas_core.palette import regime_labels, slice_scale

MAP_KINDS = {"mlt_r": ("MLT", "h", "R", "R_E"), "x_rho": ("x_GSM", "R_E", "ρ", "R_E")}
"""Map kind -> (horizontal name, unit, vertical name, unit)."""


def solar_magnetic_xy(x_gsm, y_gsm, z_gsm, times) -> tuple[np.ndarray, np.ndarray]:
    """x and y in solar-magnetic (SM) coordinates, R_E: GSM rotated about its y axis by the
    dipole tilt μ (Hapgood 1992: x_SM = x cos μ − z sin μ, y_SM = y). The tilt is evaluated
    once per UTC hour (it changes by < 0.5° within an hour)."""
    from atlas_core.physics.coordinates import dipole_tilt

    t = np.asarray(times, dtype="datetime64[ns]")
    hours, inverse = np.unique(t.astype("datetime64[h]"), return_inverse=True)
    mu = dipole_tilt(hours.astype("datetime64[ns]"))[inverse.reshape(-1)]
    x, z = np.asarray(x_gsm, dtype=float), np.asarray(z_gsm, dtype=float)
    return x * np.cos(mu) - z * np.sin(mu), np.asarray(y_gsm, dtype=float)


def magnetic_local_time(x_gsm, y_gsm, z_gsm, times) -> np.ndarray:
    """Magnetic local time (h, 0..24) of GSM positions: 12 + atan2(y_SM, x_SM)·12/π (noon
    towards the Sun, 18 h at dusk +y, midnight anti-sunward)."""
    x_sm, y_sm = solar_magnetic_xy(x_gsm, y_gsm, z_gsm, times)
    return np.mod(12.0 + np.arctan2(y_sm, x_sm) * 12.0 / np.pi, 24.0)


def map_coordinates(states: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of every state in a map: (MLT h, R R_E) or (x_GSM, ρ R_E)."""
    x, y, z = (states[c].to_numpy(dtype=float) for c in ("x_gsm", "y_gsm", "z_gsm"))
    if kind == "mlt_r":
        return magnetic_local_time(x, y, z, states["time"].to_numpy()), np.sqrt(x * x + y * y + z * z)
    if kind == "x_rho":
        return x, np.hypot(y, z)
    raise ValueError(f"map kind must be one of {', '.join(MAP_KINDS)}, got {kind!r}")


def regime_map(u: np.ndarray, v: np.ndarray, codes: np.ndarray, names: list[str], kind: str,
               rows=None, *, u_step: float | None = None, v_step: float = 1.0,
               min_count: int = 10) -> pd.DataFrame:
    """Bin the selected windows (``rows`` into ``u``, ``v``, ``codes``; None: all) of a map.

    Bins are ``u_step`` wide (default 1 h of MLT or 1 R_E of x) and ``v_step`` R_E high.
    Returns one row per non-empty bin: ``u0 u1 v0 v1`` (bin edges), ``windows``,
    ``dominant`` (regime id), ``regime`` (its label), ``fraction`` (of the bin's windows),
    ``low_count`` (windows < ``min_count``), ``fill``, ``alpha``; and one column ``w<k>`` of
    windows per regime. ``attrs``: kind, steps, axis names and units, ``n_windows``.
    """
    from atlas_core.atlas.product import FULL_ALPHA, LOW_COUNT_ALPHA

    if kind not in MAP_KINDS:
        raise ValueError(f"map kind must be one of {', '.join(MAP_KINDS)}, got {kind!r}")
    du = float(u_step if u_step is not None else 1.0)
    dv = float(v_step)
    k = len(names)
    sel = slice(None) if rows is None else np.asarray(rows, dtype=np.int64)
    u, v, codes = np.asarray(u)[sel], np.asarray(v)[sel], np.asarray(codes, dtype=np.int64)[sel]
    ok = np.isfinite(u) & np.isfinite(v) & (codes >= 0) & (codes < k)
    u, v, codes = u[ok], v[ok], codes[ok]
    iu = np.floor(u / du).astype(np.int64)
    iv = np.floor(v / dv).astype(np.int64)
    if kind == "mlt_r":
        iu = np.mod(iu, int(round(24.0 / du)))
    cols = [f"w{j}" for j in range(k)]
    if u.size == 0:
        frame = pd.DataFrame({c: [] for c in ["u0", "u1", "v0", "v1", "windows", "dominant",
                                             "regime", "fraction", "low_count", "fill", "alpha",
                                             *cols]})
    else:
        bins, inverse = np.unique(np.column_stack([iu, iv]), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        table = np.bincount(inverse * k + codes, minlength=len(bins) * k).reshape(len(bins), k)
        windows = table.sum(axis=1)
        dominant = table.argmax(axis=1)
        scale = slice_scale("dominant", list(names))
        low = windows < int(min_count)
        frame = pd.DataFrame({
            "u0": bins[:, 0] * du, "u1": (bins[:, 0] + 1) * du,
            "v0": bins[:, 1] * dv, "v1": (bins[:, 1] + 1) * dv,
            "windows": windows, "dominant": dominant,
            "regime": np.asarray(regime_labels(list(names)), dtype=object)[dominant],
            "fraction": table[np.arange(len(bins)), dominant] / windows,
            "low_count": low, "fill": scale.colors_of(dominant.astype(float)),
            "alpha": np.where(low, LOW_COUNT_ALPHA, FULL_ALPHA),
        })
        frame[cols] = table
    hname, hunit, vname, vunit = MAP_KINDS[kind]
    frame.attrs.update(kind=kind, u_step=du, v_step=dv, u_name=hname, u_unit=hunit, v_name=vname,
                       v_unit=vunit, n_windows=int(u.size), min_count=int(min_count))
    return frame

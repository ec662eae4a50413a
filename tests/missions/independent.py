"""An independent read and windowing of Cluster files, to check the ingest against.

Written apart from atlas_core's readers and ``make_states``: raw ``cdflib.CDF.varget`` reads,
fill and valid-range masks from the attributes written out here, CDF_EPOCH converted by plain
arithmetic, 10 s bins by pandas ``groupby``, windows by pandas ``rolling``, physical constants
from ``scipy.constants``. Only the GSE -> GSM rotation is the project's (the checked transform
of atlas_core.physics.coordinates; tests/sources/test_coordinates.py checks it against MMS MEC,
tests/missions/test_themis_real.py against the THEMIS SOC state file).
"""

from __future__ import annotations

import cdflib
import numpy as np
import pandas as pd
from scipy import constants as sc

from atlas_core.physics.coordinates import gse_to_gsm

R_E_KM = 6371.2
MK_EV = 1e6 * sc.k / sc.e


def _raw(cdf, name):
    x = np.asarray(cdf.varget(name), dtype=float)
    a = cdf.varattsget(name)
    bad = np.zeros(x.shape, bool)
    if "FILLVAL" in a:
        bad |= np.isclose(x, float(np.ravel(a["FILLVAL"])[0]), rtol=1e-6)
    if "VALIDMIN" in a:
        bad |= x < np.ravel(a["VALIDMIN"])[0]
    if "VALIDMAX" in a:
        bad |= x > np.ravel(a["VALIDMAX"])[0]
    x[bad] = np.nan
    return x


def _epoch(cdf, name):
    ms = np.asarray(cdf.varget(name), dtype=float).ravel()
    return pd.to_datetime((ms - 62167219200000.0) * 1e6, unit="ns")


def read_fgm(path, probe="C1"):
    cdf = cdflib.CDF(str(path))
    s = f"__{probe}_CP_FGM_SPIN"
    t = _epoch(cdf, "time_tags" + s)
    b = _raw(cdf, "B_vec_xyz_gse" + s)
    bmag = _raw(cdf, "B_mag" + s).ravel()
    pos = _raw(cdf, "sc_pos_xyz_gse" + s)
    return pd.DataFrame({"Bx": b[:, 0], "By": b[:, 1], "Bz_gse": b[:, 2], "B": bmag,
                         "X": pos[:, 0], "Y": pos[:, 1], "Z": pos[:, 2]}, index=t)


def read_cis(path, probe="C1"):
    cdf = cdflib.CDF(str(path))
    s = f"__{probe}_PP_CIS"
    t = _epoch(cdf, "Epoch" + s)
    status = np.asarray(cdf.varget("Status" + s))[:, 0]
    v = _raw(cdf, "V_HIA_xyz_gse" + s)
    df = pd.DataFrame({"n": _raw(cdf, "N_HIA" + s), "Vx": v[:, 0], "Vy": v[:, 1],
                       "Vz": v[:, 2], "Tpar": _raw(cdf, "T_HIA_par" + s) * MK_EV,
                       "Tperp": _raw(cdf, "T_HIA_perp" + s) * MK_EV}, index=t)
    df[(status == 0) | (status == 255)] = np.nan
    df["T"] = (df["Tpar"] + 2 * df["Tperp"]) / 3
    return df


def windows(fgm: pd.DataFrame, cis: pd.DataFrame, day: str) -> pd.DataFrame:
    """2-min windows centred on the whole minutes of ``day`` (12 bins of 10 s, >= 9 valid)."""
    t0 = pd.Timestamp(day) - pd.Timedelta(seconds=60)
    grid = pd.date_range(t0, pd.Timestamp(day) + pd.Timedelta(days=1), freq="10s",
                         inclusive="left")
    fgm = fgm.copy()
    bgsm = gse_to_gsm(fgm[["Bx", "By", "Bz_gse"]].to_numpy(), fgm.index.to_numpy())
    fgm["Bz"] = bgsm[:, 2]
    f = fgm[fgm[["Bx", "By", "Bz_gse", "B"]].notna().all(axis=1)]
    p = cis[cis[["n", "Vx", "Vy", "Vz", "T"]].notna().all(axis=1)].copy()
    p["V"] = np.sqrt(p.Vx**2 + p.Vy**2 + p.Vz**2)
    fb = f[["B", "Bz"]].groupby(f.index.floor("10s")).mean().reindex(grid)
    pb = p[["n", "T", "V", "Vx"]].groupby(p.index.floor("10s")).mean().reindex(grid)
    q = pd.concat([fb, pb], axis=1)
    n_m3, t_j = q.n * 1e6, q["T"] * sc.e
    q["beta"] = (n_m3 * t_j + sc.m_p * n_m3 * (q.V * 1e3) ** 2) / ((q.B * 1e-9) ** 2 / (2 * sc.mu_0))
    valid = q.notna().all(axis=1) & (q.B > 0) & (q.n > 0) & (q["T"] > 0)
    q = q.where(valid)
    # position: FGM ephemeris interpolated to bin centres, GSE -> GSM, R_E
    centres = (grid + pd.Timedelta(seconds=5)).as_unit("ns")
    tf = fgm.index.as_unit("ns").asi8.astype(float)
    pos = np.column_stack([np.interp(centres.asi8.astype(float), tf, fgm[c].to_numpy())
                           for c in ("X", "Y", "Z")])
    pos = gse_to_gsm(pos, centres.to_numpy()) / R_E_KM
    for j, c in enumerate(("x_gsm", "y_gsm", "z_gsm")):
        q[c] = np.where(valid, pos[:, j], np.nan)
    roll = q.rolling(12, min_periods=1)
    mean, count = roll.mean(), valid.astype(int).rolling(12).sum()
    std = q.rolling(12, min_periods=1).std(ddof=0)
    med = q[["x_gsm", "y_gsm", "z_gsm"]].rolling(12, min_periods=1).median()
    # the rolling window ending in the bin starting at b spans [b - 110 s, b + 10 s): its
    # centre is b - 50 s
    out = pd.DataFrame({"time": q.index - pd.Timedelta(seconds=50)}, index=q.index)
    for c in ("B", "Bz", "n", "T", "V", "Vx", "beta"):
        out[f"{c}_mean"], out[f"{c}_std"] = mean[c], std[c]
    for c in ("x_gsm", "y_gsm", "z_gsm"):
        out[c] = med[c]
    out["n_bins"] = count
    keep = ((out.n_bins >= 9) & (out.time >= pd.Timestamp(day))
            & (out.time < pd.Timestamp(day) + pd.Timedelta(days=1))
            & (out.time.dt.second == 0))
    return out[keep].reset_index(drop=True)

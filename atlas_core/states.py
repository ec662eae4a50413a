"""The state table: 2-minute plasma state windows, its schema, and windowing.

A *state* summarises the local plasma over a 2-minute window (10 s bins, 1-minute stride, so
consecutive windows overlap by 50 %), following Markidis, Ekelund & Pennati, "A Generative
Atlas of the Magnetosphere" (ICCS 2026). This module owns the schema every later stage reads.
"""

from __future__ import annotations

# --- schema -------------------------------------------------------------------------------

WINDOW_S = 120
"""Window length, s."""
STRIDE_S = 60
"""Window stride, s (50 % overlap)."""
BIN_S = 10
"""Resampling cadence inside a window, s (12 bins per window)."""
MIN_VALID_BINS = 9
"""A window is valid when at least this many of its 12 bins hold both field and plasma data."""

POSITION_GSM = ["x_gsm", "y_gsm", "z_gsm"]
"""Median window position, GSM, Earth radii (R_E)."""
POSITION_GSE = ["x_gse", "y_gse", "z_gse"]
"""Median window position, GSE, Earth radii (R_E)."""

FEATURE_UNITS = {
    "B": "nT",  # |B|
    "Bz": "nT",  # B_z, GSM
    "n": "cm^-3",  # ion number density (FPI DIS)
    "T": "eV",  # ion temperature (T_para + 2 T_perp) / 3
    "V": "km/s",  # |V_i|
    "Vx": "km/s",  # V_i,x, GSE (= GSM x)
    "beta": "1",  # beta_i* = (n k T + m_p n |V|^2) / (B^2 / 2 mu0)
}
"""The seven measured quantities and their units."""

FEATURES = [f"{q}_{stat}" for q in FEATURE_UNITS for stat in ("mean", "std")]
"""The d = 14 window features: mean and standard deviation over the window of each quantity.
Order: B_mean, B_std, Bz_mean, Bz_std, n_mean, n_std, T_mean, T_std, V_mean, V_std,
Vx_mean, Vx_std, beta_mean, beta_std."""

LOG_FEATURES = ["B_mean", "B_std", "Bz_std", "n_mean", "n_std", "T_mean", "T_std",
                "V_mean", "V_std", "Vx_std", "beta_mean", "beta_std"]
"""Features that span decades and are positive: models see log10 of these (the signed
Bz_mean and Vx_mean stay linear)."""

COLUMNS = (
    ["time"] + POSITION_GSM + POSITION_GSE + FEATURES + ["dst", "n_bins", "mission", "probe"]
)
"""Required columns, in order. ``time`` is the window centre (datetime64[ns], UTC, tz-naive);
``dst`` nT at the window time (NaN when unknown); ``n_bins`` valid 10 s bins (9..12);
``mission`` e.g. "MMS"; ``probe`` e.g. "mms1"."""

OPTIONAL_COLUMNS = {
    "region": "majority truth region of the window's samples (synthetic archive only)",
    "ddst_dt": "dDst/dt at the window time, nT/h (centred difference of the hourly index)",
    "sw_n": "solar-wind proton density from OMNI, cm^-3",
    "sw_v": "solar-wind bulk speed from OMNI, km/s",
    "imf_bz_gsm": "IMF Bz (GSM) from OMNI, nT",
    "sw_pdyn": "solar-wind dynamic pressure from OMNI, nPa",
}
"""Columns present when their source was ingested."""


# --- windowing ----------------------------------------------------------------------------
#
# Convention: a window is identified by its centre ``time``, always a whole UTC minute; it
# covers [time - 60 s, time + 60 s), i.e. the twelve 10 s bins that start at time - 60 s,
# time - 50 s, ..., time + 50 s. Consecutive windows (centres one minute apart) share six bins.
# A sample's time is the centre of the interval it stands for: the readers move tags that mark
# the start of an accumulation (FPI's Epoch, +2.25 s in fast survey) to its centre from the
# file's DELTA_PLUS_VAR / DELTA_MINUS_VAR (atlas_core.sources.cdf.time_centre_offset_ns).
# Each bin holds the mean of the samples whose time falls in it; a bin is *valid* when it has
# field and plasma samples (and B, n, T > 0). Features are the mean and the population standard
# deviation (ddof = 0) over the valid bins; beta* is computed per bin from the bin means.
# Positions are the median over the valid bins of the ephemeris interpolated to bin centres.

import json  # noqa: E402
import os  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from atlas_core.physics.constants import (  # noqa: E402
    CM3_M3,
    EV_J,
    KMS_MS,
    M_P_KG,
    MU0,
    NT_T,
    R_E_KM,
)

BINS_PER_WINDOW = WINDOW_S // BIN_S  # 12
BINS_PER_STRIDE = STRIDE_S // BIN_S  # 6
_NS = 1_000_000_000


def beta_star(b_nt, n_cm3, t_ev, v_kms):
    """beta_i* = (n k T + m_p n |V|^2) / (B^2 / 2 mu0), dimensionless.

    Ion thermal plus dynamic pressure over magnetic pressure (DESIGN.md §2); inputs in nT,
    cm^-3, eV, km/s (k T in J is T[eV] * e)."""
    n = np.asarray(n_cm3) * CM3_M3
    p_th = n * np.asarray(t_ev) * EV_J
    p_dyn = M_P_KG * n * (np.asarray(v_kms) * KMS_MS) ** 2
    p_b = (np.asarray(b_nt) * NT_T) ** 2 / (2.0 * MU0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (p_th + p_dyn) / p_b


def _bin_means(times, values, origin, n_bins):
    """Per-bin means of ``values`` (N, q) over 10 s bins from ``origin``; and sample counts.

    Samples with any non-finite value, or outside the bins, are ignored."""
    values = np.asarray(values, dtype=np.float64).reshape(len(times), -1)
    q = values.shape[1]
    t = np.asarray(times, dtype="datetime64[ns]").view(np.int64)
    if t.size and np.all(t[1:] >= t[:-1]):
        # sorted (what the readers return): one pass of segment sums between bin edges
        edges = origin.astype(np.int64) + np.arange(n_bins + 1, dtype=np.int64) * BIN_S * _NS
        pos = np.searchsorted(t, edges)
        lo, hi = pos[0], pos[-1]
        counts_all = np.diff(pos)
        if hi <= lo:
            return np.full((n_bins, q), np.nan), np.zeros(n_bins, dtype=np.int64)
        # one zero row at the end so that empty trailing bins have a valid start index
        sub = np.empty((hi - lo + 1, q))
        sub[:-1] = values[lo:hi]
        sub[-1] = 0.0
        ok = np.isfinite(sub[:, 0])
        for j in range(1, q):  # column by column: far faster than .all(axis=1) on (N, 2)
            ok &= np.isfinite(sub[:, j])
        ok[-1] = False
        np.copyto(sub, 0.0, where=~ok[:, None])
        starts = pos[:-1] - lo
        sums = np.add.reduceat(sub, starts, axis=0)
        counts = np.add.reduceat(ok.astype(np.int64), starts)
        empty = counts_all == 0
        sums[empty] = 0.0
        counts[empty] = 0
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts[:, None]
        means[counts == 0] = np.nan
        return means, counts
    idx = (np.asarray(times, dtype="datetime64[ns]") - origin).astype(np.int64) // (BIN_S * _NS)
    ok = (idx >= 0) & (idx < n_bins) & np.isfinite(values).all(axis=1)
    idx, values = idx[ok], values[ok]
    counts = np.bincount(idx, minlength=n_bins)
    sums = np.empty((n_bins, q))
    for j in range(q):  # a handful of columns, each a vectorised bincount
        sums[:, j] = np.bincount(idx, weights=values[:, j], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts == 0] = np.nan
    return means, counts


def _interp_positions(t_state, r_km, centres_ns, max_gap_s=600.0, max_extrapolate_s=90.0):
    """Linear interpolation of an ephemeris to bin centres; NaN more than
    ``max_extrapolate_s`` beyond its ends or across gaps longer than ``max_gap_s``."""
    out = np.full((centres_ns.size, 3), np.nan)
    if t_state is None or len(t_state) == 0:
        return out
    ts = np.asarray(t_state, dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
    r = np.asarray(r_km, dtype=np.float64)
    good = np.isfinite(r).all(axis=1)
    ts, r = ts[good], r[good]
    if ts.size == 0:
        return out
    x = centres_ns.astype(np.float64)
    for j in range(3):
        out[:, j] = np.interp(x, ts, r[:, j])
    margin = max_gap_s * _NS
    edge = max_extrapolate_s * _NS
    outside = (x < ts[0] - edge) | (x > ts[-1] + edge)
    if ts.size > 1:
        pos = np.clip(np.searchsorted(ts, x), 1, ts.size - 1)
        gap = (ts[pos] - ts[pos - 1]) > margin
        outside |= gap & (x > ts[0]) & (x < ts[-1])
    out[outside] = np.nan
    return out


def _windows(arr):
    """(n_bins, ...) -> (n_windows, ..., 12): the 12 bins of each window, one-minute stride."""
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(arr, BINS_PER_WINDOW, axis=0)[::BINS_PER_STRIDE]


def make_states(
    fgm,
    fpi,
    start,
    end,
    *,
    positions=None,
    indices: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
    mission: str = "MMS",
    probe: str = "mms1",
) -> pd.DataFrame:
    """The valid 2-minute windows whose centres lie in ``[start, end)`` (whole minutes).

    ``fgm``: Dataset from :func:`atlas_core.sources.mms.read_fgm` (``b_total``, ``b_gsm``,
    ``r_gsm``/``r_gse`` on ``time_state``); ``fpi``: from ``read_fpi_dis`` (``n``, ``v_gse``,
    ``t``); ``positions``: optional MEC Dataset (``r_gsm``, ``r_gse`` on ``time``), preferred
    over the FGM ephemeris; ``indices``: hourly table from
    :func:`atlas_core.sources.indices.read_indices`; ``truth``: ``time``, ``region`` rows.
    Fully vectorised: one pass of segment sums over the samples, then strided reductions
    over the (windows x 12 bins) arrays; no Python loop per window."""
    start = np.datetime64(start, "m").astype("datetime64[ns]")
    end = np.datetime64(end, "m").astype("datetime64[ns]")
    n_win = int((end - start) // np.timedelta64(STRIDE_S, "s"))
    empty = pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, "float64")) for c in COLUMNS})
    if n_win <= 0 or fgm is None or fpi is None:
        return empty
    origin = start - np.timedelta64(WINDOW_S // 2, "s")
    n_bins = n_win * BINS_PER_STRIDE + (BINS_PER_WINDOW - BINS_PER_STRIDE)

    b = fgm["b_gsm"].values
    field, f_cnt = _bin_means(fgm["time"].values,
                              np.column_stack([fgm["b_total"].values, b[:, 2]]), origin, n_bins)
    v = fpi["v_gse"].values
    plasma, p_cnt = _bin_means(
        fpi["time"].values,
        np.column_stack([fpi["n"].values, np.linalg.norm(v, axis=1), v[:, 0], fpi["t"].values]),
        origin, n_bins)
    bmag, bz = field[:, 0], field[:, 1]
    n, vmag, vx, temp = plasma.T
    beta = beta_star(bmag, n, temp, vmag)
    with np.errstate(invalid="ignore"):
        valid = (f_cnt > 0) & (p_cnt > 0) & (bmag > 0) & (n > 0) & (temp > 0)
    valid &= np.isfinite(beta)

    wvalid = _windows(valid)  # (n_win, 12)
    n_valid = wvalid.sum(axis=1)
    keep = np.flatnonzero(n_valid >= MIN_VALID_BINS)
    if keep.size == 0:
        return empty
    mask = wvalid[keep]
    cnt = n_valid[keep].astype(np.float64)

    quantities = np.column_stack([bmag, bz, n, temp, vmag, vx, beta])  # FEATURE_UNITS order
    wq = _windows(quantities)[keep]  # (k, 7, 12)
    m3 = mask[:, None, :]
    x = np.where(m3, wq, 0.0)
    mean = x.sum(axis=2) / cnt[:, None]
    var = (np.where(m3, wq - mean[:, :, None], 0.0) ** 2).sum(axis=2) / cnt[:, None]
    std = np.sqrt(var)

    centres = origin.astype(np.int64) + (np.arange(n_bins) * BIN_S + BIN_S / 2) * _NS
    pos = np.concatenate([_interp_positions(fgm["time_state"].values, fgm["r_gsm"].values,
                                            centres),
                          _interp_positions(fgm["time_state"].values, fgm["r_gse"].values,
                                            centres)], axis=1)
    if positions is not None and positions.sizes.get("time", 0):
        # MEC (the definitive ephemeris product) where it covers, the FGM copy elsewhere
        mec = np.concatenate([
            _interp_positions(positions["time"].values, positions["r_gsm"].values, centres),
            _interp_positions(positions["time"].values, positions["r_gse"].values, centres)],
            axis=1)
        have = np.isfinite(mec).all(axis=1)
        pos[have] = mec[have]
    pos /= R_E_KM
    wpos = np.where(mask[:, None, :], _windows(pos)[keep], np.nan)  # (k, 6, 12)
    with warnings.catch_warnings():  # all-NaN rows (no position) are expected, dropped below
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(wpos, axis=2)

    times = start + keep.astype(np.int64) * np.timedelta64(STRIDE_S, "s")
    data = {"time": times}
    for j, col in enumerate(POSITION_GSM + POSITION_GSE):
        data[col] = med[:, j]
    for j, q in enumerate(FEATURE_UNITS):
        data[f"{q}_mean"] = mean[:, j]
        data[f"{q}_std"] = std[:, j]
    hourly = None
    if indices is not None:
        from atlas_core.sources.indices import lookup_hourly

        hourly = lookup_hourly(indices, times)
    data["dst"] = hourly["dst"].to_numpy() if hourly is not None and "dst" in hourly else (
        np.full(keep.size, np.nan))
    data["n_bins"] = n_valid[keep].astype(np.int16)
    data["mission"] = mission
    data["probe"] = probe
    df = pd.DataFrame(data)
    if hourly is not None:
        for col in ("ddst_dt", "sw_n", "sw_v", "imf_bz_gsm", "sw_pdyn"):
            if col in hourly:
                df[col] = hourly[col].to_numpy()
    if truth is not None and len(truth):
        df["region"] = _majority_region(truth, origin, n_bins, keep)
    # a window without a position cannot be placed in the atlas
    placed = np.isfinite(med).all(axis=1)
    df = df[placed].reset_index(drop=True)
    df.attrs["windows_without_position"] = int((~placed).sum())
    return df


def _majority_region(truth: pd.DataFrame, origin, n_bins: int, keep: np.ndarray) -> np.ndarray:
    """Most frequent truth region among the samples inside each kept window."""
    cats = pd.Categorical(truth["region"].astype(str))
    codes = cats.codes.astype(np.int64)
    k = len(cats.categories)
    idx = (truth["time"].to_numpy(dtype="datetime64[ns]") - origin).astype(np.int64) // (
        BIN_S * _NS)
    ok = (idx >= 0) & (idx < n_bins) & (codes >= 0)
    counts = np.bincount(idx[ok] * k + codes[ok], minlength=n_bins * k).reshape(n_bins, k)
    csum = np.vstack([np.zeros((1, k), np.int64), np.cumsum(counts, axis=0)])
    lo = keep * BINS_PER_STRIDE
    win = csum[lo + BINS_PER_WINDOW] - csum[lo]
    out = np.asarray(cats.categories, dtype=object)[win.argmax(axis=1)]
    out[win.sum(axis=1) == 0] = None
    return out


_DTYPES = {"time": "datetime64[ns]", "n_bins": "int16", "mission": "object", "probe": "object"}


# --- the table on disk --------------------------------------------------------------------


def day_path(root: str | Path, day) -> Path:
    """``STATES/month=YYYY-MM/day=YYYYMMDD.parquet`` for ``day``."""
    s = str(np.datetime64(day, "D"))
    return Path(root) / f"month={s[:7]}" / f"day={s.replace('-', '')}.parquet"


def write_day(df: pd.DataFrame, root: str | Path, day) -> Path:
    """Write one day's states atomically (temporary file, then rename)."""
    path = day_path(root, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def state_files(path: str | Path) -> list[Path]:
    """The day files of a state table (or the file itself when ``path`` is a file)."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(path.glob("month=*/day=*.parquet"))


def read_states(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The state table at ``path`` (a STATES folder or one Parquet file), sorted by time,
    index 0..N-1. ``columns`` selects columns (``time`` is always read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = state_files(path)
    if not files:
        raise FileNotFoundError(f"no state files under {path} (expected month=*/day=*.parquet)")
    import pyarrow.dataset as pds

    cols = None if columns is None else list(dict.fromkeys(["time", *columns]))
    # days differ in optional columns (and empty days have null-typed ones): one unified
    # schema, then a single multi-threaded scan
    schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
    dataset = pds.dataset([str(f) for f in files], format="parquet", schema=schema)
    present = None if cols is None else [c for c in cols if c in schema.names]
    df = dataset.to_table(columns=present).to_pandas()
    if cols is not None:
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"state table {path} has no column(s) {missing}")
        df = df[cols]
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    return df


def validate_states(df: pd.DataFrame) -> pd.DataFrame:
    """Check a state table against the schema; returns it, or raises ``ValueError`` naming the
    missing columns or the rows with NaN in a required numeric column (``dst`` may be NaN)."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"state table lacks column(s): {', '.join(missing)}")
    numeric = POSITION_GSM + POSITION_GSE + FEATURES + ["n_bins"]
    values = df[numeric].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    bad_time = df["time"].isna().to_numpy()
    if bad.any() or bad_time.any():
        rows = np.flatnonzero(bad.any(axis=1) | bad_time)
        cols = [c for c, b in zip(numeric, bad.any(axis=0), strict=True) if b]
        if bad_time.any():
            cols = ["time", *cols]
        raise ValueError(f"state table has {rows.size} row(s) with NaN in {cols} "
                         f"(first rows: {rows[:5].tolist()})")
    return df


def load_provenance(path: str | Path) -> dict:
    """``STATES/_provenance.json`` as a dict (empty when absent)."""
    p = Path(path) / "_provenance.json"
    return json.loads(p.read_text()) if p.is_file() else {}

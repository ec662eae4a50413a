"""The atlas along time: what the data span, an interval's windows, a cell's visits.

Functions over the atlas' state table (one row per 2-minute window: ``time`` is the window
centre, UTC, the window covers [time − 60 s, time + 60 s); see :mod:`atlas_core.states`):

- :func:`data_span` — first and last window, days with data, storm days (the page header);
- :func:`interval` — the windows of a time interval, in time order, with a NaN row wherever
  the data have a gap, so that a line drawn through them breaks there (a tplot-style
  time-series view with a regime strip under the features);
- :func:`cell_intervals` — the contiguous visits of the spacecraft to one octree cell under a
  condition (start, end, windows, regime, Dst): the time intervals behind a cell, from which a
  user can go and pull the burst data.

Times are UTC (``datetime64[ns]``, naive); Dst nT; positions GSM, R_E.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW = pd.Timedelta(seconds=120)
"""Length of one state window (see :mod:`atlas_core.states`)."""
HALF_WINDOW = WINDOW / 2
GAP = pd.Timedelta(seconds=180)
"""Windows whose centres lie further apart than this belong to different passes: a line
breaks there and a cell visit ends (consecutive windows are 60 or 120 s apart)."""

INTERVAL_COLUMNS = ("time", "x_gsm", "y_gsm", "z_gsm", "B_mean", "Bz_mean", "n_mean", "T_mean",
                    "V_mean", "Vx_mean", "beta_mean", "dst", "sw_pdyn", "imf_bz_gsm", "code",
                    "mission", "probe", "region")
"""The columns :func:`interval` returns when the state table has them (``region``: the truth
region of a synthetic archive)."""


def _times(states: pd.DataFrame) -> np.ndarray:
    return states["time"].to_numpy(dtype="datetime64[ns]")


def data_span(states: pd.DataFrame, storm_dst_nt: float = -50.0) -> dict:
    """What the data cover: ``start``/``end`` (first window start, last window end, UTC
    Timestamps), ``n_windows``, ``n_days`` (UTC days holding a window) and ``n_storm_days``
    (days holding a window at Dst ≤ ``storm_dst_nt``), ``storm_dst_nt``."""
    t = _times(states)
    if t.size == 0:
        return {"start": None, "end": None, "n_windows": 0, "n_days": 0, "n_storm_days": 0,
                "storm_dst_nt": float(storm_dst_nt)}
    days = t.astype("datetime64[D]")
    dst = states["dst"].to_numpy(dtype=float) if "dst" in states.columns else np.full(t.size, np.nan)
    with np.errstate(invalid="ignore"):
        storm = dst <= storm_dst_nt
    return {"start": pd.Timestamp(t.min() - HALF_WINDOW.to_timedelta64()),
            "end": pd.Timestamp(t.max() + HALF_WINDOW.to_timedelta64()),
            "n_windows": int(t.size), "n_days": int(np.unique(days).size),
            "n_storm_days": int(np.unique(days[storm]).size), "storm_dst_nt": float(storm_dst_nt)}


def interval(states: pd.DataFrame, start, end, *, probe: str | None = None,
             columns=INTERVAL_COLUMNS, max_windows: int = 20_000) -> pd.DataFrame:
    """The windows whose centres lie in [``start``, ``end``), in time order, with one all-NaN
    row (its time halfway) inserted in every gap longer than :data:`GAP`.

    ``probe`` keeps one spacecraft (e.g. ``"mms1"``; None: all — give one when several fly at
    once). At most ``max_windows`` windows are returned (the first ones; ``attrs["truncated"]``
    says so). ``attrs``: ``start``, ``end``, ``n_windows``, ``truncated``, ``probe`` and the
    interval's median solar wind ``sw_pdyn_median`` (nPa), ``imf_bz_median`` (nT) (None when
    unknown).
    Raises ``ValueError`` when ``end`` is not after ``start``.
    """
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if not t1 > t0:
        raise ValueError(f"interval end {t1} must be after its start {t0}")
    t = _times(states)
    cols = [c for c in columns if c in states.columns]
    if t.size < 2 or bool(np.all(t[1:] >= t[:-1])):  # the usual, time-sorted table: bisect
        i0, i1 = np.searchsorted(t, [t0.to_datetime64(), t1.to_datetime64()])
        frame = states.iloc[i0:i1][cols]
    else:
        inside = (t >= t0.to_datetime64()) & (t < t1.to_datetime64())
        frame = states.loc[inside, cols].sort_values("time", kind="stable")
    if probe is not None and "probe" in frame.columns:
        frame = frame[frame["probe"].astype(str) == probe]
    truncated = len(frame) > max_windows
    frame = frame.iloc[:max_windows].reset_index(drop=True)
    n = len(frame)
    if n > 1:
        times = frame["time"].to_numpy(dtype="datetime64[ns]")
        gaps = np.flatnonzero(np.diff(times) > GAP.to_timedelta64())
        if gaps.size:
            filler = pd.DataFrame({c: [np.nan] * gaps.size for c in cols if c != "time"})
            filler["time"] = times[gaps] + (times[gaps + 1] - times[gaps]) / 2
            if "code" in filler.columns:
                filler["code"] = -1
            frame = (pd.concat([frame, filler[frame.columns]], ignore_index=True)
                     .sort_values("time", kind="stable").reset_index(drop=True))
    if "code" in frame.columns:
        frame["code"] = frame["code"].fillna(-1).astype(np.int64)
    medians = {}
    for col, key in (("sw_pdyn", "sw_pdyn_median"), ("imf_bz_gsm", "imf_bz_median")):
        v = frame[col].to_numpy(dtype=float) if col in frame.columns else np.zeros(0)
        v = v[np.isfinite(v)]
        medians[key] = float(np.median(v)) if v.size else None
    frame.attrs.update(start=t0, end=t1, n_windows=n, truncated=bool(truncated), probe=probe,
                       **medians)
    return frame


def cell_intervals(states: pd.DataFrame, rows, names: list[str] | None = None) -> pd.DataFrame:
    """The contiguous visits behind a cell: the given state rows (e.g. a cell's states under a
    condition) grouped into runs of consecutive windows of one spacecraft.

    One row per visit, in time order: ``start``, ``end`` (UTC: first window start, last
    window end), ``minutes``, ``windows``, ``regime`` (the visit's most frequent regime id,
    -1 without codes), ``regime_name`` (from ``names``), ``dst_min``, ``dst_mean`` (nT),
    ``x_gsm``, ``y_gsm``, ``z_gsm`` (mean position, R_E), ``mission``, ``probe``.
    """
    rows = np.sort(np.asarray(rows, dtype=np.int64).reshape(-1))
    cols = ["start", "end", "minutes", "windows", "regime", "regime_name", "dst_min",
            "dst_mean", "x_gsm", "y_gsm", "z_gsm", "mission", "probe"]
    if rows.size == 0:
        return pd.DataFrame({c: [] for c in cols})
    sub = states.iloc[rows]
    t = sub["time"].to_numpy(dtype="datetime64[ns]")
    probe = (sub["probe"].astype(str).to_numpy() if "probe" in sub.columns
             else np.full(rows.size, "mms1", dtype=object))
    mission = (sub["mission"].astype(str).to_numpy() if "mission" in sub.columns
               else np.full(rows.size, "MMS", dtype=object))
    order = np.lexsort((t, probe))  # runs are per spacecraft
    t, probe, mission, sub = t[order], probe[order], mission[order], sub.iloc[order]
    new_run = np.ones(rows.size, dtype=bool)
    new_run[1:] = (np.diff(t) > GAP.to_timedelta64()) | (probe[1:] != probe[:-1])
    run = np.cumsum(new_run) - 1
    n_runs = int(run[-1]) + 1
    first = np.flatnonzero(new_run)
    last = np.r_[first[1:] - 1, rows.size - 1]
    windows = np.bincount(run, minlength=n_runs)

    def mean(col):
        if col not in sub.columns:
            return np.full(n_runs, np.nan)
        v = sub[col].to_numpy(dtype=float)
        ok = np.isfinite(v)
        total = np.bincount(run[ok], weights=v[ok], minlength=n_runs)
        count = np.bincount(run[ok], minlength=n_runs)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    if "dst" in sub.columns:
        dst = sub["dst"].to_numpy(dtype=float)
        dst_min = np.full(n_runs, np.inf)
        np.minimum.at(dst_min, run, np.where(np.isfinite(dst), dst, np.inf))
        dst_min[~np.isfinite(dst_min)] = np.nan
    else:
        dst_min = np.full(n_runs, np.nan)
    if "code" in sub.columns:
        codes = sub["code"].to_numpy(dtype=np.int64)
        k = int(codes.max()) + 1 if codes.size else 1
        table = np.bincount(run * k + codes, minlength=n_runs * k).reshape(n_runs, k)
        regime = table.argmax(axis=1)
    else:
        regime = np.full(n_runs, -1)
    start = t[first] - HALF_WINDOW.to_timedelta64()
    end = t[last] + HALF_WINDOW.to_timedelta64()
    label = np.array([*(names or []), ""], dtype=object)
    frame = pd.DataFrame({
        "start": start, "end": end,
        "minutes": (end - start) / np.timedelta64(1, "m"), "windows": windows,
        "regime": regime, "regime_name": label[np.where((regime >= 0) & (regime < len(label) - 1),
                                                        regime, -1)],
        "dst_min": dst_min, "dst_mean": mean("dst"),
        "x_gsm": mean("x_gsm"), "y_gsm": mean("y_gsm"), "z_gsm": mean("z_gsm"),
        "mission": mission[first], "probe": probe[first],
    })
    return frame.sort_values("start", kind="stable").reset_index(drop=True)

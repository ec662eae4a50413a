"""Flythrough: the atlas along a trajectory (after Kamodo's flythrough: a function of time and
position returning the model's values along a path).

A trajectory is a CSV (``time`` and GSM positions ``x_gsm, y_gsm, z_gsm`` in R_E, or
``x_gsm_km ...`` in km) or a CDF (``Epoch`` and an (N, 3) or (N, 4) GSM position variable,
km or R_E by its ``UNITS``). At each time the atlas answers under a condition: a fixed one (a
Dst range, or all states), or the drivers of that time from OMNI/Dst files — a nearest-neighbour
:class:`~atlas_core.atlas.product.Condition` per hour, the resolution of the atlas' own driver
columns (:mod:`atlas_core.service.drivers`), so a day costs at most 25 conditions.

Per time: the cell, the most likely regime and its probability with credible bounds, the
effective count, every regime's probability (``p_<regime name>``), and the 5/50/95 % quantiles
of the most likely regime's seven window means (from the regime summary table: the regime's
training windows; physical units). Every probability comes from
:func:`~atlas_core.atlas.product.estimates`. On a boundary-normalised atlas the positions are
first mapped with the drivers of their time (:func:`atlas_core.physics.normalised.reference_positions`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.atlas.conditioning import DEFAULT_NEIGHBOURS
from atlas_core.atlas.errors import AtlasError
from atlas_core.physics.constants import R_E_KM
from atlas_core.sources.cdf import SourceError

QUANTILE_FEATURES = ("B_mean", "Bz_mean", "n_mean", "T_mean", "V_mean", "Vx_mean", "beta_mean")
"""Window means whose quantiles describe the most likely state (units: states.FEATURE_UNITS)."""
QUANTILES = ("q05", "q50", "q95")
SPARSE_FACTOR = 8
"""A selection of fewer than L x K / SPARSE_FACTOR states is counted over its own keys (a sort
of the selection) rather than over dense (L, K) tables (a few passes over L x K)."""


def read_trajectory(path) -> pd.DataFrame:
    """``time`` (datetime64[ns] UTC) and ``x_gsm, y_gsm, z_gsm`` (R_E) from a CSV or CDF file,
    sorted by time. :class:`SourceError` names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    if path.suffix.lower() == ".cdf":
        df = _read_cdf_trajectory(path)
    else:
        df = _read_csv_trajectory(path)
    if df.empty:
        raise SourceError(path, "no trajectory rows")
    bad = df[["x_gsm", "y_gsm", "z_gsm"]].isna().any(axis=1) | df["time"].isna()
    if bad.all():
        raise SourceError(path, "no row has a time and a finite position")
    return df[~bad].sort_values("time", kind="stable").reset_index(drop=True)


def _read_csv_trajectory(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, comment="#")
    except (ValueError, UnicodeDecodeError) as err:
        raise SourceError(path, f"not a CSV table ({err})") from err
    cols = {c.strip().lower(): c for c in raw.columns}
    tcol = next((cols[c] for c in ("time", "epoch", "t", "utc") if c in cols), None)
    if tcol is None:
        raise SourceError(path, f"no time column (time/epoch); columns: {list(raw.columns)}")
    for names, scale in ((("x_gsm", "y_gsm", "z_gsm"), 1.0), (("x_gsm_re", "y_gsm_re", "z_gsm_re"), 1.0),
                         (("x_gsm_km", "y_gsm_km", "z_gsm_km"), 1.0 / R_E_KM), (("x", "y", "z"), 1.0)):
        if all(n in cols for n in names):
            pos = raw[[cols[n] for n in names]].to_numpy(np.float64) * scale
            break
    else:
        raise SourceError(path, "no GSM position columns (x_gsm, y_gsm, z_gsm in R_E or "
                                f"x_gsm_km ... in km); columns: {list(raw.columns)}")
    try:
        t = pd.to_datetime(raw[tcol], utc=True).dt.tz_localize(None)
    except (ValueError, TypeError) as err:
        raise SourceError(path, f"column {tcol!r} is not ISO times ({err})") from err
    return pd.DataFrame({"time": t.to_numpy("datetime64[ns]"), "x_gsm": pos[:, 0],
                         "y_gsm": pos[:, 1], "z_gsm": pos[:, 2]})


def _read_cdf_trajectory(path: Path) -> pd.DataFrame:
    from atlas_core.sources.cdf import open_cdf, read_values, variables
    from atlas_core.sources.omni_hro import _epoch_times

    cdf = open_cdf(path)
    names = variables(cdf)
    if "Epoch" not in names:
        raise SourceError(path, "no Epoch variable")
    times = _epoch_times(cdf, path)
    cands = [n for n in names if re.search(r"gsm", n, re.I) and re.search(r"(^|_)(r|pos)", n, re.I)]
    cands = cands or [n for n in names if re.search(r"gsm", n, re.I)]
    for name in cands:
        v = read_values(cdf, path, name)
        if v.ndim == 2 and v.shape[0] == times.size and v.shape[1] in (3, 4):
            units = str(cdf.varattsget(name).get("UNITS", "km")).strip().lower()
            scale = 1.0 if units in ("re", "r_e", "earth radii") else 1.0 / R_E_KM
            pos = v[:, :3] * scale
            return pd.DataFrame({"time": times, "x_gsm": pos[:, 0], "y_gsm": pos[:, 1],
                                 "z_gsm": pos[:, 2]})
    raise SourceError(path, f"no (N, 3) GSM position variable on Epoch among {cands or names}")


def regime_quantiles(atlas) -> pd.DataFrame | None:
    """(K rows) the 5/50/95 % quantiles of :data:`QUANTILE_FEATURES` per regime, from the
    atlas' regime summary (``summary_<feature>_q05`` ...); None when the atlas has none."""
    cols = {}
    for f in QUANTILE_FEATURES:
        for q in QUANTILES:
            var = f"summary_{f}_{q}"
            if var not in atlas.ds:
                return None
            cols[f"{f}_{q}"] = atlas.ds[var].values.astype(np.float64)
    return pd.DataFrame(cols)


def flythrough(atlas, trajectory: pd.DataFrame, drivers: pd.DataFrame | None = None,
               cond=None, k: int = DEFAULT_NEIGHBOURS) -> pd.DataFrame:
    """The atlas along a trajectory (see the module docstring). ``drivers``: an hourly table
    from :func:`atlas_core.service.drivers.read_drivers` (conditions vary with time); else
    ``cond`` (a :class:`Condition` or anything :func:`as_condition` reads; None = all states)."""
    from atlas_core.atlas.product import as_condition
    from atlas_core.service.drivers import drivers_along
    from atlas_core.service.nowcast import atlas_drivers, condition_from_drivers

    times = trajectory["time"].to_numpy("datetime64[ns]")
    gsm = trajectory[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(np.float64)
    along = drivers_along(drivers, times) if drivers is not None else None
    pos = _atlas_frame(atlas, gsm, along)
    _, leaf = atlas.locate(pos, outside="nan")
    n = len(times)
    kk = atlas.k
    p = np.full((n, kk), np.nan)
    lo_top = np.full(n, np.nan)
    hi_top = np.full(n, np.nan)
    n_eff = np.full(n, np.nan)
    windows = np.zeros(n, dtype=np.int64)
    labels = np.empty(n, dtype=object)
    if along is None:
        groups = {as_condition(cond, atlas.bins): np.arange(n)}
    else:
        hours = times.astype("datetime64[h]")
        uniq, first, inv = np.unique(hours, return_index=True, return_inverse=True)
        have = atlas_drivers(atlas)
        columns = {name: col for name, col in _driver_columns().items() if col in along}
        # the hours' driver values as one float block (a pandas row per hour is slow)
        hourly = along.iloc[first][list(columns.values())].to_numpy(np.float64)
        groups = {}  # hours with identical drivers share one condition (one estimate)
        for j in range(uniq.size):
            rows = np.flatnonzero(inv == j)
            values = dict(zip(columns, hourly[j].tolist(), strict=True))
            try:
                c = condition_from_drivers(atlas, values, k, have=have)
            except AtlasError:
                c = as_condition(None)  # no driver that hour: all states (labelled so)
            groups.setdefault(c, []).append(rows)
        groups = {c: np.concatenate(r) for c, r in groups.items()}
    inside = leaf >= 0
    scratch = _Scratch(atlas)
    for c, rows in groups.items():
        rows_in = rows[inside[rows]]
        labels[rows] = c.label
        if rows_in.size == 0:
            continue
        cells, pos_in_cells = np.unique(leaf[rows_in], return_inverse=True)
        cp, cl, ch, cn, ce = _cell_numbers(atlas, c, cells, scratch)
        pp, ll, hh = cp[pos_in_cells], cl[pos_in_cells], ch[pos_in_cells]
        has = cn[pos_in_cells] > 0
        p[rows_in] = np.where(has[:, None], pp, np.nan)
        top = np.argmax(np.nan_to_num(p[rows_in], nan=-1), axis=1)
        lo_top[rows_in] = np.where(has, ll[np.arange(rows_in.size), top], np.nan)
        hi_top[rows_in] = np.where(has, hh[np.arange(rows_in.size), top], np.nan)
        n_eff[rows_in] = ce[pos_in_cells]
        windows[rows_in] = cn[pos_in_cells]
    regime = np.where(np.isfinite(p).any(axis=1), np.argmax(np.nan_to_num(p, nan=-1), axis=1), -1)
    out = pd.DataFrame({"time": times, "x_gsm": gsm[:, 0], "y_gsm": gsm[:, 1], "z_gsm": gsm[:, 2],
                        "leaf": leaf, "regime": regime,
                        "regime_name": [atlas.names[r] if r >= 0 else "" for r in regime],
                        "p": np.where(regime >= 0, p[np.arange(n), np.maximum(regime, 0)], np.nan),
                        "p_lo": lo_top, "p_hi": hi_top, "windows": windows, "n_eff": n_eff,
                        "condition": labels})
    out = pd.concat([out, pd.DataFrame(p, columns=[f"p_{_slug(nm)}" for nm in atlas.names])], axis=1)
    quant = regime_quantiles(atlas)
    if quant is not None:
        q = quant.reindex(np.where(regime >= 0, regime, -1)).reset_index(drop=True)
        out = pd.concat([out, q.add_prefix("state_")], axis=1)
    out.attrs.update(names=list(atlas.names), coords=atlas.ds.attrs.get("coords", "gsm"))
    return out


class _Scratch:
    """One (L, K) effective-count table reused for every condition of a trajectory: a
    condition fills only the entries its selection holds and clears them after its estimate,
    so a nearest-neighbour hour costs O(k), not O(L K) (at 200,000 leaves x 12 regimes the
    dense per-condition tables were two thirds of a one-day flythrough)."""

    def __init__(self, atlas) -> None:
        stats = getattr(atlas, "stats", None)
        self.counter = getattr(stats, "counter", None)
        self.estimator = getattr(stats, "estimator", None)
        self.effective = None
        if self.counter is not None and self.estimator is not None:
            self.effective = np.zeros((self.counter.n_leaves, self.counter.k))


def _cell_numbers(atlas, cond, cells: np.ndarray, scratch: _Scratch | None = None):
    """(p, lo, hi) (m, K), windows (m,) and effective counts (m,) of some cells under a
    condition: the product layer's estimator (contract C2: the effective counts of the states
    :func:`~atlas_core.atlas.product.select_states` picks, ``Atlas.estimate(..., leaves=cells)``)
    evaluated at these cells only, so a trajectory does not pay for the whole map's intervals;
    the same numbers as :func:`~atlas_core.atlas.product.estimates` (tested).

    With a :class:`_Scratch`, the counts are the same function of the selection as
    ``Atlas.counts_of`` (:func:`~atlas_core.atlas.passes.effective_counts` over the selected
    states' ``leaf * K + regime`` keys and passes, summed in the same order), gathered over
    the keys the selection holds instead of all L x K."""
    from atlas_core.atlas.product import as_condition, estimates, select_states

    cond = as_condition(cond, atlas.bins)
    states = select_states(atlas, cond) if hasattr(atlas, "counts_of") else None
    if (scratch is not None and scratch.effective is not None and states is not None
            and states.size * SPARSE_FACTOR < scratch.effective.size):
        return _sparse_cell_numbers(atlas, states, cells, scratch)
    if hasattr(atlas, "counts_of") and hasattr(atlas, "estimate"):
        windows, effective = atlas.counts_of(states)
        est = atlas.estimate(windows, effective, leaves=cells)
        return (np.asarray(est[0]), np.asarray(est[1]), np.asarray(est[2]),
                np.asarray(windows)[cells].sum(axis=1), np.asarray(est[3]))
    e = estimates(atlas, cond)
    pp, ll, hh = e.at(cells)
    return pp, ll, hh, e.n[cells], e.n_eff[cells]


def _sparse_cell_numbers(atlas, states, cells: np.ndarray, scratch: _Scratch):
    from atlas_core.atlas.passes import effective_counts

    counter, kk = scratch.counter, scratch.counter.k
    keys, at = np.unique(counter.key[states], return_inverse=True)
    effective = effective_counts(at, counter.pass_id[states], keys.size, counter.rho,
                                 counter.n_passes)
    flat = scratch.effective.reshape(-1)
    flat[keys] = effective
    try:
        # the atlas' estimator (Atlas.estimate forwards to it), told which leaves hold looks
        est = scratch.estimator.estimate(scratch.effective, leaves=cells,
                                         nonzero=np.unique(keys // kk))
    finally:
        flat[keys] = 0.0
    # windows per asked cell from the selection's keys
    windows = np.zeros(cells.size, dtype=np.int64)
    leaf_of_key = keys // kk
    pos = np.minimum(np.searchsorted(cells, leaf_of_key), max(cells.size - 1, 0))
    hit = cells[pos] == leaf_of_key
    np.add.at(windows, pos[hit], np.bincount(at, minlength=keys.size)[hit])
    return (np.asarray(est[0]), np.asarray(est[1]), np.asarray(est[2]), windows,
            np.asarray(est[3]))


def _driver_columns() -> dict[str, str]:
    from atlas_core.service.drivers import DRIVERS

    return {name: col for name, (col, _, _) in DRIVERS.items()}


def _atlas_frame(atlas, gsm: np.ndarray, along: pd.DataFrame | None) -> np.ndarray:
    """Positions in the atlas' frame: GSM, or mapped with the drivers of their time."""
    if atlas.ds.attrs.get("coords", "gsm") != "normalised":
        return gsm
    from atlas_core.physics.normalised import reference_positions

    if along is None or "sw_pdyn" not in along or "imf_bz_gsm" not in along:
        raise AtlasError("this atlas is boundary-normalised: a flythrough needs OMNI files "
                         "(--omni) for the dynamic pressure and IMF Bz of each time")
    pos, _ = reference_positions(gsm, along["sw_pdyn"].to_numpy(), along["imf_bz_gsm"].to_numpy())
    return pos


def _slug(name: str) -> str:
    """A column-name form of a regime name: ``plasma sheet (near-Earth) 2`` ->
    ``plasma_sheet_near_earth_2``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")

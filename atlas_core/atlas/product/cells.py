"""Counts and estimates per cell under a condition (the C2 seam to the atlas' estimator), what
the selection spans, and the solar-wind condition the boundaries are drawn for."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from atlas_core.atlas.columns import as_decimal
from atlas_core.atlas.conditioning import NEIGHBOUR_PARAMETERS, inclusive_bounds
from atlas_core.atlas.errors import AtlasError
from atlas_core.atlas.posterior import entropy_bits
from atlas_core.atlas.product.cache import cache_of
from atlas_core.atlas.product.condition import Condition, as_condition
from atlas_core.physics.boundaries import clamp_solar_wind

DEFAULT_SOLAR_WIND = (2.0, 0.0)
"""(Pdyn nPa, IMF Bz nT) of the boundaries when an atlas has no solar-wind drivers."""


def _state_key(atlas) -> np.ndarray:
    """(N,) ``leaf * K + regime`` of every state."""
    return atlas.neighbours.key


def _counts_of(atlas, states: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(L, K) windows and effective counts of a selection of states (None: all) — the atlas'
    ``counts_of`` (contract C2) when it has one, else windows standing in for effective counts."""
    if hasattr(atlas, "counts_of"):
        windows, effective = atlas.counts_of(states)
        return np.asarray(windows), np.asarray(effective, dtype=np.float64)
    key = _state_key(atlas) if states is None else _state_key(atlas)[states]
    windows = np.bincount(key, minlength=atlas.n_leaves * atlas.k).reshape(atlas.n_leaves, atlas.k)
    return windows, windows.astype(np.float64)


def _estimate(atlas, c: CellCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p, lo, hi, n_eff) of the cells that hold windows (``c.leaves``, in that order) — the
    atlas' ``estimate`` (C2: a hierarchical posterior from the full (L, K) counts) when it has
    one, else the Dirichlet posterior of the windows."""
    if hasattr(atlas, "estimate"):
        est = atlas.estimate(c.windows, c.effective, leaves=c.leaves)
        return tuple(np.asarray(a) for a in (est.p, est.lo, est.hi, est.n_eff))
    rows = c.windows_rows[:-1]
    p, lo, hi = atlas.probabilities(rows)
    return p, lo, hi, c.effective_rows[:-1].sum(axis=-1)


def _low_count(atlas, n_eff: np.ndarray) -> np.ndarray:
    """Below the atlas' low-count mark (its ``low_count`` rule when it has one)."""
    if hasattr(atlas, "low_count"):
        return np.asarray(atlas.low_count(n_eff), dtype=bool)
    return n_eff < float(getattr(atlas, "min_count", 0) or 0)


def _condition_column(atlas, name: str) -> np.ndarray | None:
    column = NEIGHBOUR_PARAMETERS[name][0] if name in NEIGHBOUR_PARAMETERS else name
    return atlas.neighbours.columns.get(column)


def select_states(atlas, cond: Condition) -> np.ndarray | None:
    """Sorted indices of the states a condition selects (None: every state)."""
    cond = as_condition(cond, atlas.bins)
    if cond.kind == "all" and not cond.mission:
        return None
    if cond.kind == "near":
        states = np.sort(np.asarray(atlas.select_near(k=cond.k, **cond.target), dtype=np.int64))
    elif cond.kind == "range" and hasattr(atlas, "index"):
        # the atlas' Dst order: a narrow range costs its own states, not all of them
        states = atlas.index.states_in(cond.dst_min, cond.dst_max)
    elif cond.kind == "range":
        dst = _condition_column(atlas, "dst")
        lo, hi = inclusive_bounds(dst.dtype, cond.dst_min, cond.dst_max)
        states = np.flatnonzero((dst >= lo) & (dst <= hi))
    else:
        states = None
    if cond.mission:
        codes, names = _missions(atlas)
        code = names.index(cond.mission) if cond.mission in names else -2
        states = (np.flatnonzero(codes == code) if states is None
                  else states[codes[states] == code])
    return states


def _nothing_selected(atlas, cond: Condition) -> AtlasError:
    if hasattr(atlas, "index"):
        lo, hi = atlas.index.dst_extent
    else:
        span = _condition_column(atlas, "dst")
        span = span[np.isfinite(span)] if span is not None else np.zeros(0)
        lo, hi = (span.min(), span.max()) if span.size else (np.nan, np.nan)
    extent = f"; the atlas' states span Dst {lo:g} .. {hi:g} nT" if np.isfinite(lo) else ""
    return AtlasError(f"no state with {cond.label}{extent}")


def _missions(atlas) -> tuple[np.ndarray, list[str]]:
    """``(codes (N,), names)``: each state's mission as ``names[codes[i]]`` (the atlas reads the
    one column when it can; the whole state table is ~10 GB at 5 x 10^7 states)."""
    if hasattr(atlas, "mission_labels"):
        return atlas.mission_labels()

    def load():
        st = atlas.states
        if "mission" not in st.columns:
            return np.zeros(len(st), dtype=np.int16), ["MMS"]
        codes, names = pd.factorize(st["mission"].astype(str))
        return codes.astype(np.int16), [str(n) for n in names]

    return cache_of(atlas).get(("missions",), load)


@dataclass(frozen=True, eq=False)
class CellCounts:
    """Windows and effective counts per cell and regime under one condition, stored for the
    cells that hold any (``leaves``); dense (L, K) arrays on request.

    ``row[leaf]`` is a leaf's row in ``windows_rows``/``effective_rows`` (the last row, zeros,
    for an empty leaf). ``states``: indices of the selected states (None = all).
    """

    atlas: object = field(repr=False)
    condition: Condition
    leaves: np.ndarray
    row: np.ndarray
    windows_rows: np.ndarray
    effective_rows: np.ndarray
    states: np.ndarray | None

    @property
    def windows(self) -> np.ndarray:
        """(L, K) int64 windows per cell and regime."""
        return self.windows_rows[self.row]

    @property
    def effective(self) -> np.ndarray:
        """(L, K) float64 effective (independent) counts per cell and regime."""
        return self.effective_rows[self.row]

    @cached_property
    def per_regime(self) -> np.ndarray:
        """(K,) windows per regime over the whole selection."""
        return self.windows_rows.sum(axis=0)

    @property
    def n_states(self) -> int:
        return int(self.windows_rows.sum())

    @cached_property
    def summary(self) -> dict:
        """What the selection spans: ``n_states``, ``n_effective`` and, per conditioning
        parameter the atlas holds, ``{"unit", "p05", "p50", "p95"}`` over the selected states."""
        out = {"condition": self.condition.label, "n_states": self.n_states,
               "n_effective": float(self.effective_rows.sum()), "n_cells": int(self.leaves.size)}
        for name, (_, unit) in NEIGHBOUR_PARAMETERS.items():
            col = _condition_column(self.atlas, name)
            if col is None:
                continue
            v = col if self.states is None else col[self.states]
            v = v[np.isfinite(v)]
            if v.size:
                p05, p50, p95 = (as_decimal(q, v.dtype) for q in np.percentile(v, [5, 50, 95]))
                out[name] = {"unit": unit, "p05": p05, "p50": p50, "p95": p95}
        return out


def counts(atlas, cond, *, allow_empty: bool = False) -> CellCounts:
    """Windows and effective counts per cell and regime under a condition (cached). A
    condition that selects no state raises :class:`AtlasError` unless ``allow_empty``."""
    cond = as_condition(cond, atlas.bins)
    c = cache_of(atlas).get(("counts", cond), lambda: _compute_counts(atlas, cond))
    if c.n_states == 0 and not allow_empty:
        raise _nothing_selected(atlas, cond)
    return c


def _compute_counts(atlas, cond: Condition) -> CellCounts:
    states = select_states(atlas, cond)
    windows, effective = _counts_of(atlas, states)
    leaves = np.flatnonzero(windows.any(axis=1))
    row = np.full(atlas.n_leaves, leaves.size, dtype=np.int32)
    row[leaves] = np.arange(leaves.size, dtype=np.int32)
    k = windows.shape[1]
    w_rows = np.concatenate([windows[leaves], np.zeros((1, k), windows.dtype)]).astype(np.int64)
    e_rows = np.concatenate([effective[leaves], np.zeros((1, k))])
    return CellCounts(atlas, cond, leaves, row, w_rows, e_rows, states)


@dataclass(frozen=True, eq=False)
class CellEstimates:
    """Per-cell regime estimates under one condition.

    Per leaf (L,): ``n`` windows, ``n_eff`` effective counts, ``low_count`` (n_eff below the
    atlas' ``min_count``: an empty cell is low-count too), ``dominant`` (-1 where n == 0),
    ``entropy`` bits (NaN where n == 0), ``confidence`` (p of the dominant regime, NaN where
    n == 0). Per leaf and regime: ``p``, ``lo``, ``hi`` (posterior mean and credible bounds;
    NaN for an empty cell: it holds no data under the condition) — dense (L, K) on request,
    :meth:`at` for some leaves.
    """

    condition: Condition
    leaves: np.ndarray
    row: np.ndarray
    p_rows: np.ndarray
    lo_rows: np.ndarray | None  # None: bounds computed lazily by at()
    hi_rows: np.ndarray | None
    n: np.ndarray
    n_eff: np.ndarray
    low_count: np.ndarray
    dominant: np.ndarray
    entropy: np.ndarray
    confidence: np.ndarray
    min_count: float

    posterior: object = None  # the atlas' CellPosterior when bounds are computed lazily
    level: float = 0.9

    p = property(lambda self: self.p_rows[self.row])
    lo = property(lambda self: self.at(np.arange(self.row.size))[1])
    hi = property(lambda self: self.at(np.arange(self.row.size))[2])

    def p_at(self, leaves) -> np.ndarray:
        """(m, K) posterior means of some leaves (NaN rows for empty cells)."""
        return self.p_rows[self.row[np.asarray(leaves, dtype=np.int64)]]

    def at(self, leaves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p, lo, hi) rows (m, K) of some leaves; the credible bounds are computed here, for
        these leaves only, when the atlas' posterior gives them lazily (C2)."""
        leaves = np.asarray(leaves, dtype=np.int64)
        r = self.row[leaves]
        p = self.p_rows[r]
        if self.lo_rows is not None:
            return p, self.lo_rows[r], self.hi_rows[r]
        lo, hi = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
        has = r < self.leaves.size
        if has.any():
            uniq, inv = np.unique(leaves[has], return_inverse=True)
            b_lo, b_hi = self.posterior.bounds(self.level, leaves=uniq)
            lo[has], hi[has] = np.asarray(b_lo)[inv], np.asarray(b_hi)[inv]
        return p, lo, hi

    @property
    def empty(self) -> np.ndarray:
        return self.n == 0


def estimates(atlas, cond, *, allow_empty: bool = False) -> CellEstimates:
    """Posterior regime probabilities per cell under a condition (cached). A condition that
    selects no state raises :class:`AtlasError` unless ``allow_empty`` (then every cell is
    empty)."""
    cond = as_condition(cond, atlas.bins)
    c = counts(atlas, cond, allow_empty=allow_empty)
    return cache_of(atlas).get(("estimates", cond), lambda: _compute_estimates(atlas, c))


def _compute_estimates(atlas, c: CellCounts) -> CellEstimates:
    m, k = c.leaves.size, c.windows_rows.shape[1]
    nan_row = np.full((1, k), np.nan)  # the empty cells' row: no data, no numbers
    post, lo, hi = None, None, None
    if m and hasattr(atlas, "posterior"):  # C2: means now, credible bounds when asked (at())
        post = atlas.posterior(c.effective, leaves=c.leaves)
        p, n_eff = post.p, post.n_eff
    elif m:
        p, lo, hi, n_eff = _estimate(atlas, c)
    else:
        p, lo, hi, n_eff = np.zeros((0, k)), np.zeros((0, k)), np.zeros((0, k)), np.zeros(0)
    p = np.concatenate([np.asarray(p, dtype=np.float64), nan_row])
    if lo is not None:
        lo, hi = (np.concatenate([np.asarray(a, dtype=np.float64), nan_row]) for a in (lo, hi))
    n_eff = np.append(np.asarray(n_eff, dtype=np.float64).reshape(-1), 0.0)
    n_rows = c.windows_rows.sum(axis=1)
    ent_rows = entropy_bits(p)
    top = np.argmax(np.nan_to_num(p, nan=-1.0), axis=1)
    ent_rows[m:] = np.nan
    conf_rows = p[np.arange(m + 1), top]
    top[m:] = -1
    r = c.row
    return CellEstimates(
        condition=c.condition, leaves=c.leaves, row=r, p_rows=p, lo_rows=lo, hi_rows=hi,
        n=n_rows[r], n_eff=n_eff[r], low_count=_low_count(atlas, n_eff)[r],
        dominant=top.astype(np.int16)[r], entropy=ent_rows[r], confidence=conf_rows[r],
        min_count=float(getattr(atlas, "min_count", 0) or 0), posterior=post,
        level=float(getattr(atlas, "level", 0.9)))


# --------------------------------------------------------------------------------------------
# Boundary condition of a selection
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SolarWind:
    """The solar-wind condition the boundaries are drawn for (clamped, see
    :func:`atlas_core.physics.boundaries.clamp_solar_wind`) and where it comes from."""

    pdyn_npa: float
    bz_nt: float
    source: str

    @property
    def label(self) -> str:
        return f"Pdyn {self.pdyn_npa:.2g} nPa, IMF Bz {self.bz_nt:+.1f} nT ({self.source})"


def solar_wind(atlas, cond, pdyn_npa: float | None = None, bz_nt: float | None = None
               ) -> SolarWind:
    """The boundary condition: given values where given, else the selection's median Pdyn
    and IMF Bz (else 2 nPa, 0 nT when the atlas holds no solar-wind drivers)."""
    if pdyn_npa is not None and bz_nt is not None:
        return SolarWind(*clamp_solar_wind(pdyn_npa, bz_nt), "chosen")
    s = counts(atlas, cond).summary
    med_p = s.get("sw_pdyn", {}).get("p50")
    med_b = s.get("imf_bz", {}).get("p50")
    source = ("median of the selection" if med_p is not None and med_b is not None
              else "default: no solar-wind drivers in this atlas")
    p = pdyn_npa if pdyn_npa is not None else (med_p if med_p is not None else DEFAULT_SOLAR_WIND[0])
    b = bz_nt if bz_nt is not None else (med_b if med_b is not None else DEFAULT_SOLAR_WIND[1])
    return SolarWind(*clamp_solar_wind(p, b), source)

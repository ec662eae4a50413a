"""Conditioning the atlas on geomagnetic activity: Dst bins, any Dst range, nearest neighbours.

Three ways to pick the states a map is made of:

* **Activity bins** (fixed, stored in the atlas): quiet, moderate, storm and positive, from
  :class:`ActivityBins` (DESIGN.md §2: quiet = |Dst| <= 20 nT, storm = Dst <= -50 nT).
* **Any Dst range** on the fly: the states are sorted by Dst once, each carries the combined key
  ``leaf * K + regime``; a range is two binary searches and one ``bincount`` over a contiguous
  slice, O(n_in_range + L K).
* **Nearest neighbours** in the space of global parameters, after the TS07D data-mining idea
  (Tsyganenko & Sitnov 2007; Sitnov et al. 2008, JGR 113, A07218): the ``k`` states recorded
  under the conditions most like a target (Dst, dDst/dt, and the solar-wind drivers when they
  were ingested), each parameter standardised by its spread over the states, found with a k-d
  tree, then counted per cell and regime.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial import cKDTree

from atlas_core.atlas.columns import as_decimal
from atlas_core.atlas.errors import AtlasError

NEIGHBOUR_PARAMETERS = {
    "dst": ("dst", "nT"),
    "ddst": ("ddst_dt", "nT/h"),
    "sw_n": ("sw_n", "cm^-3"),
    "sw_v": ("sw_v", "km/s"),
    "imf_bz": ("imf_bz_gsm", "nT"),
    "sw_pdyn": ("sw_pdyn", "nPa"),
    "sym_h": ("sym_h", "nT"),  # when states carry SYM-H (OMNI HRO); services, issue 14
}
"""Global parameters for nearest-neighbour conditioning: short name -> (state column, unit).
The state column name itself is accepted as well (``ddst_dt=-10`` = ``ddst=-10``)."""

DEFAULT_NEIGHBOURS = 8000
"""Default k: TS07D reconstructs each snapshot from ~8e3 nearest neighbours (Sitnov et al. 2008)."""


@dataclass(frozen=True)
class ActivityBins:
    """Dst activity bins, nT. Every finite Dst falls in exactly one bin:

    ========== =====================================
    quiet      ``-quiet_max <= Dst <= quiet_max``
    moderate   ``storm_max < Dst < -quiet_max``
    storm      ``Dst <= storm_max``
    positive   ``Dst > quiet_max`` (compressions, e.g. sudden commencements)
    ========== =====================================

    States without a Dst value belong to no bin (they still count in the "all" condition).
    """

    quiet_max: float = 20.0
    storm_max: float = -50.0

    def __post_init__(self) -> None:
        if not self.quiet_max >= 0:
            raise AtlasError(f"quiet_max must be >= 0 nT, got {self.quiet_max}")
        if not self.storm_max < -self.quiet_max:
            raise AtlasError(
                f"storm_max ({self.storm_max} nT) must lie below -quiet_max ({-self.quiet_max} nT)"
            )

    NAMES = ("quiet", "moderate", "storm", "positive")

    def ranges(self) -> dict[str, tuple[float, float, bool, bool]]:
        """``name -> (dst_min, dst_max, min_inclusive, max_inclusive)``, nT."""
        q, s = float(self.quiet_max), float(self.storm_max)
        return {
            "quiet": (-q, q, True, True),
            "moderate": (s, -q, False, False),
            "storm": (-np.inf, s, True, True),
            "positive": (q, np.inf, False, True),
        }

    def label(self, dst: np.ndarray) -> np.ndarray:
        """Bin name of each Dst value ("" for NaN)."""
        dst = np.asarray(dst, dtype=np.float64)
        out = np.full(dst.shape, "", dtype="<U8")
        out[np.abs(dst) <= self.quiet_max] = "quiet"
        out[(dst > self.storm_max) & (dst < -self.quiet_max)] = "moderate"
        out[dst <= self.storm_max] = "storm"
        out[dst > self.quiet_max] = "positive"
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def inclusive_bounds(dtype, dst_min=None, dst_max=None, min_inclusive=True,
                     max_inclusive=True) -> tuple:
    """``(lo, hi)`` in ``dtype`` such that ``lo <= x <= hi`` holds for a value ``x`` of that
    type exactly when the range holds for it in float64 (a float32 column compared with a
    rounded bound would move states across the edge): the smallest value of the type in the
    range and the largest."""
    lo = -np.inf if dst_min is None else float(dst_min)
    hi = np.inf if dst_max is None else float(dst_max)
    if np.isnan(lo) or np.isnan(hi):
        raise AtlasError("Dst range bounds must be numbers, not NaN")
    if lo > hi:
        raise AtlasError(f"empty Dst range: dst_min={lo} nT is above dst_max={hi} nT")
    t = np.dtype(dtype).type
    with np.errstate(over="ignore"):
        lo_t, hi_t = t(lo), t(hi)
    if float(lo_t) < lo or (not min_inclusive and float(lo_t) == lo):
        lo_t = np.nextafter(lo_t, t(np.inf))
    if float(hi_t) > hi or (not max_inclusive and float(hi_t) == hi):
        hi_t = np.nextafter(hi_t, t(-np.inf))
    return lo_t, hi_t


class OccupancyIndex:
    """Counts of states per (cell, regime) for any Dst range, from one sort done up front.

    Parameters
    ----------
    leaf : (N,) int
        Leaf id of each state (0 .. n_leaves-1).
    code : (N,) int
        Regime id of each state (0 .. k-1).
    dst : (N,) float
        Dst at each state, nT (NaN when unknown); float32 or float64, kept as given.
    n_leaves, k : int
        Shape of the count table.

    Holds the states' order by Dst and their Dst in that order (8 bytes a state with float32
    Dst); the key ``leaf * K + regime`` and the Dst column are shared with the caller
    (:meth:`from_key`), not copied. A range is two binary searches; its states are a
    contiguous run of the order.
    """

    def __init__(self, leaf, code, dst, n_leaves: int, k: int) -> None:
        leaf = np.asarray(leaf, dtype=np.int64)
        code = np.asarray(code, dtype=np.int64)
        if not (leaf.shape == code.shape == np.shape(dst)) or leaf.ndim != 1:
            raise AtlasError("leaf, code and dst must be 1-D arrays of one length")
        if leaf.size and (leaf.min() < 0 or leaf.max() >= n_leaves):
            raise AtlasError(f"state leaf ids must lie in [0, {n_leaves}); the atlas is inconsistent")
        if code.size and (code.min() < 0 or code.max() >= k):
            raise AtlasError(f"state regime codes must lie in [0, {k}); the atlas is inconsistent")
        key = (leaf * k + code).astype(np.int32 if n_leaves * k < 2**31 else np.int64)
        self._setup(key, dst, n_leaves, k, None)

    @classmethod
    def from_key(cls, key, dst, n_leaves: int, k: int, all_counts=None) -> OccupancyIndex:
        """From the combined key ``leaf * k + code`` of each state (shared, not copied) and
        its Dst; ``all_counts`` (L, K) the all-states counts when the caller has them."""
        self = cls.__new__(cls)
        self._setup(np.asarray(key), dst, n_leaves, k, all_counts)
        return self

    def _setup(self, key, dst, n_leaves, k, all_counts) -> None:
        dst = np.asarray(dst)
        if dst.dtype.kind != "f":
            dst = dst.astype(np.float64)
        self.n_leaves, self.k = int(n_leaves), int(k)
        self.key, self.dst = key, dst
        self._all = (np.bincount(key, minlength=self.n_leaves * self.k).reshape(n_leaves, k)
                     if all_counts is None else all_counts)
        finite = np.flatnonzero(np.isfinite(dst))
        # ties in any order (an unstable sort is 2-3x faster at 5 x 10^7 states): a range's
        # states are sorted after (states_in) and its counts are sums
        order = finite[np.argsort(dst[finite])]
        self.order = order.astype(np.int32 if dst.size < 2**31 else np.int64)
        self.dst_sorted = dst[self.order]
        self.n_states = int(dst.size)

    @property
    def key_sorted(self) -> np.ndarray:
        """The keys in Dst order (a new array)."""
        return self.key[self.order]

    @property
    def dst_extent(self) -> tuple[float, float]:
        """Smallest and largest known Dst, nT (NaN, NaN with none)."""
        if self.dst_sorted.size == 0:
            return (np.nan, np.nan)
        return (float(self.dst_sorted[0]), float(self.dst_sorted[-1]))

    def slice_of(
        self, dst_min=None, dst_max=None, min_inclusive=True, max_inclusive=True
    ) -> slice:
        """The contiguous slice of the Dst-sorted states inside the range."""
        lo, hi = inclusive_bounds(self.dst_sorted.dtype, dst_min, dst_max, min_inclusive,
                                  max_inclusive)
        i0 = np.searchsorted(self.dst_sorted, lo, side="left")
        i1 = np.searchsorted(self.dst_sorted, hi, side="right")
        return slice(int(i0), int(max(i0, i1)))

    def states_in(self, dst_min=None, dst_max=None, min_inclusive=True,
                  max_inclusive=True) -> np.ndarray:
        """Sorted indices (int64) of the states with a known Dst in the range: the run of the
        Dst order, sorted (O(m log m) for m states in it), or, when the range holds a large
        part of the states, one pass over the Dst column (cheaper than sorting most of it)."""
        sl = self.slice_of(dst_min, dst_max, min_inclusive, max_inclusive)
        m = sl.stop - sl.start
        if 4 * m < self.n_states:
            return np.sort(self.order[sl]).astype(np.int64)
        lo, hi = inclusive_bounds(self.dst.dtype, dst_min, dst_max, min_inclusive, max_inclusive)
        mask = self.dst >= lo
        mask &= self.dst <= hi
        return np.flatnonzero(mask)

    def counts(
        self, dst_min=None, dst_max=None, min_inclusive=True, max_inclusive=True
    ) -> np.ndarray:
        """(n_leaves, k) counts of the states with ``dst_min <= Dst <= dst_max``.

        With neither bound, every state (including those without Dst). With a bound, only states
        with a known Dst. An inverted range raises :class:`AtlasError`; a range that simply holds
        no state returns zeros (callers decide whether that is an error).
        """
        if dst_min is None and dst_max is None:
            return np.array(self._all, dtype=np.int64)
        sl = self.slice_of(dst_min, dst_max, min_inclusive, max_inclusive)
        return self.counts_of_keys(self.key[self.order[sl]])

    def counts_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """(n_leaves, k) counts of a set of combined keys ``leaf * k + code``."""
        return np.bincount(keys, minlength=self.n_leaves * self.k).reshape(self.n_leaves, self.k)


def _resolve_parameter(name: str, available: set[str]) -> str:
    if name in NEIGHBOUR_PARAMETERS:
        column = NEIGHBOUR_PARAMETERS[name][0]
    elif name in {c for c, _ in NEIGHBOUR_PARAMETERS.values()}:
        column = name
    else:
        known = ", ".join(NEIGHBOUR_PARAMETERS)
        raise AtlasError(f"unknown conditioning parameter {name!r}; known: {known}")
    if column not in available:
        raise AtlasError(
            f"conditioning parameter {name!r} needs state column {column!r}, which this atlas "
            f"does not have (ingest an OMNI file for the solar-wind drivers)"
        )
    return column


class NeighbourIndex:
    """TS07D-style nearest-neighbour selection of states in standardised global-parameter space.

    Parameters
    ----------
    columns : dict[str, (N,) float]
        State columns available for conditioning (``dst``, ``ddst_dt``, ``sw_n``, ...).
    key : (N,) int
        Combined key ``leaf * k + code`` of each state (for counting the selection).

    Each parameter is standardised by its mean and standard deviation over the states where it is
    finite. ``columns`` may be a lazy mapping (:class:`atlas_core.atlas.columns.StateColumns`):
    a column is read, and its scale computed, only when a condition uses it; a k-d tree is built
    lazily per set of parameters used (states missing any of them are left out of that tree).
    Columns keep the type they come in (an atlas holds float32); scales are accumulated in
    float64.
    """

    def __init__(self, columns, key: np.ndarray) -> None:
        self.columns = columns if isinstance(columns, Mapping) else dict(columns)
        self.key = np.asarray(key)
        self._scale: dict[str, tuple[float, float]] = {}
        self._trees: dict[tuple[str, ...], tuple[cKDTree, np.ndarray]] = {}
        self._lock = threading.Lock()

    def scale_of(self, column: str) -> tuple[float, float]:
        """(mean, standard deviation) of a column over its finite values (std 1 when 0)."""
        if column not in self._scale:
            v = np.asarray(self.columns[column])
            finite = v[np.isfinite(v)]
            mean = float(finite.mean(dtype=np.float64)) if finite.size else 0.0
            std = float(finite.std(dtype=np.float64)) if finite.size > 1 else 1.0
            self._scale[column] = (mean, std if std > 0 else 1.0)
        return self._scale[column]

    @property
    def scale(self) -> dict[str, tuple[float, float]]:
        """(mean, std) of every column (reads each)."""
        return {c: self.scale_of(c) for c in self.columns}

    def resolve(self, target: dict[str, float]) -> dict[str, float]:
        """Map a target condition's names to state columns, checking values are numbers."""
        if not target:
            raise AtlasError("a nearest-neighbour condition needs at least one parameter")
        out = {}
        for name, value in target.items():
            column = _resolve_parameter(name, set(self.columns))
            try:
                value = float(value)
            except (TypeError, ValueError) as err:
                raise AtlasError(f"condition {name}={value!r} is not a number") from err
            if not np.isfinite(value):
                raise AtlasError(f"condition {name}={value} is not finite")
            out[column] = value
        return out

    def _tree(self, cols: tuple[str, ...]) -> tuple[cKDTree, np.ndarray]:
        with self._lock:  # built once, on first use, even when sessions ask at once
            if cols not in self._trees:
                ok = np.ones(len(self.key), dtype=bool)
                for c in cols:
                    ok &= np.isfinite(self.columns[c])
                rows = np.flatnonzero(ok)
                del ok
                z = np.empty((rows.size, len(cols)))  # float64, what cKDTree holds anyway
                for j, c in enumerate(cols):
                    z[:, j] = self.columns[c][rows]
                self._trees[cols] = (cKDTree(self._standardise(z, cols)), rows)
            return self._trees[cols]

    def _standardise(self, values: np.ndarray, cols: tuple[str, ...]) -> np.ndarray:
        mean = np.array([self.scale_of(c)[0] for c in cols])
        std = np.array([self.scale_of(c)[1] for c in cols])
        values -= mean
        values /= std
        return values

    def select(
        self, target: dict[str, float], k: int = DEFAULT_NEIGHBOURS, max_distance: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the (up to) ``k`` states nearest the target, and their standardised distances.

        ``max_distance`` (standardised units) drops neighbours farther than that. Raises
        :class:`AtlasError` when no state qualifies.
        """
        resolved = self.resolve(target)
        cols = tuple(sorted(resolved))
        if int(k) < 1:
            raise AtlasError(f"k must be at least 1 neighbour, got {k}")
        tree, rows = self._tree(cols)
        if rows.size == 0:
            raise AtlasError(f"no state has finite values of {', '.join(cols)}: no neighbours")
        z = self._standardise(np.array([[resolved[c] for c in cols]], dtype=np.float64), cols)[0]
        kk = min(int(k), rows.size)
        bound = np.inf if max_distance is None else float(max_distance)
        dist, idx = tree.query(z, k=kk, distance_upper_bound=bound)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        ok = np.isfinite(dist)
        if not ok.any():
            raise AtlasError(
                f"no state lies within {max_distance} standard deviations of the condition "
                f"{target}: no neighbours"
            )
        return rows[idx[ok]], dist[ok]

    def describe(self, target: dict[str, float], states: np.ndarray) -> dict:
        """Condition summary: target, the selection size and the neighbours' parameter ranges."""
        resolved = self.resolve(target)
        out = {"near": resolved, "k": int(states.size)}
        for c in resolved:
            v = self.columns[c][states]
            out[f"{c}_range"] = [as_decimal(np.nanmin(v), v.dtype), as_decimal(np.nanmax(v), v.dtype)]
        return out

"""The atlas product layer: the numbers every view, figure, query and export shows.

One condition type and a few functions, computed in one place:

- :class:`Condition` — which states a map is made of: all, a Dst range, or the ``k`` nearest
  neighbours of a target in driver space (TS07D-style), optionally one mission. Hashable: it is
  the cache key.
- :func:`counts` — windows and effective counts per cell and regime under a condition, with a
  summary of what the selection actually spans (Dst and drivers 5/50/95 %).
- :func:`estimates` — per-cell posterior regime probabilities and intervals, dominant regime,
  entropy, low-count flag. Every probability anybody shows comes from here.
- :func:`slice_table` — the cells of a slice plane with every column a view or a figure needs,
  including the fill colour and alpha they are drawn with (:func:`slice_product` adds the title,
  caption and boundary curves a figure draws).
- :func:`cell_table` — the non-empty cells for the 3D map.
- :func:`query_cells` — the same numbers at given positions (``atlas query``).
- :func:`solar_wind` — the boundary condition of a selection (its median Pdyn and IMF Bz).

Numbers come from the atlas' two estimator calls (``Atlas.counts_of`` and ``Atlas.estimate``,
contract C2); until an atlas has them, windows stand in for effective counts and the Dirichlet
posterior of :mod:`atlas_core.atlas.posterior` is the estimator (:func:`_counts_of`,
:func:`_estimate`: the only two places that change when they land).

:func:`counts` and :func:`estimates` are cached on the atlas object (bounded, lock-protected,
shared by every thread and every dashboard session of a process). Positions are GSM, R_E; Dst
nT; entropy bits.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from atlas_core.atlas.conditioning import DEFAULT_NEIGHBOURS, NEIGHBOUR_PARAMETERS, ActivityBins
from atlas_core.atlas.errors import AtlasError
from atlas_core.palette import ColorScale, load_palette, regime_labels, slice_scale
from atlas_core.physics.boundaries import boundary_cuts, clamp_solar_wind, earth_cut

__all__ = [
    "COLORINGS", "LOW_COUNT_ALPHA", "PLANES", "CellCounts", "CellEstimates", "Condition",
    "SliceProduct", "SolarWind", "as_condition", "cell_table", "counts", "estimates",
    "query_cells", "slice_product", "slice_table", "solar_wind",
]

PLANES = {"xy": ("z", "x", "y"), "xz": ("y", "x", "z"), "yz": ("x", "y", "z")}
"""Slice plane -> (the GSM axis held at the offset, horizontal axis, vertical axis)."""
COLORINGS = ("dominant", "probability", "entropy", "count", "storm_minus_quiet")
"""What slice cells can be coloured by (scales in :func:`atlas_core.palette.slice_scale`)."""
COLOR_ALIASES = {"difference": "storm_minus_quiet", "storm-quiet": "storm_minus_quiet",
                 "prob": "probability", "regime": "dominant"}
LOW_COUNT_ALPHA = 0.35
"""Opacity of a cell holding data but fewer effective counts than the atlas' ``min_count``
(drawn over white: its colour fades; an empty cell is drawn opaque in the "missing" colour)."""
FULL_ALPHA = 1.0
DEFAULT_SOLAR_WIND = (2.0, 0.0)
"""(Pdyn nPa, IMF Bz nT) of the boundaries when an atlas has no solar-wind drivers."""
_AXES = {"x": 0, "y": 1, "z": 2}
_SHORT = {column: short for short, (column, _) in NEIGHBOUR_PARAMETERS.items()}
_ORDER = {name: i for i, name in enumerate(NEIGHBOUR_PARAMETERS)}
_DISPLAY = {"dst": "Dst", "ddst": "dDst/dt", "sw_n": "solar-wind n", "sw_v": "solar-wind V",
            "imf_bz": "IMF Bz", "sw_pdyn": "Pdyn", "sym_h": "SYM-H"}


# --------------------------------------------------------------------------------------------
# Condition
# --------------------------------------------------------------------------------------------

def _num(v: float) -> str:
    return f"{float(v):g}"


def _finite(what: str, value) -> float:
    """``value`` as a finite float, else an :class:`AtlasError` naming ``what``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise AtlasError(f"{what} is not a number") from None
    if not math.isfinite(v):
        raise AtlasError(f"{what} is not finite")
    return v


@dataclass(frozen=True)
class Condition:
    """Which states a map is made of (hashable; equal conditions select the same states).

    ``dst_min``/``dst_max`` (nT, None = open) give a Dst range; ``near`` a nearest-neighbour
    target as ``(name, value)`` pairs (kept in the order of NEIGHBOUR_PARAMETERS) of :data:`NEIGHBOUR_PARAMETERS` (dst nT, ddst nT/h,
    sw_n cm^-3, sw_v km/s, imf_bz nT, sw_pdyn nPa) with ``k`` neighbours; neither means every
    state. ``mission`` keeps only one mission's states (None: all). ``name`` ("quiet", "storm")
    is a display name only: it takes no part in equality.
    """

    dst_min: float | None = None
    dst_max: float | None = None
    near: tuple[tuple[str, float], ...] = ()
    k: int = DEFAULT_NEIGHBOURS
    mission: str | None = None
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        lo, hi = (None if v is None else _finite(f"Dst bound {v!r} (nT)", v)
                  for v in (self.dst_min, self.dst_max))
        if lo is not None and hi is not None and lo > hi:
            raise AtlasError(f"empty Dst range: dst_min={lo:g} nT is above dst_max={hi:g} nT")
        near = dict(self.near.items() if isinstance(self.near, dict) else self.near)
        target = {_SHORT.get(name, name): _finite(f"condition {name}={value!r}", value)
                  for name, value in near.items()}
        unknown = [name for name in near if _SHORT.get(name, name) not in NEIGHBOUR_PARAMETERS]
        if unknown:
            raise AtlasError(f"unknown conditioning parameter {unknown[0]!r}; known: "
                             f"{', '.join(NEIGHBOUR_PARAMETERS)}")
        if target and (lo is not None or hi is not None):
            raise AtlasError("give either a Dst range or a nearest-neighbour target, not both")
        k = int(self.k) if target else DEFAULT_NEIGHBOURS
        if k < 1:
            raise AtlasError(f"k must be at least 1 neighbour, got {self.k}")
        object.__setattr__(self, "dst_min", lo)
        object.__setattr__(self, "dst_max", hi)
        object.__setattr__(self, "near", tuple(sorted(target.items(), key=lambda t: _ORDER[t[0]])))
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "mission", None if not self.mission else str(self.mission))

    # --- what it is ------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """``"near"``, ``"range"`` or ``"all"``."""
        if self.near:
            return "near"
        return "range" if self.dst_min is not None or self.dst_max is not None else "all"

    @property
    def target(self) -> dict[str, float]:
        """The nearest-neighbour target as a dict (empty unless ``kind == "near"``)."""
        return dict(self.near)

    @property
    def range_label(self) -> str:
        lo, hi = self.dst_min, self.dst_max
        if lo is not None and hi is not None and math.isclose(lo, -hi):
            return f"|Dst| ≤ {_num(hi)} nT"
        left = "" if lo is None else f"{_num(lo)} ≤ "
        right = "" if hi is None else f" ≤ {_num(hi)}"
        return f"{left}Dst{right} nT"

    @property
    def label(self) -> str:
        """Human-readable description, e.g. ``quiet, |Dst| ≤ 20 nT``."""
        if self.kind == "near":
            parts = ", ".join(
                f"{_DISPLAY.get(n, n)} {_num(v)} {NEIGHBOUR_PARAMETERS[n][1]}"
                for n, v in self.near)
            text = f"{self.k} states nearest to {parts}"
        elif self.kind == "range":
            text = self.range_label
        else:
            text = "all states"
        if self.name and self.kind != "all":
            text = f"{self.name}, {text}"
        return text + (f"; {self.mission} only" if self.mission else "")

    @property
    def slug(self) -> str:
        """A file-name part that differs between conditions: ``all``, ``quiet_dst-20to20``,
        ``storm_dstle-50``, ``dst-100to-30``, ``near_dst-80_ddst-10_k8000``."""
        if self.kind == "near":
            text = "near_" + "_".join(f"{n}{_num(v)}" for n, v in self.near) + f"_k{self.k}"
        elif self.kind == "range":
            lo, hi = self.dst_min, self.dst_max
            text = (f"dst{_num(lo)}to{_num(hi)}" if lo is not None and hi is not None
                    else f"dstge{_num(lo)}" if lo is not None else f"dstle{_num(hi)}")
            text = f"{self.name}_{text}" if self.name else text
        else:
            text = "all"
        return text + (f"_{self.mission}" if self.mission else "")

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def quiet(cls, bins: ActivityBins | None = None) -> Condition:
        """|Dst| <= the bins' quiet_max (default 20 nT)."""
        q = float((bins or ActivityBins()).quiet_max)
        return cls(dst_min=-q, dst_max=q, name="quiet")

    @classmethod
    def storm(cls, bins: ActivityBins | None = None) -> Condition:
        """Dst <= the bins' storm_max (default -50 nT)."""
        return cls(dst_max=float((bins or ActivityBins()).storm_max), name="storm")

    @classmethod
    def parse(cls, text: str, bins: ActivityBins | None = None) -> Condition:
        """``all``, ``quiet``, ``storm``, ``LO:HI`` (nT, either side may be empty) or
        ``near:dst=-80,ddst=-10,k=8000``; a trailing ``@MISSION`` keeps one mission."""
        raw = str(text).strip()
        body, _, mission = raw.partition("@")
        low = body.strip().lower()
        mission = mission.strip() or None
        if low in ("", "all"):
            cond = cls()
        elif low in ("quiet", "storm"):
            cond = getattr(cls, low)(bins)
        elif low.startswith("near:") or ("=" in low and ":" not in low):
            pairs = parse_pairs(low.removeprefix("near:"))
            k = int(pairs.pop("k", DEFAULT_NEIGHBOURS))
            if not pairs:
                raise AtlasError(f"condition {text!r}: near needs at least one name=value")
            cond = cls(near=tuple(pairs.items()), k=k)
        elif ":" in low:
            lo_s, hi_s = low.split(":", 1)
            try:
                lo = float(lo_s) if lo_s.strip() else None
                hi = float(hi_s) if hi_s.strip() else None
            except ValueError:
                raise AtlasError(f"condition {text!r}: expected LO:HI in nT") from None
            cond = cls(dst_min=lo, dst_max=hi)
        else:
            raise AtlasError(f"condition {text!r}: expected all, quiet, storm, a Dst range "
                             "LO:HI (nT) or near:dst=-80,ddst=-10[,k=8000]")
        return replace(cond, mission=mission) if mission else cond

    def to_dict(self) -> dict:
        """JSON-able form (:meth:`from_dict` reads it back)."""
        out = {"kind": self.kind, "label": self.label}
        if self.kind == "range":
            out.update(dst_min=self.dst_min, dst_max=self.dst_max)
        if self.kind == "near":
            out.update(near=self.target, k=self.k)
        if self.mission:
            out["mission"] = self.mission
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Condition:
        return cls(dst_min=d.get("dst_min"), dst_max=d.get("dst_max"),
                   near=tuple((d.get("near") or {}).items()), k=d.get("k") or DEFAULT_NEIGHBOURS,
                   mission=d.get("mission"), name=d.get("name"))


def parse_pairs(text: str) -> dict[str, float]:
    """``"dst=-80,ddst=-10"`` -> ``{"dst": -80.0, "ddst": -10.0}``."""
    out = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise AtlasError(f"expected name=value pairs, got {part!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError as err:
            raise AtlasError(f"{name.strip()}={value!r} is not a number") from err
    return out


def as_condition(cond, bins: ActivityBins | None = None) -> Condition:
    """A :class:`Condition` from a Condition, None (all), a string (:meth:`Condition.parse`),
    a ``(dst_min, dst_max)`` pair or a dict (:meth:`Condition.from_dict`)."""
    if isinstance(cond, Condition):
        return cond
    if cond is None:
        return Condition()
    if isinstance(cond, str):
        return Condition.parse(cond, bins)
    if isinstance(cond, dict):
        return Condition.from_dict(cond)
    if isinstance(cond, tuple | list) and len(cond) == 2:
        return Condition(dst_min=cond[0], dst_max=cond[1])
    raise AtlasError(f"cannot read a condition from {cond!r}")


# --------------------------------------------------------------------------------------------
# The cache on the atlas object
# --------------------------------------------------------------------------------------------

class ProductCache:
    """A bounded LRU of computed products, shared by the threads of a process.

    At most ``max_items`` entries and ``max_bytes`` of numpy arrays (the least recently used go
    first). A key being computed by one thread is waited for by the others, not recomputed.
    """

    def __init__(self, max_items: int = 32, max_bytes: int = 384 * 2**20):
        self.max_items, self.max_bytes = int(max_items), int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._pending: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute):
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                event = self._pending.get(key)
                if event is None:
                    event = self._pending[key] = threading.Event()
                    break
            event.wait()
        try:
            value = compute()
        except BaseException:
            with self._lock:
                self._pending.pop(key).set()
            raise
        with self._lock:
            self._items[key] = value
            self._sizes[key] = _nbytes(value)
            self._pending.pop(key).set()
            while len(self._items) > 1 and (len(self._items) > self.max_items
                                            or sum(self._sizes.values()) > self.max_bytes):
                old, _ = self._items.popitem(last=False)
                self._sizes.pop(old, None)
        return value

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._items)


def _nbytes(value, depth: int = 0) -> int:
    """Bytes of the numpy arrays a cached value holds (its own attributes, one level down)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=False).sum())
    if depth > 1:
        return 0
    if isinstance(value, dict | list | tuple):
        items = value.values() if isinstance(value, dict) else value
        return sum(_nbytes(v, depth + 1) for v in items)
    if hasattr(value, "__dict__"):
        return sum(_nbytes(v, depth + 1) for v in vars(value).values()
                   if isinstance(v, np.ndarray | pd.DataFrame))
    return 0


def cache_of(atlas) -> ProductCache:
    """The product cache of an atlas object (made on first use; one per atlas)."""
    cache = atlas.__dict__.get("_product_cache")
    if cache is None:  # dict.setdefault is atomic: concurrent first calls share one cache
        cache = atlas.__dict__.setdefault("_product_cache", ProductCache())
    return cache


# --------------------------------------------------------------------------------------------
# Counts and estimates (the C2 seam)
# --------------------------------------------------------------------------------------------

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
    else:
        dst = _condition_column(atlas, "dst")
        mask = np.ones(len(_state_key(atlas)), dtype=bool)
        if cond.kind == "range":
            mask = np.isfinite(dst)
            if cond.dst_min is not None:
                mask &= dst >= cond.dst_min
            if cond.dst_max is not None:
                mask &= dst <= cond.dst_max
        states = np.flatnonzero(mask)
    if cond.mission:
        missions = _missions(atlas)
        states = states[missions[states] == cond.mission]
    return states


def _nothing_selected(atlas, cond: Condition) -> AtlasError:
    span = _condition_column(atlas, "dst")
    span = span[np.isfinite(span)] if span is not None else np.zeros(0)
    extent = f"; the atlas' states span Dst {span.min():g} .. {span.max():g} nT" if span.size else ""
    return AtlasError(f"no state with {cond.label}{extent}")


def _missions(atlas) -> np.ndarray:
    def load():
        st = atlas.states
        if "mission" not in st.columns:
            return np.full(len(st), "MMS", dtype=object)
        return st["mission"].astype(str).to_numpy(dtype=object)

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
                p05, p50, p95 = np.percentile(v, [5, 50, 95])
                out[name] = {"unit": unit, "p05": float(p05), "p50": float(p50),
                             "p95": float(p95)}
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
    with np.errstate(divide="ignore", invalid="ignore"):
        ent_rows = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
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


# --------------------------------------------------------------------------------------------
# Slices
# --------------------------------------------------------------------------------------------

def check_plane(plane: str) -> str:
    p = str(plane).lower()
    if p not in PLANES:
        raise AtlasError(f"plane must be one of {', '.join(PLANES)}, got {plane!r}")
    return p


def check_color(color: str) -> str:
    c = COLOR_ALIASES.get(str(color).lower(), str(color).lower())
    if c not in COLORINGS:
        raise AtlasError(f"color must be one of {', '.join(COLORINGS)}, got {color!r}")
    return c


def _check_regime(atlas, color: str, regime: int) -> int:
    if color in ("probability", "storm_minus_quiet") and not 0 <= int(regime) < atlas.k:
        raise AtlasError(f"regime must be in 0..{atlas.k - 1}, got {regime}")
    return int(regime)


def slice_leaves(atlas, plane: str, offset: float) -> np.ndarray:
    """Leaves cut by the plane (``lo <= offset < hi`` along its normal axis)."""
    return np.asarray(atlas.octree.slice(PLANES[check_plane(plane)][0], float(offset)),
                      dtype=np.int64)


def _diff_pair(atlas, quiet, storm, allow_empty: bool = False
               ) -> tuple[CellEstimates, CellEstimates]:
    q = as_condition(quiet if quiet is not None else "quiet", atlas.bins)
    s = as_condition(storm if storm is not None else "storm", atlas.bins)
    return (estimates(atlas, q, allow_empty=allow_empty),
            estimates(atlas, s, allow_empty=allow_empty))


def slice_table(atlas, plane: str, offset: float, cond=None, color: str = "dominant",
                regime: int = 0, *, quiet=None, storm=None, allow_empty: bool = False
                ) -> pd.DataFrame:
    """The cells of a slice, one row each, with every column a view or figure needs.

    Columns: ``leaf``; ``u0 u1 v0 v1`` (the cell's rectangle in the plane's horizontal and
    vertical GSM axes, R_E); under ``cond``: ``windows`` (2-min windows), ``n_eff``, ``empty``,
    ``low_count``, ``dominant`` (-1 empty), ``regime`` (its label, "no data" when empty),
    ``p_dominant``, ``p_regime``/``p_regime_lo``/``p_regime_hi`` (the chosen regime's mean and
    credible bounds), ``entropy``; ``diff`` (storm − quiet of the chosen regime, NaN unless
    ``color == "storm_minus_quiet"`` and both conditions hold data); ``value`` (what the
    colouring maps; NaN = missing); ``fill`` (hex) and ``alpha`` (faded when low-count);
    ``faded`` (those cells: drawn at ``alpha`` and hatched, palette "low_count").
    ``attrs``: ``scale`` (:class:`~atlas_core.palette.ColorScale`), ``condition``, ``plane``,
    ``offset_re``, ``color``, ``regime``, ``min_count``.
    For ``storm_minus_quiet`` the difference uses ``quiet`` and ``storm`` (default: the
    atlas' bins) and a cell is missing/low-count when either condition's is. A condition that
    selects nothing raises :class:`AtlasError` unless ``allow_empty`` (every cell missing).
    """
    plane, color = check_plane(plane), check_color(color)
    regime = _check_regime(atlas, color, regime)
    cond = as_condition(cond, atlas.bins)
    est = estimates(atlas, cond, allow_empty=allow_empty)
    leaves = slice_leaves(atlas, plane, offset)
    _, h, v = PLANES[plane]
    lo = atlas.octree.leaf_lo[leaves]
    hi = atlas.octree.leaf_hi[leaves]
    labels = np.array([*regime_labels(atlas.names), "no data"], dtype=object)
    n = est.n[leaves]
    empty = n == 0
    dominant = est.dominant[leaves].astype(np.int64)
    p, p_lo, p_hi = est.at(leaves)
    cols = {
        "leaf": leaves,
        "u0": lo[:, _AXES[h]], "u1": hi[:, _AXES[h]], "v0": lo[:, _AXES[v]], "v1": hi[:, _AXES[v]],
        "windows": n, "n_eff": est.n_eff[leaves], "empty": empty,
        "low_count": est.low_count[leaves],
        "dominant": dominant, "regime": labels[dominant],
        "p_dominant": est.confidence[leaves],
        "p_regime": np.where(empty, np.nan, p[:, regime]),
        "p_regime_lo": np.where(empty, np.nan, p_lo[:, regime]),
        "p_regime_hi": np.where(empty, np.nan, p_hi[:, regime]),
        "entropy": est.entropy[leaves],
        "diff": np.full(leaves.size, np.nan),
    }
    missing, faded = empty, cols["low_count"] & ~empty
    scale_kw = {}
    if color == "storm_minus_quiet":
        eq, es = _diff_pair(atlas, quiet, storm, allow_empty)
        both = (eq.n[leaves] > 0) & (es.n[leaves] > 0)
        diff = es.p_at(leaves)[:, regime] - eq.p_at(leaves)[:, regime]
        cols["diff"] = value = np.where(both, diff, np.nan)
        missing = ~both
        faded = both & (eq.low_count[leaves] | es.low_count[leaves])
        scale_kw["diff_max"] = _diff_max(eq, es, regime)
    elif color == "count":
        scale_kw["count_max"] = float(est.n.max()) if est.n.size else 10.0
        value = np.where(empty, np.nan, n.astype(float))
    elif color == "dominant":
        value = np.where(empty, np.nan, dominant.astype(float))
    elif color == "probability":
        value = cols["p_regime"]
    else:
        value = cols["entropy"]
    scale = slice_scale(color, atlas.names, regime, **scale_kw)
    cols["value"] = value
    cols["fill"] = scale.colors_of(np.where(missing, np.nan, value))
    cols["alpha"] = np.where(faded, LOW_COUNT_ALPHA, FULL_ALPHA)
    cols["faded"] = faded  # drawn at LOW_COUNT_ALPHA and hatched (palette "low_count")
    frame = pd.DataFrame(cols)  # one construction: column-by-column inserts cost ~4x more
    frame.attrs.update(scale=scale, condition=cond, plane=plane, offset_re=float(offset),
                       color=color, regime=regime, min_count=est.min_count,
                       quiet=eq.condition if color == "storm_minus_quiet" else None,
                       storm=es.condition if color == "storm_minus_quiet" else None)
    return frame


def _diff_max(eq: CellEstimates, es: CellEstimates, regime: int) -> float:
    """Largest |storm − quiet| of one regime over the cells where both hold data."""
    both = np.intersect1d(eq.leaves, es.leaves, assume_unique=True)
    if both.size == 0:
        return 0.0
    return float(np.abs(es.p_at(both)[:, regime] - eq.p_at(both)[:, regime]).max())


@dataclass
class SliceProduct:
    """A slice as a figure shows it: the table (:func:`slice_table`), its colour scale, the
    boundary curves and Earth cut by the plane, a title and a caption."""

    table: pd.DataFrame
    scale: ColorScale
    plane: str
    offset_re: float
    axis: str
    u_name: str
    v_name: str
    title: str
    caption: str
    solar_wind: SolarWind | None
    curves: dict[str, list[np.ndarray]]
    earth: list[np.ndarray]
    colors: dict[str, str]
    min_count: float


def data_description(atlas) -> str:
    if getattr(atlas, "synthetic", False):
        return "synthetic MMS1-like archive (atlas_core.synth; not real measurements)"
    return "MMS1 L2 measurements (FGM survey, FPI DIS fast moments)"


def slice_product(atlas, plane: str, offset: float, cond=None, color: str = "dominant",
                  regime: int = 0, *, quiet=None, storm=None, boundaries: bool = True,
                  pdyn_npa: float | None = None, bz_nt: float | None = None) -> SliceProduct:
    """:func:`slice_table` plus what a figure adds: title, caption, Earth and the boundary
    curves (for the given Pdyn/Bz, else the selection's medians; ``boundaries=False``: none)."""
    table = slice_table(atlas, plane, offset, cond, color, regime, quiet=quiet, storm=storm)
    a = table.attrs
    plane, offset = a["plane"], a["offset_re"]
    axis, h, v = PLANES[plane]
    names = regime_labels(atlas.names)
    if color == "storm_minus_quiet" or a["color"] == "storm_minus_quiet":
        cq, cs = a["quiet"], a["storm"]
        cond_label = (f"storm ({cs.label.removeprefix('storm, ')}) minus quiet "
                      f"({cq.label.removeprefix('quiet, ')})")
        sw_cond = cs
    else:
        cond_label, sw_cond = a["condition"].label, a["condition"]
    sw = solar_wind(atlas, sw_cond, pdyn_npa, bz_nt) if boundaries else None
    curves = boundary_cuts(plane, offset, sw.pdyn_npa, sw.bz_nt) if sw else {}
    what = {"dominant": "dominant regime", "probability": "probability of a regime",
            "entropy": "entropy of the regime distribution (bits)", "count": "windows per cell",
            "storm_minus_quiet": "storm − quiet probability of a regime"}[a["color"]]
    regime_part = (f" ({a['regime']}: {names[a['regime']]})"
                   if a["color"] in ("probability", "storm_minus_quiet") else "")
    title = (f"Magnetosphere Atlas — {what}{regime_part}\n"
             f"{plane.upper()} slice at {axis}_GSM = {offset:g} R_E")
    n_states = int(table["windows"].sum())
    faded = bool((table["alpha"] < FULL_ALPHA).any())
    caption = (
        f"Condition: {cond_label} ({n_states:,} windows in the slice). "
        f"Data: {data_description(atlas)}. {len(table):,} octree cells; light-grey cells hold "
        "no states" + (f"; faded cells hold fewer than {a['min_count']:g} effective counts"
                       if faded else "") + "."
        + (f" Boundaries for {sw.label}." if sw else ""))
    pal = load_palette()
    return SliceProduct(
        table=table, scale=a["scale"], plane=plane, offset_re=offset, axis=axis, u_name=h,
        v_name=v, title=title, caption=caption, solar_wind=sw, curves=curves,
        earth=earth_cut(plane, offset),
        colors={k: pal[k] for k in ("magnetopause", "bow_shock", "earth", "missing")},
        min_count=a["min_count"])


# --------------------------------------------------------------------------------------------
# 3D cells and point queries
# --------------------------------------------------------------------------------------------

def cell_table(atlas, cond=None, *, allow_empty: bool = False) -> pd.DataFrame:
    """The non-empty cells under a condition for the 3D map: ``leaf``, bounds ``x0 y0 z0 x1 y1
    z1`` (R_E), ``windows``, ``n_eff``, ``low_count``, ``dominant``, ``confidence`` (p of the
    dominant regime), ``entropy``, ``fill`` (the regime's hex colour), ``alpha``."""
    est = estimates(atlas, as_condition(cond, atlas.bins), allow_empty=allow_empty)
    leaves = est.leaves
    lo, hi = atlas.octree.leaf_lo[leaves], atlas.octree.leaf_hi[leaves]
    dominant = est.dominant[leaves].astype(np.int64)
    scale = slice_scale("dominant", atlas.names)
    low = est.low_count[leaves]
    frame = pd.DataFrame({
        "leaf": leaves, "x0": lo[:, 0], "y0": lo[:, 1], "z0": lo[:, 2],
        "x1": hi[:, 0], "y1": hi[:, 1], "z1": hi[:, 2],
        "windows": est.n[leaves], "n_eff": est.n_eff[leaves], "low_count": low,
        "dominant": dominant, "confidence": est.confidence[leaves],
        "entropy": est.entropy[leaves],
        "fill": scale.colors_of(dominant), "alpha": np.where(low, LOW_COUNT_ALPHA, FULL_ALPHA),
    })
    frame.attrs.update(scale=scale, condition=est.condition)
    return frame


def query_cells(atlas, positions, cond=None, outside: str = "raise") -> pd.DataFrame:
    """The numbers of the cells at (M, 3) GSM positions (R_E) under a condition, one row each:
    ``x y z leaf windows n_eff low_count dominant entropy`` and ``p_<k> lo_<k> hi_<k>`` per
    regime. ``outside="nan"``: leaf -1 and NaN numbers for positions outside the atlas (else
    :class:`~atlas_core.atlas.errors.OutsideAtlasError`). ``attrs["condition"]``."""
    cond = as_condition(cond, atlas.bins)
    pos, leaf = atlas.locate(positions, outside)
    est = estimates(atlas, cond)
    inside = leaf >= 0
    safe = np.where(inside, leaf, 0)
    p, lo, hi = est.at(safe)
    frame = pd.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2], "leaf": leaf,
                          "windows": np.where(inside, est.n[safe], 0),
                          "n_eff": np.where(inside, est.n_eff[safe], np.nan),
                          "low_count": np.where(inside, est.low_count[safe], True),
                          "dominant": np.where(inside, est.dominant[safe], -1),
                          "entropy": np.where(inside, est.entropy[safe], np.nan)})
    blocks = {}
    for name, arr in (("p", p), ("lo", lo), ("hi", hi)):
        for j in range(arr.shape[1]):
            blocks[f"{name}_{j}"] = np.where(inside, arr[:, j], np.nan)
    frame = pd.concat([frame, pd.DataFrame(blocks)], axis=1)
    frame.attrs.update(condition=cond, names=list(atlas.names), min_count=est.min_count)
    return frame


def query_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-able records of :func:`query_cells`, regimes sorted by decreasing probability."""
    names = frame.attrs["names"]
    cond = frame.attrs["condition"].to_dict()
    k = len(names)
    out = []
    for row in frame.itertuples(index=False):
        d = row._asdict()
        p = np.array([d[f"p_{j}"] for j in range(k)])
        order = np.argsort(-np.nan_to_num(p, nan=-1.0), kind="stable")
        out.append({
            "position": [float(d["x"]), float(d["y"]), float(d["z"])], "leaf": int(d["leaf"]),
            "condition": cond, "count": int(d["windows"]), "n_eff": _f(d["n_eff"]),
            "low_count": bool(d["low_count"]), "dominant": int(d["dominant"]),
            "entropy_bits": _f(d["entropy"]),
            "regimes": [{"id": int(j), "name": names[j], "p": _f(d[f"p_{j}"]),
                         "lo": _f(d[f"lo_{j}"]), "hi": _f(d[f"hi_{j}"])} for j in order],
        })
    return out


def _f(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None

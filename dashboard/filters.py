"""The dashboard's controls as parameters only: no widgets, no data, no Panel import.

Every view reads these parameters; the app turns them into widgets and syncs them with the
URL (so that a view can be shared). :meth:`Filters.apply_query` is the one place where values
from a URL enter: numbers are clamped into their bounds, unknown choices are refused, and each
correction is reported as a message for the page.
"""

from __future__ import annotations

import json
import math

import param

from atlas_core.atlas.product import Condition
from atlas_core.states import FEATURES

PLANES = {"XY": "z", "XZ": "y", "YZ": "x"}
"""Slice plane -> the GSM axis held fixed at the offset."""

SLICE_COLORS = {
    "dominant": "dominant regime",
    "probability": "probability of a regime",
    "entropy": "entropy (bits)",
    "count": "state count",
    "storm_minus_quiet": "storm − quiet probability of a regime",
}
COVERAGE_COLORS = {"count": "count (log)", "regime": "regime", "dst": "mean Dst", "mission": "mission"}

DST_OPEN = 500.0
"""Dst range slider ends, nT: a range touching +-DST_OPEN is open on that side."""


def dst_range(lo: float, hi: float, name: str | None = None) -> Condition:
    """A Dst-range condition from slider values: an end at +-DST_OPEN leaves that side open."""
    lo_, hi_ = float(min(lo, hi)), float(max(lo, hi))
    return Condition(dst_min=None if lo_ <= -DST_OPEN else lo_,
                     dst_max=None if hi_ >= DST_OPEN else hi_, name=name)


class Filters(param.Parameterized):
    """What the user has chosen. Parameters only; views and the store read them."""

    # octree slice
    plane = param.Selector(default="XY", objects=list(PLANES), doc="slice plane (GSM)")
    offset = param.Number(default=0.0, bounds=(-30.0, 30.0), step=0.5,
                          doc="offset of the slice plane along its normal, R_E")
    slice_color = param.Selector(default="dominant", objects=list(SLICE_COLORS),
                                 doc="what colours the slice cells")
    regime = param.Integer(default=0, bounds=(0, 11),
                           doc="regime for 'probability' and 'storm − quiet' colouring")

    # activity conditions
    mode = param.Selector(default="range", objects=["range", "nearest"],
                          doc="condition by Dst ranges, or by nearest neighbours of a target")
    show = param.Selector(default="all", objects=["all", "quiet", "storm"],
                          doc="in range mode: which condition the slice and 3D map show")
    quiet_dst = param.Range(default=(-20.0, 20.0), bounds=(-DST_OPEN, DST_OPEN),
                            doc="quiet: Dst range, nT (default |Dst| ≤ 20 nT)")
    storm_dst = param.Range(default=(-DST_OPEN, -50.0), bounds=(-DST_OPEN, DST_OPEN),
                            doc="storm: Dst range, nT (default Dst ≤ -50 nT; an end at ±500 is open)")
    target_dst = param.Number(default=-80.0, bounds=(-DST_OPEN, 100.0),
                              doc="nearest mode: target Dst, nT")
    target_ddst = param.Number(default=-5.0, bounds=(-100.0, 100.0),
                               doc="nearest mode: target dDst/dt, nT/h")
    k_near = param.Integer(default=20000, bounds=(100, 1_000_000),
                           doc="nearest mode: number of neighbour states")

    # orbital coverage and boundaries
    coverage_color = param.Selector(default="count", objects=list(COVERAGE_COLORS),
                                    doc="what colours the coverage maps")
    pdyn = param.Number(default=2.0, bounds=(0.1, 50.0), step=0.1,
                        doc="solar-wind dynamic pressure for the boundary curves, nPa")
    imf_bz = param.Number(default=0.0, bounds=(-30.0, 30.0), step=0.5,
                          doc="IMF Bz (GSM) for the magnetopause curve, nT")

    # per-regime feature violins
    feature = param.Selector(default="n_mean", objects=list(FEATURES),
                             doc="the feature the violins show")

    # cell inspector
    cell = param.Integer(default=-1, bounds=(-1, None), doc="inspected octree leaf (-1: none)")

    URL = {
        "plane": "plane", "offset": "offset", "slice_color": "color", "regime": "regime",
        "mode": "mode", "show": "show", "quiet_dst": "quiet", "storm_dst": "storm",
        "target_dst": "dst", "target_ddst": "ddst", "k_near": "k",
        "coverage_color": "coverage", "feature": "feature", "pdyn": "pdyn", "imf_bz": "bz", "cell": "cell",
    }
    """Parameter -> URL query name: the state of the controls that a shared link carries."""

    # --- conditions the store understands ------------------------------------------------

    # the conditions are the product layer's (atlas_core.atlas.product.Condition): the store,
    # the figures and the CLI share one cache key and one label

    def quiet(self) -> Condition:
        return dst_range(*self.quiet_dst, name="quiet")

    def storm(self) -> Condition:
        return dst_range(*self.storm_dst, name="storm")

    def nearest(self) -> Condition:
        return Condition(near=(("dst", float(self.target_dst)), ("ddst", float(self.target_ddst))),
                         k=int(self.k_near))

    def current(self) -> Condition:
        """The condition the slice, the 3D map and the inspector's first column show."""
        if self.mode == "nearest":
            return self.nearest()
        return {"all": Condition(), "quiet": self.quiet(), "storm": self.storm()}[self.show]

    def set_regime_count(self, k: int) -> None:
        """Bound the regime choice by the atlas's number of regimes."""
        self.param.regime.bounds = (0, max(0, int(k) - 1))
        if self.regime > k - 1:
            self.regime = 0

    def set_leaf_count(self, n_leaves: int) -> None:
        """Bound the inspected cell by the octree's number of leaves."""
        self.param.cell.bounds = (-1, int(n_leaves) - 1)
        if self.cell >= n_leaves:
            self.cell = -1

    def set_extent(self, lo: float, hi: float) -> None:
        """Bound the slice offset by the data's extent (R_E)."""
        self.param.offset.bounds = (math.floor(lo), math.ceil(hi))
        self.offset = min(max(self.offset, self.param.offset.bounds[0]), self.param.offset.bounds[1])

    # --- values from a URL ----------------------------------------------------------------

    def apply_query(self, query: dict[str, str]) -> list[str]:
        """Set parameters from URL query values; clamp or refuse bad ones.

        Returns one message per value that was changed or ignored (empty when all applied).
        Unknown query names are ignored silently (other apps may share the URL).
        """
        messages: list[str] = []
        updates = {}
        by_url = {v: k for k, v in self.URL.items()}
        for qname, raw in query.items():
            if qname not in by_url:
                continue
            pname = by_url[qname]
            value, msg = self._coerce(pname, raw)
            if msg:
                messages.append(f"URL parameter {qname}={raw!r}: {msg}")
            if value is not None:
                updates[pname] = value
        self.param.update(**updates)
        return messages

    def _coerce(self, pname: str, raw) -> tuple[object, str | None]:
        p = self.param[pname]
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        raw = str(raw)
        if isinstance(p, param.Selector):
            if raw in p.objects:
                return raw, None
            return None, f"not one of {', '.join(map(str, p.objects))}; ignored"
        if isinstance(p, param.Range):
            try:
                lo, hi = (float(v) for v in json.loads(raw))
            except (ValueError, TypeError, json.JSONDecodeError):
                return None, "expected a pair of numbers like [-20, 20]; ignored"
            if not (math.isfinite(lo) and math.isfinite(hi)):
                return None, "not finite; ignored"
            blo, bhi = p.bounds
            clamped = (min(max(min(lo, hi), blo), bhi), min(max(max(lo, hi), blo), bhi))
            msg = None if clamped == (lo, hi) else f"clamped to [{clamped[0]:g}, {clamped[1]:g}]"
            return clamped, msg
        is_int = isinstance(p, param.Integer)
        try:
            value = float(raw)
            if is_int:
                if not value.is_integer():
                    return None, "not a whole number; ignored"
                value = int(value)
        except (ValueError, OverflowError):
            return None, "not a number; ignored"
        if not math.isfinite(value):
            return None, "not finite; ignored"
        lo, hi = p.bounds if p.bounds else (None, None)
        clamped = value
        if lo is not None:
            clamped = max(clamped, lo)
        if hi is not None:
            clamped = min(clamped, hi)
        return clamped, (None if clamped == value else f"out of range, clamped to {clamped:g}")

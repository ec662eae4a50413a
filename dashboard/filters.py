"""The dashboard's controls as parameters only: no widgets, no data, no Panel import.

Every view reads these parameters; the app turns them into widgets and syncs them with the
URL (so that a view can be shared). :meth:`Filters.apply_query` is the one place where values
from a URL enter: numbers are clamped into their bounds, unknown choices are refused, and each
correction is reported as a message for the page.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pandas as pd
import param

from atlas_core.atlas.product import Condition
from atlas_core.states import FEATURES

PLANES = {"XY": "z", "XZ": "y", "YZ": "x"}
"""Slice plane -> the GSM axis held fixed at the offset."""

SLICE_COLORS = {
    "dominant": "dominant regime",
    "probability": "probability of a regime",
    "entropy": "entropy (bits)",
    "count": "windows per cell",
    "storm_minus_quiet": "storm − quiet probability of a regime",
}
COVERAGE_COLORS = {"count": "windows (log)", "regime": "regime", "dst": "mean Dst",
                   "mission": "mission"}
VIEWS = {
    "slice": "Octree slice", "maps": "MLT–R and X–ρ maps", "series": "Time series and orbit",
    "coverage": "Orbital coverage", "violins": "Feature violins", "occupancy": "Quiet vs storm",
    "map3d": "3D regime map", "regimes": "Regimes",
}
"""The page's tabs: URL name -> title."""

NEAR_DRIVERS = {"dst": "Dst", "ddst": "dDst/dt", "imf_bz": "IMF Bz", "sw_pdyn": "Pdyn",
                "sw_v": "V_sw"}
"""Drivers a nearest-neighbour target can use (names of conditioning.NEIGHBOUR_PARAMETERS) ->
their button labels; the atlas may hold only some of them."""
TARGETS = {"dst": "target_dst", "ddst": "target_ddst", "imf_bz": "target_imf_bz",
           "sw_pdyn": "target_sw_pdyn", "sw_v": "target_sw_v"}
"""Driver -> the parameter holding its target value."""
CONDITION_PARAMS = ("mode", "show", "quiet_dst", "storm_dst", "near_drivers", *TARGETS.values(),
                    "k_near", "mission")
"""The parameters that change the activity condition (every view that shows one watches them)."""

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
    target_imf_bz = param.Number(default=-5.0, bounds=(-40.0, 40.0),
                                 doc="nearest mode: target IMF Bz (GSM), nT")
    target_sw_pdyn = param.Number(default=3.0, bounds=(0.1, 60.0),
                                  doc="nearest mode: target solar-wind dynamic pressure, nPa")
    target_sw_v = param.Number(default=450.0, bounds=(200.0, 1500.0),
                               doc="nearest mode: target solar-wind speed, km/s")
    near_drivers = param.ListSelector(default=["dst", "ddst"], objects=list(NEAR_DRIVERS),
                                      doc="nearest mode: the drivers the target uses")
    k_near = param.Integer(default=20000, bounds=(100, 1_000_000),
                           doc="nearest mode: number of neighbour states")

    mission = param.Selector(default="all", objects=["all"],
                             doc="keep one mission's states (all: every mission)")

    # orbital coverage and boundaries
    coverage_color = param.Selector(default="count", objects=list(COVERAGE_COLORS),
                                    doc="what colours the coverage maps")
    boundaries = param.Selector(default="selection", objects=["selection", "chosen"],
                                doc="boundary curves for the selection's median Pdyn and IMF Bz, "
                                    "or for the values chosen below")
    pdyn = param.Number(default=2.0, bounds=(0.1, 50.0), step=0.1,
                        doc="solar-wind dynamic pressure for the boundary curves, nPa")
    imf_bz = param.Number(default=0.0, bounds=(-30.0, 30.0), step=0.5,
                          doc="IMF Bz (GSM) for the magnetopause curve, nT")

    # time series and orbit
    series_start = param.String(default="", doc="start of the time-series interval, UTC "
                                "(ISO, e.g. 2016-01-20T06:00; empty: the first storm)")
    series_hours = param.Number(default=24.0, bounds=(1.0, 240.0), step=1.0,
                                doc="length of the time-series interval, h")

    # page
    view = param.Selector(default="slice", objects=list(VIEWS), doc="the tab shown")

    # per-regime feature violins
    feature = param.Selector(default="n_mean", objects=list(FEATURES),
                             doc="the feature the violins show")

    # cell inspector
    cell = param.Integer(default=-1, bounds=(-1, None), doc="inspected octree leaf (-1: none)")

    URL = {
        "plane": "plane", "offset": "offset", "slice_color": "color", "regime": "regime",
        "mode": "mode", "show": "show", "quiet_dst": "quiet", "storm_dst": "storm",
        "target_dst": "dst", "target_ddst": "ddst", "k_near": "k", "near_drivers": "drivers",
        "target_imf_bz": "nbz", "target_sw_pdyn": "npdyn", "target_sw_v": "nv",
        "coverage_color": "coverage", "feature": "feature", "boundaries": "boundaries",
        "pdyn": "pdyn", "imf_bz": "bz", "cell": "cell", "mission": "mission",
        "series_start": "t0", "series_hours": "hours", "view": "view",
    }
    """Parameter -> URL query name: the state of the controls that a shared link carries."""

    # --- conditions the store understands ------------------------------------------------

    # the conditions are the product layer's (atlas_core.atlas.product.Condition): the store,
    # the figures and the CLI share one cache key and one label

    def _mission(self) -> str | None:
        return None if self.mission == "all" else self.mission

    def quiet(self) -> Condition:
        return replace(dst_range(*self.quiet_dst, name="quiet"), mission=self._mission())

    def storm(self) -> Condition:
        return replace(dst_range(*self.storm_dst, name="storm"), mission=self._mission())

    def nearest(self) -> Condition:
        """The k states nearest to the target of the chosen drivers (Dst alone when none is
        chosen)."""
        names = [n for n in NEAR_DRIVERS if n in self.near_drivers] or ["dst"]
        return Condition(near=tuple((n, float(getattr(self, TARGETS[n]))) for n in names),
                         k=int(self.k_near), mission=self._mission())

    def set_drivers(self, available) -> None:
        """Offer only the drivers the atlas holds (``available``: names of NEAR_DRIVERS)."""
        have = [n for n in NEAR_DRIVERS if n in set(available)] or ["dst"]
        self.param.near_drivers.objects = have
        kept = [n for n in self.near_drivers if n in have]
        self.near_drivers = kept or have[:1]

    def set_target(self, target: dict[str, float], k: int | None = None) -> list[str]:
        """Nearest-neighbour mode with ``target`` ({driver: value}, e.g. a nowcast's); values
        outside a control's bounds are clamped. Returns one note per clamped value."""
        notes, updates = [], {}
        for name, value in target.items():
            if name not in TARGETS:
                continue
            p = self.param[TARGETS[name]]
            lo, hi = p.bounds
            v = min(max(float(value), lo), hi)
            if v != float(value):
                notes.append(f"{NEAR_DRIVERS[name]} {float(value):g} is outside the control's "
                             f"range: {v:g} used")
            updates[TARGETS[name]] = v
        names = [n for n in NEAR_DRIVERS if n in target]
        updates["near_drivers"] = [n for n in names if n in self.param.near_drivers.objects]
        if k is not None:
            lo, hi = self.param.k_near.bounds
            updates["k_near"] = int(min(max(int(k), lo), hi))
        self.param.update(mode="nearest", **updates)
        return notes

    def current(self) -> Condition:
        """The condition the slice, the 3D map and the inspector's first column show."""
        if self.mode == "nearest":
            return self.nearest()
        if self.show == "all":
            return Condition(mission=self._mission())
        return self.quiet() if self.show == "quiet" else self.storm()

    def boundary_condition(self) -> Condition:
        """The selection whose median Pdyn and IMF Bz the boundaries show: the storm side of
        a storm − quiet map, else the current condition."""
        return self.storm() if self.slice_color == "storm_minus_quiet" else self.current()

    def set_missions(self, missions: list[str]) -> None:
        """The missions the atlas holds (the choice is hidden with one)."""
        self.param.mission.objects = ["all", *missions]
        if self.mission not in self.param.mission.objects:
            self.mission = "all"

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
        if isinstance(p, param.String):
            if raw.strip() == "":
                return "", None
            try:
                return pd.Timestamp(raw).isoformat(timespec="minutes"), None
            except (ValueError, TypeError):
                return None, "not a UTC time like 2016-01-20T06:00; ignored"
        if isinstance(p, param.ListSelector):
            try:
                values = json.loads(raw)
            except json.JSONDecodeError:
                values = [v.strip() for v in raw.split(",") if v.strip()]
            values = values if isinstance(values, list) else [values]
            known = [v for v in values if v in p.objects]
            unknown = [str(v) for v in values if v not in p.objects]
            msg = (f"{', '.join(unknown)} not among {', '.join(map(str, p.objects))}; ignored"
                   if unknown else None)
            return (known or None), msg
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

"""The :class:`Condition` value type: which states a map is made of (hashable: the cache key)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from atlas_core.atlas.conditioning import DEFAULT_NEIGHBOURS, NEIGHBOUR_PARAMETERS, ActivityBins
from atlas_core.atlas.errors import AtlasError

_SHORT = {column: short for short, (column, _) in NEIGHBOUR_PARAMETERS.items()}
_ORDER = {name: i for i, name in enumerate(NEIGHBOUR_PARAMETERS)}
_DISPLAY = {"dst": "Dst", "ddst": "dDst/dt", "sw_n": "solar-wind n", "sw_v": "solar-wind V",
            "imf_bz": "IMF Bz", "sw_pdyn": "Pdyn", "sym_h": "SYM-H"}



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

"""Regime colours, the same in every view and every exported figure.

The palette lives in ``assets/palette.json``: a regime's physics-based name (from
``atlas_core.regimes``) is matched against colour *families* (solar wind, magnetosheath,
plasma sheet, lobe, ...), so that sheath-like regimes are always orange-red and lobe-like ones
always blue, whatever the regime ids are. It sits in ``atlas_core`` so that the figure export
and the dashboard share one rule (``atlas_core`` never imports the dashboard).

The colour scales of the slice colourings (:class:`ColorScale`, :func:`slice_scale`) live here
too: one definition of kind, colormap, limits and label, which the product layer applies
(:mod:`atlas_core.atlas.product`) and every renderer reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets"
"""The repository's ``assets/`` folder (palette, CSS, logo)."""


@lru_cache(maxsize=1)
def load_palette() -> dict:
    """The parsed ``assets/palette.json`` (read once per process; treat as read-only)."""
    path = ASSETS / "palette.json"
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as err:
        raise RuntimeError(f"{path}: cannot read the regime palette ({err})") from err


def regime_family(name: str) -> str | None:
    """The palette family a regime name belongs to (the first whose keywords occur in it),
    None when none matches."""
    low = str(name).lower()
    for fam in load_palette()["families"]:
        if any(kw in low for kw in fam["keywords"]):
            return fam["family"]
    return None


def regime_colors(names: list[str]) -> list[str]:
    """One hex colour per regime, in regime-id order, from the regimes' names.

    Regimes of one family take its shades in id order; names that match no family, or a
    family whose shades ran out, take the fallback colours in order.
    """
    palette = load_palette()
    shades = {f["family"]: f["shades"] for f in palette["families"]}
    used = dict.fromkeys(shades, 0)
    fallback = iter(palette["fallback"] * (1 + len(names) // len(palette["fallback"])))
    colors = []
    for name in names:
        family = regime_family(name)
        color = None
        if family is not None and used[family] < len(shades[family]):
            color = shades[family][used[family]]
            used[family] += 1
        colors.append(color or next(fallback))
    return colors


def regime_labels(names: list[str]) -> list[str]:
    """Unique display labels: the names themselves, with ``" #<id>"`` added to a name that
    several regimes share."""
    names = [str(n) for n in names]
    return [n if names.count(n) == 1 else f"{n} #{k}" for k, n in enumerate(names)]


# --------------------------------------------------------------------------------------------
# Colour scales: one definition per colouring, read by Bokeh and matplotlib alike
# --------------------------------------------------------------------------------------------

LUT_SIZE = 256
"""Colours per continuous scale (matplotlib's default colormap resolution)."""

SLICE_COLOURINGS = {
    "dominant": "dominant regime",
    "probability": "probability of a regime",
    "entropy": "entropy of the regime distribution (bits)",
    "count": "windows per cell",
    "storm_minus_quiet": "storm − quiet probability of a regime",
}
"""What a slice cell can be coloured by -> its description."""

SCALE_COLORMAPS = {"probability": "viridis", "entropy": "plasma", "count": "cividis",
                   "storm_minus_quiet": "RdBu_r", "mean_dst": "RdBu"}
"""The matplotlib colormap of each continuous colouring (Bokeh gets the same colours as a
:data:`LUT_SIZE`-entry palette): probability and entropy run dark (low) to light (high),
count is log-scaled, differences and Dst are diverging with white at 0."""


@lru_cache(maxsize=32)
def colormap_hex(name: str, n: int = LUT_SIZE) -> tuple[str, ...]:
    """``n`` hex colours sampled evenly from matplotlib's colormap ``name`` (low to high)."""
    import matplotlib
    from matplotlib.colors import to_hex

    cmap = matplotlib.colormaps[name].resampled(n)
    return tuple(to_hex(cmap(i)) for i in range(n))


@dataclass(frozen=True)
class ColorScale:
    """How the values of one colouring become colours, for every renderer.

    ``kind`` is ``"categorical"`` (values are category ids indexing ``colors``),
    ``"sequential"`` or ``"diverging"`` (linear between ``vmin`` and ``vmax``) or ``"log"``
    (log10 between them). Continuous scales quantise to :data:`LUT_SIZE` colours of the
    matplotlib colormap ``cmap`` exactly as matplotlib and Bokeh's colour mappers do, so
    :meth:`colors_of` gives the colours both draw. NaN values take ``missing``.
    """

    name: str
    kind: str
    label: str
    cmap: str | None = None
    vmin: float | None = None
    vmax: float | None = None
    categories: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    missing: str = "#EEEEEE"

    def palette(self) -> tuple[str, ...]:
        """The colours low to high (continuous) or per category (categorical)."""
        return self.colors if self.kind == "categorical" else colormap_hex(self.cmap)

    def index_of(self, values) -> np.ndarray:
        """Palette index of each value (-1 for NaN or, categorical, an unknown id)."""
        v = np.asarray(values, dtype=float)
        ok = np.isfinite(v)
        idx = np.full(v.shape, -1, dtype=np.int64)
        if self.kind == "categorical":
            ids = np.where(ok, v, -1).astype(np.int64)
            good = ok & (ids >= 0) & (ids < len(self.colors))
            idx[good] = ids[good]
            return idx
        lo, hi = float(self.vmin), float(self.vmax)
        if self.kind == "log":
            ok &= v > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                v, lo, hi = np.log10(np.where(ok, v, 1.0)), np.log10(lo), np.log10(hi)
        t = (v - lo) / max(hi - lo, 1e-300)
        idx[ok] = np.clip((t[ok] * LUT_SIZE).astype(np.int64), 0, LUT_SIZE - 1)
        return idx

    def colors_of(self, values) -> np.ndarray:
        """Hex colour of each value (object array); NaN -> ``missing``."""
        table = np.array([*self.palette(), self.missing], dtype=object)
        return table[self.index_of(values)]  # -1 takes the last entry: missing

    @property
    def norm(self) -> str:
        """``"log"`` or ``"linear"`` (``"categorical"`` for category colours)."""
        return {"log": "log", "categorical": "categorical"}.get(self.kind, "linear")

    @property
    def clim(self) -> tuple[float, float] | None:
        return None if self.kind == "categorical" else (float(self.vmin), float(self.vmax))

    def stops(self, n: int = 9) -> list[str]:
        """``n`` colours evenly along a continuous scale (a compact colour bar)."""
        if self.kind == "categorical":
            return list(self.colors)
        lut = colormap_hex(self.cmap)
        return [lut[int(round(i * (LUT_SIZE - 1) / max(n - 1, 1)))] for i in range(n)]

    def ticks(self) -> list[float]:
        """Colour-bar ticks: decades on a log scale, five even steps otherwise."""
        if self.kind == "categorical":
            return list(range(len(self.colors)))
        lo, hi = float(self.vmin), float(self.vmax)
        if self.kind == "log":
            return [10.0**e for e in range(int(np.floor(np.log10(lo))),
                                           int(np.ceil(np.log10(hi))) + 1)
                    if lo <= 10.0**e <= hi]
        return [float(v) for v in np.linspace(lo, hi, 5)]

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "label": self.label, "cmap": self.cmap,
                "vmin": self.vmin, "vmax": self.vmax, "categories": list(self.categories),
                "colors": list(self.colors), "missing": self.missing, "norm": self.norm,
                "clim": self.clim, "stops": self.stops(), "ticks": self.ticks()}


def slice_scale(color: str, names: list[str], regime: int = 0, *, count_max: float | None = None,
                diff_max: float | None = None) -> ColorScale:
    """The colour scale of a slice colouring (see :data:`SLICE_COLOURINGS`).

    ``names`` are the regime names (labels and colours of ``dominant``), ``regime`` the regime
    of ``probability`` and ``storm_minus_quiet``; ``count_max`` the largest window count under
    the condition (the log scale runs 1 .. count_max, at least one decade), ``diff_max`` the
    largest |storm − quiet| difference (the diverging scale is symmetric about 0).
    """
    labels = regime_labels(names)
    missing = load_palette().get("missing", "#EEEEEE")
    if color == "dominant":
        return ColorScale("dominant", "categorical", "dominant regime",
                          categories=tuple(labels), colors=tuple(regime_colors(names)),
                          missing=missing)
    name = labels[regime] if 0 <= regime < len(labels) else str(regime)
    if color == "probability":
        return ColorScale(color, "sequential", f"P({name})", SCALE_COLORMAPS[color], 0.0, 1.0,
                          missing=missing)
    if color == "entropy":
        return ColorScale(color, "sequential", "entropy (bits)", SCALE_COLORMAPS[color], 0.0,
                          float(np.log2(max(len(names), 2))), missing=missing)
    if color == "count":
        top = max(10.0, float(count_max or 10.0))
        return ColorScale(color, "log", "windows per cell (log scale)", SCALE_COLORMAPS[color],
                          1.0, top, missing=missing)
    if color == "storm_minus_quiet":
        m = float(diff_max) if diff_max is not None and np.isfinite(diff_max) else 0.0
        m = max(0.05, float(np.ceil(m * 20.0) / 20.0))  # symmetric, rounded up to 0.05
        return ColorScale(color, "diverging", f"P_storm − P_quiet ({name})",
                          SCALE_COLORMAPS[color], -m, m, missing=missing)
    raise ValueError(f"color must be one of {', '.join(SLICE_COLOURINGS)}, got {color!r}")


def dst_scale(limit_nt: float = 100.0) -> ColorScale:
    """Mean Dst (coverage maps): diverging about 0 nT (white), storms red, ±``limit_nt``."""
    return ColorScale("mean_dst", "diverging", "mean Dst (nT)", SCALE_COLORMAPS["mean_dst"],
                      -float(limit_nt), float(limit_nt), missing=load_palette().get("missing", "#EEEEEE"))

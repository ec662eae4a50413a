"""Publication figures of an atlas slice: PNG (>= 300 dpi), SVG and PDF, with matplotlib (Agg).

A slice is the set of octree leaves cut by an axis-aligned plane (``Octree.slice``), drawn as
rectangles in the plane's two coordinates (GSM, R_E) and coloured by one of:

- ``dominant``: the most probable regime (legend of regime names, palette of ``assets/``);
- ``probability``: the Dirichlet posterior-mean probability of one regime (``regime=k``);
- ``entropy``: Shannon entropy of the regime distribution, bits (0 = one regime, log2 K = all);
- ``count``: states in the leaf under the condition (log colour scale);
- ``storm_minus_quiet``: p_storm(k) - p_quiet(k) for one regime (diverging scale).

Each figure has a title, axes in R_E, a colour bar or a legend, Earth (1 R_E, day side white,
night side black), the magnetopause (Shue et al. 1998) and bow shock (Jelínek et al. 2012)
cut by the slice plane, and a caption line that names the condition and the data (synthetic
or real). The caption is also written into the file's metadata (PNG ``Description``, PDF
``Subject``, SVG ``Description``).

Entry points: :func:`render_slice` (an :class:`~atlas_core.atlas.Atlas` to bytes),
:func:`slice_figure_data` (the numbers only) and :func:`draw_slice` (plain arrays to bytes),
and :func:`safe_export_filename` / :func:`export_filename` for download names.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass, field

import numpy as np

from atlas_core.palette import load_palette, regime_colors

__all__ = [
    "FORMATS",
    "COLORS",
    "PLANES",
    "SliceFigureData",
    "draw_slice",
    "export_filename",
    "regime_palette",
    "render_slice",
    "resolve_condition",
    "safe_export_filename",
    "slice_figure_data",
]

FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
"""Export formats and their MIME types."""

PLANES = {"xy": ("z", "x", "y"), "xz": ("y", "x", "z"), "yz": ("x", "y", "z")}
"""Plane -> (the axis held at the offset, horizontal axis, vertical axis), GSM."""

COLORS = {
    "dominant": "dominant regime",
    "probability": "probability of a regime",
    "entropy": "entropy of the regime distribution (bits)",
    "count": "states per cell",
    "storm_minus_quiet": "storm − quiet probability of a regime",
}
"""Colourings of a slice."""

_COLOR_ALIASES = {"difference": "storm_minus_quiet", "storm-quiet": "storm_minus_quiet",
                  "prob": "probability", "regime": "dominant"}

_AXES = {"x": 0, "y": 1, "z": 2}
_MISSING = "#EEEEEE"


def regime_palette(names: list[str]) -> tuple[list[str], dict]:
    """One hex colour per regime (id order) from the regime names, and the palette's extras
    (``magnetopause``, ``bow_shock``, ``earth`` and ``missing`` colours): the rule of
    :func:`atlas_core.palette.regime_colors`, shared with the dashboard."""
    palette = load_palette()
    extras = {k: palette[k] for k in ("magnetopause", "bow_shock", "earth", "missing")}
    return regime_colors(names), extras


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Condition:
    kind: str  # "all" | "range" | "near"
    dst_min: float | None = None
    dst_max: float | None = None
    dst: float | None = None
    ddst: float | None = None
    k: int | None = None
    label: str = "all states"


def _range_label(lo: float | None, hi: float | None) -> str:
    if lo is None and hi is None:
        return "all states"
    if lo is not None and hi is not None and math.isclose(lo, -hi):
        return f"|Dst| ≤ {hi:g} nT"
    left = "" if lo is None else f"{lo:g} ≤ "
    right = "" if hi is None else f" ≤ {hi:g}"
    return f"{left}Dst{right} nT"


def resolve_condition(condition, *, quiet_max: float = 20.0, storm_max: float = -50.0) -> _Condition:
    """Normalise a condition given as any of:

    - ``None`` or ``"all"``: every state;
    - ``"quiet"`` (|Dst| <= ``quiet_max``, default 20 nT) or ``"storm"`` (Dst <= ``storm_max``,
      default -50 nT; an atlas' own thresholds are in ``atlas.bins``);
    - ``"LO:HI"`` (nT, either side may be empty = open) or a ``(lo, hi)`` pair (None = open);
    - an object or dict with ``kind`` ("all", "range", "near"), ``dst_min``, ``dst_max``,
      ``dst``, ``ddst``, ``k`` and optionally ``label`` (``dashboard.filters.Condition``).

    Raises ``ValueError`` for anything else.
    """
    if condition is None:
        return _Condition("all")
    if isinstance(condition, str):
        text = condition.strip().lower()
        if text in ("", "all"):
            return _Condition("all")
        if text == "quiet":
            q = (-float(quiet_max), float(quiet_max))
            return _Condition("range", *q, label=f"quiet, {_range_label(*q)}")
        if text == "storm":
            s = (None, float(storm_max))
            return _Condition("range", *s, label=f"storm, {_range_label(*s)}")
        if ":" in text:
            lo_s, hi_s = text.split(":", 1)
            try:
                lo = float(lo_s) if lo_s.strip() else None
                hi = float(hi_s) if hi_s.strip() else None
            except ValueError:
                raise ValueError(f"condition {condition!r}: expected LO:HI in nT") from None
            return resolve_condition((lo, hi))
        raise ValueError(
            f"condition {condition!r}: expected all, quiet, storm or a Dst range LO:HI (nT)"
        )
    if isinstance(condition, tuple | list) and len(condition) == 2:
        lo, hi = (None if v is None else float(v) for v in condition)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        for v in (lo, hi):
            if v is not None and not math.isfinite(v):
                raise ValueError(f"condition {condition!r}: Dst bounds must be finite")
        if lo is None and hi is None:
            return _Condition("all")
        return _Condition("range", lo, hi, label=_range_label(lo, hi))
    get = condition.get if isinstance(condition, dict) else (lambda k, d=None: getattr(condition, k, d))
    kind = get("kind")
    if kind not in ("all", "range", "near"):
        raise ValueError(f"condition {condition!r}: unknown kind {kind!r}")
    c = _Condition(kind, get("dst_min"), get("dst_max"), get("dst"), get("ddst"), get("k"))
    label = get("label")
    if not label:
        if kind == "near":
            label = f"{c.k} states nearest to Dst {c.dst:g} nT, dDst/dt {c.ddst:g} nT/h"
        else:
            label = _range_label(c.dst_min, c.dst_max) if kind == "range" else "all states"
    return _Condition(kind, c.dst_min, c.dst_max, c.dst, c.ddst, c.k, str(label))


def _counts(atlas, cond: _Condition) -> np.ndarray:
    if cond.kind == "near":
        return np.asarray(atlas.occupancy_near(dst=cond.dst, ddst=cond.ddst, k=cond.k))
    if cond.kind == "range":
        return np.asarray(atlas.occupancy(dst_min=cond.dst_min, dst_max=cond.dst_max))
    return np.asarray(atlas.occupancy())


# --------------------------------------------------------------------------------------------
# The numbers of a slice
# --------------------------------------------------------------------------------------------

@dataclass
class SliceFigureData:
    """Everything a slice figure shows, as plain arrays (GSM, R_E).

    ``values`` has one entry per rectangle; NaN marks a cell without data (drawn in the
    palette's "missing" colour). For ``kind="categorical"`` the values are regime ids indexing
    ``category_names`` / ``category_colors``.
    """

    plane: str
    offset_re: float
    u_lo: np.ndarray
    u_hi: np.ndarray
    v_lo: np.ndarray
    v_hi: np.ndarray
    values: np.ndarray
    kind: str  # "categorical" | "sequential" | "log" | "diverging"
    value_label: str
    title: str
    caption: str
    category_names: list[str] = field(default_factory=list)
    category_colors: list[str] = field(default_factory=list)
    vmin: float | None = None
    vmax: float | None = None
    missing_color: str = _MISSING
    boundary_colors: dict = field(default_factory=dict)
    few: np.ndarray | None = None  # (n,) bool: a cell with data but fewer than min_count states
    min_count: int | None = None


def _plane(plane: str) -> str:
    p = str(plane).lower()
    if p not in PLANES:
        raise ValueError(f"plane must be one of {', '.join(PLANES)}, got {plane!r}")
    return p


def _color(color: str) -> str:
    c = _COLOR_ALIASES.get(str(color).lower(), str(color).lower())
    if c not in COLORS:
        raise ValueError(f"color must be one of {', '.join(COLORS)}, got {color!r}")
    return c


def _data_description(atlas) -> str:
    if getattr(atlas, "synthetic", False):
        return "synthetic MMS1-like archive (atlas_core.synth; not real measurements)"
    return "MMS1 L2 measurements (FGM survey, FPI DIS fast moments)"


def slice_figure_data(
    atlas,
    plane: str,
    offset: float,
    color: str,
    condition=None,
    *,
    regime: int = 0,
    quiet="quiet",
    storm="storm",
) -> SliceFigureData:
    """The numbers of one slice of ``atlas`` (an ``Atlas``), ready for :func:`draw_slice`.

    ``plane`` is ``"xy"``, ``"xz"`` or ``"yz"`` (case-insensitive), ``offset`` the position of
    the plane along the remaining axis (R_E), ``color`` one of :data:`COLORS`, ``condition``
    any form :func:`resolve_condition` takes (ignored for ``storm_minus_quiet``, which uses
    ``storm`` and ``quiet``, by default the atlas' own quiet and storm bins), ``regime`` the
    regime id for ``probability`` and ``storm_minus_quiet``. An empty Dst range raises the
    atlas' ``AtlasError``.
    """
    plane = _plane(plane)
    color = _color(color)
    offset = float(offset)
    axis, hname, vname = PLANES[plane]
    tree = atlas.octree
    leaves = np.asarray(tree.slice(axis, offset), dtype=np.int64)
    lo = np.asarray(tree.leaf_lo)[leaves]
    hi = np.asarray(tree.leaf_hi)[leaves]
    h, v = _AXES[hname], _AXES[vname]

    names = list(getattr(atlas, "names", None) or atlas.model.names)
    bins = getattr(atlas, "bins", None)
    thresholds = {"quiet_max": float(getattr(bins, "quiet_max", 20.0)),
                  "storm_max": float(getattr(bins, "storm_max", -50.0))}
    k_regimes = len(names)
    colors, extras = regime_palette(names)
    if color in ("probability", "storm_minus_quiet") and not 0 <= int(regime) < k_regimes:
        raise ValueError(f"regime must be in 0..{k_regimes - 1}, got {regime}")
    regime = int(regime)
    min_count = int(getattr(atlas, "min_count", 0) or 0)

    if color == "storm_minus_quiet":
        cq, cs = resolve_condition(quiet, **thresholds), resolve_condition(storm, **thresholds)
        nq, ns = _counts(atlas, cq)[leaves], _counts(atlas, cs)[leaves]
        pq = np.asarray(atlas.probabilities(nq)[0])
        ps = np.asarray(atlas.probabilities(ns)[0])
        values = ps[:, regime] - pq[:, regime]
        values[(nq.sum(1) == 0) | (ns.sum(1) == 0)] = np.nan
        few = (np.minimum(nq.sum(1), ns.sum(1)) < min_count) & np.isfinite(values)
        cond_label = (f"storm ({cs.label.removeprefix('storm, ')}) minus "
                      f"quiet ({cq.label.removeprefix('quiet, ')})")
        n_states = int(nq.sum() + ns.sum())
        kind, vmax = "diverging", float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        value_label = f"p_storm − p_quiet, regime {regime} {names[regime]}"
        vmin, vmax = -max(vmax, 1e-3), max(vmax, 1e-3)
    else:
        cond = resolve_condition(condition, **thresholds)
        counts = _counts(atlas, cond)[leaves]
        total = counts.sum(axis=1)
        empty = total == 0
        few = (total < min_count) & ~empty
        cond_label = cond.label
        n_states = int(total.sum())
        vmin = vmax = None
        if color == "count":
            values = total.astype(float)
            values[empty] = np.nan
            kind, value_label = "log", "states per cell"
        else:
            p = np.asarray(atlas.probabilities(counts)[0], dtype=float)
            if color == "dominant":
                values = np.argmax(p, axis=1).astype(float)
                kind, value_label = "categorical", "dominant regime"
            elif color == "probability":
                values = p[:, regime].copy()
                kind, value_label = "sequential", f"P(regime {regime}: {names[regime]})"
                vmin, vmax = 0.0, 1.0
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
                kind, value_label = "sequential", "entropy (bits)"
                vmin, vmax = 0.0, math.log2(max(k_regimes, 2))
            values[empty] = np.nan

    title = (
        f"Magnetosphere Atlas — {COLORS[color]}"
        + (f" ({regime}: {names[regime]})" if color in ("probability", "storm_minus_quiet") else "")
        + f"\n{plane.upper()} slice at {axis}_GSM = {offset:g} R_E"
    )
    caption = (
        f"Condition: {cond_label} ({n_states:,} states in the slice). "
        f"Data: {_data_description(atlas)}. {len(leaves):,} octree cells; "
        "light-grey cells hold no states"
        + (f"; faded cells hold fewer than {min_count} (the atlas' low-count mark)."
           if min_count > 0 and few.any() else ".")
    )
    return SliceFigureData(
        plane=plane, offset_re=offset,
        u_lo=lo[:, h], u_hi=hi[:, h], v_lo=lo[:, v], v_hi=hi[:, v],
        values=np.asarray(values, dtype=float), kind=kind, value_label=value_label,
        title=title, caption=caption, category_names=names, category_colors=colors,
        vmin=vmin, vmax=vmax, missing_color=extras.get("missing", _MISSING),
        few=few, min_count=min_count or None,
        boundary_colors={"magnetopause": extras["magnetopause"], "bow_shock": extras["bow_shock"]},
    )


# --------------------------------------------------------------------------------------------
# Boundaries cut by the slice plane
# --------------------------------------------------------------------------------------------

def boundary_curves(
    plane: str, offset_re: float, bz_nt: float = 0.0, pdyn_npa: float = 2.0,
    *, x_min_re: float = -40.0, n: int = 720,
) -> dict[str, list[np.ndarray]]:
    """Magnetopause and bow shock cut by the slice plane, as lists of (m, 2) polylines.

    Both models are surfaces of revolution about x_GSM: r(theta), theta from +x, with the
    cylindrical radius rho = r sin(theta). In a plane ``z = z0`` (or ``y = y0``) the cut is
    ``u = x``, ``v = ±sqrt(rho² − z0²)``; in a plane ``x = x0`` it is a circle of radius
    rho(theta*) where ``r cos(theta*) = x0``.
    """
    from atlas_core.physics.boundaries import bow_shock_jelinek2012, magnetopause_shue1998

    plane = _plane(plane)
    models = {
        "magnetopause": (lambda th: magnetopause_shue1998(th, bz_nt, pdyn_npa), np.deg2rad(170)),
        "bow_shock": (lambda th: bow_shock_jelinek2012(th, pdyn_npa), np.deg2rad(165)),
    }
    out: dict[str, list[np.ndarray]] = {}
    for name, (r_of, theta_max) in models.items():
        theta = np.linspace(0.0, theta_max, n)
        r = np.asarray(r_of(theta), dtype=float)
        x, rho = r * np.cos(theta), r * np.sin(theta)
        ok = np.isfinite(r) & (x >= x_min_re)
        x, rho = x[ok], rho[ok]
        lines = []
        if plane == "yz":
            # x decreases with theta along the nose-to-tail curve: interpolate rho at x0.
            if x.size and x.min() <= offset_re <= x.max():
                rho0 = float(np.interp(offset_re, x[::-1], rho[::-1]))
                phi = np.linspace(0, 2 * np.pi, 361)
                lines.append(np.column_stack([rho0 * np.cos(phi), rho0 * np.sin(phi)]))
        else:
            inside = rho >= abs(offset_re)
            w = np.sqrt(np.clip(rho**2 - offset_re**2, 0.0, None))
            if inside.any():
                xs, ws = x[inside], w[inside]
                # One closed-at-the-nose curve: lower branch tail->nose, upper nose->tail.
                lines.append(np.column_stack([np.r_[xs[::-1], xs], np.r_[-ws[::-1], ws]]))
        out[name] = lines
    return out


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

def _check_format(fmt: str) -> str:
    f = str(fmt).lower().lstrip(".")
    if f not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return f


def draw_slice(
    data: SliceFigureData,
    fmt: str = "png",
    dpi: int = 300,
    *,
    boundaries: tuple[float, float] | None = (0.0, 2.0),
    earth: bool = True,
    figsize_in: tuple[float, float] | None = None,
) -> bytes:
    """Draw a slice to ``fmt`` (png, svg, pdf) bytes; PNGs carry ``dpi`` (>= 300 enforced).

    ``boundaries`` is ``(bz_nT, pdyn_nPa)`` for the magnetopause and bow shock curves, or
    None to leave them out. ``figsize_in`` defaults to 8-8.5 in wide, as tall as the slice's
    aspect needs. Uses matplotlib's object API (no pyplot global state), so it is
    safe to call from a server's threads.
    """
    import matplotlib
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import LogNorm, Normalize, TwoSlopeNorm
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, Patch, Wedge

    fmt = _check_format(fmt)
    dpi = max(300, int(dpi)) if fmt == "png" else int(dpi)
    axis, hname, vname = PLANES[data.plane]

    verts = np.stack(
        [
            np.column_stack([data.u_lo, data.v_lo]),
            np.column_stack([data.u_hi, data.v_lo]),
            np.column_stack([data.u_hi, data.v_hi]),
            np.column_stack([data.u_lo, data.v_hi]),
        ],
        axis=1,
    )
    values = np.asarray(data.values, dtype=float)
    missing = ~np.isfinite(values)
    facecolors = np.empty((len(values), 4))
    facecolors[:] = matplotlib.colors.to_rgba(data.missing_color)
    mappable = None
    legend_handles = []
    if data.kind == "categorical":
        k = max(len(data.category_colors), 1)
        table = np.array([matplotlib.colors.to_rgba(c) for c in data.category_colors] or [(0, 0, 0, 1)])
        ids = np.clip(values[~missing].astype(int), 0, k - 1)
        facecolors[~missing] = table[ids]
        present = np.unique(ids)
        legend_handles = [
            Patch(facecolor=data.category_colors[i], edgecolor="none",
                  label=f"{i}: {data.category_names[i]}")
            for i in present
        ]
    else:
        finite = values[~missing]
        if data.kind == "log":
            lo_v = max(1.0, float(finite.min())) if finite.size else 1.0
            hi_v = max(lo_v * 10, float(finite.max())) if finite.size else 10.0
            norm = LogNorm(vmin=lo_v, vmax=hi_v)
            cmap = matplotlib.colormaps["viridis"]
        elif data.kind == "diverging":
            vmax = data.vmax if data.vmax is not None else 1.0
            norm = TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax)
            cmap = matplotlib.colormaps["RdBu_r"]
        else:
            vmin = data.vmin if data.vmin is not None else (float(finite.min()) if finite.size else 0.0)
            vmax = data.vmax if data.vmax is not None else (float(finite.max()) if finite.size else 1.0)
            norm = Normalize(vmin=vmin, vmax=max(vmax, vmin + 1e-12))
            cmap = matplotlib.colormaps["magma_r" if "entropy" in data.value_label else "viridis"]
        facecolors[~missing] = cmap(norm(finite))
        mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)

    if len(values):
        ulo, uhi = float(data.u_lo.min()), float(data.u_hi.max())
        vlo, vhi = float(data.v_lo.min()), float(data.v_hi.max())
    else:
        ulo, uhi, vlo, vhi = -15.0, 15.0, -15.0, 15.0
    pad = 0.03 * max(uhi - ulo, vhi - vlo, 1.0)
    # the legend (two columns) and the caption sit in a strip below the map, sized in inches
    n_leg = (2 if boundaries is not None else 0) + int(missing.any()) + int(
        data.few is not None and bool(np.any(np.asarray(data.few) & ~missing)))
    if data.kind == "categorical":
        n_leg += len(np.unique(values[~missing]))
    strip_h = 0.16 * math.ceil(n_leg / 2) + 0.4
    if figsize_in is None:
        # size the figure to the slice's aspect (equal axes), so no empty bands are left
        aspect = (vhi - vlo + 2 * pad) / max(uhi - ulo + 2 * pad, 1e-9)
        ax_w = 6.9 if data.kind == "categorical" else 6.1
        fig_h = ax_w * aspect + 0.75 + 0.45 + strip_h
        figsize_in = (8.0, float(np.clip(fig_h, 4.0, 12.0)))
    fig = Figure(figsize=figsize_in, layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[max(figsize_in[1] - strip_h, 1.0), strip_h])
    ax = fig.add_subplot(grid[0])
    strip = fig.add_subplot(grid[1])
    strip.axis("off")

    if data.few is not None and len(data.few) == len(values):
        # low-count cells: the same colour, faded toward white (as the dashboard's slice does)
        faded = np.asarray(data.few, dtype=bool) & ~missing
        facecolors[faded, :3] = 1.0 - 0.45 * (1.0 - facecolors[faded, :3])
    coll = PolyCollection(verts, facecolors=facecolors, edgecolors=(0, 0, 0, 0.15),
                          linewidths=0.1)
    ax.add_collection(coll)
    if mappable is not None:
        cb = fig.colorbar(mappable, ax=ax, shrink=0.85, pad=0.02)
        cb.set_label(data.value_label)

    ax.set_xlim(ulo - pad, uhi + pad)
    ax.set_ylim(vlo - pad, vhi + pad)

    if boundaries is not None:
        bz, pdyn = boundaries
        curves = boundary_curves(data.plane, data.offset_re, bz, pdyn)
        styles = {"magnetopause": ("-", "magnetopause (Shue et al. 1998)"),
                  "bow_shock": ("--", "bow shock (Jelínek et al. 2012)")}
        for name, lines in curves.items():
            ls, label = styles[name]
            color = data.boundary_colors.get(name, "#222222")
            for line in lines:
                ax.plot(line[:, 0], line[:, 1], ls, color=color, lw=1.2, zorder=5)
            legend_handles.append(Line2D([], [], color=color, ls=ls, lw=1.2,
                                         label=f"{label}, Bz {bz:g} nT, Pdyn {pdyn:g} nPa"))
        # curves may reach past the cells: keep the view on the data
        ax.set_xlim(ulo - pad, uhi + pad)
        ax.set_ylim(vlo - pad, vhi + pad)

    if earth and abs(data.offset_re) < 1.0:
        r = math.sqrt(1.0 - data.offset_re**2)
        if data.plane == "yz":
            face = "white" if data.offset_re > 0 else "black"
            ax.add_patch(Circle((0, 0), r, facecolor=face, edgecolor="black", lw=0.8, zorder=6))
        else:  # the Sun is at +x: the right half-disc is the day side
            ax.add_patch(Wedge((0, 0), r, -90, 90, facecolor="white", edgecolor="black",
                               lw=0.8, zorder=6))
            ax.add_patch(Wedge((0, 0), r, 90, 270, facecolor="black", edgecolor="black",
                               lw=0.8, zorder=6))

    if missing.any():
        legend_handles.append(Patch(facecolor=data.missing_color, edgecolor="#999999",
                                    label="no states"))
    if data.few is not None and np.any(np.asarray(data.few) & ~missing) and data.min_count:
        legend_handles.append(Patch(facecolor="#bbbbbb", edgecolor="#999999",
                                    label=f"faded: fewer than {data.min_count} states"))
    if legend_handles:
        strip.legend(handles=legend_handles, loc="upper center", fontsize=7, frameon=False,
                     ncols=2, borderaxespad=0.0)

    ax.set_aspect("equal")
    ax.set_xlabel(f"{hname}_GSM (R_E)")
    ax.set_ylabel(f"{vname}_GSM (R_E)")
    ax.set_title(data.title, fontsize=10)
    ax.grid(True, lw=0.3, alpha=0.4)
    strip.text(0.5, 0.0, data.caption, fontsize=6.5, ha="center", va="bottom", wrap=True,
               transform=strip.transAxes)

    title_one_line = data.title.replace("\n", " — ")
    meta = {
        "png": {"Title": title_one_line, "Description": data.caption,
                "Software": "Magnetosphere Atlas (atlas_core.figures)"},
        "svg": {"Title": title_one_line, "Description": data.caption,
                "Creator": "Magnetosphere Atlas (atlas_core.figures)"},
        "pdf": {"Title": title_one_line, "Subject": data.caption,
                "Creator": "Magnetosphere Atlas (atlas_core.figures)"},
    }[fmt]
    # fontTools logs every glyph subset at INFO when PDFs embed fonts: too chatty for a CLI
    logging.getLogger("fontTools").setLevel(max(logging.WARNING, logging.getLogger("fontTools").level))
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def render_slice(
    atlas,
    plane: str,
    offset: float,
    color: str,
    condition=None,
    fmt: str = "png",
    dpi: int = 300,
    *,
    regime: int = 0,
    quiet="quiet",
    storm="storm",
    boundaries: tuple[float, float] | None = (0.0, 2.0),
) -> bytes:
    """The current slice of ``atlas`` as a figure file's bytes.

    Parameters
    ----------
    atlas : atlas_core.atlas.Atlas
        An opened atlas (``Atlas.open(ATLAS_DIR)``).
    plane : "xy" | "xz" | "yz"
        The slice plane (GSM), case-insensitive.
    offset : float
        Position of the plane along its normal axis, R_E.
    color : str
        One of :data:`COLORS` ("dominant", "probability", "entropy", "count",
        "storm_minus_quiet").
    condition
        The activity condition (see :func:`resolve_condition`): None/"all", "quiet",
        "storm", "LO:HI" in nT, a (lo, hi) pair, or a ``dashboard.filters.Condition``.
    fmt : "png" | "svg" | "pdf"
    dpi : int
        Resolution of a PNG (at least 300; smaller values are raised to 300).
    regime : int
        Regime id for ``probability`` and ``storm_minus_quiet``.
    quiet, storm
        The two conditions of ``storm_minus_quiet`` (default: the atlas' quiet and storm bins,
        |Dst| <= 20 nT and Dst <= -50 nT unless it was built otherwise).
    boundaries : (bz_nT, pdyn_nPa) or None
        Solar-wind condition of the magnetopause / bow shock curves; None leaves them out.

    Returns
    -------
    bytes
        The file's content; its MIME type is ``FORMATS[fmt]``.
    """
    fmt = _check_format(fmt)
    data = slice_figure_data(atlas, plane, offset, color, condition, regime=regime,
                             quiet=quiet, storm=storm)
    return draw_slice(data, fmt, dpi, boundaries=boundaries)


# --------------------------------------------------------------------------------------------
# File names for downloads
# --------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_export_filename(name: str, fmt: str, *, max_length: int = 120) -> str:
    """A download file name from free text: safe on every OS and in a Content-Disposition.

    Keeps only ``A-Z a-z 0-9 . _ + -``; every other run of characters (path separators,
    spaces, quotes, control characters, non-ASCII) becomes one ``_``; runs of dots collapse
    (no ``..``); leading dots, dashes and underscores are stripped (no hidden files, no
    option-like names); the stem is cut to ``max_length`` characters, and the extension is
    always the export format's (``.png``, ``.svg`` or ``.pdf``), replacing any extension the
    text carried. An empty result becomes ``atlas_slice``. Raises ``ValueError`` for an
    unknown format.
    """
    fmt = _check_format(fmt)
    stem = str(name)
    # drop a trailing extension of a known format so "x.pdf" + pdf is not "x.pdf.pdf"
    stem = re.sub(r"\.(png|svg|pdf)$", "", stem, flags=re.IGNORECASE)
    stem = _UNSAFE.sub("_", stem)
    stem = re.sub(r"\.{2,}", ".", stem)
    stem = re.sub(r"_{2,}", "_", stem)
    stem = stem.strip("._-+")
    stem = stem[:max_length].rstrip("._-+")
    if not stem:
        stem = "atlas_slice"
    return f"{stem}.{fmt}"


def export_filename(plane: str, offset: float, color: str, condition=None, fmt: str = "png",
                    *, regime: int | None = None) -> str:
    """The default download name of a slice, e.g. ``atlas_xy_z+0.0_dominant_quiet.png``."""
    plane = _plane(plane)
    color = _color(color)
    axis = PLANES[plane][0]
    try:
        cond = resolve_condition(condition)
        label = cond.label if cond.kind != "all" else "all"
    except ValueError:
        label = str(condition)
    label = (label.replace("|Dst|", "absDst").replace("≤", "le").replace("−", "-")
             .replace(" ", ""))
    parts = ["atlas", plane, f"{axis}{float(offset):+.1f}", color]
    if regime is not None and color in ("probability", "storm_minus_quiet"):
        parts.append(f"regime{int(regime)}")
    if color != "storm_minus_quiet":
        parts.append(label)
    return safe_export_filename("_".join(parts), fmt)

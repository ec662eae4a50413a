"""Slices of the atlas (every number, colour and alpha of the cells a plane cuts; what a figure
adds) and the non-empty cells of the 3D map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atlas_core.atlas.errors import AtlasError
from atlas_core.atlas.posterior import entropy_bits
from atlas_core.atlas.product.cells import CellEstimates, SolarWind, estimates, solar_wind
from atlas_core.atlas.product.condition import as_condition
from atlas_core.palette import ColorScale, load_palette, regime_labels, slice_scale
from atlas_core.physics.boundaries import boundary_cuts, check_plane, earth_cut

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
_AXES = {"x": 0, "y": 1, "z": 2}


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

def cell_table(atlas, cond=None, *, allow_empty: bool = False,
               max_cells: int | None = None) -> pd.DataFrame:
    """The non-empty cells under a condition for the 3D map: ``leaf`` (-1 for a merged block),
    bounds ``x0 y0 z0 x1 y1 z1`` (R_E), ``windows``, ``n_eff``, ``low_count``, ``dominant``,
    ``confidence`` (p of the dominant regime), ``entropy``, ``fill`` (the regime's hex colour),
    ``alpha``, ``n_leaves``.

    ``max_cells``: draw no more cells than this. When the leaves are more, those smaller than a
    block size are merged into their octree ancestor of that size (the smallest of 0.25, 0.5, 1,
    2, 4 R_E that fits; :func:`merge_blocks`); ``attrs["block_re"]`` says which (None: every
    leaf is its own cell) and ``attrs["n_leaves"]`` how many leaves the cells hold. Blocks are
    never larger than the octree's root cells, so the cap may not be reached.
    """
    est = estimates(atlas, as_condition(cond, atlas.bins), allow_empty=allow_empty)
    leaves = est.leaves
    tree = atlas.octree
    lo, hi = tree.leaf_lo[leaves], tree.leaf_hi[leaves]
    p = est.p_at(leaves)
    n_eff = est.n_eff[leaves]
    windows = est.n[leaves]
    block_re = None
    if max_cells is not None and leaves.size > max_cells:
        sizes = [s for s in BLOCK_SIZES_RE if s <= tree.base_size_re] or [tree.base_size_re]
        for size in sizes:
            merged = merge_blocks(tree, leaves, size, p, n_eff)
            if merged[1].shape[0] <= max_cells or size == sizes[-1]:
                block_re = size
                break
        group, lo, hi, p, n_eff = merged
        windows = np.bincount(group, weights=windows, minlength=lo.shape[0]).astype(np.int64)
        n_leaves = np.bincount(group, minlength=lo.shape[0])
        first = np.full(lo.shape[0], -1, dtype=np.int64)
        single = n_leaves == 1
        first[group[single[group]]] = leaves[single[group]]
        leaves = first  # -1 marks a block of several leaves
        low = n_eff < est.min_count
    else:
        n_leaves = np.ones(leaves.size, dtype=np.int64)
        low = est.low_count[leaves]
    dominant = np.argmax(p, axis=1).astype(np.int64)
    scale = slice_scale("dominant", atlas.names)
    frame = pd.DataFrame({
        "leaf": leaves, "x0": lo[:, 0], "y0": lo[:, 1], "z0": lo[:, 2],
        "x1": hi[:, 0], "y1": hi[:, 1], "z1": hi[:, 2],
        "windows": windows, "n_eff": n_eff, "low_count": low,
        "dominant": dominant, "confidence": p[np.arange(p.shape[0]), dominant],
        "entropy": entropy_bits(p), "n_leaves": n_leaves,
        "fill": scale.colors_of(dominant), "alpha": np.where(low, LOW_COUNT_ALPHA, FULL_ALPHA),
    })
    frame.attrs.update(scale=scale, condition=est.condition, block_re=block_re,
                       n_leaves=int(est.leaves.size))
    return frame


BLOCK_SIZES_RE = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Block edges (R_E) the 3D map may merge small leaves into, finest first."""


def merge_blocks(tree, leaves: np.ndarray, size_re: float, p: np.ndarray, n_eff: np.ndarray):
    """Leaves smaller than ``size_re`` merged into their octree ancestor of that size.

    A block's regime mix is its leaves' posterior means weighted by their effective counts
    (the mix of the looks it holds) and its effective count their sum; leaves of at least
    ``size_re`` stay as they are. Returns ``group`` (per input leaf, its cell), the cells'
    ``lo``, ``hi`` (R_E), ``p`` (m, K) and ``n_eff``.
    """
    level = tree.leaf_level[leaves].astype(np.int64)
    ijk = tree.leaf_ijk[leaves]
    block_level = int(round(np.log2(tree.base_size_re / size_re)))
    if block_level < 0:
        raise ValueError(f"block size {size_re} R_E exceeds the root cells "
                         f"({tree.base_size_re} R_E)")
    up = np.maximum(level - block_level, 0)
    cell_level = level - up
    cell_ijk = ijk >> up[:, None]
    # one int64 key per cell: its level, then its integer position at that level
    span = int(tree.root_shape.max()) << int(level.max(initial=0))
    key = ((cell_level * span + cell_ijk[:, 0]) * span + cell_ijk[:, 1]) * span + cell_ijk[:, 2]
    cells, first, group = np.unique(key, return_index=True, return_inverse=True)
    m = cells.size
    weight = np.bincount(group, weights=n_eff, minlength=m)
    mix = np.stack([np.bincount(group, weights=n_eff * p[:, j], minlength=m)
                    for j in range(p.shape[1])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mix = np.where(weight[:, None] > 0, mix / weight[:, None], p[first])
    cell_size = tree.base_size_re / 2.0 ** cell_level[first]
    lo = tree.origin_re + cell_ijk[first] * cell_size[:, None]
    return group.ravel(), lo, lo + cell_size[:, None], mix, weight

"""Draw a slice of the atlas with matplotlib: only what the product layer returns.

The cells are drawn in the ``fill`` colour and ``alpha`` of
:func:`atlas_core.atlas.product.slice_table` (the colours the dashboard draws), the colour bar
or legend from the table's :class:`~atlas_core.palette.ColorScale`, the boundary curves and
Earth from :class:`~atlas_core.atlas.product.SliceProduct`. Nothing here computes a number
of the atlas. Uses matplotlib's object API (no pyplot state), so it is safe in server threads.
"""

from __future__ import annotations

import math

import numpy as np

from atlas_core.atlas.product import LOW_COUNT_ALPHA, SliceProduct
from atlas_core.palette import ColorScale, load_palette

BOUNDARY_STYLES = {"magnetopause": ("solid", "magnetopause (Shue et al. 1998)"),
                   "bow_shock": ("dashed", "bow shock (Jelínek et al. 2012)")}
"""Line style and legend text of each boundary (``assets/palette.json`` "boundaries" may set
the dash and colour: the dashboard reads the same keys)."""
_DASHES = {"solid": "-", "dashed": "--", "dotted": ":", "dashdot": "-."}


def boundary_style(name: str) -> tuple[str, str, str]:
    """(matplotlib line style, colour, legend label) of a boundary curve."""
    pal = load_palette()
    dash, label = BOUNDARY_STYLES[name]
    style = pal.get("boundaries", {}).get(name, {})
    dash = style.get("dash", dash)
    return _DASHES.get(dash, dash), style.get("color", pal.get(name, "#222222")), label


def _mappable(scale: ColorScale):
    """A ScalarMappable that maps values exactly as :meth:`ColorScale.colors_of` does."""
    import matplotlib
    from matplotlib.colors import ListedColormap, LogNorm, Normalize

    cmap = ListedColormap(list(scale.palette()))
    norm = (LogNorm(scale.vmin, scale.vmax) if scale.kind == "log"
            else Normalize(scale.vmin, scale.vmax))
    return matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)


def _extent(t) -> tuple[float, float, float, float]:
    if len(t):
        return float(t["u0"].min()), float(t["u1"].max()), float(t["v0"].min()), float(t["v1"].max())
    return -15.0, 15.0, -15.0, 15.0


def slice_figure(product: SliceProduct, *, figsize_in: tuple[float, float] | None = None):
    """A matplotlib ``Figure`` of the slice (title, axes in R_E, cells, colour bar or legend,
    boundaries, Earth, caption). ``figsize_in`` defaults to 8 in wide, as tall as the slice's
    aspect needs (equal axes)."""
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba_array
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, Patch, Wedge

    t, scale = product.table, product.scale
    u0, u1, v0, v1 = (t[c].to_numpy(dtype=float) for c in ("u0", "u1", "v0", "v1"))
    verts = np.stack([np.column_stack(p) for p in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))], axis=1)
    face = to_rgba_array(list(t["fill"])) if len(t) else np.zeros((0, 4))
    face[:, 3] = t["alpha"].to_numpy(dtype=float)
    missing = t["fill"].to_numpy() == scale.missing
    faded = t["faded"].to_numpy(dtype=bool)
    hatch = load_palette().get("low_count", {}).get("hatch", "///")

    handles = []
    if scale.kind == "categorical":
        present = np.unique(t.loc[~missing, "value"].to_numpy(dtype=float)).astype(int)
        handles += [Patch(facecolor=scale.colors[i], edgecolor="none",
                          label=f"{i}: {scale.categories[i]}") for i in present]
    curves = [(name, line) for name, lines in product.curves.items() for line in lines]
    n_leg = len(handles) + 2 * bool(product.curves) + int(missing.any()) + int(faded.any())
    strip_h = 0.16 * math.ceil(n_leg / 2) + 0.45
    ulo, uhi, vlo, vhi = _extent(t)
    pad = 0.03 * max(uhi - ulo, vhi - vlo, 1.0)
    if figsize_in is None:
        aspect = (vhi - vlo + 2 * pad) / max(uhi - ulo + 2 * pad, 1e-9)
        ax_w = 6.9 if scale.kind == "categorical" else 6.1
        figsize_in = (8.0, float(np.clip(ax_w * aspect + 1.2 + strip_h, 4.0, 12.0)))
    fig = Figure(figsize=figsize_in, layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[max(figsize_in[1] - strip_h, 1.0), strip_h])
    ax, strip = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    strip.axis("off")
    ax.set_facecolor("white")
    ax.add_collection(PolyCollection(verts, facecolors=face, edgecolors=(0, 0, 0, 0.15),
                                     linewidths=0.1))
    if faded.any():  # hatched as well as faded (as on screen): never a lighter shade of a family
        ax.add_collection(PolyCollection(verts[faded], facecolors="none", hatch=hatch,
                                         edgecolors=(0.33, 0.33, 0.33, 0.45), linewidths=0.0))
    if scale.kind != "categorical":
        bar = fig.colorbar(_mappable(scale), ax=ax, shrink=0.85, pad=0.02)
        bar.set_label(scale.label)

    for name, line in curves:
        ls, color, _ = boundary_style(name)
        ax.plot(line[:, 0], line[:, 1], ls=ls, color=color, lw=1.2, zorder=5)
    if product.curves:
        sw = product.solar_wind
        for name in product.curves:
            ls, color, label = boundary_style(name)
            handles.append(Line2D([], [], color=color, ls=ls, lw=1.2, label=label))
        handles[-1].set_label(f"{handles[-1].get_label()}; {sw.label}")
    for circle in product.earth:
        r = float(np.hypot(*circle[0]))
        if product.plane == "yz":
            face_e = "white" if product.offset_re > 0 else "black"
            ax.add_patch(Circle((0, 0), r, facecolor=face_e, edgecolor="black", lw=0.8, zorder=6))
        else:  # the Sun is at +x: the right half-disc is the day side
            ax.add_patch(Wedge((0, 0), r, -90, 90, facecolor="white", edgecolor="black",
                               lw=0.8, zorder=6))
            ax.add_patch(Wedge((0, 0), r, 90, 270, facecolor="black", edgecolor="black",
                               lw=0.8, zorder=6))
    if missing.any():
        handles.append(Patch(facecolor=scale.missing, edgecolor="#999999", label="no states"))
    if faded.any():
        handles.append(Patch(facecolor=(0.6, 0.6, 0.6, LOW_COUNT_ALPHA), hatch=hatch,
                             edgecolor=(0.33, 0.33, 0.33, 0.45),
                             label=f"faded, hatched: fewer than {product.min_count:g} effective "
                                   "counts"))
    if handles:
        strip.legend(handles=handles, loc="upper center", fontsize=7, frameon=False, ncols=2,
                     borderaxespad=0.0)

    ax.set_xlim(ulo - pad, uhi + pad)  # curves may run past the cells: keep the view on them
    ax.set_ylim(vlo - pad, vhi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{product.u_name}_GSM (R_E)")
    ax.set_ylabel(f"{product.v_name}_GSM (R_E)")
    ax.set_title(product.title, fontsize=10)
    ax.grid(True, lw=0.3, alpha=0.4)
    strip.text(0.5, 0.0, product.caption, fontsize=6.5, ha="center", va="bottom", wrap=True,
               transform=strip.transAxes)
    return fig

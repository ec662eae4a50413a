"""3D regime map geometry: pure, vectorised functions over numpy arrays (testable without a UI).

- :func:`regime_voxels` — one ``pyvista.UnstructuredGrid`` of hexahedra from the leaf bounds
  (no per-leaf Python objects), with cell data ``regime``, ``confidence`` and ``rgb``;
- :func:`surface_of_revolution` — a profile (x, ρ) revolved about the GSM x axis (the
  Sun–Earth line): the magnetopause (Shue et al. 1998) and bow shock (Jelínek et al. 2012)
  from :func:`atlas_core.physics.boundaries.boundary_profiles`, the same profiles the slices cut;
- :func:`earth_sphere` — Earth, 1 R_E, with a day (x_GSM > 0) and a night hemisphere.

All coordinates are GSM, in Earth radii (R_E).
"""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from collections.abc import Sequence  # noqa: E402

import numpy as np  # noqa: E402
import pyvista as pv  # noqa: E402

VTK_HEXAHEDRON = 12
"""VTK cell type id of a hexahedron (``vtkHexahedron``)."""

# Corner order of a VTK hexahedron: the bottom face (z = lo) counter-clockwise seen from +z,
# then the top face in the same order. Each row picks (x, y, z) from lo (0) or hi (1).
_HEX_CORNERS = np.array(
    [
        [0, 0, 0],
        [1, 0, 0],
        [1, 1, 0],
        [0, 1, 0],
        [0, 0, 1],
        [1, 0, 1],
        [1, 1, 1],
        [0, 1, 1],
    ],
    dtype=bool,
)

_AXES = {"x": 0, "y": 1, "z": 2}

DEFAULT_OPACITY_BANDS = (0.0, 0.4, 0.6, 0.8, 1.01)
"""Confidence band edges; a cell in band [e_i, e_i+1) is drawn with opacity of its band."""


def _rgb_table(colors: Sequence | np.ndarray, k: int) -> np.ndarray:
    """(k, 3) uint8 RGB from hex strings ``"#rrggbb"`` or floats in [0, 1] or 0..255 ints."""
    if colors is None:
        import matplotlib

        cmap = matplotlib.colormaps["tab20"]
        return (np.array([cmap(i % 20)[:3] for i in range(k)]) * 255).round().astype(np.uint8)
    out = np.zeros((k, 3), dtype=np.uint8)
    for i, c in enumerate(list(colors)[:k]):
        if isinstance(c, str):
            h = c.lstrip("#")
            out[i] = [int(h[j : j + 2], 16) for j in (0, 2, 4)]
        else:
            c = np.asarray(c, dtype=float)[:3]
            out[i] = np.round(c * 255 if c.max() <= 1.0 else c).astype(np.uint8)
    if len(colors) < k:
        raise ValueError(f"palette has {len(colors)} colours for {k} regimes")
    return out


def _shared_points(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique corner points and, per corner, the index of its unique point.

    Octree bounds are dyadic fractions of R_E, so coordinates times 2**12 are exact integers
    and one int64 key per point makes a fast 1D unique; anything else falls back to a
    row-wise unique.
    """
    if corners.shape[0] == 0:
        return corners, np.zeros(0, dtype=np.int64)
    scaled = corners * 4096.0
    q = np.round(scaled)
    if np.array_equal(q, scaled) and np.abs(q).max() < 2**20:
        qi = q.astype(np.int64) + 2**20
        key = (qi[:, 0] << 42) | (qi[:, 1] << 21) | qi[:, 2]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return corners[first], inverse.ravel()
    points, inverse = np.unique(corners, axis=0, return_inverse=True)
    return points, inverse.ravel()


def regime_voxels(
    lo: np.ndarray,
    hi: np.ndarray,
    regime: np.ndarray,
    confidence: np.ndarray,
    *,
    colors: Sequence | None = None,
    regimes: Sequence[int] | None = None,
    min_confidence: float = 0.0,
    clip: tuple[str, float, str] | None = None,
) -> pv.UnstructuredGrid:
    """Octree leaves as one unstructured grid of hexahedra, coloured by regime.

    Parameters
    ----------
    lo, hi : (L, 3) float
        Leaf bounds, GSM, R_E (``Octree.leaf_lo`` / ``leaf_hi``).
    regime : (L,) int
        Dominant regime id per leaf; a negative id marks an empty leaf (dropped).
    confidence : (L,) float
        Probability of the dominant regime, in [0, 1]; NaN marks an empty leaf (dropped).
    colors : sequence of K colours, optional
        The regime palette indexed by regime id (hex strings or RGB); ``tab20`` if omitted.
    regimes : sequence of int, optional
        Keep only leaves whose dominant regime is one of these (all if omitted).
    min_confidence : float
        Drop leaves whose confidence is below this.
    clip : (axis, offset_re, side), optional
        Keep only leaves whose centre lies on ``side`` ("below" or "above") of the plane
        ``axis = offset_re``; whole voxels are kept so the cut face shows crisp cells.

    Returns
    -------
    pyvista.UnstructuredGrid
        One hexahedron per kept leaf, with cell data ``regime`` (int32), ``confidence``
        (float32), ``rgb`` (uint8, (n, 3)) and ``leaf`` (int64, the index into the inputs).
        Corner points are shared between cells (octree bounds are dyadic, so equal corners are
        bit-identical), which lets VTK drop the faces between neighbouring voxels.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    regime = np.asarray(regime)
    confidence = np.asarray(confidence, dtype=np.float64)
    n = lo.shape[0]
    if lo.shape != (n, 3) or hi.shape != (n, 3):
        raise ValueError(f"lo and hi must be (L, 3) arrays, got {lo.shape} and {hi.shape}")
    if regime.shape != (n,) or confidence.shape != (n,):
        raise ValueError(
            f"regime and confidence must be ({n},) arrays, got {regime.shape} and {confidence.shape}"
        )

    keep = (regime >= 0) & np.isfinite(confidence) & (confidence >= min_confidence)
    if regimes is not None:
        keep &= np.isin(regime, np.asarray(list(regimes), dtype=regime.dtype))
    if clip is not None:
        axis, offset, side = clip
        if axis not in _AXES or side not in ("below", "above"):
            raise ValueError(f"clip must be (x|y|z, offset, below|above), got {clip!r}")
        centre = 0.5 * (lo[:, _AXES[axis]] + hi[:, _AXES[axis]])
        keep &= centre <= offset if side == "below" else centre >= offset
    idx = np.flatnonzero(keep)
    m = idx.size
    if m == 0:  # VTK refuses empty data arrays: an empty grid says "nothing to show"
        return pv.UnstructuredGrid()
    k = int(regime.max()) + 1 if n and regime.max() >= 0 else 1
    rgb_table = _rgb_table(colors, max(k, len(colors) if colors is not None else 0))

    # (m, 8, 3) corners: pick lo or hi per coordinate following the VTK corner order.
    corners = np.where(_HEX_CORNERS[None, :, :], hi[idx, None, :], lo[idx, None, :])
    points, inverse = _shared_points(corners.reshape(-1, 3))
    cells = np.empty((m, 9), dtype=np.int64)
    cells[:, 0] = 8
    cells[:, 1:] = inverse.reshape(m, 8)
    grid = pv.UnstructuredGrid(
        cells.ravel(), np.full(m, VTK_HEXAHEDRON, dtype=np.uint8), points.astype(np.float32)
    )
    reg = regime[idx].astype(np.int32)
    grid.cell_data["regime"] = reg
    grid.cell_data["confidence"] = confidence[idx].astype(np.float32)
    grid.cell_data["rgb"] = rgb_table[reg]
    grid.cell_data["leaf"] = idx.astype(np.int64)
    return grid


def surface_of_revolution(x_re: np.ndarray, rho_re: np.ndarray, *, n_phi: int = 72,
                          max_points: int = 120) -> pv.PolyData:
    """A profile ``rho(x)`` (R_E; GSM x and the distance from the x axis) revolved about the
    GSM x axis, as a triangulated quad mesh. The profile is thinned to at most ``max_points``
    points (a drawn surface needs no more; the slices cut the full profile)."""
    x, rho = np.asarray(x_re, dtype=float), np.asarray(rho_re, dtype=float)
    if x.shape != rho.shape or x.ndim != 1:
        raise ValueError("x_re and rho_re must be 1D arrays of one length")
    ok = np.isfinite(x) & np.isfinite(rho)
    x, rho = x[ok], rho[ok]
    if x.size > max_points:  # keep both ends
        keep = np.unique(np.round(np.linspace(0, x.size - 1, max_points)).astype(int))
        x, rho = x[keep], rho[keep]
    phi = np.linspace(0.0, 2 * np.pi, n_phi)
    xx = np.repeat(x[:, None], n_phi, axis=1)
    yy = rho[:, None] * np.cos(phi)[None, :]
    zz = rho[:, None] * np.sin(phi)[None, :]
    grid = pv.StructuredGrid(xx, yy, zz)
    return grid.extract_surface(algorithm="dataset_surface").triangulate()


def boundary_surfaces(bz_nt: float = 0.0, pdyn_npa: float = 2.0) -> dict[str, pv.PolyData]:
    """Magnetopause (Shue et al. 1998) and bow shock (Jelínek et al. 2012) surfaces for IMF
    Bz (nT) and solar-wind dynamic pressure (nPa): the profiles of
    :func:`atlas_core.physics.boundaries.boundary_profiles` (one theta range, one clamp and one
    tail end for every view and figure) revolved about x. Keys ``"magnetopause"``,
    ``"bow_shock"``."""
    from atlas_core.physics.boundaries import boundary_profiles

    return {name: surface_of_revolution(x, rho)
            for name, (x, rho) in boundary_profiles(pdyn_npa, bz_nt).items()}


def earth_sphere(radius_re: float = 1.0, *, day_night: bool = True) -> pv.PolyData:
    """Earth as a sphere of ``radius_re`` R_E; cell data ``day`` is 1 where x_GSM > 0 (sunlit)."""
    sphere = pv.Sphere(radius=radius_re, theta_resolution=48, phi_resolution=24)
    if day_night:
        sphere.cell_data["day"] = (sphere.cell_centers().points[:, 0] > 0).astype(np.uint8)
    return sphere

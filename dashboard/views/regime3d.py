"""3D regime map: octree leaves as voxels coloured by regime, Earth, magnetopause, bow shock.

The geometry is built by pure, vectorised functions over numpy arrays (testable without a UI):

- :func:`regime_voxels` — one ``pyvista.UnstructuredGrid`` of hexahedra from the leaf bounds
  (no per-leaf Python objects), with cell data ``regime``, ``confidence`` and ``rgb``;
- :func:`surface_of_revolution` — a closed-at-the-nose surface ``r(theta)`` revolved about the
  GSM x axis (the Sun-Earth line), used for the magnetopause (Shue et al. 1998) and the bow
  shock (Jelínek et al. 2012) from :mod:`atlas_core.physics.boundaries`;
- :func:`earth_sphere` — Earth, 1 R_E, with a day (x_GSM > 0) and a night hemisphere;
- :func:`build_plotter` — an off-screen ``pyvista.Plotter`` holding all of the above, camera
  reset, ready for ``pn.pane.VTK``.

:class:`Regime3DView` is the Panel view: its own controls (regimes shown, minimum confidence,
clipping plane, boundaries and their solar-wind condition) and a ``pn.pane.VTK`` that it
refreshes. The app hands it the data with :meth:`Regime3DView.set_data`.

All coordinates are GSM, in Earth radii (R_E).

Rendering: off-screen through VTK's EGL window (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow``,
set below before VTK loads unless the environment already sets it). Opacity by confidence is
drawn as a few opacity bands (one actor per band, each cell coloured directly by its regime
RGB) rather than per-cell alpha: actor opacity survives the vtk.js serialisation that
``pn.pane.VTK`` uses, per-cell alpha does not reliably.
"""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from collections.abc import Callable, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import param  # noqa: E402
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


def surface_of_revolution(
    r_of_theta: Callable[[np.ndarray], np.ndarray],
    *,
    x_min_re: float = -30.0,
    theta_max_rad: float = np.deg2rad(170.0),
    n_theta: int = 90,
    n_phi: int = 72,
) -> pv.PolyData:
    """A surface ``r(theta)`` revolved about the GSM x axis, as a structured quad mesh.

    ``theta`` is the angle from the +x (sunward) axis, ``r`` in R_E. The surface runs from the
    nose (theta = 0) tailward until theta reaches ``theta_max_rad`` or x falls below
    ``x_min_re`` (points past that are pulled back onto the plane x = x_min_re), which is how
    magnetopause and bow-shock models are drawn for the near-Earth region.
    """
    theta = np.linspace(0.0, theta_max_rad, n_theta)
    r = np.asarray(r_of_theta(theta), dtype=float)
    if r.shape != theta.shape:
        raise ValueError("r_of_theta must return one radius per angle")
    x = r * np.cos(theta)
    rho = r * np.sin(theta)
    finite = np.isfinite(r) & (r > 0)
    past = x < x_min_re
    # Cut where the curve leaves the box: keep the first point past x_min, scaled onto it.
    if past.any():
        first = int(np.argmax(past))
        scale = np.ones_like(r)
        scale[first] = x_min_re / x[first]
        x, rho = (x * scale)[: first + 1], (rho * scale)[: first + 1]
        finite = finite[: first + 1]
    x, rho = x[finite], rho[finite]
    phi = np.linspace(0.0, 2 * np.pi, n_phi)
    xx = np.repeat(x[:, None], n_phi, axis=1)
    yy = rho[:, None] * np.cos(phi)[None, :]
    zz = rho[:, None] * np.sin(phi)[None, :]
    grid = pv.StructuredGrid(xx, yy, zz)
    return grid.extract_surface(algorithm="dataset_surface").triangulate()


def boundary_surfaces(
    bz_nt: float = 0.0,
    pdyn_npa: float = 2.0,
    *,
    x_min_re: float = -30.0,
) -> dict[str, pv.PolyData]:
    """Magnetopause (Shue et al. 1998) and bow shock (Jelínek et al. 2012) surfaces.

    Parameters
    ----------
    bz_nt : IMF Bz (GSM), nT.
    pdyn_npa : solar-wind dynamic pressure, nPa.

    Returns ``{"magnetopause": PolyData, "bow_shock": PolyData}`` in GSM R_E, both
    surfaces of revolution about the x axis (the models are axisymmetric).
    """
    from atlas_core.physics.boundaries import bow_shock_jelinek2012, magnetopause_shue1998

    return {
        "magnetopause": surface_of_revolution(
            lambda th: magnetopause_shue1998(th, bz_nt, pdyn_npa),
            x_min_re=x_min_re,
            theta_max_rad=np.deg2rad(160.0),
        ),
        "bow_shock": surface_of_revolution(
            lambda th: bow_shock_jelinek2012(th, pdyn_npa),
            x_min_re=x_min_re,
            theta_max_rad=np.deg2rad(150.0),
        ),
    }


def earth_sphere(radius_re: float = 1.0, *, day_night: bool = True) -> pv.PolyData:
    """Earth as a sphere of ``radius_re`` R_E; cell data ``day`` is 1 where x_GSM > 0 (sunlit)."""
    sphere = pv.Sphere(radius=radius_re, theta_resolution=48, phi_resolution=24)
    if day_night:
        sphere.cell_data["day"] = (sphere.cell_centers().points[:, 0] > 0).astype(np.uint8)
    return sphere


def _palette_color(key: str, default: str) -> str:
    """A non-regime colour (magnetopause, bow shock, ...) from ``assets/palette.json``."""
    try:
        from dashboard.palette import load_palette

        return str(load_palette().get(key, default))
    except (ImportError, OSError, ValueError):
        return default


def _clip_surface(mesh: pv.PolyData, clip: tuple[str, float, str] | None) -> pv.PolyData:
    if clip is None or mesh.n_points == 0:
        return mesh
    axis, offset, side = clip
    normal = [0.0, 0.0, 0.0]
    normal[_AXES[axis]] = 1.0
    origin = [0.0, 0.0, 0.0]
    origin[_AXES[axis]] = float(offset)
    # pyvista's clip keeps the side the normal points away from unless invert=False.
    return mesh.clip(normal=normal, origin=origin, invert=(side == "below"))


def build_plotter(
    voxels: pv.UnstructuredGrid,
    *,
    boundaries: dict[str, pv.PolyData] | None = None,
    clip: tuple[str, float, str] | None = None,
    earth: bool = True,
    opacity_bands: Sequence[float] = DEFAULT_OPACITY_BANDS,
    window_size: tuple[int, int] = (700, 500),
) -> pv.Plotter:
    """An off-screen plotter with the voxels, Earth and the boundary surfaces, camera reset.

    Voxels are split into confidence bands (``opacity_bands`` edges); each band is one actor
    whose opacity is the band's upper edge (capped at 1), so confident cells are opaque and
    uncertain ones see-through. Boundary surfaces are clipped by the same plane as the voxels.
    """
    plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
    plotter.set_background("white")
    # GSM axes as plain arrows from Earth (a VTK orientation widget does not reach vtk.js, and
    # the pane's vtk.js one breaks when the scene is updated): x sunward red, y green, z blue
    for name, direction, color in (("axis_x", (1, 0, 0), "#d62728"), ("axis_y", (0, 1, 0), "#2ca02c"),
                                   ("axis_z", (0, 0, 1), "#1f77b4")):
        arrow = pv.Arrow(start=(0, 0, 0), direction=direction, scale=5.0, tip_length=0.15,
                         tip_radius=0.05, shaft_radius=0.015)
        plotter.add_mesh(arrow, color=color, name=name, render=False)
    populate(plotter, voxels, boundaries=boundaries, clip=clip, earth=earth,
             opacity_bands=opacity_bands)
    # look from the dusk side, slightly from the north and the Sun: nose right, tail left
    plotter.camera_position = [(20.0, -60.0, 35.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    # frame the voxels and Earth, not the boundary surfaces that run out to the tail
    bounds = np.array([-1.5, 1.5, -1.5, 1.5, -1.5, 1.5])
    if voxels.n_cells:
        vb = np.asarray(voxels.bounds)
        bounds[0::2] = np.minimum(bounds[0::2], vb[0::2])
        bounds[1::2] = np.maximum(bounds[1::2], vb[1::2])
    plotter.reset_camera(bounds=bounds.tolist())
    return plotter


SCENE_PREFIXES = ("voxels_", "earth", "magnetopause", "bow_shock")
"""Names of the actors :func:`populate` adds (and later updates in place)."""


def _scene_actor(plotter: pv.Plotter, name: str, mesh: pv.DataSet, *, rgb: bool = False,
                 color: str | None = None, opacity: float = 1.0) -> None:
    """Show ``mesh`` in the actor ``name``: create the actor once, afterwards swap its input.

    Why never remove and re-add: ``pn.pane.VTK`` names every VTK object in the scene by its
    memory address, and vtk.js looks objects up by that name. A removed actor's freed
    property, mapper or lookup table lets VTK put an object of another class at the same
    address, and vtk.js then wires the stale instance in (``setProperty`` on a colour
    transfer function gave the page error ``t.property.getOpacity is not a function``). An
    actor, its mapper and property that live as long as the plotter keep their names unique.
    """
    actor = plotter.actors.get(name)
    if actor is None:
        if mesh.n_cells == 0:
            return  # created once there is something to show
        mapper = pv.DataSetMapper(mesh)
        if rgb:  # cell colours straight from the uint8 "rgb" array, no lookup table
            mesh.set_active_scalars("rgb", preference="cell")
            mapper.SetScalarModeToUseCellData()
            mapper.SetColorModeToDirectScalars()
            mapper.ScalarVisibilityOn()
        else:
            mapper.ScalarVisibilityOff()
        actor = pv.Actor(mapper=mapper)
        if color is not None:
            actor.prop.color = color
        actor.prop.opacity = opacity
        plotter.add_actor(actor, name=name, reset_camera=False, render=False)
        return
    if rgb and mesh.n_cells:
        mesh.set_active_scalars("rgb", preference="cell")
    actor.mapper.SetInputData(mesh)
    actor.prop.opacity = opacity
    actor.SetVisibility(mesh.n_cells > 0)


def populate(
    plotter: pv.Plotter,
    voxels: pv.UnstructuredGrid,
    *,
    boundaries: dict[str, pv.PolyData] | None = None,
    clip: tuple[str, float, str] | None = None,
    earth: bool = True,
    opacity_bands: Sequence[float] = DEFAULT_OPACITY_BANDS,
) -> None:
    """Put the scene into ``plotter``: the first call adds its actors, later calls give the
    same actors new geometry (an actor with nothing to show is hidden, not removed).

    Reusing one plotter (one renderer, one camera, the same actors) lets a live
    ``pn.pane.VTK`` update with ``pane.synchronize()`` instead of receiving a new render
    window, and keeps the names vtk.js knows the objects by valid (see :func:`_scene_actor`).
    """
    conf = np.asarray(voxels.cell_data["confidence"]) if voxels.n_cells else np.zeros(0)
    edges = np.asarray(opacity_bands, dtype=float)
    for i in range(len(edges) - 1):
        sel = np.flatnonzero((conf >= edges[i]) & (conf < edges[i + 1]))
        band = voxels.extract_cells(sel) if sel.size else pv.UnstructuredGrid()
        _scene_actor(plotter, f"voxels_{i}", band, rgb=True,
                     opacity=float(min(1.0, max(0.15, edges[i + 1]))))
    if earth and "earth" not in plotter.actors:  # Earth never changes: added once
        plotter.add_mesh(
            earth_sphere(),
            scalars="day",
            cmap=["#1f2a44", "#f4d35e"],
            clim=[0, 1],
            show_scalar_bar=False,
            name="earth",
            render=False,
        )
    if "earth" in plotter.actors:
        plotter.actors["earth"].SetVisibility(bool(earth))
    styles = {"magnetopause": (_palette_color("magnetopause", "#222222"), 0.12),
              "bow_shock": (_palette_color("bow_shock", "#555555"), 0.07)}
    shown = boundaries or {}
    for name in sorted(set(shown) | {n for n in plotter.actors if n in styles}):
        color, opacity = styles.get(name, ("#555555", 0.2))
        mesh = shown.get(name)
        surface = pv.PolyData() if mesh is None else _clip_surface(mesh, clip)
        if surface.n_points:  # smooth shading: point normals averaged over the faces
            surface = surface.compute_normals(cell_normals=False, split_vertices=False,
                                              consistent_normals=False)
        _scene_actor(plotter, name, surface, color=color, opacity=opacity)


class Regime3DView(param.Parameterized):
    """The 3D regime map view: controls plus a ``pn.pane.VTK`` whose scene follows them.

    Wire it from the app: ``view = Regime3DView(names=..., colors=...)``;
    ``view.set_data(lo, hi, regime, confidence)`` whenever the condition changes (the dominant
    regime and its probability per leaf); put ``view.panel()`` in the layout.
    """

    regimes = param.ListSelector(default=[], objects=[], label="Regimes shown",
                                 doc="regime ids shown (all when empty)")
    min_confidence = param.Number(default=0.0, bounds=(0.0, 1.0), step=0.05,
                                  label="Minimum confidence",
                                  doc="hide cells whose dominant regime is less probable")
    clip_axis = param.Selector(default="none", objects=["none", "x", "y", "z"],
                               label="Clipping plane normal (GSM)")
    clip_offset_re = param.Number(default=0.0, bounds=(-30.0, 30.0), step=0.5,
                                  label="Clipping plane offset [R_E]")
    clip_side = param.Selector(default="below", objects=["below", "above"],
                               label="Keep the side")
    show_boundaries = param.Boolean(default=True, label="Magnetopause and bow shock")
    bz_nt = param.Number(default=0.0, bounds=(-30.0, 30.0), step=1.0, label="IMF Bz [nT]",
                         doc="IMF Bz (GSM) for the magnetopause (Shue et al. 1998)")
    pdyn_npa = param.Number(default=2.0, bounds=(0.1, 50.0), step=0.1, label="Pdyn [nPa]",
                            doc="solar-wind dynamic pressure for magnetopause and bow shock")

    def __init__(self, names: Sequence[str] = (), colors: Sequence | None = None, **params):
        super().__init__(**params)
        self.names = list(names)
        self.colors = colors
        self.param.regimes.objects = list(range(len(self.names)))
        self._data: tuple[np.ndarray, ...] | None = None
        self._pane = None
        self._plotter: pv.Plotter | None = None

    def follow(self, filters) -> None:
        """Keep the boundary surfaces' solar-wind condition equal to the app's filters
        (``filters.imf_bz`` nT, ``filters.pdyn`` nPa), so the slice's curves and the 3D
        surfaces always show the same magnetopause and bow shock."""

        def sync(*_):
            self.param.update(bz_nt=float(filters.imf_bz), pdyn_npa=float(filters.pdyn))

        filters.param.watch(sync, ["imf_bz", "pdyn"])
        sync()

    def set_data(self, lo, hi, regime, confidence) -> None:
        """New leaf bounds (R_E), dominant regime ids and their probabilities; redraws."""
        self._data = (np.asarray(lo), np.asarray(hi), np.asarray(regime), np.asarray(confidence))
        self._refresh()

    def _clip(self) -> tuple[str, float, str] | None:
        if self.clip_axis == "none":
            return None
        return (self.clip_axis, float(self.clip_offset_re), self.clip_side)

    def _scene(self) -> tuple[pv.UnstructuredGrid, dict | None]:
        if self._data is None:
            voxels = regime_voxels(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, int), np.zeros(0))
        else:
            voxels = regime_voxels(
                *self._data,
                colors=self.colors,
                regimes=self.regimes or None,
                min_confidence=self.min_confidence,
                clip=self._clip(),
            )
        bounds = boundary_surfaces(self.bz_nt, self.pdyn_npa) if self.show_boundaries else None
        return voxels, bounds

    def plotter(self) -> pv.Plotter:
        """A new plotter for the current data and controls (empty scene without data)."""
        voxels, bounds = self._scene()
        return build_plotter(voxels, boundaries=bounds, clip=self._clip())

    @param.depends(
        "regimes", "min_confidence", "clip_axis", "clip_offset_re", "clip_side",
        "show_boundaries", "bz_nt", "pdyn_npa", watch=True,
    )
    def _refresh(self) -> None:
        if self._pane is None:
            return
        # same plotter, new actors: the browser keeps its renderer, camera and widgets
        voxels, bounds = self._scene()
        populate(self._plotter, voxels, boundaries=bounds, clip=self._clip())
        self._pane.synchronize()

    def controls(self):
        import panel as pn

        return pn.Param(
            self.param,
            widgets={
                "regimes": {
                    "type": pn.widgets.MultiChoice,
                    "options": {
                        (n if n.startswith(f"{i} ") else f"{i} {n}"): i
                        for i, n in enumerate(self.names)
                    },
                },
                "min_confidence": pn.widgets.FloatSlider,
                "clip_offset_re": pn.widgets.FloatSlider,
                "bz_nt": pn.widgets.FloatSlider,
                "pdyn_npa": pn.widgets.FloatSlider,
            },
            show_name=False,
            width=300,
        )

    @param.depends()  # no parameter re-creates the pane; _refresh updates its scene
    def vtk_pane(self):
        """The ``pn.pane.VTK`` (built on first call; later changes replace its actors and
        synchronise it)."""
        import panel as pn

        if self._pane is None:
            self._plotter = self.plotter()
            self._pane = pn.pane.VTK(
                self._plotter.ren_win, sizing_mode="stretch_width", height=620,
                orientation_widget=False, enable_keybindings=True,
                css_classes=["atlas-regime3d"],
            )
        return self._pane

    def panel(self):
        """The view: controls beside the VTK pane.

        The scene is built lazily, when the view is first rendered (e.g. when its tab is
        opened), so that a page that never shows the 3D map never pays for its mesh.
        """
        import panel as pn

        scene = pn.param.ParamMethod(self.vtk_pane, lazy=True, sizing_mode="stretch_width")
        return pn.Row(pn.Column(self.controls(), width=320), scene, sizing_mode="stretch_width")

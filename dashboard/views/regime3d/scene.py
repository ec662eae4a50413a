"""3D regime map scene: an off-screen ``pyvista.Plotter`` holding the voxels (in confidence
bands), Earth and the boundary surfaces, updated in place for ``pn.pane.VTK``.

Rendering: off-screen through VTK's EGL window (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow``,
set before VTK loads unless the environment already sets it). Opacity by confidence is drawn as
a few opacity bands (one actor per band, each cell coloured directly by its regime RGB) rather
than per-cell alpha: actor opacity survives the vtk.js serialisation that ``pn.pane.VTK`` uses,
per-cell alpha does not reliably.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyvista as pv

from .geometry import _AXES, DEFAULT_OPACITY_BANDS, earth_sphere


def _palette_color(key: str, default: str) -> str:
    """A boundary's colour from ``assets/palette.json`` (the slices' and export's)."""
    from ...palette import load_palette

    pal = load_palette()
    return str(pal.get("boundaries", {}).get(key, {}).get("color", pal.get(key, default)))


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

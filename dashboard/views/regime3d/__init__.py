"""The 3D regime map: ``geometry`` (voxels, surfaces, Earth), ``scene`` (the off-screen plotter,
updated in place) and ``view`` (the Panel view)."""

from .geometry import boundary_surfaces, earth_sphere, regime_voxels, surface_of_revolution
from .scene import build_plotter, populate
from .view import Regime3DView

__all__ = ["Regime3DView", "boundary_surfaces", "build_plotter", "earth_sphere", "populate",
           "regime_voxels", "surface_of_revolution"]

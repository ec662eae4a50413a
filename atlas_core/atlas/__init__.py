"""The atlas product: per-cell regime probabilities, conditioning, query API, anomaly score.

Modules: :mod:`posterior` (Dirichlet posterior, intervals, entropy), :mod:`conditioning` (Dst bins,
any Dst range, TS07D-style nearest neighbours), :mod:`dataset` (the xarray dataset, NetCDF/Zarr),
:mod:`anomaly` (mixture negative log-likelihood), :mod:`query` (:class:`Atlas`), :mod:`build`
(octree + model + dataset into an atlas directory).

>>> from atlas_core.atlas import Atlas
>>> atlas = Atlas.open("data/atlas1y")
>>> atlas.query([[-15, 0, 0]], dst_range=(None, -50)).to_records()
"""

from atlas_core.atlas.build import build_atlas
from atlas_core.atlas.conditioning import ActivityBins, NeighbourIndex, OccupancyIndex
from atlas_core.atlas.errors import AtlasError, AtlasVersionError, OutsideAtlasError
from atlas_core.atlas.query import Atlas, PlasmaState, QueryResult

__all__ = [
    "Atlas", "AtlasError", "AtlasVersionError", "OutsideAtlasError", "ActivityBins",
    "NeighbourIndex", "OccupancyIndex", "PlasmaState", "QueryResult", "build_atlas",
]

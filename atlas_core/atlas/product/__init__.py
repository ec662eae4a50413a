"""The atlas product layer: the numbers every view, figure, query and export shows.

Modules: :mod:`.condition` (the Condition value type), :mod:`.cells` (counts, estimates,
selection summary, solar-wind condition), :mod:`.slices` (slice tables, figure products, 3D
cells), :mod:`.query` (numbers at positions), :mod:`.cache` (the shared cache on the atlas).
One condition type and a few functions, computed in one place:

- :class:`Condition` — which states a map is made of: all, a Dst range, or the ``k`` nearest
  neighbours of a target in driver space (TS07D-style), optionally one mission. Hashable: it is
  the cache key.
- :func:`counts` — windows and effective counts per cell and regime under a condition, with a
  summary of what the selection actually spans (Dst and drivers 5/50/95 %).
- :func:`estimates` — per-cell posterior regime probabilities and intervals, dominant regime,
  entropy, low-count flag. Every probability anybody shows comes from here.
- :func:`slice_table` — the cells of a slice plane with every column a view or a figure needs,
  including the fill colour and alpha they are drawn with (:func:`slice_product` adds the title,
  caption and boundary curves a figure draws).
- :func:`cell_table` — the non-empty cells for the 3D map.
- :func:`query_cells` — the same numbers at given positions (``atlas query``).
- :func:`solar_wind` — the boundary condition of a selection (its median Pdyn and IMF Bz).

Numbers come from the atlas' estimator calls (``Atlas.counts_of``, and ``Atlas.posterior``
with lazily computed credible bounds, else ``Atlas.estimate``; contract C2); an atlas without
them gets windows for effective counts and the Dirichlet posterior of
:mod:`atlas_core.atlas.posterior` (:func:`_counts_of`, :func:`_estimate` in :mod:`.cells`).

:func:`counts` and :func:`estimates` are cached on the atlas object (bounded, lock-protected,
shared by every thread and every dashboard session of a process). Positions are GSM, R_E; Dst
nT; entropy bits.
"""

from atlas_core.atlas.product.cache import ProductCache, cache_of
from atlas_core.atlas.product.cells import (
    DEFAULT_SOLAR_WIND,
    CellCounts,
    CellEstimates,
    SolarWind,
    _counts_of,
    _estimate,
    counts,
    estimates,
    select_states,
    solar_wind,
)
from atlas_core.atlas.product.condition import Condition, as_condition, parse_pairs
from atlas_core.atlas.product.query import query_cells, query_records
from atlas_core.atlas.product.slices import (
    COLOR_ALIASES,
    COLORINGS,
    FULL_ALPHA,
    LOW_COUNT_ALPHA,
    PLANES,
    SliceProduct,
    cell_table,
    check_color,
    check_plane,
    data_description,
    merge_blocks,
    slice_leaves,
    slice_product,
    slice_table,
)

__all__ = [
    "COLORINGS", "COLOR_ALIASES", "DEFAULT_SOLAR_WIND", "FULL_ALPHA", "LOW_COUNT_ALPHA", "PLANES",
    "CellCounts", "CellEstimates", "Condition", "ProductCache", "SliceProduct", "SolarWind",
    "_counts_of", "_estimate", "as_condition", "cache_of", "cell_table", "check_color",
    "check_plane", "counts", "data_description", "estimates", "merge_blocks", "parse_pairs", "query_cells",
    "query_records", "select_states", "slice_leaves", "slice_product", "slice_table",
    "solar_wind",
]

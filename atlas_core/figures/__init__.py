"""Publication figures of the atlas: PNG (>= 300 dpi), SVG and PDF, with matplotlib (Agg).

The numbers, colours, boundaries, title and caption of a slice come from the product layer
(:func:`atlas_core.atlas.product.slice_product`); this package only draws them:

- :mod:`~atlas_core.figures.slice` — :func:`slice_figure`, the matplotlib ``Figure`` of a slice;
- :mod:`~atlas_core.figures.files` — formats, :func:`figure_bytes` (bytes with metadata), safe
  download names and :func:`export_filename` (which names the condition);
- :func:`render_slice` — the one call behind ``atlas export`` and the dashboard's download
  buttons: atlas, plane, offset, colouring and condition in, file bytes out.
"""

from __future__ import annotations

from atlas_core.atlas.product import COLORINGS, PLANES, slice_product
from atlas_core.figures.files import (
    FORMATS,
    check_format,
    export_filename,
    figure_bytes,
    safe_export_filename,
)
from atlas_core.figures.slice import slice_figure

COLORS = {c: c.replace("_", " ") for c in COLORINGS}
"""Colourings of a slice (see :data:`atlas_core.palette.SLICE_COLOURINGS`)."""


def render_slice(atlas, plane: str, offset: float, color: str = "dominant", condition=None,
                 fmt: str = "png", dpi: int = 300, *, regime: int = 0, quiet=None, storm=None,
                 boundaries: bool = True, pdyn_npa: float | None = None,
                 bz_nt: float | None = None) -> bytes:
    """One slice of ``atlas`` as figure-file bytes (MIME type ``FORMATS[fmt]``).

    ``plane`` "xy" | "xz" | "yz"; ``offset`` R_E along its normal; ``color`` one of
    :data:`COLORS`; ``condition`` anything :func:`atlas_core.atlas.product.as_condition` reads
    (None/"all", "quiet", "storm", "LO:HI" nT, "near:dst=-80,ddst=-10,k=8000", a Condition);
    ``regime`` for probability and storm − quiet; ``quiet``/``storm`` the two conditions of
    storm − quiet (default: the atlas' bins); boundaries for ``pdyn_npa``/``bz_nt`` when given,
    else the selection's median Pdyn and IMF Bz; ``boundaries=False`` leaves them out.
    """
    fmt = check_format(fmt)
    product = slice_product(atlas, plane, offset, condition, color, regime, quiet=quiet,
                            storm=storm, boundaries=boundaries, pdyn_npa=pdyn_npa, bz_nt=bz_nt)
    return figure_bytes(slice_figure(product), fmt, dpi, product.title, product.caption)


__all__ = ["COLORS", "FORMATS", "PLANES", "export_filename", "figure_bytes", "render_slice",
           "safe_export_filename", "slice_figure"]

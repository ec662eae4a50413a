"""Figure files: formats, the bytes of a figure with its metadata, and download names."""

from __future__ import annotations

import io
import logging
import re

from atlas_core.atlas.product import PLANES, as_condition, check_color, check_plane

FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
"""Export formats and their MIME types."""
MIN_PNG_DPI = 300
"""PNGs for talks and papers: at least this resolution."""
SOFTWARE = "Magnetosphere Atlas (atlas_core.figures)"

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def check_format(fmt: str) -> str:
    f = str(fmt).lower().lstrip(".")
    if f not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return f


def figure_bytes(fig, fmt: str, dpi: int, title: str, caption: str) -> bytes:
    """A matplotlib ``Figure`` as ``fmt`` bytes; the title and caption go into the file's
    metadata (PNG ``Title``/``Description``, SVG ``Title``/``Description``, PDF
    ``Title``/``Subject``); PNGs carry at least :data:`MIN_PNG_DPI`."""
    import matplotlib

    fmt = check_format(fmt)
    dpi = max(MIN_PNG_DPI, int(dpi)) if fmt == "png" else int(dpi)
    one_line = title.replace("\n", " — ")
    meta = {
        "png": {"Title": one_line, "Description": caption, "Software": SOFTWARE},
        "svg": {"Title": one_line, "Description": caption, "Creator": SOFTWARE},
        "pdf": {"Title": one_line, "Subject": caption, "Creator": SOFTWARE},
    }[fmt]
    # fontTools logs every glyph subset at INFO when PDFs embed fonts: too chatty for a CLI
    font_log = logging.getLogger("fontTools")
    font_log.setLevel(max(logging.WARNING, font_log.level))
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def safe_export_filename(name: str, fmt: str, *, max_length: int = 120) -> str:
    """A download file name from free text: safe on every OS and in a Content-Disposition.

    Keeps only ``A-Z a-z 0-9 . _ + -``; every other run of characters (path separators,
    spaces, quotes, control characters, non-ASCII) becomes one ``_``; runs of dots collapse
    (no ``..``); leading dots, dashes and underscores are stripped (no hidden files, no
    option-like names); the stem is cut to ``max_length`` characters, and the extension is
    always the export format's, replacing any extension the text carried. An empty result
    becomes ``atlas_slice``. Raises ``ValueError`` for an unknown format.
    """
    fmt = check_format(fmt)
    stem = re.sub(r"\.(png|svg|pdf)$", "", str(name), flags=re.IGNORECASE)
    stem = _UNSAFE.sub("_", stem)
    stem = re.sub(r"\.{2,}", ".", stem)
    stem = re.sub(r"_{2,}", "_", stem)
    stem = stem.strip("._-+")
    stem = stem[:max_length].rstrip("._-+")
    return f"{stem or 'atlas_slice'}.{fmt}"


def export_filename(plane: str, offset: float, color: str, condition=None, fmt: str = "png",
                    *, regime: int | None = None, quiet=None, storm=None, bins=None) -> str:
    """The default file name of a slice figure, naming the condition so that exports of one
    plane under different conditions never overwrite each other, e.g.
    ``atlas_xy_z+0.0_dominant_quiet_dst-20to20.png``,
    ``atlas_xz_y+0.0_storm_minus_quiet_regime3_storm_dstle-50_minus_quiet_dst-20to20.pdf``."""
    plane, color = check_plane(plane), check_color(color)
    parts = ["atlas", plane, f"{PLANES[plane][0]}{float(offset):+.1f}", color]
    if regime is not None and color in ("probability", "storm_minus_quiet"):
        parts.append(f"regime{int(regime)}")
    if color == "storm_minus_quiet":
        s = as_condition(storm if storm is not None else "storm", bins)
        q = as_condition(quiet if quiet is not None else "quiet", bins)
        parts.append(f"{s.slug}_minus_{q.slug}")
    else:
        parts.append(as_condition(condition, bins).slug)
    return safe_export_filename("_".join(parts), fmt, max_length=200)


__all__ = ["FORMATS", "check_format", "export_filename", "figure_bytes",
           "safe_export_filename"]

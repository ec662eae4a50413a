"""Vectorised HAPI stream encoders: CSV and binary records from numpy columns, chunk by chunk.

Formatting a million numbers one at a time (``%g``, ``to_csv``) costs seconds; here every column
of a chunk becomes a fixed-width ``uint8`` matrix by integer arithmetic, the matrices are laid
side by side with the commas and the newline, and the pad bytes (0) are dropped in one pass, so
a chunk of 20,000 records is a handful of numpy operations whatever its width.

CSV (HAPI 3.1 §3.7.4.1, RFC 4180): doubles in scientific notation with ``DOUBLE_DIGITS``
significant digits (``-1.23456e+03``; exact for the fill value ``-1e31``), integers in decimal,
strings quoted only when they hold a comma or a quote. Binary (§3.7.4.2): little-endian int32,
IEEE 754 float64, strings and times as fixed-length ASCII padded with NUL bytes.
"""

from __future__ import annotations

import numpy as np

DOUBLE_DIGITS = 6
"""Significant digits of doubles in CSV output."""
_POW_OFFSET = 320
_POW10 = 10.0 ** np.arange(-_POW_OFFSET, 121)
TINY = 1e-99
"""Magnitudes below this are written as 0 (no measured quantity here is that small)."""


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative int64 ``values``, zero-padded on the left."""
    out = np.empty((values.size, width), dtype=np.uint8)
    v = values.astype(np.int64, copy=True)
    for j in range(width - 1, -1, -1):
        out[:, j] = 48 + (v % 10)
        v //= 10
    return out


def format_doubles(x: np.ndarray, digits: int = DOUBLE_DIGITS) -> np.ndarray:
    """(n, w) uint8 CSV cells of float64 ``x`` (NaN/inf must have been replaced by a fill):
    ``[-]d.ddddde[+-]XX`` with pad bytes (0) where the sign is absent."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    a = np.abs(x)
    zero = a < TINY
    e = np.floor(np.log10(np.where(zero, 1.0, a))).astype(np.int64)
    scale = _POW10[_POW_OFFSET + (digits - 1) - e]
    m = np.rint(a * scale).astype(np.int64)
    over = m >= 10 ** digits
    m[over] //= 10
    e[over] += 1
    under = (m < 10 ** (digits - 1)) & ~zero
    m[under] = np.rint(a[under] * _POW10[_POW_OFFSET + digits - e[under]]).astype(np.int64)
    e[under] -= 1
    m[zero], e[zero] = 0, 0
    mant = _digits(m, digits)
    ae = np.abs(e)
    exp_digits = 3 if (ae >= 100).any() else 2
    out = np.zeros((n, 1 + 1 + 1 + (digits - 1) + 2 + exp_digits), dtype=np.uint8)
    out[:, 0] = np.where(x < 0, ord("-"), 0)
    out[:, 1] = mant[:, 0]
    out[:, 2] = ord(".")
    out[:, 3:2 + digits] = mant[:, 1:]
    out[:, 2 + digits] = ord("e")
    out[:, 3 + digits] = np.where(e < 0, ord("-"), ord("+"))
    out[:, 4 + digits:] = _digits(ae, exp_digits)
    return out


def format_ints(x: np.ndarray) -> np.ndarray:
    """(n, 11) uint8 CSV cells of int32 ``x``: optional ``-`` and the digits, left pad 0."""
    x = np.asarray(x, dtype=np.int64)
    a = np.abs(x)
    d = _digits(a, 10)
    # blank the leading zeros (keep the last digit)
    lead = np.cumsum(d != 48, axis=1) == 0
    lead[:, -1] = False
    d[lead] = 0
    sign = np.where(x < 0, ord("-"), 0).astype(np.uint8)[:, None]
    # put the sign just before the first digit by keeping it in column 0: pad bytes vanish
    return np.concatenate([sign, d], axis=1)


def csv_cell_table(strings) -> np.ndarray:
    """(m, w) uint8 CSV cells of a small set of strings (quoted when needed), 0-padded."""
    cells = []
    for s in strings:
        s = str(s)
        if any(c in s for c in ',"\n\r'):
            s = '"' + s.replace('"', '""') + '"'
        cells.append(s.encode("utf-8"))
    width = max([len(c) for c in cells] + [1])
    out = np.zeros((len(cells), width), dtype=np.uint8)
    for i, c in enumerate(cells):
        out[i, :len(c)] = np.frombuffer(c, dtype=np.uint8)
    return out


def join_csv(cells: list[np.ndarray]) -> bytes:
    """One CSV text block from per-column (n, w_i) uint8 cell matrices (0 = pad)."""
    n = cells[0].shape[0]
    comma = np.full((n, 1), ord(","), dtype=np.uint8)
    parts = []
    for i, c in enumerate(cells):
        if i:
            parts.append(comma)
        parts.append(c)
    parts.append(np.full((n, 1), ord("\n"), dtype=np.uint8))
    flat = np.concatenate(parts, axis=1).ravel()
    return flat[flat != 0].tobytes()


def binary_dtype(columns: list[tuple[str, str, int]]) -> np.dtype:
    """A packed little-endian record dtype from ``(name, kind, width)``: kind ``"double"``
    (width = number of elements), ``"integer"`` (elements), ``"string"``/``"isotime"`` (bytes)."""
    fields = []
    for name, kind, width in columns:
        if kind == "double":
            fields.append((name, "<f8", (width,)) if width > 1 else (name, "<f8"))
        elif kind == "integer":
            fields.append((name, "<i4", (width,)) if width > 1 else (name, "<i4"))
        else:
            fields.append((name, f"S{width}"))
    return np.dtype(fields)

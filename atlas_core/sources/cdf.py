"""Careful CDF access: open with the checksum verified, read variables with ISTP fill values
and valid ranges turned into NaN, TT2000 times into UTC ``datetime64[ns]``.

Every problem becomes a :class:`SourceError` that names the file and says what is wrong, so
that a pipeline can report and skip one bad file among thousands.
"""

from __future__ import annotations

from pathlib import Path

import cdflib
import numpy as np

CDF_MAGIC = (b"\xcd\xf3\x00\x01", b"\xcd\xf2\x60\x02", b"\xcd\xf2\x00\x01", b"\x00\x00\xff\xff")
"""Leading bytes of CDF v3, v2.6 and v2.x files."""
CDF_COMPRESSED_MAGIC = b"\xcc\xcc\x00\x01"


class SourceError(Exception):
    """A data file that cannot be used: ``file`` and ``problem`` say which and why."""

    def __init__(self, file, problem: str):
        self.file = str(file)
        self.problem = problem
        super().__init__(f"{self.file}: {problem}")


def open_cdf(path: str | Path) -> cdflib.CDF:
    """Open a CDF file, checking that it is one and (when it carries one) its MD5 checksum.

    Raises :class:`SourceError` for a missing, empty, non-CDF, truncated or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    size = path.stat().st_size
    if size == 0:
        raise SourceError(path, "empty file (0 bytes)")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:4] not in CDF_MAGIC:
        raise SourceError(path, f"not a CDF file (starts with {head[:4].hex()})")
    if head[4:8] == CDF_COMPRESSED_MAGIC and size < 16:
        raise SourceError(path, "truncated CDF file")
    try:
        cdf = cdflib.CDF(str(path), validate=True)
    except OSError as err:
        if "checksum" in str(err):
            raise SourceError(
                path, f"corrupt or truncated CDF: checksum (MD5) mismatch ({size} bytes)"
            ) from err
        raise SourceError(path, f"unreadable CDF: {err}") from err
    except Exception as err:  # cdflib raises many kinds on truncated files
        raise SourceError(path, f"truncated or corrupt CDF ({type(err).__name__}: {err})") from err
    return cdf


def variables(cdf: cdflib.CDF) -> list[str]:
    info = cdf.cdf_info()
    return list(info.zVariables) + list(info.rVariables)


def global_attr(cdf: cdflib.CDF, name: str) -> str | None:
    try:
        value = cdf.globalattsget().get(name)
    except Exception:
        return None
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return None if value is None else str(value)


def require(cdf: cdflib.CDF, path, names: list[str]) -> None:
    """Raise :class:`SourceError` naming the variables of ``names`` the file lacks."""
    have = set(variables(cdf))
    missing = [n for n in names if n not in have]
    if missing:
        raise SourceError(path, f"missing variable(s) {', '.join(missing)}")


def _get(cdf: cdflib.CDF, path, name: str, start: int | None = None, stop: int | None = None):
    try:
        if start is not None:
            if stop <= start:
                return None
            return cdf.varget(name, startrec=int(start), endrec=int(stop) - 1)
        return cdf.varget(name)
    except Exception as err:
        raise SourceError(path, f"cannot read variable {name} ({type(err).__name__}: {err})") from err


def read_times(cdf: cdflib.CDF, path, name: str = "Epoch") -> np.ndarray:
    """A TT2000 time variable as UTC ``datetime64[ns]``; fill values become NaT."""
    raw = _get(cdf, path, name)
    if raw is None:
        return np.array([], dtype="datetime64[ns]")
    raw = np.atleast_1d(np.asarray(raw))
    if raw.size == 0:
        return np.array([], dtype="datetime64[ns]")
    if raw.dtype.kind != "i":
        raise SourceError(path, f"{name} is not a CDF_TIME_TT2000 variable (dtype {raw.dtype})")
    bad = raw <= np.int64(-9223372036854775807)  # -2**63 fill (and the "pad" value)
    safe = np.where(bad, 0, raw)
    times = np.asarray(cdflib.cdfepoch.to_datetime(safe), dtype="datetime64[ns]")
    times[bad] = np.datetime64("NaT")
    return times


def read_values(
    cdf: cdflib.CDF, path, name: str, start: int | None = None, stop: int | None = None
) -> np.ndarray:
    """A numeric variable as float64 with its FILLVAL, values outside [VALIDMIN, VALIDMAX],
    and non-finite values replaced by NaN. ``start``/``stop`` select a record range."""
    raw = _get(cdf, path, name, start, stop)
    if raw is None:
        return np.array([], dtype=np.float64)
    data = np.asarray(raw, dtype=np.float64)
    try:
        atts = cdf.varattsget(name)
    except Exception:
        atts = {}
    bad = ~np.isfinite(data)
    fill = atts.get("FILLVAL")
    if fill is not None:
        fill = np.asarray(fill, dtype=np.float64)
        if np.all(np.isfinite(fill)):
            bad |= np.isclose(data, fill, rtol=1e-6) | (np.abs(data) >= 0.99e31)
    lo, hi = atts.get("VALIDMIN"), atts.get("VALIDMAX")
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad |= data < np.asarray(lo, dtype=np.float64)
        if hi is not None:
            bad |= data > np.asarray(hi, dtype=np.float64)
    data[bad] = np.nan
    return data


def read_flags(
    cdf: cdflib.CDF, path, name: str, start: int | None = None, stop: int | None = None
) -> np.ndarray:
    """An integer flag variable as uint32 (its FILLVAL is kept: callers treat it as bad)."""
    raw = _get(cdf, path, name, start, stop)
    if raw is None:
        return np.array([], dtype=np.uint32)
    return np.asarray(raw).astype(np.uint32, copy=False)

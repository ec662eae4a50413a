"""Careful CDF access: open with the checksum verified, read variables with ISTP fill values
and valid ranges turned into NaN, TT2000 times into UTC ``datetime64[ns]``.

Every problem becomes a :class:`SourceError` that names the file and says what is wrong, so
that a pipeline can report and skip one bad file among thousands.
"""

from __future__ import annotations

import functools
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


def open_cdf(path: str | Path, verify_checksum: bool = True) -> cdflib.CDF:
    """Open a CDF file, checking that it is one and (when it carries one, and
    ``verify_checksum``) its MD5 checksum.

    Raises :class:`SourceError` for a missing, empty, non-CDF, truncated or corrupt file.
    ``verify_checksum=False`` skips the MD5 (a pass over the whole file): only for a file
    that is verified where it is read in full, e.g. the previous day's last file of which an
    ingest needs one minute."""
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
        cdf = cdflib.CDF(str(path), validate=verify_checksum)
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
    """The file's variable names (read once per opened file: ``cdf_info`` walks every
    attribute record too)."""
    names = getattr(cdf, "_atlas_variables", None)
    if names is None:
        info = cdf.cdf_info()
        names = list(info.zVariables) + list(info.rVariables)
        cdf._atlas_variables = names
    return list(names)


def global_attr(cdf: cdflib.CDF, name: str, path=None) -> str | None:
    """The first entry of the global attribute ``name`` as text; None when the file lacks it.

    A file whose global attributes cannot be read at all raises :class:`SourceError` naming
    it (``path``, else the file cdflib opened): a reader must not silently fall back."""
    table = getattr(cdf, "_atlas_global_attributes", None)
    if table is None:
        try:
            table = cdf.globalattsget()
        except Exception as err:  # cdflib raises many kinds on a damaged attribute record
            where = path if path is not None else getattr(cdf, "file", "CDF file")
            raise SourceError(where, f"cannot read the global attributes "
                                     f"({type(err).__name__}: {err})") from err
        cdf._atlas_global_attributes = table  # read once per opened file
    value = table.get(name)
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return None if value is None else str(value)


class _Unreadable:
    """Marks a variable whose attribute entries could not be read (the error is kept)."""

    def __init__(self, err: Exception):
        self.err = err


def _attribute_entries(cdf: cdflib.CDF) -> dict[str, list[tuple[str, int]]]:
    """Where every zVariable's attribute entries are: ``{variable: [(attribute, byte
    offset), ...]}``, from one pass over the file's attribute records (headers only).

    ``cdf.varattsget(name)`` walks all attribute records again for each variable: a reader
    asking for the attributes of seven variables paid seven passes (a fifth of an ingest's
    time). Here the walk is made once and an entry is decoded only when its variable is
    asked for (:func:`var_attributes`). Uses cdflib's record readers; raises AttributeError
    when cdflib lacks them (callers then use ``varattsget``)."""
    names = {}
    pos = cdf._first_zvariable
    for _ in range(cdf._num_zvariable):
        vdr = cdf._read_vdr(pos)
        names[vdr.variable_number] = vdr.name
        pos = vdr.next_vdr_location
    out: dict[str, list[tuple[str, int]]] = {name: [] for name in names.values()}
    pos = cdf._first_adr
    for _ in range(cdf._num_att):
        adr = cdf._read_adr(pos)
        if adr.scope != 1:  # variable scope (1 is global)
            entry = adr.first_z_entry
            for _ in range(adr.num_z_entry):
                num, nxt = cdf._read_aedr_fast(entry)
                if num in names:
                    out[names[num]].append((adr.name, entry))
                entry = nxt
        pos = adr.next_adr_loc
    return out


def _decode_entries(cdf: cdflib.CDF, entries: list[tuple[str, int]]) -> dict:
    """The attribute values at the given entry offsets, as ``varattsget`` gives them."""
    atts = {}
    for attr, pos in entries:
        value = cdf._read_aedr(pos).entry
        if isinstance(value, np.ndarray) and len(value) == 1:
            value = value[0]
        atts[attr] = value
    return atts


def var_attributes(cdf: cdflib.CDF, path, name: str) -> dict:
    """The attributes of variable ``name`` (FILLVAL, VALIDMIN, UNITS, DELTA_PLUS_VAR, ...).

    The attribute records are walked once per opened file (:func:`_attribute_entries`) and
    each variable's entries decoded once, on demand; both are kept on the ``cdf`` object
    (identical to ``varattsget``: tested on the real MMS, Cluster and THEMIS files). Raises
    :class:`SourceError` naming the file when they cannot be read: without them fill values
    would silently stop being masked, so such a file is reported and skipped."""
    index = getattr(cdf, "_atlas_attribute_entries", None)
    if index is None:
        try:
            index = _attribute_entries(cdf)
        except AttributeError:  # another cdflib: one public call per variable
            index = {}
        except Exception as err:
            raise SourceError(path, f"cannot read the attribute records "
                                    f"({type(err).__name__}: {err})") from err
        cdf._atlas_attribute_entries = index
        cdf._atlas_attributes = {}
    decoded = cdf._atlas_attributes
    if name not in decoded:
        try:
            decoded[name] = (_decode_entries(cdf, index[name]) if name in index
                             else (cdf.varattsget(name) or {}))  # an rVariable
        except Exception as err:  # a damaged entry: this variable is unusable
            decoded[name] = _Unreadable(err)
    atts = decoded[name]
    if isinstance(atts, _Unreadable):
        err = atts.err
        raise SourceError(path, f"cannot read the attributes of {name} "
                                f"({type(err).__name__}: {err})") from err
    return dict(atts)


_TIME_UNITS_NS = {"s": 1e9, "sec": 1e9, "seconds": 1e9, "ms": 1e6, "msec": 1e6,
                  "us": 1e3, "\u00b5s": 1e3, "microseconds": 1e3, "ns": 1.0, "nanoseconds": 1.0}


def _delta_ns(cdf: cdflib.CDF, path, name: str) -> np.ndarray:
    """A DELTA_PLUS_VAR / DELTA_MINUS_VAR variable in ns (scalar or per record); fill and
    invalid values become 0."""
    atts = var_attributes(cdf, path, name)
    raw = _get(cdf, path, name)
    values = np.atleast_1d(np.asarray(raw, dtype=np.float64))
    unit = str(atts.get("UNITS", "")).strip().lower()
    scale = _TIME_UNITS_NS.get(unit)
    if scale is None:
        si = str(atts.get("SI_CONVERSION", ""))
        try:
            factor, si_unit = si.split(">")
            scale = float(factor) * 1e9 if si_unit.strip() == "s" else None
        except ValueError:
            scale = None
    if scale is None:
        raise SourceError(path, f"{name} (a time delta) has no time unit "
                                f"(UNITS {atts.get('UNITS')!r}, SI_CONVERSION "
                                f"{atts.get('SI_CONVERSION')!r})")
    fill = atts.get("FILLVAL")
    bad = ~np.isfinite(values) | (values < 0) | (np.abs(values) >= 0.99e30)
    if fill is not None:
        bad |= np.isclose(values, float(np.asarray(fill, dtype=np.float64).ravel()[0]))
    values[bad] = 0.0
    return values * scale


def time_centre_offset_ns(cdf: cdflib.CDF, path, name: str = "Epoch") -> np.ndarray:
    """The shift (ns, int64; one value, or one per record) that moves the time tags of ``name``
    to the centre of the interval each stands for.

    ISTP epochs may mark the start (or any point) of an accumulation; the variables named by
    the epoch's ``DELTA_PLUS_VAR`` and ``DELTA_MINUS_VAR`` attributes give how far it extends
    after and before the tag, so its centre is at ``tag + (plus - minus) / 2``. FPI's moments
    are tagged at the start of each accumulation (``Epoch_plus_var`` = 4.5 s in fast survey,
    0.15 s in burst, ``Epoch_minus_var`` = 0): +2.25 s and +0.075 s. FGM's epochs are centred
    (both attributes name one ``bdeltahalf`` variable): 0. Without the attributes the tags are
    taken as centred (0). Usable by any mission's reader."""
    atts = var_attributes(cdf, path, name)
    plus, minus = atts.get("DELTA_PLUS_VAR"), atts.get("DELTA_MINUS_VAR")
    if plus is None and minus is None:
        return np.zeros(1, dtype=np.int64)
    plus, minus = (str(v).strip() if v is not None else None for v in (plus, minus))
    if plus == minus:
        return np.zeros(1, dtype=np.int64)  # symmetric: the tag is the centre
    have = set(variables(cdf))
    for v in (plus, minus):
        if v is not None and v not in have:
            raise SourceError(path, f"{name}'s DELTA attributes name {v}, which the file lacks")
    d_plus = _delta_ns(cdf, path, plus) if plus else np.zeros(1)
    d_minus = _delta_ns(cdf, path, minus) if minus else np.zeros(1)
    return np.round((d_plus - d_minus) / 2.0).astype(np.int64)


def read_centred_times(cdf: cdflib.CDF, path, name: str = "Epoch") -> tuple[np.ndarray, float]:
    """:func:`read_times` moved to the centre of each sample's interval
    (:func:`time_centre_offset_ns`); returns the times and the median shift in seconds."""
    times = read_times(cdf, path, name)
    offset = time_centre_offset_ns(cdf, path, name)
    if offset.size not in (1, times.size):
        raise SourceError(path, f"the time deltas of {name} have {offset.size} records, "
                                f"{name} has {times.size}")
    if times.size and np.any(offset):
        times = times + offset.astype("timedelta64[ns]")  # NaT stays NaT
    return times, float(np.median(offset)) / 1e9 if offset.size else 0.0


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
    times = tt2000_to_utc(safe)
    times[bad] = np.datetime64("NaT")
    return times


_J2000_UTC_NS = np.datetime64("2000-01-01T11:58:55.816", "ns").astype(np.int64)
"""J2000 (2000-01-01T12:00:00 TT) in UTC, when TAI - UTC was 32 s, as ns since 1970."""


@functools.lru_cache(maxsize=1)
def _leap_seconds() -> tuple[np.ndarray, np.ndarray]:
    """TT2000 at each leap-second date from 1972 (cdflib's table, so it follows cdflib's
    updates) and TAI - UTC (s) from that instant on."""
    from cdflib.epochs import CDFepoch

    rows = [r for r in CDFepoch.LTS if r[0] >= 1972]
    at_utc = np.array([np.datetime64(f"{int(y):04d}-{int(m):02d}-{int(d):02d}", "ns")
                       for y, m, d, *_ in rows]).astype(np.int64)
    tai_utc = np.array([int(r[3]) for r in rows], dtype=np.int64)
    at_tt2000 = at_utc - _J2000_UTC_NS + (tai_utc - 32) * 1_000_000_000
    at_tt2000.flags.writeable = False
    tai_utc.flags.writeable = False
    return at_tt2000, tai_utc


def tt2000_to_utc(tt2000: np.ndarray) -> np.ndarray:
    """CDF TT2000 (int64 ns since J2000 TT) -> UTC ``datetime64[ns]``, vectorised.

    ``TT2000 = (UTC - J2000_UTC) + (TAI-UTC - 32 s)``, so UTC follows from the TAI - UTC in
    force (leap-second table); a time inside an inserted leap second (23:59:60.x) becomes
    00:00:00.x of the next day, as cdflib's ``to_datetime`` gives it (tested against it).
    Times before 1972 (fractional TAI - UTC) go through cdflib."""
    tt = np.asarray(tt2000, dtype=np.int64)
    at, leap = _leap_seconds()
    i = np.searchsorted(at, tt, side="right") - 1
    out = tt + _J2000_UTC_NS - (leap[np.clip(i, 0, None)] - 32) * 1_000_000_000
    out = out.view("datetime64[ns]")
    early = i < 0
    if early.any():
        out = out.copy()
        out[early] = np.asarray(cdflib.cdfepoch.to_datetime(tt[early]), dtype="datetime64[ns]")
    return out


def read_values(
    cdf: cdflib.CDF, path, name: str, start: int | None = None, stop: int | None = None
) -> np.ndarray:
    """A numeric variable as float64 with its FILLVAL, values outside [VALIDMIN, VALIDMAX],
    and non-finite values replaced by NaN. ``start``/``stop`` select a record range."""
    raw = _get(cdf, path, name, start, stop)
    if raw is None:
        return np.array([], dtype=np.float64)
    data = np.asarray(raw, dtype=np.float64)
    atts = var_attributes(cdf, path, name)
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

"""Driver files -> the conditions a space-weather user thinks in, at a time or along times.

Files: OMNI HRO CDF (1-min: IMF Bz, Pdyn, V, n, SYM-H; :mod:`atlas_core.sources.omni_hro`),
OMNI2 hourly text and Kyoto WDC Dst (:mod:`atlas_core.sources.indices`); the kind is recognised
from the file's first bytes, whatever flag named it.

Everything is put on the hourly grid the atlas' own states were conditioned on (the ingest
joins each window to its hour's OMNI2 and Dst values, :func:`~atlas_core.sources.indices.lookup_hourly`):
1-min OMNI values are averaged over the hour, so that a nowcast target is compared with
neighbours measured the same way. Dst comes from a Kyoto file, else OMNI2's Dst column, else
the hourly mean of SYM-H (which tracks Dst to a few nT; Wanliss & Showalter 2006, JGR 111,
A02202) — the source is reported. dDst/dt (nT/h) is the centred hourly difference, as at
ingest, and the one-sided difference at the ends of the files.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.sources.cdf import CDF_MAGIC, SourceError

DRIVERS = {
    # condition name -> (table column, unit, label)
    "imf_bz": ("imf_bz_gsm", "nT", "IMF Bz (GSM)"),
    "sw_pdyn": ("sw_pdyn", "nPa", "solar-wind dynamic pressure"),
    "sw_v": ("sw_v", "km/s", "solar-wind speed"),
    "sw_n": ("sw_n", "cm^-3", "solar-wind density"),
    "dst": ("dst", "nT", "Dst"),
    "ddst": ("ddst_dt", "nT/h", "dDst/dt"),
    "sym_h": ("sym_h", "nT", "SYM-H (hourly mean)"),
}
"""Driver conditions (names of :data:`atlas_core.atlas.conditioning.NEIGHBOUR_PARAMETERS`)."""
NOWCAST_DRIVERS = ("imf_bz", "sw_pdyn", "sw_v", "dst", "ddst", "sym_h")
"""Drivers a nowcast conditions on when both the files and the atlas have them."""
MAX_AGE_H = 3
"""A driver value older than this (hours before the nowcast time) is not used."""


def file_kind(path) -> str:
    """``"omni_hro"`` (a CDF), ``"dst_wdc"`` (Kyoto lines start with ``DST``) or ``"omni2"``."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:4] in CDF_MAGIC or head[:4] == b"\xcc\xcc\x00\x01":
        return "omni_hro"
    if head[:3] == b"DST":
        return "dst_wdc"
    return "omni2"


def read_drivers(paths) -> pd.DataFrame:
    """Hourly driver table (index: hour start, UTC) from OMNI HRO/OMNI2/Kyoto files, with the
    columns of :data:`DRIVERS` that the files give and ``attrs["sources"]`` (file -> kind) and
    ``attrs["dst_source"]``. A file that cannot be read raises :class:`SourceError` naming it.

    Parsed tables are kept (a few, read-only copies handed out) keyed by each file's path, size
    and modification time, so a dashboard or a server asking again does not parse again; a
    changed file is read anew."""
    key = []
    for p in paths:
        try:
            st = Path(p).stat()
        except OSError:
            raise SourceError(p, "file not found") from None
        key.append((str(Path(p).resolve()), st.st_size, st.st_mtime_ns))
    table = _read_drivers_cached(tuple(key))
    out = table.copy()
    out.attrs = {**table.attrs, "sources": {str(p): k for p, k in
                                            zip(paths, table.attrs["kinds"], strict=True)}}
    return out


@functools.lru_cache(maxsize=8)
def _read_drivers_cached(key: tuple) -> pd.DataFrame:
    table = _read_drivers([k[0] for k in key])
    table.attrs["kinds"] = list(table.attrs["sources"].values())
    return table


def _read_drivers(paths) -> pd.DataFrame:
    from atlas_core.sources.indices import read_dst_wdc, read_omni2
    from atlas_core.sources.omni_hro import read_omni_hro

    frames, kyoto, sources, ends = [], [], {}, []
    for p in paths:
        kind = file_kind(p)
        sources[str(p)] = kind
        if kind == "omni_hro":
            frame = read_omni_hro(p).resample("h").mean()
        else:
            frame = (read_dst_wdc if kind == "dst_wdc" else read_omni2)(p)
        (kyoto if kind == "dst_wdc" else frames).append(frame)
        valid = frame.index[frame.notna().any(axis=1)]
        if len(valid):
            ends.append(valid.max().floor("h"))
    if not frames and not kyoto:
        raise SourceError("(none)", "no driver file given")
    table = _combine(frames)
    dst_source = "none"
    if kyoto:
        k = pd.concat(kyoto).sort_index()
        k = k[~k.index.duplicated(keep="last")]["dst"]
        base = table["dst"] if table is not None and "dst" in table else None
        table = k.to_frame() if table is None else table.drop(columns="dst", errors="ignore").join(k, how="outer")
        if base is not None:
            table["dst"] = table["dst"].fillna(base.reindex(table.index))
        dst_source = "Kyoto WDC Dst"
    elif table is not None and "dst" in table and table["dst"].notna().any():
        dst_source = "OMNI2 Dst"
    elif table is not None and "sym_h" in table:
        table["dst"] = table["sym_h"]
        dst_source = "SYM-H hourly mean (no Dst file given)"
    grid = pd.date_range(table.index.min().floor("h"), table.index.max().floor("h"), freq="h",
                         name="time")
    table = table.groupby(table.index.floor("h")).mean().reindex(grid)
    if "dst" in table:
        dst = table["dst"]
        centred = (dst.shift(-1) - dst.shift(1)) / 2.0
        table["ddst_dt"] = centred.fillna(dst - dst.shift(1)).fillna(dst.shift(-1) - dst)
    keep = [c for c, _, _ in DRIVERS.values() if c in table]
    table = table[keep]
    table.attrs.update(sources=sources, dst_source=dst_source,
                       latest_common=min(ends) if ends else table.index.max())
    return table


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    if not frames:
        return None
    table = frames[0]
    for f in frames[1:]:
        table = table.combine_first(f)
    return table.sort_index()


def parse_time(text) -> np.datetime64:
    """An ISO time (``2013-06-01T06:00``, ``2013-06-01T06:00:00Z``) as UTC datetime64[ns]."""
    try:
        t = pd.Timestamp(str(text))
    except ValueError as err:
        raise ValueError(f"--time {text!r} is not an ISO 8601 time") from err
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return np.datetime64(t.to_datetime64(), "ns")


def drivers_at(table: pd.DataFrame, time=None, max_age_h: int = MAX_AGE_H) -> dict:
    """The driver values at ``time`` (default: the last hour every file covers): per name of
    :data:`DRIVERS`, ``{"value", "unit", "label", "hour", "age_h"}`` — the hour's value, or the
    latest value within ``max_age_h`` hours before it (``age_h`` says how old). Drivers
    without a value in that window are left out. ``"_time"`` holds the hour used."""
    if time is None:
        hour = table.attrs.get("latest_common", table.index.max())
    else:
        hour = pd.Timestamp(parse_time(time)).floor("h")
        lo, hi = table.index.min(), table.index.max()
        if hour < lo or hour > hi + pd.Timedelta(hours=max_age_h):
            raise ValueError(f"time {hour.isoformat()} is outside the driver files, which cover "
                             f"{lo.isoformat()} .. {hi.isoformat()}")
    window = table.loc[hour - pd.Timedelta(hours=max_age_h): hour]
    out: dict = {"_time": hour}
    for name, (col, unit, label) in DRIVERS.items():
        if col not in window:
            continue
        v = window[col].dropna()
        if v.empty:
            continue
        at = v.index[-1]
        out[name] = {"value": float(v.iloc[-1]), "unit": unit, "label": label,
                     "hour": at.isoformat(), "age_h": int((hour - at) / pd.Timedelta(hours=1))}
    return out


def drivers_along(table: pd.DataFrame, times) -> pd.DataFrame:
    """Driver values (columns of :data:`DRIVERS` that the table has) at each of ``times``: the
    value of the hour containing it (NaN when missing), as the ingest joins states."""
    from atlas_core.sources.indices import lookup_hourly

    return lookup_hourly(table, np.asarray(times, dtype="datetime64[ns]"))

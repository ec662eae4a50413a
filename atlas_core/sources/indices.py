"""Readers for geomagnetic indices and the solar wind: Kyoto WDC Dst and OMNI2 hourly text.

Both return a pandas DataFrame indexed by the start of each hour (``time``, UTC,
datetime64[ns]); missing values are NaN. Units: nT for Dst and the IMF, cm^-3, km/s, nPa.

- Kyoto WDC format (World Data Center for Geomagnetism, Kyoto): one 120-byte line per day,
  ``DST`` + yymm + ``*`` + dd, version, century, base value and 24 hourly values (I4) for
  hours 00-01 ... 23-24 UT, then the daily mean; ``9999`` marks a missing hour.
- OMNI2 hourly (NASA SPDF ``omni2_YYYY.dat``, King & Papitashvili 2005): 55 whitespace-separated
  words per hour; fills are runs of 9 (``999.9``, ``9999.``, ``99999``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.sources.cdf import SourceError

OMNI_COLUMNS = {
    # word (1-based) -> (column, fill value threshold)
    13: ("bx_gse", 999.9),
    14: ("by_gse", 999.9),
    15: ("bz_gse", 999.9),
    16: ("by_gsm", 999.9),
    17: ("imf_bz_gsm", 999.9),
    20: ("sigma_bx", 999.9),
    21: ("sigma_by", 999.9),
    22: ("sigma_bz", 999.9),
    23: ("sw_t_k", 9999999.0),
    24: ("sw_n", 999.9),
    25: ("sw_v", 9999.0),
    28: ("na_np", 9.999),
    29: ("sw_pdyn", 99.99),
    41: ("dst", 99999.0),
}
"""The OMNI2 words this project uses (SPDF's omni2.text): IMF Bx, By, Bz GSE, By and Bz GSM
(nT), the standard deviations of Bx, By, Bz over the hour (nT), proton temperature (K),
proton density (cm^-3), flow speed (km/s), He++/H+ density ratio, flow pressure
(nPa, ``1.67e-6 n V^2 (1 + 4 Na/Np)``), Dst (nT)."""

OMNI_UNITS = {"bx_gse": "nT", "by_gse": "nT", "bz_gse": "nT", "by_gsm": "nT",
              "imf_bz_gsm": "nT", "sigma_bx": "nT", "sigma_by": "nT", "sigma_bz": "nT",
              "sw_t_k": "K", "sw_n": "cm^-3", "sw_v": "km/s", "na_np": "1", "sw_pdyn": "nPa",
              "dst": "nT"}


def _lines(path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as err:
        raise SourceError(path, f"not a text file (byte {err.start} is not ASCII)") from err
    return text.splitlines()


def read_dst_wdc(path: str | Path, warnings: list | None = None) -> pd.DataFrame:
    """Kyoto WDC hourly Dst (nT). A malformed line raises :class:`SourceError` naming the file
    and line; ``9999`` hours are NaN (and counted in ``df.attrs["n_missing"]``)."""
    rows_t, rows_v = [], []
    n_missing = 0
    for lineno, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        if not line.startswith("DST") or len(line) < 116 or line[7] != "*":
            raise SourceError(path, f"line {lineno}: not a Kyoto WDC Dst line: {line[:40]!r}")
        try:
            century = line[14:16].strip() or "19"
            year = int(century + line[3:5])
            month, day = int(line[5:7]), int(line[8:10])
            base = int(line[16:20] or 0)
            values = np.array([int(line[20 + 4 * h: 24 + 4 * h]) for h in range(24)], float)
            start = np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "ns")
        except ValueError as err:
            raise SourceError(path, f"line {lineno}: cannot parse ({err})") from err
        missing = values == 9999
        n_missing += int(missing.sum())
        values = values + 100 * base
        values[missing] = np.nan
        rows_t.append(start + np.arange(24) * np.timedelta64(1, "h"))
        rows_v.append(values)
    if not rows_t:
        raise SourceError(path, "no Dst lines")
    df = pd.DataFrame({"dst": np.concatenate(rows_v)},
                      index=pd.DatetimeIndex(np.concatenate(rows_t), name="time"))
    df = df[~df.index.duplicated(keep="last")].sort_index()
    df.attrs.update(units={"dst": "nT"}, source=str(path), n_missing=n_missing)
    if warnings is not None and n_missing:
        warnings.append({"file": str(path), "error": f"{n_missing} hours marked 9999 (missing)"})
    return df


def read_omni2(path: str | Path) -> pd.DataFrame:
    """OMNI2 hourly text: the :data:`OMNI_COLUMNS` (``imf_bz_gsm``, ``sw_n``, ``sw_v``,
    ``sw_t_k``, ``sw_pdyn``, ``dst``, the IMF components and their standard deviations, ...)."""
    lines = [ln for ln in _lines(path) if ln.strip()]
    if not lines:
        raise SourceError(path, "empty OMNI2 file")
    try:
        table = np.array([ln.split() for ln in lines], dtype=float)
    except ValueError as err:
        bad = next((i for i, ln in enumerate(lines, 1) if len(ln.split()) < 41), None)
        where = f"line {bad}: " if bad else ""
        raise SourceError(path, f"{where}not OMNI2 hourly text ({err})") from err
    if table.ndim != 2 or table.shape[1] < 41:
        raise SourceError(path, f"not OMNI2 hourly text: {table.shape[-1]} words per line, "
                                f"expected 55")
    year, doy, hour = table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2].astype(int)
    if (doy < 1).any() or (doy > 366).any() or (hour < 0).any() or (hour > 23).any():
        raise SourceError(path, "not OMNI2 hourly text: day or hour out of range")
    times = ((year - 1970).astype("datetime64[Y]").astype("datetime64[ns]")
             + (doy - 1) * np.timedelta64(1, "D") + hour * np.timedelta64(1, "h"))
    cols = {}
    for word, (name, fill) in OMNI_COLUMNS.items():
        if word > table.shape[1]:
            continue
        v = table[:, word - 1].copy()
        v[np.abs(v) >= fill * 0.999] = np.nan
        cols[name] = v
    df = pd.DataFrame(cols, index=pd.DatetimeIndex(times, name="time"))
    df = df[~df.index.duplicated(keep="last")].sort_index()
    df.attrs.update(units=OMNI_UNITS, source=str(path))
    return df


def read_indices(dst=(), omni=(), errors: list | None = None) -> pd.DataFrame | None:
    """Hourly table joining Dst files (Kyoto WDC) and OMNI2 files.

    Dst comes from the Kyoto files where given, else from OMNI2's Dst column; the solar-wind
    columns from OMNI2. With ``errors`` a bad file is recorded and skipped."""
    frames_dst, frames_omni = [], []
    for reader, paths, out in ((read_dst_wdc, dst, frames_dst), (read_omni2, omni, frames_omni)):
        for p in paths or ():
            try:
                out.append(reader(p))
            except SourceError as err:
                if errors is None:
                    raise
                errors.append({"file": err.file, "error": err.problem})
    if not frames_dst and not frames_omni:
        return None
    table = None
    if frames_omni:
        table = pd.concat(frames_omni).sort_index()
        table = table[~table.index.duplicated(keep="last")]
    if frames_dst:
        kyoto = pd.concat(frames_dst).sort_index()
        kyoto = kyoto[~kyoto.index.duplicated(keep="last")]
        if table is None:
            table = kyoto
        else:
            table = table.drop(columns="dst", errors="ignore").join(kyoto, how="outer")
            if "dst" in frames_omni[0].columns:
                omni_dst = pd.concat(f["dst"] for f in frames_omni)
                omni_dst = omni_dst[~omni_dst.index.duplicated(keep="last")]
                table["dst"] = table["dst"].fillna(omni_dst.reindex(table.index))
    # a regular hourly grid so that neighbours in the table are neighbours in time
    grid = pd.date_range(table.index.min(), table.index.max(), freq="h", name="time")
    table = table.reindex(grid)
    if "dst" in table:
        # dDst/dt by a centred difference of the hourly index, nT/h
        table["ddst_dt"] = (table["dst"].shift(-1) - table["dst"].shift(1)) / 2.0
    return table


def lookup_hourly(table: pd.DataFrame | None, times: np.ndarray) -> pd.DataFrame:
    """Values of the hourly ``table`` for the hour that contains each of ``times``."""
    times = np.asarray(times, dtype="datetime64[ns]")
    if table is None or table.empty:
        return pd.DataFrame(index=range(times.size))
    hour = times.astype("datetime64[h]").astype("datetime64[ns]")
    pos = np.searchsorted(table.index.values, hour)
    pos_c = np.clip(pos, 0, len(table) - 1)
    hit = table.index.values[pos_c] == hour
    out = {}
    for col in table.columns:
        v = table[col].to_numpy(dtype=float)[pos_c]
        out[col] = np.where(hit, v, np.nan)
    return pd.DataFrame(out)

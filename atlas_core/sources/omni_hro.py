"""Reader for OMNI high-resolution (1-min or 5-min) CDF files from NASA SPDF / CDAWeb.

OMNI HRO (King & Papitashvili 2005, J. Geophys. Res. 110, A02104) gives the solar wind
time-shifted to the bow-shock nose plus the SYM-H and AE indices: ``Epoch`` (CDF_EPOCH),
``BZ_GSM`` (or only ``BZ_GSE``/``BY_GSE`` in some CDAWeb subsets), ``flow_speed`` km/s,
``proton_density`` cm^-3, ``Pressure`` (flow pressure, nPa), ``SYM_H`` nT, ``AE_INDEX`` nT, with
ISTP fill values (``9999.99``, ``99999.9``, ``99999``) and valid ranges in the variable
attributes.

:func:`read_omni_hro` returns a DataFrame on the file's own time grid (``time`` index, UTC) with
the columns this project names for the solar-wind drivers (``imf_bz_gsm``, ``sw_n``, ``sw_v``,
``sw_pdyn``) plus ``sym_h`` and ``ae``; missing values are NaN. When the file has IMF Bz only in
GSE, it is rotated to GSM with the file's By GSE and the dipole orientation of each time
(:func:`atlas_core.physics.coordinates.gse_to_gsm`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.sources.cdf import SourceError, open_cdf, read_values, variables

CDF_EPOCH_UNIX_MS = 62167219200000.0
"""CDF_EPOCH (ms since 0000-01-01) of 1970-01-01T00:00 UTC."""

HRO_COLUMNS = {
    "proton_density": "sw_n",
    "flow_speed": "sw_v",
    "Pressure": "sw_pdyn",
    "SYM_H": "sym_h",
    "AE_INDEX": "ae",
}
"""OMNI HRO variable -> column name (IMF Bz is handled apart: GSM, or rotated from GSE)."""

HRO_UNITS = {"imf_bz_gsm": "nT", "sw_n": "cm^-3", "sw_v": "km/s", "sw_pdyn": "nPa",
             "sym_h": "nT", "ae": "nT"}


def _epoch_times(cdf, path) -> np.ndarray:
    raw = np.atleast_1d(np.asarray(cdf.varget("Epoch"), dtype=np.float64))
    if raw.size == 0:
        raise SourceError(path, "Epoch holds no records")
    info = cdf.varinq("Epoch")
    kind = getattr(info, "Data_Type_Description", "")
    if kind == "CDF_TIME_TT2000":
        from atlas_core.sources.cdf import read_times

        return read_times(cdf, path, "Epoch")
    if kind != "CDF_EPOCH":
        raise SourceError(path, f"Epoch is {kind}, expected CDF_EPOCH or CDF_TIME_TT2000")
    bad = ~np.isfinite(raw) | (raw <= 0)
    ms = np.where(bad, CDF_EPOCH_UNIX_MS, raw) - CDF_EPOCH_UNIX_MS
    times = (np.round(ms).astype(np.int64) * 1_000_000).astype("datetime64[ns]")
    times[bad] = np.datetime64("NaT")
    return times


def read_omni_hro(path: str | Path) -> pd.DataFrame:
    """An OMNI HRO CDF as a DataFrame (see the module docstring). Raises :class:`SourceError`
    naming the file for a file that is not a CDF or lacks ``Epoch`` and every driver."""
    path = Path(path)
    cdf = open_cdf(path)
    names = set(variables(cdf))
    if "Epoch" not in names:
        raise SourceError(path, "no Epoch variable: not an OMNI HRO file")
    times = _epoch_times(cdf, path)
    cols: dict[str, np.ndarray] = {}
    for var, col in HRO_COLUMNS.items():
        if var in names:
            cols[col] = read_values(cdf, path, var)
    if "BZ_GSM" in names:
        cols["imf_bz_gsm"] = read_values(cdf, path, "BZ_GSM")
    elif {"BY_GSE", "BZ_GSE"} <= names:
        from atlas_core.physics.coordinates import gse_to_gsm

        by, bz = read_values(cdf, path, "BY_GSE"), read_values(cdf, path, "BZ_GSE")
        ok = np.isfinite(by) & np.isfinite(bz) & ~np.isnat(times)
        b_gsm = np.full(times.size, np.nan)
        if ok.any():
            # the X component is common to GSE and GSM, so it does not enter Bz GSM
            vec = np.stack([np.zeros(ok.sum()), by[ok], bz[ok]], axis=1)
            b_gsm[ok] = gse_to_gsm(vec, times[ok])[:, 2]
        cols["imf_bz_gsm"] = b_gsm
    if not cols:
        raise SourceError(path, "none of BZ_GSM/BZ_GSE, flow_speed, proton_density, Pressure, "
                                "SYM_H: not an OMNI HRO file")
    for col, values in cols.items():
        if values.shape != times.shape:
            raise SourceError(path, f"{col}: {values.shape[0]} records for {times.size} times")
    df = pd.DataFrame(cols, index=pd.DatetimeIndex(times, name="time"))
    df = df[~df.index.isna()]
    df = df[~df.index.duplicated(keep="last")].sort_index()
    df.attrs.update(units={c: HRO_UNITS[c] for c in df.columns}, source=str(path),
                    cadence="1min" if "1min" in path.name else "")
    return df

"""Small MMS-format CDF files written with cdflib, for tests of the readers and the ingest.

The files carry the real variable names, ISTP attributes (FILLVAL, VALIDMIN/MAX, UNITS) and an
MD5 checksum, like the SDC's L2 files.
"""

from __future__ import annotations

from pathlib import Path

import cdflib
import numpy as np
from cdflib.cdfwrite import CDF

from atlas_core.sources.layout import sdc_relpath

TT2000, REAL4, UINT4 = 33, 21, 14
FILL = -1.0e31


def tt2000(times) -> np.ndarray:
    t = np.asarray(times, dtype="datetime64[ns]")
    return np.asarray(cdflib.cdfepoch.timestamp_to_tt2000(t.astype(np.int64) / 1e9), np.int64)


def _var(cdf, name, dtype, data, dims=(), atts=None):
    spec = {"Variable": name, "Data_Type": dtype, "Num_Elements": 1, "Rec_Vary": True,
            "Dim_Sizes": list(dims)}
    a = dict(atts or {})
    if dtype == REAL4:
        a.setdefault("FILLVAL", np.float32(FILL))
    cdf.write_var(spec, var_attrs=a, var_data=data)


def write_fgm(path, times, b_gsm, *, flag=None, t_state=None, r_gsm_km=None, rate="srvy",
              probe="mms1", omit=(), logical_source=None, checksum=True) -> Path:
    """An FGM L2 file: b_gsm [N,4] (|B| appended), flag, Epoch_state, r_gsm/r_gse [M,4] km."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    b = np.asarray(b_gsm, dtype=np.float64)
    b4 = np.column_stack([b, np.linalg.norm(b, axis=1)]).astype(np.float32)
    b4[~np.isfinite(b).all(axis=1)] = np.float32(FILL)
    n = len(times)
    if t_state is None:
        t_state = np.arange(np.datetime64(times[0], "m") - np.timedelta64(1, "m"),
                            np.datetime64(times[-1], "m") + np.timedelta64(2, "m"),
                            np.timedelta64(30, "s"))
    if r_gsm_km is None:
        r_gsm_km = np.tile([60000.0, 10000.0, 5000.0], (len(t_state), 1))
    r = np.asarray(r_gsm_km, dtype=np.float64)
    r4 = np.column_stack([r, np.linalg.norm(r, axis=1)]).astype(np.float32)
    pre = f"{probe}_fgm"
    cdf = CDF(str(path), cdf_spec={"Checksum": checksum}, delete=True)
    cdf.write_globalattrs({"Logical_source": {0: logical_source or f"{probe}_fgm_{rate}_l2"}})
    _var(cdf, "Epoch", TT2000, tt2000(times))
    if "b" not in omit:
        _var(cdf, f"{pre}_b_gsm_{rate}_l2", REAL4, b4, [4],
             {"UNITS": "nT", "VALIDMIN": np.float32(-20000), "VALIDMAX": np.float32(20000),
              "DEPEND_0": "Epoch"})
    if "flag" not in omit:
        _var(cdf, f"{pre}_flag_{rate}_l2", UINT4,
             np.zeros(n, np.uint32) if flag is None else np.asarray(flag, np.uint32))
    _var(cdf, "Epoch_state", TT2000, tt2000(t_state))
    if "r" not in omit:
        _var(cdf, f"{pre}_r_gsm_{rate}_l2", REAL4, r4, [4], {"UNITS": "km"})
        _var(cdf, f"{pre}_r_gse_{rate}_l2", REAL4, r4, [4], {"UNITS": "km"})
    cdf.close()
    return path


def write_fpi(path, times, n, v_gse, t_para, t_perp, *, flags=None, rate="fast", probe="mms1",
              omit=(), logical_source=None, checksum=True) -> Path:
    """An FPI DIS moments L2 file with density, bulk velocity (GSE), temperatures and flags."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre = f"{probe}_dis"

    def f32(x):
        x = np.asarray(x, dtype=np.float64).copy()
        x[~np.isfinite(x)] = FILL
        return x.astype(np.float32)

    cdf = CDF(str(path), cdf_spec={"Checksum": checksum}, delete=True)
    cdf.write_globalattrs(
        {"Logical_source": {0: logical_source or f"{probe}_fpi_{rate}_l2_dis-moms"}})
    _var(cdf, "Epoch", TT2000, tt2000(times))
    if "n" not in omit:
        _var(cdf, f"{pre}_numberdensity_{rate}", REAL4, f32(n),
             atts={"UNITS": "cm^-3", "VALIDMIN": np.float32(0), "VALIDMAX": np.float32(1e5)})
    _var(cdf, f"{pre}_bulkv_gse_{rate}", REAL4, f32(v_gse), [3], {"UNITS": "km/s"})
    _var(cdf, f"{pre}_temppara_{rate}", REAL4, f32(t_para), atts={"UNITS": "eV"})
    _var(cdf, f"{pre}_tempperp_{rate}", REAL4, f32(t_perp), atts={"UNITS": "eV"})
    _var(cdf, f"{pre}_errorflags_{rate}", UINT4,
         np.zeros(len(times), np.uint32) if flags is None else np.asarray(flags, np.uint32))
    cdf.close()
    return path


def fgm_name(day: str, version="4.18.0", rate="srvy") -> str:
    d = day.replace("-", "")
    return f"mms1_fgm_{rate}_l2_{d}_v{version}.cdf"


def fpi_name(start: str, version="3.4.0", rate="fast") -> str:
    s = start.replace("-", "").replace("T", "").replace(":", "")
    s = (s + "000000")[:14]
    return f"mms1_fpi_{rate}_l2_dis-moms_{s}_v{version}.cdf"


def plasma_day(root: Path, day: str, *, hours=(10, 12), fgm_cadence_s=1.0, n=5.0,
               v=(-400.0, 0.0, 0.0), t_ev=100.0, b=(3.0, 4.0, 12.0), version="3.4.0"):
    """One day of constant plasma in an SDC-layout archive: FGM for the whole day, FPI 4.5 s
    samples over ``hours`` (one 2-hour file). Returns the two paths."""
    d0 = np.datetime64(day, "ns")
    ft = d0 + (np.arange(0, 86400, fgm_cadence_s) * 1e9).astype("timedelta64[ns]")
    fgm = write_fgm(root / sdc_relpath(fgm_name(day)), ft, np.tile(b, (ft.size, 1)),
                    t_state=np.arange(d0 - np.timedelta64(60, "s"), d0 + np.timedelta64(1, "D")
                                      + np.timedelta64(60, "s"), np.timedelta64(30, "s")))
    h0, h1 = hours
    pt = d0 + (np.arange(h0 * 3600, h1 * 3600, 4.5) * 1e9).astype("timedelta64[ns]")
    start = str(d0.astype("datetime64[s]") + np.timedelta64(h0 * 3600, "s"))
    m = pt.size
    fpi = write_fpi(root / sdc_relpath(fpi_name(start, version)), pt, np.full(m, n),
                    np.tile(v, (m, 1)), np.full(m, t_ev), np.full(m, t_ev))
    return fgm, fpi

"""Summaries of data files (``atlas inspect``): product, time span, records, valid fraction and
medians of the valid values, for MMS CDFs (FGM, FPI DIS, MEC), Kyoto Dst and OMNI2 files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from atlas_core.physics.constants import R_E_KM
from atlas_core.sources.cdf import CDF_MAGIC, SourceError, open_cdf
from atlas_core.sources.indices import read_dst_wdc, read_omni2
from atlas_core.sources.mms import READERS, _product_of


def _iso(t) -> str | None:
    if t is None or np.isnat(t):
        return None
    return str(np.datetime64(t, "ms")) + "Z"


def _median(x) -> float | None:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return None if x.size == 0 else round(float(np.median(x)), 6)


def _span(times) -> tuple[str | None, str | None]:
    times = np.asarray(times, dtype="datetime64[ns]")
    times = times[~np.isnat(times)]
    if times.size == 0:
        return None, None
    return _iso(times.min()), _iso(times.max())


def _cdf_summary(path: Path) -> dict:
    from atlas_core.sources.missions import summarise_file

    other = summarise_file(path)  # Cluster and THEMIS files (missions engineer, issue 13)
    if other is not None:
        return other
    probe, inst, rate, desc = _product_of(open_cdf(path), path)
    product = {"fgm": "fgm", "fpi": "fpi-dis", "mec": "mec"}[inst]
    if product == "fpi-dis" and desc != "dis-moms":
        raise SourceError(path, f"unsupported FPI product {desc!r} (only dis-moms is read)")
    ds = READERS[product](path)
    start, end = _span(ds["time"].values)
    out = {"file": str(path), "product": product, "rate": rate, "probe": probe,
           "start": start, "end": end, "records": int(ds.attrs["records"])}
    med: dict = {}
    if product == "fgm":
        valid = np.isfinite(ds["b_total"].values)
        med["B"] = _median(ds["b_total"].values)
        r = ds["r_gsm"].values / R_E_KM
    elif product == "fpi-dis":
        v = ds["v_gse"].values
        speed = np.linalg.norm(v, axis=1)
        valid = np.isfinite(ds["n"].values) & np.isfinite(speed) & np.isfinite(ds["t"].values)
        med.update(n=_median(ds["n"]), V=_median(speed), T=_median(ds["t"]))
        r = None
    else:
        r = ds["r_gsm"].values / R_E_KM
        valid = np.isfinite(r).all(axis=1)
    if r is not None and len(r):
        med["r_gsm"] = [_median(r[:, j]) for j in range(3)]
    out["valid_fraction"] = round(float(valid.sum()) / max(out["records"], 1), 6)
    out["medians"] = med
    return out


def _text_summary(path: Path, first: str) -> dict:
    if first.startswith("DST"):
        df = read_dst_wdc(path)
        product, med = "dst", {"dst": _median(df["dst"])}
        valid = df["dst"].notna()
    else:
        df = read_omni2(path)
        product = "omni2"
        med = {"dst": _median(df["dst"]), "n": _median(df["sw_n"]), "V": _median(df["sw_v"]),
               "B": None}
        med = {k: v for k, v in med.items() if v is not None}
        valid = df[["dst", "sw_n", "sw_v"]].notna().all(axis=1)
    start, end = _span(df.index.values)
    return {"file": str(path), "product": product, "start": start, "end": end,
            "records": int(len(df)), "valid_fraction": round(float(valid.mean()), 6),
            "medians": med}


def inspect_file(path: str | Path) -> dict:
    """A summary dict of one file (keys ``file, product, start, end, records, valid_fraction,
    medians``), or ``{"file", "error"}`` when the file cannot be read whole."""
    path = Path(path)
    try:
        if not path.is_file():
            raise SourceError(path, "file not found")
        with path.open("rb") as fh:
            head = fh.read(200)
        if head[:4] in CDF_MAGIC or path.suffix.lower() == ".cdf":
            return _cdf_summary(path)
        first = head.decode("ascii", errors="replace").lstrip()
        if first.startswith("DST") or (first[:4].isdigit() and len(first.split()) > 3):
            return _text_summary(path, first)
        raise SourceError(path, "unknown file type (not a CDF, Kyoto Dst or OMNI2 file)")
    except SourceError as err:
        return {"file": str(path), "error": err.problem}
    except Exception as err:  # never stop a listing on one odd file
        return {"file": str(path), "error": f"{type(err).__name__}: {err}"}

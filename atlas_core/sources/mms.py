"""Readers for MMS L2 products: FGM (survey or burst), FPI DIS moments (fast or burst), MEC.

Each reader takes one CDF file and returns a tidy :class:`xarray.Dataset` with UTC times,
explicit units (``units`` attributes) and frames in the names (``b_gsm``, ``r_gse``), bad
samples (fill values, values outside the valid range, quality flags) set to NaN, duplicate
records removed and records in time order. :func:`read_many` reads several files of one
product and joins them. Any problem raises :class:`~atlas_core.sources.cdf.SourceError` naming
the file.

Variable names are those of the MMS SDC L2 files (FGM: Russell et al. 2016; FPI: Pollock et
al. 2016; MEC: the MMS ephemeris and coordinates product); ``brst`` replaces ``srvy``/``fast``
in burst files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from atlas_core.sources.cdf import (
    SourceError,
    global_attr,
    open_cdf,
    read_centred_times,
    read_flags,
    read_values,
    require,
    variables,
)

COMPONENTS = ["x", "y", "z"]

FPI_BAD_FLAGS = 0x1
"""FPI DIS ``errorflags`` bits that invalidate a sample. Bit 0 is the FPI team's manual flag
(data known to be bad); the other bits (high Mach flow, cold or hot plasma components,
penetrating radiation, on-board field used, ...) describe conditions under which the moments
are still usable for a state survey, as in the FPI Data Products Guide."""

FGM_BAD_FLAGS = 0xFFFFFFFF
"""FGM ``flag`` bits that invalidate a sample: any non-zero flag (DESIGN.md §3)."""

_SOURCE_RE = re.compile(r"^(mms[1-4])_(fgm|fpi|mec)_(srvy|fast|brst|slow)_(l2)(?:_(.+))?$")


def _product_of(cdf, path) -> tuple[str, str, str, str | None]:
    """``(probe, instrument, rate, descriptor)`` from the file's ``Logical_source`` (or, for
    files without it, its name)."""
    source = global_attr(cdf, "Logical_source", path)
    if source is None:
        source = "_".join(Path(path).name.split("_")[:5])
        source = re.sub(r"_\d{8,14}$", "", source)
    match = _SOURCE_RE.match(source.strip().lower())
    if not match:
        raise SourceError(path, f"not an MMS L2 product (Logical_source {source!r})")
    probe, inst, rate, _level, desc = match.groups()
    return probe, inst, rate, desc


def _version(cdf, path) -> str:
    """The file's version: ``vX.Y.Z`` of its SDC name, else its ``Data_version`` attribute."""
    from atlas_core.sources.layout import parse_name

    fn = parse_name(path)
    if fn is not None:
        return ".".join(str(v) for v in fn.version)
    return (global_attr(cdf, "Data_version", path) or "").strip().lstrip("v")


def _expect(path, found: tuple, instrument: str, descriptor: str | None = None):
    probe, inst, rate, desc = found
    if inst != instrument or (descriptor is not None and desc != descriptor):
        want = instrument + (f" {descriptor}" if descriptor else "")
        got = inst + (f" {desc}" if desc else "")
        raise SourceError(path, f"wrong product: file holds MMS {got} {rate}, expected {want}")
    return probe, rate


def _order(times: np.ndarray) -> tuple[np.ndarray, dict]:
    """Indices that keep valid times, sorted, without duplicates; and what was removed."""
    valid = np.flatnonzero(~np.isnat(times))
    unsorted = int(np.count_nonzero(np.diff(times[valid]) < np.timedelta64(0, "ns")))
    idx = valid[np.argsort(times[valid], kind="stable")] if unsorted else valid
    t = times[idx]
    dup = np.zeros(t.size, dtype=bool)
    if t.size > 1:
        dup[1:] = t[1:] == t[:-1]
    stats = {
        "n_bad_time": int(times.size - valid.size),
        "n_out_of_order": unsorted,
        "n_duplicates": int(dup.sum()),
    }
    return idx[~dup], stats


def _range(times: np.ndarray, time_range) -> slice:
    """Record slice of sorted-ish ``times`` inside ``[start, stop)`` (all when None)."""
    if time_range is None or times.size == 0:
        return slice(0, times.size)
    start, stop = (np.datetime64(t, "ns") for t in time_range)
    if np.all(times[1:] >= times[:-1]):
        return slice(int(np.searchsorted(times, start)), int(np.searchsorted(times, stop)))
    return slice(0, times.size)


def _vec(values: np.ndarray, path, name: str, width: int) -> np.ndarray:
    values = np.atleast_2d(values) if values.size else values.reshape(0, width)
    if values.ndim != 2 or values.shape[1] < 3:
        raise SourceError(path, f"{name} has shape {values.shape}, expected (N, {width})")
    return values


def read_fgm(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One MMS FGM L2 file (survey or burst).

    Returns a Dataset with ``b_gsm`` (time, component) nT, ``b_total`` (time) nT, ``flag``,
    and the spacecraft position ``r_gsm``, ``r_gse`` (time_state, component) km from the
    file's ``Epoch_state`` ephemeris. Samples whose flag is non-zero are NaN.
    ``time_range``: optional ``(start, stop)`` to read only that part of the file."""
    cdf = open_cdf(path, verify_checksum)
    probe, rate = _expect(path, _product_of(cdf, path), "fgm")
    pre = f"{probe}_fgm"
    b_name, flag_name = f"{pre}_b_gsm_{rate}_l2", f"{pre}_flag_{rate}_l2"
    r_gsm_name, r_gse_name = f"{pre}_r_gsm_{rate}_l2", f"{pre}_r_gse_{rate}_l2"
    require(cdf, path, ["Epoch", b_name, flag_name, "Epoch_state", r_gsm_name])

    times_all, offset_s = read_centred_times(cdf, path, "Epoch")
    rec = _range(times_all, time_range)
    times = times_all[rec]
    b = _vec(read_values(cdf, path, b_name, rec.start, rec.stop), path, b_name, 4)
    flag = read_flags(cdf, path, flag_name, rec.start, rec.stop)
    if b.shape[0] != times.size or flag.size != times.size:
        raise SourceError(path, f"{b_name}/{flag_name} and Epoch have different lengths")
    idx, stats = _order(times)
    times, b, flag = times[idx], b[idx], flag[idx]
    bad = (flag & np.uint32(FGM_BAD_FLAGS)) != 0
    b = b.copy()
    b[bad] = np.nan
    total = b[:, 3] if b.shape[1] > 3 else np.linalg.norm(b[:, :3], axis=1)
    total = np.where(np.isfinite(b[:, :3]).all(axis=1), total, np.nan)

    t_state_all, _ = read_centred_times(cdf, path, "Epoch_state")
    r_gsm = _vec(read_values(cdf, path, r_gsm_name), path, r_gsm_name, 4)[:, :3]
    r_gse = None
    if r_gse_name in set(variables(cdf)):
        r_gse = _vec(read_values(cdf, path, r_gse_name), path, r_gse_name, 4)[:, :3]
    if r_gsm.shape[0] != t_state_all.size:
        raise SourceError(path, f"{r_gsm_name} and Epoch_state have different lengths")
    sidx, _ = _order(t_state_all)
    t_state = t_state_all[sidx]
    r_gsm = r_gsm[sidx]
    if r_gse is None:
        from atlas_core.physics.coordinates import gsm_to_gse

        r_gse = gsm_to_gse(r_gsm, t_state) if t_state.size else r_gsm.copy()
    else:
        r_gse = r_gse[sidx]

    ds = xr.Dataset(
        {
            "b_gsm": (("time", "component"), b[:, :3], {"units": "nT", "frame": "GSM"}),
            "b_total": ("time", total, {"units": "nT", "long_name": "|B|"}),
            "flag": ("time", flag, {"long_name": "FGM quality flag (non-zero = bad)"}),
            "r_gsm": (("time_state", "component"), r_gsm, {"units": "km", "frame": "GSM"}),
            "r_gse": (("time_state", "component"), r_gse, {"units": "km", "frame": "GSE"}),
        },
        coords={"time": times, "time_state": t_state, "component": COMPONENTS},
        attrs={"product": "fgm", "probe": probe, "rate": rate, "file": str(path),
               "version": _version(cdf, path), "records": int(times_all.size),
               "time_offset_s": offset_s, "n_flagged": int(bad.sum()), **stats},
    )
    return ds


def read_fpi_dis(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One MMS FPI DIS (ion) moments L2 file (fast survey or burst).

    Returns ``n`` cm^-3, ``v_gse`` (time, component) km/s, ``t_para``, ``t_perp`` and
    ``t = (t_para + 2 t_perp) / 3`` eV, and ``errorflags``. Samples with a bad flag
    (:data:`FPI_BAD_FLAGS`) are NaN."""
    cdf = open_cdf(path, verify_checksum)
    probe, rate = _expect(path, _product_of(cdf, path), "fpi", "dis-moms")
    pre = f"{probe}_dis"
    names = {
        "n": f"{pre}_numberdensity_{rate}",
        "v": f"{pre}_bulkv_gse_{rate}",
        "tpara": f"{pre}_temppara_{rate}",
        "tperp": f"{pre}_tempperp_{rate}",
        "flags": f"{pre}_errorflags_{rate}",
    }
    require(cdf, path, ["Epoch", *names.values()])
    # FPI tags each moment at the start of its accumulation: centre it (DELTA_PLUS_VAR)
    times_all, offset_s = read_centred_times(cdf, path, "Epoch")
    rec = _range(times_all, time_range)
    times = times_all[rec]
    n = read_values(cdf, path, names["n"], rec.start, rec.stop)
    v = _vec(read_values(cdf, path, names["v"], rec.start, rec.stop), path, names["v"], 3)
    tpara = read_values(cdf, path, names["tpara"], rec.start, rec.stop)
    tperp = read_values(cdf, path, names["tperp"], rec.start, rec.stop)
    flags = read_flags(cdf, path, names["flags"], rec.start, rec.stop)
    for key, arr in (("n", n), ("v", v), ("tpara", tpara), ("tperp", tperp), ("flags", flags)):
        if arr.shape[0] != times.size:
            raise SourceError(path, f"{names[key]} and Epoch have different lengths")
    idx, stats = _order(times)
    times, n, v, tpara, tperp, flags = (a[idx] for a in (times, n, v, tpara, tperp, flags))
    bad = (flags & np.uint32(FPI_BAD_FLAGS)) != 0
    n, v, tpara, tperp = (np.where(bad if a.ndim == 1 else bad[:, None], np.nan, a)
                          for a in (n, v, tpara, tperp))
    return xr.Dataset(
        {
            "n": ("time", n, {"units": "cm^-3", "long_name": "ion number density"}),
            "v_gse": (("time", "component"), v[:, :3], {"units": "km/s", "frame": "GSE"}),
            "t_para": ("time", tpara, {"units": "eV"}),
            "t_perp": ("time", tperp, {"units": "eV"}),
            "t": ("time", (tpara + 2.0 * tperp) / 3.0,
                  {"units": "eV", "long_name": "ion temperature (T_para + 2 T_perp) / 3"}),
            "errorflags": ("time", flags),
        },
        coords={"time": times, "component": COMPONENTS},
        attrs={"product": "fpi-dis", "probe": probe, "rate": rate, "file": str(path),
               "version": _version(cdf, path), "records": int(times_all.size),
               "time_offset_s": offset_s, "n_flagged": int(bad.sum()), **stats},
    )


def read_mec(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One MMS MEC L2 ephemeris file: ``r_gsm``, ``r_gse`` (time, component) km."""
    cdf = open_cdf(path, verify_checksum)
    probe, rate = _expect(path, _product_of(cdf, path), "mec")
    names = [f"{probe}_mec_r_gsm", f"{probe}_mec_r_gse"]
    require(cdf, path, ["Epoch", *names])
    times_all, offset_s = read_centred_times(cdf, path, "Epoch")
    rec = _range(times_all, time_range)
    r_gsm = _vec(read_values(cdf, path, names[0], rec.start, rec.stop), path, names[0], 3)
    r_gse = _vec(read_values(cdf, path, names[1], rec.start, rec.stop), path, names[1], 3)
    times = times_all[rec]
    idx, stats = _order(times)
    return xr.Dataset(
        {
            "r_gsm": (("time", "component"), r_gsm[idx, :3], {"units": "km", "frame": "GSM"}),
            "r_gse": (("time", "component"), r_gse[idx, :3], {"units": "km", "frame": "GSE"}),
        },
        coords={"time": times[idx], "component": COMPONENTS},
        attrs={"product": "mec", "probe": probe, "rate": rate, "file": str(path),
               "version": _version(cdf, path), "records": int(times_all.size),
               "time_offset_s": offset_s, **stats},
    )


READERS = {"fgm": read_fgm, "fpi-dis": read_fpi_dis, "mec": read_mec}


FILE_KEYS = ("file", "version", "records", "time_offset_s", "n_flagged", "n_bad_time",
             "n_out_of_order", "n_duplicates")
"""What a reader records about its file (``Dataset.attrs``) and :func:`combine` keeps for
every joined file."""


def file_record(ds: xr.Dataset) -> dict:
    """The provenance of one file read by a reader: path, version, records, ...
    (the :data:`FILE_KEYS` present in its attributes)."""
    return {k: ds.attrs[k] for k in FILE_KEYS if k in ds.attrs}


def _join(datasets: list[xr.Dataset]) -> xr.Dataset:
    """The datasets' variables joined along each time dimension (``time``, ``time_state``):
    concatenated, in time order, the first of equal times kept (a stable sort, so the earlier
    file wins). Plain numpy on the arrays, one Dataset built at the end (xarray's concat,
    sortby and merge cost a tenth of an ingest)."""
    first = datasets[0]
    variables, coords = {}, {}
    for dim in [d for d in ("time", "time_state") if d in first.dims]:
        t = np.concatenate([d[dim].values for d in datasets])
        order = np.argsort(t, kind="stable")
        keep = np.ones(t.size, dtype=bool)
        keep[1:] = t[order][1:] != t[order][:-1]
        idx = order[keep]
        coords[dim] = t[idx]
        for name, var in first.data_vars.items():
            if var.dims and var.dims[0] == dim:
                data = np.concatenate([d[name].values for d in datasets])[idx]
                variables[name] = (var.dims, data, var.attrs)
    for name, coord in first.coords.items():
        if name not in coords:
            coords[name] = coord
    return xr.Dataset(variables, coords=coords)


def combine(datasets: list[xr.Dataset]) -> xr.Dataset | None:
    """Join datasets of one product along their time dimensions, in time order, without
    duplicate times (overlapping files).

    The result's attributes describe the whole join: ``files``, one :func:`file_record` per
    file (path, version, record count, ...), ``file`` the list of paths, ``records`` and the
    other counts summed over the files, ``version`` the distinct versions joined."""
    datasets = [d for d in datasets if d is not None]
    if not datasets:
        return None
    records = [r for d in datasets for r in d.attrs.get("files", [file_record(d)])]
    if len(datasets) == 1:
        out = datasets[0].copy(deep=False)
    else:
        out = _join(datasets)
    attrs = {k: v for k, v in datasets[0].attrs.items() if k not in FILE_KEYS and k != "files"}
    attrs["files"] = records
    attrs["file"] = [r.get("file") for r in records]
    attrs["version"] = sorted({str(r.get("version", "")) for r in records})
    for key in ("records", "n_flagged", "n_bad_time", "n_out_of_order", "n_duplicates"):
        attrs[key] = int(sum(int(r.get(key, 0)) for r in records))
    out.attrs = attrs
    return out


def read_many(
    product: str, paths: Iterable[str | Path], time_range=None, errors: list | None = None,
    verify_checksum: bool = True,
) -> xr.Dataset | None:
    """Read several files of one product (``"fgm"``, ``"fpi-dis"``, ``"mec"``) and join them
    (:func:`combine`: the result's ``files`` attribute lists every file, its version and its
    record count).

    With ``errors`` (a list), a file that fails is recorded as ``{"file", "error"}`` there and
    skipped; without it the first failure raises."""
    return read_and_join(READERS[product], paths, time_range, errors, verify_checksum)


def read_and_join(reader, paths: Iterable[str | Path], time_range=None,
                  errors: list | None = None, verify_checksum: bool = True) -> xr.Dataset | None:
    """Read every file of ``paths`` with ``reader(path, time_range=, verify_checksum=)`` (any
    mission's reader returning this module's Dataset shape) and join them (:func:`combine`).
    With ``errors`` (a list), a file that fails is recorded there as ``{"file", "error"}`` and
    skipped; without it the first failure raises."""
    out = []
    for path in paths:
        try:
            ds = reader(path, time_range=time_range, verify_checksum=verify_checksum)
        except SourceError as err:
            if errors is None:
                raise
            errors.append({"file": err.file, "error": err.problem})
            continue
        if ds.sizes.get("time", 0):
            out.append(ds)
    return combine(out)

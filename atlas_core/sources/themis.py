"""Readers for THEMIS products as CDAWeb serves them: L2 FGM (``thX_l2_fgm``, the spin-fit
``thX_fgs_gsm`` field), L2 ion moments (``thX_l2_mom`` on-board moments ``thX_peim_*``, or
``thX_l2_esa`` ground moments ``thX_peif_*``), and the state file (``thX_l1_state`` /
``thX_l2_state``: ``thX_pos_gse``/``thX_pos_gsm`` km), X in a..e.

Each reader takes one CDF file and returns a tidy :class:`xarray.Dataset` in the shape of the
MMS readers (:mod:`atlas_core.sources.mms`): UTC times, ``units`` attributes, frames in the
names, bad samples NaN, duplicate records removed, time order. Problems raise
:class:`~atlas_core.sources.cdf.SourceError` naming the file.

The variable names and attributes are SPDF's (CDAWeb master CDFs for THA_L2_FGM, THA_L2_MOM,
THA_L2_ESA as listed by CDAWeb's HAPI server, and the real ``tha_l1_state_20100225.cdf`` in
``../shared/real-data/themis``):

- **Times** are ``thX_<dtype>_time``: UTC seconds since 1970-01-01 without leap seconds
  (``VAR_NOTES`` "Unleaped seconds"), FILLVAL NaN. The data variables' ``DEPEND_0``
  (``thX_<dtype>_epoch``) is a *virtual* CDAWeb variable with no records (``VIRTUAL`` TRUE,
  ``FUNCT`` comp_themis_epoch of ``thX_<dtype>_epoch0`` + ``thX_<dtype>_time``), so the
  reader follows ``DEPEND_TIME`` (or the naming convention) to the real time variable.
- **Units** come from the variable's ``UNITS`` (CDAWeb writes e.g. "nT GSM", "cm^-3 (All
  Qs)": the first word is the unit) or, in the state files, from the ``UNIT_PTR`` variable.
- **Fill values**: FILLVAL (NaN for moments and positions, -1e30 for FGM), VALIDMIN/VALIDMAX.
- **Quality**: ``thX_fgm_fgs_quality`` (0 good; 1 boom not deployed, 2 in shadow, 3
  uncorrected shadow, 4 noisy, 8 Bz estimated): any non-zero drops the sample.
  ``thX_peif_data_quality`` bits (SPEDAS ``thm_esa_quality_flags``): 0 pre-EFI-boom (zeroed
  spacecraft potential), 1 counter overflow, 2 solar-wind mode (disabled), 3 low flow
  (reduced mode), 4 Earth shadow, 5 lunar shadow, 6 manoeuvre; bits 1, 4, 5 and 6 drop the
  sample (:data:`ESA_BAD_BITS`), the others describe conditions under which moments are still
  usable for a state survey. ``thX_peim_data_quality``: the file says "0: good data,
  non-zero: data may not be suitable" and its bits are not documented here, so any non-zero
  value drops the sample.
- **Temperature**: MOM ``thX_peim_t3_mag`` is (Tperp1, Tperp2, Tpar) in eV, field-aligned;
  ESA ``thX_peif_avgtemp`` is the average (trace / 3) in eV. T = (T_par + 2 T_perp) / 3 is the
  same quantity in both, and the same as MMS FPI's.
- **Frames**: the field and the velocity are read in GSM (``thX_fgs_gsm``,
  ``thX_peim_velocity_gsm``); the velocity is rotated to GSE for the state table's V_x (GSE x =
  GSM x, so V_x and |V| do not depend on the rotation). Positions: the state file's GSE,
  rotated to GSM with the project's transform, so that every mission's positions come from one
  dipole model (the file's own GSM agrees to a few km: tests/missions/test_themis_real.py).

Acknowledge NASA contract NAS5-02099 and V. Angelopoulos for the THEMIS mission, and the FGM
(Auster et al. 2008) and ESA (McFadden et al. 2008) teams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from atlas_core.physics.coordinates import gse_to_gsm, gsm_to_gse
from atlas_core.sources.cdf import (
    SourceError,
    global_attr,
    open_cdf,
    read_values,
    time_centre_offset_ns,
    var_attributes,
    variables,
)
from atlas_core.sources.cluster import kept_records

MISSION = "THEMIS"
PROBES = ("tha", "thb", "thc", "thd", "the")
COMPONENTS = ["x", "y", "z"]

NAME_RE = re.compile(
    r"^(?P<probe>th[a-e])_(?P<level>l1|l2)_(?P<dtype>fgm|mom|esa|state)_(?P<day>\d{8})"
    r"(?:_v(?P<version>\d+))?\.cdf$")
"""CDAWeb / THEMIS SOC daily file names, e.g. ``tha_l2_fgm_20080301_v01.cdf`` (the version
suffix may be missing, as in some mirrored copies: ``tha_l1_state_20100225.cdf``)."""

PRODUCTS = {"fgm": "fgm", "mom": "mom", "esa": "esa", "state": "state"}
ROLE = {"fgm": "field", "mom": "plasma", "esa": "plasma", "state": "ephemeris"}
"""Product -> its role in a state window."""
PLASMA_PREFERENCE = ("mom", "esa")
"""Where a day has both: on-board moments (spin resolution, continuous), else ESA ground
moments (full-mode cadence is a few minutes in slow survey, too sparse for 10 s bins)."""

ESA_BAD_BITS = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6)
"""ESA data_quality bits that drop a sample: counter overflow, Earth and lunar shadow,
manoeuvre."""
MOM_BAD_BITS = 0xFFFFFFFF
"""MOM data_quality: any non-zero value ("data may not be suitable")."""
FGM_BAD = 0xFFFFFFFF
"""FGM fgs quality: any non-zero value."""


def parse_name(path: str | Path) -> dict | None:
    """``{"probe", "level", "dtype", "day", "version"}`` of a THEMIS daily file name, or None."""
    m = NAME_RE.match(Path(path).name.lower())
    if not m:
        return None
    d = m.groupdict()
    try:
        day = np.datetime64(f"{d['day'][:4]}-{d['day'][4:6]}-{d['day'][6:]}", "D")
    except ValueError:
        return None
    return {"probe": d["probe"], "level": d["level"], "dtype": d["dtype"], "day": day,
            "version": int(d["version"] or 0)}


def _product_of(cdf, path) -> tuple[str, str]:
    """``(probe, dtype)`` from ``Logical_source`` (``tha_l2_fgm``), else from the name."""
    source = (global_attr(cdf, "Logical_source") or "").strip().lower()
    m = re.match(r"^(th[a-e])_(l1|l2)_(fgm|mom|esa|state)$", source)
    if m:
        return m.group(1), m.group(3)
    info = parse_name(path)
    if info is None:
        raise SourceError(path, f"not a THEMIS L2 fgm/mom/esa or state file "
                                f"(Logical_source {source!r})")
    return info["probe"], info["dtype"]


def _expect(cdf, path, dtype: str) -> str:
    probe, found = _product_of(cdf, path)
    if found != dtype:
        raise SourceError(path, f"wrong product: file holds THEMIS {found}, expected {dtype}")
    return probe


def _unit(cdf, path, name: str) -> str:
    """The unit of ``name``: the first word of UNITS, else the UNIT_PTR variable's entry."""
    atts = var_attributes(cdf, path, name)
    units = atts.get("UNITS")
    if units is None and atts.get("UNIT_PTR"):
        try:
            units = np.asarray(cdf.varget(atts["UNIT_PTR"])).reshape(-1)[0]
        except Exception:
            units = None
    return "" if units is None else str(units).strip().split()[0] if str(units).strip() else ""


def _require_unit(cdf, path, name: str, allowed: tuple[str, ...]) -> None:
    unit = _unit(cdf, path, name)
    if unit not in allowed:
        raise SourceError(path, f"{name} has units {unit!r}; expected {' or '.join(allowed)}")


def _time_variable(cdf, path, data_name: str, default: str) -> str:
    """The real (Unix-seconds) time variable of ``data_name``: its DEPEND_TIME, else
    ``default`` (``thX_<dtype>_time``)."""
    atts = var_attributes(cdf, path, data_name)
    name = atts.get("DEPEND_TIME") or default
    if name not in set(variables(cdf)):
        raise SourceError(path, f"missing time variable {name} (DEPEND_TIME of {data_name})")
    return name


def unix_seconds_to_datetime64(seconds) -> np.ndarray:
    """UTC seconds since 1970 without leap seconds (THEMIS ``*_time``) -> ``datetime64[ns]``;
    NaN and non-positive values become NaT."""
    s = np.asarray(seconds, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(s) | (s <= 0)
    out = np.round(np.where(bad, 0.0, s) * 1e9).astype(np.int64).view("datetime64[ns]").copy()
    out[bad] = np.datetime64("NaT")
    return out


def datetime64_to_unix_seconds(times) -> np.ndarray:
    return np.asarray(times, dtype="datetime64[ns]").astype(np.int64) / 1e9


def _read_times(cdf, path, name: str) -> np.ndarray:
    """A ``thX_*_time`` variable as UTC times (FILLVAL NaN, VALIDMIN 0 / VALIDMAX 5e9 applied),
    centred by its DELTA_PLUS_VAR/DELTA_MINUS_VAR when it has them (CDAWeb's have none)."""
    times = unix_seconds_to_datetime64(read_values(cdf, path, name))
    offset = time_centre_offset_ns(cdf, path, name)
    if offset.size in (1, times.size) and np.any(offset):
        times = times + offset.astype("timedelta64[ns]")
    return times


def _vec3(values: np.ndarray, path, name: str) -> np.ndarray:
    values = values.reshape(len(values), -1) if values.size else values.reshape(0, 3)
    if values.shape[1] != 3:
        raise SourceError(path, f"{name} has shape {values.shape}, expected (N, 3)")
    return values


def _flags(cdf, path, name: str, n: int) -> np.ndarray | None:
    """An integer quality variable as uint32 when present with ``n`` records (else None)."""
    if name not in set(variables(cdf)):
        return None
    raw = cdf.varget(name)
    if raw is None:
        return None
    raw = np.asarray(raw).reshape(-1)
    if raw.size != n:
        return None
    fill = var_attributes(cdf, path, name).get("FILLVAL")
    out = raw.astype(np.int64)
    if fill is not None:
        out = np.where(out == int(np.asarray(fill).reshape(-1)[0]), 0xFFFFFFFF, out)
    return out.astype(np.uint32)


def _attrs(cdf, path, probe, product, n_records, **extra) -> dict:
    return {"product": product, "mission": MISSION, "probe": probe, "file": str(path),
            "records": int(n_records),
            "version": global_attr(cdf, "Data_version") or "", **extra}


def _vector_product(path, dtype: str, name: str, unit: str, time_name: str,
                    verify_checksum: bool):
    """Open a ``dtype`` file and read its (N, 3) vector ``name`` (``{}`` = the probe) in
    ``unit`` and its times: ``(cdf, probe, times, values)``."""
    cdf = open_cdf(path, verify_checksum)
    probe = _expect(cdf, path, dtype)
    name = name.format(probe)
    if name not in set(variables(cdf)):
        raise SourceError(path, f"missing variable {name}")
    _require_unit(cdf, path, name, (unit,))
    t_name = _time_variable(cdf, path, name, time_name.format(probe))
    times = _read_times(cdf, path, t_name)
    values = _vec3(read_values(cdf, path, name), path, name)
    if values.shape[0] != times.size:
        raise SourceError(path, f"{name} and {t_name} have different lengths")
    return cdf, probe, times, values


def read_fgm(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One ``thX_l2_fgm`` file: ``b_gsm`` (time, component) nT from ``thX_fgs_gsm`` and
    ``b_total`` (``thX_fgs_btotal`` where present, else the norm), spin resolution (~3 s).
    Positions are not in this product (see :func:`read_state`)."""
    cdf, probe, times_all, b_all = _vector_product(path, "fgm", "{}_fgs_gsm", "nT",
                                                   "{}_fgs_time", verify_checksum)
    bt_name = f"{probe}_fgs_btotal"
    bt_all = (read_values(cdf, path, bt_name).reshape(-1)
              if bt_name in set(variables(cdf)) else None)
    if bt_all is not None and bt_all.size != times_all.size:
        bt_all = None
    quality = _flags(cdf, path, f"{probe}_fgm_fgs_quality", times_all.size)
    idx, stats = kept_records(times_all, time_range)
    times, b = times_all[idx], b_all[idx].copy()
    bad = np.zeros(times.size, bool) if quality is None else (quality[idx] & FGM_BAD) != 0
    b[bad] = np.nan
    ok = np.isfinite(b).all(axis=1)
    total = np.linalg.norm(b, axis=1)
    if bt_all is not None:
        total = np.where(np.isfinite(bt_all[idx]), bt_all[idx], total)
    total = np.where(ok, total, np.nan)
    empty = np.zeros((0, 3))
    return xr.Dataset(
        {
            "b_gsm": (("time", "component"), b, {"units": "nT", "frame": "GSM"}),
            "b_total": ("time", total, {"units": "nT", "long_name": "|B|"}),
            "r_gsm": (("time_state", "component"), empty, {"units": "km", "frame": "GSM"}),
            "r_gse": (("time_state", "component"), empty, {"units": "km", "frame": "GSE"}),
        },
        coords={"time": times, "time_state": np.array([], "datetime64[ns]"),
                "component": COMPONENTS},
        attrs=_attrs(cdf, path, probe, "fgm", times_all.size, n_flagged=int(bad.sum()),
                     **stats),
    )


def _moments(path, dtype: str, time_range, verify_checksum: bool = True) -> xr.Dataset:
    cdf = open_cdf(path, verify_checksum)
    probe = _expect(cdf, path, dtype)
    pre = f"{probe}_{'peim' if dtype == 'mom' else 'peif'}"
    names = {"n": f"{pre}_density", "v": f"{pre}_velocity_gsm",
             "t": f"{pre}_t3_mag" if dtype == "mom" else f"{pre}_avgtemp"}
    have = set(variables(cdf))
    missing = [v for v in names.values() if v not in have]
    if missing:
        raise SourceError(path, f"missing variable(s) {', '.join(missing)}")
    _require_unit(cdf, path, names["n"], ("cm^-3", "1/cc", "#/cc", "cm-3"))
    _require_unit(cdf, path, names["v"], ("km/s",))
    _require_unit(cdf, path, names["t"], ("eV",))
    t_name = _time_variable(cdf, path, names["n"], f"{pre}_time")
    times_all = _read_times(cdf, path, t_name)
    n_all = read_values(cdf, path, names["n"]).reshape(-1)
    v_all = _vec3(read_values(cdf, path, names["v"]), path, names["v"])
    t_raw = read_values(cdf, path, names["t"])
    if dtype == "mom":  # (Tperp1, Tperp2, Tpar), field-aligned, eV
        t3 = _vec3(t_raw, path, names["t"])
        tpa_all, tpe_all = t3[:, 2], 0.5 * (t3[:, 0] + t3[:, 1])
    else:  # average temperature; the field-aligned split where the file has it
        avg = t_raw.reshape(-1)
        magt3 = f"{pre}_magt3"
        if magt3 in have:
            t3 = _vec3(read_values(cdf, path, magt3), path, magt3)
            tpa_all, tpe_all = t3[:, 2], 0.5 * (t3[:, 0] + t3[:, 1])
            split_ok = np.isfinite(tpa_all) & np.isfinite(tpe_all)
        else:
            split_ok = np.zeros(avg.size, bool)
            tpa_all = tpe_all = avg
        tpa_all = np.where(split_ok, tpa_all, avg)
        tpe_all = np.where(split_ok, tpe_all, avg)
    for key, arr in (("n", n_all), ("v", v_all), ("t", tpa_all)):
        if arr.shape[0] != times_all.size:
            raise SourceError(path, f"{names[key]} and {t_name} have different lengths")
    quality = _flags(cdf, path, f"{pre}_data_quality", times_all.size)
    mask = MOM_BAD_BITS if dtype == "mom" else ESA_BAD_BITS
    idx, stats = kept_records(times_all, time_range)
    times = times_all[idx]
    n, v_gsm, tpa, tpe = n_all[idx], v_all[idx], tpa_all[idx], tpe_all[idx]
    bad = np.zeros(times.size, bool) if quality is None else (quality[idx] & np.uint32(mask)) != 0
    n, tpa, tpe = (np.where(bad, np.nan, a) for a in (n, tpa, tpe))
    v_gsm = np.where(bad[:, None], np.nan, v_gsm)
    v_gse = gsm_to_gse(v_gsm, times) if times.size else v_gsm.copy()
    t = (tpa + 2.0 * tpe) / 3.0
    if dtype == "esa":  # the file's average is the temperature (it equals the trace / 3)
        t = np.where(bad, np.nan, t_raw.reshape(-1)[idx])
    instrument = "ESA on-board moments (peim)" if dtype == "mom" else "ESA ground moments (peif)"
    return xr.Dataset(
        {
            "n": ("time", n, {"units": "cm^-3", "long_name": f"ion number density ({names['n']})"}),
            "v_gse": (("time", "component"), v_gse, {"units": "km/s", "frame": "GSE"}),
            "v_gsm": (("time", "component"), v_gsm, {"units": "km/s", "frame": "GSM"}),
            "t_para": ("time", tpa, {"units": "eV"}),
            "t_perp": ("time", tpe, {"units": "eV"}),
            "t": ("time", t, {"units": "eV", "long_name": "ion temperature (T_para + 2 T_perp) / 3"}),
        },
        coords={"time": times, "component": COMPONENTS},
        attrs=_attrs(cdf, path, probe, dtype, times_all.size, instrument=instrument,
                     n_flagged=int(bad.sum()), **stats),
    )


def read_mom(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One ``thX_l2_mom`` file: on-board ion moments ``n`` cm^-3, ``v_gse``/``v_gsm`` km/s,
    ``t_para``, ``t_perp``, ``t`` eV (spin resolution)."""
    return _moments(path, "mom", time_range, verify_checksum)


def read_esa(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One ``thX_l2_esa`` file: ESA full-mode ground ion moments (as :func:`read_mom`)."""
    return _moments(path, "esa", time_range, verify_checksum)


def read_state(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One ``thX_l1_state``/``thX_l2_state`` file: ``r_gse`` (from ``thX_pos_gse``) and
    ``r_gsm`` (the project's rotation of it) on ``time``, km; ``r_gsm_file`` the file's own
    GSM for comparison."""
    cdf, probe, times_all, r_all = _vector_product(path, "state", "{}_pos_gse", "km",
                                                   "{}_state_time", verify_checksum)
    gsm = f"{probe}_pos_gsm"
    own = (_vec3(read_values(cdf, path, gsm), path, gsm) if gsm in set(variables(cdf))
           else np.full_like(r_all, np.nan))
    idx, stats = kept_records(times_all, time_range)
    times, r_gse = times_all[idx], r_all[idx]
    r_gsm = gse_to_gsm(r_gse, times) if times.size else r_gse.copy()
    return xr.Dataset(
        {
            "r_gsm": (("time", "component"), r_gsm, {"units": "km", "frame": "GSM"}),
            "r_gse": (("time", "component"), r_gse, {"units": "km", "frame": "GSE"}),
            "r_gsm_file": (("time", "component"), own[idx],
                           {"units": "km", "frame": "GSM", "long_name": "the file's own GSM"}),
        },
        coords={"time": times, "component": COMPONENTS},
        attrs=_attrs(cdf, path, probe, "state", times_all.size, **stats),
    )


READERS = {"fgm": read_fgm, "mom": read_mom, "esa": read_esa, "state": read_state}


def read_many(product: str, paths: Iterable[str | Path], time_range=None,
              errors: list | None = None, verify_checksum: bool = True) -> xr.Dataset | None:
    """Read several files of one product (``fgm``, ``mom``, ``esa``, ``state``) and join them
    in time order without duplicate times; with ``errors`` a failing file is recorded there as
    ``{"file", "error"}`` and skipped, without it the first failure raises."""
    from atlas_core.sources.mms import read_and_join

    return read_and_join(READERS[product], paths, time_range=time_range, errors=errors,
                         verify_checksum=verify_checksum)

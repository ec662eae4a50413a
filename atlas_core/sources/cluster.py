"""Readers for Cluster products of the ESA Cluster Science Archive (CSA): FGM spin-resolution
field with the spacecraft position (``C1..C4_CP_FGM_SPIN``) and CIS prime-parameter ion moments
(``C1..C4_PP_CIS``).

Each reader takes one CDF file and returns a tidy :class:`xarray.Dataset` in the shape of the
MMS readers (:mod:`atlas_core.sources.mms`), so that :func:`atlas_core.states.make_states`
windows Cluster exactly as it windows MMS: UTC times, units in ``units`` attributes, frames in
the names, bad samples NaN, duplicate records removed, records in time order. Any problem
raises :class:`~atlas_core.sources.cdf.SourceError` naming the file.

What the CSA files hold, and what a reader must meet (all checked on the real files in
``../shared/real-data/cluster``; tests/missions/test_cluster_real.py):

- **Variable names carry the dataset** (``B_vec_xyz_gse__C1_CP_FGM_SPIN``): the product and the
  spacecraft are read from these suffixes (and the ``DATASET_ID``/``Logical_source`` global
  attribute), never from the file name, whose date span can be wider than the data inside
  (``c1_cps_fgm_spin_20060812142632_20060814185651.cdf`` holds 2006-08-13 only).
- **Times are CDF_EPOCH** (ms since 0000-01-01, no leap seconds), interval-centred
  (``CATDESC`` "Interval centred time tag", symmetric ``DELTA_PLUS``/``DELTA_MINUS`` half
  intervals of 2 s), so they are used as they stand. The FGM ``time_tags`` variable is stored
  with a dimension of size one (shape ``(N, 1)``), on which ``cdflib.cdfepoch.to_datetime``
  fails for the whole array; :func:`epoch_ms_to_datetime64` converts the milliseconds directly.
- **Fill values** are -1e30 (FGM) and -1e31 (CIS), from each variable's ``FILLVAL``; values
  outside ``VALIDMIN``/``VALIDMAX`` are invalid too (CIS ``N_HIA`` is valid from 0.01 cm^-3).
- **Temperatures are in MK** (``UNITS`` "MK", ``SI_conversion`` "1.0e6>K"): converted to eV
  with 1 MK = 1e6 K x k_B / e = 86.17 eV. T = (T_par + 2 T_perp) / 3, as for MMS.
- **Quality**: CIS ``Status[0]`` is 0 = bad, 1 = use with caution, 2 = OK, 255 = not supplied
  (``Status_key``). In the real files the 2 ("OK") rows are exactly the fill rows and nearly
  every measurement is 1 ("caution", the normal state of prime parameters), so a sample is
  dropped when ``Status[0]`` is 0 or 255; fills are dropped by their FILLVAL.
- **Density**: ``N_HIA`` (HIA hot ions, no mass resolution) where the file has it, else
  ``N_p`` (CODIF protons); the velocity and temperatures are HIA's (``V_HIA_xyz_gse``,
  ``T_HIA_par``/``T_HIA_perp``), falling back to CODIF's ``V_p_xyz_gse``/``T_p_*``.
- **Field and position in GSE**: ``B_vec_xyz_gse`` nT and ``sc_pos_xyz_gse`` km, on the FGM
  time tags; B and the position are rotated to GSM with the project's checked transform
  (:func:`atlas_core.physics.coordinates.gse_to_gsm`, Hapgood 1992 with the IGRF dipole).

Acknowledge the Cluster FGM (Balogh et al. 2001) and CIS (Rème et al. 2001) teams and the ESA
Cluster Science Archive (Laakso et al. 2010) when using Cluster data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from atlas_core.physics.constants import EV_J, K_B
from atlas_core.physics.coordinates import gse_to_gsm
from atlas_core.sources.cdf import (
    SourceError,
    global_attr,
    open_cdf,
    read_values,
    time_centre_offset_ns,
    var_attributes,
    variables,
)

MISSION = "Cluster"
PROBES = ("c1", "c2", "c3", "c4")
COMPONENTS = ["x", "y", "z"]

EV_PER_MK = 1e6 * K_B / EV_J
"""1 MK in eV (k_B x 1e6 K / e = 86.173 eV)."""

CDF_EPOCH_UNIX_MS = 62167219200000.0
"""CDF_EPOCH (ms since 0000-01-01T00:00, proleptic Gregorian) of 1970-01-01T00:00."""

CIS_BAD_STATUS = (0, 255)
"""``Status[0]`` values that drop a CIS sample: 0 = bad data, 255 = not supplied."""

PRODUCTS = {"CP_FGM_SPIN": "fgm-spin", "PP_CIS": "pp-cis"}
"""CSA dataset (without the spacecraft prefix) -> product key of this module."""

ROLE = {"fgm-spin": "field", "pp-cis": "plasma"}
"""Product key -> its role in a state window (field with ephemeris, or plasma moments)."""

_DATASET_RE = re.compile(r"^(C[1-4])_(CP_FGM_SPIN|PP_CIS)$")
_SUFFIX_RE = re.compile(r"__(C[1-4]_[A-Z0-9_\-]+)$")


# --- time ----------------------------------------------------------------------------------

def epoch_ms_to_datetime64(ms) -> np.ndarray:
    """CDF_EPOCH values (ms since 0000-01-01, any shape) -> UTC ``datetime64[ns]`` (flat).

    CDF_EPOCH has no leap seconds, so it maps onto UTC day numbers directly. Fill values
    (-1e31, the FGM files' -1e-31, zero, negative, non-finite) become NaT."""
    ms = np.asarray(ms, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(ms) | (ms <= 0) | (np.abs(ms) >= 0.99e31)
    # subtract the 1970 offset in float64 first: ms since 0000 x 1e6 would overflow int64 ns
    unix_ns = np.round((np.where(bad, CDF_EPOCH_UNIX_MS, ms) - CDF_EPOCH_UNIX_MS) * 1e6)
    out = unix_ns.astype(np.int64).view("datetime64[ns]").copy()
    out[bad] = np.datetime64("NaT")
    return out


def datetime64_to_epoch_ms(times) -> np.ndarray:
    """UTC ``datetime64`` -> CDF_EPOCH milliseconds (float64); the inverse of the above."""
    t = np.asarray(times, dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
    return t / 1e6 + CDF_EPOCH_UNIX_MS


def _read_epoch(cdf, path, name: str) -> np.ndarray:
    try:
        raw = cdf.varget(name)
    except Exception as err:
        raise SourceError(path, f"cannot read variable {name} ({type(err).__name__}: {err})") from err
    if raw is None:
        return np.array([], dtype="datetime64[ns]")
    raw = np.asarray(raw)
    if raw.dtype.kind != "f":
        raise SourceError(path, f"{name} is not a CDF_EPOCH variable (dtype {raw.dtype})")
    times = epoch_ms_to_datetime64(raw)
    # interval-centred tags (symmetric half intervals) give 0; a file whose DELTA_PLUS_VAR and
    # DELTA_MINUS_VAR differ is centred like every other mission's
    offset = time_centre_offset_ns(cdf, path, name)
    if offset.size in (1, times.size) and np.any(offset):
        times = times + offset.astype("timedelta64[ns]")
    atts = var_attributes(cdf, path, name)
    lo, hi = atts.get("VALIDMIN"), atts.get("VALIDMAX")
    ms = raw.reshape(-1)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            times[ms < float(np.asarray(lo).reshape(-1)[0])] = np.datetime64("NaT")
        if hi is not None:
            times[ms > float(np.asarray(hi).reshape(-1)[0])] = np.datetime64("NaT")
    return times


# --- identification ------------------------------------------------------------------------

def dataset_of(cdf, path) -> tuple[str, str]:
    """``(probe, product)`` of a CSA file, e.g. ``("c1", "fgm-spin")``, from its
    ``DATASET_ID``/``Logical_source`` attribute or, failing that, its variable suffixes.
    Raises :class:`SourceError` for any other product."""
    found = None
    for attr in ("DATASET_ID", "Logical_source"):
        value = global_attr(cdf, attr)
        if value and _DATASET_RE.match(value.strip().upper()):
            found = value.strip().upper()
            break
    if found is None:
        suffixes = {m.group(1) for v in variables(cdf) if (m := _SUFFIX_RE.search(v))}
        known = sorted(s for s in suffixes if _DATASET_RE.match(s))
        if len(known) == 1:
            found = known[0]
        else:
            what = ", ".join(sorted(suffixes)) or "no CSA variables"
            raise SourceError(path, f"not a Cluster CP_FGM_SPIN or PP_CIS file ({what})")
    sc, dataset = _DATASET_RE.match(found).groups()
    return sc.lower(), PRODUCTS[dataset]


def _open_product(path, expected: str, verify_checksum: bool):
    """``(cdf, probe, dataset)`` of a CSA file that must hold ``expected`` (else SourceError)."""
    cdf = open_cdf(path, verify_checksum)
    probe, product = dataset_of(cdf, path)
    if product != expected:
        raise SourceError(path, f"wrong product: file holds Cluster {product}, expected {expected}")
    dataset = {v: k for k, v in PRODUCTS.items()}[expected]
    return cdf, probe, f"{probe.upper()}_{dataset}"


def _var(cdf, path, stem: str, suffix: str, required: bool = True) -> str | None:
    name = f"{stem}__{suffix}"
    if name in set(variables(cdf)):
        return name
    if required:
        raise SourceError(path, f"missing variable {name}")
    return None


# --- helpers shared by the readers ----------------------------------------------------------

def record_range(times: np.ndarray, time_range) -> np.ndarray:
    """Boolean mask of ``times`` inside ``[start, stop)`` (all when ``time_range`` is None)."""
    if time_range is None:
        return np.ones(times.size, dtype=bool)
    start, stop = (np.datetime64(t, "ns") for t in time_range)
    return (times >= start) & (times < stop)


def kept_records(times: np.ndarray, time_range) -> tuple[np.ndarray, dict]:
    """Indices of the records a reader keeps: valid times, in order, without duplicates (the
    MMS readers' rule, :func:`atlas_core.sources.mms._order`), inside ``time_range``; and the
    counts of what was removed."""
    from atlas_core.sources.mms import _order

    idx, stats = _order(times)
    return idx[record_range(times[idx], time_range)], stats


def _vec3(values: np.ndarray, path, name: str) -> np.ndarray:
    values = values.reshape(len(values), -1) if values.size else values.reshape(0, 3)
    if values.shape[1] != 3:
        raise SourceError(path, f"{name} has shape {values.shape}, expected (N, 3)")
    return values


def _n_outside_valid(cdf, path, name: str, values: np.ndarray) -> int:
    """How many finite, non-fill values of ``name`` lie outside its VALIDMIN/VALIDMAX."""
    raw = np.asarray(cdf.varget(name), dtype=np.float64)
    atts = var_attributes(cdf, path, name)
    fill = atts.get("FILLVAL")
    ok = np.isfinite(raw) & (np.abs(raw) < 0.99e30)
    if fill is not None:
        ok &= ~np.isclose(raw, float(np.asarray(fill).reshape(-1)[0]), rtol=1e-6)
    return int(np.count_nonzero(ok & ~np.isfinite(values)))


# --- readers --------------------------------------------------------------------------------

def read_fgm_spin(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One Cluster ``CP_FGM_SPIN`` file: spin-resolution (~4 s) field and position.

    Returns ``b_gsm``, ``b_gse`` (time, component) nT, ``b_total`` (time) nT, and the
    spacecraft position ``r_gsm``, ``r_gse`` (time_state, component) km on the same time tags
    (GSE from the file, GSM by :func:`~atlas_core.physics.coordinates.gse_to_gsm`).
    ``time_range``: optional ``(start, stop)`` to keep only that part of the file;
    ``verify_checksum=False`` skips the MD5 check (a file verified where it is read whole)."""
    cdf, probe, suffix = _open_product(path, "fgm-spin", verify_checksum)
    t_name = _var(cdf, path, "time_tags", suffix)
    b_name = _var(cdf, path, "B_vec_xyz_gse", suffix)
    r_name = _var(cdf, path, "sc_pos_xyz_gse", suffix)
    bm_name = _var(cdf, path, "B_mag", suffix, required=False)

    times_all = _read_epoch(cdf, path, t_name)
    b_all = _vec3(read_values(cdf, path, b_name), path, b_name)
    r_all = _vec3(read_values(cdf, path, r_name), path, r_name)
    if not (b_all.shape[0] == r_all.shape[0] == times_all.size):
        raise SourceError(path, f"{b_name}/{r_name} and {t_name} have different lengths")
    bm_all = read_values(cdf, path, bm_name).reshape(-1) if bm_name else None
    idx, stats = kept_records(times_all, time_range)
    times, b_gse, r_gse = times_all[idx], b_all[idx], r_all[idx]
    ok_b = np.isfinite(b_gse).all(axis=1)
    total = np.linalg.norm(b_gse, axis=1)
    if bm_all is not None:  # the file's |B| where it has one (same samples, same instrument)
        bm = bm_all[idx]
        total = np.where(np.isfinite(bm), bm, total)
    total = np.where(ok_b, total, np.nan)
    b_gsm = gse_to_gsm(b_gse, times) if times.size else b_gse.copy()
    r_gsm = gse_to_gsm(r_gse, times) if times.size else r_gse.copy()
    attrs = {"product": "fgm-spin", "dataset": suffix, "mission": MISSION, "probe": probe,
             "file": str(path), "records": int(times_all.size),
             "version": global_attr(cdf, "VERSION_NUMBER") or global_attr(cdf, "Data_version")
             or "", "n_fill_b": int((~ok_b).sum()), **stats}
    return xr.Dataset(
        {
            "b_gsm": (("time", "component"), b_gsm, {"units": "nT", "frame": "GSM"}),
            "b_gse": (("time", "component"), b_gse, {"units": "nT", "frame": "GSE"}),
            "b_total": ("time", total, {"units": "nT", "long_name": "|B|"}),
            "r_gsm": (("time_state", "component"), r_gsm, {"units": "km", "frame": "GSM"}),
            "r_gse": (("time_state", "component"), r_gse, {"units": "km", "frame": "GSE"}),
        },
        coords={"time": times, "time_state": times.copy(), "component": COMPONENTS},
        attrs=attrs,
    )


def _temperature_ev(cdf, path, name: str) -> np.ndarray:
    """A CIS temperature in eV, converted from the unit its ``UNITS`` attribute names."""
    values = read_values(cdf, path, name).reshape(-1)
    units = str(var_attributes(cdf, path, name).get("UNITS", "")).strip()
    if units == "MK":
        return values * EV_PER_MK
    if units == "K":
        return values * (K_B / EV_J)
    if units == "eV":
        return values
    raise SourceError(path, f"{name} has units {units!r}; expected MK, K or eV")


def read_pp_cis(path: str | Path, time_range=None, verify_checksum: bool = True) -> xr.Dataset:
    """One Cluster ``PP_CIS`` file: CIS prime-parameter ion moments (one spin, ~4 s).

    Returns ``n`` cm^-3 (``N_HIA``, else ``N_p``), ``v_gse`` (time, component) km/s,
    ``t_para``, ``t_perp`` and ``t = (t_para + 2 t_perp) / 3`` in eV (from MK), and
    ``status`` (``Status[0]``). Samples whose status is bad (:data:`CIS_BAD_STATUS`) are NaN."""
    cdf, probe, suffix = _open_product(path, "pp-cis", verify_checksum)
    t_name = _var(cdf, path, "Epoch", suffix)
    status_name = _var(cdf, path, "Status", suffix, required=False)
    times_all = _read_epoch(cdf, path, t_name)
    n_rec = times_all.size

    # HIA (hot ions, all species as protons) first, CODIF protons where HIA is absent or empty
    species = None
    for sp in ("HIA", "p"):
        names = [_var(cdf, path, s, suffix, required=False)
                 for s in (f"N_{sp}", f"V_{sp}_xyz_gse", f"T_{sp}_par", f"T_{sp}_perp")]
        if None in names:
            continue
        n = read_values(cdf, path, names[0]).reshape(-1)
        if np.isfinite(n).any() or species is None:
            species, (n_name, v_name, tpa_name, tpe_name), dens = sp, names, n
            if np.isfinite(n).any():
                break
    if species is None:
        raise SourceError(path, f"missing variables: neither N_HIA/V_HIA_xyz_gse/T_HIA_par/"
                                f"T_HIA_perp nor N_p/V_p_xyz_gse/T_p_par/T_p_perp __{suffix}")
    v_all = _vec3(read_values(cdf, path, v_name), path, v_name)
    tpa_all = _temperature_ev(cdf, path, tpa_name)
    tpe_all = _temperature_ev(cdf, path, tpe_name)
    if status_name is not None:
        status_all = np.asarray(cdf.varget(status_name)).reshape(n_rec, -1)[:, 0].astype(np.uint8)
    else:
        status_all = np.full(n_rec, 1, np.uint8)
    for name, arr in ((n_name, dens), (v_name, v_all), (tpa_name, tpa_all),
                      (tpe_name, tpe_all), (status_name or "Status", status_all)):
        if arr.shape[0] != n_rec:
            raise SourceError(path, f"{name} and {t_name} have different lengths")
    below_valid = _n_outside_valid(cdf, path, n_name, dens)

    idx, stats = kept_records(times_all, time_range)
    times, n, v, tpa, tpe, status = (a[idx] for a in (times_all, dens, v_all, tpa_all, tpe_all,
                                                       status_all))
    bad = np.isin(status, CIS_BAD_STATUS)
    n, tpa, tpe = (np.where(bad, np.nan, a) for a in (n, tpa, tpe))
    v = np.where(bad[:, None], np.nan, v)
    attrs = {"product": "pp-cis", "dataset": suffix, "mission": MISSION, "probe": probe,
             "file": str(path), "records": int(n_rec), "density": f"N_{species}",
             "instrument": "CIS-HIA" if species == "HIA" else "CIS-CODIF (H+)",
             "version": global_attr(cdf, "Data_version") or global_attr(cdf, "VERSION_NUMBER")
             or "", "n_flagged": int(bad.sum()), "n_density_outside_valid_range": below_valid,
             **stats}
    return xr.Dataset(
        {
            "n": ("time", n, {"units": "cm^-3", "long_name": f"ion number density ({n_name})"}),
            "v_gse": (("time", "component"), v, {"units": "km/s", "frame": "GSE"}),
            "t_para": ("time", tpa, {"units": "eV"}),
            "t_perp": ("time", tpe, {"units": "eV"}),
            "t": ("time", (tpa + 2.0 * tpe) / 3.0,
                  {"units": "eV", "long_name": "ion temperature (T_para + 2 T_perp) / 3"}),
            "status": ("time", status, {"long_name": "CIS Status[0] (0 bad, 1 caution, 2 OK)"}),
        },
        coords={"time": times, "component": COMPONENTS},
        attrs=attrs,
    )


READERS = {"fgm-spin": read_fgm_spin, "pp-cis": read_pp_cis}


def time_span(path: str | Path, verify_checksum: bool = True
              ) -> tuple[str, str, np.datetime64, np.datetime64]:
    """``(probe, product, first, last)`` of a CSA file from its content (the time variable),
    not its name. Raises :class:`SourceError` for an unreadable or foreign file, or one
    without a valid time. ``verify_checksum=False``: no MD5 (the catalogue's quick look; the
    reader verifies)."""
    cdf = open_cdf(path, verify_checksum)
    probe, product = dataset_of(cdf, path)
    stem = "time_tags" if product == "fgm-spin" else "Epoch"
    suffix = f"{probe.upper()}_{'CP_FGM_SPIN' if product == 'fgm-spin' else 'PP_CIS'}"
    times = _read_epoch(cdf, path, _var(cdf, path, stem, suffix))
    times = times[~np.isnat(times)]
    if times.size == 0:
        raise SourceError(path, "no valid time tag in the file")
    return probe, product, times.min(), times.max()


def read_many(product: str, paths: Iterable[str | Path], time_range=None,
              errors: list | None = None, verify_checksum: bool = True) -> xr.Dataset | None:
    """Read several files of one product (``"fgm-spin"``, ``"pp-cis"``) and join them in time
    order without duplicate times (``mms.combine``: every file's path, version and records in
    ``attrs["files"]``). With ``errors`` (a list), a failing file is recorded there as
    ``{"file", "error"}`` and skipped; without it the first failure raises."""
    from atlas_core.sources.mms import read_and_join

    return read_and_join(READERS[product], paths, time_range=time_range, errors=errors,
                         verify_checksum=verify_checksum)

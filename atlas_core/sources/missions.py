"""Which mission a file belongs to, the catalogue of a multi-mission archive, and reading one
spacecraft's day of data whatever its mission.

An archive folder may hold files of MMS (SDC layout and names, :mod:`.layout`), Cluster (CSA
CDFs, recognised by their content: :mod:`.cluster`) and THEMIS (CDAWeb daily names,
:mod:`.themis`), in any folder structure. :func:`scan_archive` walks it once and returns an
:class:`Archive`: the files the atlas reads, by mission, spacecraft, role (``field``,
``plasma``, ``ephemeris``) and day, with superseded versions and skipped files (each with the
reason). :func:`read_source_day` reads what one spacecraft needs for a day and returns the
field, plasma and ephemeris datasets that :func:`atlas_core.states.make_states` windows, the
same for every mission.

Harmonisation (DESIGN.md §12, docs/missions.md): every reader gives |B| and B_z GSM in nT,
n in cm^-3, V in GSE km/s, T = (T_par + 2 T_perp) / 3 in eV, positions GSE and GSM in km, with
GSE -> GSM done by :mod:`atlas_core.physics.coordinates` wherever a product is in GSE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from atlas_core.sources import cluster, layout, themis
from atlas_core.sources.cdf import SourceError

MISSIONS = ("MMS", "Cluster", "THEMIS")
"""Missions the ingest reads, in the order their states are written."""

MMS_PROBES = ("mms1", "mms2", "mms3", "mms4")
PROBES = {"MMS": MMS_PROBES, "Cluster": cluster.PROBES, "THEMIS": themis.PROBES}
MMS_ROLE = {"fgm": "field", "fpi-dis": "plasma", "mec": "ephemeris"}

LOOKED_FOR = (
    "MMS L2 CDFs with SDC names (mms1..4_fgm_srvy|brst_l2_*, mms1..4_fpi_fast|brst_l2_dis-moms_*, "
    "mms1..4_mec_srvy_l2_epht89d_*), Cluster CSA CDFs of C1..C4_CP_FGM_SPIN and C1..C4_PP_CIS "
    "(recognised by their variables, any file name), THEMIS CDAWeb daily CDFs "
    "thX_l2_fgm|mom|esa_YYYYMMDD_vNN.cdf and thX_l1|l2_state_YYYYMMDD_vNN.cdf (X = a..e)"
)
"""What :func:`scan_archive` recognises (said when it finds nothing usable)."""

_CLUSTER_NAME = re.compile(r"^c[1-4]_", re.IGNORECASE)
_VERSION = re.compile(r"_v(\d+(?:\.\d+)*)\.cdf$", re.IGNORECASE)


def normalise_mission(name: str) -> str:
    """Canonical mission name ("mms" -> "MMS", "cluster" -> "Cluster", "themis" -> "THEMIS");
    raises ``ValueError`` naming the known ones."""
    for m in MISSIONS:
        if str(name).strip().lower() == m.lower():
            return m
    raise ValueError(f"unknown mission {name!r} (known: {', '.join(MISSIONS)})")


@dataclass(frozen=True)
class DataFile:
    """One file the ingest can use."""

    path: Path
    mission: str  # "MMS", "Cluster", "THEMIS"
    probe: str  # "mms1", "c1", "tha"
    product: str  # reader key: "fgm", "fpi-dis", "mec"; "fgm-spin", "pp-cis"; "fgm", "mom", ...
    role: str  # "field", "plasma" or "ephemeris"
    first: np.datetime64  # first day with data (from the name, or the content for Cluster)
    last: np.datetime64  # last day with data
    start: np.datetime64  # start time (ordering; the MMS file start time)
    version: tuple = ()


@dataclass
class Archive:
    """The usable files under ``root``: see :func:`scan_archive`."""

    root: Path
    files: list[DataFile] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"file", "error"}
    superseded: list[str] = field(default_factory=list)
    not_asked: dict[str, int] = field(default_factory=dict)  # files of missions left out
    start: np.datetime64 | None = None
    end: np.datetime64 | None = None

    def sources(self) -> list[tuple[str, str]]:
        """``(mission, probe)`` pairs with at least one day of field and plasma files."""
        return [s for s in sorted({(f.mission, f.probe) for f in self.files},
                                  key=lambda s: (MISSIONS.index(s[0]), s[1]))
                if self.days(*s)]

    def _of(self, mission: str, probe: str, role: str) -> list[DataFile]:
        return [f for f in self.files if f.mission == mission and f.probe == probe
                and f.role == role]

    def days(self, mission: str | None = None, probe: str | None = None) -> list[np.datetime64]:
        """Days with both field and plasma files (of one spacecraft, or of any)."""
        if mission is None:
            out = set()
            for m, p in {(f.mission, f.probe) for f in self.files}:
                out |= set(self.days(m, p))
            return sorted(out)

        def covered(role):
            days = set()
            for f in self._of(mission, probe, role):
                days |= set(np.arange(f.first, f.last + 1, dtype="datetime64[D]").tolist())
            return days

        days = {np.datetime64(d, "D") for d in covered("field") & covered("plasma")}
        if self.start is not None:
            days = {d for d in days if d >= self.start}
        if self.end is not None:
            days = {d for d in days if d < self.end}
        return sorted(days)

    def _index(self, mission: str, probe: str) -> dict[str, tuple[list[DataFile], np.ndarray,
                                                                  np.ndarray]]:
        """Per product of one spacecraft: its files in start order and their first and last
        days as arrays, built once (a ten-year archive asks for each of ~3,000 days)."""
        cache = self.__dict__.setdefault("_day_index", {})
        key = (mission, probe, len(self.files))
        if key not in cache:
            by_product: dict[str, list[DataFile]] = {}
            for f in self.files:
                if f.mission == mission and f.probe == probe:
                    by_product.setdefault(f.product, []).append(f)
            cache[key] = {
                product: (files, np.array([f.first for f in files], dtype="datetime64[D]"),
                          np.array([f.last for f in files], dtype="datetime64[D]"))
                for product, files in ((p, sorted(v, key=lambda f: f.start))
                                       for p, v in by_product.items())}
        return cache[key]

    def for_day(self, mission: str, probe: str, day) -> dict[str, list[str]]:
        """Files of one spacecraft that hold data of ``day``, by product, in start order."""
        day = np.datetime64(day, "D")
        out: dict[str, list[str]] = {}
        for product, (files, first, last) in self._index(mission, probe).items():
            hold = np.flatnonzero((first <= day) & (day <= last))
            if hold.size:
                out[product] = [str(files[i].path) for i in hold]
        return out

    def margin_for(self, mission: str, probe: str, day) -> dict[str, list[str]]:
        """Per product, the latest-starting file of the day before ``day`` that does not hold
        ``day`` itself: where the minute before ``day`` (its first windows' start) is."""
        day = np.datetime64(day, "D")
        out: dict[str, list[str]] = {}
        for product, (files, first, last) in self._index(mission, probe).items():
            prev = np.flatnonzero((first <= day - 1) & (day - 1 <= last)
                                  & ~((first <= day) & (day <= last)))
            if prev.size:  # files are in start order: the last one starts latest
                out[product] = [str(files[prev[-1]].path)]
        return out

    def summary(self) -> dict:
        """Counts by mission and spacecraft (for provenance and the ingest's report)."""
        out: dict[str, dict] = {}
        for f in self.files:
            m = out.setdefault(f.mission, {"probes": {}, "files": 0, "products": {}})
            m["files"] += 1
            m["probes"][f.probe] = m["probes"].get(f.probe, 0) + 1
            m["products"][f.product] = m["products"].get(f.product, 0) + 1
        return out


def _version_of(name: str) -> tuple:
    m = _VERSION.search(name)
    return tuple(int(x) for x in m.group(1).split(".")) if m else ()


def _keep_latest(candidates: list[DataFile], key) -> tuple[list[DataFile], list[str]]:
    best: dict[tuple, DataFile] = {}
    superseded = []
    for f in candidates:
        k = key(f)
        other = best.get(k)
        if other is None or f.version > other.version:
            if other is not None:
                superseded.append(str(other.path))
            best[k] = f
        else:
            superseded.append(str(f.path))
    return list(best.values()), superseded


def scan_archive(
    root: str | Path,
    missions=None,
    probes=None,
    rates: dict[str, str] | None = None,
    start=None,
    end=None,
) -> Archive:
    """Catalogue the files under ``root`` that the ingest reads, for every mission (or those
    in ``missions``) and spacecraft (or those in ``probes``).

    MMS files are catalogued by :func:`atlas_core.sources.layout.scan` (SDC names, ``rates``
    per product, highest version); THEMIS by their CDAWeb names (highest ``_vNN``); Cluster
    files by their content: the dataset and the days come from the variables and the time
    tags inside, because CSA file names can span more days than the data (the highest
    ``VERSION``/``_V`` of one dataset and span wins). Files that belong to no known product,
    or cannot be opened, are listed in ``skipped`` with the reason."""
    root = Path(root)
    wanted = set(MISSIONS if missions is None else (normalise_mission(m) for m in missions))
    want_probe = None if probes is None else {p.lower() for p in probes}
    lo = None if start is None else np.datetime64(start, "D")
    hi = None if end is None else np.datetime64(end, "D")
    arc = Archive(root=root, start=lo, end=hi)
    mms_probes: set[str] = set()
    them: list[DataFile] = []
    clus: list[DataFile] = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.name.startswith(".") or path.suffix.lower() != ".cdf":
            continue
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        mms = layout.parse_name(path)
        if mms is not None:
            if "MMS" in wanted:
                mms_probes.add(mms.probe)
            else:
                arc.not_asked["MMS"] = arc.not_asked.get("MMS", 0) + 1
            continue
        th = themis.parse_name(path)
        if th is not None:
            if "THEMIS" not in wanted:
                arc.not_asked["THEMIS"] = arc.not_asked.get("THEMIS", 0) + 1
                continue
            dtype, level = th["dtype"], th["level"]
            if dtype != "state" and level != "l2":
                continue  # L1 science data: not read, like other MMS rates
            day = th["day"]
            them.append(DataFile(path, "THEMIS", th["probe"], dtype, themis.ROLE[dtype], day,
                                 day, day.astype("datetime64[s]"), (th["version"],)))
            continue
        if _CLUSTER_NAME.match(path.name):
            if "Cluster" not in wanted:
                arc.not_asked["Cluster"] = arc.not_asked.get("Cluster", 0) + 1
                continue
            try:
                probe, product, t0, t1 = cluster.time_span(path, verify_checksum=False)
            except SourceError as err:
                arc.skipped.append({"file": str(path), "error": err.problem})
                continue
            version = _version_of(path.name) or (0,)
            clus.append(DataFile(path, "Cluster", probe, product, cluster.ROLE[product],
                                 t0.astype("datetime64[D]"), t1.astype("datetime64[D]"),
                                 t0.astype("datetime64[s]"), version))
            continue
        arc.skipped.append({"file": str(path),
                            "error": "not an MMS SDC file name, nor a Cluster CSA or THEMIS "
                                     "CDAWeb file of a product the atlas reads"})

    for probe in sorted(mms_probes):
        if want_probe is not None and probe not in want_probe:
            continue
        cat = layout.scan(root, probe=probe, rates=rates, start=start, end=end)
        arc.superseded += cat.superseded
        for e in cat.skipped:  # names layout.scan cannot parse were judged above already
            if layout.parse_name(e["file"]) is not None and e not in arc.skipped:
                arc.skipped.append(e)
        for product, fns in cat.files.items():
            for fn in fns:
                arc.files.append(DataFile(fn.path, "MMS", fn.probe, product, MMS_ROLE[product],
                                          fn.day, fn.day, fn.start, fn.version))

    def in_span(f: DataFile) -> bool:
        return ((lo is None or f.last >= lo - 1) and (hi is None or f.first < hi)
                and (want_probe is None or f.probe in want_probe))

    kept, sup = _keep_latest([f for f in them if in_span(f)],
                             lambda f: (f.probe, f.product, f.first))
    arc.files += kept
    arc.superseded += sup
    kept, sup = _keep_latest([f for f in clus if in_span(f)],
                             lambda f: (f.probe, f.product, f.first, f.last))
    arc.files += kept
    arc.superseded += sup
    arc.files.sort(key=lambda f: (MISSIONS.index(f.mission), f.probe, f.product, f.start))
    return arc


PRODUCTS = {"MMS": ("fgm", "fpi-dis", "mec"), "Cluster": ("fgm-spin", "pp-cis"),
            "THEMIS": ("fgm", "mom", "esa", "state")}
"""Reader products of each mission (the keys of :meth:`Archive.for_day`)."""


def read_many(mission: str, product: str, paths, time_range=None, errors: list | None = None,
              verify_checksum: bool = True):
    """Read and join several files of one mission's product (that mission's ``read_many``)."""
    from atlas_core.sources import mms

    module = {"MMS": mms, "Cluster": cluster, "THEMIS": themis}[mission]
    return module.read_many(product, paths, time_range=time_range, errors=errors,
                            verify_checksum=verify_checksum)


def roles(mission: str, data: dict):
    """``(field, plasma, ephemeris)`` for :func:`atlas_core.states.make_states` (``fgm``,
    ``fpi``, ``positions``) from one spacecraft's datasets by product. THEMIS: on-board moments
    where the day has them, else ESA ground moments (:data:`themis.PLASMA_PREFERENCE`)."""
    if mission == "MMS":
        return data.get("fgm"), data.get("fpi-dis"), data.get("mec")
    if mission == "Cluster":
        return data.get("fgm-spin"), data.get("pp-cis"), None
    if mission == "THEMIS":
        plasma = next((data[p] for p in themis.PLASMA_PREFERENCE if data.get(p) is not None),
                      None)
        return data.get("fgm"), plasma, data.get("state")
    raise ValueError(f"unknown mission {mission!r}")


def read_source_day(mission: str, files: dict[str, list[str]], time_range,
                    errors: list | None = None):
    """Read one spacecraft's files for a time range: ``(field, plasma, ephemeris)`` datasets
    (any may be None) for :func:`atlas_core.states.make_states`. ``files`` maps product ->
    paths (:meth:`Archive.for_day`, plus :meth:`Archive.margin_for` for the minute before a
    day); a failing file is recorded in ``errors`` and skipped."""
    return roles(mission, {p: read_many(mission, p, files.get(p, []), time_range, errors)
                           for p in PRODUCTS[mission]})


def _median(x) -> float | None:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return None if x.size == 0 else round(float(np.median(x)), 6)


def _iso(t) -> str:
    return str(np.datetime64(t, "ms")) + "Z"


def summarise_file(path) -> dict | None:
    """``atlas inspect`` summary of a Cluster or THEMIS file (the keys of
    :func:`atlas_core.sources.inspect.inspect_file`, plus ``mission``), or None when the file
    is neither (an MMS file, say). Raises :class:`SourceError` for an unreadable one."""
    from atlas_core.physics.constants import R_E_KM

    path = Path(path)
    th = themis.parse_name(path)
    if th is not None:
        mission, product, probe = "THEMIS", th["dtype"], th["probe"]
        ds = themis.READERS[product](path)
    elif _CLUSTER_NAME.match(path.name):
        probe, product, _, _ = cluster.time_span(path)
        mission = "Cluster"
        ds = cluster.READERS[product](path)
    else:
        return None
    times = ds["time"].values
    med: dict = {}
    if "b_total" in ds:
        med["B"] = _median(ds["b_total"].values)
        valid = np.isfinite(ds["b_total"].values)
    elif "n" in ds:
        speed = np.linalg.norm(ds["v_gse"].values, axis=1)
        med.update(n=_median(ds["n"].values), V=_median(speed), T=_median(ds["t"].values))
        valid = np.isfinite(ds["n"].values) & np.isfinite(speed) & np.isfinite(ds["t"].values)
    else:
        valid = np.isfinite(ds["r_gsm"].values).all(axis=1)
    if "r_gsm" in ds and ds["r_gsm"].size:
        r = ds["r_gsm"].values / R_E_KM
        med["r_gsm"] = [_median(r[:, j]) for j in range(3)]
    records = int(ds.attrs["records"])
    return {"file": str(path), "mission": mission, "product": product, "probe": probe,
            "start": _iso(times.min()) if times.size else None,
            "end": _iso(times.max()) if times.size else None, "records": records,
            "valid_fraction": round(float(valid.sum()) / max(records, 1), 6), "medians": med}

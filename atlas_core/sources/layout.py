"""The MMS Science Data Center (SDC) directory layout: names, versions, and per-day catalogues.

Layout (as the SDC serves it and pySPEDAS mirrors it under ``MMS_DATA_DIR``)::

    mms1/fgm/srvy/l2/YYYY/MM/mms1_fgm_srvy_l2_YYYYMMDD_vX.Y.Z.cdf
    mms1/fpi/fast/l2/dis-moms/YYYY/MM/mms1_fpi_fast_l2_dis-moms_YYYYMMDDhhmmss_vX.Y.Z.cdf
    mms1/mec/srvy/l2/epht89d/YYYY/MM/mms1_mec_srvy_l2_epht89d_YYYYMMDD_vX.Y.Z.cdf

Burst files sit under ``brst`` with ``YYYYMMDDhhmmss`` start times (``.../brst/l2/YYYY/MM/DD/``
at the SDC). Files are found anywhere under the root by name, so a flat folder of files works
too; a file whose folder names another product is reported, not read. Where several versions
of one file exist the highest wins.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NAME_RE = re.compile(
    r"^(?P<probe>mms[1-4])_(?P<inst>[a-z0-9]+)_(?P<rate>srvy|fast|brst|slow)_(?P<level>[a-z0-9]+)"
    r"(?:_(?P<desc>[a-z0-9-]+))?_(?P<time>\d{8}|\d{14})_v(?P<v1>\d+)\.(?P<v2>\d+)\.(?P<v3>\d+)"
    r"\.cdf$"
)
"""Any MMS SDC science file name; the products this project reads are picked from it."""

PRODUCTS = {
    "fgm": ("fgm", None),
    "fpi-dis": ("fpi", "dis-moms"),
    "mec": ("mec", "epht89d"),
}
"""Product key -> (instrument, descriptor) in file names."""

DEFAULT_RATES = {"fgm": "srvy", "fpi-dis": "fast", "mec": "srvy"}


def data_dir(path: str | Path | None = None) -> Path:
    """The archive root: ``path``, else ``$MMS_DATA_DIR``, else ``./mms_data``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("MMS_DATA_DIR", "mms_data"))


@dataclass(frozen=True)
class FileName:
    path: Path
    probe: str
    instrument: str
    rate: str
    descriptor: str | None
    start: np.datetime64
    version: tuple[int, int, int]
    level: str = "l2"

    @property
    def product(self) -> str | None:
        if self.level != "l2":
            return None
        for key, (inst, desc) in PRODUCTS.items():
            if inst == self.instrument and (desc is None or desc == self.descriptor):
                return key
        return None

    @property
    def day(self) -> np.datetime64:
        return self.start.astype("datetime64[D]")

    @property
    def key(self) -> tuple:
        """What identifies one file across versions."""
        return (self.probe, self.instrument, self.rate, self.level, self.descriptor, self.start)


def parse_name(path: str | Path) -> FileName | None:
    """Parse an SDC file name; None when it does not follow the convention."""
    path = Path(path)
    m = NAME_RE.match(path.name.lower())
    if not m:
        return None
    t = m["time"]
    iso = f"{t[:4]}-{t[4:6]}-{t[6:8]}"
    if len(t) == 14:
        iso += f"T{t[8:10]}:{t[10:12]}:{t[12:14]}"
    try:
        start = np.datetime64(iso, "s")
    except ValueError:
        return None
    return FileName(path, m["probe"], m["inst"], m["rate"], m["desc"], start,
                    (int(m["v1"]), int(m["v2"]), int(m["v3"])), m["level"])


def sdc_relpath(name: str) -> Path:
    """The SDC-layout folder (relative to the root) for a file name, including the name."""
    fn = parse_name(name)
    if fn is None:
        raise ValueError(f"not an MMS SDC file name: {name}")
    parts = [fn.probe, fn.instrument, fn.rate, fn.level]
    if fn.descriptor:
        parts.append(fn.descriptor)
    s = str(fn.start.astype("datetime64[D]"))
    parts += [s[:4], s[5:7]]
    if fn.rate == "brst":
        parts.append(s[8:10])
    return Path(*parts) / name


def _folder_conflict(fn: FileName, root: Path) -> str | None:
    """A message when the file's folder path names a different instrument/rate/descriptor."""
    try:
        rel = fn.path.parent.relative_to(root)
    except ValueError:
        return None
    parts = [p.lower() for p in rel.parts]
    insts = {"fgm", "fpi", "mec", "edp", "edi", "scm", "hpca", "feeps", "eis", "dsp", "aspoc",
             "afg", "dfg"}
    folder_inst = next((p for p in parts if p in insts), None)
    if folder_inst and folder_inst != fn.instrument:
        return f"wrong product in folder: a {fn.instrument} file in a {folder_inst} folder ({rel})"
    rates = {"srvy", "fast", "brst", "slow"}
    folder_rate = next((p for p in parts if p in rates), None)
    if folder_rate and folder_rate != fn.rate:
        return f"wrong product in folder: a {fn.rate} file in a {folder_rate} folder ({rel})"
    descs = {"dis-moms", "des-moms", "epht89d", "epht89q", "epht04d"}
    folder_desc = next((p for p in parts if p in descs), None)
    if folder_desc and fn.descriptor and folder_desc != fn.descriptor:
        return f"wrong product in folder: a {fn.descriptor} file in a {folder_desc} folder ({rel})"
    probes = {"mms1", "mms2", "mms3", "mms4"}
    folder_probe = next((p for p in parts if p in probes), None)
    if folder_probe and folder_probe != fn.probe:
        return f"wrong product in folder: an {fn.probe} file in an {folder_probe} folder ({rel})"
    return None


@dataclass
class Catalog:
    """The files of an archive that an ingest uses, by product and day."""

    root: Path
    files: dict[str, list[FileName]] = field(default_factory=dict)  # product -> files
    superseded: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"file", "error"}
    start: np.datetime64 | None = None
    end: np.datetime64 | None = None

    def days(self) -> list[np.datetime64]:
        """Days with both field and plasma files (the days an ingest can make states for)."""
        fgm = {f.day for f in self.files.get("fgm", [])}
        fpi = {f.day for f in self.files.get("fpi-dis", [])}
        days = fgm & fpi
        if self.start is not None:
            days = {d for d in days if d >= self.start}
        if self.end is not None:
            days = {d for d in days if d < self.end}
        return sorted(days)

    def for_day(self, product: str, day: np.datetime64, margin_s: int = 0) -> list[Path]:
        """Files of ``product`` that can hold data of ``day`` (and of the ``margin_s`` seconds
        before it: the last file of the previous day)."""
        day = np.datetime64(day, "D")
        files = self.files.get(product, [])
        out = [f for f in files if f.day == day]
        if margin_s:
            prev = [f for f in files if f.day == day - 1]
            if prev:
                out.insert(0, max(prev, key=lambda f: f.start))
        return [f.path for f in sorted(out, key=lambda f: f.start)]


def scan(
    root: str | Path,
    probe: str = "mms1",
    rates: dict[str, str] | None = None,
    start=None,
    end=None,
) -> Catalog:
    """Catalogue the CDF files under ``root`` for ``probe`` at the given ``rates`` (product ->
    rate, e.g. ``{"fgm": "brst", "fpi-dis": "brst"}``), keeping the highest version of each.

    Files that are not SDC-named CDFs, or sit in a folder of another product, are listed in
    ``skipped`` with the reason; other probes, rates and descriptors are simply not used."""
    root = Path(root)
    rates = {**DEFAULT_RATES, **(rates or {})}
    lo = None if start is None else np.datetime64(start, "D")
    hi = None if end is None else np.datetime64(end, "D")
    cat = Catalog(root=root, files={k: [] for k in PRODUCTS}, start=lo, end=hi)
    best: dict[tuple, FileName] = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.name.startswith("."):
            continue
        if path.suffix.lower() != ".cdf":
            continue
        fn = parse_name(path)
        if fn is None:
            cat.skipped.append({"file": str(path), "error": "not an MMS SDC file name"})
            continue
        conflict = _folder_conflict(fn, root)
        if conflict:
            cat.skipped.append({"file": str(path), "error": conflict})
            continue
        product = fn.product
        if product is None or fn.probe != probe or fn.rate != rates[product]:
            continue
        # the day before ``start`` is kept: its last minute feeds the first window
        if (lo is not None and fn.day < lo - 1) or (hi is not None and fn.day >= hi):
            continue
        other = best.get(fn.key)
        if other is None or fn.version > other.version:
            if other is not None:
                cat.superseded.append(str(other.path))
            best[fn.key] = fn
        else:
            cat.superseded.append(str(path))
    for fn in best.values():
        cat.files[fn.product].append(fn)
    for files in cat.files.values():
        files.sort(key=lambda f: f.start)
    return cat

"""Download MMS L2 files from the MMS Science Data Center and OMNI2 hourly files from SPDF.

MMS SDC public file API (https://lasp.colorado.edu/mms/sdc/public/files/api/v1/):
``file_info/science?sc_id=&instrument_id=&data_rate_mode=&data_level=&descriptor=&start_date=
&end_date=`` answers ``{"files": [{"file_name", "file_size", "timetag", ...}]}``, and
``download/science?file=NAME`` serves one file. Files land in the SDC layout under the output
folder (:func:`atlas_core.sources.layout.sdc_relpath`). OMNI2 hourly files (which carry Dst)
come from ``https://spdf.gsfc.nasa.gov/pub/data/omni/low_res_omni/omni2_YYYY.dat`` into
``OUT/omni/``.

A file already present with the right size is skipped; a download goes to a hidden temporary
file that is renamed only when complete and of the announced size, so an interrupted or failed
download never leaves a partial file; failures are retried with a growing pause.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from atlas_core.sources.layout import parse_name, sdc_relpath

log = logging.getLogger(__name__)

SDC_API = "https://lasp.colorado.edu/mms/sdc/public/files/api/v1"
OMNI_URL = "https://spdf.gsfc.nasa.gov/pub/data/omni/low_res_omni"

PRODUCTS = {
    # product -> (instrument_id, descriptor)
    "fgm": ("fgm", None),
    "fpi-dis": ("fpi", "dis-moms"),
    "mec": ("mec", "epht89d"),
}


class FetchError(Exception):
    pass


@dataclass
class FetchReport:
    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # already there with the right size
    failed: list[dict] = field(default_factory=list)  # {"file", "error"}
    bytes: int = 0


def _get(session, url: str, params: dict | None, timeout: float, stream: bool = False):
    resp = session.get(url, params=params, timeout=timeout, stream=stream)
    if resp.status_code != 200:
        resp.close()
        raise FetchError(f"HTTP {resp.status_code} from {resp.url}")
    return resp


def _retry(fn: Callable, what: str, retries: int, backoff_s: float):
    last = None
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as err:  # network errors, HTTP errors, size mismatches
            last = err
            if attempt < retries:
                log.warning("%s failed (%s); retry %d of %d", what, err, attempt + 1, retries)
                time.sleep(backoff_s * (2**attempt))
    raise FetchError(f"{what}: {last}")


def download(session, url: str, dest: Path, params: dict | None = None,
             size: int | None = None, timeout: float = 60.0) -> int:
    """Stream ``url`` into ``dest`` atomically; check the size against ``size`` (or the
    Content-Length). Returns the bytes written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with _get(session, url, params, timeout, stream=True) as resp:
            announced = resp.headers.get("Content-Length")
            expected = size if size is not None else (int(announced) if announced else None)
            n = 0
            with tmp.open("wb") as fh:
                for chunk in resp.iter_content(chunk_size=1 << 16):
                    fh.write(chunk)
                    n += len(chunk)
        if expected is not None and n != expected:
            raise FetchError(f"incomplete download of {dest.name}: {n} of {expected} bytes")
        os.replace(tmp, dest)
        return n
    finally:
        if tmp.exists():
            tmp.unlink()


def list_sdc_files(session, product: str, start, end, *, probe: str = "mms1", rate: str = "srvy",
                   api: str = SDC_API, timeout: float = 60.0, retries: int = 3,
                   backoff_s: float = 1.0) -> list[dict]:
    """File records (``file_name``, ``file_size``) of one product whose start lies in
    ``[start, end)``, the highest version of each."""
    inst, desc = PRODUCTS[product]
    start_d, end_d = np.datetime64(start, "D"), np.datetime64(end, "D")
    params = {"sc_id": probe, "instrument_id": inst, "data_rate_mode": rate,
              "data_level": "l2", "start_date": str(start_d), "end_date": str(end_d)}
    if desc:
        params["descriptor"] = desc

    def query():
        with _get(session, f"{api.rstrip('/')}/file_info/science", params, timeout) as r:
            return r.json().get("files", [])

    files = _retry(query, f"file_info {product} {rate}", retries, backoff_s)
    best: dict[tuple, tuple] = {}
    for rec in files:
        fn = parse_name(rec.get("file_name", ""))
        if fn is None or fn.day < start_d or fn.day >= end_d:
            continue
        if fn.instrument != inst or fn.rate != rate or (desc and fn.descriptor != desc):
            continue
        if fn.key not in best or fn.version > best[fn.key][0]:
            best[fn.key] = (fn.version, rec)
    return [rec for _, rec in sorted(best.values(), key=lambda x: x[1]["file_name"])]


def fetch(out_dir, start, end, *, probe: str = "mms1", fgm_rate: str = "srvy",
          fpi_rate: str = "fast", mec: bool = True, omni: bool = True, api: str = SDC_API,
          omni_url: str = OMNI_URL, retries: int = 3, backoff_s: float = 1.0,
          timeout: float = 60.0, session=None) -> FetchReport:
    """Download MMS FGM, FPI DIS moments (and MEC) L2 files for ``[start, end)`` into the SDC
    layout under ``out_dir``, and the OMNI2 hourly files of the years covered."""
    import requests

    out = Path(out_dir)
    session = session or requests.Session()
    report = FetchReport()
    wanted = [("fgm", fgm_rate), ("fpi-dis", fpi_rate)] + ([("mec", "srvy")] if mec else [])
    for product, rate in wanted:
        try:
            records = list_sdc_files(session, product, start, end, probe=probe, rate=rate,
                                     api=api, timeout=timeout, retries=retries,
                                     backoff_s=backoff_s)
        except FetchError as err:
            report.failed.append({"file": f"{product} {rate} listing", "error": str(err)})
            continue
        log.info("fetch: %d %s %s files listed", len(records), product, rate)
        for rec in records:
            name, size = rec["file_name"], rec.get("file_size")
            dest = out / sdc_relpath(name)
            if dest.is_file() and (size is None or dest.stat().st_size == int(size)):
                report.present.append(str(dest))
                continue
            url = f"{api.rstrip('/')}/download/science"
            try:
                n = _retry(lambda u=url, d=dest, nm=name, s=size: download(
                    session, u, d, params={"file": nm}, size=None if s is None else int(s),
                    timeout=timeout), f"download {name}", retries, backoff_s)
            except FetchError as err:
                report.failed.append({"file": name, "error": str(err)})
                continue
            report.downloaded.append(str(dest))
            report.bytes += n
    if omni:
        y0 = int(str(np.datetime64(start, "Y")))
        y1 = int(str(np.datetime64(np.datetime64(end, "D") - 1, "Y")))
        for year in range(y0, y1 + 1):
            name = f"omni2_{year}.dat"
            dest = out / "omni" / name
            url = f"{omni_url.rstrip('/')}/{name}"
            try:
                if dest.is_file():
                    head = session.head(url, timeout=timeout, allow_redirects=True)
                    length = head.headers.get("Content-Length")
                    if head.status_code == 200 and length and int(length) == dest.stat().st_size:
                        report.present.append(str(dest))
                        continue
                n = _retry(lambda u=url, d=dest: download(session, u, d, timeout=timeout),
                           f"download {name}", retries, backoff_s)
            except (FetchError, OSError) as err:
                report.failed.append({"file": name, "error": str(err)})
                continue
            except Exception as err:  # e.g. connection refused on HEAD
                report.failed.append({"file": name, "error": f"{type(err).__name__}: {err}"})
                continue
            report.downloaded.append(str(dest))
            report.bytes += n
    return report

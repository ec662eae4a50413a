"""A HAPI 3.1 server for the atlas: per-window regime labels and window features as datasets.

The Heliophysics API (HAPI 3.1, hapi-server/data-specification): ``/hapi`` (landing page),
``/hapi/about``, ``/hapi/capabilities``, ``/hapi/catalog``, ``/hapi/info?dataset=``,
``/hapi/data?dataset=&start=&stop=[&parameters=][&format=csv|binary][&include=header]``; the
HAPI 2 names ``id``, ``time.min``, ``time.max`` are accepted as the specification requires of 3.x
servers. Bad requests are answered with a JSON status and HAPI's 14xx codes (1400 user input,
1401 unknown request parameter, 1402/1403 start/stop, 1404 start >= stop, 1405 outside the
dataset's range, 1406 unknown dataset, 1407 unknown parameter, 1409 format, 1410 include,
1411 out-of-order or duplicate parameters), the HTTP status consistent with it, and never echo
the request. Only GET and HEAD.

Datasets, one pair per spacecraft of the state table (``<probe>_regime_labels``,
``<probe>_window_features``), time-ordered at the windows' centres (``timeStampLocation`` center,
cadence PT1M):

* labels: ``regime`` (id), ``regime_name``, ``p`` and ``probabilities`` (size [K], labelled
  with the regime names) from :func:`atlas_core.service.labels.window_labels`, and ``leaf``;
* features: ``position_gsm`` [3] R_E, the 14 window features with their units, ``dst`` nT,
  and ``r_over_rmp``/``sheath_fraction`` where the states carry them; ``-1.0E31`` marks
  missing values (declared as ``fill``).

Data are streamed: the time range is two binary searches over the sorted times, and records go
out in chunks of :data:`CHUNK_ROWS` encoded by :mod:`atlas_core.service.hapi_format` with
chunked transfer encoding, so a response never exists whole in memory. The server binds
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from atlas_core.service import hapi_format as fmt

log = logging.getLogger(__name__)

HAPI_VERSION = "3.1"
CHUNK_ROWS = 20_000
"""Records per streamed chunk."""
FILL_DOUBLE = -1.0e31
FILL_DOUBLE_TEXT = "-1.0E31"
TIME_LENGTH = 24
"""``YYYY-MM-DDThh:mm:ss.sssZ``."""

STATUS = {
    1200: (200, "OK"), 1201: (200, "OK - no data for time range"),
    1400: (400, "Bad request - user input error"),
    1401: (400, "Bad request - unknown API parameter name"),
    1402: (400, "Bad request - error in start time"),
    1403: (400, "Bad request - error in stop time"),
    1404: (400, "Bad request - start time equal to or after stop time"),
    1405: (400, "Bad request - time outside valid range"),
    1406: (404, "Bad request - unknown dataset id"),
    1407: (404, "Bad request - unknown dataset parameter"),
    1409: (400, "Bad request - unsupported output format"),
    1410: (400, "Bad request - unsupported include value"),
    1411: (400, "Bad request - out of order or duplicate parameters"),
    1500: (500, "Internal server error"),
}
"""HAPI status code -> (HTTP status, message) (HAPI 3.1 §4.2 and appendix 8.3)."""

ENDPOINT_PARAMS = {
    "about": set(), "capabilities": set(), "catalog": set(),
    "info": {"dataset", "id", "parameters"},
    "data": {"dataset", "id", "start", "stop", "time.min", "time.max", "parameters", "format",
             "include"},
}


class HapiError(Exception):
    """A request the server answers with a HAPI error status (``code``) and a fixed message."""

    def __init__(self, code: int, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"HAPI {code}: {STATUS[code][1]}")


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?|-(\d{3}))?"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?Z?$")


def parse_hapi_time(text: str) -> np.datetime64:
    """A HAPI restricted ISO 8601 time (``yyyy-mm-ddThh:mm:ss.sssZ`` or ``yyyy-dddThh...Z``,
    truncated forms, ``Z`` optional) as datetime64[ns] UTC; ValueError otherwise."""
    m = _TIME_RE.match(text or "")
    if not m:
        raise ValueError("not a HAPI time")
    year, month, day, doy, hh, mm, ss, frac = m.groups()
    if doy is not None:
        base = np.datetime64(f"{year}-01-01", "ns") + (int(doy) - 1) * np.timedelta64(1, "D")
        if not 1 <= int(doy) <= (366 if _leap(int(year)) else 365):
            raise ValueError("day of year out of range")
    else:
        base = np.datetime64(f"{year}-{month or '01'}-{day or '01'}", "ns")  # validates
    h, mi, s = int(hh or 0), int(mm or 0), int(ss or 0)
    if h > 24 or mi > 59 or s > 60 or (h == 24 and (mi or s or (frac and float(frac)))):
        raise ValueError("time of day out of range")
    ns = int(round(float(frac or 0) * 1e9))
    s = min(s, 59) if s == 60 else s  # a leap second: the last instant of that minute
    if ss == "60":
        ns = 999_999_999
    return base + np.timedelta64(((h * 60 + mi) * 60 + s) * 1_000_000_000 + ns, "ns")


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def format_times(t: np.ndarray) -> np.ndarray:
    """``S24`` bytes ``YYYY-MM-DDThh:mm:ss.sssZ`` of datetime64 times."""
    s = np.datetime_as_string(np.asarray(t, dtype="datetime64[ms]"), unit="ms")
    return np.char.add(s, "Z").astype(f"S{TIME_LENGTH}")


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

@dataclass
class Parameter:
    """One HAPI parameter and its column: ``values`` (N,) or (N, size); strings as codes into
    ``categories`` (small sets: regime names)."""

    name: str
    type: str                      # "double" | "integer" | "string"
    values: np.ndarray
    units: str | list | None = "dimensionless"
    description: str = ""
    fill: str | None = None
    size: int = 1
    label: str | list | None = None
    categories: list[str] | None = None
    extra: dict = field(default_factory=dict)

    def info(self) -> dict:
        d = {"name": self.name, "type": self.type, "units": self.units, "fill": self.fill}
        if self.type == "string":
            d["length"] = self.length
        if self.size > 1:
            d["size"] = [self.size]
        if self.description:
            d["description"] = self.description
        if self.label is not None:
            d["label"] = self.label
        d.update(self.extra)
        return d

    @property
    def length(self) -> int:
        return max([len(c.encode("utf-8")) for c in self.categories or []] + [1])


@dataclass
class HapiDataset:
    """A dataset: sorted ``times`` (datetime64[ns]), their ``S24`` strings, parameters, and the
    ``info`` metadata beside the parameters."""

    id: str
    title: str
    times: np.ndarray
    parameters: list[Parameter]
    meta: dict

    def __post_init__(self) -> None:
        self.time_ns = self.times.astype("datetime64[ns]").astype(np.int64)
        self.time_text = format_times(self.times)
        self._by_name = {p.name: p for p in self.parameters}

    @property
    def start_date(self) -> str:
        return self.time_text[0].decode()

    @property
    def stop_date(self) -> str:
        # the stop date is exclusive-friendly: one stride after the last record
        return format_times(self.times[-1:] + np.timedelta64(1, "m"))[0].decode()

    def select(self, names: str | None) -> list[Parameter]:
        """The requested parameters in dataset order (Time is implicit). HapiError 1407 for an
        unknown name, 1411 for duplicates or a changed order."""
        if names is None or names == "":
            return list(self.parameters)
        wanted = names.split(",")
        if wanted[0] == "Time":  # the time column may be named; it is always sent first
            wanted = wanted[1:]
        if any(n not in self._by_name for n in wanted if n != "Time"):
            raise HapiError(1407)
        if len(set(wanted)) != len(wanted) or "Time" in wanted:
            raise HapiError(1411)
        order = [self.parameters.index(self._by_name[n]) for n in wanted]
        if order != sorted(order):
            raise HapiError(1411)
        return [self._by_name[n] for n in wanted]

    def info(self, params: list[Parameter]) -> dict:
        time_param = {"name": "Time", "type": "isotime", "units": "UTC", "fill": None,
                      "length": TIME_LENGTH, "description": "window centre (2-minute window)"}
        return {"HAPI": HAPI_VERSION, "status": {"code": 1200, "message": "OK"},
                "startDate": self.start_date, "stopDate": self.stop_date,
                **self.meta, "parameters": [time_param] + [p.info() for p in params]}

    def rows(self, start: np.datetime64, stop: np.datetime64) -> tuple[int, int]:
        """Record range [i0, i1) with start <= time < stop."""
        i0 = int(np.searchsorted(self.time_ns, start.astype(np.int64), side="left"))
        i1 = int(np.searchsorted(self.time_ns, stop.astype(np.int64), side="left"))
        return i0, max(i0, i1)

    def csv_chunk(self, params: list[Parameter], sl: slice) -> bytes:
        cells = [self.time_text[sl].view(np.uint8).reshape(-1, TIME_LENGTH)]
        for p in params:
            v = p.values[sl]
            if p.type == "double":
                v = v.reshape(len(v), -1)
                cells += [fmt.format_doubles(v[:, j]) for j in range(v.shape[1])]
            elif p.type == "integer":
                cells.append(fmt.format_ints(v))
            else:
                cells.append(p.extra_cells[v])
        return fmt.join_csv(cells)

    def binary_chunk(self, params: list[Parameter], sl: slice) -> bytes:
        cols = [("Time", "isotime", TIME_LENGTH)] + [
            (p.name, p.type, p.length if p.type == "string" else p.size) for p in params]
        rec = np.empty(sl.stop - sl.start, dtype=fmt.binary_dtype(cols))
        rec["Time"] = self.time_text[sl]
        for p in params:
            v = p.values[sl]
            rec[p.name] = p.extra_bytes[v] if p.type == "string" else v
        return rec.tobytes()


def _string_param(p: Parameter) -> Parameter:
    """Pre-encode a categorical string parameter's CSV cells and binary values."""
    p.extra_cells = fmt.csv_cell_table(p.categories)
    p.extra_bytes = np.array([c.encode("utf-8") for c in p.categories], dtype=f"S{p.length}")
    return p


def _filled(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), v, FILL_DOUBLE)


def build_datasets(atlas, states: pd.DataFrame, labels: pd.DataFrame) -> dict[str, HapiDataset]:
    """The label and feature datasets of every spacecraft in ``states`` (with their
    :func:`~atlas_core.service.labels.window_labels` in ``labels``, same row order)."""
    from atlas_core.citation import citation
    from atlas_core.states import FEATURE_UNITS, FEATURES

    names = list(atlas.names)
    prob = labels.attrs["prob"]
    craft = labels["mission"].astype(str) + "/" + labels["probe"].astype(str)
    cite = citation(sorted(set(labels["mission"])), synthetic=atlas.synthetic)
    common = {"cadence": "PT1M", "timeStampLocation": "center",
              "citation": cite["method"] + " " + " ".join(cite["acknowledgements"]),
              "x_synthetic": bool(atlas.synthetic), "x_software": cite["software"]}
    label_info = {"x_label_temperature": float(labels.attrs.get("temperature", 1.0))}
    out = {}
    for key in sorted(set(craft)):
        rows = np.flatnonzero((craft == key).to_numpy())
        rows = rows[np.argsort(labels["time"].to_numpy()[rows], kind="stable")]
        mission, probe = key.split("/", 1)
        t = labels["time"].to_numpy("datetime64[ns]")[rows]
        keep = np.concatenate([[True], np.diff(t.astype(np.int64)) > 0])  # times strictly increase
        rows, t = rows[keep], t[keep]
        regime = labels["regime"].to_numpy(np.int32)[rows]
        lab = [
            Parameter("regime", "integer", regime, None, "most probable regime id (0..K-1), "
                      "posterior of the cell's regime probabilities and the regime model's "
                      "likelihood of the window's features"),
            _string_param(Parameter("regime_name", "string", regime, None,
                                    "name of the most probable regime", categories=names)),
            Parameter("p", "double", labels["p"].to_numpy(np.float64)[rows], "dimensionless",
                      "probability of the most probable regime"),
            Parameter("probabilities", "double", prob[rows].astype(np.float64), "dimensionless",
                      "posterior probability of every regime", size=len(names), label=names),
            Parameter("leaf", "integer", labels["leaf"].to_numpy(np.int32)[rows], None,
                      "atlas octree cell of the window (-1: outside the atlas)", fill="-1"),
        ]
        did = f"{probe}_regime_labels"
        out[did] = HapiDataset(did, f"{mission} {probe}: regime labels per 2-min window", t, lab,
                               {**common, **label_info,
                                "description": f"Per-window plasma-regime labels of "
                                f"{mission} {probe} from the Magnetosphere Atlas ({len(names)} "
                                "regimes learned without labels)."})
        st = states.iloc[rows]
        feat = [Parameter("position_gsm", "double",
                          _filled(st[["x_gsm", "y_gsm", "z_gsm"]].to_numpy()), "R_E",
                          "median window position, GSM", fill=FILL_DOUBLE_TEXT, size=3,
                          label=["x_gsm", "y_gsm", "z_gsm"],
                          extra={"coordinateSystemName": "GSM", "vectorComponents": ["x", "y", "z"]})]
        for f in FEATURES:
            unit = FEATURE_UNITS[f.rsplit("_", 1)[0]]
            feat.append(Parameter(f, "double", _filled(st[f]), "dimensionless" if unit == "1" else unit,
                                  f"window {f.rsplit('_', 1)[1]} of {f.rsplit('_', 1)[0]}",
                                  fill=FILL_DOUBLE_TEXT))
        for col, unit, desc in (("dst", "nT", "Dst at the window time"),
                                ("r_over_rmp", "dimensionless", "r / r_mp (Shue et al. 1998 at "
                                 "the hour's OMNI Pdyn and Bz)"),
                                ("sheath_fraction", "dimensionless", "(r - r_mp)/(r_bs - r_mp), "
                                 "bow shock of Jelinek et al. 2012")):
            if col in st:
                feat.append(Parameter(col, "double", _filled(st[col]), unit, desc,
                                      fill=FILL_DOUBLE_TEXT))
        did = f"{probe}_window_features"
        out[did] = HapiDataset(did, f"{mission} {probe}: 2-min window features", t, feat,
                               {**common, "description": f"The 14 plasma features of the 2-min "
                                f"windows of {mission} {probe} (means and standard deviations) "
                                "with their GSM position."})
    return out


# --------------------------------------------------------------------------------------------
# The HTTP server
# --------------------------------------------------------------------------------------------

class HapiServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the datasets (read-only, shared by request threads)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, datasets: dict[str, HapiDataset], about: dict):
        self.datasets = datasets
        self.about = about
        super().__init__(address, HapiHandler)


class HapiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MagnetosphereAtlasHAPI/1.0"

    def log_message(self, format, *args):  # noqa: A002  (BaseHTTPRequestHandler's signature)
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self):
        self._handle(head=False)

    def do_HEAD(self):
        self._handle(head=True)

    def _not_allowed(self):
        self._status(1400, http=405, head=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    # --- dispatch --------------------------------------------------------------------------

    def _handle(self, head: bool) -> None:
        try:
            url = urlsplit(self.path)
            path = url.path.rstrip("/")
            try:
                query = parse_qs(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
            except ValueError:
                raise HapiError(1400) from None
            if path == "/hapi":
                return self._landing(head)
            if not path.startswith("/hapi/") or path[6:] not in ENDPOINT_PARAMS:
                raise HapiError(1400)
            endpoint = path[6:]
            if set(query) - ENDPOINT_PARAMS[endpoint]:
                raise HapiError(1401)
            if any(len(v) > 1 for v in query.values()):
                raise HapiError(1400)
            q = {k: v[0] for k, v in query.items()}
            getattr(self, f"_{endpoint}")(q, head)
        except HapiError as err:
            self._status(err.code, head=head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # a server bug: say 1500, log it, never leak it to the client
            log.exception("HAPI request failed")
            try:
                self._status(1500, head=head)
            except OSError:
                pass

    # --- responses -------------------------------------------------------------------------

    def _reason(self, code: int) -> str:
        http, msg = STATUS[code]
        return "OK" if code == 1200 else f"{'OK' if http == 200 else 'Error'}; HAPI {code} {msg}"

    def _json(self, obj: dict, head: bool, code: int = 1200) -> None:
        body = json.dumps(obj, indent=1).encode()
        self.send_response(STATUS[code][0], self._reason(code))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _status(self, code: int, http: int | None = None, head: bool = False) -> None:
        obj = {"HAPI": HAPI_VERSION, "status": {"code": code, "message": STATUS[code][1]}}
        body = json.dumps(obj).encode()
        self.send_response(http or STATUS[code][0], self._reason(code))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _landing(self, head: bool) -> None:
        items = "".join(f"<li><a href='/hapi/info?dataset={d}'>{d}</a>: {ds.title}</li>"
                        for d, ds in self.server.datasets.items())
        body = (f"<html><head><title>{self.server.about['title']}</title></head><body>"
                f"<h1>{self.server.about['title']}</h1><p>HAPI {HAPI_VERSION} server. "
                "Endpoints: <a href='/hapi/about'>about</a>, <a href='/hapi/capabilities'>"
                "capabilities</a>, <a href='/hapi/catalog'>catalog</a>, info, data.</p>"
                f"<ul>{items}</ul></body></html>").encode()
        self.send_response(200, "OK")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _about(self, q: dict, head: bool) -> None:
        self._json({"HAPI": HAPI_VERSION, "status": {"code": 1200, "message": "OK"},
                    **self.server.about}, head)

    def _capabilities(self, q: dict, head: bool) -> None:
        self._json({"HAPI": HAPI_VERSION, "status": {"code": 1200, "message": "OK"},
                    "outputFormats": ["csv", "binary"]}, head)

    def _catalog(self, q: dict, head: bool) -> None:
        self._json({"HAPI": HAPI_VERSION, "status": {"code": 1200, "message": "OK"},
                    "catalog": [{"id": d, "title": ds.title}
                                for d, ds in self.server.datasets.items()]}, head)

    def _dataset(self, q: dict) -> HapiDataset:
        if "dataset" in q and "id" in q:
            raise HapiError(1400)
        did = q.get("dataset", q.get("id"))
        if not did:
            raise HapiError(1400)
        ds = self.server.datasets.get(did)
        if ds is None:
            raise HapiError(1406)
        return ds

    def _info(self, q: dict, head: bool) -> None:
        ds = self._dataset(q)
        self._json(ds.info(ds.select(q.get("parameters"))), head)

    def _data(self, q: dict, head: bool) -> None:
        ds = self._dataset(q)
        if ("start" in q and "time.min" in q) or ("stop" in q and "time.max" in q):
            raise HapiError(1400)
        start_text, stop_text = q.get("start", q.get("time.min")), q.get("stop", q.get("time.max"))
        try:
            start = parse_hapi_time(start_text)
        except ValueError:
            raise HapiError(1402) from None
        try:
            stop = parse_hapi_time(stop_text)
        except ValueError:
            raise HapiError(1403) from None
        if start >= stop:
            raise HapiError(1404)
        params = ds.select(q.get("parameters"))
        form = q.get("format", "csv") or "csv"
        if form not in ("csv", "binary"):
            raise HapiError(1409)
        include = q.get("include")
        if include not in (None, "", "header"):
            raise HapiError(1410)
        first, last_stop = ds.time_ns[0], ds.time_ns[-1] + 60_000_000_000
        if stop.astype(np.int64) <= first or start.astype(np.int64) >= last_stop:
            raise HapiError(1405)
        i0, i1 = ds.rows(start, stop)
        code = 1200 if i1 > i0 else 1201
        self.send_response(200, self._reason(code))
        self.send_header("Content-Type", "text/csv" if form == "csv" else "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if head:  # headers only: a HEAD response has no body, not even an empty chunk
            return
        if include == "header":
            info = ds.info(params)
            info["status"] = {"code": code, "message": STATUS[code][1]}
            info["format"] = form
            text = "".join("#" + line + "\n" for line in json.dumps(info, indent=1).splitlines())
            self._chunk(text.encode())
        encode = ds.csv_chunk if form == "csv" else ds.binary_chunk
        for s in range(i0, i1, CHUNK_ROWS):
            self._chunk(encode(params, slice(s, min(i1, s + CHUNK_ROWS))))
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")


def about(atlas) -> dict:
    """The ``/hapi/about`` fields of a server for ``atlas``."""
    from atlas_core.citation import citation

    c = citation(synthetic=atlas.synthetic)
    return {"id": "MagnetosphereAtlas", "title": "Magnetosphere Atlas regime labels",
            "contact": "the atlas operator (see `atlas cite`)",
            "description": "Per-window plasma-regime labels and window features of the states "
                           "behind a Magnetosphere Atlas" + (" (synthetic data)" if atlas.synthetic else ""),
            "citation": c["method"]}


def make_server(atlas, states: pd.DataFrame | None = None, host: str = "127.0.0.1",
                port: int = 8999) -> HapiServer:
    """A :class:`HapiServer` for ``atlas`` over ``states`` (default: the atlas' own states),
    labelled once here (:func:`~atlas_core.service.labels.window_labels`)."""
    from atlas_core.service.labels import window_labels

    if states is None:
        states = atlas.states
    states = states.reset_index(drop=True)
    labels = window_labels(atlas, states)
    datasets = build_datasets(atlas, states, labels)
    return HapiServer((host, int(port)), datasets, about(atlas))


def serve_in_thread(server: HapiServer) -> threading.Thread:
    """Run ``server.serve_forever`` in a daemon thread (tests, benchmarks)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread

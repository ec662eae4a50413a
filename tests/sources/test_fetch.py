"""``atlas fetch`` against a local HTTP server on 127.0.0.1 that serves the real fixtures in the
shape of the MMS SDC file API (file_info/science, download/science) and an OMNI2 folder."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from atlas_core.cli import main
from atlas_core.sources.fetch import fetch
from atlas_core.sources.layout import parse_name, scan

OMNI_TEXT = "".join(
    f"2015 {d:3d} {h:2d} " + " ".join(["0"] * 52) + "\n" for d in (1, 2) for h in range(24))


class _SDC:
    """State of the fake server: the files it serves and the faults it injects."""

    def __init__(self, files: list[Path]):
        self.files = {p.name: p for p in files}
        self.fail_first: dict[str, int] = {}  # name -> number of 503 answers before success
        self.truncate: set[str] = set()  # names always sent cut short
        self.requests: list[str] = []


def _handler(state: _SDC):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code, body: bytes, ctype="application/octet-stream", length=None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.requests.append(self.path)
            if url.path.endswith("/file_info/science"):
                out = []
                for name, p in sorted(state.files.items()):
                    fn = parse_name(name)
                    if fn is None or fn.instrument != q.get("instrument_id") \
                            or fn.rate != q.get("data_rate_mode") or fn.probe != q.get("sc_id"):
                        continue
                    if q.get("descriptor") and fn.descriptor != q["descriptor"]:
                        continue
                    day = str(fn.day)
                    if not (q["start_date"] <= day <= q["end_date"]):
                        continue
                    out.append({"file_name": name, "file_size": p.stat().st_size,
                                "timetag": str(fn.start)})
                return self._send(200, json.dumps({"files": out}).encode(), "application/json")
            if url.path.endswith("/download/science"):
                name = q.get("file", "")
                if name not in state.files:
                    return self._send(404, b"no such file")
                if state.fail_first.get(name, 0) > 0:
                    state.fail_first[name] -= 1
                    return self._send(503, b"busy")
                body = state.files[name].read_bytes()
                if name in state.truncate:
                    # announce the whole file, send half, then close the connection
                    self.close_connection = True
                    return self._send(200, body[: len(body) // 2], length=len(body))
                return self._send(200, body)
            if url.path.endswith("/omni/omni2_2015.dat"):
                return self._send(200, OMNI_TEXT.encode(), "text/plain")
            return self._send(404, b"not found")

    return Handler


@pytest.fixture
def server(real_data):
    files = sorted((real_data / "mms").glob("mms1_fpi_fast_l2_dis-moms_20151017*.cdf"))
    files += sorted((real_data / "mms").glob("*20151016130524*.cdf"))
    state = _SDC(files)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, state
    httpd.shutdown()
    httpd.server_close()


def test_fetch_into_sdc_layout_then_skip_present(server, tmp_path):
    base, state = server
    out = tmp_path / "mms_data"
    rep = fetch(out, "2015-10-17", "2015-10-18", api=f"{base}/api/v1",
                omni_url=f"{base}/omni", backoff_s=0)
    assert rep.failed == []
    assert len(rep.downloaded) == 7 + 1  # seven FPI files and omni2_2015.dat
    cat = scan(out)
    assert len(cat.files["fpi-dis"]) == 7 and not cat.skipped
    for p in cat.files["fpi-dis"]:
        assert "fpi/fast/l2/dis-moms/2015/10" in str(p.path)
        assert p.path.stat().st_size == state.files[p.path.name].stat().st_size
    assert (out / "omni" / "omni2_2015.dat").read_text() == OMNI_TEXT
    n_downloads = sum("/download/" in r for r in state.requests)
    again = fetch(out, "2015-10-17", "2015-10-18", api=f"{base}/api/v1",
                  omni_url=f"{base}/omni", backoff_s=0)
    assert again.downloaded == [] and len(again.present) == 8
    assert sum("/download/" in r for r in state.requests) == n_downloads
    # a file of the wrong size on disk is fetched again
    victim = cat.files["fpi-dis"][0].path
    victim.write_bytes(b"short")
    third = fetch(out, "2015-10-17", "2015-10-18", api=f"{base}/api/v1", omni=False,
                  backoff_s=0)
    assert third.downloaded == [str(victim)]
    assert victim.stat().st_size == state.files[victim.name].stat().st_size


def test_fetch_retries_and_never_leaves_partial_files(server, tmp_path):
    base, state = server
    names = sorted(n for n in state.files if "fast" in n)
    state.fail_first[names[0]] = 2  # recovers on the third try
    state.truncate.add(names[1])  # never completes
    out = tmp_path / "d"
    rep = fetch(out, "2015-10-17", "2015-10-18", api=f"{base}/api/v1", omni=False,
                retries=2, backoff_s=0)
    assert [e["file"] for e in rep.failed] == [names[1]]
    assert "incomplete" in rep.failed[0]["error"] or "Connection" in rep.failed[0]["error"] \
        or "IncompleteRead" in rep.failed[0]["error"]
    assert len(rep.downloaded) == 6
    got = {Path(p).name for p in rep.downloaded}
    assert names[0] in got and names[1] not in got
    # no partial or temporary file anywhere
    assert not [p for p in out.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert not list(out.rglob(names[1]))


def test_fetch_cli_burst_rates(server, tmp_path, capsys):
    base, _ = server
    rc = main(["fetch", "--start", "2015-10-16", "--end", "2015-10-17", "--out",
               str(tmp_path / "b"), "--fgm-rate", "brst", "--fpi-rate", "brst", "--no-mec",
               "--no-omni", "--sdc-api", f"{base}/api/v1", "--retries", "0"])
    assert rc == 0
    assert "2 downloaded" in capsys.readouterr().out
    cat = scan(tmp_path / "b", rates={"fgm": "brst", "fpi-dis": "brst"})
    assert [str(d) for d in cat.days()] == ["2015-10-16"]
    assert "/brst/l2/2015/10/16/" in str(cat.files["fgm"][0].path)

"""The HAPI 3.1 server on the small atlas, running, read with the real ``hapiclient`` and
checked against the specification's rules (HAPI 3.1: time formats, parameter subsets, time
ranges, 14xx status codes, include=header, HEAD)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest


def _get(url: str, method: str = "GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.reason, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.reason, err.headers, err.read()


def _status(url):
    code, reason, _, body = _get(url)
    return code, json.loads(body)["status"]["code"], reason


@pytest.fixture(scope="module")
def span(hapi_server, opened_atlas):
    base, server = hapi_server
    ds = server.datasets["mms1_regime_labels"]
    t = ds.times
    day = pd.Timestamp(t[len(t) // 2]).floor("D")
    return base, day, ds


def test_binds_localhost_and_lists_datasets(hapi_server):
    base, server = hapi_server
    assert server.server_address[0] == "127.0.0.1"
    code, _, headers, body = _get(f"{base}/capabilities")
    assert code == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["outputFormats"] == ["csv", "binary"]
    cat = json.loads(_get(f"{base}/catalog")[3])
    assert cat["HAPI"] == "3.1" and cat["status"]["code"] == 1200
    assert {d["id"] for d in cat["catalog"]} == {"mms1_regime_labels", "mms1_window_features"}
    about = json.loads(_get(f"{base}/about")[3])
    assert about["id"] and about["title"] and about["contact"]
    assert b"mms1_regime_labels" in _get(base)[3]  # the landing page


def test_info_units_fill_and_subsets(span):
    base, _, _ = span
    info = json.loads(_get(f"{base}/info?dataset=mms1_window_features")[3])
    params = {p["name"]: p for p in info["parameters"]}
    assert info["parameters"][0] == {"name": "Time", "type": "isotime", "units": "UTC",
                                     "fill": None, "length": 24,
                                     "description": "window centre (2-minute window)"}
    assert params["position_gsm"]["size"] == [3] and params["position_gsm"]["units"] == "R_E"
    assert params["n_mean"]["units"] == "cm^-3" and params["T_mean"]["units"] == "eV"
    assert params["dst"]["fill"] == "-1.0E31" and float(params["dst"]["fill"]) == -1e31
    assert info["startDate"].endswith("Z") and info["startDate"] < info["stopDate"]
    sub = json.loads(_get(f"{base}/info?dataset=mms1_window_features&parameters=B_mean,dst")[3])
    assert [p["name"] for p in sub["parameters"]] == ["Time", "B_mean", "dst"]
    labels = json.loads(_get(f"{base}/info?dataset=mms1_regime_labels")[3])
    probs = next(p for p in labels["parameters"] if p["name"] == "probabilities")
    assert probs["size"] == [len(probs["label"])] and probs["units"] == "dimensionless"
    assert labels["x_label_temperature"] == 1.0  # no temperature saved in the small atlas


def test_hapiclient_reads_csv_and_binary_identically(span, opened_atlas, tmp_path):
    from hapiclient import hapi

    base, day, ds = span
    start = day.strftime("%Y-%m-%dT%H:%M:%SZ")
    stop = (day + pd.Timedelta("1D")).strftime("%Y-%m-%dT%H:%M:%SZ")
    opts = {"cache": False, "usecache": False, "cachedir": str(tmp_path), "logging": False}
    csv, meta = hapi(base, "mms1_regime_labels", "", start, stop, format="csv", **opts)
    binary, _ = hapi(base, "mms1_regime_labels", "", start, stop, format="binary", **opts)
    assert meta["status"]["code"] == 1200 and len(csv) == len(binary) > 0
    assert (csv["Time"] == binary["Time"]).all()
    np.testing.assert_array_equal(csv["regime"], binary["regime"])
    np.testing.assert_allclose(csv["probabilities"], binary["probabilities"], rtol=1e-5, atol=1e-300)
    # the records are the server's labels of those windows
    i0, i1 = ds.rows(np.datetime64(day, "ns"), np.datetime64(day + pd.Timedelta("1D"), "ns"))
    p = ds._by_name["probabilities"].values[i0:i1]
    np.testing.assert_allclose(binary["probabilities"], p)
    names = [n for n in csv["regime_name"]]
    assert names == [opened_atlas.names[r] for r in binary["regime"]]
    feats, _ = hapi(base, "mms1_window_features", "position_gsm,dst", start, stop,
                    format="binary", **opts)
    st = opened_atlas.states
    sel = st[(st["time"] >= day) & (st["time"] < day + pd.Timedelta("1D"))].sort_values("time")
    np.testing.assert_allclose(feats["position_gsm"], sel[["x_gsm", "y_gsm", "z_gsm"]].to_numpy())


def test_time_formats_and_stop_exclusive(span):
    base, day, ds = span
    url = f"{base}/data?dataset=mms1_regime_labels&parameters=regime"
    d = day.strftime("%Y-%m-%d")
    doy = day.strftime("%Y-%j")
    nxt = (day + pd.Timedelta("1D")).strftime("%Y-%m-%d")
    bodies = [_get(f"{url}&start={a}&stop={b}")[3] for a, b in (
        (f"{d}T00:00:00.000Z", f"{nxt}T00:00:00.000Z"), (f"{d}Z", f"{nxt}Z"), (d, nxt),
        (f"{doy}Z", f"{nxt}T00Z"), (f"{d}T00:00Z", f"{nxt}T00:00:00Z"))]
    assert len(bodies[0]) > 0 and all(b == bodies[0] for b in bodies)
    lines = bodies[0].decode().splitlines()
    first = lines[0].split(",")[0]
    # stop is exclusive: asking up to the first record's time returns nothing before it
    code, reason, _, body = _get(f"{url}&start={d}Z&stop={first}")
    assert code == 200 and body == b"" and "1201" in reason
    # v2 request names are accepted by a 3.x server
    assert _get(f"{base}/data?id=mms1_regime_labels&parameters=regime&time.min={d}Z"
                f"&time.max={nxt}Z")[3] == bodies[0]


def test_include_header_and_head(span):
    base, day, _ = span
    d, nxt = day.strftime("%Y-%m-%d"), (day + pd.Timedelta("1D")).strftime("%Y-%m-%d")
    _, _, _, body = _get(f"{base}/data?dataset=mms1_regime_labels&start={d}&stop={nxt}"
                         "&parameters=p&include=header")
    text = body.decode()
    header = "".join(line[1:] + "\n" for line in text.splitlines() if line.startswith("#"))
    info = json.loads(header)
    assert info["format"] == "csv" and [p["name"] for p in info["parameters"]] == ["Time", "p"]
    data = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(data) > 0 and all(len(line.split(",")) == 2 for line in data)
    code, _, headers, body = _get(f"{base}/catalog", method="HEAD")
    assert code == 200 and body == b"" and int(headers["Content-Length"]) > 0
    code, _, headers, body = _get(f"{base}/data?dataset=mms1_regime_labels&start={d}&stop={nxt}",
                                  method="HEAD")
    assert code == 200 and body == b"" and headers["Content-Type"] == "text/csv"
    # on one kept-alive connection, a HEAD leaves no stray bytes before the next response
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("HEAD", f"{u.path}/data?dataset=mms1_regime_labels&start={d}&stop={nxt}")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b""
    conn.request("GET", f"{u.path}/capabilities")
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())["outputFormats"] == ["csv", "binary"]
    conn.close()


@pytest.mark.parametrize("query,http,hapi_code", [
    ("catalog?x=1", 400, 1401),
    ("dataz", 400, 1400),
    ("info?dataset=nope", 404, 1406),
    ("info", 400, 1400),
    ("info?dataset=mms1_regime_labels&parameters=nope", 404, 1407),
    ("info?dataset=mms1_regime_labels&parameters=p,regime", 400, 1411),
    ("info?dataset=mms1_regime_labels&parameters=p,p", 400, 1411),
    ("data?dataset=mms1_regime_labels&start=2016-13-01&stop=2016-02-01", 400, 1402),
    ("data?dataset=mms1_regime_labels&start=yesterday&stop=2016-02-01", 400, 1402),
    ("data?dataset=mms1_regime_labels&start=2016-01-01&stop=2016-01-32", 400, 1403),
    ("data?dataset=mms1_regime_labels&stop=2016-01-02", 400, 1402),
    ("data?dataset=mms1_regime_labels&start=2016-01-02&stop=2016-01-01", 400, 1404),
    ("data?dataset=mms1_regime_labels&start=2016-01-02&stop=2016-01-02", 400, 1404),
    ("data?dataset=mms1_regime_labels&start=1990-01-01&stop=1990-02-01", 400, 1405),
    ("data?dataset=mms1_regime_labels&start=2030-001&stop=2030-002", 400, 1405),
    ("data?dataset=mms1_regime_labels&start=2016-01-01&stop=2016-01-02&format=json", 400, 1409),
    ("data?dataset=mms1_regime_labels&start=2016-01-01&stop=2016-01-02&include=all", 400, 1410),
    ("data?dataset=mms1_regime_labels&start=2016-01-01&stop=2016-01-02&averaging=5s", 400, 1401),
    ("data?dataset=mms1_regime_labels&dataset=x&start=2016-01-01&stop=2016-01-02", 400, 1400),
])
def test_bad_requests_get_hapi_error_codes(hapi_server, query, http, hapi_code):
    base, _ = hapi_server
    code, status, reason = _status(f"{base}/{query}")
    assert (code, status) == (http, hapi_code)
    assert f"HAPI {hapi_code}" in reason
    # the error does not echo the request
    assert "yesterday" not in reason and "nope" not in reason


def test_server_over_another_state_table(opened_atlas):
    """``atlas hapi ATLAS --states STATES``: the datasets cover the given windows only."""
    from atlas_core.service.hapi import make_server

    st = opened_atlas.states.iloc[:500].drop(columns=["code", "leaf"])
    server = make_server(opened_atlas, st, port=0)
    try:
        ds = server.datasets["mms1_regime_labels"]
        assert len(ds.times) == 500
        np.testing.assert_array_equal(ds.times, st["time"].to_numpy("datetime64[ns]"))
        feats = server.datasets["mms1_window_features"]
        np.testing.assert_allclose(feats._by_name["n_mean"].values, st["n_mean"].to_numpy())
    finally:
        server.server_close()

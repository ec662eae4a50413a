"""``atlas inspect``: one JSON object per file, errors reported per file, non-zero exit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mms_testfiles import write_fpi

from atlas_core.cli import main

KEYS = {"file", "product", "start", "end", "records", "valid_fraction", "medians"}


def _run(capsys, *files):
    rc = main(["inspect", "--json", *map(str, files)])
    lines = capsys.readouterr().out.strip().splitlines()
    return rc, [json.loads(x) for x in lines]


def test_inspect_real_files(real_data, capsys):
    fgm = real_data / "mms" / "mms1_fgm_brst_l2_20151016130524_v4.18.1.cdf"
    fpi = real_data / "mms" / "mms1_fpi_fast_l2_dis-moms_20151017040000_v3.4.0.cdf"
    dst = real_data / "indices" / "kyoto_dst_final_2015_2016.txt"
    rc, out = _run(capsys, fgm, fpi, dst)
    assert rc == 0 and len(out) == 3
    for o in out:
        assert KEYS <= set(o)
    f, p, d = out
    assert f["product"] == "fgm" and f["records"] == 17792 and f["valid_fraction"] == 1.0
    assert f["start"].startswith("2015-10-16T13:05:24") and 10 < f["medians"]["B"] < 80
    assert len(f["medians"]["r_gsm"]) == 3 and 8 < f["medians"]["r_gsm"][0] < 9
    assert p["product"] == "fpi-dis" and p["records"] == 860
    assert 30 < p["medians"]["n"] < 100 and p["medians"]["T"] > 0 and p["medians"]["V"] > 0
    assert d["product"] == "dst" and d["records"] == 731 * 24
    assert d["start"].startswith("2015-01-01") and -30 < d["medians"]["dst"] < 0


def test_inspect_reports_every_bad_file_and_exits_nonzero(real_data, tmp_path, capsys):
    # five of the real 2015-12-01 FPI files were cut short in transfer: they fail their MD5
    truncated = real_data / "mms" / "mms1_fpi_fast_l2_dis-moms_20151201000000_v3.3.0.cdf"
    good = real_data / "mms" / "mms1_fpi_fast_l2_dis-moms_20151201100000_v3.3.0.cdf"
    junk = tmp_path / "junk.cdf"
    junk.write_text("nope")
    missing = tmp_path / "missing.cdf"
    rc, out = _run(capsys, truncated, junk, good, missing)
    assert rc == 1 and len(out) == 4
    assert set(out[0]) == {"file", "error"} and "checksum" in out[0]["error"]
    assert "not a CDF" in out[1]["error"] and out[1]["file"] == str(junk)
    assert out[2]["product"] == "fpi-dis" and out[2]["records"] == 1600
    assert "not found" in out[3]["error"]


def test_inspect_valid_fraction_counts_fills(tmp_path, capsys):
    t = np.datetime64("2015-10-20T10:00", "ns") + (np.arange(10) * 4.5e9).astype(
        "timedelta64[ns]")
    n = np.array([1, 2, 3, 4, 5, 6, 7, 8, -1e31, np.nan])
    path = write_fpi(tmp_path / "x.cdf", t, n, np.zeros((10, 3)), np.ones(10), np.ones(10))
    rc, (o,) = _run(capsys, path)
    assert rc == 0 and o["records"] == 10
    assert o["valid_fraction"] == pytest.approx(0.8)
    assert o["medians"]["n"] == pytest.approx(4.5)

"""Bad input: each case gets a clear message naming the file and the problem, and an ingest
goes on with the rest, reporting what it skipped."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from mms_testfiles import fpi_name, write_fgm, write_fpi

from atlas_core.pipeline import ingest
from atlas_core.sources.cdf import SourceError
from atlas_core.sources.indices import read_dst_wdc, read_omni2
from atlas_core.sources.layout import scan, sdc_relpath
from atlas_core.sources.mms import read_fgm, read_fpi_dis
from atlas_core.states import read_states

T0 = np.datetime64("2015-10-20T10:00", "ns")


def _secs(s):
    return T0 + (np.asarray(s, dtype=float) * 1e9).astype("timedelta64[ns]")


def _fpi(path, **kw):
    t = _secs(np.arange(0, 600, 4.5))
    m = t.size
    args = dict(n=np.full(m, 5.0), v_gse=np.tile([-300.0, 0, 0], (m, 1)),
                t_para=np.full(m, 80.0), t_perp=np.full(m, 80.0))
    args.update(kw.pop("arrays", {}))
    return write_fpi(path, kw.pop("times", t), **args, **kw)


def test_truncated_cdf(tmp_path):
    good = _fpi(tmp_path / "good.cdf")
    bad = tmp_path / fpi_name("2015-10-20T10")
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(SourceError) as err:
        read_fpi_dis(bad)
    assert err.value.file == str(bad)
    assert "truncated" in err.value.problem or "checksum" in err.value.problem


def test_corrupt_cdf_fails_its_checksum(tmp_path):
    path = _fpi(tmp_path / "x.cdf")
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 8] = b"\x55" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="checksum"):
        read_fpi_dis(path)


def test_non_cdf_file(tmp_path):
    path = tmp_path / fpi_name("2015-10-20T10")
    path.write_text("<html>404 Not Found</html>")
    with pytest.raises(SourceError, match="not a CDF file") as err:
        read_fpi_dis(path)
    assert path.name in str(err.value)
    empty = tmp_path / "empty.cdf"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        read_fgm(empty)


def test_missing_variable(tmp_path):
    path = _fpi(tmp_path / "x.cdf", omit=("n",))
    with pytest.raises(SourceError, match="missing variable.*mms1_dis_numberdensity_fast"):
        read_fpi_dis(path)


def test_fill_values_nan_and_flags_become_nan(tmp_path):
    t = _secs(np.arange(0, 600, 4.5))
    m = t.size
    n = np.full(m, 5.0)
    n[3] = -1e31  # ISTP fill
    n[4] = np.nan
    n[5] = -2.0  # below VALIDMIN
    flags = np.zeros(m, np.uint32)
    flags[6] = 1  # FPI manual "bad" flag
    flags[7] = 8192  # a warning bit: the sample stays
    path = _fpi(tmp_path / "x.cdf", times=t, arrays={"n": n}, flags=flags)
    ds = read_fpi_dis(path)
    assert np.isnan(ds["n"].values[[3, 4, 5, 6]]).all()
    assert np.isnan(ds["t"].values[6]) and np.isfinite(ds["n"].values[7])
    assert ds.attrs["n_flagged"] == 1
    b = np.tile([1.0, 2.0, 2.0], (600, 1))
    b[10] = np.nan
    flag = np.zeros(600, np.uint32)
    flag[11] = 4
    fgm = read_fgm(write_fgm(tmp_path / "f.cdf", _secs(np.arange(600)), b, flag=flag))
    assert np.isnan(fgm["b_total"].values[[10, 11]]).all()
    assert fgm["b_total"].values[12] == pytest.approx(3.0)


def test_duplicate_and_out_of_order_records(tmp_path):
    t = _secs(np.arange(0, 90, 4.5))
    order = np.r_[0, 2, 1, 3, 3, 4:t.size]  # a swap and a duplicate
    m = order.size
    path = _fpi(tmp_path / "x.cdf", times=t[order],
                arrays={"n": np.arange(m, dtype=float) + 1, "v_gse": np.zeros((m, 3)),
                        "t_para": np.ones(m), "t_perp": np.ones(m)})
    ds = read_fpi_dis(path)
    assert ds.sizes["time"] == t.size
    assert np.all(np.diff(ds.time.values) > np.timedelta64(0))
    assert ds.attrs["n_duplicates"] == 1 and ds.attrs["n_out_of_order"] >= 1
    assert ds["n"].values[1] == 3.0 and ds["n"].values[2] == 2.0  # sorted with their values


def test_dst_line_with_9999(tmp_path):
    vals = [5] * 24
    vals[7] = 9999

    def line(day, values):
        return (f"DST1510*{day:02d}  X220   0" + "".join(f"{v:4d}" for v in values)
                + f"{0:4d}")

    path = tmp_path / "dst.txt"
    path.write_text(line(20, vals) + "\n" + line(21, [-30] * 24) + "\n")
    df = read_dst_wdc(path)
    assert len(df) == 48 and np.isnan(df["dst"].iloc[7]) and df["dst"].iloc[8] == 5
    assert df.attrs["n_missing"] == 1
    bad = tmp_path / "bad.txt"
    bad.write_text(line(20, vals)[:60] + "\n")
    with pytest.raises(SourceError, match=r"line 1: not a Kyoto WDC Dst line") as err:
        read_dst_wdc(bad)
    assert err.value.file == str(bad)
    with pytest.raises(SourceError, match="not OMNI2"):
        read_omni2(path)


def test_wrong_product_in_folder_and_in_content(tmp_path, make_day):
    fgm, fpi = make_day(tmp_path, "2015-10-20", fgm_cadence_s=8.0)
    # an FPI file dropped into the FGM folder
    stray = fgm.parent / fpi.name
    shutil.copy(fpi, stray)
    cat = scan(tmp_path)
    msgs = {e["file"]: e["error"] for e in cat.skipped}
    assert "wrong product in folder" in msgs[str(stray)]
    # an FPI file renamed as an FGM file: the content says what it is
    renamed = tmp_path / "mms1_fgm_srvy_l2_20151021_v4.18.0.cdf"
    shutil.copy(fpi, renamed)
    with pytest.raises(SourceError, match="wrong product: file holds MMS fpi dis-moms fast"):
        read_fgm(renamed)


def test_ingest_skips_bad_files_and_keeps_the_rest(tmp_path, make_day):
    root = tmp_path / "archive"
    make_day(root, "2015-10-20", hours=(10, 12), fgm_cadence_s=8.0)
    make_day(root, "2015-10-21", hours=(10, 12), fgm_cadence_s=8.0)
    # a second FPI file on 10-21 that is corrupt, a non-CDF on 10-20, Dst with a bad file
    good = root / sdc_relpath(fpi_name("2015-10-21T10"))
    corrupt = root / sdc_relpath(fpi_name("2015-10-21T12"))
    data = bytearray(good.read_bytes())
    data[5000:5010] = b"\x00" * 10
    corrupt.write_bytes(bytes(data))
    junk = root / sdc_relpath(fpi_name("2015-10-20T14"))
    junk.write_text("not a cdf")
    odd = root / "mms1" / "fgm" / "notes.cdf"
    odd.write_text("x")
    dst_bad = tmp_path / "dst_bad.txt"
    dst_bad.write_text("garbage\n")
    rep = ingest(root, tmp_path / "states", dst=[dst_bad], progress=False)
    skipped = {e["file"]: e["error"] for e in rep.skipped_files}
    assert "checksum" in skipped[str(corrupt)]
    assert "not a CDF file" in skipped[str(junk)]
    assert "not an MMS SDC file name" in skipped[str(odd)]
    assert "Kyoto" in skipped[str(dst_bad)]
    assert rep.days_done == 2 and rep.days_failed == 0
    df = read_states(tmp_path / "states")
    assert (df["time"].dt.day.value_counts().sort_index() == [119, 119]).all()
    prov = json.loads((tmp_path / "states" / "_provenance.json").read_text())
    assert prov["synthetic"] is False and prov["states"] == 238
    assert {e["file"] for e in prov["skipped"]} >= {str(corrupt), str(junk), str(dst_bad)}
    assert str(good) in prov["files"] and str(corrupt) not in prov["files"]
    assert pd.Timestamp("2015-10-21T11:59") in set(df["time"])


def test_other_mms_products_are_ignored_quietly(tmp_path, make_day):
    make_day(tmp_path, "2015-10-20", fgm_cadence_s=8.0)
    others = ["mms1_edp_fast_l2_dce_20151020000000_v2.1.0.cdf",
              "mms1_fpi_fast_l2_des-moms_20151020100000_v3.4.0.cdf",
              "mms1_fgm_srvy_l1b_20151020_v4.18.0.cdf",
              "mms2_fgm_srvy_l2_20151020_v4.18.0.cdf"]
    for name in others:
        dest = tmp_path / sdc_relpath(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"not read")
    cat = scan(tmp_path)
    assert cat.skipped == []
    assert [len(cat.files[p]) for p in ("fgm", "fpi-dis", "mec")] == [1, 1, 0]


def _damage_fillval_record(src, dest, variable: str):
    """Copy a real CDF, corrupting the FILLVAL attribute entry of ``variable`` (its data type
    becomes 99, which no CDF type is), and write a valid MD5 again, so that the file opens
    and its data read but its attributes do not."""
    import hashlib
    import struct

    import cdflib

    data = bytearray(src.read_bytes())
    num = cdflib.CDF(str(src)).varinq(variable).Num
    adr = data.find(b"FILLVAL\x00") - 68  # the ADR: name at byte 68 (CDF v3 layout)
    entry = struct.unpack(">q", data[adr + 48: adr + 56])[0]  # AzEDRhead
    while entry:
        _, _, nxt, _, _, var_num = struct.unpack(">qiqiii", data[entry: entry + 32])
        if var_num == num:
            struct.pack_into(">i", data, entry + 24, 99)  # DataType
            break
        entry = nxt
    else:
        raise AssertionError("no FILLVAL entry for " + variable)
    data[-16:] = hashlib.md5(bytes(data[:-16])).digest()
    dest.write_bytes(bytes(data))
    return dest


def test_unreadable_attributes_are_reported_and_the_file_skipped(real_data, tmp_path):
    """Fill values are masked from the FILLVAL attribute: a file whose attribute record cannot
    be read is an error naming the file and the variable (it used to be read with fill
    masking silently off), and a multi-file read reports it and goes on."""
    import cdflib

    from atlas_core.sources.mms import read_many

    paths = sorted((real_data / "mms").glob("mms1_fpi_fast_l2_dis-moms_20151017*"))
    bad = _damage_fillval_record(paths[1], tmp_path / paths[1].name,
                                 "mms1_dis_numberdensity_fast")
    raw = cdflib.CDF(str(bad), validate=True)  # the file opens and its data read ...
    assert raw.varget("mms1_dis_numberdensity_fast").shape == (1600,)
    with pytest.raises(TypeError):  # ... its attributes do not (numpy: unknown data type)
        raw.varattsget("mms1_dis_numberdensity_fast")
    with pytest.raises(SourceError) as err:
        read_fpi_dis(bad)
    assert err.value.file == str(bad)
    assert "attributes of mms1_dis_numberdensity_fast" in err.value.problem
    errors: list = []
    ds = read_many("fpi-dis", [paths[0], bad, paths[2]], errors=errors)
    assert [e["file"] for e in errors] == [str(bad)]
    assert ds.attrs["records"] == 860 + 1600

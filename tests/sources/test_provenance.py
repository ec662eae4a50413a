"""Provenance of joined files and of the ingest: every file, its version, its records."""

from __future__ import annotations

from atlas_core.sources.mms import read_many


def test_joined_real_files_keep_every_file(real_data):
    """The seven real FPI fast files of 2015-10-17 hold 9,299 records (860, 5 x 1,600, 439;
    ../shared/real-data/README.md): the join reports each file with its version and record
    count, and their sum (it kept the first file's 860)."""
    paths = sorted((real_data / "mms").glob("mms1_fpi_fast_l2_dis-moms_20151017*"))
    ds = read_many("fpi-dis", paths)
    assert ds.attrs["records"] == 9299 == ds.sizes["time"]
    files = ds.attrs["files"]
    assert [f["file"] for f in files] == [str(p) for p in paths]
    assert [f["records"] for f in files] == [860, 1600, 1600, 1600, 1600, 1600, 439]
    assert {f["version"] for f in files} == {"3.4.0"} and ds.attrs["version"] == ["3.4.0"]
    assert all(f["time_offset_s"] == 2.25 for f in files)
    # a join of joins keeps them all
    again = read_many("fpi-dis", paths[:3])
    assert again.attrs["records"] == 860 + 2 * 1600 and len(again.attrs["files"]) == 3

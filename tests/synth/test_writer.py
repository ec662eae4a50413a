"""The index writers against real files: the OMNI2 writer reproduces SPDF's own hourly file."""

import numpy as np

from atlas_core.synth import writer


def test_omni2_writer_reproduces_spdf_file_byte_for_byte(real_data, tmp_path):
    """All 55 words of the real omni2_2015.dat (8,760 hours), written back through the
    column-vectorised writer, give SPDF's file byte for byte: its Fortran layout (widths,
    decimals, F9.0's trailing point, signed zeros, fills) is the writer's."""
    real = real_data / "indices" / "omni2_2015.dat"
    table = np.loadtxt(real)
    assert table.shape == (8760, 55)
    hours = (np.datetime64("2015-01-01T00", "ns")
             + ((table[:, 1] - 1) * 24 + table[:, 2]).astype(np.int64) * np.timedelta64(1, "h"))
    out = tmp_path / "omni2_2015.dat"
    writer.write_omni2(out, hours, {k: table[:, k - 1] for k in range(5, 56)})
    assert out.read_bytes() == real.read_bytes()


def test_omni2_writer_writes_fill_for_values_that_do_not_fit(tmp_path):
    """A value wider than its Fortran field (Fortran prints asterisks, and the words would run
    together) or not finite is written as the word's fill value, OMNI's "missing", so every
    line keeps its 55 whitespace-separated words and the reader sees NaN there."""
    from atlas_core.sources.indices import read_omni2

    hours = np.datetime64("2016-01-01T00", "ns") + np.arange(3) * np.timedelta64(1, "h")
    out = tmp_path / "omni2_2016.dat"
    n_fill = writer.write_omni2(out, hours, {29: np.array([1.5, 1234.5, np.nan]),
                                             24: np.array([5.0, 6.0, 7.0])})  # 29 is F6.2
    assert n_fill == 2
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and all(len(ln.split()) == 55 for ln in lines)
    df = read_omni2(out)
    assert df["sw_pdyn"].iloc[0] == 1.5 and df["sw_pdyn"].iloc[1:].isna().all()
    assert list(df["sw_n"]) == [5.0, 6.0, 7.0]

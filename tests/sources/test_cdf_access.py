"""The fast paths of the CDF access layer give what cdflib's public API gives, on the real
MMS, Cluster and THEMIS files: attributes read in one pass, TT2000 converted in numpy."""

from __future__ import annotations

import cdflib
import numpy as np

from atlas_core.sources.cdf import _leap_seconds, tt2000_to_utc, var_attributes


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray | np.generic) or isinstance(b, np.ndarray | np.generic):
        a, b = np.asarray(a), np.asarray(b)
        return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b


def test_attributes_equal_varattsget_on_every_real_file(real_data):
    files = sorted(real_data.glob("*/*.cdf"))
    assert len(files) >= 25
    checked = 0
    for path in files:
        ours, theirs = cdflib.CDF(str(path)), cdflib.CDF(str(path))
        for name in theirs.cdf_info().zVariables:
            want = theirs.varattsget(name)
            got = var_attributes(ours, path, name)
            assert set(got) == set(want), (path.name, name)
            assert all(_same(got[k], want[k]) for k in want), (path.name, name)
            checked += 1
    assert checked > 1000


def test_tt2000_to_utc_equals_cdflib(real_data):
    """On every real MMS file's Epoch, on random times 1973-2035, and across every leap second
    (23:59:60.x becomes 00:00:00.x of the next day, as cdflib gives it)."""
    for path in sorted((real_data / "mms").glob("*.cdf")):
        raw = cdflib.CDF(str(path)).varget("Epoch")
        np.testing.assert_array_equal(
            tt2000_to_utc(raw), np.asarray(cdflib.cdfepoch.to_datetime(raw), "datetime64[ns]"))
    lo = cdflib.cdfepoch.compute_tt2000([1973, 1, 1, 0, 0, 0, 0, 0, 0])
    hi = cdflib.cdfepoch.compute_tt2000([2035, 1, 1, 0, 0, 0, 0, 0, 0])
    tt = np.random.default_rng(0).integers(lo, hi, 100_000)
    at, _ = _leap_seconds()
    near = np.concatenate([a + np.arange(-2_000_000_000, 2_000_000_000, 50_000_000)
                           for a in at[at > lo]])
    tt = np.concatenate([tt, near])
    np.testing.assert_array_equal(
        tt2000_to_utc(tt), np.asarray(cdflib.cdfepoch.to_datetime(tt), "datetime64[ns]"))

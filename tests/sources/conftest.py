"""Fixtures for the data-layer tests; the CDF writers live in ``mms_testfiles.py``."""

from __future__ import annotations

import pytest
from mms_testfiles import plasma_day


@pytest.fixture
def make_day():
    """``make_day(root, "YYYY-MM-DD", ...)``: one day of constant plasma in the SDC layout."""
    return plasma_day

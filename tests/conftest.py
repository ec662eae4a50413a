"""Shared fixtures: the real-data folder, and a small synthetic pipeline built once per run.

The small pipeline (a dozen days spread over a year, so that apogee visits every local time)
goes through the real code path: synth -> CDF files -> ingest -> states -> atlas.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DATA = Path(
    os.environ.get("ATLAS_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "real-data")
)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/real-data``: real MMS and Kyoto Dst files (tests skip without it)."""
    if not (REAL_DATA / "mms").is_dir():
        pytest.skip(f"real-data folder not found at {REAL_DATA} (set ATLAS_REAL_DATA)")
    return REAL_DATA


@pytest.fixture(scope="session")
def synth_archive(tmp_path_factory) -> Path:
    """A small synthetic archive: every 30th day of 2015-09-01 .. 2016-09-01, seed 0."""
    from atlas_core.synth import generate_archive

    out = tmp_path_factory.mktemp("synth")
    generate_archive(out, start="2015-09-01", end="2016-09-01", seed=0, every_nth_day=30)
    return out


@pytest.fixture(scope="session")
def synth_states(synth_archive, tmp_path_factory) -> Path:
    """The state table ingested from :func:`synth_archive` (with truth regions and OMNI)."""
    from atlas_core.pipeline import ingest

    out = tmp_path_factory.mktemp("states")
    indices = synth_archive / "indices"
    ingest(
        synth_archive,
        out,
        dst=sorted(indices.glob("dst_*.wdc")),
        omni=sorted(indices.glob("omni2_*.dat")),
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def small_atlas(synth_states, tmp_path_factory) -> Path:
    """An atlas directory built from :func:`synth_states` (octree, a short VQ-VAE training of
    3 epochs with seed 0, the atlas dataset): ``atlas_core.atlas.Atlas.open(small_atlas)``."""
    from atlas_core.atlas import build_atlas

    out = tmp_path_factory.mktemp("atlas")
    build_atlas(synth_states, out, train_config={"max_epochs": 3, "seed": 0})
    return out

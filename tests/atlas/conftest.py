"""Fixtures for the atlas tests: the shared ``small_atlas`` (root conftest) and an atlas built
without some days, whose states serve as held-out normal states for the anomaly score."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def states_df(synth_states):
    from atlas_core.states import read_states

    return read_states(synth_states)


@pytest.fixture(scope="session")
def heldout(states_df, tmp_path_factory):
    """(atlas dir, held-out states): an atlas trained and built on the small synthetic archive
    minus every fourth 2-hour block of time; those blocks are held out (whole days would hold
    out one season's regions only, as the orbit's apogee sweeps local time over the year)."""
    from atlas_core.atlas import build_atlas
    from atlas_core.atlas.evaluate import split_blocks

    held = split_blocks(states_df)
    out = tmp_path_factory.mktemp("atlas_heldout")
    build_atlas(states_df[~held].reset_index(drop=True), out,
                train_config={"max_epochs": 4, "seed": 1})
    return out, states_df[held].reset_index(drop=True)

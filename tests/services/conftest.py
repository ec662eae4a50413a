"""Fixtures for the services tests: the small synthetic atlas of the root conftest, its driver
files, and a HAPI server on it running in a thread on a free port of 127.0.0.1."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def driver_files(synth_archive):
    """The small archive's OMNI2 and Kyoto Dst files (they cover the whole year)."""
    ind = synth_archive / "indices"
    return sorted(ind.glob("omni2_*.dat")) + sorted(ind.glob("dst_*.wdc"))


@pytest.fixture(scope="session")
def opened_atlas(small_atlas):
    from atlas_core.atlas import Atlas

    return Atlas.open(small_atlas)


@pytest.fixture(scope="session")
def hapi_server(opened_atlas):
    """(base URL, server) of a HAPI server on the small atlas (port chosen by the OS)."""
    from atlas_core.service.hapi import make_server, serve_in_thread

    server = make_server(opened_atlas, port=0)
    serve_in_thread(server)
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/hapi", server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def even_weeks(synth_states, tmp_path_factory):
    """(atlas built on the even weeks of the small archive, the odd weeks' states): whole
    weeks held out, for the label-calibration check."""
    from atlas_core.atlas import build_atlas
    from atlas_core.atlas.calibrate import split_halves
    from atlas_core.states import read_states

    states = read_states(synth_states)
    train = split_halves(states["time"], "week")
    out = tmp_path_factory.mktemp("atlas_even_weeks")
    build_atlas(states[train].reset_index(drop=True), out,
                train_config={"max_epochs": 3, "seed": 0})
    return out, states[~train].reset_index(drop=True)

"""Any atlas the API can write must serve, or be refused when it is written: build_atlas with
an in-memory model writes model/, and `atlas serve --check` reports a broken atlas (status 2,
a message naming the problem) instead of a traceback."""

from __future__ import annotations

import shutil

import pytest

from atlas_core.atlas import build_atlas
from atlas_core.atlas.errors import AtlasError
from atlas_core.cli import main


@pytest.fixture(scope="module")
def in_memory_atlas(small_atlas, synth_states, tmp_path_factory):
    from atlas_core.regimes import RegimeModel

    model = RegimeModel.load(small_atlas / "model")  # a trained model, in memory
    out = tmp_path_factory.mktemp("in_memory") / "atlas"
    build_atlas(synth_states, out, model=model)
    return out, model


def test_in_memory_model_is_written_and_the_atlas_serves(in_memory_atlas, capsys):
    from atlas_core.atlas import Atlas

    out, model = in_memory_atlas
    assert (out / "model" / "model.pt").is_file()
    assert Atlas.open(out).model.names == model.names
    assert main(["serve", str(out), "--check"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_serve_check_reports_a_missing_model_without_traceback(in_memory_atlas, tmp_path,
                                                               capsys):
    out, _ = in_memory_atlas
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    shutil.rmtree(broken / "model")
    assert main(["serve", str(broken), "--check"]) == 2
    err = capsys.readouterr().err
    assert "atlas serve:" in err and "model" in err and "Traceback" not in err


def test_a_model_that_cannot_be_saved_is_refused_before_writing(synth_states, tmp_path):
    class Unsaveable:  # a model with the regime API but no way to write it
        k, names = 2, ["a", "b"]

        def assign(self, states):
            raise AssertionError("not reached")

    out = tmp_path / "never"
    with pytest.raises(AtlasError, match="save"):
        build_atlas(synth_states, out, model=Unsaveable())
    assert not out.exists()

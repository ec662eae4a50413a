"""``atlas train`` and ``atlas evaluate`` end to end on the small synthetic pipeline."""

from __future__ import annotations

import importlib
import json

import pytest

from atlas_core.cli import main


def _pipeline_ready() -> bool:
    try:
        synth = importlib.import_module("atlas_core.synth")
        importlib.import_module("atlas_core.pipeline")
        states = importlib.import_module("atlas_core.states")
    except ImportError:
        return False
    return hasattr(synth, "generate_archive") and hasattr(states, "read_states")


pytestmark = pytest.mark.skipif(not _pipeline_ready(),
                                reason="synthetic archive / ingest not available yet")


def test_train_then_evaluate(synth_states, tmp_path, capsys):
    out = tmp_path / "model"
    rc = main(["train", "--states", str(synth_states), "--out", str(out), "--epochs", "6",
               "--k", "8"])
    assert rc == 0
    for name in ("octree.npz", "model.pt", "summary.parquet", "codes.parquet",
                 "evaluation.json", "counterpart/model.pt"):
        assert (out / name).exists(), name
    capsys.readouterr()
    assert main(["evaluate", str(out), "--states", str(synth_states)]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("vqvae", "vqvae_unweighted", "kmeans", "gmm"):
        assert set(report[key]) == {"ari", "nmi", "purity"}, key
        assert 0 <= report[key]["purity"] <= 1
    assert 1 <= report["codes_used"] <= 8 and report["perplexity"] >= 1
    assert report["octree"]["n_leaves"] >= report["octree"]["n_nonempty"] > 0
    assert json.loads((out / "evaluation.json").read_text())["vqvae"] == report["vqvae"]


def test_missing_state_table_is_an_error(tmp_path):
    assert main(["train", "--states", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2

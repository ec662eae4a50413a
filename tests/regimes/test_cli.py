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
    rc = main(["train", "--states", str(synth_states), "--out", str(out), "--k", "6",
               "--components", "12", "--no-evaluate"])
    assert rc == 0
    for name in ("octree.npz", "model.pt", "summary.parquet", "codes.parquet",
                 "diagnostics.json"):
        assert (out / name).exists(), name
    capsys.readouterr()
    assert main(["evaluate", str(out), "--states", str(synth_states), "--json",
                 "--k-sweep"]) == 0
    report = json.loads(capsys.readouterr().out)
    ev = report["evaluation"]
    for scores in (ev["scores"]["smoothed"], ev["scores"]["per_state"], ev["kmeans"],
                   ev["gmm"]):
        assert {"ari", "nmi", "purity"} <= set(scores)
        assert 0 <= scores["purity"] <= 1
    assert 1 <= ev["regimes_used"] <= 6 and ev["perplexity"] >= 1
    assert ev["octree"]["n_leaves"] >= ev["octree"]["n_nonempty"] > 0
    assert report["commit"]
    # K from 4 to 20: a mixture of K for every K, the lumped regimes up to the components
    # (on this small table: one component per 1000 training states, at least K = 6)
    rows = report["k_sweep"]["rows"]
    assert [r["k"] for r in rows] == list(range(4, 21))
    assert 6 <= ev["components"] <= 12
    assert all(("lumped_heldout_sequence_nll" in r) == (r["k"] <= ev["components"])
               for r in rows)
    assert json.loads((out / "evaluation.json").read_text())["scores"] == ev["scores"]
    # the tables for the docs
    from atlas_core.commands.evaluate import tables

    text = tables(report)
    assert "| kmeans" in text and "| gmm" in text and "smoothed" in text
    assert text.count("\n| 1") >= 1 and f"commit {report['commit']}" in text


def test_vqvae_is_selectable(synth_states, tmp_path):
    out = tmp_path / "vq"
    assert main(["train", "--states", str(synth_states), "--out", str(out), "--model", "vqvae",
                 "--k", "6", "--epochs", "3", "--no-evaluate"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == "vqvae" and cfg["components"] == 6


def test_missing_state_table_is_an_error(tmp_path):
    assert main(["train", "--states", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2

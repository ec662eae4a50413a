"""Plasma regimes learned without labels: one file per job.

==================  ==============================================================
``data.py``         held-out days and octree-informed sample weights
``mixture.py``      the fine components: a full-covariance Gaussian mixture (EM)
``temporal.py``     passes, transition flux, metastable lumping, HMM smoothing
``train.py``        the training loops (EM mixture or the VQ-VAE of
                    ``atlas_core.vqvae``) and the regimes fitted from them
``model.py``        :class:`RegimeModel`: load, assign, log-likelihood, sample
``summary.py``      the regime summary table and physics-based names
``evaluate.py``     scores against truth, baselines, variants, stability, K sweep
==================  ==============================================================

``from atlas_core.regimes import RegimeModel, train_regimes, RegimeConfig`` is the contract
the atlas build, anomaly scores and the dashboard rely on (TEAM.md C4).
"""

from atlas_core.regimes.data import octree_weights, split_days
from atlas_core.regimes.evaluate import (
    evaluate_model_dir,
    evaluate_regimes,
    k_sweep,
    score_codes,
    stability,
)
from atlas_core.regimes.model import RegimeModel
from atlas_core.regimes.summary import name_regime, name_regimes, regime_summary, summary_markdown
from atlas_core.regimes.train import train_regimes
from atlas_core.vqvae import RegimeConfig

__all__ = ["RegimeConfig", "RegimeModel", "train_regimes", "regime_summary", "name_regime",
           "name_regimes", "summary_markdown", "score_codes", "evaluate_regimes",
           "evaluate_model_dir", "stability", "k_sweep", "octree_weights", "split_days"]

"""A trained regime model: load it, assign states to regimes, evaluate and sample them.

:class:`RegimeModel` holds the scaler (``atlas_core.features``), the fine components (a
:class:`~atlas_core.regimes.mixture.GaussianMixture`, or the VQ-VAE's codes), the regime of
every component and the regimes' one-window transition matrix. Each regime is the mixture of
its components, ``p(x | k) = sum_{c in k} w_c N(x | c) / sum_{c in k} w_c``: a generative
distribution that :meth:`RegimeModel.sample` draws from and :meth:`RegimeModel.log_likelihood`
evaluates. :meth:`RegimeModel.assign` gives every state the regime of highest posterior given
its pass (the table's ``time`` and ``probe`` columns; see ``temporal.py``), or given the state
alone when the table has no time or the model was trained without smoothing.

Model directory::

    model.pt          {"config", "kind", "model" (state dict), "regime_of", "transition"}
                      (torch.load(weights_only=True))
    config.json       RegimeConfig
    scaler.json       FeatureScaler (log10 + standardisation)
    summary.parquet   one row per regime: id, name, count, medians, feature quantiles
    history.json      per-iteration (EM) or per-epoch (VQ-VAE) training log
    diagnostics.json  held-out criteria: mixture NLL, sequence NLL, metastability
    checkpoint.pt     the latest training state (for ``resume=True``)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp, softmax

from atlas_core.features import FeatureScaler, check_states, write_json_atomic
from atlas_core.regimes.mixture import GaussianMixture
from atlas_core.regimes.temporal import find_passes, forward_backward
from atlas_core.states import FEATURES
from atlas_core.vqvae import ARCHITECTURE_FIELDS, VQVAE, RegimeConfig, config_mismatch


def save_torch_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def logsumexp_groups(lp: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """(N, K) ``log sum_{c in k} exp(lp[:, c])`` (a loop over the K groups)."""
    out = np.full((len(lp), k), -np.inf)
    for g in range(k):
        members = groups == g
        if members.any():
            out[:, g] = logsumexp(lp[:, members], axis=1)
    return out


class RegimeModel:
    """A trained regime model (see the module docstring)."""

    def __init__(self, emission, scaler: FeatureScaler, config: RegimeConfig,
                 regime_of: np.ndarray | None = None, transition: np.ndarray | None = None,
                 summary: pd.DataFrame | None = None):
        self.emission, self.scaler, self.config = emission, scaler, config
        if isinstance(emission, VQVAE):
            emission.eval()
        c = config.components
        self.regime_of = (np.arange(c) if regime_of is None
                          else np.asarray(regime_of, dtype=np.int64))
        self.transition = (None if transition is None
                           else np.asarray(transition, dtype=np.float64))
        self._summary = summary

    # --- what it is ---------------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.config.k

    @property
    def net(self) -> VQVAE | None:
        """The VQ-VAE (``None`` for a mixture model)."""
        return self.emission if isinstance(self.emission, VQVAE) else None

    @property
    def summary(self) -> pd.DataFrame:
        if self._summary is None:
            raise RuntimeError("regime model has no summary (assign states and call "
                               "regime_summary)")
        return self._summary

    @property
    def names(self) -> list[str]:
        return self.summary["name"].tolist()

    def regime_log_weight(self) -> np.ndarray:
        """(K,) log of each regime's share ``sum_{c in k} w_c``."""
        lw = self._component_log_weight()
        return logsumexp_groups(lw[None], self.regime_of, self.k)[0]

    def _component_log_weight(self) -> np.ndarray:
        if self.net is not None:
            count = self.net.codebook.ema_count.double().numpy()
            return np.log(count / count.sum() + 1e-12)
        return self.emission.log_weight.numpy()

    # --- persistence --------------------------------------------------------------------
    def save(self, model_dir) -> None:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        blob = {"config": self.config.to_dict(), "kind": self.config.model,
                "model": self.emission.state_dict(),
                "regime_of": torch.as_tensor(self.regime_of)}
        if self.transition is not None:
            blob["transition"] = torch.as_tensor(self.transition)
        save_torch_atomic(blob, model_dir / "model.pt")
        write_json_atomic(model_dir / "config.json", self.config.to_dict())
        self.scaler.save(model_dir / "scaler.json")
        if self._summary is not None:
            tmp = model_dir / "summary.parquet.tmp"
            self._summary.to_parquet(tmp, index=False)
            os.replace(tmp, model_dir / "summary.parquet")

    @classmethod
    def load(cls, model_dir, config: RegimeConfig | None = None) -> RegimeModel:
        """Load ``model_dir``; refuse a checkpoint whose shape differs from the config.

        ``config`` (optional) is the config the caller expects; by default ``config.json``.
        """
        model_dir = Path(model_dir)
        for name in ("model.pt", "config.json", "scaler.json"):
            if not (model_dir / name).exists():
                raise FileNotFoundError(f"regime model: {model_dir / name} not found")
        saved = json.loads((model_dir / "config.json").read_text())
        config = config or RegimeConfig.from_saved(saved)
        ckpt = torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
            raise ValueError(f"{model_dir / 'model.pt'}: not a regime model checkpoint")
        stored = RegimeConfig.from_saved(dict(ckpt["config"])).to_dict()
        diff = config_mismatch(stored, config.to_dict(), ARCHITECTURE_FIELDS)
        if diff:
            raise ValueError(f"{model_dir / 'model.pt'}: checkpoint is from another config "
                             f"(checkpoint vs expected: {'; '.join(diff)})")
        if config.model == "vqvae":
            emission = VQVAE(config)
            emission.load_state_dict(ckpt["model"])
        else:
            emission = GaussianMixture.from_state_dict(ckpt["model"])
        regime_of = ckpt.get("regime_of")
        transition = ckpt.get("transition")
        summary = (pd.read_parquet(model_dir / "summary.parquet")
                   if (model_dir / "summary.parquet").exists() else None)
        return cls(emission, FeatureScaler.load(model_dir / "scaler.json"), config,
                   None if regime_of is None else regime_of.numpy(),
                   None if transition is None else transition.numpy(), summary)

    # --- inference ----------------------------------------------------------------------
    def component_log_prob(self, states: pd.DataFrame) -> np.ndarray:
        """(N, C) ``log w_c + log N(x | c)`` of every state and fine component
        (standardised space)."""
        check_states(states, FEATURES)
        x = self.scaler.transform(states, dtype=np.float64)
        with torch.no_grad():
            return self.emission.component_log_prob(x).numpy()

    def posterior(self, states: pd.DataFrame, component_lp: np.ndarray | None = None,
                  smoothing: bool | None = None) -> np.ndarray:
        """(N, K) regime probabilities of every state: given its whole pass when
        ``smoothing`` (default: the config's) and the table has a ``time`` column, else
        given the state alone."""
        lp = self.component_log_prob(states) if component_lp is None else component_lp
        joint = logsumexp_groups(lp, self.regime_of, self.k)
        smoothing = self.config.smoothing if smoothing is None else smoothing
        passes = find_passes(states, self.config.max_gap_s) if smoothing else None
        if passes is not None and self.transition is not None:
            log_w = self.regime_log_weight()
            post, _ = forward_backward(joint - log_w, passes, self.transition, np.exp(log_w))
            return post
        return softmax(joint, axis=1)

    @torch.no_grad()
    def encode(self, states: pd.DataFrame, batch: int = 262_144) -> np.ndarray:
        """(N, latent_dim) VQ-VAE encoder outputs (VQ-VAE models only)."""
        if self.net is None:
            raise ValueError("encode: a mixture model has no encoder")
        check_states(states, FEATURES)
        x = torch.as_tensor(self.scaler.transform(states))
        return torch.cat([self.net.encoder(x[s:s + batch])
                          for s in range(0, len(x), batch)]).numpy()

    def assign(self, states: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Regime (N,) int and a distance to it (N,) float per state.

        The regime is the most probable one (:meth:`posterior`). The distance is the
        Mahalanobis distance (standardised features) to the regime's most probable component
        for a mixture model, the encoder's latent distance to the assigned code for a VQ-VAE.
        A VQ-VAE with one regime per code and no smoothing assigns, as it was trained to, the
        nearest code to the encoding.
        """
        if self.net is not None:
            z = torch.as_tensor(self.encode(states))
            nearest, _ = self.net.codebook.nearest(z)
            if self.config.components == self.k and not self.config.smoothing:
                codes = self.regime_of[nearest.numpy()]
            else:
                codes = self.posterior(states).argmax(1).astype(np.int64)
            member = self.regime_of[None, :] == codes[:, None]  # (N, C): the regime's codes
            d2 = self.net.codebook.distances(z).numpy()
            return codes, np.sqrt(np.where(member, d2, np.inf).min(1)).astype(np.float64)
        lp = self.component_log_prob(states)
        codes = self.posterior(states, lp).argmax(1).astype(np.int64)
        inside = np.where(self.regime_of[None, :] == codes[:, None], lp, -np.inf)
        best = inside.argmax(1)
        x = self.scaler.transform(states, dtype=np.float64)
        return codes, self.emission.mahalanobis(x, best).astype(np.float64)

    def log_likelihood(self, states: pd.DataFrame, space: str = "model") -> np.ndarray:
        """(N, K) log p(features | regime k), nats, under the regimes' mixture densities.

        ``space="model"`` (default): a density over the model space, i.e. log10 of the
        log-scaled features and the linear others (standardised-space density plus the
        scaler's constant log-Jacobian); comparable between models and between states.
        ``space="physical"``: a density over the features in their physical units (adds
        ``-log(x ln 10)`` for every log-scaled feature).
        """
        if space not in ("model", "physical"):
            raise ValueError(f"log_likelihood: space must be 'model' or 'physical', got {space!r}")
        lp = self.component_log_prob(states)
        ll = logsumexp_groups(lp, self.regime_of, self.k) - self.regime_log_weight()
        ll = ll + self.scaler.log_jacobian()
        if space == "physical":
            ll = ll + self.scaler.log_jacobian_physical(states)[:, None]
        return ll

    def sample(self, regime: int, n: int, seed: int = 0) -> pd.DataFrame:
        """``n`` states drawn from regime ``regime``'s distribution (FEATURES, physical
        units): a component of the regime by its weight, then a draw from that component."""
        if not 0 <= int(regime) < self.k:
            raise ValueError(f"sample: regime {regime} out of range 0..{self.k - 1}")
        rng = np.random.default_rng(seed)
        members = np.flatnonzero(self.regime_of == int(regime))
        w = np.exp(self._component_log_weight()[members])
        comp = members[rng.choice(len(members), size=int(n), p=w / w.sum())]
        if self.net is not None:
            with torch.no_grad():
                mean, logvar = (t.double().numpy() for t in self.net.regime_gaussians())
            z = mean[comp] + np.exp(0.5 * logvar[comp]) * rng.standard_normal(
                (int(n), self.config.n_features))
        else:
            z = self.emission.sample(comp, rng)
        return self.scaler.inverse(z)

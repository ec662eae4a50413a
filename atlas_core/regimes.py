"""Plasma regimes: the VQ-VAE training loop, codes, the summary table, names and evaluation.

``train_regimes`` fits :class:`atlas_core.vqvae.VQVAE` on a state table and writes a model
directory; :class:`RegimeModel` loads one and answers ``assign`` (code and latent distance per
state), ``log_likelihood`` (log p(features | regime) under the generative decoder) and
``sample`` (states drawn from a regime's decoder distribution, physical units).

Model directory::

    model.pt         {"config": dict, "model": state_dict}   (torch.load(weights_only=True))
    config.json      RegimeConfig
    scaler.json      FeatureScaler (log10 + standardisation)
    summary.parquet  one row per regime: id, name, count, medians, feature quantiles
    history.json     per-epoch loss, reconstruction error, codebook usage, perplexity
    checkpoint.pt    the latest training state (for ``resume=True``)
    evaluation.json  scores against the truth regions (when the states carry ``region``)

Regime names come from the regime's medians by the rules in :func:`name_regime` (documented in
``docs/regimes.md``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from atlas_core.features import FeatureScaler, check_states, write_json_atomic
from atlas_core.octree import Octree
from atlas_core.states import FEATURES, POSITION_GSM
from atlas_core.vqvae import (
    ARCHITECTURE_FIELDS,
    VQVAE,
    RegimeConfig,
    config_mismatch,
    gaussian_nll,
    pick_device,
)

__all__ = ["RegimeConfig", "RegimeModel", "train_regimes", "regime_summary", "name_regime",
           "summary_markdown",
           "name_regimes", "score_codes", "evaluate_regimes", "octree_weights"]

log = logging.getLogger(__name__)

RESUMABLE_FIELDS = ("max_epochs", "patience", "num_threads", "device")
# (max_epochs also sets the learning-rate schedule: resuming with another max_epochs continues
# on the new schedule)
"""Config fields that may change between a checkpoint and its resumed run."""

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --- weights and data split -------------------------------------------------------------

def octree_weights(positions_re: np.ndarray, octree: Octree | None = None) -> np.ndarray:
    """(N,) sample weights, inversely proportional to the occupancy of each state's leaf.

    With ``octree=None`` the tree is built over ``positions_re``; a tree built on other states
    is used through ``locate`` and the occupancy counted over these states. Mean 1.
    """
    if octree is None:
        octree = Octree.build(positions_re)
    if len(octree.leaf_of_state) == len(positions_re):
        leaf = octree.leaf_of_state
    else:
        leaf = octree.locate(positions_re)
        if (leaf < 0).any():
            raise ValueError(f"octree: {(leaf < 0).sum()} states lie outside the octree")
    count = np.bincount(leaf, minlength=octree.n_leaves)[leaf]
    w = 1.0 / count
    return w * (len(w) / w.sum())


def split_days(df: pd.DataFrame, val_fraction: float, seed: int) -> np.ndarray:
    """Boolean held-out mask: whole days (overlapping windows must not straddle the split)."""
    n = len(df)
    rng = np.random.default_rng([seed, 7])
    if "time" in df.columns:
        day = pd.to_datetime(df["time"]).dt.floor("D").to_numpy()
        days, inverse = np.unique(day, return_inverse=True)
        if len(days) >= 10:
            held = rng.permutation(len(days))[: max(1, round(val_fraction * len(days)))]
            mask = np.zeros(len(days), bool)
            mask[held] = True
            return mask[inverse]
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[: max(1, round(val_fraction * n))]] = True
    return mask


# --- training -----------------------------------------------------------------------------

def _save_torch_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _perplexity(counts: np.ndarray) -> float:
    p = counts / max(counts.sum(), 1)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


@torch.no_grad()
def _evaluate_loss(net: VQVAE, x: torch.Tensor, w: torch.Tensor, quantise: bool,
                   batch: int = 65536) -> tuple[float, float, np.ndarray]:
    """Weighted mean loss, reconstruction MSE and NLL, and code counts, over ``x`` (nearest
    codes: the inference path)."""
    net.eval()
    loss = mse = nll = 0.0
    counts = np.zeros(net.config.k)
    for s in range(0, len(x), batch):
        out = net(x[s:s + batch], quantise=quantise)
        wb = w[s:s + batch]
        loss += float(((out["nll"] + net.config.beta * out["commit"]) * wb).sum())
        nll += float((out["nll"] * wb).sum())
        mse += float((out["sq_err"] * wb).sum())
        counts += np.bincount(out["codes"].cpu().numpy(), minlength=net.config.k)
    net.train()
    total = float(w.sum())
    return loss / total, mse / total, nll / total, counts


def train_regimes(states: pd.DataFrame, out_dir, config: RegimeConfig | None = None,
                  octree: Octree | None = None, resume: bool = False,
                  progress: bool = True, stop_after_epoch: int | None = None) -> RegimeModel:
    """Train the VQ-VAE on ``states`` and write the model directory ``out_dir``.

    ``octree`` (optional) supplies the occupancy for the octree-informed weights; without it
    the tree is built over the states' GSM positions. ``resume=True`` continues from
    ``out_dir/checkpoint.pt`` (refused, with the reason, when its config differs).
    Per-epoch randomness is seeded by ``(seed, epoch)``, so a resumed run ends where an
    uninterrupted one would. ``stop_after_epoch`` ends this call after that epoch, as an
    interruption would (the checkpoint is written; the model directory is not), and returns
    ``None``.
    """
    config = config or RegimeConfig()
    check_states(states)
    if len(states) < max(config.k, 2):
        raise ValueError(f"state table: {len(states)} states, fewer than the {config.k} codes")
    if config.assignment not in ("nearest", "likelihood"):
        raise ValueError(f"config: assignment must be 'nearest' or 'likelihood', "
                         f"got {config.assignment!r}")
    if config.n_features != len(FEATURES):
        raise ValueError(f"config: n_features={config.n_features}, the table has {len(FEATURES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.num_threads)
    device = pick_device(config.device)
    say = log.info if progress else log.debug

    held = split_days(states, config.val_fraction, config.seed)
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    if len(train_idx) < config.k:
        raise ValueError(f"state table: {len(train_idx)} training states, fewer than "
                         f"{config.k} codes")
    scaler = FeatureScaler().fit(states.iloc[train_idx])
    x_all = torch.as_tensor(scaler.transform(states), device=device)
    pos = states[POSITION_GSM].to_numpy(dtype=np.float64)
    if config.octree_weighting:
        weights = octree_weights(pos, octree)
    else:
        weights = np.ones(len(states))
    p_train = weights[train_idx] / weights[train_idx].sum()
    x_val = x_all[val_idx]
    w_val = torch.as_tensor(weights[val_idx], dtype=torch.float32, device=device)

    torch.manual_seed(config.seed)
    net = VQVAE(config).to(device)
    opt = torch.optim.AdamW(list(net.encoder.parameters()) + list(net.decoder.parameters()),
                            lr=config.lr, weight_decay=config.weight_decay)
    state = {"epoch": -1, "best_val": float("inf"), "best_model": None, "bad_epochs": 0,
             "history": [], "done": False}
    ckpt_path = out_dir / "checkpoint.pt"
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        saved = dict(ckpt["config"])
        keys = [k for k in saved if k not in RESUMABLE_FIELDS]
        diff = config_mismatch(saved, config.to_dict(), keys)
        if diff:
            raise ValueError(f"{ckpt_path}: checkpoint was trained with another config "
                             f"({'; '.join(diff)}); use a new output folder or the same config")
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state.update({k: ckpt[k] for k in state})
        state["done"] = bool(state["done"]) and config.max_epochs <= state["epoch"] + 1
        say("resuming %s from epoch %d", ckpt_path, state["epoch"] + 1)

    n_train = len(train_idx)
    for epoch in range(state["epoch"] + 1, config.max_epochs):
        if state["done"]:
            break
        t0 = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = (rng.choice(train_idx, size=n_train, p=p_train) if config.octree_weighting
                 else rng.permutation(train_idx))
        quantise = epoch >= config.warmup_epochs
        frac = epoch / max(config.max_epochs - 1, 1)  # cosine schedule, a function of the epoch
        lr = config.lr * float(config.lr_min_ratio + (1 - config.lr_min_ratio)
                          * 0.5 * (1 + np.cos(np.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        if epoch == config.warmup_epochs:  # k-means codebook initialisation
            with torch.no_grad():
                net.init_codebook(net.encoder(x_all[order[: config.kmeans_samples]]),
                                  seed=config.seed)
        counts = np.zeros(config.k)
        tot_loss = tot_mse = 0.0
        restarts = 0
        order_t = torch.as_tensor(order, device=device)
        for s in range(0, n_train, config.batch_size):
            xb = x_all[order_t[s:s + config.batch_size]]
            target = (net.likelihood_codes(xb) if quantise and config.assignment == "likelihood"
                      else None)
            out = net(xb, quantise=quantise, codes=target)
            loss = net.loss(out)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
            opt.step()
            if quantise:
                restarts += net.codebook.update(out["z_e"].detach(), out["codes"], gen)
            counts += np.bincount(out["codes"].cpu().numpy(), minlength=config.k)
            tot_loss += loss.item() * len(xb)
            tot_mse += out["sq_err"].sum().item()
        val_loss, val_mse, val_nll, val_counts = (
            _evaluate_loss(net, x_val, w_val, quantise) if len(val_idx)
            else (tot_loss / n_train, 0.0, 0.0, counts))
        row = {"epoch": epoch, "phase": "vq" if quantise else "warmup",
               "loss": tot_loss / n_train, "recon_mse": tot_mse / n_train,
               "val_loss": val_loss, "val_nll": val_nll, "val_recon_mse": val_mse,
               "codes_used": int((counts > 0).sum()), "perplexity": _perplexity(counts),
               "val_perplexity": _perplexity(val_counts), "restarts": restarts,
               "seconds": time.perf_counter() - t0}
        state["history"].append(row)
        say("epoch %2d %-6s loss %.3f val %.3f mse %.3f codes %d perplexity %.2f restarts %d "
            "(%.1f s)", epoch, row["phase"], row["loss"], val_loss, row["recon_mse"],
            row["codes_used"], row["perplexity"], restarts, row["seconds"])
        if quantise:
            # early stopping on the held-out NLL through the inference path (nearest codes):
            # the generative objective; the commitment term is a regulariser only
            if val_nll < state["best_val"] - config.min_delta or state["best_model"] is None:
                state["best_val"], state["bad_epochs"] = val_nll, 0
                state["best_model"] = copy.deepcopy(net.state_dict())
            else:
                state["bad_epochs"] += 1
                if state["bad_epochs"] >= config.patience:
                    say("early stop: held-out NLL has not improved for %d epochs",
                        config.patience)
                    state["done"] = True
        state["epoch"] = epoch
        _save_torch_atomic({"config": config.to_dict(), "model": net.state_dict(),
                            "optimizer": opt.state_dict(), **state}, ckpt_path)
        if stop_after_epoch is not None and epoch >= stop_after_epoch and not state["done"]:
            say("stopping after epoch %d (checkpoint %s)", epoch, ckpt_path)
            return None

    if state["best_model"] is None:  # max_epochs <= warmup_epochs: no VQ epoch yet
        raise ValueError(f"config: max_epochs={config.max_epochs} leaves no epoch after "
                         f"{config.warmup_epochs} warm-up epochs")
    net.load_state_dict(state["best_model"])
    model = RegimeModel(net.cpu(), scaler, config)
    codes, dist = model.assign(states)
    model._summary = regime_summary(states, codes, dist, config.k)
    model.save(out_dir)
    write_json_atomic(out_dir / "history.json", state["history"])
    say("regimes: %s", ", ".join(f"{i}={n}" for i, n in enumerate(model.names)))
    return model


# --- the model --------------------------------------------------------------------------

class RegimeModel:
    """A trained regime model: scaler + VQ-VAE + summary table (see the module docstring)."""

    def __init__(self, net: VQVAE, scaler: FeatureScaler, config: RegimeConfig,
                 summary: pd.DataFrame | None = None):
        self.net, self.scaler, self.config = net.eval(), scaler, config
        self._summary = summary

    @property
    def k(self) -> int:
        return self.config.k

    @property
    def summary(self) -> pd.DataFrame:
        if self._summary is None:
            raise RuntimeError("regime model has no summary (assign states and call "
                               "regime_summary)")
        return self._summary

    @property
    def names(self) -> list[str]:
        return self.summary["name"].tolist()

    # persistence
    def save(self, model_dir) -> None:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        _save_torch_atomic({"config": self.config.to_dict(), "model": self.net.state_dict()},
                           model_dir / "model.pt")
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
        config = config or RegimeConfig.from_dict(json.loads((model_dir / "config.json")
                                                             .read_text()))
        ckpt = torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
            raise ValueError(f"{model_dir / 'model.pt'}: not a regime model checkpoint")
        diff = config_mismatch(dict(ckpt["config"]), config.to_dict(), ARCHITECTURE_FIELDS)
        if diff:
            raise ValueError(f"{model_dir / 'model.pt'}: checkpoint is from another config "
                             f"(checkpoint vs expected: {'; '.join(diff)})")
        net = VQVAE(config)
        net.load_state_dict(ckpt["model"])
        summary = (pd.read_parquet(model_dir / "summary.parquet")
                   if (model_dir / "summary.parquet").exists() else None)
        return cls(net, FeatureScaler.load(model_dir / "scaler.json"), config, summary)

    # inference
    @torch.no_grad()
    def encode(self, states: pd.DataFrame, batch: int = 262_144) -> np.ndarray:
        """(N, latent_dim) encoder outputs."""
        check_states(states, FEATURES)
        x = torch.as_tensor(self.scaler.transform(states))
        return torch.cat([self.net.encoder(x[s:s + batch])
                          for s in range(0, len(x), batch)]).numpy()

    @torch.no_grad()
    def assign(self, states: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Regime code (N,) int and latent distance to that code (N,) float per state."""
        z = torch.as_tensor(self.encode(states))
        codes, dist = self.net.codebook.nearest(z)
        return codes.numpy().astype(np.int64), dist.numpy().astype(np.float64)

    @torch.no_grad()
    def log_likelihood(self, states: pd.DataFrame, space: str = "model") -> np.ndarray:
        """(N, K) log p(features | regime k), nats, under the decoder's diagonal Gaussians.

        ``space="model"`` (default): a density over the model space, i.e. log10 of the
        log-scaled features and the linear others (standardised-space density plus the
        scaler's constant log-Jacobian); comparable between models and between states.
        ``space="physical"``: a density over the features in their physical units (adds
        ``-log(x ln 10)`` for every log-scaled feature).
        """
        check_states(states, FEATURES)
        x = torch.as_tensor(self.scaler.transform(states, dtype=np.float64))
        mean, logvar = (t.double() for t in self.net.regime_gaussians())
        ll = -torch.stack([gaussian_nll(x, mean[k], logvar[k]) for k in range(self.k)], 1)
        ll = ll.numpy() + self.scaler.log_jacobian()
        if space == "physical":
            ll = ll + self.scaler.log_jacobian_physical(states)[:, None]
        elif space != "model":
            raise ValueError(f"log_likelihood: space must be 'model' or 'physical', got {space!r}")
        return ll

    @torch.no_grad()
    def sample(self, regime: int, n: int, seed: int = 0) -> pd.DataFrame:
        """``n`` states drawn from regime ``regime``'s decoder distribution (FEATURES, physical
        units)."""
        if not 0 <= int(regime) < self.k:
            raise ValueError(f"sample: regime {regime} out of range 0..{self.k - 1}")
        mean, logvar = self.net.regime_gaussians()
        rng = np.random.default_rng(seed)
        z = (mean[regime].numpy() + np.exp(0.5 * logvar[regime].numpy())
             * rng.standard_normal((int(n), self.config.n_features)))
        return self.scaler.inverse(z)


# --- summary and names --------------------------------------------------------------------

def regime_summary(states: pd.DataFrame, codes: np.ndarray, dist: np.ndarray,
                   k: int) -> pd.DataFrame:
    """One row per regime: id, name, count, fraction, median position (R_E), medians of n
    (cm^-3), T (eV), |Vx| (km/s), |V| (km/s), |B| (nT), beta, the mean code distance, and
    the 5/25/50/75/95 % quantiles of every feature (``<feature>_q05`` ...)."""
    df = pd.DataFrame({
        "code": codes, "x_gsm": states["x_gsm"].to_numpy(), "y_gsm": states["y_gsm"].to_numpy(),
        "z_gsm": states["z_gsm"].to_numpy(), "dist": dist,
        "abs_Vx": np.abs(states["Vx_mean"].to_numpy()),
    })
    df["r"] = np.sqrt(df.x_gsm**2 + df.y_gsm**2 + df.z_gsm**2)
    for f in FEATURES:
        df[f] = states[f].to_numpy()
    rows = []
    for i in range(k):
        g = df[df.code == i]
        row = {"id": i, "count": len(g), "fraction": len(g) / max(len(df), 1)}
        med = g.median(numeric_only=True) if len(g) else pd.Series(np.nan, index=df.columns)
        row.update({"x_gsm": med["x_gsm"], "y_gsm": med["y_gsm"], "z_gsm": med["z_gsm"],
                    "r": med["r"], "n": med["n_mean"], "T": med["T_mean"],
                    "abs_Vx": med["abs_Vx"], "V": med["V_mean"], "B": med["B_mean"],
                    "Bz": med["Bz_mean"], "beta": med["beta_mean"],
                    "dist_mean": g["dist"].mean() if len(g) else np.nan})
        for f in FEATURES:
            qs = g[f].quantile(QUANTILES) if len(g) else pd.Series(np.nan, index=QUANTILES)
            for q, v in zip(QUANTILES, qs, strict=True):
                row[f"{f}_q{round(q * 100):02d}"] = v
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(1, "name", name_regimes(out))
    return out


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table in the seed's layout (medians; R_E, cm^-3, eV, km/s,
    nT), with counts, beta and the automatic name."""
    lines = ["| regime | count | x [R_E] | n [cm^-3] | T [eV] | \\|Vx\\| [km/s] | \\|B\\| [nT] "
             "| beta | name |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r['id']} | {r['count']:,} | {r['x_gsm']:.1f} | {r['n']:.2g} | "
                     f"{r['T']:.0f} | {r['abs_Vx']:.0f} | {r['B']:.1f} | {r['beta']:.2g} | "
                     f"{r['name']} |")
    return "\n".join(lines) + "\n"


def name_regime(m) -> str:
    """A physics-based name from a regime's medians (``x_gsm``, ``r`` R_E; ``n`` cm^-3;
    ``T`` eV; ``abs_Vx``, ``V`` km/s; ``B`` nT; ``beta``), first rule that matches:

    1. solar wind: cold (T < 100 eV), fast (|V| > 250 km/s), weak field (|B| < 15 nT), x > 0;
    1b. foreshock (heated solar wind): solar-wind speed (|V| > 300 km/s) and weak field
       (|B| < 12 nT, n < 10 cm^-3) upstream (x > 0) but heated (100 <= T < 500 eV): not yet
       decelerated by the shock, unlike the magnetosheath;
    2. boundary layer: mixed plasma, 0.5 <= n < 8 cm^-3 and 300 <= T < 3000 eV, x > -5 R_E;
    3. magnetosheath: dense (n >= 3) and warm (T < 1000 eV) — qualifiers: dense (n > 30),
       flank (x < 0), stagnant (|Vx| < 80 km/s), hot (T > 400 eV);
    4. inner magnetosphere: r < 7 R_E and |B| > 30 nT — "strong field, low beta" when
       beta < 0.05;
    5. lobe: tail (x < -5), tenuous (n < 0.1) and very low beta (< 0.1);
    6. plasma sheet: tail (x < -5) and hot (T >= 1500 eV) — "fast flows" when |Vx| > 100 km/s,
       "near-Earth" when x > -10;
    7. plasma sheet boundary layer: tail (x < -5), otherwise;
    8. dayside magnetosphere: n < 1 and T >= 1000 eV (x >= -5);
    9. otherwise "mixed".
    The seed's table (Markidis et al. 2026) reads the same way: e.g. n = 5.1, T = 63 eV,
    |Vx| = 392 km/s, |B| = 5.6 nT is solar wind.
    """
    x, r, n, T = m["x_gsm"], m["r"], m["n"], m["T"]
    vx, v, b, beta = m["abs_Vx"], m["V"], m["B"], m["beta"]
    if any(pd.isna(val) for val in (x, n, T, b)):
        return "empty"
    if T < 100 and v > 250 and b < 15 and x > 0:
        return "solar wind"
    if 100 <= T < 500 and v > 300 and b < 12 and n < 10 and x > 0:
        return "foreshock (heated solar wind)"
    if 0.5 <= n < 8 and 300 <= T < 3000 and x > -5:
        return "boundary layer"
    if n >= 3 and T < 1000:
        quals = [q for q, hit in (("dense", n > 30), ("flank", x < 0),
                                  ("stagnant", vx < 80), ("hot", T > 400)) if hit]
        return "magnetosheath" + (f" ({', '.join(quals)})" if quals else "")
    if r < 7 and b > 30:
        return "inner magnetosphere" + (" (strong field, low beta)" if beta < 0.05 else "")
    if x < -5 and n < 0.1 and beta < 0.1:
        return "lobe"
    if x < -5 and T >= 1500:
        quals = [q for q, hit in (("fast flows", vx > 100), ("near-Earth", x > -10)) if hit]
        return "plasma sheet" + (f" ({', '.join(quals)})" if quals else "")
    if x < -5:
        return "plasma sheet boundary layer"
    if n < 1 and T >= 1000:
        return "dayside magnetosphere"
    return "mixed"


def name_regimes(summary: pd.DataFrame) -> list[str]:
    """:func:`name_regime` per row; repeated names get " 2", " 3", ... by decreasing count."""
    names = [name_regime(row) for _, row in summary.iterrows()]
    order = np.argsort(-summary["count"].to_numpy(), kind="stable")
    seen: dict[str, int] = {}
    out = list(names)
    for i in order:
        seen[names[i]] = seen.get(names[i], 0) + 1
        if seen[names[i]] > 1:
            out[i] = f"{names[i]} {seen[names[i]]}"
    return out


# --- evaluation ---------------------------------------------------------------------------

def score_codes(codes: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Adjusted Rand index, normalised mutual information, and purity (each code mapped to
    its majority truth region) of a clustering against truth labels."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    codes = np.asarray(codes)
    truth_ids, truth_int = np.unique(np.asarray(truth).astype(str), return_inverse=True)
    _, code_int = np.unique(codes, return_inverse=True)
    table = np.zeros((code_int.max() + 1, len(truth_ids)), dtype=np.int64)
    np.add.at(table, (code_int, truth_int), 1)
    return {"ari": float(adjusted_rand_score(truth_int, code_int)),
            "nmi": float(normalized_mutual_info_score(truth_int, code_int)),
            "purity": float(table.max(axis=1).sum() / len(codes))}


def evaluate_regimes(model: RegimeModel, states: pd.DataFrame,
                     counterpart: RegimeModel | None = None, max_fit: int = 100_000,
                     seed: int = 0) -> dict:
    """Score ``model`` (and ``counterpart``, the same config with the octree weighting
    flipped) against ``states["region"]``, next to k-means and a 12-component Gaussian
    mixture (full covariances) fitted on the same scaled features (on at most ``max_fit``
    random states, then applied to all). Returns the JSON-ready report."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    if "region" not in states.columns:
        raise ValueError("evaluate: the state table has no 'region' column (truth labels "
                         "exist only for the synthetic archive)")
    check_states(states)
    truth = states["region"].astype(str).to_numpy()
    codes, _ = model.assign(states)
    counts = np.bincount(codes, minlength=model.k)
    report = {"n_states": len(states), "k": model.k,
              "octree_weighting": model.config.octree_weighting,
              "vqvae": score_codes(codes, truth)}
    if counterpart is not None:
        key = "vqvae_unweighted" if model.config.octree_weighting else "vqvae_weighted"
        report[key] = score_codes(counterpart.assign(states)[0], truth)
    x = model.scaler.transform(states)
    rng = np.random.default_rng(seed)
    fit = x[rng.permutation(len(x))[:max_fit]]
    t0 = time.perf_counter()
    km = KMeans(model.k, n_init=4, random_state=seed).fit(fit)
    report["kmeans"] = score_codes(km.predict(x), truth)
    gmm = GaussianMixture(model.k, covariance_type="full", n_init=2, random_state=seed,
                          reg_covar=1e-4).fit(fit)
    report["gmm"] = score_codes(gmm.predict(x), truth)
    report["baseline_seconds"] = time.perf_counter() - t0
    report["perplexity"] = _perplexity(counts)
    report["codes_used"] = int((counts > 0).sum())
    report["truth_regions"] = {str(k): int(v) for k, v in
                               zip(*np.unique(truth, return_counts=True), strict=True)}
    # which truth region each regime holds most of (for reading the names, not for scoring)
    report["regime_majority"] = {
        int(c): {"name": model.names[c] if model._summary is not None else str(c),
                 "majority": str(pd.Series(truth[codes == c]).mode().iloc[0]),
                 "share": float((truth[codes == c] == pd.Series(truth[codes == c])
                                 .mode().iloc[0]).mean()),
                 "count": int(counts[c])}
        for c in range(model.k) if counts[c] > 0}
    return report


def evaluate_model_dir(model_dir, states: pd.DataFrame, counterpart: bool = True,
                       progress: bool = True, retrain_counterpart: bool = False) -> dict:
    """Evaluate the model in ``model_dir`` against the truth and write ``evaluation.json``.

    With ``counterpart=True`` the same config with the octree weighting flipped is trained
    into ``model_dir/counterpart`` (or loaded from there when it already holds a model with
    that config and ``retrain_counterpart`` is false), so that the report shows the weighting
    on and off.
    """
    model_dir = Path(model_dir)
    model = RegimeModel.load(model_dir)
    other = None
    if counterpart:
        cfg = RegimeConfig.from_dict({**model.config.to_dict(),
                                      "octree_weighting": not model.config.octree_weighting})
        cdir = model_dir / "counterpart"
        saved = cdir / "config.json"
        if (not retrain_counterpart and saved.exists()
                and json.loads(saved.read_text()) == cfg.to_dict()):
            other = RegimeModel.load(cdir)
        else:
            octree = Octree.load(model_dir / "octree.npz") if (
                model_dir / "octree.npz").exists() else None
            if octree is not None and len(octree.leaf_of_state) != len(states):
                octree = None
            other = train_regimes(states, cdir, cfg, octree=octree, progress=progress)
    report = evaluate_regimes(model, states, counterpart=other, seed=model.config.seed)
    if (model_dir / "octree.npz").exists():
        tree = Octree.load(model_dir / "octree.npz")
        report["octree"] = {"n_leaves": tree.n_leaves, "n_nonempty": tree.n_nonempty,
                            "depth": tree.depth, "min_size_re": tree.min_size_re}
    write_json_atomic(model_dir / "evaluation.json", report)
    return report

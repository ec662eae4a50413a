"""The VQ-VAE that learns plasma regimes: the whole model in one file, with its config.

After Markidis, Ekelund & Pennati, "A Generative Atlas of the Magnetosphere" (ICCS 2026) and
van den Oord et al., "Neural Discrete Representation Learning" (2017). A standardised state
``x`` (d = 14, see ``atlas_core.features``) goes through

    encoder MLP -> z_e (latent_dim) -> nearest of K codebook vectors e_k -> decoder MLP
    -> (mean, log-variance) of a diagonal Gaussian over the d standardised features.

The decoder sees only the code vector, so each regime k *is* a distribution
``p(x | k) = N(mean_k, diag(exp(logvar_k)))`` in the standardised feature space (a log-normal in
physical units for the log-scaled features): the model is generative, every regime can be
sampled, and ``log p(x | k)`` is an anomaly score.

What the VQ literature learned, used here:
- k-means initialisation of the codebook on encoder outputs after a short warm-up
  (the training loop in ``atlas_core.regimes`` calls :meth:`VQVAE.init_codebook`);
- EMA codebook updates (van den Oord 2017, appendix; Razavi et al. 2019) instead of a codebook
  loss, with Laplace smoothing of the counts;
- dead-code restart: a code whose EMA count falls below ``dead_threshold`` is moved onto a
  random encoder output of the current batch (Dhariwal et al., Jukebox, 2020);
- commitment loss ``beta * ||z_e - sg(e)||^2`` and the straight-through gradient;
- optionally (``assignment="likelihood"``, the default) the quantiser's training target is the
  code whose decoder Gaussian gives the state the highest posterior, not the code nearest its
  encoding: a hard-EM step for the mixture the decoder defines, which the encoder learns to
  amortise. Inference always takes the nearest code, as in any VQ-VAE.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F

ARCHITECTURE_FIELDS = ("model", "n_features", "k", "components", "latent_dim", "hidden",
                       "n_layers")
"""Config fields that fix the shapes of the weights: a checkpoint must agree on all of them."""

MODELS = ("mixture", "vqvae")


@dataclass
class RegimeConfig:
    """Regime model and training settings (JSON-serialisable; saved as ``config.json``).

    ``model`` picks what the fine components are: ``"mixture"`` (the default: a
    full-covariance Gaussian mixture fitted by EM, ``atlas_core.regimes.mixture``) or
    ``"vqvae"`` (this file's VQ-VAE, one component per code). Either way the ``components``
    are lumped into ``k`` regimes by their transitions along the orbit and states are assigned
    with their pass's neighbours (``atlas_core.regimes.temporal``); ``components == k`` keeps
    one regime per component. The choice and its numbers are in ``docs/regimes.md``.
    """

    model: str = "mixture"
    n_features: int = 14
    k: int = 12  # number of regimes
    components: int = 48  # fine components (mixture) or codebook size (VQ-VAE)
    smoothing: bool = True  # assign with the pass's neighbours (HMM forward-backward)
    max_gap_s: float = 300.0  # windows further apart than this start a new pass
    # mixture (EM)
    reg_covar: float = 1e-4  # added to every covariance's diagonal (standardised units)
    em_max_iter: int = 100
    em_tol: float = 1e-3  # stop when the mean log-likelihood gains less (nats per state)
    max_fit_states: int = 200_000  # EM on at most this many training states (random subset)
    n_init: int = 3  # EM runs from different starts; the most metastable regimes are kept
    # at least this many training states per component (fewer components on small tables:
    # on the one-year archive the held-out NLL worsens below ~600 states per component)
    states_per_component: int = 1000
    # VQ-VAE
    latent_dim: int = 8
    hidden: int = 64
    n_layers: int = 2  # hidden layers in encoder and decoder each
    beta: float = 0.25  # commitment weight
    # training targets of the quantiser: "nearest" (the classic VQ-VAE: the code nearest the
    # encoding) or "likelihood" (the code under whose decoder Gaussian the state is most
    # probable, a hard-EM step; the encoder learns to map each state onto it, so that at
    # inference the nearest code is the most probable regime)
    assignment: str = "likelihood"
    ema_decay: float = 0.99
    dead_threshold: float = 1.0  # EMA count (states per batch) under which a code restarts
    min_logvar: float = -7.0  # decoder variance floor (standardised units)
    max_logvar: float = 3.0
    # training
    batch_size: int = 2048
    lr: float = 3e-3
    lr_min_ratio: float = 0.05  # cosine decay of the learning rate to lr * this at max_epochs
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max gradient norm (0: no clipping)
    max_epochs: int = 25
    warmup_epochs: int = 1  # plain autoencoder epochs before the k-means codebook init
    patience: int = 3  # early stopping on the held-out loss
    min_delta: float = 1e-3  # held-out improvement that counts (nats per state)
    val_fraction: float = 0.1  # held-out share of days
    kmeans_samples: int = 50_000
    octree_weighting: bool = True  # sample states with weight 1 / (states in their leaf)
    seed: int = 0
    # one intra-op thread: the matrices are tiny, and on a shared 2-core machine two OpenMP
    # threads spin against other processes (measured 5.8 vs 123 ms per 2048-state batch
    # under load; see docs/benchmarks.md "VQ-VAE training")
    num_threads: int = 1
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"

    @classmethod
    def from_dict(cls, d: dict) -> RegimeConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"config: unknown fields {unknown}")
        return cls(**d)

    @classmethod
    def from_saved(cls, d: dict) -> RegimeConfig:
        """A config read from a model directory; one written before ``model`` existed is a
        VQ-VAE with one regime per code, assigned without neighbours."""
        if "model" not in d:
            d = {**d, "model": "vqvae", "components": d.get("k", 12), "smoothing": False}
        return cls.from_dict(d)

    def check(self) -> None:
        """Raise ``ValueError`` naming the first inconsistent field."""
        if self.model not in MODELS:
            raise ValueError(f"config: model must be one of {MODELS}, got {self.model!r}")
        if not 1 <= self.k <= self.components:
            raise ValueError(f"config: k={self.k} regimes need 1 <= k <= components="
                             f"{self.components}")
        if self.assignment not in ("nearest", "likelihood"):
            raise ValueError(f"config: assignment must be 'nearest' or 'likelihood', "
                             f"got {self.assignment!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def config_mismatch(a: dict, b: dict, keys=ARCHITECTURE_FIELDS) -> list[str]:
    """Human-readable differences between two config dicts on ``keys``."""
    return [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]


def _mlp(n_in: int, hidden: int, n_layers: int, n_out: int) -> nn.Sequential:
    layers, width = [], n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, hidden), nn.GELU()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class EMACodebook(nn.Module):
    """K code vectors updated as exponential moving averages of their assigned encodings."""

    def __init__(self, k: int, dim: int, decay: float, dead_threshold: float):
        super().__init__()
        self.decay, self.dead_threshold = decay, dead_threshold
        self.register_buffer("embed", torch.randn(k, dim) * 0.1)
        self.register_buffer("ema_count", torch.ones(k))
        self.register_buffer("ema_sum", self.embed.clone())

    def distances(self, z: torch.Tensor) -> torch.Tensor:
        """(N, K) squared Euclidean distances."""
        return (z.pow(2).sum(1, keepdim=True) - 2 * z @ self.embed.T
                + self.embed.pow(2).sum(1)[None]).clamp_min(0)

    def nearest(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d2 = self.distances(z)
        d2min, codes = d2.min(dim=1)
        return codes, d2min.sqrt()

    @torch.no_grad()
    def set(self, vectors: torch.Tensor) -> None:
        self.embed.copy_(vectors)
        self.ema_sum.copy_(vectors)
        self.ema_count.fill_(1.0)

    @torch.no_grad()
    def update(self, z: torch.Tensor, codes: torch.Tensor,
               generator: torch.Generator | None = None) -> int:
        """One EMA step from a batch; then restart dead codes. Returns the number restarted."""
        k = self.embed.shape[0]
        onehot = F.one_hot(codes, k).type_as(z)
        self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.T @ z, alpha=1 - self.decay)
        n = self.ema_count.sum()
        count = (self.ema_count + 1e-5) / (n + k * 1e-5) * n  # Laplace smoothing
        self.embed.copy_(self.ema_sum / count[:, None])
        dead = torch.nonzero(self.ema_count < self.dead_threshold).flatten()
        if len(dead):
            pick = torch.randint(len(z), (len(dead),), generator=generator,
                                 device="cpu").to(z.device)
            self.embed[dead] = z[pick]
            self.ema_sum[dead] = z[pick]
            self.ema_count[dead] = 1.0
        return len(dead)


class VQVAE(nn.Module):
    """Encoder -> EMA vector quantiser -> Gaussian decoder. See the module docstring."""

    def __init__(self, config: RegimeConfig):
        super().__init__()
        self.config = config
        c = config
        self.encoder = _mlp(c.n_features, c.hidden, c.n_layers, c.latent_dim)
        self.codebook = EMACodebook(c.components, c.latent_dim, c.ema_decay, c.dead_threshold)
        self.decoder = _mlp(c.latent_dim, c.hidden, c.n_layers, 2 * c.n_features)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent -> (mean, logvar) of the diagonal Gaussian, standardised feature space."""
        out = self.decoder(z)
        mean, raw = out.chunk(2, dim=-1)
        lo, hi = self.config.min_logvar, self.config.max_logvar
        logvar = lo + (hi - lo) * torch.sigmoid(raw)  # bounded, smooth
        return mean, logvar

    def forward(self, x: torch.Tensor, quantise: bool = True,
                codes: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``codes`` (optional) overrides the nearest-code quantisation (training targets)."""
        z_e = self.encoder(x)
        nearest, dist = self.codebook.nearest(z_e)
        codes = nearest if codes is None else codes
        if quantise:
            z_q = self.codebook.embed[codes]
            z_st = z_e + (z_q - z_e).detach()  # straight-through gradient
            commit = (z_e - z_q.detach()).pow(2).sum(1)
        else:  # warm-up: a plain autoencoder
            z_st, commit = z_e, torch.zeros(len(x), device=x.device)
        mean, logvar = self.decode(z_st)
        # amortised assignment: the encoding's distances to the codes, read as logits, should
        # pick the target code (zero when the targets are the nearest codes anyway)
        assign_ce = (F.cross_entropy(-self.codebook.distances(z_e), codes, reduction="none")
                     if quantise and codes is not nearest else torch.zeros(len(x), device=x.device))
        return {"z_e": z_e, "codes": codes, "dist": dist, "mean": mean, "logvar": logvar,
                "nll": gaussian_nll(x, mean, logvar), "commit": commit, "assign_ce": assign_ce,
                "sq_err": (x - mean).pow(2).mean(1)}

    def loss(self, out: dict[str, torch.Tensor], weight: torch.Tensor | None = None):
        per_state = out["nll"] + self.config.beta * out["commit"] + out["assign_ce"]
        if weight is None:
            return per_state.mean()
        return (per_state * weight).sum() / weight.sum()

    @torch.no_grad()
    def likelihood_codes(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) the code of highest posterior ``log p(x | k) + log pi_k`` under the decoder,
        with ``pi`` the codes' EMA usage: the training targets of ``assignment="likelihood"``."""
        mean, logvar = self.regime_gaussians()
        log_prior = torch.log(self.codebook.ema_count / self.codebook.ema_count.sum() + 1e-8)
        ll = -gaussian_nll(x[:, None, :], mean[None], logvar[None]) + log_prior
        return ll.argmax(dim=1)

    @torch.no_grad()
    def init_codebook(self, z_e: torch.Tensor, seed: int) -> None:
        """k-means (k-means++ start, several restarts) on encoder outputs -> codebook."""
        from sklearn.cluster import KMeans

        km = KMeans(self.config.components, n_init=4, random_state=seed).fit(z_e.cpu().numpy())
        self.codebook.set(torch.as_tensor(km.cluster_centers_, dtype=z_e.dtype,
                                          device=self.codebook.embed.device))

    @torch.no_grad()
    def regime_gaussians(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(C, d) mean and log-variance of ``p(x | code)`` in the standardised space."""
        return self.decode(self.codebook.embed)

    @torch.no_grad()
    def component_log_prob(self, x) -> torch.Tensor:
        """(N, C) ``log pi_c + log p(x | c)`` under the decoder, float64 (``pi`` the codes'
        EMA usage): the same interface as the Gaussian mixture's."""
        x = torch.as_tensor(x, dtype=torch.float64)
        mean, logvar = (t.double() for t in self.regime_gaussians())
        count = self.codebook.ema_count.double()
        log_prior = torch.log(count / count.sum() + 1e-12)
        return -torch.stack([gaussian_nll(x, mean[c], logvar[c])
                             for c in range(len(mean))], 1) + log_prior


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(N,) negative log-density of x under the diagonal Gaussians, nats."""
    return 0.5 * (logvar + (x - mean).pow(2) * torch.exp(-logvar) + math.log(2 * math.pi)).sum(-1)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("config: device 'cuda' requested but CUDA is not available")
    return torch.device(name)

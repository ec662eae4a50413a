"""The atlas as an ``xarray.Dataset``: per-cell regime counts and probabilities per activity bin.

Layout (dims ``leaf``, ``regime``, ``activity``, ``axis``; CF-style ``units``/``long_name``):

* cell geometry: ``leaf_lo``, ``leaf_hi`` (leaf, axis) GSM R_E, ``leaf_level`` (0 = 2 R_E root);
* ``count`` (leaf, activity, regime): windows (states) per regime, with ``activity`` one of
  ``all`` (every state, including those without Dst) and the bins of :class:`ActivityBins`;
  ``effective_count`` the same in independent looks (:mod:`atlas_core.atlas.passes`), and
  ``n_states``/``n_effective`` (leaf, activity) their totals;
* ``p``, ``p_lo``, ``p_hi``: hierarchical posterior mean and credible interval from the
  effective counts (:mod:`atlas_core.atlas.hierarchy`); ``entropy`` (bits), ``dominant`` (-1 for
  a cell without a window), ``low_count`` (fewer than ``min_effective`` effective looks);
* ``storm_minus_quiet`` (leaf, regime) and ``shift_significant`` (the effective-count test of
  :func:`atlas_core.atlas.posterior.shift_significant`);
* the regime summary table (``regime_name`` and ``summary_*``), the ``codebook`` when the model
  exposes one, and ``anomaly_quantile``/``place_surprise_quantile`` (the training states' anomaly
  score distributions, see :mod:`atlas_core.atlas.anomaly`).

Provenance sits in global attributes: source files, code version, build config (JSON), seed;
the sampling model (intra-pass correlation, pass gap, hierarchy strengths, ``min_effective``)
too, so an opened atlas computes exactly what was built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import atlas_core
from atlas_core.atlas.anomaly import activity_index, global_mixture
from atlas_core.atlas.conditioning import ActivityBins
from atlas_core.atlas.errors import AtlasError, AtlasVersionError
from atlas_core.atlas.posterior import (
    DEFAULT_ALPHA,
    DEFAULT_LEVEL,
    DEFAULT_SHIFT_ALPHA,
    dominant,
    entropy_bits,
)

FORMAT = "magnetosphere-atlas"
FORMAT_VERSION = 2
"""Bump when the dataset layout changes; :func:`load_dataset` refuses versions it cannot read
(``READABLE_VERSIONS``)."""
READABLE_VERSIONS = (1, 2)
"""Format 1 (before effective counts) is still read: an opened one finds its passes at open and
uses default hierarchy strengths; its stored p/p_lo/p_hi and anomaly percentiles are the old
ones until it is rebuilt."""
ANOMALY_PERCENTILES = np.linspace(0.0, 100.0, 1001)
"""Percentiles at which the training states' anomaly scores are stored."""


def code_version() -> str:
    """``atlas_core`` version plus the git commit of the source tree when there is one."""
    version = atlas_core.__version__
    try:
        root = Path(atlas_core.__file__).resolve().parents[1]
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        if commit:
            version = f"{version}+g{commit}"
    except (OSError, subprocess.SubprocessError):
        pass
    return version


def posterior_layers(stats, windows: np.ndarray, effective: np.ndarray, level: float
                     ) -> dict[str, np.ndarray]:
    """p, p_lo, p_hi, entropy, dominant, n_states, n_effective and low_count of every leaf from
    its (L, K) window and effective counts under one condition."""
    est = stats.estimate(windows, effective, level=level)
    n = windows.sum(axis=-1)
    return {
        "p": est.p.astype(np.float32),
        "p_lo": est.lo.astype(np.float32),
        "p_hi": est.hi.astype(np.float32),
        "entropy": entropy_bits(est.p).astype(np.float32),
        "dominant": dominant(windows, est.p),
        "n_states": n.astype(np.int32),
        "n_effective": est.n_eff.astype(np.float32),
        "low_count": stats.low_count(est.n_eff),
    }


def build_dataset(
    *,
    stats,
    dst: np.ndarray,
    names: list[str],
    bins: ActivityBins | None = None,
    summary: pd.DataFrame | None = None,
    codebook: np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    level: float = DEFAULT_LEVEL,
    synthetic: bool = False,
    provenance: dict | None = None,
) -> xr.Dataset:
    """Assemble the atlas dataset from the cell statistics of the build states
    (:class:`atlas_core.atlas.sampling.CellStatistics`) and their Dst (N,) nT."""
    bins = bins or ActivityBins()
    octree = stats.octree
    n_leaves, k = stats.n_leaves, stats.k
    if len(names) != k:
        raise AtlasError(f"{len(names)} regime names for {k} regimes")
    ranges = bins.ranges()
    activity = ["all", *ranges]
    act = activity_index(np.asarray(dst, dtype=np.float64), bins.label, activity)
    windows, effective = stats.activity_counts(act, len(activity))
    per = [posterior_layers(stats, windows[:, a], effective[:, a], level)
           for a in range(len(activity))]
    layers = {name: np.stack([lay[name] for lay in per], axis=1) for name in per[0]}
    a_q, a_s = activity.index("quiet"), activity.index("storm")
    diff, significant = stats.shift(effective[:, a_s], effective[:, a_q])
    lk, lak, la = ("leaf", "regime"), ("leaf", "activity", "regime"), ("leaf", "activity")
    data = {
        "leaf_lo": (("leaf", "axis"), np.asarray(octree.leaf_lo, np.float64),
                    {"units": "R_E", "long_name": "cell lower corner, GSM"}),
        "leaf_hi": (("leaf", "axis"), np.asarray(octree.leaf_hi, np.float64),
                    {"units": "R_E", "long_name": "cell upper corner, GSM"}),
        "leaf_level": ("leaf", np.asarray(octree.leaf_level, np.int16),
                       {"units": "1", "long_name": "octree level (0 = base cell)"}),
        "count": (lak, windows.astype(np.int32),
                  {"units": "1", "long_name": "windows (2-minute states) per regime"}),
        "effective_count": (lak, effective.astype(np.float32), {
            "units": "1", "long_name": "effective (independent) looks per regime: windows "
            "weighted 1/(1+(m-1)rho) in a pass of m windows"}),
        "n_states": (la, layers["n_states"], {"units": "1", "long_name": "windows in the cell"}),
        "n_effective": (la, layers["n_effective"],
                        {"units": "1", "long_name": "effective (independent) looks in the cell"}),
        "p": (lak, layers["p"], {"units": "1", "long_name": "regime probability, hierarchical "
                                 "posterior mean from the effective counts"}),
        "p_lo": (lak, layers["p_lo"], {"units": "1", "long_name": f"lower {level:.0%} credible bound"}),
        "p_hi": (lak, layers["p_hi"], {"units": "1", "long_name": f"upper {level:.0%} credible bound"}),
        "entropy": (la, layers["entropy"], {"units": "bit", "long_name": "entropy of the regime probabilities"}),
        "dominant": (la, layers["dominant"], {"units": "1", "long_name": "most probable regime (-1: no window)"}),
        "low_count": (la, layers["low_count"], {
            "long_name": f"fewer than {stats.model.min_effective:g} effective looks (estimate "
                         "mostly the cell's neighbourhood's)"}),
        "storm_minus_quiet": (lk, diff.astype(np.float32),
                              {"units": "1", "long_name": "p(storm) - p(quiet)"}),
        "shift_significant": (lk, significant, {
            "long_name": f"storm and quiet differ at two-sided level {DEFAULT_SHIFT_ALPHA:g} "
                         f"(effective counts; both >= {stats.model.min_effective:g} looks)"}),
        "activity_dst_min": ("activity", [-np.inf] + [r[0] for r in ranges.values()],
                             {"units": "nT", "long_name": "lower Dst bound of the bin"}),
        "activity_dst_max": ("activity", [np.inf] + [r[1] for r in ranges.values()],
                             {"units": "nT", "long_name": "upper Dst bound of the bin"}),
        "activity_definition": ("activity", np.array([
            "every state", f"|Dst| <= {bins.quiet_max:g} nT",
            f"{bins.storm_max:g} < Dst < {-bins.quiet_max:g} nT",
            f"Dst <= {bins.storm_max:g} nT", f"Dst > {bins.quiet_max:g} nT"], dtype=str)),
        "regime_name": ("regime", np.asarray(names, dtype=str), {"long_name": "regime name"}),
    }
    if summary is not None:
        for col in summary.columns:
            values = summary[col].to_numpy()
            if col in ("id", "name") or len(values) != k or values.dtype.kind not in "iuf":
                continue
            data[f"summary_{col}"] = ("regime", values, {"long_name": f"regime summary: {col}"})
    if codebook is not None:
        codebook = np.asarray(codebook, dtype=np.float32)
        if codebook.ndim == 2 and codebook.shape[0] == k:
            data["codebook"] = (("regime", "latent"), codebook,
                                {"long_name": "VQ-VAE codebook vector of each regime"})
    coords = {
        "leaf": np.arange(n_leaves, dtype=np.int64),
        "regime": np.arange(k, dtype=np.int16),
        "activity": np.asarray(activity, dtype=str),
        "axis": np.array(["x", "y", "z"]),
    }
    prov = provenance or {}
    attrs = {
        "title": "Magnetosphere Atlas: regime probabilities per octree cell",
        "Conventions": "CF-1.8",
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "synthetic": int(bool(synthetic)),
        "source": "synthetic MMS-like archive (atlas_core.synth)" if synthetic else "MMS1 L2 in-situ data",
        "references": "Markidis, Ekelund & Pennati, A Generative Atlas of the Magnetosphere (ICCS 2026); "
                      "Sitnov et al. 2008, JGR 113, A07218 (nearest-neighbour conditioning); "
                      "Kish 1965, Survey Sampling (design effect of passes); Lavine 1992, Ann. "
                      "Stat. 20, 1222 (Polya-tree pooling along the octree)",
        "coordinate_system": "GSM, Earth radii (R_E)",
        "code_version": code_version(),
        "dirichlet_prior_alpha": float(alpha),
        "credible_level": float(level),
        "quiet_max_nT": float(bins.quiet_max),
        "storm_max_nT": float(bins.storm_max),
        "effective_count_definition": "a pass (one spacecraft's windows in one cell, split at "
                                      "gaps > pass_max_gap_s) of m windows counts "
                                      "m/(1+(m-1)*intra_pass_correlation) looks",
        "significance_test": f"two-sided Wald test at level {DEFAULT_SHIFT_ALPHA:g} on the "
                             "hierarchical posterior moments of the effective counts",
        "shift_test_level": float(DEFAULT_SHIFT_ALPHA),
        **stats.model.to_attrs(),
        "n_states_total": int(len(stats.leaf)),
        "n_passes_total": int(stats.counter.n_passes),
        "seed": int(prov.get("seed", -1)),
        "config": json.dumps(prov.get("config", {}), sort_keys=True, default=str),
        "source_files": json.dumps(prov.get("source_files", []), default=str),
        "history": prov.get("history", "built by atlas_core.atlas"),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def global_mix(ds: xr.Dataset) -> np.ndarray:
    """(A, K) regime mix of the whole atlas per activity condition: the Dirichlet posterior mean
    of the summed effective counts (window counts in a format-1 atlas), no regime at zero."""
    counts = ds["effective_count"] if "effective_count" in ds else ds["count"]
    return global_mixture(counts.values, float(ds.attrs["dirichlet_prior_alpha"]))


def add_anomaly_quantiles(ds: xr.Dataset, score: np.ndarray, surprise: np.ndarray) -> xr.Dataset:
    """Add the reference anomaly-score and place-surprise distributions (quantiles at
    ``ANOMALY_PERCENTILES``; the build's cross-fitted, out-of-fold scores), against which new
    states get their percentiles."""
    if not np.isfinite(score).any():
        raise AtlasError("no finite training anomaly score: cannot calibrate percentiles")
    return ds.assign_coords(percentile=("percentile", ANOMALY_PERCENTILES, {"units": "percent"})).assign(
        anomaly_quantile=("percentile", np.nanpercentile(score, ANOMALY_PERCENTILES), {
            "units": "nat", "long_name": "out-of-fold anomaly score (mixture NLL) quantiles of the "
            "build states (mixtures from the other day folds)"}),
        place_surprise_quantile=("percentile", np.nanpercentile(surprise, ANOMALY_PERCENTILES), {
            "units": "nat", "long_name": "out-of-fold place surprise quantiles of the build states"}),
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_dir_write(target: Path, write) -> None:
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        write(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old) if old.is_dir() else old.unlink()
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_dataset(ds: xr.Dataset, atlas_dir: Path, formats=("nc", "zarr")) -> list[Path]:
    """Write ``atlas.nc`` (NetCDF4, compressed) and/or ``atlas.zarr`` atomically."""
    atlas_dir = Path(atlas_dir)
    atlas_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "nc" in formats:
        path = atlas_dir / "atlas.nc"
        fd, tmp = tempfile.mkstemp(prefix=".atlas.", suffix=".nc", dir=atlas_dir)
        os.close(fd)
        try:
            encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars
                        if ds[v].dtype.kind in "iuf"}
            ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(path)
    if "zarr" in formats:
        path = atlas_dir / "atlas.zarr"
        _atomic_dir_write(path, lambda tmp: ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2))
        written.append(path)
    return written


def load_dataset(path: Path) -> xr.Dataset:
    """Open ``atlas.nc`` or ``atlas.zarr`` fully into memory, checking the format version."""
    path = Path(path)
    if not path.exists():
        raise AtlasError(f"{path}: no such atlas file")
    try:
        if path.suffix == ".zarr" or path.is_dir():
            ds = xr.open_zarr(path, consolidated=True).load()
        else:
            with xr.open_dataset(path, engine="netcdf4") as f:
                ds = f.load()
    except (OSError, ValueError, KeyError) as err:
        raise AtlasError(f"{path}: cannot read as an atlas dataset ({err})") from err
    if ds.attrs.get("format") != FORMAT:
        raise AtlasError(f"{path}: not a Magnetosphere Atlas dataset (format={ds.attrs.get('format')!r})")
    version = ds.attrs.get("format_version")
    if version not in READABLE_VERSIONS:
        raise AtlasVersionError(
            f"{path}: atlas format version {version} is not the supported version "
            f"{FORMAT_VERSION}; rebuild it with `atlas build`"
        )
    return ds

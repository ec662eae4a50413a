"""The model's view of a state: log-scaled, standardised features, and the scaler that makes it.

The 14 window features (``states.FEATURES``) span many decades (density, temperature, beta and
every standard deviation), so the models see ``log10`` of ``states.LOG_FEATURES`` (the signed
``Bz_mean`` and ``Vx_mean`` stay linear), then each column standardised to zero mean and unit
variance over the training states. The scaler is plain numbers (JSON), saved with the model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.states import FEATURES, LOG_FEATURES, POSITION_GSM

LN10 = float(np.log(10.0))


def check_states(df: pd.DataFrame, columns=None, what: str = "state table") -> pd.DataFrame:
    """Raise ``ValueError`` naming the missing columns or NaN rows among ``columns``.

    ``columns`` defaults to the 14 features plus the GSM position. Returns ``df`` unchanged.
    """
    columns = list(FEATURES + POSITION_GSM if columns is None else columns)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")
    values = df[columns].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        cols = [c for c, b in zip(columns, bad.any(axis=0), strict=True) if b]
        raise ValueError(
            f"{what}: {len(rows)} rows have NaN or infinite values in {cols} "
            f"(first rows {rows[:5].tolist()}); drop them before training or assigning")
    return df


@dataclass
class FeatureScaler:
    """log10 (with a floor) of the log features, then (x - mean) / std per feature.

    ``floor`` per log feature is 1e-3 of its median positive training value: a window with a
    zero standard deviation (a constant signal) maps to a finite value instead of -inf.
    """

    features: list[str] = field(default_factory=lambda: list(FEATURES))
    log_features: list[str] = field(default_factory=lambda: list(LOG_FEATURES))
    floor: dict[str, float] = field(default_factory=dict)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    @property
    def is_log(self) -> np.ndarray:
        return np.array([f in self.log_features for f in self.features])

    def fit(self, df: pd.DataFrame) -> FeatureScaler:
        raw = df[self.features].to_numpy(dtype=np.float64)
        self.floor = {}
        for j, f in enumerate(self.features):
            if f in self.log_features:
                pos = raw[:, j][raw[:, j] > 0]
                self.floor[f] = float(1e-3 * np.median(pos)) if len(pos) else 1e-6
        logged = self._log(raw)
        self.mean = logged.mean(axis=0).tolist()
        std = logged.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0).tolist()
        return self

    def _log(self, raw: np.ndarray) -> np.ndarray:
        out = raw.astype(np.float64, copy=True)
        for j, f in enumerate(self.features):
            if f in self.log_features:
                out[:, j] = np.log10(np.maximum(out[:, j], self.floor[f]))
        return out

    def transform(self, df: pd.DataFrame, dtype=np.float32) -> np.ndarray:
        """(N, d) standardised model inputs (float32 unless ``dtype`` says otherwise)."""
        if not self.mean:
            raise RuntimeError("FeatureScaler: fit() first")
        raw = df[self.features].to_numpy(dtype=np.float64)
        return ((self._log(raw) - self.mean) / self.std).astype(dtype)

    def inverse(self, z: np.ndarray) -> pd.DataFrame:
        """Standardised values back to physical units (FEATURES columns)."""
        x = np.asarray(z, dtype=np.float64) * self.std + self.mean
        x[:, self.is_log] = 10.0 ** x[:, self.is_log]
        return pd.DataFrame(x, columns=self.features)

    def log_jacobian(self) -> float:
        """log |d z / d y| where y is the log10/linear model space and z the standardised one.

        Adding it to a log-density in the standardised space gives a log-density in the model
        space (log10 of the log features, linear others), which does not depend on the scaler.
        """
        return float(-np.log(self.std).sum())

    def log_jacobian_physical(self, df: pd.DataFrame) -> np.ndarray:
        """(N,) extra log |dy/dx| that turns a model-space density into a physical-unit one:
        ``-log(x ln 10)`` summed over the log features (values clipped at the floor)."""
        raw = df[self.log_features].to_numpy(dtype=np.float64)
        floors = np.array([self.floor[f] for f in self.log_features])
        return -np.log(np.maximum(raw, floors) * LN10).sum(axis=1)

    def to_dict(self) -> dict:
        return {"features": self.features, "log_features": self.log_features,
                "floor": self.floor, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureScaler:
        return cls(features=list(d["features"]), log_features=list(d["log_features"]),
                   floor={k: float(v) for k, v in d["floor"].items()},
                   mean=[float(v) for v in d["mean"]], std=[float(v) for v in d["std"]])

    def save(self, path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path) -> FeatureScaler:
        return cls.from_dict(json.loads(Path(path).read_text()))


def write_json_atomic(path, obj) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=float))
    os.replace(tmp, path)

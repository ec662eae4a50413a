"""Every number the dashboard shows, computed from an atlas, with no UI (no Panel import).

``DataStore`` wraps a read-only :class:`atlas_core.atlas.Atlas` (the app shares one per
process through ``pn.cache``) and answers the views' questions in plain pandas/numpy:
the leaves of an octree slice with their colours and numbers, a cell's regime distribution
with credible intervals, the coverage points, the quiet-vs-storm occupancy comparison, the
observed-vs-generated feature samples, the boundary curves. Its only mutable state is a small
per-instance memo of occupancy counts (one store per browser session), so nothing mutable is
shared between sessions.

Coordinates are GSM, R_E; Dst in nT; dDst/dt in nT/h; entropy in bits.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.states import FEATURE_UNITS, FEATURES, LOG_FEATURES, POSITION_GSM

from .filters import PLANES, Condition, Filters
from .palette import regime_colors, regime_labels

AXES = {"x": 0, "y": 1, "z": 2}
PLANE_AXES = {"XY": ("x", "y"), "XZ": ("x", "z"), "YZ": ("y", "z")}
"""Slice plane -> its horizontal and vertical GSM axes."""
MIN_STATES = 5
"""Cells with fewer states than this under a condition are marked as poorly sampled."""
NO_DATA = "no data"


class StoreError(RuntimeError):
    """The atlas cannot back the dashboard (missing, corrupt or incomplete)."""


def open_atlas(atlas_dir: str | Path):
    """Open an atlas directory, turning every failure into a :class:`StoreError` that names
    the directory and the problem (shown to the user at start)."""
    path = Path(atlas_dir).expanduser()
    if not path.exists():
        raise StoreError(f"atlas directory {path} does not exist (build one with `atlas build`)")
    if not path.is_dir():
        raise StoreError(f"{path} is not a directory (expected an atlas built by `atlas build`)")
    try:
        from atlas_core.atlas import Atlas
    except ImportError as err:  # the atlas stage is not installed
        raise StoreError(f"atlas_core.atlas is unavailable: {err}") from err
    try:
        return Atlas.open(path)
    except Exception as err:  # AtlasError, or a reader's error on a corrupt file
        raise StoreError(f"cannot open the atlas in {path}: {err}") from err


def _feature_label(feature: str) -> str:
    quantity = feature.rsplit("_", 1)[0]
    unit = FEATURE_UNITS.get(quantity, "")
    text = f"{feature} [{unit}]" if unit and unit != "1" else feature
    return f"log10 {text}" if feature in LOG_FEATURES else text


@dataclass
class CellReport:
    """What the inspector shows for one octree leaf."""

    leaf: int
    lo: np.ndarray  # (3,) R_E
    hi: np.ndarray  # (3,) R_E
    level: int
    n_states: int  # all states in the cell
    regimes: pd.DataFrame  # one row per (condition, regime): count, p, p_lo, p_hi
    counts: dict[str, int]  # condition label -> states in the cell
    features: pd.DataFrame = field(repr=False)  # the cell's states: feature, value, condition

    def summary(self) -> str:
        lo = ", ".join(f"{v:.2f}" for v in self.lo)
        hi = ", ".join(f"{v:.2f}" for v in self.hi)
        parts = ", ".join(f"{k}: {v}" for k, v in self.counts.items())
        return f"leaf {self.leaf} (level {self.level}) [{lo}] – [{hi}] R_E; {self.n_states} states ({parts})"


class DataStore:
    """The dashboard's data layer over one atlas (see the module docstring)."""

    def __init__(self, atlas, memo_size: int = 8):
        if isinstance(atlas, (str, Path)):
            atlas = open_atlas(atlas)
        self.atlas = atlas
        self.octree = atlas.octree
        self.model = atlas.model
        self.states = atlas.states
        for col in ("code", "leaf", "dst", *POSITION_GSM):
            if col not in self.states.columns:
                raise StoreError(f"the atlas's states table lacks the column {col!r}")
        self.names: list[str] = list(self.model.names)
        self.k = len(self.names)
        self.labels = regime_labels(self.names)
        self.colors = regime_colors(self.names)
        self.synthetic = bool(getattr(atlas, "synthetic", False))
        self.n_states = len(self.states)
        self.n_leaves = int(self.octree.n_leaves)
        self.leaf_lo = np.asarray(self.octree.leaf_lo, dtype=float)
        self.leaf_hi = np.asarray(self.octree.leaf_hi, dtype=float)
        self.leaf_level = np.asarray(self.octree.leaf_level)
        self.min_states = int(getattr(atlas, "min_count", MIN_STATES))
        self.warnings: list[str] = []  # conditions that selected nothing, newest last
        self._memo: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._memo_size = memo_size
        self._leaf_order: np.ndarray | None = None
        self._leaf_start: np.ndarray | None = None
        self._violin_cache: dict[tuple, pd.DataFrame] = {}

    @classmethod
    def open(cls, atlas_dir: str | Path) -> DataStore:
        return cls(open_atlas(atlas_dir))

    # --- overview --------------------------------------------------------------------------

    @property
    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) corners of the octree, R_E."""
        return self.leaf_lo.min(axis=0), self.leaf_hi.max(axis=0)

    def plane_limits(self, plane: str, pad: float = 1.0) -> tuple[tuple, tuple]:
        """Axis limits (R_E) of a plane's horizontal and vertical axes: the octree's extent."""
        lo, hi = self.extent
        iu, iv = (AXES[a] for a in PLANE_AXES[plane])
        return (lo[iu] - pad, hi[iu] + pad), (lo[iv] - pad, hi[iv] + pad)

    def regime_table(self) -> pd.DataFrame:
        """The regime summary table (the model's, with display label and colour first)."""
        summary = self.model.summary.copy()
        summary.insert(0, "colour", self.colors[: len(summary)])
        summary.insert(0, "regime", self.labels[: len(summary)])
        return summary.drop(columns=[c for c in ("id", "name") if c in summary.columns])

    # --- conditioning ----------------------------------------------------------------------

    def occupancy(self, cond: Condition) -> np.ndarray:
        """(L, K) state counts per leaf and regime under a condition (memoised)."""
        key = cond.key
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        try:
            if cond.kind == "near":
                counts = self.atlas.occupancy_near(dst=cond.dst, ddst=cond.ddst, k=cond.k)
            elif cond.kind == "range":
                counts = self.atlas.occupancy(dst_min=cond.dst_min, dst_max=cond.dst_max)
            else:
                counts = self.atlas.occupancy()
        except ValueError as err:  # AtlasError: an empty range, no neighbours, bad target
            self.warnings.append(f"{cond.label}: {err}")
            counts = np.zeros((self.n_leaves, self.k), dtype=np.int64)
        counts = np.asarray(counts)
        self._memo[key] = counts
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return counts

    def state_mask(self, cond: Condition) -> np.ndarray:
        """Boolean mask of the states a condition selects."""
        dst = self.states["dst"].to_numpy()
        mask = np.ones(len(dst), dtype=bool)
        if cond.kind == "near" and hasattr(self.atlas, "select_near"):
            mask[:] = False
            try:
                mask[self.atlas.select_near(k=cond.k, dst=cond.dst, ddst=cond.ddst)] = True
            except ValueError as err:
                self.warnings.append(f"{cond.label}: {err}")
        elif cond.kind == "range":
            if cond.dst_min is not None:
                mask &= dst >= cond.dst_min
            if cond.dst_max is not None:
                mask &= dst <= cond.dst_max
        return mask

    def occupancy_comparison(self, a: Condition, b: Condition, names=("quiet", "storm")) -> pd.DataFrame:
        """Regime occupancy (fraction of the states under each condition), long format:
        columns regime, condition, count, fraction, colour."""
        rows = []
        for cond, name in zip((a, b), names, strict=False):
            per_regime = self.occupancy(cond).sum(axis=0)
            total = per_regime.sum()
            frac = per_regime / total if total else np.zeros(self.k)
            for r in range(self.k):
                rows.append((self.labels[r], f"{name} n={int(total)}", int(per_regime[r]),
                             float(frac[r]), self.colors[r]))
        return pd.DataFrame(rows, columns=["regime", "condition", "count", "fraction", "colour"])

    # --- slice -----------------------------------------------------------------------------

    def slice_leaves(self, plane: str, offset: float) -> np.ndarray:
        return np.asarray(self.octree.slice(PLANES[plane], float(offset)), dtype=int)

    def slice_frame(self, filters: Filters) -> pd.DataFrame:
        """The leaves cut by the filters' plane, one row each, with rectangle corners in the
        plane's axes (u0, u1, v0, v1; R_E) and the numbers a cell shows:
        count, dominant regime, its probability, the chosen regime's probability and its
        storm − quiet difference, entropy (bits), and ``value`` for the chosen colouring."""
        plane = filters.plane
        leaves = self.slice_leaves(plane, filters.offset)
        iu, iv = (AXES[a] for a in PLANE_AXES[plane])
        lo, hi = self.leaf_lo[leaves], self.leaf_hi[leaves]
        counts = self.occupancy(filters.current())[leaves]
        p, _, _ = self.probabilities(counts)
        n = counts.sum(axis=1)
        has = n > 0
        dominant = np.where(has, counts.argmax(axis=1), -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
        r = int(filters.regime)
        frame = pd.DataFrame({
            "leaf": leaves, "u0": lo[:, iu], "u1": hi[:, iu], "v0": lo[:, iv], "v1": hi[:, iv],
            "count": n.astype(int),
            "dominant": dominant,
            "regime": [self.labels[d] if d >= 0 else NO_DATA for d in dominant],
            "p_dominant": np.where(has, p[np.arange(len(leaves)), np.maximum(dominant, 0)], np.nan),
            "p_regime": np.where(has, p[:, r] if len(leaves) else [], np.nan),
            "entropy": np.where(has, ent, np.nan),
            "few": n < self.min_states,
        })
        if filters.slice_color == "storm_minus_quiet":
            frame["diff"] = self._diff(leaves, filters, r)
        else:
            frame["diff"] = np.nan
        frame["value"] = self._slice_value(frame, filters.slice_color)
        return frame

    def _diff(self, leaves: np.ndarray, filters: Filters, r: int) -> np.ndarray:
        quiet = self.occupancy(filters.quiet())[leaves]
        storm = self.occupancy(filters.storm())[leaves]
        pq, _, _ = self.probabilities(quiet)
        ps, _, _ = self.probabilities(storm)
        ok = (quiet.sum(axis=1) > 0) & (storm.sum(axis=1) > 0)
        return np.where(ok, ps[:, r] - pq[:, r], np.nan)

    @staticmethod
    def _slice_value(frame: pd.DataFrame, color: str) -> np.ndarray:
        if color == "dominant":
            return frame["dominant"].to_numpy(dtype=float)
        if color == "probability":
            return frame["p_regime"].to_numpy()
        if color == "entropy":
            return frame["entropy"].to_numpy()
        if color == "count":
            return np.log10(np.maximum(frame["count"].to_numpy(dtype=float), 0.5))
        return frame["diff"].to_numpy()

    def voxel_data(self, cond: Condition):
        """The non-empty leaves under a condition for the 3D map: lo (n, 3), hi (n, 3) R_E,
        dominant regime (n,), and its posterior probability as the confidence (n,)."""
        counts = self.occupancy(cond)
        leaves = np.flatnonzero(counts.sum(axis=1) > 0)
        sub = counts[leaves]
        p, _, _ = self.probabilities(sub)
        dominant = sub.argmax(axis=1)
        conf = p[np.arange(len(leaves)), dominant] if len(leaves) else np.zeros(0)
        return self.leaf_lo[leaves], self.leaf_hi[leaves], dominant, conf

    def probabilities(self, counts: np.ndarray):
        """Dirichlet posterior mean and 90 % interval, (n, K) each (the atlas's definition)."""
        counts = np.atleast_2d(counts)
        if len(counts) == 0:
            empty = np.zeros((0, self.k))
            return empty, empty, empty
        return tuple(np.asarray(a) for a in self.atlas.probabilities(counts))

    # --- cells -----------------------------------------------------------------------------

    def leaf_at(self, plane: str, offset: float, u: float, v: float) -> int:
        """The leaf under a point (u, v) of a slice plane; -1 outside the octree."""
        point = np.zeros((1, 3))
        iu, iv = (AXES[a] for a in PLANE_AXES[plane])
        point[0, AXES[PLANES[plane]]] = offset
        point[0, iu], point[0, iv] = u, v
        return self.locate(point[0])

    def locate(self, position) -> int:
        """The leaf holding a GSM position (R_E); -1 outside the octree."""
        pos = np.asarray(position, dtype=float).reshape(1, 3)
        if not np.all(np.isfinite(pos)):
            return -1
        return int(np.asarray(self.octree.locate(pos))[0])

    def states_in(self, leaf: int) -> np.ndarray:
        """Row indices (into ``states``) of the states in a leaf."""
        if self._leaf_order is None:
            leaf_col = self.states["leaf"].to_numpy()
            self._leaf_order = np.argsort(leaf_col, kind="stable")
            self._leaf_start = np.searchsorted(leaf_col[self._leaf_order], np.arange(self.n_leaves + 1))
        return self._leaf_order[self._leaf_start[leaf]: self._leaf_start[leaf + 1]]

    def inspect_cell(self, leaf: int, conditions: dict[str, Condition]) -> CellReport:
        """A leaf's regime distribution (counts, posterior mean, 90 % credible interval) under
        each named condition, and its states' features labelled by the Dst-range conditions."""
        leaf = int(leaf)
        if not 0 <= leaf < self.n_leaves:
            raise ValueError(f"leaf {leaf} is outside 0..{self.n_leaves - 1}")
        frames, counts_by = [], {}
        for name, cond in conditions.items():
            c = self.occupancy(cond)[leaf][None, :]
            p, lo, hi = self.probabilities(c)
            counts_by[name] = int(c.sum())
            frames.append(pd.DataFrame({
                "condition": name, "regime": self.labels, "colour": self.colors,
                "count": c[0].astype(int), "p": p[0], "p_lo": lo[0], "p_hi": hi[0],
            }))
        idx = self.states_in(leaf)
        cell = self.states.iloc[idx]
        feats = []
        for name, cond in conditions.items():
            sub = cell[self.state_mask(cond)[idx]]
            if len(sub):
                feats.append(self._long_features(sub).assign(condition=name))
        features = (pd.concat(feats, ignore_index=True) if feats
                    else pd.DataFrame(columns=["feature", "value", "condition"]))
        return CellReport(
            leaf=leaf, lo=self.leaf_lo[leaf], hi=self.leaf_hi[leaf],
            level=int(self.leaf_level[leaf]), n_states=int(len(idx)),
            regimes=pd.concat(frames, ignore_index=True), counts=counts_by, features=features,
        )

    @staticmethod
    def _long_features(df: pd.DataFrame) -> pd.DataFrame:
        """Features in long format, log10 for the ones that span decades."""
        values = {}
        for f in FEATURES:
            col = df[f].to_numpy(dtype=float)
            if f in LOG_FEATURES:
                with np.errstate(divide="ignore", invalid="ignore"):
                    col = np.log10(np.where(col > 0, col, np.nan))
            values[_feature_label(f)] = col
        return pd.DataFrame(values).melt(var_name="feature", value_name="value").dropna()

    # --- coverage, violins, boundaries ------------------------------------------------------

    def coverage_frame(self) -> pd.DataFrame:
        """Window positions (GSM, R_E) with regime label (categorical), Dst and mission."""
        s = self.states
        frame = pd.DataFrame({c: s[c].to_numpy(dtype=np.float32) for c in POSITION_GSM})
        frame["regime"] = pd.Categorical.from_codes(s["code"].to_numpy(), categories=self.labels)
        frame["dst"] = s["dst"].to_numpy(dtype=np.float32)
        mission = s["mission"] if "mission" in s.columns else pd.Series("MMS", index=s.index)
        frame["mission"] = mission.astype("category")
        return frame

    def feature_samples(self, feature: str, n_per_regime: int = 400, seed: int = 0) -> pd.DataFrame:
        """Observed states beside samples from the generative model, for one feature:
        columns regime (label), source ("observed" | "generated"), value (log10 when the
        feature spans decades)."""
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}; expected one of {FEATURES}")
        key = (feature, n_per_regime, seed)
        if key in self._violin_cache:
            return self._violin_cache[key]
        rng = np.random.default_rng(seed)
        codes = self.states["code"].to_numpy()
        values = self.states[feature].to_numpy(dtype=float)
        parts = []
        for r in range(self.k):
            idx = np.flatnonzero(codes == r)
            if len(idx) > n_per_regime:
                idx = rng.choice(idx, n_per_regime, replace=False)
            parts.append(pd.DataFrame({"regime": self.labels[r], "source": "observed", "value": values[idx]}))
            if len(idx):
                gen = self.model.sample(r, n_per_regime, seed=seed + r)
                parts.append(pd.DataFrame({"regime": self.labels[r], "source": "generated",
                                           "value": np.asarray(gen[feature], dtype=float)}))
        frame = pd.concat(parts, ignore_index=True)
        if feature in LOG_FEATURES:
            v = frame["value"].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                frame["value"] = np.log10(np.where(v > 0, v, np.nan))
        frame = frame.dropna()
        self._violin_cache[key] = frame
        return frame

    @staticmethod
    def feature_label(feature: str) -> str:
        return _feature_label(feature)

    @staticmethod
    def boundary_curves(plane: str, offset: float, pdyn: float, bz: float) -> dict[str, list[np.ndarray]]:
        """Earth, Shue (1998) magnetopause and Jelínek (2012) bow shock cut by a slice plane.

        The boundaries are surfaces of revolution about the GSM x axis, r(theta); cut by
        the plane they give one or two curves (u, v) in R_E. Returns name -> list of (n, 2)
        arrays."""
        from atlas_core.physics.boundaries import bow_shock_jelinek2012, magnetopause_shue1998

        theta = np.linspace(0.0, np.pi * 0.995, 721)
        surfaces = {
            "magnetopause": np.asarray(magnetopause_shue1998(theta, bz_nT=bz, pdyn_nPa=pdyn), dtype=float),
            "bow shock": np.asarray(bow_shock_jelinek2012(theta, pdyn_nPa=pdyn), dtype=float),
        }
        out = {"Earth": _circle_cut(1.0, plane, offset)}
        for name, r in surfaces.items():
            ok = np.isfinite(r) & (r > 0) & (r < 80)
            x, rho = r[ok] * np.cos(theta[ok]), r[ok] * np.sin(theta[ok])
            out[name] = _revolution_cut(x, rho, plane, offset)
        return out


def _circle_cut(radius: float, plane: str, offset: float) -> list[np.ndarray]:
    if abs(offset) >= radius:
        return []
    rr = np.sqrt(radius**2 - offset**2)
    t = np.linspace(0, 2 * np.pi, 91)
    return [np.column_stack([rr * np.cos(t), rr * np.sin(t)])]


def _revolution_cut(x: np.ndarray, rho: np.ndarray, plane: str, offset: float) -> list[np.ndarray]:
    """Cut a surface of revolution about x, given as a profile rho(x), by a slice plane."""
    if plane in ("XY", "XZ"):  # the plane holds x: rho^2 = w^2 + offset^2
        ok = rho >= abs(offset)
        if not ok.any():
            return []
        w = np.sqrt(rho[ok] ** 2 - offset**2)
        xs = x[ok]
        return [np.column_stack([np.r_[xs[::-1], xs], np.r_[-w[::-1], w]])]
    # YZ at x = offset: a circle of radius rho(offset)
    order = np.argsort(x)
    xs, rs = x[order], rho[order]
    if not xs[0] <= offset <= xs[-1]:
        return []
    rr = float(np.interp(offset, xs, rs))
    t = np.linspace(0, 2 * np.pi, 181)
    return [np.column_stack([rr * np.cos(t), rr * np.sin(t)])]

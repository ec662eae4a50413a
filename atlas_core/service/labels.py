"""Regime labels for windows, label intervals, and the catalogues space-physics tools read.

**Per-window label.** A window with features ``x`` in atlas cell ``c`` gets the posterior
regime probabilities ``p(k | x, c) ∝ p_c(k) p(x | k)``: the cell's regime probabilities under
all states (the product layer's :func:`~atlas_core.atlas.product.estimates`, posterior mean)
times the regime's generative likelihood (``RegimeModel.log_likelihood``, model space: the
regime's mixture density). The label is the most probable regime, ``p`` its
probability. Where features alone are ambiguous (boundary layers, mixed windows) the place
decides; where the place is ambiguous (a cell the boundaries sweep through) the features do. A
window outside the atlas gets the atlas-wide regime mix as its prior (``leaf`` -1), a window in
a cell that holds no state of the atlas (other days, another spacecraft) its cell's prior
pooled from the octree ancestors (the estimator's mean for an empty cell). The HAPI
server (:mod:`atlas_core.service.hapi`) and ``atlas label`` both call :func:`window_labels`.

**Intervals.** Consecutive windows of one spacecraft (``mission`` + ``probe``) with one label
and no gap longer than :data:`MAX_STEP_S` form an interval ``[first time - 30 s, last time +
30 s)``, with the mean ``p`` of its windows. Windows are 2 minutes long at a 1-minute stride,
so each is given the half-stride around its centre: consecutive intervals abut instead of
overlapping by a minute.

**Catalogues.** CSV, and a VOTable in the layout of the SciQLop catalogue library ``tscat``
(AMDA-compatible: ``Start Time``/``Stop Time`` fields with ``xtype="dateTime"``, a
``Contact:...;Name:...;`` description), written with ``astropy.io.votable`` so that
``tscat.import_votable_file``, AMDA and astropy all read it.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.states import STRIDE_S

log = logging.getLogger(__name__)

MAX_STEP_S = 1.5 * STRIDE_S
"""Consecutive windows farther apart than this (s) end an interval (a missing window)."""
CHUNK = 100_000
"""Windows per likelihood evaluation (bounded memory)."""


def _atlas_positions(atlas, states: pd.DataFrame) -> np.ndarray:
    """States' positions in the atlas' frame (GSM, or boundary-normalised)."""
    gsm = states[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(np.float64)
    if atlas.ds.attrs.get("coords", "gsm") != "normalised":
        return gsm
    if {"x_norm", "y_norm", "z_norm"} <= set(states.columns):
        return states[["x_norm", "y_norm", "z_norm"]].to_numpy(np.float64)
    from atlas_core.physics.normalised import reference_positions, state_drivers

    return reference_positions(gsm, *state_drivers(states))[0]


def label_logits(atlas, states: pd.DataFrame, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """``(leaf (N,), logits (N, K) float64)``: ``log p_c(k) + log p(x | k)`` of every window
    (module docstring), each row shifted so that its maximum is 0. The label probabilities are
    ``softmax(logits / T)`` (:func:`window_labels`)."""
    from atlas_core.atlas.product import Condition, counts

    t0 = time.perf_counter()
    n, k = len(states), atlas.k
    _, leaf = atlas.locate(_atlas_positions(atlas, states), outside="nan")
    every = counts(atlas, Condition())
    overall = every.per_regime.astype(np.float64) + 0.5
    overall /= overall.sum()
    cells = np.unique(leaf[leaf >= 0])
    cell_p = _cell_priors(atlas, every, cells)
    logits = np.empty((n, k), dtype=np.float64)
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        ll = np.asarray(atlas.model.log_likelihood(states.iloc[sl]), dtype=np.float64)
        lv = leaf[sl]
        rows = np.searchsorted(cells, np.maximum(lv, 0)).clip(0, max(cells.size - 1, 0))
        prior = (np.where((lv >= 0)[:, None], cell_p[rows], overall[None, :]) if cells.size
                 else np.broadcast_to(overall, (lv.size, k)))
        logp = ll + np.log(np.clip(prior, 1e-12, None))
        logits[sl] = logp - logp.max(axis=1, keepdims=True)
        log.info("labels: %d / %d windows (%.0f windows/s)", sl.stop, n,
                 sl.stop / max(time.perf_counter() - t0, 1e-9))
    return leaf, logits


def _cell_priors(atlas, every, cells: np.ndarray) -> np.ndarray:
    """(len(cells), K) regime probabilities of the sorted ``cells`` under all states: the
    posterior means of the atlas' estimator (contract C2, what the product layer's
    ``estimates`` shows for a cell with data). A cell no state of the atlas fell in (windows of
    other days or another spacecraft) has no estimate to show, but a prior all the same: the
    estimator's mean for it is its octree ancestors' pooled mix."""
    from atlas_core.atlas.product import Condition, estimates

    if hasattr(atlas, "posterior"):
        return np.asarray(atlas.posterior(every.effective, leaves=cells).p, dtype=np.float64)
    p = estimates(atlas, Condition()).at(cells)[0]  # an atlas without C2: the empty cells
    overall = every.per_regime / max(every.per_regime.sum(), 1)  # take the atlas-wide mix
    return np.where(np.isfinite(p), p, overall[None, :])


def tempered(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, K) float32 ``softmax(logits / temperature)``: ``temperature`` > 1 spreads
    probabilities that are too sure (fitted on held-out days,
    :mod:`atlas_core.service.label_calibration`), 1 leaves them as the model states them."""
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"label temperature must be a positive number, got {temperature}")
    z = logits / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    w = np.exp(z)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


TEMPERATURE_FILE = "label_calibration.json"
"""In an atlas directory: the label temperature fitted on held-out weeks
(:mod:`atlas_core.service.label_calibration` ``--save-to``), used by default."""


def stored_temperature(atlas) -> tuple[float, str]:
    """``(T, source)``: the temperature in the atlas' :data:`TEMPERATURE_FILE`, or ``(1.0,
    "none")`` when it has none. A file that is not a positive number raises ValueError naming
    the file."""
    import json

    path = Path(getattr(atlas, "atlas_dir", "")) / TEMPERATURE_FILE
    if not path.is_file():
        return 1.0, "none"
    try:
        record = json.loads(path.read_text())
        t = float(record["temperature"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a label calibration file ({err})") from err
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"{path}: temperature must be a positive number, got {t}")
    return t, str(path)


def window_labels(atlas, states: pd.DataFrame, chunk: int = CHUNK,
                  temperature: float | None = None) -> pd.DataFrame:
    """Per window: ``time``, ``mission``, ``probe``, ``leaf``, ``regime`` (id), ``regime_name``,
    ``p`` (its posterior probability) and ``prob`` ((N, K) float32 array in ``attrs``; also
    available as :func:`probability_columns`). See the module docstring; ``temperature``:
    :func:`tempered` (the label is the same at any temperature, only ``p`` changes); None: the
    atlas' fitted one (:func:`stored_temperature`), 1 when it has none."""
    n = len(states)
    source = "given"
    if temperature is None:
        temperature, source = stored_temperature(atlas)
    leaf, logits = label_logits(atlas, states, chunk)
    prob = tempered(logits, temperature)
    regime = prob.argmax(axis=1)
    out = pd.DataFrame({
        "time": states["time"].to_numpy("datetime64[ns]"),
        "mission": states["mission"].astype(str).to_numpy() if "mission" in states else "MMS",
        "probe": states["probe"].astype(str).to_numpy() if "probe" in states else "mms1",
        "leaf": leaf, "regime": regime.astype(np.int32),
        "regime_name": np.asarray(atlas.names, dtype=object)[regime],
        "p": prob[np.arange(n), regime].astype(np.float64),
    })
    out.attrs.update(prob=prob, names=list(atlas.names), temperature=float(temperature),
                     temperature_source=source)
    return out


def probability_columns(labels: pd.DataFrame) -> pd.DataFrame:
    """``p_<regime slug>`` columns of the per-window probabilities of :func:`window_labels`."""
    from atlas_core.service.flythrough import _slug

    names = labels.attrs["names"]
    return pd.DataFrame(labels.attrs["prob"], columns=[f"p_{_slug(n)}" for n in names],
                        index=labels.index)


def label_intervals(labels: pd.DataFrame, max_step_s: float = MAX_STEP_S) -> pd.DataFrame:
    """Intervals of constant label per spacecraft: ``start``, ``stop`` (datetime64 UTC),
    ``regime``, ``regime_name``, ``mean_probability``, ``n_windows``, ``mission``, ``probe``."""
    cols = ["start", "stop", "regime", "regime_name", "mean_probability", "n_windows",
            "mission", "probe"]
    if labels.empty:
        return pd.DataFrame(columns=cols)
    df = labels.sort_values(["mission", "probe", "time"], kind="stable").reset_index(drop=True)
    t = df["time"].to_numpy("datetime64[ns]").astype(np.int64)
    craft = (df["mission"] + "/" + df["probe"]).to_numpy()
    reg = df["regime"].to_numpy()
    new = np.ones(len(df), dtype=bool)
    new[1:] = ((reg[1:] != reg[:-1]) | (craft[1:] != craft[:-1])
               | (np.diff(t) > max_step_s * 1e9))
    run = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(df) - 1)
    half = np.timedelta64(int(STRIDE_S / 2), "s")
    sums = np.bincount(run, weights=df["p"].to_numpy())
    nwin = np.bincount(run)
    return pd.DataFrame({
        "start": df["time"].to_numpy("datetime64[ns]")[first] - half,
        "stop": df["time"].to_numpy("datetime64[ns]")[last] + half,
        "regime": reg[first].astype(np.int32),
        "regime_name": df["regime_name"].to_numpy()[first],
        "mean_probability": sums / nwin,
        "n_windows": nwin.astype(np.int64),
        "mission": df["mission"].to_numpy()[first],
        "probe": df["probe"].to_numpy()[first],
    })[cols]


def _iso(t) -> np.ndarray:
    return np.char.add(np.datetime_as_string(np.asarray(t, dtype="datetime64[ms]"), unit="ms"), "Z")


def write_csv(intervals: pd.DataFrame, path) -> Path:
    """The intervals as CSV (ISO 8601 UTC times with ``Z``), written atomically."""
    path = Path(path)
    out = intervals.assign(start=_iso(intervals["start"]), stop=_iso(intervals["stop"]))
    tmp = path.with_name(f".{path.name}.tmp")
    out.to_csv(tmp, index=False, float_format="%.4f")
    os.replace(tmp, path)
    return path


def write_votable(intervals: pd.DataFrame, path, name: str, author: str = "Magnetosphere Atlas",
                  description: str = "") -> Path:
    """The intervals as a VOTable in tscat's (AMDA-compatible) layout, written atomically.

    Fields: ``Start Time``, ``Stop Time`` (char, ``xtype="dateTime"``, ISO), ``author``,
    ``tags`` (JSON list: the regime name), ``regime`` (char: its name), ``regime_id``,
    ``mean_probability``, ``n_windows`` (double: tscat reads any ``long`` field as its event
    rating, so integers travel as exact doubles), ``mission``, ``probe`` (char). The
    VOTable description carries ``Contact:<author>;Name:<name>;`` (what tscat reads) and
    ``description``."""
    import json

    from astropy.io.votable.tree import Field, Resource, TableElement, VOTableFile

    path = Path(path)
    vot = VOTableFile()
    vot.description = f"Contact:{author};Name:{name};" + (f" {description}" if description else "")
    res = Resource()
    vot.resources.append(res)
    table = TableElement(vot, name=name.replace(" ", "_"))
    res.tables.append(table)
    dt = {"datatype": "char", "arraysize": "*"}
    table.fields.extend([
        Field(vot, name="Start Time", ID="TimeIntervalStart", ucd="time.start", xtype="dateTime",
              utype="", **dt),
        Field(vot, name="Stop Time", ID="TimeIntervalStop", ucd="time.end", xtype="dateTime",
              utype="", **dt),
        Field(vot, name="author", **dt),
        Field(vot, name="tags", **dt),
        Field(vot, name="regime", **dt),
        Field(vot, name="regime_id", datatype="double"),
        Field(vot, name="mean_probability", datatype="double"),
        Field(vot, name="n_windows", datatype="double"),
        Field(vot, name="mission", **dt),
        Field(vot, name="probe", **dt),
    ])
    n = len(intervals)
    table.create_arrays(n)
    start, stop = _iso(intervals["start"]), _iso(intervals["stop"])
    for i, row in enumerate(intervals.itertuples(index=False)):
        table.array[i] = (start[i], stop[i], author, json.dumps([str(row.regime_name)]),
                          str(row.regime_name), float(row.regime), float(row.mean_probability),
                          float(row.n_windows), str(row.mission), str(row.probe))
    tmp = path.with_name(f".{path.name}.tmp")
    vot.to_xml(str(tmp))
    os.replace(tmp, path)
    return path

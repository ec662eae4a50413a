"""Are the label probabilities calibrated? A check on held-out weeks that needs no truth labels.

``atlas label`` states, for every window, the probability ``p`` of its label
(:mod:`atlas_core.service.labels`: the cell's regime probabilities times the regime model's
likelihood of the window's features). A calibrated ``p`` is right a fraction ``p`` of the time.
The synthetic truth regions are not regimes (twelve learned regimes split and merge the truth's
regions), so "right" is measured against the regime model itself, on days neither the atlas nor
the model has seen:

- the atlas (octree, regime model, cell counts) is built on the even weeks of a state table
  (7-day blocks, :func:`atlas_core.atlas.calibrate.split_halves`); the odd weeks are held out;
- every held-out window is labelled by that atlas (``p`` of the chosen regime);
- the reference is the regime model's own assignment of the held-out windows, each given its
  whole pass (``RegimeModel.assign``: the mixture's posterior smoothed along the pass, the codes
  the atlas counts); a second, weaker reference is the model's regime from the window's
  features alone (``posterior(smoothing=False)``);
- reliability: windows binned by stated ``p``; per bin the mean ``p`` and the share whose label
  equals the reference; expected calibration error ``ECE = sum_b (n_b / N) |acc_b - p_b|``
  (Guo et al. 2017, "On calibration of modern neural networks", ICML), the multiclass log loss
  and the Brier score of the stated probabilities against the reference.

Tempering: one temperature ``T`` (Guo et al. 2017), ``p = softmax(logits / T)``, fitted by
maximum likelihood of the reference on half of the held-out weeks (weeks = 1 mod 4) and judged
on the other half (weeks = 3 mod 4): the label never changes, only how sure it says it is.

    .venv/bin/python -m atlas_core.service.label_calibration --states data/states1y \\
        --work data/services/labelcal1y          # builds the even-weeks atlas once, prints
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)
"""Bins of stated probability (the last bin holds p = 1)."""


def reliability_table(p, correct, edges=EDGES) -> pd.DataFrame:
    """Per bin of stated probability ``p`` (N,): ``lo``, ``hi``, ``windows``, ``mean_p`` and
    ``accuracy`` (share of ``correct`` (N,) bool); empty bins are dropped."""
    p = np.asarray(p, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    edges = np.asarray(edges, dtype=np.float64)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    n = np.bincount(b, minlength=len(edges) - 1)
    sp = np.bincount(b, weights=p, minlength=len(edges) - 1)
    sc = np.bincount(b, weights=correct, minlength=len(edges) - 1)
    keep = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "windows": n,
                              "mean_p": sp / n, "accuracy": sc / n})
    return table[keep].reset_index(drop=True)


def expected_calibration_error(p, correct, edges=EDGES) -> float:
    """``sum_b (n_b / N) |accuracy_b - mean_p_b|`` over the bins of :func:`reliability_table`."""
    t = reliability_table(p, correct, edges)
    if t.empty:
        return float("nan")
    w = t["windows"].to_numpy() / t["windows"].sum()
    return float(np.sum(w * np.abs(t["accuracy"].to_numpy() - t["mean_p"].to_numpy())))


def log_loss(prob, reference) -> float:
    """Mean ``-log prob[reference]`` (nats per window; probabilities floored at 1e-12)."""
    prob = np.asarray(prob, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.int64)
    return float(-np.mean(np.log(np.clip(prob[np.arange(len(ref)), ref], 1e-12, None))))


def brier(prob, reference) -> float:
    """Mean over windows of ``sum_k (prob_k - [k == reference])^2``."""
    prob = np.asarray(prob, dtype=np.float64)
    onehot = np.zeros_like(prob)
    onehot[np.arange(len(prob)), np.asarray(reference, dtype=np.int64)] = 1.0
    return float(np.mean(np.sum((prob - onehot) ** 2, axis=1)))


def fit_temperature(logits, reference, bounds=(0.05, 1000.0)) -> float:
    """The temperature ``T`` minimising the log loss of ``softmax(logits / T)`` against the
    ``reference`` regimes (a bounded search over ``log T``; the loss is convex in ``1/T``)."""
    from scipy.optimize import minimize_scalar

    from atlas_core.service.labels import tempered

    z = np.asarray(logits, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.int64)
    res = minimize_scalar(lambda lt: log_loss(tempered(z, np.exp(lt)), ref),
                          bounds=tuple(np.log(bounds)), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x))


def summary(prob, reference, edges=EDGES) -> dict:
    """Stated probability of the label vs its agreement with ``reference``: windows, mean
    stated p, agreement, ECE, log loss, Brier, and the reliability table (records)."""
    prob = np.asarray(prob, dtype=np.float64)
    label = prob.argmax(axis=1)
    p = prob[np.arange(len(prob)), label]
    correct = label == np.asarray(reference)
    return {"windows": int(len(p)), "mean_p": float(p.mean()), "agreement": float(correct.mean()),
            "ece": expected_calibration_error(p, correct, edges),
            "log_loss": log_loss(prob, reference), "brier": brier(prob, reference),
            "share_p_above_0.99": float(np.mean(p > 0.99)),
            "reliability": reliability_table(p, correct, edges).to_dict("records")}


def week_bootstrap(prob_a, prob_b, reference, week, draws: int = 200, seed: int = 0,
                   edges=EDGES) -> dict:
    """ECE(b) - ECE(a) over ``draws`` resamples of whole weeks (with replacement): its median
    and 5/95 % (negative: b is better calibrated). Windows of one week are not independent,
    so the week, not the window, is the unit resampled."""
    def ece(prob, rows):
        label = prob[rows].argmax(axis=1)
        return expected_calibration_error(prob[rows][np.arange(rows.size), label],
                                          label == reference[rows], edges)

    reference = np.asarray(reference)
    weeks, inverse = np.unique(week, return_inverse=True)
    members = [np.flatnonzero(inverse == j) for j in range(weeks.size)]
    rng = np.random.default_rng(seed)
    diff = []
    for _ in range(draws):
        rows = np.concatenate([members[j] for j in rng.integers(0, weeks.size, weeks.size)])
        diff.append(ece(prob_b, rows) - ece(prob_a, rows))
    q05, q50, q95 = np.percentile(diff, [5, 50, 95])
    return {"weeks": int(weeks.size), "draws": int(draws), "p05": float(q05),
            "p50": float(q50), "p95": float(q95)}


def week_of(time) -> np.ndarray:
    """(N,) week number (7-day blocks from 1970-01-01, as ``split_halves(..., "week")``)."""
    from atlas_core.atlas.sampling import day_number

    return day_number(time) // 7


def heldout_calibration(atlas, heldout: pd.DataFrame, edges=EDGES) -> dict:
    """Label calibration of an atlas on held-out states (weeks it was not built from): the
    temperature fitted on weeks = 1 (mod 4), every figure on weeks = 3 (mod 4) before and
    after tempering, against the pass-smoothed codes and the features-alone regimes."""
    from atlas_core.service.labels import label_logits, tempered

    t0 = time.perf_counter()
    heldout = heldout.sort_values("time", kind="stable").reset_index(drop=True)
    _, logits = label_logits(atlas, heldout)
    codes, _ = atlas.model.assign(heldout)
    alone_prob = atlas.model.posterior(heldout, smoothing=False)
    alone = alone_prob.argmax(axis=1)
    week = week_of(heldout["time"])
    fit, test = week % 4 == 1, week % 4 == 3
    if not fit.any() or not test.any():
        raise ValueError("held-out states need weeks = 1 and = 3 (mod 4) (fit and test halves)")
    temperature = fit_temperature(logits[fit], codes[fit])
    out = {"windows": int(len(heldout)), "fit_windows": int(fit.sum()),
           "test_windows": int(test.sum()), "temperature": temperature,
           "temperature_features_alone": fit_temperature(logits[fit], alone[fit]),
           "temperature_fitted_on_test_weeks": fit_temperature(logits[test], codes[test]),
           # baseline label without the place: the model's regime probabilities from the
           # window's features alone (regime weights as the prior), against the codes
           "baseline_features_alone": summary(alone_prob[test], codes[test], edges)}
    raw, hot = tempered(logits[test], 1.0), tempered(logits[test], temperature)
    for name, ref in (("codes", codes), ("features_alone", alone)):
        out[name] = {"raw": summary(raw, ref[test], edges),
                     "tempered": summary(hot, ref[test], edges),
                     "ece_change_by_weeks": week_bootstrap(raw, hot, ref[test], week[test],
                                                           edges=edges)}
    log.info("label calibration: %d held-out windows in %.1f s", len(heldout),
             time.perf_counter() - t0)
    return out


def _print(report: dict) -> None:
    print(f"held-out windows {report['windows']:,} (fit {report['fit_windows']:,}, "
          f"test {report['test_windows']:,}); temperature fitted on the fit weeks "
          f"T = {report['temperature']:.3f} (against the features-alone regimes "
          f"{report['temperature_features_alone']:.3f})")
    print(f"(T fitted on the test weeks instead: {report['temperature_fitted_on_test_weeks']:.3f})")
    b = report["baseline_features_alone"]
    print(f"[baseline: the model's features-alone probabilities vs the codes] mean stated p "
          f"{b['mean_p']:.4f}, agreement {b['agreement']:.4f}, ECE {b['ece']:.4f}, log loss "
          f"{b['log_loss']:.4f}, Brier {b['brier']:.4f}")
    for name in ("codes", "features_alone"):
        for kind in ("raw", "tempered"):
            s = report[name][kind]
            print(f"[{name}, {kind}] test weeks: mean stated p {s['mean_p']:.4f}, agreement "
                  f"{s['agreement']:.4f}, ECE {s['ece']:.4f}, log loss {s['log_loss']:.4f}, "
                  f"Brier {s['brier']:.4f}, share p > 0.99 {s['share_p_above_0.99']:.3f}")
            if kind == "tempered":
                b = report[name]["ece_change_by_weeks"]
                print(f"    ECE tempered - raw over {b['draws']} resamples of the "
                      f"{b['weeks']} test weeks: median {b['p50']:+.4f}, 5-95 % "
                      f"{b['p05']:+.4f} .. {b['p95']:+.4f}")
            for r in s["reliability"]:
                print(f"    p in [{r['lo']:.3f}, {r['hi']:.3f}): {r['windows']:7d} windows, "
                      f"mean p {r['mean_p']:.4f}, agreement {r['accuracy']:.4f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--states", type=Path, required=True, help="state table directory")
    ap.add_argument("--work", type=Path, required=True,
                    help="folder for the even-weeks atlas (built once) and report.json")
    ap.add_argument("--save-to", type=Path, default=None, metavar="ATLAS",
                    help="write the fitted temperature to ATLAS/label_calibration.json (the "
                         "atlas built from all of STATES), which atlas label and atlas hapi "
                         "then use")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from atlas_core.atlas import Atlas, build_atlas
    from atlas_core.atlas.calibrate import split_halves
    from atlas_core.states import read_states

    states = read_states(args.states)
    train = split_halves(states["time"], "week")
    atlas_dir = args.work / "atlas_even_weeks"
    if not (atlas_dir / "atlas.nc").exists():
        args.work.mkdir(parents=True, exist_ok=True)
        build_atlas(states[train].reset_index(drop=True), atlas_dir)
    report = heldout_calibration(Atlas.open(atlas_dir), states[~train].reset_index(drop=True))
    report.update(states=str(args.states), atlas=str(atlas_dir))
    (args.work / "report.json").write_text(json.dumps(report, indent=1))
    _print(report)
    if args.save_to is not None:
        print(f"saved: {save_temperature(args.save_to, report)}")
    return 0


def save_temperature(atlas_dir, report: dict) -> Path:
    """Write the report's fitted temperature, with what it was fitted on and how it scored on
    the test weeks, to ``atlas_dir``/:data:`~atlas_core.service.labels.TEMPERATURE_FILE`
    (atomically)."""
    import datetime
    import os

    from atlas_core.service.labels import TEMPERATURE_FILE

    atlas_dir = Path(atlas_dir)
    if not atlas_dir.is_dir():
        raise FileNotFoundError(f"{atlas_dir}: no atlas directory")
    codes = report["codes"]
    record = {
        "temperature": report["temperature"],
        "method": "p = softmax(logits / T), T by maximum likelihood of the regime model's "
                  "pass-smoothed codes on held-out weeks = 1 (mod 4) of an atlas built on the "
                  "even weeks (atlas_core.service.label_calibration)",
        "fitted_on": {k: report.get(k) for k in ("states", "atlas", "fit_windows",
                                                 "test_windows")},
        "test_weeks": {kind: {m: codes[kind][m] for m in ("ece", "log_loss", "brier",
                                                           "mean_p", "agreement")}
                       for kind in ("raw", "tempered")},
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    path = atlas_dir / TEMPERATURE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    sys.exit(main())

"""Fill a process' shared caches in the background once the atlas is opened, so that the first
session does not wait for one-time work: the product layer's counts for the default conditions,
the coverage frame, Datashader's compiled aggregations (numba JIT, seconds), the regime maps,
the model's feature samples and the 3D map's cells. Everything it computes is read-only and
shared by every session (cached on the atlas object)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("atlas.dashboard")


def warm_up(atlas) -> None:
    """The work itself (any failure is logged and ignored: sessions then do it themselves)."""
    import datashader as ds

    from atlas_core.atlas.product import Condition

    from .store import DataStore

    store = DataStore(atlas)
    steps = [
        ("data span", lambda: (store.data_span(), store.first_storm_time(), store.missions())),
        ("counts", lambda: [store.estimates(c) for c in (Condition(), Condition.quiet(atlas.bins),
                                                         Condition.storm(atlas.bins))]),
        ("coverage", lambda: _aggregate(ds, store.coverage_frame())),
        ("maps", lambda: [store.regime_map(kind, Condition()) for kind in ("mlt_r", "x_rho")]),
        ("samples", lambda: store.feature_samples("n_mean")),
        ("3D cells", lambda: store.cell_table(Condition())),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as err:  # noqa: BLE001 - a cache that stays cold is not an error
            log.info("warm-up step %s skipped: %s", name, err)


def _aggregate(ds, frame) -> None:
    canvas = ds.Canvas(plot_width=64, plot_height=64)
    canvas.points(frame, "x_gsm", "y_gsm", agg=ds.count())
    canvas.points(frame, "x_gsm", "y_gsm", agg=ds.mean("dst"))
    canvas.points(frame, "x_gsm", "y_gsm", agg=ds.count_cat("regime"))


def start_warm_up(atlas) -> threading.Thread:
    """Run :func:`warm_up` in a daemon thread (returned)."""
    thread = threading.Thread(target=warm_up, args=(atlas,), name="atlas-warm-up", daemon=True)
    thread.start()
    return thread

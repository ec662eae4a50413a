"""``atlas serve ATLAS_DIR``: the dashboard on http://127.0.0.1:5006 (loopback by default).

The atlas is opened (and checked) before the server starts, so that a missing or corrupt
atlas directory is reported at once with its problem, not in a browser. The dashboard package
is imported here, inside ``run``, only: ``atlas_core`` itself never depends on it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("atlas.serve")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="serve the dashboard over an atlas directory",
        description="Serve the Magnetosphere Atlas dashboard (Panel) over ATLAS_DIR.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("atlas_dir", type=Path, nargs="?", default=Path("data/atlas1y"),
                   help="atlas directory written by `atlas build`")
    p.add_argument("--address", default="127.0.0.1",
                   help="interface to bind; anything but loopback exposes the app to the network")
    p.add_argument("--port", type=int, default=5006, help="TCP port (0: any free port)")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="extra origins allowed to open the websocket (e.g. behind a proxy)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--check", action="store_true",
                   help="only open the atlas and report whether the dashboard can serve it")
    p.set_defaults(func=run)


def run(args) -> int:
    from dashboard.app import TITLE, create_app, load_atlas
    from dashboard.store import DataStore, StoreError

    atlas_dir = args.atlas_dir.expanduser().resolve()
    try:
        store = DataStore(load_atlas(str(atlas_dir)))
    except StoreError as err:
        print(f"atlas serve: {err}", file=sys.stderr)
        return 2
    kind = "synthetic" if store.synthetic else "measured"
    log.info("atlas %s: %d %s states, %d leaves, %d regimes", atlas_dir, store.n_states, kind,
             store.n_leaves, store.k)
    if args.check:
        print(f"ok: {atlas_dir} ({store.n_states} {kind} states, {store.n_leaves} leaves, "
              f"{store.k} regimes)")
        return 0
    if args.address not in LOOPBACK:
        log.warning("binding to %s: the dashboard is reachable from the network", args.address)

    import panel as pn

    origins = [f"{host}:{args.port}" for host in ("127.0.0.1", "localhost")]
    if args.address not in LOOPBACK:
        origins.append(f"{args.address}:{args.port}")
    origins += args.allow_websocket_origin
    url = f"http://{args.address}:{args.port}/"
    print(f"Serving the Magnetosphere Atlas dashboard for {atlas_dir} at {url}  (Ctrl-C stops)",
          flush=True)
    pn.serve({"/": lambda: create_app(atlas_dir)}, address=args.address, port=args.port,
             websocket_origin=origins, show=args.show, title=TITLE, threaded=False,
             print_url=False)
    return 0

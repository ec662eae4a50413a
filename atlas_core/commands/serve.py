"""``atlas serve ATLAS_DIR``: the dashboard on http://127.0.0.1:5006 (loopback by default).

The atlas is opened (and checked: octree, dataset, states, regime model) before the server
starts, so that a missing, incomplete or corrupt atlas directory is reported at once with its
problem (exit status 2, no traceback), not in a browser. The dashboard package
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
    p.add_argument("--files", action="append", default=[], type=Path, metavar="DIR",
                   help="directory whose driver files (OMNI, Dst) the dashboard's nowcast may "
                        "read (repeatable); no other path typed in a browser is ever opened")
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
        # what every view needs, loaded now (the model and the states load lazily): a
        # missing model/ or a damaged file is reported here, not as a traceback later
        store.atlas.model  # noqa: B018
        store.atlas.states  # noqa: B018
    except StoreError as err:
        print(f"atlas serve: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # any reader's error on a missing or damaged part of the atlas
        print(f"atlas serve: cannot serve the atlas in {atlas_dir}: "
              f"{type(err).__name__}: {err}", file=sys.stderr)
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
    roots = [d.expanduser().resolve() for d in args.files]
    missing = [str(d) for d in roots if not d.is_dir()]
    if missing:
        print(f"atlas serve: --files {', '.join(missing)}: not a directory", file=sys.stderr)
        return 2

    import panel as pn

    origins = [f"{host}:{args.port}" for host in ("127.0.0.1", "localhost")]
    if args.address not in LOOPBACK:
        origins.append(f"{args.address}:{args.port}")
    origins += args.allow_websocket_origin
    url = f"http://{args.address}:{args.port}/"
    print(f"Serving the Magnetosphere Atlas dashboard for {atlas_dir} at {url}  (Ctrl-C stops)",
          flush=True)
    # the nowcast's readable directories (issue 14); the app checks every path against them
    app = (lambda: create_app(atlas_dir, file_roots=tuple(roots))) if roots else \
        (lambda: create_app(atlas_dir))
    pn.serve({"/": app}, address=args.address, port=args.port,
             websocket_origin=origins, show=args.show, title=TITLE, threaded=False,
             print_url=False)
    return 0

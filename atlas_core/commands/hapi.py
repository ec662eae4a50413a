"""``atlas hapi``: serve the atlas' per-window regime labels and window features over HAPI 3.1."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "hapi", help="HAPI 3.1 server of per-window regime labels and features",
        description="Serve, for every spacecraft of the states (default: the atlas' own), the "
                    "datasets <probe>_regime_labels (regime, regime_name, p, probabilities, leaf) "
                    "and <probe>_window_features (GSM position, the 14 features, Dst, "
                    "boundary-normalised coordinates) at /hapi/{about,capabilities,catalog,info,"
                    "data}, CSV and binary. Binds 127.0.0.1 unless --host says otherwise.")
    p.add_argument("atlas_dir")
    p.add_argument("--states", help="state-table directory or Parquet file (default: the atlas' states)")
    p.add_argument("--port", type=int, default=8999, help="TCP port (default 8999)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import Atlas, AtlasError
    from atlas_core.service.hapi import make_server

    try:
        atlas = Atlas.open(args.atlas_dir)
        states = None
        if args.states:
            from atlas_core.states import read_states

            states = read_states(args.states)
        server = make_server(atlas, states, host=args.host, port=args.port)
    except (AtlasError, ValueError, OSError) as err:
        print(f"atlas hapi: {err}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: reachable from other machines", host)
    print(f"HAPI server on http://{host}:{port}/hapi  ({len(server.datasets)} datasets: "
          f"{', '.join(server.datasets)}); Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

"""The dashboard server as ``atlas serve`` runs it, plus a probe for the load benchmark.

``GET /bench-probe`` answers JSON: ``rss_mb`` (the server's resident memory), ``sessions``
(Bokeh sessions alive), ``apps`` (``dashboard.app.App`` objects alive after a garbage
collection) and ``cache_mb`` (the product layer's shared cache). ``GET /bench-probe?trim=1``
first returns freed heap to the OS (``malloc_trim``), to tell memory held from memory merely
not yet given back. Used by ``bench/load_dashboard.py``; not for production.

    .venv/bin/python bench/probe_server.py ATLAS_DIR --port 5007
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def print_state_holders() -> None:
    """Which of Panel's per-document registries (``pn.state``) still hold documents after
    every session closed, printed to stderr (the server log): a session's leftovers are
    usually kept there."""
    import panel as pn
    from bokeh.document import Document

    def holds_document(item) -> bool:
        items = item if isinstance(item, (tuple, list)) else (item,)
        return any(isinstance(i, Document) for i in items)

    for name, value in vars(pn.state).items():
        if isinstance(value, dict):
            docs = [k for k, v in value.items() if holds_document(k) or holds_document(v)]
            if docs:
                print(f"holder: pn.state.{name} keeps {len(docs)} document(s): {docs[:3]}",
                      file=sys.stderr, flush=True)


def main(argv=None) -> int:
    import panel as pn
    import tornado.web

    from atlas_core.atlas.product import cache_of
    from dashboard.app import TITLE, App, create_app, load_atlas

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("atlas_dir", type=Path)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, default=0,
                   help="Panel's event thread pool (pn.config.nthreads; 0: none, as atlas serve)")
    args = p.parse_args(argv)
    if args.threads:
        pn.config.nthreads = args.threads
    atlas_dir = args.atlas_dir.expanduser().resolve()
    atlas = load_atlas(str(atlas_dir))

    class Probe(tornado.web.RequestHandler):
        def get(self):
            if self.get_argument("trim", ""):
                gc.collect()
                ctypes.CDLL("libc.so.6").malloc_trim(0)
            gc.collect()
            apps = sum(1 for o in gc.get_objects() if isinstance(o, App))
            if apps and self.get_argument("chain", ""):
                print_state_holders()
            contexts = getattr(self.application, "_applications", {}).values()
            sessions = sum(len(list(c.sessions)) for c in contexts)
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps({"rss_mb": rss_mb(), "sessions": sessions, "apps": apps,
                                   "cache_mb": cache_of(atlas).nbytes / 2**20}))

    origins = [f"{h}:{args.port}" for h in ("127.0.0.1", "localhost")]
    print(f"probe server for {atlas_dir} on http://127.0.0.1:{args.port}/", flush=True)
    pn.serve({"/": lambda: create_app(atlas_dir)}, address="127.0.0.1", port=args.port,
             websocket_origin=origins, show=False, title=TITLE, threaded=False,
             print_url=False, extra_patterns=[(r"/bench-probe", Probe)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

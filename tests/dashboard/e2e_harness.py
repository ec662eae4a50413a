"""Helpers for the end-to-end tests: a served app on a free 127.0.0.1 port, and Chromium.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright; ``playwright install`` is never
needed. A Panel page renders over a websocket, so tests wait for content, not for ``load``.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(os.environ.get("ATLAS_REPO", Path(__file__).resolve().parents[2]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(cmd: list[str], port: int, timeout: float = 120.0, env: dict | None = None):
    """Run a server command as a subprocess; yield its base URL once it answers HTTP."""
    # the server's log goes to a file: an unread pipe would fill up and stall the server
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                out = log.read().decode("utf-8", "replace")
                raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
            try:
                with urllib.request.urlopen(url + "/liveness", timeout=2):
                    break
            except OSError:
                pass
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {url} did not answer in {timeout} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def panel_serve_cmd(app: Path, port: int, args: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "panel", "serve", str(app), "--address", "127.0.0.1",
           "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}"]
    if args:
        cmd += ["--args", *args]
    return cmd


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def image_is_nonblank(png: bytes, min_colors: int = 8) -> bool:
    """True when a screenshot holds a picture, not a blank box (several distinct colours)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    colors = img.getcolors(maxcolors=1 << 20)
    return colors is None or len(colors) >= min_colors

"""Browser fixtures: one Chromium and one served dashboard for the whole run, one fresh page per
test, and a watch on every page that fails the test on any console error or warning, any
uncaught page error and any request that leaves 127.0.0.1.

The app serves the small test atlas that the suite builds (``small_atlas``), or the atlas in
``$ATLAS_DASHBOARD_ATLAS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_harness import (
    CHROMIUM,
    TIMEOUT_MS,
    VIEWPORT,
    PageWatch,
    atlas_serve_cmd,
    free_port,
    launch,
    served,
)


@pytest.fixture(scope="session")
def playwright_driver():
    """Playwright's driver for the run (Debian's Chromium; never ``playwright install``)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/bootstrap.sh --browser installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright_driver):
    browser = launch(playwright_driver)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def dashboard_atlas(request) -> Path:
    """$ATLAS_DASHBOARD_ATLAS, else the suite's small atlas (built once per run)."""
    chosen = os.environ.get("ATLAS_DASHBOARD_ATLAS")
    return Path(chosen) if chosen else request.getfixturevalue("small_atlas")


@pytest.fixture(scope="session")
def driver_files(request) -> Path:
    """A folder of driver files (OMNI2, Kyoto Dst) for the nowcast: $ATLAS_DASHBOARD_FILES,
    else the indices of the suite's small synthetic archive."""
    chosen = os.environ.get("ATLAS_DASHBOARD_FILES")
    return Path(chosen) if chosen else request.getfixturevalue("synth_archive") / "indices"


@pytest.fixture(scope="session")
def app_url(dashboard_atlas, driver_files):
    """``atlas serve`` on a free loopback port, shared by every browser test
    ($ATLAS_DASHBOARD_URL: a server already running over the same atlas, for development)."""
    if os.environ.get("ATLAS_DASHBOARD_URL"):
        yield os.environ["ATLAS_DASHBOARD_URL"].rstrip("/")
        return
    port = free_port()
    with served(atlas_serve_cmd(dashboard_atlas, port, files=[driver_files]), port,
                env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"}) as url:
        yield url


@pytest.fixture(scope="session")
def atlas(dashboard_atlas):
    """The served atlas, opened in the test process (independent numbers for the checks)."""
    from atlas_core.atlas import Atlas

    return Atlas.open(dashboard_atlas)


@pytest.fixture
def watched_page(chromium):
    """A fresh 1600x1000 page and its :class:`PageWatch`; the test fails on any problem."""
    context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch = PageWatch.on(page)
    yield page, watch
    problems = watch.problems()  # before closing: a page torn down is nothing a person sees
    context.close()
    assert problems == [], f"{len(problems)} browser problems:\n" + "\n".join(problems[:40])


@pytest.fixture
def page(watched_page):
    return watched_page[0]

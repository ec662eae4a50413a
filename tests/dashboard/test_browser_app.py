"""The page as a whole in Chromium: URL values, condition controls, downloads, a missing atlas.

Served by ``atlas serve`` on a free 127.0.0.1 port (one server for the run, see conftest.py);
every page is watched for console errors and warnings, page errors and off-host requests.
"""

from __future__ import annotations

import pandas as pd
import pytest
from e2e_harness import (
    REPO,
    address,
    free_port,
    open_app,
    panel_serve_cmd,
    served,
    show_tab,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.browser


def test_url_parameters_are_clamped_with_a_message(page, app_url):
    open_app(page, app_url, "?offset=999&plane=QQ&color=entropy&t0=yesterday")
    msg = text_of(page.locator(".atlas-messages").first)
    assert "offset='999'" in msg and "clamped" in msg
    assert "plane='QQ'" in msg and "ignored" in msg
    assert "t0='yesterday'" in msg
    assert "entropy (bits)" in text_of(page.locator(".atlas-slice-caption").first)


def test_moving_the_dst_control_changes_the_occupancy(page, app_url):
    open_app(page, app_url, "?view=occupancy")
    text = page.locator(".atlas-occupancy-text").first
    before = wait_until(lambda: text_of(text), what="the occupancy text")
    handle = page.locator(".atlas-quiet-slider .noUi-handle-lower").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - 60, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    wait_until(lambda: text_of(text) != before, timeout=60, what="the occupancy to change")
    assert "quiet=" in address(page)


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_export_downloads_a_valid_figure(page, app_url, fmt, magic, tmp_path):
    open_app(page, app_url)
    with page.expect_download(timeout=120_000) as info:
        page.locator(f".atlas-export-{fmt}").locator("button, a").first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    data = path.read_bytes()
    assert path.suffix == f".{fmt}" and magic in data[:2048] and len(data) > 1000


def test_time_series_shows_an_interval_and_steps_through_time(page, app_url, atlas):
    """The time-series view plots the windows of an interval (features and regime strip) and
    the orbit of the same windows; 'later' moves the interval by its length."""
    t0 = atlas.states["time"].iloc[len(atlas.states) // 2].floor("h")
    open_app(page, app_url, f"?view=series&t0={t0:%Y-%m-%dT%H:%M}&hours=6")
    caption = wait_until(lambda: text_of(page.locator(".atlas-series-caption").first),
                         timeout=90, what="the time-series caption")
    assert f"{t0:%Y-%m-%d %H:%M}" in caption and "windows" in caption
    n_strip = page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-series-regimes');
            return v.model.renderers[0].data_source.data.left.length;
        }""")
    t = atlas.states["time"]
    expected = int(((t >= t0) & (t < t0 + pd.Timedelta(hours=6))).sum())
    assert n_strip == expected
    orbit = page.evaluate(
        """() => Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-orbit-xy')
                 .model.renderers[0].data_source.data.x.length""")
    assert orbit == expected
    page.locator("button", has_text="later").first.click()
    later = f"t0={(t0 + pd.Timedelta(hours=6)):%Y-%m-%dT%H}"
    wait_until(lambda: later in address(page) and "hours=6" in address(page), timeout=60,
               what="the interval to move")


def test_cell_intervals_list_the_visits_and_download_as_csv(page, app_url, atlas, tmp_path):
    from atlas_core.atlas import product

    leaf = int(atlas.states["leaf"].value_counts().index[0])
    open_app(page, app_url, f"?cell={leaf}")
    note = wait_until(lambda: text_of(page.locator(".atlas-intervals-note").first), timeout=90,
                      what="the interval list")
    assert f"cell {leaf}" in note
    with page.expect_download(timeout=120_000) as info:
        page.locator(".atlas-intervals-csv").locator("button, a").first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    csv = pd.read_csv(path)
    windows = int(product.estimates(atlas, product.Condition()).n[leaf])
    assert csv["windows"].sum() == windows
    assert {"start", "end", "regime_name", "dst_min", "probe"} <= set(csv.columns)
    assert (pd.to_datetime(csv["end"]) > pd.to_datetime(csv["start"])).all()


def test_maps_tab_draws_the_mlt_and_x_rho_maps(page, app_url, atlas):
    open_app(page, app_url)
    show_tab(page, "MLT–R and X–ρ maps")
    n = wait_until(lambda: page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-map-mlt');
            return v && v.model.renderers[0].data_source.data.windows.reduce((a, b) => a + b, 0);
        }"""), timeout=90, what="the MLT-R map")
    assert n == len(atlas.states)


def test_missing_atlas_gives_a_clear_message(chromium, tmp_path):
    missing = tmp_path / "no-atlas-here"
    port = free_port()
    with served(panel_serve_cmd(REPO / "dashboard" / "app.py", port, [str(missing)]), port) as url:
        page = chromium.new_page()
        page.goto(url + "/app")
        text = text_of(page.locator(".atlas-error").first)
        assert str(missing) in text and "does not exist" in text
        page.close()

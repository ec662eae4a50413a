"""The nowcast button and the driver controls in Chromium (issue 14, item 1).

The server is started with ``--files`` on a folder of real-format driver files (the small
synthetic archive's OMNI2 and Kyoto Dst files). A person types file names, presses "Nowcast",
and the page switches to the nearest-neighbour condition of the drivers at the files' latest
hour: the slice then shows the product layer's colours for that condition (computed here, in
the test process, with the service's own ``nowcast``). A path outside the served folder is
refused with a message and changes nothing. The driver buttons choose which drivers the target
uses.
"""

from __future__ import annotations

import pytest
from e2e_harness import (
    OFFSET,
    SLICE,
    address,
    assert_cell_colour,
    figure_geometry,
    open_app,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.browser

K = 500


def slice_fills(page) -> list[str]:
    return page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-slice');
            return Array.from(v.model.renderers[0].data_source.data.fill);
        }""")


def note(page) -> str:
    return text_of(page.locator(".atlas-nowcast-note").first)


def test_nowcast_button_sets_the_drivers_condition_and_refuses_other_paths(page, app_url,
                                                                           atlas, driver_files):
    from atlas_core.atlas import product
    from atlas_core.service.nowcast import nowcast

    files = sorted(p for p in driver_files.iterdir() if p.suffix in (".dat", ".wdc"))
    assert files, f"no driver files in {driver_files}"
    expected = nowcast(atlas, files, k=K)
    table = product.slice_table(atlas, "xy", OFFSET, expected.condition, "dominant", 0,
                                allow_empty=True)

    open_app(page, app_url, f"?offset={OFFSET}&k={K}")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    before = slice_fills(page)
    page.locator(".atlas-nowcast-files input").first.fill(", ".join(p.name for p in files))
    page.locator(".atlas-nowcast-button button").first.click()
    text = wait_until(lambda: (t := note(page)) and "Nowcast for" in t and t, timeout=90,
                      what="the nowcast's note")
    assert f"{expected.time:%Y-%m-%d}" in text
    caption = wait_until(
        lambda: (c := text_of(page.locator(".atlas-slice-caption").first)) and "IMF Bz" in c and c,
        timeout=90, what="the slice caption to show the drivers' condition")
    assert f"{K} states nearest to" in caption and "neighbours span" in caption
    url = address(page)
    assert "mode=nearest" in url and "drivers=" in url
    fills = wait_until(lambda: (f := slice_fills(page)) != before and f, timeout=60,
                       what="the slice to be recoloured")
    assert [c.lower() for c in fills] == [c.lower() for c in table["fill"]]
    shown = table[~table["empty"]]
    assert_cell_colour(page, shown.loc[(shown["u1"] - shown["u0"]).idxmax()], "nowcast")

    # a path outside the served folder: refused, nothing changes
    page.locator(".atlas-nowcast-files input").first.fill("/etc/passwd")
    page.locator(".atlas-nowcast-button button").first.click()
    wait_until(lambda: "outside the allowed directories" in note(page), timeout=60,
               what="the refusal")
    assert slice_fills(page) == fills

    # the driver buttons: leaving out V_sw takes it out of the target
    page.locator(".atlas-near-drivers button", has_text="V_sw").first.click()
    wait_until(lambda: "solar-wind V" not in text_of(page.locator(".atlas-slice-caption").first),
               timeout=60, what="the caption without V_sw")
    assert "IMF Bz" in text_of(page.locator(".atlas-slice-caption").first)

"""The 3D regime map's geometry: voxels from leaf bounds, surfaces, Earth, the plotter."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.views.regime3d import (
    build_plotter,
    earth_sphere,
    regime_voxels,
    surface_of_revolution,
)


def _grid_leaves(n=4, size=2.0):
    """An n^3 block of cubes of edge ``size`` R_E starting at -n*size/2 on every axis."""
    idx = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    lo = idx * size - n * size / 2
    return lo.astype(float), (lo + size).astype(float)


def test_voxels_one_hexahedron_per_leaf_with_the_leaf_bounds_and_volume():
    lo = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [-4.0, -1.0, 0.5]])
    hi = np.array([[2.0, 2.0, 2.0], [4.0, 2.0, 2.0], [-3.5, -0.5, 1.0]])
    grid = regime_voxels(lo, hi, np.array([0, 1, 2]), np.array([0.9, 0.5, 0.7]))
    assert grid.n_cells == 3
    assert set(np.unique(grid.celltypes)) == {12}  # VTK_HEXAHEDRON
    vol = grid.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"]
    np.testing.assert_allclose(vol, [8.0, 8.0, 0.125], rtol=1e-6)
    for i in range(3):
        b = grid.extract_cells([i]).bounds
        np.testing.assert_allclose([b[0], b[2], b[4]], lo[i])
        np.testing.assert_allclose([b[1], b[3], b[5]], hi[i])
    # The two face-sharing cubes share their 4 face corners: 8 + 4 + 8 points.
    assert grid.n_points == 20
    np.testing.assert_array_equal(grid.cell_data["leaf"], [0, 1, 2])


def test_voxels_colour_by_palette_and_drop_empty_filtered_and_uncertain_leaves():
    lo, hi = _grid_leaves(3)
    n = len(lo)
    regime = np.arange(n) % 3
    regime[0] = -1  # empty leaf
    conf = np.linspace(0.0, 1.0, n)
    conf[1] = np.nan
    palette = ["#ff0000", "#00ff00", "#0000ff"]
    grid = regime_voxels(lo, hi, regime, conf, colors=palette)
    assert grid.n_cells == n - 2
    rgb = np.asarray(grid.cell_data["rgb"])
    expected = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]])[grid.cell_data["regime"]]
    np.testing.assert_array_equal(rgb, expected)

    only = regime_voxels(lo, hi, regime, conf, colors=palette, regimes=[2])
    assert only.n_cells == np.sum((regime == 2) & np.isfinite(conf))
    assert set(only.cell_data["regime"]) == {2}

    sure = regime_voxels(lo, hi, regime, conf, colors=palette, min_confidence=0.5)
    assert np.all(sure.cell_data["confidence"] >= 0.5)
    assert sure.n_cells == np.sum((conf >= 0.5) & (regime >= 0))


def test_voxels_clip_keeps_whole_cells_on_the_chosen_side():
    lo, hi = _grid_leaves(4)  # x from -4 to 4 in 2 R_E cells
    regime = np.zeros(len(lo), int)
    conf = np.ones(len(lo))
    below = regime_voxels(lo, hi, regime, conf, clip=("x", 0.0, "below"))
    above = regime_voxels(lo, hi, regime, conf, clip=("x", 0.0, "above"))
    assert below.n_cells == above.n_cells == len(lo) // 2
    assert below.bounds[1] == pytest.approx(0.0) and below.bounds[0] == pytest.approx(-4.0)
    assert above.bounds[0] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        regime_voxels(lo, hi, regime, conf, clip=("w", 0.0, "below"))


def test_voxels_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="regime and confidence"):
        regime_voxels(np.zeros((2, 3)), np.ones((2, 3)), np.zeros(3, int), np.ones(2))


def test_voxels_with_irregular_bounds_fall_back_to_rowwise_unique():
    lo = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.3]])
    hi = np.array([[0.3, 0.5, 0.6], [0.5, 0.5, 0.6]])
    grid = regime_voxels(lo, hi, np.array([0, 0]), np.array([1.0, 1.0]))
    assert grid.n_cells == 2 and grid.n_points == 12


def test_surface_of_revolution_of_a_circle_profile_is_a_sphere():
    theta = np.linspace(0.0, np.pi * 0.9, 60)
    surf = surface_of_revolution(5.0 * np.cos(theta), 5.0 * np.sin(theta))
    np.testing.assert_allclose(np.linalg.norm(surf.points, axis=1), 5.0, rtol=1e-5)
    assert surf.points[:, 0].max() == pytest.approx(5.0, rel=1e-5)
    assert surf.points[:, 0].min() == pytest.approx(5.0 * np.cos(np.pi * 0.9), rel=1e-5)
    with pytest.raises(ValueError):
        surface_of_revolution(np.zeros(3), np.zeros(4))


def test_boundary_surfaces_noses_match_the_published_standoff_distances():
    pytest.importorskip("atlas_core.physics.boundaries")
    from dashboard.views.regime3d import boundary_surfaces

    surfs = boundary_surfaces(bz_nt=0.0, pdyn_npa=2.0)
    # Shue et al. (1998) eq. 12 at Bz = 0, Dp = 2 nPa.
    r0_mp = (10.22 + 1.29 * np.tanh(0.184 * 8.14)) * 2.0 ** (-1 / 6.6)
    # Jelínek et al. (2012): R0 / (cos 0 + 1) with R0 = 2 * 15.02 Dp^(-1/6.55).
    r0_bs = 15.02 * 2.0 ** (-1 / 6.55)
    assert surfs["magnetopause"].points[:, 0].max() == pytest.approx(r0_mp, rel=1e-3)
    assert surfs["bow_shock"].points[:, 0].max() == pytest.approx(r0_bs, rel=1e-3)
    # The bow shock lies outside the magnetopause at the flanks (x = 0 terminator plane).
    for name in surfs:
        assert surfs[name].n_cells > 0


def test_earth_day_side_faces_the_sun():
    earth = earth_sphere()
    centres = earth.cell_centers().points
    day = np.asarray(earth.cell_data["day"], bool)
    assert np.all(centres[day, 0] > 0) and np.all(centres[~day, 0] <= 0)
    np.testing.assert_allclose(np.linalg.norm(earth.points, axis=1), 1.0, rtol=1e-6)


def test_plotter_renders_offscreen_with_confidence_bands_and_serialises_for_panel():
    lo, hi = _grid_leaves(6)
    rng = np.random.default_rng(1)
    regime = rng.integers(0, 4, len(lo))
    conf = rng.uniform(0.0, 1.0, len(lo))
    voxels = regime_voxels(lo, hi, regime, conf, colors=["#e41a1c", "#377eb8", "#4daf4a", "#984ea3"])
    theta = np.linspace(0, 2.6, 80)
    r = 10.0 * (2 / (1 + np.cos(theta))) ** 0.6
    boundaries = {"magnetopause": surface_of_revolution(r * np.cos(theta), r * np.sin(theta))}
    plotter = build_plotter(voxels, boundaries=boundaries, clip=("z", 0.0, "below"))
    names = set(plotter.actors)
    assert {"earth", "magnetopause"} <= names
    bands = [n for n in names if n.startswith("voxels_")]
    assert len(bands) == 4  # conf spans all four default bands
    opac = sorted(plotter.actors[n].prop.opacity for n in bands)
    assert opac[0] < opac[-1] == pytest.approx(1.0)
    img = plotter.screenshot(return_img=True)
    assert img.shape[2] == 3 and len(np.unique(img.reshape(-1, 3), axis=0)) > 10

    import panel as pn
    from bokeh.document import Document

    pane = pn.pane.VTK(plotter.ren_win)
    model = pane.get_root(Document())
    assert len(model.arrays) > 0


def test_empty_selection_gives_an_empty_grid_and_a_plotter_that_still_renders():
    lo, hi = _grid_leaves(2)
    grid = regime_voxels(lo, hi, np.zeros(len(lo), int), np.ones(len(lo)), regimes=[5])
    assert grid.n_cells == 0
    plotter = build_plotter(grid)
    assert "earth" in plotter.actors and not any(n.startswith("voxels_") for n in plotter.actors)


@pytest.fixture
def view3d(dashboard_atlas):
    """A 3D view over the small atlas (store and filters of one session)."""
    from dashboard.filters import Filters
    from dashboard.store import DataStore
    from dashboard.views.regime3d import Regime3DView

    return Regime3DView(store=DataStore.open(dashboard_atlas), filters=Filters())


def test_view_builds_its_pane_when_its_tab_opens_and_swaps_the_scene_when_controls_change(view3d):
    from bokeh.document import Document

    view = view3d
    lo, hi = _grid_leaves(4)
    view.set_data(lo, hi, np.arange(len(lo)) % 2, np.full(len(lo), 0.9))
    layout = view.__panel__()
    assert view._pane is None  # nothing built until the 3D tab is shown
    view.filters.view = "map3d"
    root = layout.get_root(Document())
    window = view._pane.object

    def shown():
        return sum(view._plotter.actors[n].mapper.dataset.n_cells
                   for n in view._plotter.actors if n.startswith("voxels_"))

    assert shown() == len(lo)
    view.regimes = [1]
    view.clip_axis = "x"
    # the same render window (the browser keeps its renderer), with the new actors synchronised
    assert view._pane.object is window
    assert shown() == np.sum((np.arange(len(lo)) % 2 == 1) & ((lo[:, 0] + hi[:, 0]) / 2 <= 0))
    assert sum(1 for n in view._plotter.actors if n == "earth") == 1
    model = view._pane._models[root.ref["id"]][0]
    assert len(model.arrays) > 0


def test_view_shows_the_atlas_cells_under_the_page_condition(view3d):
    """Opened without data, the view asks the store for the non-empty cells of the current
    condition (every one of them drawn, at least min_confidence 0)."""
    view = view3d
    view.filters.view = "map3d"
    cells = view.store.cell_table(view.filters.current())
    total = sum(view._plotter.actors[n].mapper.dataset.n_cells
                for n in view._plotter.actors if n.startswith("voxels_"))
    assert total == len(cells) > 0


def test_scene_updates_never_give_a_vtkjs_object_name_to_an_object_of_another_class(view3d):
    """pn.pane.VTK names scene objects by memory address and vtk.js reuses the instance it
    knows under a name: an update that frees an actor's property and lets VTK allocate, say, a
    lookup table at its address made the browser call ``getOpacity`` on the wrong object. The
    view's updates must keep every name bound to one class."""
    import gc

    import panel.pane.vtk.synchronizable_serializer as rws
    from bokeh.document import Document

    def classes(state, out):
        if "id" in state and "type" in state:
            out[state["id"]] = state["type"]
        for dep in state.get("dependencies") or []:
            classes(dep, out)
        return out

    def scene():
        context = rws.SynchronizationContext(id_root=None, serialize_all_data_arrays=False)
        state = view._pane._serialize_ren_win(view._pane.object, context)[0]
        return classes(state, {})

    view = view3d
    lo, hi = _grid_leaves(6)
    conf = np.random.default_rng(0).uniform(0.0, 1.0, len(lo))
    view.set_data(lo, hi, np.arange(len(lo)) % 2, conf)
    view.filters.view = "map3d"
    view.__panel__().get_root(Document())
    seen = scene()
    steps = [("z", "below", 0.0), ("x", "above", 0.2), ("none", "below", 0.4),
             ("y", "below", 0.9), ("z", "above", 0.0)] * 2
    for axis, side, min_conf in steps:
        view.param.update(clip_axis=axis, clip_side=side, min_confidence=min_conf,
                          show_boundaries=min_conf != 0.4)
        gc.collect()
        now = scene()
        changed = {i: (seen[i], t) for i, t in now.items() if i in seen and seen[i] != t}
        assert changed == {}
        seen.update(now)
    # hidden, not removed: the bands with nothing to show are invisible and empty
    view.param.update(clip_axis="none", min_confidence=0.9, show_boundaries=False)
    bands = [a for n, a in view._plotter.actors.items() if n.startswith("voxels_")]
    assert any(not a.GetVisibility() and a.mapper.dataset.n_cells == 0 for a in bands)
    assert not view._plotter.actors["magnetopause"].GetVisibility()


@pytest.mark.browser
def test_3d_map_in_chromium_updates_its_scene_and_other_tabs_still_render(page, app_url):
    """Open the 3D tab and clip the scene through its control three times: the canvas changes
    each time (the watch fails the test on any console error or warning, page error or
    off-host request; other tabs after the 3D one: test_browser_tabs.py)."""
    import time

    from e2e_harness import image_is_nonblank, open_app, shot

    open_app(page, app_url, "?view=map3d")
    view = page.locator(".atlas-regime3d").first
    page.locator(".atlas-regime3d canvas").first.wait_for()
    deadline = time.monotonic() + 90
    before = shot(view, page)
    while not image_is_nonblank(before, min_colors=20) and time.monotonic() < deadline:
        time.sleep(1)
        before = shot(view, page)
    assert image_is_nonblank(before, min_colors=20)
    for axis in ("z", "x", "y"):
        page.locator(".bk-input-group", has_text="Clipping plane normal").locator(
            "select").first.select_option(axis)
        after = shot(view, page)
        while after == before and time.monotonic() < deadline + 60:
            time.sleep(1)
            after = shot(view, page)
        assert after != before, f"the scene did not change after clipping along {axis}"
        before = after


def test_boundary_surfaces_follow_the_pages_solar_wind(view3d):
    """The surfaces use the page's Pdyn and IMF Bz (Shue et al. 1998 stand-off distance)."""
    view = view3d
    view.filters.view = "map3d"
    view.filters.param.update(boundaries="chosen", pdyn=8.0, imf_bz=-10.0)
    nose = view._plotter.actors["magnetopause"].mapper.dataset.points[:, 0].max()
    r0 = (10.22 + 1.29 * np.tanh(0.184 * (-10.0 + 8.14))) * 8.0 ** (-1 / 6.6)
    assert nose == pytest.approx(r0, rel=1e-3)


def test_a_condition_change_sends_the_scene_once_with_the_new_cells_and_boundaries(
        dashboard_atlas):
    """A condition change also moves the boundaries (the page follows the selection's solar
    wind): the scene must reach the browser once, with both, not once per watcher."""
    from bokeh.document import Document

    from dashboard.app import App

    app = App(dashboard_atlas, sync_url=False)
    app.template().server_doc(Document())
    f = app.filters
    f.view = "map3d"
    view = app._views["map3d"][0]
    sent = []
    window = view._pane.object
    view._pane.param.watch(lambda e: sent.append(e), "object")
    for show in ("storm", "quiet", "all"):
        sent.clear()
        f.show = show
        assert len(sent) == 1, f"{show}: the scene was sent {len(sent)} times"
        assert view._condition == f.current()
        nose = view._plotter.actors["magnetopause"].mapper.dataset.points[:, 0].max()
        r0 = (10.22 + 1.29 * np.tanh(0.184 * (f.imf_bz + 8.14))) * f.pdyn ** (-1 / 6.6)
        assert nose == pytest.approx(r0, rel=1e-3)  # the boundaries of this selection
    assert view._pane.object is window


def test_fast_index_arrays_are_the_bytes_panel_sends():
    """The numpy conversion of 64-bit index arrays gives Panel's bytes exactly (ids to
    uint32, long long to int32 with negative values as -1), for every binary / compression
    combination."""
    import panel.pane.vtk.synchronizable_serializer as rws
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonCore import vtkIdTypeArray

    from dashboard.views.regime3d.serialise import install

    install()
    patched = rws.SynchronizationContext.getCachedDataArray
    panel_method = patched.panel_method
    values = np.array([0, 5, -3, 2**31 + 7, 123456, -1, 8], dtype=np.int64)
    ids = vtkIdTypeArray()
    ids.SetNumberOfTuples(values.size)
    for i, v in enumerate(np.abs(values)):  # Panel's conversion refuses negative ids
        ids.SetValue(i, int(v))
    # VTK_LONG_LONG (16) goes to int32: Panel refuses values beyond its range
    long_long = numpy_to_vtk(np.where(values > 2**31 - 1, 2**31 - 7, values), deep=True)
    floats = numpy_to_vtk(values.astype(np.float32), deep=True)
    context = rws.SynchronizationContext(id_root=None, serialize_all_data_arrays=False)
    for array in (ids, long_long, floats):
        key = rws.digest(array)
        context.cacheDataArray(key, {"array": array, "mTime": array.GetMTime(), "ts": 0.0})
        for binary in (True, False):
            for compression in (False, True):
                ours = patched(context, key, binary=binary, compression=compression)
                theirs = panel_method(context, key, binary=binary, compression=compression)
                if compression:  # a zip archive: compare what it holds
                    import io
                    import zipfile

                    raw = [base64_or_bytes(x, binary) for x in (ours, theirs)]
                    ours, theirs = (zipfile.ZipFile(io.BytesIO(r)).read(f"data/{key}")
                                    for r in raw)
                assert ours == theirs, (array.GetDataType(), binary, compression)


def base64_or_bytes(value, binary: bool) -> bytes:
    import base64

    return value if binary else base64.b64decode(value)

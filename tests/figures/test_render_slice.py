"""render_slice and `atlas export` on a real (small) atlas: numbers, captions, files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from atlas_core.atlas.product import LOW_COUNT_ALPHA, estimates, slice_table
from atlas_core.cli import main
from atlas_core.figures import COLORS, render_slice


def _expected_counts(atlas, leaves, dst_min=None, dst_max=None):
    """Counts per (slice leaf, regime) straight from the atlas' state table."""
    st = atlas.states
    sel = np.ones(len(st), bool)
    if dst_min is not None:
        sel &= st["dst"].to_numpy() >= dst_min
    if dst_max is not None:
        sel &= st["dst"].to_numpy() <= dst_max
    leaf, code = st["leaf"].to_numpy()[sel], st["code"].to_numpy()[sel]
    full = np.zeros((atlas.n_leaves, atlas.k), int)
    np.add.at(full, (leaf, code), 1)
    return full[leaves]


def test_slice_cells_are_the_leaves_cut_by_the_plane_with_their_counts(toy_atlas):
    from atlas_core.atlas.product import slice_product

    d = slice_product(toy_atlas, "XZ", 1.0, "quiet", "count")
    t = d.table
    tree = toy_atlas.octree
    leaves = tree.slice("y", 1.0)
    lo, hi = tree.leaf_lo[leaves], tree.leaf_hi[leaves]
    assert np.all((lo[:, 1] <= 1.0) & (hi[:, 1] > 1.0))
    np.testing.assert_array_equal(t["u0"], lo[:, 0])
    np.testing.assert_array_equal(t["v1"], hi[:, 2])
    expected = _expected_counts(toy_atlas, leaves, -20, 20).sum(1).astype(float)
    expected[expected == 0] = np.nan
    np.testing.assert_array_equal(t["value"], expected)
    assert "quiet, |Dst| ≤ 20 nT" in d.caption and "synthetic" in d.caption
    # cells with data but below the atlas' low-count mark (effective counts) are drawn faded
    total = _expected_counts(toy_atlas, leaves, -20, 20).sum(1)
    est = estimates(toy_atlas, "quiet")
    few = (total > 0) & est.low_count[leaves]
    np.testing.assert_array_equal(t["alpha"] == LOW_COUNT_ALPHA, few)
    assert few.any() and f"fewer than {toy_atlas.min_count:g}" in d.caption
    assert (t.loc[total == 0, "fill"] == d.scale.missing).all()


def test_dominant_regime_and_probability_are_the_estimates_of_the_state_counts(toy_atlas):
    d = slice_table(toy_atlas, "xy", 0.0, "-60:0", "dominant")
    leaves = toy_atlas.octree.slice("z", 0.0)
    counts = _expected_counts(toy_atlas, leaves, -60, 0)
    filled = counts.sum(1) > 0
    assert filled.sum() > 10
    np.testing.assert_array_equal(d["windows"], counts.sum(1))
    est = estimates(toy_atlas, "-60:0")  # the atlas' estimator (tests/atlas/test_product.py)
    p = est.p[leaves]
    np.testing.assert_array_equal(d["value"][filled], np.argmax(p[filled], axis=1))
    assert np.all(np.isnan(d["value"][~filled]))
    assert d.attrs["condition"].label == "-60 ≤ Dst ≤ 0 nT"
    prob = slice_table(toy_atlas, "xy", 0.0, "-60:0", "probability", regime=1)["value"].to_numpy()
    np.testing.assert_array_equal(prob[filled], p[filled, 1])
    e = slice_table(toy_atlas, "xy", 0.0, "-60:0", "entropy")["value"].to_numpy()
    assert np.all((e[filled] >= 0) & (e[filled] <= np.log2(toy_atlas.k) + 1e-9))


def test_storm_minus_quiet_is_the_difference_of_the_two_estimates(toy_atlas):
    from atlas_core.atlas.product import slice_product

    d = slice_product(toy_atlas, "xy", 0.0, None, "storm_minus_quiet", regime=0)
    values = d.table["value"].to_numpy()
    leaves = toy_atlas.octree.slice("z", 0.0)
    nq = _expected_counts(toy_atlas, leaves, -20, 20)
    ns = _expected_counts(toy_atlas, leaves, None, -50)
    both = (nq.sum(1) > 0) & (ns.sum(1) > 0)
    assert both.sum() > 3
    diff = estimates(toy_atlas, "storm").p[leaves, 0] - estimates(toy_atlas, "quiet").p[leaves, 0]
    np.testing.assert_array_equal(values[both], diff[both])
    assert np.all(np.isnan(values[~both]))
    assert "storm (Dst ≤ -50 nT) minus quiet (|Dst| ≤ 20 nT)" in d.caption


@pytest.mark.parametrize("color", list(COLORS))
def test_every_colouring_renders_an_svg_with_its_caption(toy_atlas, color):
    blob = render_slice(toy_atlas, "xy", 0.0, color, "quiet", "svg", regime=1)
    root = ET.fromstring(blob)
    texts = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    assert "XY slice at z_GSM = 0 R_E" in texts
    assert "synthetic" in texts
    assert ("|Dst| ≤ 20 nT" in texts)
    # the boundaries are drawn for the selection's median solar wind, and say so
    sel = toy_atlas.states[toy_atlas.states["dst"].abs() <= 20]
    if color != "storm_minus_quiet":
        assert f"Pdyn {np.median(sel['sw_pdyn']):.2g} nPa" in texts
    assert "median of the selection" in texts


def test_bad_requests_raise_clear_errors(toy_atlas):
    with pytest.raises(ValueError, match="plane"):
        render_slice(toy_atlas, "xw", 0.0, "dominant", None, "png")
    with pytest.raises(ValueError, match="color"):
        render_slice(toy_atlas, "xy", 0.0, "rainbow", None, "png")
    with pytest.raises(ValueError, match="regime"):
        render_slice(toy_atlas, "xy", 0.0, "probability", None, "png", regime=99)
    with pytest.raises(ValueError, match="no state"):
        render_slice(toy_atlas, "xy", 0.0, "dominant", "-900:-800", "png")
    with pytest.raises(ValueError, match="unknown conditioning parameter"):
        render_slice(toy_atlas, "xy", 0.0, "dominant", "near:dts=-50", "png")


def test_cli_export_writes_each_format(toy_atlas_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "figs" / "slice.pdf"
    assert main(["export", str(toy_atlas_dir), "--plane", "xy", "--offset", "0", "--color",
                 "dominant", "--format", "pdf", "--condition", "storm", "--out", str(out)]) == 0
    blob = out.read_bytes()
    assert blob.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page[^s]", blob)) == 1
    assert not list(out.parent.glob(".*.tmp"))
    # default name: sanitised, from the options, in the current folder; format from --format
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(toy_atlas_dir), "--plane", "yz", "--offset", "-2.5", "--color",
                 "entropy", "--format", "png", "--condition=-100:-30"]) == 0
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == ["atlas_yz_x-2.5_entropy_dst-100to-30.png"]
    assert (tmp_path / made[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_exports_of_one_plane_under_different_conditions_never_overwrite(
        toy_atlas_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    conditions = ["all", "quiet", "storm", "--condition=-60:-10", "near:dst=-30,ddst=0,k=500"]
    for cond in conditions:
        arg = [cond] if cond.startswith("--") else ["--condition", cond]
        assert main(["export", str(toy_atlas_dir), "--plane", "xz", "--format", "svg", *arg]) == 0
    made = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert len(made) == len(conditions), made
    assert "atlas_xz_y+0.0_dominant_quiet_dst-20to20.svg" in made
    assert "atlas_xz_y+0.0_dominant_near_dst-30_ddst0_k500.svg" in made


def test_cli_export_reports_bad_input_without_a_traceback(toy_atlas_dir, tmp_path, capsys):
    assert main(["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.png")]) == 2
    assert "no atlas directory" in capsys.readouterr().err
    assert main(["export", str(toy_atlas_dir), "--condition", "stormy",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "stormy" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()

"""One product, three outlets: the exported figure, the dashboard's slice source and
``atlas query`` at the cell centres show the same numbers and colours.

For several conditions and planes and every colouring: the cells the export draws (the
``SliceProduct`` table and the facecolours of the matplotlib collection in the figure), the
``DataStore`` table that the dashboard's Bokeh glyphs get, and the JSON that ``atlas query``
prints for the centre of every cell of the slice.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba_array

from atlas_core.atlas.product import COLORINGS, Condition, slice_product
from atlas_core.cli import main
from atlas_core.figures import slice_figure

REGIME = 1
CONDITIONS = {
    "all": dict(mode="range", show="all"),
    "quiet": dict(mode="range", show="quiet"),
    "-40:0": dict(mode="range", show="quiet", quiet_dst=(-40.0, 0.0)),
    "near:dst=-30,ddst=0,k=800": dict(mode="nearest", target_dst=-30.0, target_ddst=0.0, k_near=800),
}
PLANES = [("xy", 0.5), ("xz", -1.0), ("yz", 4.0)]


def _query(atlas_dir, tmp_path, capsys, centres: np.ndarray, cond: str) -> list[dict]:
    csv = tmp_path / "centres.csv"
    np.savetxt(csv, centres, delimiter=",", header="x,y,z", comments="", fmt="%.17g")
    assert main(["query", str(atlas_dir), "--positions", str(csv), f"--condition={cond}"]) == 0
    return json.loads(capsys.readouterr().out)


def _range_text(cond: Condition) -> str:
    """The ``LO:HI`` text of a Dst-range condition (either side may be open)."""
    lo, hi = ("" if v is None else f"{v:g}" for v in (cond.dst_min, cond.dst_max))
    return f"{lo}:{hi}"


def _regime_p(record: dict, k: int) -> float:
    p = {r["id"]: r["p"] for r in record["regimes"]}
    return p[k]


@pytest.mark.parametrize("plane, offset", PLANES)
@pytest.mark.parametrize("cond_text", list(CONDITIONS))
def test_export_dashboard_and_query_show_the_same_cells(toy_atlas, toy_atlas_dir, tmp_path,
                                                         capsys, cond_text, plane, offset):
    from dashboard.filters import Filters
    from dashboard.store import DataStore

    store = DataStore(toy_atlas)
    f = Filters()
    f.set_regime_count(store.k)
    f.param.update(plane=plane.upper(), offset=offset, regime=REGIME, **CONDITIONS[cond_text])
    cond = Condition.parse(cond_text, toy_atlas.bins)
    assert f.current() == cond  # the dashboard's controls select the same states

    tables = {}
    for color in COLORINGS:
        f.slice_color = color
        screen = store.slice_frame(f)
        # what the dashboard's download button and `atlas export` draw (storm − quiet uses the
        # session's quiet and storm ranges, as the dashboard's export does)
        export = slice_product(toy_atlas, plane, offset, cond, color, REGIME, quiet=f.quiet(),
                               storm=f.storm())
        # the numbers, colours and fading: the same table, to the bit
        pd.testing.assert_frame_equal(screen, export.table, check_exact=True)
        assert screen.attrs["scale"] == export.scale
        # and what the figure really paints is that table's fill at that alpha
        drawn = slice_figure(export).axes[0].collections[0].get_facecolors()
        expected = to_rgba_array(list(screen["fill"]))
        expected[:, 3] = screen["alpha"].to_numpy()
        np.testing.assert_array_equal(drawn, expected)
        tables[color] = screen

    t = tables["dominant"]
    assert len(t) > 20 and (t["windows"] > 0).sum() > 5
    axis = "xyz".index({"xy": "z", "xz": "y", "yz": "x"}[plane])
    h, v = [i for i in range(3) if i != axis]
    centres = np.zeros((len(t), 3))
    centres[:, axis] = offset
    centres[:, h] = (t["u0"] + t["u1"]) / 2
    centres[:, v] = (t["v0"] + t["v1"]) / 2
    records = _query(toy_atlas_dir, tmp_path, capsys, centres, cond_text)
    assert [r["leaf"] for r in records] == t["leaf"].tolist()
    assert [r["count"] for r in records] == t["windows"].tolist()
    assert [r["dominant"] for r in records] == t["dominant"].tolist()
    assert [r["low_count"] for r in records] == t["low_count"].tolist()
    has = t["windows"].to_numpy() > 0
    entropy = np.array([np.nan if r["entropy_bits"] is None else r["entropy_bits"] for r in records])
    np.testing.assert_array_equal(entropy[has], t["entropy"].to_numpy()[has])
    p_regime = np.array([np.nan if r["count"] == 0 else _regime_p(r, REGIME) for r in records])
    np.testing.assert_array_equal(p_regime[has], tables["probability"]["p_regime"].to_numpy()[has])
    # the query's numbers, through each colouring's scale, give the colours on screen
    values = {"dominant": np.where(has, t["dominant"], np.nan),
              "probability": np.where(has, p_regime, np.nan),
              "entropy": np.where(has, entropy, np.nan),
              "count": np.where(has, [r["count"] for r in records], np.nan)}
    for color, value in values.items():
        screen = tables[color]
        assert list(screen.attrs["scale"].colors_of(value)) == screen["fill"].tolist()

    # storm − quiet: the two conditions queried separately
    storm = _query(toy_atlas_dir, tmp_path, capsys, centres, _range_text(f.storm()))
    quiet = _query(toy_atlas_dir, tmp_path, capsys, centres, _range_text(f.quiet()))
    both = np.array([s["count"] > 0 and q["count"] > 0 for s, q in zip(storm, quiet, strict=True)])
    diff = np.array([_regime_p(s, REGIME) - _regime_p(q, REGIME) if ok else np.nan
                     for s, q, ok in zip(storm, quiet, both, strict=True)])
    screen = tables["storm_minus_quiet"]
    np.testing.assert_array_equal(np.isfinite(screen["diff"].to_numpy()), both)
    np.testing.assert_array_equal(screen["diff"].to_numpy()[both], diff[both])
    assert list(screen.attrs["scale"].colors_of(np.where(both, diff, np.nan))) == screen["fill"].tolist()

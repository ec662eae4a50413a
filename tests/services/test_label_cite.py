"""``atlas label`` (catalogue read back by astropy and by tscat, the SciQLop catalogue library)
and ``atlas cite`` / the atlas' citation attributes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd

from atlas_core.cli import main


def test_window_labels_are_posteriors(opened_atlas):
    from atlas_core.service.labels import label_intervals, window_labels

    st = opened_atlas.states.iloc[:600]
    lab = window_labels(opened_atlas, st)
    prob = lab.attrs["prob"]
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(lab["regime"], prob.argmax(axis=1))
    assert (lab["leaf"].to_numpy() == st["leaf"].to_numpy()).all()
    # the features decide where they are unambiguous: most labels agree with the VQ-VAE code
    assert (lab["regime"].to_numpy() == st["code"].to_numpy()).mean() > 0.7
    iv = label_intervals(lab)
    assert iv["n_windows"].sum() == len(lab)
    assert ((iv["stop"] - iv["start"]) >= pd.Timedelta("60s")).all()
    one = iv[(iv["mission"] == "MMS")]
    # consecutive intervals of one spacecraft abut or leave a gap, never overlap
    assert (one["start"].to_numpy()[1:] >= one["stop"].to_numpy()[:-1]).all()
    assert iv["mean_probability"].between(1.0 / opened_atlas.k, 1.0).all()


def test_label_catalogue_read_back_by_astropy_and_tscat(small_atlas, tmp_path, capsys):
    from astropy.io.votable import parse

    out = tmp_path / "regimes.csv"
    assert main(["label", str(small_atlas / "states.parquet"), "--atlas", str(small_atlas),
                 "--out", str(out)]) == 0
    assert "intervals" in capsys.readouterr().out
    csv = pd.read_csv(out)
    assert list(csv.columns) == ["start", "stop", "regime", "regime_name", "mean_probability",
                                 "n_windows", "mission", "probe"]
    vot = parse(str(tmp_path / "regimes.xml"))
    table = vot.get_first_table().to_table(use_names_over_ids=True)
    assert len(table) == len(csv)
    assert table["Start Time"][0] == csv["start"][0]
    assert list(table["regime"][:20]) == list(csv["regime_name"][:20])
    np.testing.assert_allclose(np.asarray(table["mean_probability"]), csv["mean_probability"],
                               atol=1e-4)
    # tscat (SciQLop's catalogue library) imports it, into a database of its own in tmp_path
    code = ("import sys, tscat\n"
            "cats = tscat.import_votable_file(sys.argv[1])\n"
            "events = tscat.get_events(cats[0])[0]\n"
            "e = sorted(events, key=lambda e: e.start)[0]\n"
            "print('|'.join(map(str, (len(events), e.start.isoformat(), e.regime, e.probe, "
            "e.tags[0]))))\n")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "tscat")}
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "regimes.xml")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    n, start, regime, probe, tag = res.stdout.strip().splitlines()[-1].split("|")
    first = csv.sort_values("start", kind="stable").iloc[0]
    assert int(n) == len(csv)
    assert pd.Timestamp(start) == pd.Timestamp(first["start"])
    assert probe == first["probe"] and regime == tag == first["regime_name"]


def test_cite_and_attributes(small_atlas, capsys):
    assert main(["cite", str(small_atlas)]) == 0
    text = capsys.readouterr().out
    assert "World Data Center for Geomagnetism, Kyoto" in text
    assert "OMNI" in text and "King" in text
    assert "synthetic" in text          # the small atlas is synthetic: no MMS team credited
    assert "Markidis" in text and "Sitnov" in text and "Shue" in text
    assert main(["cite", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert any("MMS Science Data Center" in a for a in d["acknowledgements"])
    for key in ("Project", "Discipline", "Source_name", "Data_type", "Descriptor", "Data_version",
                "Logical_source", "PI_name", "TEXT", "Mission_group", "Acknowledgement",
                "Rules_of_use", "Generated_by", "Generation_date", "acknowledgement",
                "product_version", "summary", "license"):
        assert d["global_attributes"].get(key), key
    from atlas_core.atlas.dataset import load_dataset

    ds = load_dataset(small_atlas / "atlas.nc")
    assert "Kyoto" in ds.attrs["Acknowledgement"] and "Shue" in ds.attrs["references"]
    assert ds.attrs["Mission_group"] == "MMS" and ds.attrs["Data_version"]


def test_cite_with_other_missions():
    from atlas_core.citation import citation

    c = citation(missions=["MMS", "Cluster", "THEMIS"], indices=["Dst"])
    text = c["text"]
    assert "Cluster Science Archive" in text and "NAS5-02099" in text and "Kyoto" in text
    assert "OMNI" not in text

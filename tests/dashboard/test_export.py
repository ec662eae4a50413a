"""Slice export: valid PNG/SVG/PDF files with title, caption and dpi; safe download names."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

from atlas_core.figures import (
    SliceFigureData,
    boundary_curves,
    draw_slice,
    export_filename,
    regime_palette,
    resolve_condition,
    safe_export_filename,
)

NAMES = ["solar wind", "magnetosheath", "plasma sheet", "lobe"]
CAPTION = "Condition: quiet, |Dst| ≤ 20 nT (1,234 states in the slice). Data: synthetic archive."


def _data(kind="categorical", plane="xy", offset=0.0):
    g = np.stack(np.meshgrid(np.arange(-6, 6), np.arange(-6, 6), indexing="ij"), -1)
    g = g.reshape(-1, 2).astype(float) * 2
    rng = np.random.default_rng(0)
    if kind == "categorical":
        values = rng.integers(0, len(NAMES), len(g)).astype(float)
    else:
        values = rng.uniform(0, 1, len(g))
    values[::5] = np.nan
    colors, _ = regime_palette(NAMES)
    return SliceFigureData(
        plane=plane, offset_re=offset, u_lo=g[:, 0], u_hi=g[:, 0] + 2, v_lo=g[:, 1],
        v_hi=g[:, 1] + 2, values=values, kind=kind, value_label="dominant regime",
        title="Magnetosphere Atlas — dominant regime\nXY slice at z_GSM = 0 R_E",
        caption=CAPTION, category_names=NAMES, category_colors=colors,
        vmin=0.0 if kind != "categorical" else None, vmax=1.0 if kind != "categorical" else None,
    )


def _png_chunks(blob: bytes) -> dict[bytes, list[bytes]]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        ctype = blob[pos + 4 : pos + 8]
        body = blob[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", blob[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(ctype + body) & 0xFFFFFFFF, f"bad CRC in {ctype!r}"
        chunks.setdefault(ctype, []).append(body)
        pos += 12 + length
    return chunks


def _png_text(chunks) -> dict[str, str]:
    out = {}
    for body in chunks.get(b"tEXt", []):
        k, v = body.split(b"\0", 1)
        out[k.decode("latin-1")] = v.decode("latin-1")
    for body in chunks.get(b"iTXt", []):
        k, rest = body.split(b"\0", 1)
        comp = rest[0]
        _, _, rest = rest[2:].split(b"\0", 2)  # language tag, translated keyword
        text = zlib.decompress(rest) if comp else rest
        out[k.decode("latin-1")] = text.decode("utf-8")
    for body in chunks.get(b"zTXt", []):
        k, rest = body.split(b"\0", 1)
        out[k.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
    return out


@pytest.mark.parametrize("asked", [300, 150])
def test_png_has_magic_dpi_of_at_least_300_and_the_caption(asked):
    blob = draw_slice(_data(), "png", dpi=asked)
    chunks = _png_chunks(blob)
    xppm, yppm, unit = struct.unpack(">IIB", chunks[b"pHYs"][0])
    assert unit == 1  # pixels per metre
    assert xppm == yppm and xppm / 39.3701 >= 299.5
    width, height = struct.unpack(">II", chunks[b"IHDR"][0][:8])
    assert width >= 8 * 300 - 2 and height >= 4 * 300
    text = _png_text(chunks)
    assert "dominant regime" in text["Title"]
    assert "quiet" in text["Description"] and "|Dst| ≤ 20 nT" in text["Description"]


def test_svg_parses_as_xml_with_title_caption_legend_and_axes_text():
    blob = draw_slice(_data(), "svg")
    root = ET.fromstring(blob)
    assert root.tag.endswith("svg")
    texts = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    assert "Magnetosphere Atlas — dominant regime" in texts
    assert "Condition: quiet, |Dst| ≤ 20 nT" in texts
    assert "x_GSM (R_E)" in texts and "y_GSM (R_E)" in texts
    for name in NAMES:
        assert name in texts
    assert "magnetopause" in texts and "bow shock" in texts


def _pdf_string(blob: bytes, key: str) -> str:
    m = re.search(rb"/" + key.encode() + rb"\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)", blob)
    assert m, f"no /{key} in the PDF"
    raw = m.group(1)
    if raw.startswith(b"<"):
        data = bytes.fromhex(raw[1:-1].decode())
        return data[2:].decode("utf-16-be") if data[:2] == b"\xfe\xff" else data.decode("latin-1")
    body = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
    return body[2:].decode("utf-16-be") if body[:2] == b"\xfe\xff" else body.decode("latin-1")


def test_pdf_is_one_page_with_title_and_caption_in_its_metadata():
    blob = draw_slice(_data("sequential"), "pdf")
    assert blob.startswith(b"%PDF-1.") and blob.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page[^s]", blob)
    assert len(pages) == 1
    count = re.search(rb"/Type\s*/Pages.*?/Count\s+(\d+)", blob, re.S)
    assert count and int(count.group(1)) == 1
    assert "dominant regime" in _pdf_string(blob, "Title")
    assert "|Dst| ≤ 20 nT" in _pdf_string(blob, "Subject")
    assert b"startxref" in blob and b"xref" in blob


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        draw_slice(_data(), "gif")


@pytest.mark.parametrize(
    "name, fmt, expected",
    [
        ("../../etc/passwd", "png", "etc_passwd.png"),
        ("..\\..\\windows\\system32", "pdf", "windows_system32.pdf"),
        ("/abs/path/slice.pdf", "pdf", "abs_path_slice.pdf"),
        (".hidden", "svg", "hidden.svg"),
        ("a b\"c'd;e|f\nrm -rf", "png", "a_b_c_d_e_f_rm_-rf.png"),
        ("x.pdf", "png", "x.png"),
        ("", "png", "atlas_slice.png"),
        ("....", "png", "atlas_slice.png"),
        ("Dst≤-50 nT — storm", "svg", "Dst_-50_nT_storm.svg"),
        ("--help", "png", "help.png"),
    ],
)
def test_unsafe_names_are_sanitised(name, fmt, expected):
    out = safe_export_filename(name, fmt)
    assert out == expected
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*\.(png|svg|pdf)", out)
    assert "/" not in out and "\\" not in out and ".." not in out


def test_sanitised_names_are_bounded_and_formats_checked():
    assert len(safe_export_filename("a" * 1000, "pdf")) <= 124
    with pytest.raises(ValueError):
        safe_export_filename("x", "exe")
    name = export_filename("XY", -2.5, "probability", "storm", "pdf", regime=3)
    assert name == "atlas_xy_z-2.5_probability_regime3_storm_Dstle-50nT.pdf"
    assert export_filename("yz", 0, "dominant", None, "png") == "atlas_yz_x+0.0_dominant_all.png"


def test_conditions_resolve_to_dst_ranges_with_labels():
    q = resolve_condition("quiet")
    assert (q.kind, q.dst_min, q.dst_max) == ("range", -20.0, 20.0) and "|Dst| ≤ 20 nT" in q.label
    s = resolve_condition("storm")
    assert (s.dst_min, s.dst_max) == (None, -50.0)
    r = resolve_condition("-100:-30")
    assert (r.dst_min, r.dst_max) == (-100.0, -30.0) and r.label == "-100 ≤ Dst ≤ -30 nT"
    assert resolve_condition(":-50").dst_max == -50.0
    assert resolve_condition(None).kind == resolve_condition("all").kind == "all"
    near = resolve_condition({"kind": "near", "dst": -80.0, "ddst": -5.0, "k": 2000})
    assert near.kind == "near" and "2000" in near.label
    with pytest.raises(ValueError):
        resolve_condition("stormy")
    with pytest.raises(ValueError):
        resolve_condition("a:b")


def test_boundary_curves_in_the_slice_planes_match_the_models():
    pytest.importorskip("atlas_core.physics.boundaries")
    bz, pdyn = 0.0, 2.0
    # Shue et al. (1998): r0 and alpha at Bz = 0, Dp = 2 nPa, independently of the module.
    r0 = (10.22 + 1.29 * np.tanh(0.184 * (bz + 8.14))) * pdyn ** (-1 / 6.6)
    alpha = (0.58 - 0.007 * bz) * (1 + 0.024 * np.log(pdyn))
    xy = boundary_curves("xy", 0.0, bz, pdyn)
    mp = xy["magnetopause"][0]
    assert mp[:, 0].max() == pytest.approx(r0, rel=1e-4)
    # the terminator crossing (x = 0) is at r0 * 2^alpha
    upper = mp[mp[:, 1] > 0]
    upper = upper[np.argsort(upper[:, 0])]
    assert np.interp(0.0, upper[:, 0], upper[:, 1]) == pytest.approx(r0 * 2**alpha, rel=2e-3)
    yz = boundary_curves("yz", 0.0, bz, pdyn)["magnetopause"][0]
    np.testing.assert_allclose(np.hypot(yz[:, 0], yz[:, 1]), r0 * 2**alpha, rtol=2e-3)
    # Jelínek et al. (2012) bow shock nose: 15.02 Dp^(-1/6.55)
    assert xy["bow_shock"][0][:, 0].max() == pytest.approx(15.02 * pdyn ** (-1 / 6.55), rel=1e-4)
    # off-plane cuts shrink the curve; a plane beyond the surface has no curve
    assert boundary_curves("xz", 30.0, bz, pdyn)["magnetopause"] == []


def test_palette_colours_follow_the_regime_physics():
    from atlas_core.palette import load_palette

    families = {f["family"]: f["shades"] for f in load_palette()["families"]}
    fallback = load_palette()["fallback"]
    names = ["solar wind", "dense MSH", "magnetosheath", "lobe", "hot plasma sheet", "odd", "odd"]
    colors, extras = regime_palette(names)
    # two sheath regimes take successive sheath shades; unknown names take fallbacks in order
    assert colors == [families["solar wind"][0], families["magnetosheath"][0],
                      families["magnetosheath"][1], families["lobe"][0],
                      families["plasma sheet"][0], fallback[0], fallback[1]]
    assert set(extras) == {"magnetopause", "bow_shock", "earth", "missing"}

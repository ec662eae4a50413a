"""Figure files: valid PNG/SVG/PDF with title, caption and dpi; safe, condition-naming
download names."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

from atlas_core.atlas.product import slice_product
from atlas_core.figures import (
    export_filename,
    figure_bytes,
    render_slice,
    safe_export_filename,
    slice_figure,
)


@pytest.fixture(scope="module")
def product(toy_atlas):
    return slice_product(toy_atlas, "xy", 0.0, "quiet", "dominant")


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
def test_png_has_magic_dpi_of_at_least_300_and_the_caption(product, asked):
    blob = figure_bytes(slice_figure(product), "png", asked, product.title, product.caption)
    chunks = _png_chunks(blob)
    xppm, yppm, unit = struct.unpack(">IIB", chunks[b"pHYs"][0])
    assert unit == 1  # pixels per metre
    assert xppm == yppm and xppm / 39.3701 >= 299.5
    width, height = struct.unpack(">II", chunks[b"IHDR"][0][:8])
    assert width >= 8 * 300 - 2 and height >= 4 * 300
    text = _png_text(chunks)
    assert "dominant regime" in text["Title"]
    assert "quiet" in text["Description"] and "|Dst| ≤ 20 nT" in text["Description"]


def test_svg_parses_as_xml_with_title_caption_legend_and_axes_text(toy_atlas, product):
    blob = figure_bytes(slice_figure(product), "svg", 100, product.title, product.caption)
    root = ET.fromstring(blob)
    assert root.tag.endswith("svg")
    texts = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    assert "Magnetosphere Atlas — dominant regime" in texts
    assert "Condition: quiet, |Dst| ≤ 20 nT" in texts
    assert "x_GSM (R_E)" in texts and "y_GSM (R_E)" in texts
    shown = set(product.table.loc[product.table["dominant"] >= 0, "regime"])
    assert shown and all(name in texts for name in shown)
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


def test_pdf_is_one_page_with_title_and_caption_in_its_metadata(toy_atlas):
    blob = render_slice(toy_atlas, "xz", 0.0, "entropy", "quiet", "pdf")
    assert blob.startswith(b"%PDF-1.") and blob.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page[^s]", blob)
    assert len(pages) == 1
    count = re.search(rb"/Type\s*/Pages.*?/Count\s+(\d+)", blob, re.S)
    assert count and int(count.group(1)) == 1
    assert "entropy" in _pdf_string(blob, "Title")
    assert "|Dst| ≤ 20 nT" in _pdf_string(blob, "Subject")


def test_unknown_format_is_refused(product):
    with pytest.raises(ValueError, match="format"):
        figure_bytes(slice_figure(product), "gif", 100, product.title, product.caption)


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


def test_export_names_are_bounded_checked_and_name_the_condition():
    assert len(safe_export_filename("a" * 1000, "pdf")) <= 124
    with pytest.raises(ValueError):
        safe_export_filename("x", "exe")
    name = export_filename("XY", -2.5, "probability", "storm", "pdf", regime=3)
    assert name == "atlas_xy_z-2.5_probability_regime3_storm_dstle-50.pdf"
    assert export_filename("yz", 0, "dominant", None, "png") == "atlas_yz_x+0.0_dominant_all.png"
    names = {export_filename("xz", 1.0, "entropy", c, "png")
             for c in ("all", "quiet", "storm", "-60:-10", "near:dst=-80,ddst=-10")}
    assert len(names) == 5  # all/quiet/storm/range/near of one plane never overwrite
    diff = export_filename("xy", 0, "storm_minus_quiet", None, "svg", regime=2, quiet="-10:10")
    assert diff == "atlas_xy_z+0.0_storm_minus_quiet_regime2_storm_dstle-50_minus_dst-10to10.svg"

"""Colour difference and colour-vision-deficiency simulation for the palette checks.

- CIEDE2000 (Sharma, Wu & Dalal 2005, Color Res. Appl. 30, 21-30), from sRGB through CIELAB
  (D65 white, IEC 61966-2-1 sRGB transfer curve);
- dichromacy by the matrices of Machado, Oliveira & Fernandes (2009), IEEE TVCG 15, 1291
  (severity 1.0), applied to linear sRGB.

``python tests/dashboard/colour_science.py`` prints the palette's figures (the report's
numbers).
"""

from __future__ import annotations

import itertools

import numpy as np

MACHADO_2009 = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def hex_to_srgb(colors) -> np.ndarray:
    """(n, 3) sRGB in [0, 1] from ``"#rrggbb"`` strings."""
    return np.array([[int(c.lstrip("#")[i:i + 2], 16) / 255.0 for i in (0, 2, 4)]
                     for c in colors], dtype=float)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(np.asarray(lin, dtype=float), 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values in [0, 1]."""
    xyz = srgb_to_linear(rgb) @ _SRGB_TO_XYZ.T / _WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def simulate(rgb: np.ndarray, deficiency: str) -> np.ndarray:
    """sRGB as seen with a dichromacy (Machado et al. 2009, severity 1)."""
    return linear_to_srgb(srgb_to_linear(rgb) @ MACHADO_2009[deficiency].T)


def ciede2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) of CIELAB arrays (..., 3)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=float), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=float), -1, 0)
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cbar7 = ((C1 + C2) / 2) ** 7
    G = 0.5 * (1 - np.sqrt(Cbar7 / (Cbar7 + 25.0**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    dLp, dCp = L2 - L1, C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(C1p * C2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lbp, Cbp = (L1 + L2) / 2, (C1p + C2p) / 2
    hsum = h1p + h2p
    hbp = np.where(C1p * C2p == 0, hsum,
                   np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                            np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)))
    T = (1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp))
         + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63)))
    dtheta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    Cbp7 = Cbp**7
    Rc = 2 * np.sqrt(Cbp7 / (Cbp7 + 25.0**7))
    Sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    Sc, Sh = 1 + 0.045 * Cbp, 1 + 0.015 * Cbp * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2
                   + Rt * (dCp / Sc) * (dHp / Sh))


def min_pairwise_de(colors, deficiency: str | None = None) -> tuple[float, tuple[str, str]]:
    """Smallest CIEDE2000 between any two of ``colors`` (hex), as seen with ``deficiency``
    (None: normal vision), and the pair."""
    rgb = hex_to_srgb(colors)
    if deficiency:
        rgb = simulate(rgb, deficiency)
    lab = srgb_to_lab(rgb)
    best, pair = np.inf, ("", "")
    for i, j in itertools.combinations(range(len(colors)), 2):
        d = float(ciede2000(lab[i], lab[j]))
        if d < best:
            best, pair = d, (colors[i], colors[j])
    return best, pair


def faded(color: str, alpha: float) -> str:
    """The colour a fill at opacity ``alpha`` shows over white (hex)."""
    rgb = hex_to_srgb([color])[0]
    mix = alpha * rgb + (1 - alpha)
    return "#" + "".join(f"{round(v * 255):02x}" for v in mix)


if __name__ == "__main__":  # the palette's figures for the report
    from atlas_core.palette import load_palette

    pal = load_palette()
    bases = [f["shades"][0] for f in pal["families"]]
    for vision in (None, "deuteranopia", "protanopia"):
        d, pair = min_pairwise_de(bases, vision)
        print(f"family base colours, {vision or 'normal vision'}: min CIEDE2000 {d:.1f} {pair}")
    every = [s for f in pal["families"] for s in f["shades"]]
    for vision in (None, "deuteranopia"):
        d, pair = min_pairwise_de(every, vision)
        print(f"all {len(every)} shades, {vision or 'normal vision'}: min CIEDE2000 {d:.1f} {pair}")

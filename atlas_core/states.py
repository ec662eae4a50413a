"""The state table: 2-minute plasma state windows, its schema, and windowing.

A *state* summarises the local plasma over a 2-minute window (10 s bins, 1-minute stride, so
consecutive windows overlap by 50 %), following Markidis, Ekelund & Pennati, "A Generative
Atlas of the Magnetosphere" (ICCS 2026). This module owns the schema every later stage reads.
"""

from __future__ import annotations

# --- schema -------------------------------------------------------------------------------

WINDOW_S = 120
"""Window length, s."""
STRIDE_S = 60
"""Window stride, s (50 % overlap)."""
BIN_S = 10
"""Resampling cadence inside a window, s (12 bins per window)."""
MIN_VALID_BINS = 9
"""A window is valid when at least this many of its 12 bins hold both field and plasma data."""

POSITION_GSM = ["x_gsm", "y_gsm", "z_gsm"]
"""Median window position, GSM, Earth radii (R_E)."""
POSITION_GSE = ["x_gse", "y_gse", "z_gse"]
"""Median window position, GSE, Earth radii (R_E)."""

FEATURE_UNITS = {
    "B": "nT",  # |B|
    "Bz": "nT",  # B_z, GSM
    "n": "cm^-3",  # ion number density (FPI DIS)
    "T": "eV",  # ion temperature (T_para + 2 T_perp) / 3
    "V": "km/s",  # |V_i|
    "Vx": "km/s",  # V_i,x, GSE (= GSM x)
    "beta": "1",  # beta_i* = (n k T + m_p n |V|^2) / (B^2 / 2 mu0)
}
"""The seven measured quantities and their units."""

FEATURES = [f"{q}_{stat}" for q in FEATURE_UNITS for stat in ("mean", "std")]
"""The d = 14 window features: mean and standard deviation over the window of each quantity.
Order: B_mean, B_std, Bz_mean, Bz_std, n_mean, n_std, T_mean, T_std, V_mean, V_std,
Vx_mean, Vx_std, beta_mean, beta_std."""

LOG_FEATURES = ["B_mean", "B_std", "Bz_std", "n_mean", "n_std", "T_mean", "T_std",
                "V_mean", "V_std", "Vx_std", "beta_mean", "beta_std"]
"""Features that span decades and are positive: models see log10 of these (the signed
Bz_mean and Vx_mean stay linear)."""

COLUMNS = (
    ["time"] + POSITION_GSM + POSITION_GSE + FEATURES + ["dst", "n_bins", "mission", "probe"]
)
"""Required columns, in order. ``time`` is the window centre (datetime64[ns], UTC, tz-naive);
``dst`` nT at the window time (NaN when unknown); ``n_bins`` valid 10 s bins (9..12);
``mission`` e.g. "MMS"; ``probe`` e.g. "mms1"."""

OPTIONAL_COLUMNS = {
    "region": "majority truth region of the window's samples (synthetic archive only)",
    "ddst_dt": "dDst/dt at the window time, nT/h (centred difference of the hourly index)",
    "sw_n": "solar-wind proton density from OMNI, cm^-3",
    "sw_v": "solar-wind bulk speed from OMNI, km/s",
    "imf_bz_gsm": "IMF Bz (GSM) from OMNI, nT",
    "sw_pdyn": "solar-wind dynamic pressure from OMNI, nPa",
}
"""Columns present when their source was ingested."""

"""Physical constants and unit conversions (SI unless the name says otherwise).

CODATA 2018 values, as in ``scipy.constants``; written out so that the formulas that use them
read on their own.
"""

R_E_KM = 6371.2
"""Earth radius used for MMS ephemerides and IGRF, km."""

MU0 = 1.25663706212e-6
"""Vacuum permeability, N A^-2."""

M_P_KG = 1.67262192369e-27
"""Proton mass, kg."""

K_B = 1.380649e-23
"""Boltzmann constant, J K^-1."""

EV_J = 1.602176634e-19
"""One electronvolt, J (so k T[J] = T[eV] * EV_J)."""

NT_T = 1e-9
"""One nanotesla, T."""

CM3_M3 = 1e6
"""Number density: 1 cm^-3 = 1e6 m^-3."""

KMS_MS = 1e3
"""Speed: 1 km/s = 1e3 m/s."""

NPA_PA = 1e-9
"""Pressure: 1 nPa = 1e-9 Pa."""

CDF_FILL_FLOAT = -1.0e31
"""ISTP fill value for floating-point CDF variables (MMS L2 uses it)."""

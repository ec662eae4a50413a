"""Truth regions and the local plasma and field in each, from the driver and the boundaries.

Every sample is assigned one region (the *truth*) from its GSM position and the driver:

- beyond the Jelínek et al. (2012) bow shock: ``solar_wind``, or ``foreshock`` where the
  shock normal at that angle is quasi-parallel to the IMF (theta_Bn < 45 deg) within 5 R_E
  upstream of the shock;
- between the bow shock and the Shue et al. (1998) magnetopause: ``magnetosheath``;
- just inside the magnetopause (0.5 R_E at the nose thickening to 1.5 R_E at the flanks):
  ``boundary_layer``;
- inside: ``inner_magnetosphere`` (r < 7.5 R_E quiet, moving in to ~6.5 R_E at Dst = -100),
  ``dayside_magnetosphere`` (x above the tail's inner edge), and in the tail
  ``plasma_sheet``, ``psbl`` and ``lobe`` by the distance from a hinged, warped, flapping
  current sheet (hinge 8 R_E, Tsyganenko & Fairfield 2004 style) compared with the plasma
  sheet half-thickness (3.5 R_E quiet at midnight, flaring to the flanks, thinner in storms).

Both boundaries move with the 1-min driver plus red noise (surface waves and boundary motion:
a few per cent of the radius over minutes), which makes multiple crossings; the current sheet
flaps by ~0.8 R_E over ~10 min.

Values per region are chosen after the seed's regime table (Markidis et al. 2026) and the
textbook picture (e.g. Baumjohann & Treumann, "Basic Space Plasma Physics"):

- solar wind from the driver; FPI DIS in the cold beam reports a temperature well above the
  true one (angular/energy resolution), modelled as T + 6 % of the flow energy;
- magnetosheath (after the gasdynamic model of Spreiter, Summers & Alksne 1966): density
  compression ~3.9 behind the nose falling to ~1.5 on the far flanks, a depletion layer and
  field pile-up near the subsolar magnetopause (Zwan & Wolf 1976), flow from near stagnation
  at the nose to ~0.65 V_sw at the terminator and faster downstream, temperature from energy
  conservation shared between ions and electrons (kT_i = kT_sw + 7/8 (m_p/5) (V_sw^2 - V^2)
  for T_i/T_e = 7; Schwartz et al. 1988, Lavraud et al. 2009), draped IMF, strong turbulence;
- boundary layer (the LLBL of Eastman et al. 1976): a mix of sheath and magnetospheric plasma
  whose field rotates from the sheath's direction to the magnetosphere's with its magnitude
  between the two (the magnetopause current layer, Berchem & Russell 1982);
- magnetosphere: dipole field (tilted, IGRF-like moment) compressed on the dayside
  (Chapman-Ferraro image, doubling at the magnetopause) plus a tail field whose lobe strength
  follows the solar-wind pressure; hot (keV) tenuous ions; near-Earth ions hotter in storms;
- plasma sheet: n ~ 0.3 cm^-3, T ~ 3 keV (Baumjohann, Paschmann & Cattell 1989), weak field
  at the centre of a Harris-like sheet,
  bursty bulk flows (Angelopoulos et al. 1992: minutes long, hundreds of km/s, with
  dipolarisations) more frequent when active; PSBL: tenuous, field-aligned beams (Eastman et
  al. 1984); lobes: very low density (~0.05 cm^-3, the most probable Cluster lobe density of
  Svenes et al. 2008), strong steady field, very low beta.

docs/synthetic-archive.md lists, region by region, the published model or observation each
number follows, with full references.

What it does not represent: cusps, the plasmasphere (cold ions FPI misses anyway), reconnection
jets at the magnetopause, flux transfer events, Kelvin-Helmholtz vortices, hot flow anomalies,
magnetosheath jets, substorm current wedges; the bow shock and magnetopause are axisymmetric
about X (the flow's ~4 deg aberration is in the solar-wind velocity, along GSE Y, but the
boundaries are not turned with it); no solar-wind propagation delay.
"""

from __future__ import annotations

import numpy as np

from atlas_core.physics.boundaries import bow_shock_jelinek2012, magnetopause_shue1998
from atlas_core.physics.constants import EV_J, M_P_KG

REGIONS = [
    "solar_wind",
    "foreshock",
    "magnetosheath",
    "boundary_layer",
    "dayside_magnetosphere",
    "inner_magnetosphere",
    "plasma_sheet",
    "psbl",
    "lobe",
]
"""Truth region names; a sample's region code is its index in this list."""
CODE = {name: i for i, name in enumerate(REGIONS)}

DIPOLE_B0_NT = 30000.0
"""Equatorial surface field of the dipole, nT (|g10, g11, h11| of IGRF ~ 29,800 nT)."""
HINGE_RE = 8.0
"""Current-sheet hinging distance, R_E."""
SHEATH_TI_TE = 7.0
"""Ion-to-electron temperature ratio behind the bow shock: the shock heats ions far more than
electrons (Schwartz et al. 1988, "Electron heating and the potential jump across fast mode
shocks", JGR 93, 12923), so the sheath's T_i/T_e is usually high, ~4-10, and lower in
magnetic clouds (Lavraud et al. 2009, GRL 36, L18109)."""


EARTH_ORBITAL_SPEED_KMS = 29.78
"""Earth's mean orbital speed, km/s. Earth moves along -Y_GSE, so in Earth's frame the radial
solar wind gains +29.78 km/s along +Y_GSE: the ~4 deg aberration of the flow."""


def solar_wind_velocity_gsm(v_kms, gse_to_gsm_angle_rad) -> np.ndarray:
    """The solar-wind velocity vector (N, 3) in GSM, km/s, for a radial wind of speed ``v_kms``.

    The aberration from Earth's orbital motion is applied where it is physical, along GSE Y
    (``V_GSE = (-V, +29.78, 0)`` km/s), and the vector is then rotated to GSM by the angle of the
    GSE -> GSM rotation about X (``gse_to_gsm_angle_rad``, per sample). Rotating it back to GSE
    gives Vz_GSE = 0 whatever the season and time of day."""
    v = np.asarray(v_kms, dtype=float)
    ang = np.asarray(gse_to_gsm_angle_rad, dtype=float)
    vy = np.full_like(v, EARTH_ORBITAL_SPEED_KMS)
    c, s = np.cos(ang), np.sin(ang)
    return np.stack([-v, c * vy, s * vy], -1)


def storm_level(dst_nT) -> np.ndarray:
    """Storm level: 0 for Dst >= -20 nT, 1 at Dst = -100 nT, capped at 2."""
    return np.clip((-np.asarray(dst_nT, float) - 20.0) / 80.0, 0.0, 2.0)


def dipole_field_gsm(pos_re: np.ndarray, tilt_rad: np.ndarray) -> np.ndarray:
    """Dipole field (nT) at GSM positions ``(N, 3)`` R_E; the northern magnetic pole lies in the
    X-Z plane, tilted towards +X by ``tilt_rad`` (the dipole moment points south)."""
    m = np.stack([-np.sin(tilt_rad), np.zeros_like(tilt_rad), -np.cos(tilt_rad)], -1)
    r = np.linalg.norm(pos_re, axis=1, keepdims=True)
    rhat = pos_re / r
    mr = np.sum(m * rhat, axis=1, keepdims=True)
    return DIPOLE_B0_NT * (3 * mr * rhat - m) / r**3


def current_sheet_z(x, y, tilt_rad) -> np.ndarray:
    """Hinged and warped tail current-sheet height z (GSM, R_E): it follows the dipole equator
    near Earth and flattens beyond the hinge distance; it bends towards the equator at the
    flanks (warping)."""
    hinge = HINGE_RE * np.sin(tilt_rad) * np.tanh(np.clip(-x, 0, None) / HINGE_RE)
    warp = 1.0 - 0.5 * np.clip(np.abs(y) / 20.0, 0, 1.2) ** 2
    return hinge * warp


def _shock_normal(theta, rho_hat, pdyn):
    """Outward normal of the axisymmetric bow shock at polar angle ``theta`` (GSM)."""
    d = 1e-3
    r = bow_shock_jelinek2012(theta, pdyn)
    drdt = (bow_shock_jelinek2012(theta + d, pdyn) - bow_shock_jelinek2012(theta - d, pdyn)) / (2 * d)
    ct, st = np.cos(theta), np.sin(theta)
    rhat = np.concatenate([ct[:, None], st[:, None] * rho_hat], axis=1)
    that = np.concatenate([-st[:, None], ct[:, None] * rho_hat], axis=1)
    nvec = rhat - (drdt / r)[:, None] * that
    return nvec / np.linalg.norm(nvec, axis=1, keepdims=True)


def _norm(v):
    return np.linalg.norm(v, axis=1)


def rotate_field(b_from: np.ndarray, b_to: np.ndarray, w, normal: np.ndarray) -> np.ndarray:
    """The field a fraction ``w`` (0..1) of the way from ``b_from`` to ``b_to`` (both (N, 3), nT):
    magnitude interpolated linearly, direction rotated through the angle between the two in
    their common plane (spherical linear interpolation). Where the two are (anti)parallel the
    plane is undefined: the rotation is then about ``normal`` (N, 3) (the magnetopause
    normal, so the field turns within the boundary surface, as across a rotational
    discontinuity). ``|result|`` lies between ``|b_from|`` and ``|b_to|`` for every ``w``."""
    w = np.asarray(w, dtype=float)
    ma, mb = _norm(b_from), _norm(b_to)
    a = b_from / np.maximum(ma, 1e-12)[:, None]
    b = b_to / np.maximum(mb, 1e-12)[:, None]
    cos_ab = np.clip(np.sum(a * b, axis=1), -1.0, 1.0)
    omega = np.arccos(cos_ab)
    perp = b - cos_ab[:, None] * a  # b's part orthogonal to a: the rotation plane
    pn = _norm(perp)
    fallback = np.cross(normal, a)  # tangential to the boundary and orthogonal to a
    fb = _norm(fallback)
    use_fb = pn < 1e-6
    if use_fb.any():
        # a along the normal too: any direction orthogonal to a
        other = np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        alt = np.cross(a, other)
        fallback = np.where((fb < 1e-6)[:, None], alt, fallback)
        perp = np.where(use_fb[:, None], fallback, perp)
        pn = _norm(perp)
    c = perp / np.maximum(pn, 1e-12)[:, None]
    ang = w * omega
    direction = np.cos(ang)[:, None] * a + np.sin(ang)[:, None] * c
    return direction * ((1 - w) * ma + w * mb)[:, None]


def model_samples(pos: np.ndarray, tilt: np.ndarray, sw: dict, noise: dict) -> dict:
    """Region and plasma/field at ``N`` samples.

    ``pos`` (N, 3) GSM R_E; ``tilt`` (N,) dipole tilt rad; ``sw`` the driver at the samples
    (``n, v, bx_gse, by_gsm, bz_gsm, t_p, pdyn, dst``; IMF components in GSM as ``imf`` (N, 3);
    the solar-wind velocity vector in GSM, aberration included, as ``v_sw_gsm`` (N, 3): see
    :func:`solar_wind_velocity_gsm`);
    ``noise`` unit-variance red-noise series (see :func:`noise_series`).
    Returns ``region`` (int8 codes into :data:`REGIONS`), ``n`` cm^-3, ``v`` (N, 3) km/s GSM,
    ``tpara``, ``tperp`` eV, ``b`` (N, 3) nT GSM.
    """
    x, y, z = pos.T
    r = _norm(pos)
    theta = np.arccos(np.clip(x / r, -1, 1))
    rho = np.hypot(y, z)
    rho_hat = np.stack([y, z], -1) / np.maximum(rho, 1e-6)[:, None]
    rho_hat3 = np.stack([np.zeros_like(y), rho_hat[:, 0], rho_hat[:, 1]], -1)
    storm = storm_level(sw["dst"])
    pdyn = np.clip(sw["pdyn"], 0.1, None)
    imf = sw["imf"]
    b_imf = _norm(imf)
    v_sw = sw["v"]
    n_sw = sw["n"]

    # --- boundaries, moving ---------------------------------------------------------------
    r_mp = magnetopause_shue1998(np.minimum(theta, 3.0), sw["bz_gsm"], pdyn) * (1 + noise["mp"])
    r_bs = bow_shock_jelinek2012(np.minimum(theta, 2.6), pdyn) * (1 + noise["bs"])
    r_bs = np.maximum(r_bs, 1.15 * r_mp)
    delta_bl = 0.5 + 1.0 * np.sin(np.minimum(theta, np.pi / 2)) ** 2
    inside = r < r_mp
    in_bl = inside & (r > r_mp - delta_bl)
    outside_bs = r >= r_bs
    r_in = 7.5 - 1.0 * np.minimum(storm, 1.0)
    x_tail = -6.0 + 1.5 * np.minimum(storm, 1.0)  # tail's inner edge moves in during storms
    z_cs = current_sheet_z(x, y, tilt) + 0.8 * noise["flap"]
    h_ps = (3.5 + 2.5 * np.clip(np.abs(y) / 15.0, 0, 1.5) ** 2) * (1 - 0.3 * np.minimum(storm, 1.5))
    dz = z - z_cs
    adz = np.abs(dz)

    nvec = _shock_normal(np.minimum(theta, 2.6), rho_hat3[:, 1:], pdyn)
    cos_bn = np.abs(np.sum(nvec * imf, axis=1)) / np.maximum(b_imf, 1e-3)
    foreshock = outside_bs & (r - r_bs < 5.0) & (cos_bn > np.cos(np.radians(45))) & (theta < 1.9)

    region = np.full(x.size, CODE["solar_wind"], np.int8)
    region[foreshock] = CODE["foreshock"]
    region[~outside_bs] = CODE["magnetosheath"]
    region[inside] = CODE["dayside_magnetosphere"]
    tail = inside & (x < x_tail)
    region[tail & (adz >= h_ps + 1.2)] = CODE["lobe"]
    region[tail & (adz < h_ps + 1.2) & (adz >= h_ps)] = CODE["psbl"]
    region[tail & (adz < h_ps)] = CODE["plasma_sheet"]
    region[inside & (r < r_in)] = CODE["inner_magnetosphere"]
    region[in_bl & (r >= r_in)] = CODE["boundary_layer"]

    # --- magnetospheric field: dipole (compressed on the dayside) + tail --------------------
    b_dip = dipole_field_gsm(pos, tilt)
    cf = 1.0 + 0.9 * np.clip(r / r_mp, 0, 1.2) ** 3 * np.clip(0.5 + 0.5 * x / r, 0, 1)
    b_lobe = 32.0 * np.clip(np.abs(x) / 10.0, 0.5, None) ** -0.6 * (pdyn / 1.6) ** 0.25 * (1 + 0.3 * storm)
    tail_w = 0.5 * (1 - np.tanh((x + 7.0) / 2.0))
    h_cs = h_ps
    bx_tail = tail_w * b_lobe * np.tanh(dz / h_cs)
    bz_tail = tail_w * (2.0 + 1.5 * noise["bz_ps"])
    # the tail and ring currents stretch the nightside field: weaken the dipole there
    # (the tail field below stands for the whole stretched Bx, By there)
    shrink = 1.0 - tail_w[:, None] * np.array([0.9, 0.9, 0.55])
    b_ms = b_dip * cf[:, None] * shrink
    b_ms[:, 0] += bx_tail
    b_ms[:, 2] += bz_tail

    # --- magnetosheath ----------------------------------------------------------------------
    s = np.clip((r - r_mp) / np.maximum(r_bs - r_mp, 0.3), 0, 1)
    half = np.cos(np.minimum(theta, np.pi) / 2) ** 2
    comp = 1.0 + 2.9 * half
    n_sh = n_sw * comp * (1 - 0.4 * (1 - s) ** 2 * half)
    th90 = np.minimum(theta, np.pi / 2)
    a = 0.06 + 0.22 * s
    # ~0.65 V_sw at the terminator (the seed's flank sheath: |Vx| ~ 235 km/s near x = -4),
    # accelerating towards the solar-wind speed far downstream
    u = np.where(theta <= np.pi / 2, a + (0.65 - a) * np.sin(th90) ** 2,
                 0.65 + 0.15 * np.clip((theta - np.pi / 2) / (np.pi / 2), 0, 1))
    v_sh = v_sw * u
    psi = (np.pi / 2) * np.cos(th90) ** 2 * (0.3 + 0.7 * (1 - s))
    v_sh_vec = -v_sh[:, None] * np.cos(psi)[:, None] * np.array([1.0, 0, 0]) \
        + (v_sh * np.sin(psi))[:, None] * rho_hat3
    kt_sw = sw["t_p"] / 11604.5
    # energy conservation along a streamline (Spreiter et al. 1966): the flow energy lost,
    # 1/2 m_p (V_sw^2 - V^2), becomes the enthalpy 5/2 k (T_i + T_e) of ions and electrons;
    # the ions take T_i / (T_i + T_e) of it (:data:`SHEATH_TI_TE`)
    ion_share = SHEATH_TI_TE / (SHEATH_TI_TE + 1.0)
    t_sh = kt_sw + ion_share * (M_P_KG / 5.0) * ((v_sw * 1e3) ** 2 - (v_sh * 1e3) ** 2) / EV_J
    t_sh = np.maximum(t_sh, 20.0)
    rhat = pos / r[:, None]
    imf_t = imf - 0.75 * np.sum(imf * rhat, axis=1)[:, None] * rhat
    bsh_mag = b_imf * (1.0 + 2.4 * half) * (1 + 0.5 * (1 - s) ** 2 * half)
    b_sh = imf_t / np.maximum(_norm(imf_t), 1e-3)[:, None] * bsh_mag[:, None]

    # --- per-region values ------------------------------------------------------------------
    N = x.size
    nval = np.empty(N)
    tval = np.empty(N)
    vvec = np.zeros((N, 3))
    bvec = np.empty((N, 3))
    aniso = np.ones(N)  # T_perp / T_para
    sig_n = np.empty(N)
    sig_t = np.empty(N)
    sig_v = np.empty(N)  # km/s, absolute
    wave = np.empty(N)  # delta-B amplitude, nT

    flow_e = 0.5 * M_P_KG * (v_sw * 1e3) ** 2 / EV_J
    v_sw_vec = np.asarray(sw["v_sw_gsm"], dtype=float)  # aberrated, see solar_wind_velocity_gsm

    def put(mask, n, t, v, b, sn, st, sv, w, an=1.0):
        nval[mask] = n[mask] if np.ndim(n) else n
        tval[mask] = t[mask] if np.ndim(t) else t
        vvec[mask] = v[mask] if np.ndim(v) == 2 else v
        bvec[mask] = b[mask]
        sig_n[mask], sig_t[mask] = sn, st
        sig_v[mask] = sv[mask] if np.ndim(sv) else sv
        wave[mask] = w[mask] if np.ndim(w) else w
        aniso[mask] = an[mask] if np.ndim(an) else an

    m = region == CODE["solar_wind"]
    put(m, n_sw, kt_sw + 0.06 * flow_e, v_sw_vec, imf, 0.05, 0.08, 8.0, 0.08 * b_imf)
    m = region == CODE["foreshock"]
    # reflected and diffuse ions make the foreshock ion population hot and very variable
    put(m, 1.1 * n_sw, kt_sw + 0.06 * flow_e + 150.0 + 0.15 * flow_e, 0.95 * v_sw_vec, imf,
        0.15, 0.5, 0.08 * v_sw, 0.7 * b_imf, 1.3)
    m = region == CODE["magnetosheath"]
    quasi_par = np.clip(cos_bn, 0, 1)
    put(m, n_sh, t_sh, v_sh_vec, b_sh, 0.2, 0.12, 0.12 * v_sh + 15.0,
        (0.25 + 0.25 * quasi_par) * bsh_mag, 1.0 + 0.4 * (1 - s) * half)
    # boundary layer (the low-latitude boundary layer, LLBL): sheath plasma mixed into closed
    # magnetospheric field lines, the mix changing with depth (weight w to the magnetosphere).
    # Density and temperature mix geometrically between the two sides. The field is not a
    # linear mix of the two vectors (antiparallel sheath and magnetospheric fields under a
    # southward IMF would cancel, giving |B| ~ 1 nT and beta* ~ 5000, which no observed layer
    # shows): its magnitude is interpolated and its direction rotated from the sheath's to the
    # magnetosphere's about the magnetopause normal, the field rotation of a magnetopause
    # current layer (e.g. Paschmann et al. 1979; Berchem & Russell 1982), so |B| stays between
    # the two sides' and the total pressure B^2/2mu0 + n k T stays roughly balanced across it.
    depth = np.clip((r_mp - r) / delta_bl, 0, 1)
    w = 0.2 + 0.6 * depth
    n_edge = n_sw * comp * 0.45  # density drops across the magnetopause
    n_dm = 0.45 * (1 + 0.5 * storm)  # the dayside magnetosphere's values (below)
    t_dm = 3800.0 * (1 + 0.3 * storm)
    n_bl = np.exp((1 - w) * np.log(n_edge) + w * np.log(n_dm))
    t_bl = np.exp((1 - w) * np.log(np.maximum(t_sh, 50)) + w * np.log(t_dm))
    v_bl = v_sh_vec * (0.9 * (1 - w))[:, None]
    b_bl = rotate_field(b_sh, b_ms, w, rhat)
    m = region == CODE["boundary_layer"]
    put(m, n_bl, t_bl, v_bl, b_bl, 0.35, 0.25, 40.0, 0.0)
    m = region == CODE["dayside_magnetosphere"]
    put(m, n_dm, t_dm, 0.0, b_ms, 0.3, 0.2, 15.0,
        0.03 * _norm(b_ms), 1.15)
    # inner magnetosphere: hot ring-current ions, cooler at high magnetic latitude
    mlat = np.arcsin(np.clip(np.sum(pos * np.stack([np.sin(tilt), 0 * tilt, np.cos(tilt)], -1),
                                    axis=1) / r, -1, 1))
    t_in = (500.0 + 6500.0 * np.exp(-(mlat / np.radians(30)) ** 2)) * (1 + 0.8 * storm)
    m = region == CODE["inner_magnetosphere"]
    put(m, 0.9 * (1 + 0.6 * storm), t_in, 0.0, b_ms, 0.3, 0.15, 12.0, 0.02 * _norm(b_ms), 1.3)
    # plasma sheet, with bursty bulk flows
    ax = np.clip(np.abs(x), 6, None)
    n_ps = 0.35 * (ax / 15.0) ** -0.5 * (1 + 0.6 * storm)
    t_ps = 3000.0 * (ax / 15.0) ** -0.4 * (1 + 0.4 * storm)
    bbf = noise["bbf"]  # 0 outside bursts, 1 inside
    v_bbf = np.stack([np.where(x > -22, 1.0, noise["bbf_sign"]) * (250.0 + 350.0 * noise["bbf_amp"]),
                      0 * x, 0 * x], -1)
    v_ps = v_bbf * bbf[:, None]
    b_ps = b_ms.copy()
    b_ps[:, 2] += 8.0 * bbf
    m = region == CODE["plasma_sheet"]
    put(m, n_ps * (1 - 0.3 * bbf), t_ps * (1 + 0.3 * bbf), v_ps, b_ps, 0.25, 0.15, 35.0 + 60 * bbf,
        0.1 * _norm(b_ps) + 1.0 + 4.0 * bbf, 1.1)
    m = region == CODE["psbl"]
    v_beam = np.stack([150.0 * (1 + noise["beam"]), 0 * x, 0 * x], -1)  # earthward beams
    put(m, 0.12 * (1 + 0.3 * storm), 900.0 * (1 + 0.3 * storm), v_beam, b_ms, 0.4, 0.3, 60.0,
        0.06 * _norm(b_ms), 0.9)
    m = region == CODE["lobe"]
    put(m, 0.05, 400.0, 0.0, b_ms, 0.45, 0.35, 25.0, 0.015 * _norm(b_ms), 1.0)

    # --- fluctuations with time correlation -------------------------------------------------
    n_out = nval * np.exp(sig_n * noise["n"])
    t_out = tval * np.exp(sig_t * noise["t"])
    v_out = vvec + sig_v[:, None] * noise["v"]
    b_out = bvec + wave[:, None] * noise["b"]
    # the boundary layer's field fluctuates in direction (20 %) and, anti-correlated with the
    # density as in pressure-balanced structures, in magnitude (10 %): multiplicative, so the
    # layer's |B| never falls far below the smaller of the two sides'
    bl = region == CODE["boundary_layer"]
    if bl.any():
        b0 = bvec[bl]
        mag = _norm(b0)
        u = b0 / np.maximum(mag, 1e-9)[:, None] + 0.2 * noise["b"][bl]
        u /= np.maximum(_norm(u), 1e-9)[:, None]
        b_out[bl] = u * (mag * np.exp(-0.1 * noise["n"][bl]))[:, None]
    tpara = 3.0 * t_out / (1.0 + 2.0 * aniso)
    tperp = aniso * tpara
    return {"region": region, "n": n_out, "v": v_out, "tpara": tpara, "tperp": tperp,
            "b": b_out, "r_mp": r_mp, "r_bs": r_bs}


def noise_series(rng: np.random.Generator, n: int, dt_s: float, activity: np.ndarray) -> dict:
    """Unit-variance red-noise series for :func:`model_samples` over ``n`` samples ``dt_s``
    apart (one contiguous stretch): boundary motion, flapping, plasma fluctuations, waves, and
    a bursty-bulk-flow indicator whose rate rises with ``activity`` (0..1, per sample)."""
    from atlas_core.synth.driver import ar1

    def red(tau_s, sigma=1.0):
        return ar1(rng, n, tau_s / dt_s, sigma)

    out = {
        "mp": red(240.0, 0.035) + red(1800.0, 0.03),
        "bs": red(300.0, 0.05) + red(1800.0, 0.03),
        "flap": red(600.0),
        "n": red(120.0),
        "t": red(200.0),
        "v": np.stack([red(60.0) for _ in range(3)], -1),
        "b": np.stack([red(20.0) for _ in range(3)], -1),
        "bz_ps": red(300.0),
        "beam": red(120.0, 0.5),
    }
    # bursty bulk flows: Poisson starts, 1-8 min long, about one per 80 min (more when active)
    bbf = np.zeros(n)
    sign = np.ones(n)
    amp = np.zeros(n)
    rate = (1.0 / 4800.0) * (1.0 + 2.0 * activity) * dt_s
    starts = np.flatnonzero(rng.random(n) < rate)
    for i0 in starts:
        length = int(rng.uniform(60, 480) / dt_s)
        sl = slice(i0, min(n, i0 + length))
        k = np.arange(sl.stop - sl.start)
        bbf[sl] = np.maximum(bbf[sl], np.sin(np.pi * (k + 0.5) / max(len(k), 1)) ** 0.5)
        sign[sl] = -1.0 if rng.random() < 0.5 else 1.0
        amp[sl] = rng.random()
    out["bbf"] = bbf
    out["bbf_sign"] = sign
    out["bbf_amp"] = amp
    return out

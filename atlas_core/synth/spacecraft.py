"""What the synthetic Cluster and THEMIS archives share: a two-body orbit given by its elements,
the data-taking intervals along it, and the region model sampled at an instrument's cadence.

The MMS archive (:mod:`atlas_core.synth.archive`) does the same for MMS with its own orbit and
1 S/s field; the plasma and field values of every mission come from one model
(:func:`atlas_core.synth.regions.model_samples`) driven by one solar wind, so that the same
place under the same conditions gives the same regimes whichever spacecraft is there: the
premise of the cross-mission consistency check (docs/missions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atlas_core.physics import coordinates
from atlas_core.physics.constants import R_E_KM
from atlas_core.synth.orbit import MU_EARTH_KM3_S2, _mean_from_true, _solve_kepler
from atlas_core.synth.regions import model_samples, noise_series, solar_wind_velocity_gsm

NS = np.timedelta64(1, "ns")


@dataclass(frozen=True)
class Orbit:
    """A Kepler orbit in J2000 whose elements may change linearly between dated rows (orbit
    raises, slow drifts of the line of apsides); the mean anomaly integrates the mean motion,
    so the orbit stays continuous across a change.

    ``rows``: ``(date, perigee R_E, apogee R_E, inclination deg, RAAN deg, argument of perigee
    deg)``; ``epoch`` and ``true_anomaly_deg`` fix the phase (the spacecraft's true anomaly at
    ``epoch``)."""

    rows: tuple
    epoch: str
    true_anomaly_deg: float

    def _table(self):
        t = np.array([np.datetime64(r[0], "ns") for r in self.rows]).astype("int64") / 1e9
        cols = np.array([r[1:] for r in self.rows], dtype=np.float64)
        return t, cols

    def elements(self, seconds: np.ndarray) -> dict[str, np.ndarray]:
        t, cols = self._table()
        per, apo, inc, raan, argp = (np.interp(seconds, t, cols[:, j]) for j in range(5))
        a_km = 0.5 * (per + apo) * R_E_KM
        return {"a_km": a_km, "e": (apo - per) / (apo + per), "inc": np.radians(inc),
                "raan": np.radians(raan), "argp": np.radians(argp),
                "n": np.sqrt(MU_EARTH_KM3_S2 / a_km**3), "apogee_re": apo, "perigee_re": per}

    def period_h(self, when) -> float:
        s = np.atleast_1d(np.asarray(when, "datetime64[ns]").astype("int64") / 1e9)
        return float(2 * np.pi / self.elements(s)["n"][0] / 3600.0)

    def position_j2000_km(self, times) -> np.ndarray:
        """Position in J2000 (EME2000), km, ``(N, 3)``."""
        s = np.asarray(times, dtype="datetime64[ns]").astype("int64") / 1e9
        s0 = np.datetime64(self.epoch, "ns").astype("int64") / 1e9
        step = 600.0
        lo, hi = min(s.min(), s0), max(s.max(), s0)
        grid = np.arange(lo - step, hi + 2 * step, step)
        n = self.elements(grid)["n"]
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (n[1:] + n[:-1]) * step)])
        e0 = self.elements(np.array([s0]))["e"]
        m = (_mean_from_true(np.radians(self.true_anomaly_deg), e0)
             + np.interp(s, grid, cum) - np.interp(s0, grid, cum))
        el = self.elements(s)
        e = el["e"]
        ecc = _solve_kepler(m, e)
        nu = 2.0 * np.arctan2(np.sqrt(1 + e) * np.sin(ecc / 2), np.sqrt(1 - e) * np.cos(ecc / 2))
        r = el["a_km"] * (1 - e * np.cos(ecc))
        u = el["argp"] + nu
        ci, si = np.cos(el["inc"]), np.sin(el["inc"])
        co, so = np.cos(el["raan"]), np.sin(el["raan"])
        cu, su = np.cos(u), np.sin(u)
        return np.stack([r * (co * cu - so * su * ci), r * (so * cu + co * su * ci),
                         r * su * si], axis=-1)


def minute_grid(day: np.datetime64) -> np.ndarray:
    """The 1441 whole minutes of ``day`` (00:00 .. next 00:00), ``datetime64[ns]``."""
    return np.datetime64(day, "D").astype("datetime64[ns]") + np.arange(1441) * np.timedelta64(
        60, "s")


def data_minutes(rng, r_re: np.ndarray, r_min_re: float, availability: float,
                 block_min: int = 120) -> np.ndarray:
    """(1440,) bool: the minutes with data. Data are taken beyond ``r_min_re`` (outside the
    radiation belts) in blocks of ``block_min`` minutes, each kept with probability
    ``availability`` (telemetry, operations, and the size of the demo archive)."""
    n_blocks = 1440 // block_min
    blocks = rng.random(n_blocks) < availability
    return (r_re[:1440] >= r_min_re) & np.repeat(blocks, block_min)


@dataclass
class Samples:
    """The model at a spacecraft's sample times: see :func:`sample_model`."""

    times: np.ndarray  # (N,) datetime64[ns]
    pos_gse_km: np.ndarray  # (N, 3)
    pos_gsm_km: np.ndarray  # (N, 3)
    b_gsm: np.ndarray  # (N, 3) nT
    v_gsm: np.ndarray  # (N, 3) km/s
    n: np.ndarray  # cm^-3
    tpara: np.ndarray  # eV
    tperp: np.ndarray  # eV
    region: np.ndarray  # int8 codes into regions.REGIONS


def sample_model(rng, orbit: Orbit, day, minutes_ok: np.ndarray, dt_s: float, sw: dict,
                 phase_s: float = 0.0) -> Samples | None:
    """The region model at samples ``dt_s`` apart inside the ``minutes_ok`` of ``day`` (plus
    ``phase_s``), along ``orbit``, under the day's 1-min driver ``sw`` (1441 values from 00:00,
    :meth:`atlas_core.synth.driver.Driver.slice`). Positions are interpolated from the 1-min
    orbit (GSE and GSM by :mod:`atlas_core.physics.coordinates`); the red noise runs over the
    samples as one stretch, as in the MMS archive. None when no minute has data."""
    if not minutes_ok.any():
        return None
    tm = minute_grid(day)
    r_j2000 = orbit.position_j2000_km(tm)
    r_gse_m = coordinates.j2000_to_gse(r_j2000, tm)
    r_gsm_m = coordinates.j2000_to_gsm(r_j2000, tm)
    rel = np.arange(phase_s, 86400.0, dt_s)
    rel = rel[minutes_ok[(rel // 60).astype(int)]]
    times = tm[0] + np.round(rel * 1e9).astype(np.int64) * NS
    fm = rel / 60.0
    idx = np.arange(1441)

    def at(a):
        return np.interp(fm, idx, np.asarray(a, float))

    pos_gse = np.stack([at(r_gse_m[:, k]) for k in range(3)], -1)
    pos_gsm = np.stack([at(r_gsm_m[:, k]) for k in range(3)], -1)
    tilt = at(coordinates.dipole_tilt(tm))
    swd = {k: at(v) for k, v in sw.items()}
    swd["imf"] = np.stack([swd["bx_gse"], swd["by_gsm"], swd["bz_gsm"]], -1)
    # the aberrated solar-wind velocity, rotated by the GSE -> GSM angle about X (as for MMS)
    ey = coordinates.gse_to_gsm(np.tile([0.0, 1.0, 0.0], (tm.size, 1)), tm)
    swd["v_sw_gsm"] = solar_wind_velocity_gsm(swd["v"], at(np.unwrap(np.arctan2(ey[:, 2],
                                                                                 ey[:, 1]))))
    activity = np.clip(np.clip(-swd["bz_gsm"], 0, None) / 5.0 + swd["dst"] / -100.0, 0, 1)
    noise = noise_series(rng, rel.size, dt_s, activity)
    m = model_samples(pos_gsm / R_E_KM, tilt, swd, noise)
    return Samples(times=times, pos_gse_km=pos_gse, pos_gsm_km=pos_gsm,
                   b_gsm=m["b"] + rng.normal(0, 0.05, m["b"].shape), v_gsm=m["v"], n=m["n"],
                   tpara=m["tpara"], tperp=m["tperp"], region=m["region"])


def random_gaps(rng, n: int, dt_s: float, per_hour: float, lo_s: float, hi_s: float) -> np.ndarray:
    """(n,) bool, True = dropped: Poisson dropouts of ``lo_s``..``hi_s`` seconds."""
    drop = np.zeros(n, bool)
    for _ in range(rng.poisson(per_hour * n * dt_s / 3600.0)):
        i0 = rng.integers(0, max(n, 1))
        drop[i0: i0 + int(rng.uniform(lo_s, hi_s) / dt_s)] = True
    return drop


def day_seed(seed: int, day, mission_code: int, probe_index: int) -> np.random.SeedSequence:
    """The random stream of one spacecraft-day: independent of the other days and spacecraft."""
    d = int(np.datetime64(day, "D").astype(np.int64))
    return np.random.SeedSequence([int(seed), d + 100000, 7000 + mission_code, probe_index])


# --- CDF writing shared by the Cluster and THEMIS writers -----------------------------------

EPOCH_MS, FLOAT, DOUBLE, REAL4, REAL8, INT4, UINT1, CHAR = 31, 44, 45, 21, 22, 4, 11, 51
"""CDF data type codes (CDF_EPOCH, CDF_FLOAT, CDF_DOUBLE, CDF_REAL4, CDF_REAL8, CDF_INT4,
CDF_UINT1, CDF_CHAR)."""


class CdfFile:
    """A row-major, MD5-checksummed CDF written to ``path.part.cdf`` and moved into place on
    :meth:`close` (the readers never see a half-written file)."""

    def __init__(self, path: Path):
        from cdflib.cdfwrite import CDF as CDFWriter

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".part.cdf")
        self.tmp.unlink(missing_ok=True)
        self.w = CDFWriter(str(self.tmp), cdf_spec={"Majority": "Row_major", "Checksum": True,
                                                     "Encoding": 6})

    def globals(self, attrs: dict) -> None:
        self.w.write_globalattrs(attrs)

    def var(self, name, dtype, data, attrs, dims=(), rec_vary=True, n_elements=1) -> None:
        """One variable (``data`` None: a variable with no records, e.g. a virtual epoch)."""
        self.w.write_var({"Variable": name, "Data_Type": dtype, "Num_Elements": n_elements,
                          "Rec_Vary": rec_vary, "Dim_Sizes": list(dims), "Compress": 0},
                         var_attrs=attrs, var_data=data)

    def labels(self, name, labels, width, attrs=None) -> None:
        """A non-record-varying CDF_CHAR label variable."""
        self.var(name, CHAR, [str(x).ljust(width) for x in labels], attrs or {},
                 dims=(len(labels),), rec_vary=False, n_elements=width)

    def close(self) -> None:
        import os

        self.w.close()
        os.replace(self.tmp, self.path)

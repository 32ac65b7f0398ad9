"""A measured head-related transfer function: OpenAL Soft's ``.mhr`` files, read here.

Debian's ``libopenal-data`` ships OpenAL Soft's default data set, made by its ``makehrtf`` tool
from the MIT Media Lab KEMAR measurements (Gardner and Martin, 1994) and stored as
``/usr/share/openal/hrtf/default-44100.mhr`` (and ``-48000``). Nothing is downloaded at run time:
a missing file is a ``UserError`` naming the package to install.

The ``MinPHR02`` layout (OpenAL Soft 1.19's loader and makehrtf's writer; all little-endian):

    8 bytes   "MinPHR02"
    u32       sample rate (Hz)
    u8        sample type: 0 = signed 16-bit, 1 = signed 24-bit
    u8        channel type: 0 = left ear only (the right ear is the left one mirrored), 1 = both
    u8        FIR length (taps, a multiple of 8)
    u8        field count (1 here; several = several distances, the nearest field comes first)
    per field: u16 distance (mm), u8 elevation count E, E x u8 azimuth count per elevation
    coefficients: for every response (all elevations from -90 deg up, azimuths clockwise from
              the front, evenly spaced), FIR length samples x channels (interleaved left, right)
    delays:   one u8 per response and channel: the onset in whole samples (the responses are
              minimum phase; the delay carries the interaural time difference)

Mirroring (left-only files): the right ear at azimuth index j is the left ear at index
(count - j) mod count, the same elevation. Measured azimuths are clockwise: the left ear's delay
is largest at index 90 deg (a source on the right), which is our convention too (azimuth 0 =
straight ahead, positive = to the right).

Interpolation (``hrirs``): bilinear over the two nearest elevation rings and, on each ring, the
two nearest azimuths; the minimum-phase coefficients are blended linearly and the delays blended
separately, as fractional delays applied by a short windowed-sinc kernel (so a slowly turning head
moves the interaural time difference smoothly rather than in whole-sample steps).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.paths import ROOT

hrtf_folder = Path("/usr/share/openal/hrtf")  # where Debian's libopenal-data puts OpenAL Soft's sets
bundled_hrtf_folder = ROOT / "assets" / "hrtf"  # a demo folder's own copy (memoire build-demo)
hrtf_package = "libopenal-data"
mhr_marker = b"MinPHR02"

# The fractional part of each delay is applied by a windowed sinc this many taps long (Blackman
# window): flat within 0.3 dB to 16 kHz for any fraction, where linear interpolation between two
# samples would dull the top by up to 6 dB at half-sample delays.
frac_delay_taps = 16


def default_hrtf_path(sample_rate_hz: int) -> Path:
    """The packaged data set for a sample rate (44100 or 48000): the copy a demo folder carries
    (``bundled_hrtf_folder``, written by `memoire build-demo`) if there is one, else the system's."""
    name = f"default-{int(sample_rate_hz)}.mhr"
    bundled = bundled_hrtf_folder / name
    return bundled if bundled.is_file() else hrtf_folder / name


@dataclass(frozen=True)
class _Ring:
    elevation_rad: float
    offset: int  # index of its first response
    count: int  # azimuths on the ring, evenly spaced clockwise from the front


class Hrtf:
    """One field of a measured HRTF set: per direction a (2, fir) response and (2,) delays."""

    def __init__(self, sample_rate_hz: int, coeffs: np.ndarray, delays: np.ndarray,
                 rings: tuple[_Ring, ...], distance_m: float, source: str):
        self.sample_rate_hz = int(sample_rate_hz)
        self.coeffs = coeffs  # (responses, 2, fir) float64, ear 0 = left
        self.delays = delays  # (responses, 2) float64, samples
        self.rings = rings
        self.distance_m = distance_m
        self.source = source
        self.fir_taps = coeffs.shape[2]
        self.max_delay = int(math.ceil(float(delays.max())))
        # every response this set gives is this long: the delay, the kernel's spread and the FIR
        self.taps = self.max_delay + frac_delay_taps + self.fir_taps
        self._ev = np.array([r.elevation_rad for r in rings])
        self._m = np.arange(frac_delay_taps)

    @classmethod
    def load(cls, path: str | Path | None = None, sample_rate_hz: int = 44100) -> "Hrtf":
        """Read an OpenAL Soft ``.mhr`` file (the packaged default set when ``path`` is None).
        A missing file or one in another format is a ``UserError`` saying what to do."""
        path = Path(path) if path is not None else default_hrtf_path(sample_rate_hz)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"{path}: no HRTF data set there (binaural output needs one); install it "
                            f"with `apt-get install {hrtf_package}` (OpenAL Soft's MIT KEMAR set)") from None
        except OSError as e:
            raise UserError(f"{path}: cannot read the HRTF data set ({e.strerror})") from None
        try:
            return cls._parse(data, str(path))
        except (ValueError, struct.error, IndexError) as e:
            raise UserError(f"{path}: not a usable OpenAL Soft MinPHR02 HRTF file ({e}); reinstall it with "
                            f"`apt-get install --reinstall {hrtf_package}`") from None

    @classmethod
    def _parse(cls, data: bytes, source: str) -> "Hrtf":
        if data[:8] != mhr_marker:
            raise ValueError(f"marker {data[:8]!r}, expected {mhr_marker!r}")
        rate, sample_type, channel_type, fir, fields = struct.unpack_from("<IBBBB", data, 8)
        if sample_type not in (0, 1) or channel_type not in (0, 1) or fir == 0 or fields == 0:
            raise ValueError(f"sample type {sample_type}, channel type {channel_type}, {fir} taps, {fields} fields")
        pos = 16
        layout = []  # per field: (distance_mm, azimuth counts)
        for _ in range(fields):
            dist_mm, ev_count = struct.unpack_from("<HB", data, pos)
            pos += 3
            counts = list(data[pos:pos + ev_count])
            if len(counts) != ev_count or min(counts) < 1:
                raise ValueError("truncated elevation table")
            pos += ev_count
            layout.append((dist_mm, counts))
        channels = 2 if channel_type == 1 else 1
        width = 2 if sample_type == 0 else 3
        total = sum(sum(c) for _, c in layout)
        n_coef = total * fir * channels
        raw = np.frombuffer(data, np.uint8, n_coef * width, pos).reshape(-1, width).astype(np.int32)
        pos += n_coef * width
        value = raw[:, 0] | (raw[:, 1] << 8)
        if width == 3:
            value = value | (raw[:, 2] << 16)
        bits = 8 * width
        value = np.where(value >= 1 << (bits - 1), value - (1 << bits), value) / float(1 << (bits - 1))
        coef = value.reshape(total, fir, channels)
        delay = np.frombuffer(data, np.uint8, total * channels, pos).reshape(total, channels).astype(np.float64)
        # The first field only: the nearest measured distance (KEMAR: one field, 1.4 m).
        dist_mm, counts = layout[0]
        n0 = sum(counts)
        coef, delay = coef[:n0], delay[:n0]
        rings = []
        offset = 0
        ev_count = len(counts)
        for e, count in enumerate(counts):
            rings.append(_Ring(-math.pi / 2 + math.pi * e / (ev_count - 1), offset, count))
            offset += count
        coeffs = np.empty((n0, 2, fir))
        delays = np.empty((n0, 2))
        coeffs[:, 0] = coef[:, :, 0]
        delays[:, 0] = delay[:, 0]
        if channels == 2:
            coeffs[:, 1] = coef[:, :, 1]
            delays[:, 1] = delay[:, 1]
        else:
            for r in rings:
                j = np.arange(r.count)
                mirror = r.offset + (r.count - j) % r.count
                coeffs[mirror, 1] = coef[r.offset + j, :, 0]
                delays[mirror, 1] = delay[r.offset + j, 0]
        return cls(rate, coeffs, delays, tuple(rings), dist_mm / 1000.0, source)

    # -- interpolation ------------------------------------------------------------------------

    def _ring_blend(self, ring: _Ring, az: np.ndarray, weight: np.ndarray, fir: np.ndarray, dly: np.ndarray) -> None:
        """Add ``weight`` x the ring's response at ``az`` (radians, clockwise), blended linearly
        between its two nearest azimuths, into ``fir`` (S, 2, fir) and ``dly`` (S, 2)."""
        pos = (az % (2 * math.pi)) * ring.count / (2 * math.pi)
        i0 = np.floor(pos).astype(np.int64) % ring.count
        i1 = (i0 + 1) % ring.count
        mu = (pos - np.floor(pos))[:, None]
        a, b = ring.offset + i0, ring.offset + i1
        w = weight[:, None]
        fir += (w * (1 - mu))[:, :, None] * self.coeffs[a] + (w * mu)[:, :, None] * self.coeffs[b]
        dly += w * ((1 - mu) * self.delays[a] + mu * self.delays[b])

    def blend(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Minimum-phase responses (S, 2, fir) and delays (S, 2) in samples, interpolated
        bilinearly (elevation rings x azimuths) for directions ``azimuth_rad`` (S,)."""
        az = np.atleast_1d(np.asarray(azimuth_rad, np.float64))
        el = np.broadcast_to(np.asarray(elevation_rad, np.float64), az.shape)
        el = np.clip(el, self._ev[0], self._ev[-1])
        pos = (el - self._ev[0]) / (self._ev[1] - self._ev[0])
        e0 = np.minimum(np.floor(pos).astype(np.int64), len(self.rings) - 2)
        mu = pos - e0
        fir = np.zeros((len(az), 2, self.fir_taps))
        dly = np.zeros((len(az), 2))
        for e in np.unique(np.concatenate([e0, e0 + 1])):
            w = np.where(e0 == e, 1 - mu, 0.0) + np.where(e0 + 1 == e, mu, 0.0)
            if np.any(w > 0):
                self._ring_blend(self.rings[int(e)], az, w, fir, dly)
        return fir, dly

    def hrirs(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray | float = 0.0) -> np.ndarray:
        """Head-related impulse responses (S, 2, taps) float64 for S directions (radians; azimuth
        0 = ahead, clockwise positive; elevation 0 = ear height): ``blend``'s responses, each ear
        delayed by its interpolated delay (integer part by position, fraction by a windowed sinc).
        Every response starts ``frac_delay_taps // 2 - 1`` samples late (the same for both ears)."""
        fir, dly = self.blend(azimuth_rad, elevation_rad)
        s = fir.shape[0]
        whole = np.floor(dly).astype(np.int64)
        frac = dly - whole
        centre = frac_delay_taps // 2 - 1
        x = self._m[None, None, :] - centre - frac[:, :, None]  # (S, 2, K)
        kern = np.sinc(x) * (0.42 + 0.5 * np.cos(np.pi * x / (frac_delay_taps / 2)) + 0.08 * np.cos(2 * np.pi * x / (frac_delay_taps / 2)))
        kern /= kern.sum(axis=2, keepdims=True)  # unity at DC whatever the fraction
        n = fir.shape[2] + frac_delay_taps - 1
        spread = np.empty((s, 2, n))
        for i in range(s):  # S x 2 short convolutions (32 x 16 taps)
            for ear in range(2):
                spread[i, ear] = np.convolve(fir[i, ear], kern[i, ear])
        out = np.zeros((s, 2, self.taps))
        for i in range(s):
            for ear in range(2):
                d = whole[i, ear]
                out[i, ear, d:d + n] = spread[i, ear]
        return out

    def hrir(self, azimuth_rad: float, elevation_rad: float = 0.0) -> np.ndarray:
        """One direction's (2, taps) response (left ear, right ear)."""
        return self.hrirs(np.array([azimuth_rad]), elevation_rad)[0]

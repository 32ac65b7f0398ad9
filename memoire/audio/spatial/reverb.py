"""Rooms: impulse responses computed from a room's size and materials, and their convolution.

``room_ir`` is a hybrid, as room-acoustics renderers usually are:

- early reflections by the image-source method for a shoebox (pyroomacoustics ``ShoeBox``:
  Allen and Berkley 1979), the source and the listener at positions drawn from ``seed``, up to
  the image order that covers twice the mixing time;
- the late tail as seeded Gaussian noise decaying exponentially at the room's reverberation time,
  crossfaded in over (t_mix, 2 t_mix) at the level the image sources have there. The decay is
  Sabine's, RT60 = 0.161 V / sum(S_i a_i) (0.161 s/m = 24 ln 10 / 343 m/s), which is what a
  designer's RT60 means; ``rt60_s`` given, the walls' absorption is solved from it.

Open-air courtyards (``open_top``): no ceiling. The top is a surface that absorbs everything
(energy absorption 1: no image source reflects off it, and its whole area counts in Sabine's sum),
so a courtyard of walls w x d x h can ring at most 0.161 w d h / (w d (1 + a_floor) + a 2 h (w + d))
(``max_rt60_s``); a 15 x 15 m yard with 6 m walls, brick-hard (a = 0.03), about 0.9 s. A
designer's RT60 beyond that is still what the late tail decays at (a narrow lane between hard
walls rings longer than Sabine's diffuse-field estimate: its sound flutters between the parallel
walls), the early reflections then coming off the hardest walls; never silently shortened.

The direct sound is removed (the dry path is the spatializer's): the IR starts where the direct
sound would be, with nothing there, and the first reflection arrives at its extra path's delay.
Length: 1.2 x the RT60 (down 72 dB), at least 0.3 s, at most ``max_ir_s`` (2 s), the last 50 ms
faded out. Normalised to unit energy (sum of squares 1): a send of RMS x gives a wet signal of RMS x
per channel pair; the wet level is the send's gain, set by whoever sends (the listener's room).

``RoomReverb`` convolves one mono send per room with its IR: uniformly partitioned overlap-save
(partitions of one block, FFTs of two blocks, a frequency-domain delay line per room), no added
latency, every buffer preallocated at construction. Channels are decorrelated by giving them
different realisations of the room (another seed: other positions, another tail), alternating.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.fft
from scipy.signal import butter, sosfilt

from memoire.world.files import atomic_output

speed_of_sound_mps = 343.0  # dry air at 20 C
sabine_s_per_m = 24 * math.log(10) / speed_of_sound_mps  # 0.161: RT60 = this x V / A
max_ir_s = 2.0  # the longest impulse response kept
min_ir_s = 0.3
ir_length_rt60 = 1.2  # IR length as a multiple of RT60 (-72 dB, below the T30 range)
fade_out_s = 0.05
min_absorption = 0.01  # the hardest wall solved for (polished stone is ~0.01)
max_image_order = 30
# The late tail is low-passed here: stone, brick, plaster and the air all absorb the top faster
# than the middle, and a white tail sounds like hiss.
tail_lowpass_hz = 6000.0
ir_variants = 2  # decorrelated realisations per room (left/right, alternating speakers)
cache_version = 1  # bump when room_ir changes what it computes


def _dims(size_m) -> tuple[float, float, float]:
    w, d, h = (float(v) for v in size_m)
    if min(w, d, h) <= 0:
        raise ValueError(f"room size {size_m}: every dimension must be > 0 m")
    return w, d, h


def _areas(size_m, open_top: bool) -> tuple[float, float, float]:
    """(volume m^3, reflecting area m^2, open area m^2)."""
    w, d, h = _dims(size_m)
    walls = 2 * h * (w + d)
    return w * d * h, walls + w * d * (1 if open_top else 2), w * d if open_top else 0.0


def sabine_rt60_s(size_m, absorption: float, open_top: bool = False) -> float:
    """Sabine's RT60 with every reflecting surface absorbing ``absorption`` (the open top: all)."""
    v, s, s_open = _areas(size_m, open_top)
    return sabine_s_per_m * v / (s * absorption + s_open)


def max_rt60_s(size_m, open_top: bool = False) -> float:
    """The longest RT60 the room can have (walls at ``min_absorption``)."""
    return sabine_rt60_s(size_m, min_absorption, open_top)


def absorption_for(size_m, rt60_s: float, open_top: bool = False) -> float:
    """The surfaces' absorption that gives ``rt60_s`` by Sabine, held to [min_absorption, 1]."""
    v, s, s_open = _areas(size_m, open_top)
    a = (sabine_s_per_m * v / float(rt60_s) - s_open) / s
    return float(min(1.0, max(min_absorption, a)))


def mixing_time_s(size_m) -> float:
    """When the reflections become dense: sqrt(V) ms (a common estimate), held to 20-100 ms."""
    w, d, h = _dims(size_m)
    return float(min(0.1, max(0.02, math.sqrt(w * d * h) / 1000.0)))


def _positions(size_m, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    w, d, h = _dims(size_m)
    def inside(extent, margin):
        m = min(margin, extent / 4)
        return float(rng.uniform(m, extent - m))
    for _ in range(32):  # a source and a listener at least a third of the room's width apart
        src = [inside(w, 1.0), inside(d, 1.0), min(h * 0.6, float(rng.uniform(1.0, 3.0)))]
        mic = [inside(w, 1.0), inside(d, 1.0), min(h * 0.5, 1.6)]
        if math.dist(src[:2], mic[:2]) >= min(w, d) / 3:
            break
    return src, mic


def room_ir(size_m: tuple[float, float, float], *, rt60_s: float | None = None, absorption: float | None = None,
            sample_rate_hz: int, seed: int, open_top: bool = False, max_s: float = max_ir_s) -> np.ndarray:
    """A room's impulse response (L,) float32, unit energy, direct sound removed (module docstring).

    ``size_m``: (width, depth, height) metres; exactly one of ``rt60_s`` (the designer's
    reverberation time, s) or ``absorption`` (the surfaces' energy absorption, 0..1); ``open_top``:
    no ceiling (a courtyard). Deterministic for a seed."""
    import pyroomacoustics as pra  # here: only the background IR job needs it

    if (rt60_s is None) == (absorption is None):
        raise ValueError("room_ir: give exactly one of rt60_s or absorption")
    w, d, h = _dims(size_m)
    rate = int(sample_rate_hz)
    alpha = absorption_for(size_m, rt60_s, open_top) if rt60_s is not None else float(absorption)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"absorption {alpha}: must be in (0, 1]")
    # the designer's RT60 when given (even beyond the open room's Sabine bound: see the module
    # docstring), else Sabine's from the absorption
    t60 = float(rt60_s) if rt60_s is not None else sabine_rt60_s(size_m, alpha, open_top)
    rng = np.random.default_rng(seed)
    t_mix = mixing_time_s(size_m)
    reflecting = [w, d] + ([] if open_top else [h])
    order = int(min(max_image_order, math.ceil(2 * t_mix * speed_of_sound_mps / min(reflecting)) + 1))
    materials = {k: pra.Material(alpha) for k in ("east", "west", "north", "south", "floor")}
    materials["ceiling"] = pra.Material(1.0 if open_top else alpha)
    room = pra.ShoeBox([w, d, h], fs=rate, materials=materials, max_order=order, air_absorption=False)
    src, mic = _positions(size_m, rng)
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    early = np.asarray(room.rir[0][0], np.float64)
    # pyroomacoustics delays every arrival by half its fractional-delay filter
    half = pra.constants.get("frac_delay_length") // 2
    direct = int(round(math.dist(src, mic) / speed_of_sound_mps * rate)) + half
    peak = direct - 4 + int(np.argmax(np.abs(early[max(0, direct - 4):direct + 5])))
    early[:peak + half + 1] = 0.0  # the direct sound and its filter's ringing: the dry path's
    early = early[peak:]  # t = 0 is when the direct sound arrives

    length = int(round(min(max_s, max(min_ir_s, ir_length_rt60 * t60)) * rate))
    ir = np.zeros(length)
    k = min(length, len(early))
    ir[:k] = early[:k]
    t = np.arange(length) / rate
    tail = rng.standard_normal(length) * np.exp(-3 * math.log(10) * t / t60)
    tail = sosfilt(butter(2, tail_lowpass_hz, fs=rate, output="sos"), tail)
    i0, i1 = int(t_mix * rate), min(length, int(2 * t_mix * rate))
    if i1 > i0:
        e_early = float((ir[i0:i1] ** 2).sum())
        e_tail = float((tail[i0:i1] ** 2).sum())
        tail *= math.sqrt(e_early / e_tail) if e_early > 0 and e_tail > 0 else 0.0
        fade = np.zeros(length)
        fade[i0:i1] = np.sin(0.5 * math.pi * (np.arange(i1 - i0) + 0.5) / (i1 - i0)) ** 2
        fade[i1:] = 1.0
        ir = ir * (1 - fade) + tail * fade
    nf = min(length, int(fade_out_s * rate))
    ir[length - nf:] *= 0.5 * (1 + np.cos(math.pi * (np.arange(nf) + 1) / nf))
    energy = float((ir ** 2).sum())
    if energy <= 0:
        raise ValueError(f"room {size_m}: the impulse response came out silent")
    return (ir / math.sqrt(energy)).astype(np.float32)


def decay_time_s(ir: np.ndarray, sample_rate_hz: int) -> float:
    """RT60 measured from an impulse response: Schroeder's backward integration, a straight line
    fitted (least squares) to the decay curve from -5 to -25 dB, extrapolated to 60 dB (T20; the
    -5 to -15 dB range, T10, when the response does not reach -25 dB). NaN when it cannot tell."""
    e = np.cumsum(np.asarray(ir, np.float64)[::-1] ** 2)[::-1]
    if e[0] <= 0:
        return float("nan")
    db = 10 * np.log10(np.maximum(e / e[0], 1e-30))
    for lo, hi in ((-5.0, -25.0), (-5.0, -15.0)):
        sel = np.flatnonzero((db <= lo) & (db >= hi))
        if len(sel) > 10 and db[-1] < hi:
            t = sel / sample_rate_hz
            slope = np.polyfit(t, db[sel], 1)[0]
            return float(-60.0 / slope) if slope < 0 else float("nan")
    return float("nan")


@dataclass(frozen=True)
class RoomParams:
    """What ``room_irs`` needs of a room (F maps D's ``Room`` to these)."""

    size_m: tuple[float, float, float]
    rt60_s: float | None = None
    absorption: float | None = None
    open_top: bool = False
    seed: int = 0


def room_irs(rooms_params: Sequence[RoomParams], sample_rate_hz: int, variants: int = ir_variants) -> list[np.ndarray]:
    """Each room's IRs, (variants, L) float32, realisation v drawn with seed ``seed * 1009 + v``.
    Slow (tens of ms to a second per room): run it in the background, once per level load."""
    out = []
    for p in rooms_params:
        out.append(np.stack([room_ir(p.size_m, rt60_s=p.rt60_s, absorption=p.absorption, sample_rate_hz=sample_rate_hz,
                                     seed=p.seed * 1009 + v, open_top=p.open_top) for v in range(variants)]))
    return out


def irs_key(rooms_params: Sequence[RoomParams], sample_rate_hz: int, variants: int = ir_variants) -> str:
    """A cache key that changes with anything that changes the IRs (the rooms, rate, this code's version)."""
    text = repr((cache_version, int(sample_rate_hz), int(variants), [astuple(p) for p in rooms_params]))
    return hashlib.sha256(text.encode()).hexdigest()


def save_irs(path: str | Path, key: str, irs: Sequence[np.ndarray]) -> None:
    """Write the IRs and their key as one ``.npz``, atomically (memoire/world/files.py)."""
    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), count=np.array(len(irs)), **{f"ir_{i}": np.asarray(a, np.float32) for i, a in enumerate(irs)})
    with atomic_output(Path(path)) as tmp:
        tmp.write_bytes(buf.getvalue())


def load_irs(path: str | Path, key: str) -> list[np.ndarray] | None:
    """The IRs saved under ``key``, or None (no file, another key, a damaged file: compute anew)."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            return [np.array(z[f"ir_{i}"], np.float32) for i in range(int(z["count"]))]
    except (OSError, KeyError, ValueError, EOFError):
        return None


class RoomReverb:
    """Streaming convolution of one mono send per room with its IR(s); adds the wet to ``out``.

    ``irs``: per room an (L,) IR or (k, L) decorrelated realisations (``room_irs``). Output channel
    c (counting only the channels not in ``silent_channels``, e.g. 5.1's LFE) gets realisation
    c mod k, scaled by sqrt(2 / channels) so the total wet power does not depend on the layout
    (1 per channel for two channels)."""

    def __init__(self, irs: Sequence[np.ndarray], sample_rate_hz: int, block_frames: int, channels: int,
                 *, silent_channels: Sequence[int] = ()):
        self.rate = int(sample_rate_hz)
        self.block = b = int(block_frames)
        self.channels = int(channels)
        self.rooms = len(irs)
        sets = [np.atleast_2d(np.asarray(a, np.float64)) for a in irs]
        self.variants = k = max([s.shape[0] for s in sets], default=1)
        longest = max([s.shape[1] for s in sets], default=1)
        self.partitions = p = max(1, -(-longest // b))
        bins = b + 1
        # H[r, v, j]: partition j of room r's realisation v, zero-padded to 2b, transformed;
        # stored in reverse partition order to meet the delay line's oldest-first window
        h = np.zeros((self.rooms, k, p, 2 * b))
        for r, s in enumerate(sets):
            for v in range(k):
                ir = s[v % s.shape[0]]
                padded = np.zeros(p * b)
                padded[:len(ir)] = ir
                h[r, v, :, :b] = padded.reshape(p, b)
        self._h_rev = np.ascontiguousarray(scipy.fft.rfft(h, axis=3)[:, :, ::-1]).astype(np.complex64)  # (R, k, P, bins)
        self._fdl = np.zeros((self.rooms, 2 * p, bins), np.complex64)  # each spectrum written twice (see process)
        self._pos = 0
        self._in = np.zeros((self.rooms, 2 * b))  # the last two blocks of each send
        self._prod = np.zeros((self.rooms, k, p, bins), np.complex64)
        self._acc = np.zeros((k, bins), np.complex64)
        silent = set(int(c) for c in silent_channels)
        live = [c for c in range(self.channels) if c not in silent]
        self._map = [(c, i % k) for i, c in enumerate(live)]
        self.scale = math.sqrt(2.0 / len(live)) if len(live) >= 2 else 1.0

    def process(self, sends: np.ndarray, out: np.ndarray) -> None:
        """``sends`` (R, N) float32, one mono send per room; ADDS the wet signal to ``out`` (N, channels)."""
        if self.rooms == 0:
            return
        b, p = self.block, self.partitions
        self._in[:, :b] = self._in[:, b:]
        self._in[:, b:] = sends[:self.rooms]
        spec = scipy.fft.rfft(self._in, axis=1)  # (R, bins)
        self._pos = (self._pos + 1) % p
        self._fdl[:, self._pos] = spec
        self._fdl[:, self._pos + p] = spec
        window = self._fdl[:, self._pos + 1:self._pos + 1 + p]  # (R, P, bins), oldest first
        np.multiply(window[:, None], self._h_rev, out=self._prod)
        self._prod.sum(axis=(0, 2), out=self._acc)
        y = scipy.fft.irfft(self._acc, 2 * b, axis=1)[:, b:]  # (k, b): overlap-save keeps the second half
        for c, v in self._map:
            out[:, c] += self.scale * y[v]

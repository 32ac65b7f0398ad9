"""Signal-building blocks shared by the corpus recipes (pure numpy/scipy).

Conventions: every signal is a 1-D float64 numpy array of mono samples at ``sample_rate_hz``
(the recipes use 44.1 kHz); times are in seconds, frequencies in Hz, distances in metres,
levels in dB. Every random draw comes from a ``numpy.random.Generator`` passed in by the
caller, so a recipe is a pure function of its seed.
"""

from __future__ import annotations

import numpy as np
from scipy import signal
from scipy.interpolate import CubicSpline

# Speed of sound in air at about 20 degrees C (ISO 9613-1 reference conditions).
SPEED_OF_SOUND_M_PER_S = 343.0
# Below this distance the 1/r law would blow up; a source closer than a body length
# is treated as at the reference distance.
REFERENCE_DISTANCE_M = 1.0


def db_to_gain(level_db: float | np.ndarray) -> float | np.ndarray:
    """Amplitude factor for a level in dB (20 log10 convention)."""
    return 10.0 ** (np.asarray(level_db) / 20.0)


def rms_db(x: np.ndarray) -> float:
    """Root-mean-square level in dB re full scale (1.0); -inf for silence."""
    power = float(np.mean(np.square(x))) if x.size else 0.0
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def butter_sos(kind: str, cutoff_hz, sample_rate_hz: int, order: int = 4) -> np.ndarray:
    """Butterworth second-order sections; cutoffs are clamped inside (0, Nyquist)."""
    nyquist_hz = sample_rate_hz / 2.0
    cut = np.clip(np.atleast_1d(np.asarray(cutoff_hz, dtype=float)), 1.0, nyquist_hz * 0.98)
    wn = cut[0] if cut.size == 1 else cut
    return signal.butter(order, wn, btype=kind, fs=sample_rate_hz, output="sos")


def lowpass(x: np.ndarray, cutoff_hz: float, sample_rate_hz: int, order: int = 4) -> np.ndarray:
    return signal.sosfilt(butter_sos("lowpass", cutoff_hz, sample_rate_hz, order), x)


def highpass(x: np.ndarray, cutoff_hz: float, sample_rate_hz: int, order: int = 4) -> np.ndarray:
    return signal.sosfilt(butter_sos("highpass", cutoff_hz, sample_rate_hz, order), x)


def bandpass(x: np.ndarray, low_hz: float, high_hz: float, sample_rate_hz: int,
             order: int = 4) -> np.ndarray:
    return signal.sosfilt(butter_sos("bandpass", [low_hz, high_hz], sample_rate_hz, order), x)


def colored_noise(n_samples: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown).

    Shaped in the frequency domain; normalised to unit RMS.
    """
    spectrum = rng.standard_normal(n_samples // 2 + 1) + 1j * rng.standard_normal(n_samples // 2 + 1)
    freqs = np.arange(spectrum.size, dtype=float)
    freqs[0] = 1.0
    spectrum *= freqs ** (-exponent / 2.0)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n=n_samples)
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def band_noise(n_samples: int, rng: np.random.Generator, exponent: float, low_hz: float | None,
               high_hz: float | None, sample_rate_hz: int, order: int = 2) -> np.ndarray:
    """Colored noise (see ``colored_noise``) filtered to [low_hz, high_hz] (None = open end).

    The filter runs over 0.5 s of extra noise first and that pre-roll is dropped, so the
    result has no start-up transient (steep low-frequency noise would otherwise begin with a
    thump far above its RMS).
    """
    preroll = sample_rate_hz // 2
    noise = colored_noise(n_samples + preroll, rng, exponent)
    if low_hz is not None and high_hz is not None:
        noise = bandpass(noise, low_hz, high_hz, sample_rate_hz, order)
    elif low_hz is not None:
        noise = highpass(noise, low_hz, sample_rate_hz, order)
    elif high_hz is not None:
        noise = lowpass(noise, high_hz, sample_rate_hz, order)
    return noise[preroll:]


def smooth_random(n_samples: int, rng: np.random.Generator, rate_hz: float,
                  sample_rate_hz: int) -> np.ndarray:
    """A smooth random control curve: N(0, 1) knots every 1/rate_hz s joined by a cubic spline."""
    duration_s = n_samples / sample_rate_hz
    n_knots = int(np.ceil(duration_s * rate_hz)) + 4
    knot_times_s = (np.arange(n_knots) - 1) / rate_hz
    spline = CubicSpline(knot_times_s, rng.standard_normal(n_knots))
    return spline(np.arange(n_samples) / sample_rate_hz)


def poisson_times(rate_hz: float, duration_s: float, rng: np.random.Generator,
                  first_within_s: float | None = None) -> np.ndarray:
    """Event onset times (s) of a Poisson process on [0, duration_s).

    ``first_within_s`` forces the first event into [0, first_within_s) so that even a short
    render contains the class's defining event (tests render 1-3 s).
    """
    times = []
    t = rng.uniform(0.0, first_within_s) if first_within_s is not None else rng.exponential(1.0 / rate_hz)
    while t < duration_s:
        times.append(t)
        t += rng.exponential(1.0 / rate_hz)
    return np.asarray(times)


def add_at(out: np.ndarray, event: np.ndarray, start_sample: int) -> None:
    """Mix ``event`` into ``out`` from ``start_sample`` on, cropping at either end (in place)."""
    if start_sample >= out.size or start_sample + event.size <= 0:
        return
    src_lo = max(0, -start_sample)
    dst_lo = max(0, start_sample)
    count = min(event.size - src_lo, out.size - dst_lo)
    out[dst_lo:dst_lo + count] += event[src_lo:src_lo + count]


def sweep_phase(freq_hz: np.ndarray, sample_rate_hz: int, phase0_rad: float = 0.0) -> np.ndarray:
    """Running phase (rad) of an oscillator whose instantaneous frequency is ``freq_hz``."""
    return phase0_rad + 2.0 * np.pi * np.cumsum(freq_hz) / sample_rate_hz


def modal_ring(excitation: np.ndarray, freqs_hz, t60s_s, gains, sample_rate_hz: int) -> np.ndarray:
    """Drive a bank of decaying modes (two-pole resonators) with ``excitation``.

    Each mode k rings at freqs_hz[k] and decays by 60 dB in t60s_s[k] seconds; modes at or
    above 0.95 x Nyquist are skipped (they would alias).
    """
    out = np.zeros_like(excitation, dtype=float)
    for freq_hz, t60_s, gain in zip(freqs_hz, t60s_s, gains):
        if freq_hz >= 0.95 * sample_rate_hz / 2.0:
            continue
        pole_radius = 10.0 ** (-3.0 / (t60_s * sample_rate_hz))  # -60 dB after t60_s
        omega = 2.0 * np.pi * freq_hz / sample_rate_hz
        # Numerator sin(omega) makes the impulse response a unit-amplitude decaying sine.
        b = [gain * np.sin(omega)]
        a = [1.0, -2.0 * pole_radius * np.cos(omega), pole_radius ** 2]
        out += signal.lfilter(b, a, excitation)
    return out


def propagate(source: np.ndarray, distance_m: np.ndarray, sample_rate_hz: int,
              absorption_far_m: float = 150.0) -> np.ndarray:
    """What a listener hears of a moving source: delay d/c (hence Doppler), 1/d loudness, air.

    ``distance_m`` gives the source-listener distance at each output sample. The received
    sample n is the source sample emitted at n - d[n]/c (linear interpolation), so a
    shrinking distance raises pitch. High frequencies fade with distance (air absorption):
    the dry signal is crossfaded towards a 3 kHz low-passed copy, fully at ``absorption_far_m``.
    """
    n = np.arange(source.size, dtype=float)
    delay_samples = distance_m / SPEED_OF_SOUND_M_PER_S * sample_rate_hz
    delayed = np.interp(n - delay_samples, n, source, left=0.0, right=0.0)
    gain = REFERENCE_DISTANCE_M / np.maximum(distance_m, REFERENCE_DISTANCE_M)
    far_mix = np.clip(distance_m / absorption_far_m, 0.0, 1.0)
    dull = lowpass(delayed, 3000.0, sample_rate_hz, order=2)
    return gain * ((1.0 - far_mix) * delayed + far_mix * dull)


def courtyard_ir(rng: np.random.Generator, sample_rate_hz: int, rt60_s: float = 0.9,
                 bright_rt60_s: float | None = None) -> np.ndarray:
    """Impulse response of a walled siheyuan courtyard: early wall echoes plus a diffuse tail.

    Early part: a few discrete reflections 8-45 ms after the direct sound (walls 3-8 m away,
    brick reflects well). Tail: exponentially decaying noise, whose upper band (>2 kHz)
    decays faster (``bright_rt60_s``, default 0.5 x rt60) because walls, trees and air
    absorb high frequencies. The direct sound (index 0) is not included: this is the wet part.
    """
    bright_rt60_s = bright_rt60_s if bright_rt60_s is not None else 0.5 * rt60_s
    n = int(rt60_s * 1.2 * sample_rate_hz)
    t_s = np.arange(n) / sample_rate_hz
    noise = rng.standard_normal(n)
    low = lowpass(noise, 2000.0, sample_rate_hz, order=2) * 10.0 ** (-3.0 * t_s / rt60_s)
    high = highpass(noise, 2000.0, sample_rate_hz, order=2) * 10.0 ** (-3.0 * t_s / bright_rt60_s)
    tail = (low + high) * np.clip(t_s / 0.02, 0.0, 1.0)  # tail builds up over 20 ms
    ir = 0.25 * tail / np.sqrt(np.sum(tail ** 2))
    for _ in range(6):
        delay_s = rng.uniform(0.008, 0.045)
        ir[int(delay_s * sample_rate_hz)] += rng.uniform(0.15, 0.45) * rng.choice([-1.0, 1.0])
    return ir


def reverb(dry: np.ndarray, ir: np.ndarray, wet_gain: float) -> np.ndarray:
    """Dry signal plus ``wet_gain`` x its convolution with ``ir`` (same length as ``dry``)."""
    wet = signal.oaconvolve(dry, ir)[: dry.size]
    return dry + wet_gain * wet


def hann_env(n_samples: int) -> np.ndarray:
    return np.hanning(n_samples + 2)[1:-1] if n_samples > 0 else np.zeros(0)


def resample_by(x: np.ndarray, ratio: np.ndarray | float) -> np.ndarray:
    """Read ``x`` at a (possibly varying) speed ``ratio`` (>1 = faster, higher pitch).

    A scalar ratio gives len(x)/ratio samples; an array gives one output sample per entry,
    stopping when the read head passes the end of x.
    """
    if np.isscalar(ratio):
        positions = np.arange(0.0, x.size - 1, float(ratio))
    else:
        positions = np.concatenate([[0.0], np.cumsum(ratio)[:-1]])
        positions = positions[positions < x.size - 1]
    return np.interp(positions, np.arange(x.size), x)

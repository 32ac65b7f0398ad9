"""What a listener's two ears (or the speakers) get, measured: used by the tests, the spatial
benchmark (tools/bench/bench_spatial.py) and the offline render's reports.

Signs follow the azimuths: positive = the right ear louder / earlier = a source on the right.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

ild_band_hz = (1000.0, 4000.0)  # where the head's shadow dominates the level difference
itd_band_hz = 1500.0  # below it the phase difference is unambiguous (the head is ~0.18 m wide)
itd_max_s = 0.001  # the largest lag searched (a head: ~0.7 ms)


def ild_db(left: np.ndarray, right: np.ndarray, sample_rate_hz: int, band_hz: tuple[float, float] | None = ild_band_hz) -> float:
    """Interaural level difference, dB (right over left), in ``band_hz`` (None: broadband)."""
    l, r = np.asarray(left, np.float64), np.asarray(right, np.float64)
    if band_hz is not None:
        sos = butter(4, band_hz, btype="bandpass", fs=sample_rate_hz, output="sos")
        l, r = sosfiltfilt(sos, l), sosfiltfilt(sos, r)
    return float(10 * np.log10(((r ** 2).sum() + 1e-30) / ((l ** 2).sum() + 1e-30)))


def itd_s(left: np.ndarray, right: np.ndarray, sample_rate_hz: int) -> float:
    """Interaural time difference, s: the lag of the cross-correlation peak of the two ears below
    ``itd_band_hz``, positive when the right ear leads (the left ear hears it later)."""
    sos = butter(4, itd_band_hz, btype="lowpass", fs=sample_rate_hz, output="sos")
    l = sosfiltfilt(sos, np.asarray(left, np.float64))
    r = sosfiltfilt(sos, np.asarray(right, np.float64))
    m = int(itd_max_s * sample_rate_hz)
    n = len(l)
    lags = np.arange(-m, m + 1)
    # c[k] = sum l[i + k] r[i]: the left ear delayed by k against the right
    c = np.array([np.dot(l[max(0, k):n + min(0, k)], r[max(0, -k):n - max(0, k)]) for k in lags])
    k = int(np.argmax(c))
    frac = 0.0
    if 0 < k < len(c) - 1:  # parabolic interpolation of the peak
        a, b, d = c[k - 1], c[k], c[k + 1]
        den = a - 2 * b + d
        frac = 0.5 * (a - d) / den if den != 0 else 0.0
    return float((lags[k] + frac) / sample_rate_hz)


def max_jump(x: np.ndarray) -> float:
    """The largest sample-to-sample step along axis 0 (any channel)."""
    x = np.asarray(x, np.float64)
    return float(np.abs(np.diff(x, axis=0)).max()) if len(x) > 1 else 0.0

"""Physical recipes for the hutong sound classes.

Each recipe is ``render_<class>(n_samples, rng, ctx) -> np.ndarray`` (float64, mono,
``ctx.sample_rate_hz``), un-normalised: ``generate.render_class`` scales the result to the
class's target level. Recipes draw every random number from ``rng``. Event-based classes put
their first defining event inside the first second so that short renders (tests) contain one.

Geometry: the listener stands at the origin, ears 1.6 m up; x east, y south (as in levels),
z up. Distances in metres.

One long job (eleven recipes and their shared event models side by side), so one module past
the ~600-line guide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memoire.corpus import dsp
from memoire.corpus.voice import load_voice_clips

EAR_HEIGHT_M = 1.6


@dataclass(frozen=True)
class RecipeContext:
    """What a recipe needs besides its random generator."""

    sample_rate_hz: int
    voice_dir: Path


def _times(n_samples: int, sr: int) -> np.ndarray:
    return np.arange(n_samples) / sr


def _pass_by_distance(n_samples: int, sr: int, t_closest_s: float, speed_m_per_s: float,
                      lateral_m: float, height_m: float = 0.0) -> np.ndarray:
    """Distance (m) to a source moving in a straight line, closest at t_closest_s."""
    along_m = speed_m_per_s * (_times(n_samples, sr) - t_closest_s)
    return np.sqrt(along_m ** 2 + lateral_m ** 2 + (height_m - EAR_HEIGHT_M) ** 2)


# --------------------------------------------------------------------------------------------
# beds: the place each event class was recorded in
# --------------------------------------------------------------------------------------------

# A field recording is never digitally silent: between a class's events you hear the place it
# was recorded in. Each event class has its own place, so that its quiet moments still say
# which class they belong to (with silence between events, half the frames of five classes
# were the same digital zero, and no model can tell those apart). The bed sits this far below
# the events' RMS: quiet, but well above the -60 dBFS the model evaluation calls silence.
BED_BELOW_EVENTS_DB = 20.0


def with_bed(events: np.ndarray, bed: np.ndarray, below_db: float = BED_BELOW_EVENTS_DB) -> np.ndarray:
    """``events`` plus ``bed`` scaled to ``below_db`` under the events' RMS."""
    events_rms = np.sqrt(np.mean(events ** 2))
    bed_rms = np.sqrt(np.mean(bed ** 2)) + 1e-12
    return events + bed * (events_rms * dsp.db_to_gain(-below_db) / bed_rms)


def _pass_envelope(n_samples: int, sr: int, rng: np.random.Generator, rate_hz: float,
                   speed_m_per_s: tuple[float, float], lateral_m: tuple[float, float]) -> np.ndarray:
    """Loudness (1/r, re 1 m) of sources passing at ``rate_hz`` on average, summed in power,
    over a floor as of one source 100 m away (the city beyond is never quiet)."""
    power = np.full(n_samples, 1.0 / 100.0 ** 2)
    duration_s = n_samples / sr
    for t_closest_s in dsp.poisson_times(rate_hz, duration_s + 20.0, rng) - 10.0:
        distance = _pass_by_distance(n_samples, sr, t_closest_s, rng.uniform(*speed_m_per_s),
                                     rng.uniform(*lateral_m))
        power += 1.0 / distance ** 2
    return np.sqrt(power)


# A freewheel's pawls click over its ratchet (18-36 teeth) once per tooth, and the rear wheel
# (0.66 m, a 26-inch tyre) turns 1.4-2.4 times a second at 3-5 m/s: 25-85 clicks a second.
_RATCHET_TEETH = (18, 36)
_WHEEL_DIAMETER_M = 0.66


def lane_with_cyclists_bed(n_samples: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """bells' place: a lane where cyclists coast past, freewheels ticking, tyres hissing."""
    out = np.zeros(n_samples)
    duration_s = n_samples / sr
    click_n = int(0.0015 * sr)
    click = dsp.highpass(rng.standard_normal(click_n), 3000.0, sr, order=2) * np.exp(-np.arange(click_n) / (0.0004 * sr))
    for t_closest_s in dsp.poisson_times(1.0 / 3.0, duration_s + 16.0, rng) - 8.0:
        speed = rng.uniform(3.0, 5.0)
        clicks_per_s = rng.integers(*_RATCHET_TEETH) * speed / (np.pi * _WHEEL_DIAMETER_M)
        lo_s, hi_s = max(0.0, t_closest_s - 8.0), min(duration_s, t_closest_s + 8.0)
        if hi_s <= lo_s:
            continue
        m = int((hi_s - lo_s) * sr)
        ticks = np.zeros(m)
        for t in np.arange(rng.uniform(0, 1 / clicks_per_s), m / sr, 1.0 / clicks_per_s):
            dsp.add_at(ticks, click * rng.uniform(0.6, 1.0), int(t * sr))
        hiss = dsp.bandpass(rng.standard_normal(m), 800.0, 4000.0, sr, order=2) * 0.05
        distance = _pass_by_distance(m, sr, t_closest_s - lo_s, speed, rng.uniform(1.5, 5.0), height_m=0.4)
        dsp.add_at(out, (ticks + hiss) / np.maximum(distance, 1.0), int(lo_s * sr))
    # The lane's own air: a pink floor 4 dB under the cyclists, so no moment is empty.
    out /= np.sqrt(np.mean(out ** 2)) + 1e-12
    return out + 0.6 * dsp.band_noise(n_samples, rng, 1.0, 200.0, 6000.0, sr)


# Lane paving: bricks laid end on, 0.24 m (the standard Chinese brick is 240 x 115 x 53 mm);
# a vendor's tricycle cart has wheels of about 0.5 m.
_BRICK_LENGTH_M = 0.24
_CART_WHEEL_DIAMETER_M = 0.5


def cart_on_bricks_bed(n_samples: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """vendors' place: the vendor's tricycle cart rolling over brick paving beside them:
    rolling rumble (120-700 Hz), a thump at every paving joint (bricks 0.24 m, walking pace
    0.8-1.2 m/s: 3-5 joints a second) and an axle squeak once a wheel turn."""
    speed = rng.uniform(0.8, 1.2)
    rumble = dsp.band_noise(n_samples, rng, 1.0, 120.0, 700.0, sr)
    thumps = np.zeros(n_samples)
    thump_n = int(0.05 * sr)
    u = np.arange(thump_n) / sr
    for t in np.arange(rng.uniform(0, 0.3), n_samples / sr, _BRICK_LENGTH_M / speed):
        f_hz = rng.uniform(70.0, 140.0)
        dsp.add_at(thumps, rng.uniform(1.0, 3.0) * np.sin(2 * np.pi * f_hz * u) * np.exp(-u / 0.012), int(t * sr))
    squeaks = np.zeros(n_samples)
    squeak_n = int(0.18 * sr)
    wheel_turn_s = np.pi * _CART_WHEEL_DIAMETER_M / speed
    f0_hz = rng.uniform(1300.0, 1700.0)
    for t in np.arange(rng.uniform(0, wheel_turn_s), n_samples / sr, wheel_turn_s):
        freq = f0_hz * (1 + 0.02 * np.sin(2 * np.pi * 9.0 * np.arange(squeak_n) / sr))
        dsp.add_at(squeaks, 0.5 * np.sin(dsp.sweep_phase(freq, sr)) * dsp.hann_env(squeak_n), int(t * sr))
    return rumble + thumps + squeaks


def road_at_lane_mouth_bed(n_samples: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """grinder's place: he works where the lane meets a road; cars and buses pass 25-60 m
    away, tyres on asphalt (300-2500 Hz) swelling and fading, with a low engine drone."""
    envelope = _pass_envelope(n_samples, sr, rng, 1.0 / 4.0, (8.0, 14.0), (25.0, 60.0))
    tyres = dsp.band_noise(n_samples, rng, 1.0, 300.0, 2500.0, sr) * envelope
    engines = dsp.band_noise(n_samples, rng, 2.0, 40.0, 200.0, sr) * envelope * 0.7
    return tyres + engines


# An outdoor air-conditioner unit: a 3-blade fan at 800-950 rpm (blade pass 40-48 Hz and its
# harmonics) and the compressor's hum at twice the mains frequency (50 Hz in China: 100 Hz).
_FAN_BLADES = 3
_COMPRESSOR_HUM_HZ = 100.0


def aircon_passage_bed(n_samples: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """footsteps' place: a narrow stone passage with an air-conditioner unit on the wall:
    blade-pass tone and harmonics, compressor hum, airflow noise (100-3000 Hz)."""
    t_s = _times(n_samples, sr)
    blade_pass_hz = _FAN_BLADES * rng.uniform(800.0, 950.0) / 60.0
    wobble = 1.0 + 0.003 * dsp.smooth_random(n_samples, rng, 0.5, sr)
    phase = dsp.sweep_phase(blade_pass_hz * wobble, sr)
    fan = sum(np.sin(k * phase + rng.uniform(0, 6.3)) / k for k in range(1, 7))
    hum = 0.5 * np.sin(2 * np.pi * _COMPRESSOR_HUM_HZ * t_s) + 0.2 * np.sin(2 * np.pi * 2 * _COMPRESSOR_HUM_HZ * t_s)
    air = dsp.band_noise(n_samples, rng, 1.0, 100.0, 3000.0, sr) * 1.2
    return 0.4 * fan + hum + air


def garden_trees_bed(n_samples: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """birds' place: the garden's trees, leaves rustling in a light breeze (2.5-10 kHz)."""
    # Some leaves always move: a steady part (0.4) under the breeze, which comes and goes.
    breeze = 0.4 + np.clip(0.5 + 0.4 * dsp.smooth_random(n_samples, rng, 0.25, sr), 0.0, 1.2) ** 2
    flutter = 0.6 + 0.4 * np.abs(dsp.smooth_random(n_samples, rng, 14.0, sr))
    return dsp.band_noise(n_samples, rng, 0.5, 2500.0, 10000.0, sr) * breeze * flutter


# --------------------------------------------------------------------------------------------
# pigeons: gezi shao (pigeon whistles) on a circling flock
# --------------------------------------------------------------------------------------------

# A gezi shao tube is a pipe closed at one end: it sounds the odd partials f, 3f, 5f, 7f.
# Relative amplitudes of those partials (breathy whistle: the fundamental dominates).
_PIPE_PARTIAL_GAINS = (1.0, 0.35, 0.14, 0.06)
# Partials above this are too weak in a small bamboo/gourd whistle to matter.
_PIPE_MAX_FREQ_HZ = 4500.0


def render_pigeons(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """A flock of 5-9 whistle-carrying pigeons circling 20-50 m up.

    The flock's whistles are a tuned set (fundamentals 500-1300 Hz, closed-pipe partials up
    to ~4.5 kHz); every bird's copy is detuned (0.4 % standard deviation) so that the chord
    beats. Each bird flies a circle of radius 35-80 m at 14-18 m/s over the flock's loft,
    30-90 m from the listener, whose centre drifts by some 30 m; ``dsp.propagate`` turns the
    flight into delay (Doppler), 1/r loudness and air absorption. Airflow gusts and wing-beat
    flutter modulate each whistle.
    """
    sr = ctx.sample_rate_hz
    # The whistles sound before the file starts: render 1 s more (longer than the sound's
    # travel time from the flock, < 0.6 s) and drop it, so the file does not open with the
    # silence-then-onset of sound still in flight.
    preroll = sr
    n_samples += preroll
    t_s = _times(n_samples, sr)
    out = np.zeros(n_samples)
    # The flock's tuned set of tubes (a multi-tube gourd whistle has 2-5 pitches).
    set_fundamentals_hz = np.sort(rng.uniform(500.0, 1300.0, size=rng.integers(3, 6)))
    radius_m = rng.uniform(35.0, 80.0)
    speed_m_per_s = rng.uniform(14.0, 18.0)
    direction = rng.choice([-1.0, 1.0])
    omega_rad_per_s = direction * speed_m_per_s / radius_m
    # The flock circles over its loft, somewhere 30-90 m from the listener, so it sweeps
    # towards and away from us (Doppler up to +-5 %, loudness swings); the orbit centre also
    # wanders slowly as the flock drifts.
    loft_bearing_rad = rng.uniform(0.0, 2.0 * np.pi)
    loft_distance_m = rng.uniform(30.0, 90.0)
    centre_x_m = loft_distance_m * np.cos(loft_bearing_rad) + 30.0 * dsp.smooth_random(n_samples, rng, 1.0 / 30.0, sr)
    centre_y_m = loft_distance_m * np.sin(loft_bearing_rad) + 30.0 * dsp.smooth_random(n_samples, rng, 1.0 / 30.0, sr)
    altitude_m = rng.uniform(20.0, 50.0)
    theta0_rad = rng.uniform(0.0, 2.0 * np.pi)
    n_birds = int(rng.integers(5, 10))
    for _ in range(n_birds):
        # Position inside the flock: a little ahead/behind, inside/outside, above/below.
        theta_rad = theta0_rad + rng.normal(0.0, 0.15) + omega_rad_per_s * t_s
        r_m = radius_m + rng.normal(0.0, 4.0)
        x_m = centre_x_m + r_m * np.cos(theta_rad)
        y_m = centre_y_m + r_m * np.sin(theta_rad)
        z_m = altitude_m + rng.normal(0.0, 3.0) + 2.0 * np.sin(0.3 * t_s + rng.uniform(0, 6.3))
        distance_m = np.sqrt(x_m ** 2 + y_m ** 2 + (z_m - EAR_HEIGHT_M) ** 2)
        # Airflow through the whistle: wing beats and turns make it unsteady.
        airflow = 1.0 + 0.25 * dsp.smooth_random(n_samples, rng, 0.7, sr) \
            + 0.08 * np.sin(2 * np.pi * rng.uniform(6.0, 9.0) * t_s)  # wing-beat flutter
        airflow = np.clip(airflow, 0.2, None)
        source = np.zeros(n_samples)
        n_tubes = int(rng.integers(1, min(4, set_fundamentals_hz.size) + 1))
        for f0_hz in rng.choice(set_fundamentals_hz, size=n_tubes, replace=False):
            f_hz = f0_hz * (1.0 + rng.normal(0.0, 0.004))  # detuning -> beats between birds
            # Blowing harder raises a pipe's pitch slightly (edge-tone pull).
            inst_f_hz = f_hz * (1.0 + 0.006 * (airflow - 1.0))
            phase = dsp.sweep_phase(inst_f_hz, sr, rng.uniform(0, 2 * np.pi))
            for k, gain in enumerate(_PIPE_PARTIAL_GAINS):
                if (2 * k + 1) * f_hz > _PIPE_MAX_FREQ_HZ:
                    break
                source += gain * np.sin((2 * k + 1) * phase) / n_tubes
        # Breath noise around the tones (turbulence at the whistle's mouth).
        breath = dsp.bandpass(rng.standard_normal(n_samples), 400.0, 4000.0, sr, order=2)
        source = (source + 0.04 * breath) * airflow ** 2
        out += dsp.propagate(source, distance_m, sr, absorption_far_m=250.0)
    return out[preroll:]


# --------------------------------------------------------------------------------------------
# bells: bicycle bells on passing bikes
# --------------------------------------------------------------------------------------------

# Bicycle bell (a small struck dome): inharmonic mode ratios to the fundamental, and their
# relative strike gains. The fundamental sits about 2.6 kHz.
_BELL_MODE_RATIOS = (1.0, 2.3, 3.9, 5.9, 8.1)
_BELL_MODE_GAINS = (1.0, 0.8, 0.6, 0.4, 0.25)
_BELL_FUNDAMENTAL_HZ = 2600.0


def bell_strikes(strike_times_s, strike_gains, n_samples: int, rng: np.random.Generator,
                 sr: int, fundamental_hz: float = _BELL_FUNDAMENTAL_HZ,
                 t60_fundamental_s: float = 1.6) -> np.ndarray:
    """One bell struck at the given times: modal synthesis with per-mode decays.

    Each mode is a slightly split pair (the dome is not perfectly round), so it beats;
    higher modes decay faster (t60 ~ ratio**-0.5). The clapper hit is a 3-sample half-sine.
    """
    excitation = np.zeros(n_samples)
    # A steel clapper's contact lasts well under 0.1 ms: 3 samples keep the click flat to ~10 kHz.
    click_len = 3
    click = np.sin(np.pi * np.arange(click_len) / click_len)
    for t, g in zip(strike_times_s, strike_gains):
        dsp.add_at(excitation, g * click, int(t * sr))
    freqs, t60s, gains = [], [], []
    for ratio, gain in zip(_BELL_MODE_RATIOS, _BELL_MODE_GAINS):
        f_hz = fundamental_hz * ratio * (1.0 + rng.normal(0.0, 0.01))
        split = rng.uniform(0.001, 0.004)
        t60_s = t60_fundamental_s * ratio ** -0.5
        for f_pair_hz in (f_hz * (1 - split / 2), f_hz * (1 + split / 2)):
            freqs.append(f_pair_hz)
            t60s.append(t60_s)
            gains.append(gain / 2)
    return dsp.modal_ring(excitation, freqs, t60s, gains, sr)


def _ring_pattern(rng: np.random.Generator, t0_s: float) -> tuple[list[float], list[float]]:
    """Strike times and gains of one ring: a single 'ding' or a rotary 'ding-ling-ling'."""
    if rng.random() < 0.3:
        return [t0_s], [1.0]
    # Rotary bell: the lever spins clappers that hit the dome 15-25 times a second.
    interval_s = 1.0 / rng.uniform(15.0, 25.0)
    n = int(rng.integers(4, 11))
    times = t0_s + interval_s * np.arange(n) + rng.normal(0.0, 0.004, n)
    gains = (1.0 if rng.random() < 0.7 else 0.6) * np.concatenate(
        [[1.0], rng.uniform(0.45, 0.8, n - 1) * np.linspace(1.0, 0.6, n - 1)])
    return list(np.maximum(times, t0_s)), list(gains)


def render_bells(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """Bikes passing through the lane, riders ringing as they come (1-3 rings each).

    Each bike has its own bell (fundamental 2.6 kHz +- 4 %), rides at 3-6 m/s 1.5-6 m from
    the listener, and also makes faint tyre rumble on the stones; a short courtyard reverb
    follows.
    """
    sr = ctx.sample_rate_hz
    duration_s = n_samples / sr
    out = np.zeros(n_samples)
    for t_closest_s in dsp.poisson_times(1.0 / 4.0, duration_s + 4.0, rng, first_within_s=2.0):
        speed = rng.uniform(3.0, 6.0)
        lateral = rng.uniform(1.5, 6.0)
        # Render the bike in its own window around the pass (10 s before to 6 s after).
        lo_s = max(0.0, t_closest_s - 10.0)
        hi_s = min(duration_s, t_closest_s + 6.0)
        if hi_s <= lo_s:
            continue
        m = int((hi_s - lo_s) * sr)
        times, gains = [], []
        # The rider rings while approaching; the first ring of the first bike comes early.
        n_rings = int(rng.integers(1, 4))
        ring_t0 = t_closest_s - rng.uniform(0.0, 3.0, n_rings)
        for t0 in np.sort(ring_t0):
            ts, gs = _ring_pattern(rng, max(t0, lo_s + 0.01) - lo_s)
            times += ts
            gains += gs
        source = bell_strikes(times, gains, m, rng, sr,
                              fundamental_hz=_BELL_FUNDAMENTAL_HZ * (1 + rng.normal(0.0, 0.04)),
                              t60_fundamental_s=rng.uniform(1.2, 2.0))
        # Tyres on worn stone: low rumble that grows near the listener.
        tyre = dsp.bandpass(rng.standard_normal(m), 150.0, 1200.0, sr, order=2) * 0.01
        tyre *= np.minimum(1.0, np.minimum(np.arange(m), np.arange(m)[::-1]) / (0.5 * sr))  # 0.5 s fades
        source += tyre
        distance = _pass_by_distance(m, sr, t_closest_s - lo_s, speed, lateral, height_m=1.0)
        dsp.add_at(out, dsp.propagate(source, distance, sr), int(lo_s * sr))
    out = dsp.reverb(out, dsp.courtyard_ir(rng, sr, rt60_s=0.7), wet_gain=0.35)
    return with_bed(out, lane_with_cyclists_bed(n_samples, rng, sr))


# --------------------------------------------------------------------------------------------
# voices: shaping espeak clips into hawkers' calls
# --------------------------------------------------------------------------------------------

def _final_vowel_bounds(clip: np.ndarray, sr: int) -> tuple[int, int]:
    """Sample range of a steady part of the clip's last syllable (its vowel)."""
    env = np.convolve(np.abs(clip), np.ones(int(0.01 * sr)) / int(0.01 * sr), mode="same")
    loud = np.flatnonzero(env > 0.2 * env.max())
    end = loud[-1] if loud.size else clip.size
    hi = max(int(end - 0.03 * sr), int(0.1 * sr))
    lo = max(0, hi - int(0.08 * sr))
    return lo, hi


def _pitch_period(segment: np.ndarray, sr: int, f_lo_hz: float = 70.0, f_hi_hz: float = 400.0) -> int:
    """Voice period (samples) of a vowel segment: the autocorrelation peak in the voice range."""
    seg = segment - segment.mean()
    ac = np.correlate(seg, seg, mode="full")[seg.size - 1:]
    lag_lo, lag_hi = int(sr / f_hi_hz), min(int(sr / f_lo_hz), seg.size - 1)
    if lag_hi <= lag_lo:
        return int(sr / 150.0)
    return lag_lo + int(np.argmax(ac[lag_lo:lag_hi]))


def _held_vowel(clip: np.ndarray, lo: int, hi: int, semitones: np.ndarray, sr: int) -> np.ndarray:
    """Hold the vowel clip[lo:hi] for len(semitones) samples, bending its pitch (TD-PSOLA).

    Analysis marks sit one voice period P apart inside the vowel and are read back and forth
    (so consecutive grains stay phase-coherent); each grain is two periods long (Hann).
    Synthesis marks are P / 2**(semitones/12) apart, which raises or lowers the pitch while the
    grains, and with them the formants (the vowel's colour), stay as spoken.
    """
    period = _pitch_period(clip[lo:hi], sr)
    window = np.hanning(2 * period + 1)
    marks = np.arange(max(lo, period), min(hi, clip.size - period - 1), period)
    if marks.size == 0:
        marks = np.array([min(max(lo, period), clip.size - period - 1)])
    cycle = np.concatenate([marks, marks[-2:0:-1]]) if marks.size > 2 else marks  # ping-pong
    n_out = semitones.size
    out = np.zeros(n_out + 2 * period + 1)
    t, k = 0.0, 0
    while t < n_out:
        m = int(cycle[k % cycle.size])
        dsp.add_at(out, clip[m - period:m + period + 1] * window, int(t))
        t += period / 2.0 ** (semitones[min(int(t), n_out - 1)] / 12.0)
        k += 1
    return out[period:period + n_out]


def shape_call(clip: np.ndarray, rng: np.random.Generator, sr: int,
               hold_s: tuple[float, float] = (0.5, 1.4)) -> np.ndarray:
    """Turn a spoken phrase into a hawker's call.

    The voice is raised (played 5-30 % faster), the final vowel is held for ``hold_s`` with a
    pitch bend (a rise of 1-4 semitones, then a fall of 2-7; pitch-synchronous, so the
    vowel keeps its formants), the held vowel swells and fades, the shout is mildly saturated
    and band-limited to 250-3800 Hz.
    """
    raised = dsp.resample_by(clip, rng.uniform(1.05, 1.3))
    lo, hi = _final_vowel_bounds(raised, sr)
    n_hold = int(rng.uniform(*hold_s) * sr)
    # Pitch contour over the held vowel: rise, then fall at the end (semitones).
    u = np.linspace(0.0, 1.0, n_hold)
    rise, fall = rng.uniform(1.0, 4.0), rng.uniform(2.0, 7.0)
    semitones = rise * np.sin(np.pi * np.minimum(u / 0.6, 1.0)) - fall * np.clip((u - 0.6) / 0.4, 0, 1) ** 2
    held = _held_vowel(raised, lo, hi, semitones, sr)
    # Loudness: the held vowel starts at the spoken vowel's level, swells, then fades.
    held *= np.sqrt(np.mean(raised[lo:hi] ** 2) / (np.mean(held[: max(1, hi - lo)] ** 2) + 1e-12))
    held *= np.interp(u, [0, 0.15, 0.7, 1.0], [0.8, 1.15, 1.0, 0.0])
    # Crossfade 20 ms from the spoken phrase (cut at the vowel) into the held vowel.
    xfade = int(0.02 * sr)
    head = raised[:hi].copy()
    call = np.concatenate([head, np.zeros(held.size)])
    ramp = np.linspace(0, 1, xfade)
    call[hi - xfade:hi] *= 1 - ramp
    dsp.add_at(call, held * np.concatenate([ramp, np.ones(held.size - xfade)]), hi - xfade)
    call = np.tanh(2.0 * call / (np.max(np.abs(call)) + 1e-9)) / np.tanh(2.0)
    return dsp.bandpass(call, 250.0, 3800.0, sr, order=4)


def _heard_walking_by(dry: np.ndarray, rng: np.random.Generator, sr: int, speed_m_per_s: float,
                      lateral_m: float, rt60_s: float, wet_gain: float) -> np.ndarray:
    """What the listener hears of a street caller's ``dry`` sound as they walk down the lane.

    The caller is closest (``lateral_m`` away) somewhere in the middle 20-80 % of the clip;
    1/r loudness re 3 m (a shout heard at 3 m is the reference level), air absorption, Doppler,
    then the courtyard's reverb.
    """
    t_closest_s = rng.uniform(0.2, 0.8) * dry.size / sr
    distance = _pass_by_distance(dry.size, sr, t_closest_s, speed_m_per_s, lateral_m)
    heard = dsp.propagate(dry, distance, sr, absorption_far_m=120.0) * 3.0
    return dsp.reverb(heard, dsp.courtyard_ir(rng, sr, rt60_s=rt60_s), wet_gain=wet_gain)


def _walking_caller(n_samples: int, rng: np.random.Generator, sr: int, calls: list[np.ndarray],
                    gap_s: tuple[float, float], t_first_s: float, rt60_s: float) -> np.ndarray:
    """A caller walking through the lane at ~1 m/s, calling every gap_s; courtyard reverb."""
    duration_s = n_samples / sr
    dry = np.zeros(n_samples)
    t = t_first_s
    while t < duration_s:
        call = calls[int(rng.integers(len(calls)))]
        dsp.add_at(dry, call * rng.uniform(0.7, 1.0), int(t * sr))
        t += call.size / sr + rng.uniform(*gap_s)
    return _heard_walking_by(dry, rng, sr, rng.uniform(0.7, 1.2), rng.uniform(3.0, 15.0), rt60_s, wet_gain=0.6)


def render_vendors(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """One or two street vendors walking the lane calling their wares (espeak Mandarin)."""
    sr = ctx.sample_rate_hz
    clips = load_voice_clips(ctx.voice_dir, "vendor", sr)
    out = np.zeros(n_samples)
    n_vendors = 1 + int(rng.random() < 0.6)
    for k in range(n_vendors):
        phrase = clips[int(rng.integers(len(clips)))]
        # A vendor repeats their own call with small variations.
        calls = [shape_call(phrase, np.random.default_rng(rng.integers(2 ** 32)), sr) for _ in range(3)]
        t_first = rng.uniform(0.0, 0.5) if k == 0 else rng.uniform(2.0, 12.0)
        out += _walking_caller(n_samples, rng, sr, calls, (3.0, 9.0), t_first, rt60_s=1.1) \
            * rng.uniform(0.5, 1.0)
    return with_bed(out, cart_on_bricks_bed(n_samples, rng, sr))


# --------------------------------------------------------------------------------------------
# birds: tree sparrows, a trilling bird, a whistler, and magpies
# --------------------------------------------------------------------------------------------

def _fm_syllable(f_start_hz: float, f_end_hz: float, duration_s: float, sr: int,
                 curve: float = 1.0, vibrato_hz: float = 0.0, vibrato_depth_hz: float = 0.0,
                 harmonic2: float = 0.08) -> np.ndarray:
    """One bird syllable: a sine swept from f_start to f_end (shape u**curve), Hann-ish envelope."""
    n = max(8, int(duration_s * sr))
    u = np.linspace(0.0, 1.0, n)
    f_hz = f_start_hz + (f_end_hz - f_start_hz) * u ** curve
    if vibrato_hz > 0:
        f_hz = f_hz + vibrato_depth_hz * np.sin(2 * np.pi * vibrato_hz * u * duration_s)
    phase = dsp.sweep_phase(f_hz, sr)
    env = np.sin(np.pi * u) ** 1.5
    return env * (np.sin(phase) + harmonic2 * np.sin(2 * phase))


def _sparrow_bout(rng, sr):
    """Tree sparrow: bouts of 'chirp' down-sweeps 6->3 kHz, 30-70 ms, every 0.15-0.5 s."""
    pieces = []
    for _ in range(int(rng.integers(3, 12))):
        f0 = rng.uniform(4500, 7000)
        syl = _fm_syllable(f0, f0 * rng.uniform(0.45, 0.7), rng.uniform(0.03, 0.07), sr,
                           curve=rng.uniform(0.5, 2.0), harmonic2=0.15)
        pieces += [syl, np.zeros(int(rng.uniform(0.12, 0.5) * sr))]
    return np.concatenate(pieces)


def _trill(rng, sr):
    """Trill: a 12-25 ms up-sweep repeated 14-22 times a second for 0.6-2 s."""
    rate_hz = rng.uniform(14, 22)
    f0 = rng.uniform(2500, 4500)
    span = rng.uniform(1.2, 1.8)
    syl_s = min(0.8 / rate_hz, rng.uniform(0.012, 0.025))
    period = int(sr / rate_hz)
    n = int(rng.uniform(0.6, 2.0) * rate_hz)
    out = np.zeros(period * n + int(syl_s * sr) + 10)
    for k in range(n):
        droop = 1.0 - 0.15 * k / n
        dsp.add_at(out, _fm_syllable(f0 * droop, f0 * span * droop, syl_s, sr), k * period)
    return out * np.linspace(0.7, 1.0, out.size)


def _whistled_song(rng, sr):
    """Whistled phrase: 3-7 notes, 80-250 ms, 1.5-4 kHz, with slow vibrato and glides."""
    pieces = []
    f = rng.uniform(1500, 3000)
    for _ in range(int(rng.integers(3, 8))):
        f_next = np.clip(f * 2 ** rng.uniform(-0.5, 0.5), 1500, 4000)
        pieces.append(_fm_syllable(f, f_next, rng.uniform(0.08, 0.25), sr, curve=3.0,
                                   vibrato_hz=rng.uniform(20, 40), vibrato_depth_hz=rng.uniform(0, 80),
                                   harmonic2=0.05))
        pieces.append(np.zeros(int(rng.uniform(0.03, 0.12) * sr)))
        f = f_next
    return np.concatenate(pieces)


def _magpie_chatter(rng, sr):
    """Azure-winged magpie: harsh rasping 'kschrie' calls - noisy bursts 1-5 kHz, 80-150 ms."""
    pieces = []
    for _ in range(int(rng.integers(2, 6))):
        n = int(rng.uniform(0.08, 0.15) * sr)
        rasp = dsp.bandpass(rng.standard_normal(n), 1000, 5000, sr, order=4)
        # Rasp: noise pulsed at 60-120 Hz by the syrinx (smooth pulses, no square-wave clicks).
        buzz = (1 + np.sin(2 * np.pi * rng.uniform(60, 120) * np.arange(n) / sr)) ** 2 / 2
        pieces += [0.6 * rasp * buzz * dsp.hann_env(n), np.zeros(int(rng.uniform(0.05, 0.2) * sr))]
    return np.concatenate(pieces)


_BIRD_SONGS = (_sparrow_bout, _trill, _whistled_song, _magpie_chatter)


def render_birds(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """3-6 birds in the courtyard trees 6-40 m away, each singing its kind's song now and then."""
    sr = ctx.sample_rate_hz
    duration_s = n_samples / sr
    out = np.zeros(n_samples)
    n_birds = int(rng.integers(3, 7))
    for b in range(n_birds):
        # The first four birds are one of each kind; any further bird repeats a random kind.
        song = _BIRD_SONGS[b] if b < len(_BIRD_SONGS) else _BIRD_SONGS[int(rng.integers(len(_BIRD_SONGS)))]
        distance_m = rng.uniform(6.0, 40.0)
        gain = 6.0 / distance_m
        first = 1.0 if b == 0 else None
        for t in dsp.poisson_times(1.0 / rng.uniform(3.0, 9.0), duration_s, rng, first_within_s=first):
            phrase = song(rng, sr)
            if distance_m > 20:
                phrase = dsp.lowpass(phrase, 6000.0, sr, order=2)  # air + leaves dull far birds
            dsp.add_at(out, gain * phrase, int(t * sr))
    out = dsp.reverb(out, dsp.courtyard_ir(rng, sr, rt60_s=0.8), wet_gain=0.3)
    return with_bed(out, garden_trees_bed(n_samples, rng, sr))


# --------------------------------------------------------------------------------------------
# insects: crickets and cicadas
# --------------------------------------------------------------------------------------------

def _cricket(n_samples, rng, sr):
    """Field cricket: a 4-5 kHz carrier in pulses (~30 /s), 3-5 pulses a chirp, 1.5-3 chirps/s."""
    t_s = _times(n_samples, sr)
    carrier_hz = rng.uniform(4000, 5000)
    pulse_rate_hz = rng.uniform(25, 35)
    chirp_rate_hz = rng.uniform(1.5, 3.0)
    pulses_per_chirp = int(rng.integers(3, 6))
    pulse_len_s = 0.5 / pulse_rate_hz
    env = np.zeros(n_samples)
    pulse = dsp.hann_env(int(pulse_len_s * sr)) ** 0.5
    t = rng.uniform(0, 0.3)
    while t < n_samples / sr:
        for k in range(pulses_per_chirp):
            dsp.add_at(env, pulse * (0.8 + 0.2 * rng.random()), int((t + k / pulse_rate_hz) * sr))
        t += (1.0 / chirp_rate_hz) * rng.uniform(0.9, 1.1)
    # The carrier wavers by 1 % at the pulse rate: the scraper's speed along the file changes
    # within each wing stroke.
    wobble = 1.0 - 0.01 * np.sin(2 * np.pi * pulse_rate_hz * t_s)
    return env * np.sin(dsp.sweep_phase(carrier_hz * wobble, sr, rng.uniform(0, 6.3)))


def _tree_cricket(n_samples, rng, sr):
    """Tree cricket: a continuous trill, 2.5-3.2 kHz carrier, 45-60 pulses/s."""
    t_s = _times(n_samples, sr)
    carrier_hz = rng.uniform(2600, 3200)
    pulse_rate_hz = rng.uniform(45, 60)
    am = np.clip(np.sin(2 * np.pi * pulse_rate_hz * t_s), 0, None) ** 2
    slow = np.clip(1.0 + 0.3 * dsp.smooth_random(n_samples, rng, 0.2, sr), 0, None)
    return am * slow * np.sin(dsp.sweep_phase(np.full(n_samples, carrier_hz), sr))


def _cicada(n_samples, rng, sr):
    """Cicada (Cryptotympana-like): buzz of tymbal clicks at 120-200 /s on a 3.5-4.8 kHz band,
    in phrases of 4-12 s that swell and fade, repeating after a pause."""
    t_s = _times(n_samples, sr)
    centre_hz = rng.uniform(3500, 4800)
    band = dsp.band_noise(n_samples, rng, 0.0, centre_hz / 1.25, centre_hz * 1.25, sr, order=3)
    click_rate_hz = rng.uniform(120, 200)
    clicks = np.clip(np.sin(2 * np.pi * click_rate_hz * t_s), 0, None) ** 4
    phrase_env = np.zeros(n_samples)
    t = rng.uniform(0, 0.5)
    while t < n_samples / sr:
        length_s = rng.uniform(4, 12)
        n = int(length_s * sr)
        u = np.linspace(0, 1, n)
        env = np.minimum(u / 0.3, 1.0) * np.minimum((1 - u) / 0.15, 1.0)
        dsp.add_at(phrase_env, env, int(t * sr))
        t += length_s + rng.uniform(2, 10)
    return band * (0.3 + clicks) * phrase_env


def render_insects(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """A summer chorus: 2-5 field crickets, a tree cricket, one or two cicadas in phrases."""
    sr = ctx.sample_rate_hz
    out = np.zeros(n_samples)
    for _ in range(int(rng.integers(2, 6))):
        out += _cricket(n_samples, rng, sr) * (3.0 / rng.uniform(2.0, 15.0))
    out += _tree_cricket(n_samples, rng, sr) * rng.uniform(0.2, 0.6)
    for _ in range(1 + int(rng.random() < 0.4)):
        out += _cicada(n_samples, rng, sr) * rng.uniform(0.5, 1.2)
    return dsp.reverb(out, dsp.courtyard_ir(rng, sr, rt60_s=0.6), wet_gain=0.2)


# --------------------------------------------------------------------------------------------
# wind
# --------------------------------------------------------------------------------------------

def render_wind(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """Gusting wind in the lane: a rumble whose brightness and loudness follow the gusts,
    edge-tone whistles (Strouhal f = 0.2 v / d) that sing only in strong gusts, and leaves."""
    sr = ctx.sample_rate_hz
    # Gust speed: log-normal around 1 with 2-8 s swells.
    gust = np.exp(0.45 * dsp.smooth_random(n_samples, rng, 0.25, sr)
                  + 0.15 * dsp.smooth_random(n_samples, rng, 1.5, sr))
    # Below ~40 Hz wind is pressure change, not sound (and would waste the file's bits).
    low = dsp.band_noise(n_samples, rng, 1.5, 40.0, 250.0, sr)
    mid = dsp.band_noise(n_samples, rng, 1.5, 250.0, 1500.0, sr)
    mid *= np.sqrt(np.mean(low ** 2) / np.mean(mid ** 2)) * 0.3  # mid band ~10 dB under the low
    brightness = np.clip((gust - 0.6) / 1.2, 0.0, 1.0)  # strong gusts open up the spectrum
    body = gust ** 1.5 * (low + 1.5 * brightness * mid)
    # Whistles: a wire/gap of diameter d sings at f = St v / d; St ~ 0.2.
    whistles = np.zeros(n_samples)
    for _ in range(int(rng.integers(1, 4))):
        f_hz = rng.uniform(350, 1400) * (0.75 + 0.25 * gust)
        f_hz = f_hz * (1 + 0.004 * dsp.smooth_random(n_samples, rng, 8.0, sr))
        level = np.clip((gust - rng.uniform(1.0, 1.4)) * 2.0, 0.0, 1.0) ** 2
        whistles += 0.08 * level * np.sin(dsp.sweep_phase(f_hz, sr, rng.uniform(0, 6.3)))
    # Leaves: fine crackle in the gusts.
    crackle = dsp.bandpass(rng.standard_normal(n_samples), 2000.0, 9000.0, sr, order=2)
    crackle *= np.abs(dsp.smooth_random(n_samples, rng, 40.0, sr)) ** 2
    leaves = 0.06 * crackle * brightness ** 2
    return body + whistles + leaves


# --------------------------------------------------------------------------------------------
# rain
# --------------------------------------------------------------------------------------------

def _drop_train(n_samples, rng, sr, rate_per_s, amp_sigma):
    """Sparse impulses at Poisson times (rate_per_s may vary per sample), log-normal sizes."""
    mean_rate = float(np.mean(rate_per_s))
    n = rng.poisson(mean_rate * n_samples / sr)
    pos = rng.integers(0, n_samples, n)
    # Thin by the local rate so intensity follows the rate curve.
    keep = rng.random(n) < np.asarray(rate_per_s)[pos] / (np.max(rate_per_s) + 1e-9) * \
        (np.max(rate_per_s) / (mean_rate + 1e-9))
    # Raindrops are at most ~5 mm across, so impact sizes are bounded: clip the log-normal
    # tail at 5x the median (an unbounded tail gave lone full-scale clicks).
    sizes = np.minimum(rng.lognormal(0.0, amp_sigma, int(keep.sum())), 5.0)
    train = np.zeros(n_samples)
    np.add.at(train, pos[keep], sizes * rng.choice([-1, 1], int(keep.sum())))
    return train


def render_rain(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """Rain on the grey roof tiles and eave drips.

    Drops hit the tiles at 300-800 /s in all (the rate drifts +-35 % over tens of seconds):
    each hit is a short noise burst (decay 1-8 ms) in one of four bands, plus faint tile
    resonances around 1.5-3.5 kHz; a far,
    dense rain hiss; 2-4 eave drip points each dripping every 0.4-1.5 s: a click and often a
    Minnaert bubble 'plink' (a sine rising from 1-3 kHz, decaying in ~20 ms).
    """
    sr = ctx.sample_rate_hz
    duration_s = n_samples / sr
    out = np.zeros(n_samples)
    intensity = np.exp(0.35 * dsp.smooth_random(n_samples, rng, 1.0 / 15.0, sr))
    rate_per_s = rng.uniform(150, 400) * intensity
    for lo_hz, hi_hz, decay_s, gain in ((250, 1200, 0.008, 1.4), (1200, 3500, 0.004, 1.0),
                                        (3500, 8000, 0.002, 0.9), (8000, 14000, 0.001, 1.1)):
        train = _drop_train(n_samples, rng, sr, rate_per_s / 2, amp_sigma=0.8)
        kernel_len = int(decay_s * 6 * sr)
        kernel = rng.standard_normal(kernel_len) * np.exp(-np.arange(kernel_len) / (decay_s * sr))
        hits = np.convolve(train, kernel)[:n_samples]
        out += gain * dsp.bandpass(hits, lo_hz, hi_hz, sr, order=2)
    tiles = _drop_train(n_samples, rng, sr, rate_per_s / 6, amp_sigma=0.6)
    out += 0.05 * dsp.modal_ring(tiles, rng.uniform(1500, 3500, 4), [0.02] * 4, [1.0] * 4, sr)
    hiss = dsp.band_noise(n_samples, rng, 0.7, 400.0, None, sr)
    out += 0.25 * hiss * intensity
    # Eave drips.
    for _ in range(int(rng.integers(2, 5))):
        period_s = rng.uniform(0.4, 1.5)
        # Eave drips fall close by (1-3 m): they stand out of the rain.
        gain = rng.uniform(1.0, 2.5)
        t = rng.uniform(0, period_s)
        f0_hz = rng.uniform(1000, 3000)
        while t < duration_s:
            n = int(0.06 * sr)
            u = np.arange(n) / sr
            drip = np.zeros(n)
            # Impact: a 2 ms noise burst decaying with a 0.4 ms time constant.
            impact_n = int(0.002 * sr)
            drip[:impact_n] = rng.standard_normal(impact_n) * 0.3 * np.exp(-np.arange(impact_n) / (0.0004 * sr))
            if rng.random() < 0.7:
                f = f0_hz * rng.uniform(0.9, 1.1) * (1 + 0.3 * np.minimum(u / 0.02, 1))
                drip += np.sin(dsp.sweep_phase(f, sr)) * np.exp(-u / 0.015)
            dsp.add_at(out, gain * drip, int(t * sr))
            t += period_s * rng.uniform(0.8, 1.2)
    return dsp.lowpass(out, 14000.0, sr, order=2)


# --------------------------------------------------------------------------------------------
# footsteps
# --------------------------------------------------------------------------------------------

def _step(rng, sr, hard_soles: bool):
    """One step on stone: heel thump (body resonance 90-180 Hz) + sole click + toe + grit."""
    n = int(0.25 * sr)
    u = np.arange(n) / sr
    thump_hz = rng.uniform(90, 180)
    step = 0.6 * np.sin(2 * np.pi * thump_hz * u) * np.exp(-u / rng.uniform(0.015, 0.03))
    click_n = int(0.012 * sr)
    click = rng.standard_normal(click_n) * np.exp(-np.arange(click_n) / (rng.uniform(0.001, 0.003) * sr))
    click_gain = 1.0 if hard_soles else 0.3
    dsp.add_at(step, click_gain * dsp.highpass(click, 800.0, sr, order=2), 0)
    toe_at = int(rng.uniform(0.07, 0.12) * sr)
    dsp.add_at(step, 0.25 * click_gain * dsp.highpass(click, 1200.0, sr, order=2), toe_at)
    grit_n = int(rng.uniform(0.03, 0.07) * sr)
    grit = dsp.bandpass(rng.standard_normal(grit_n), 2000, 6000, sr, order=2) * dsp.hann_env(grit_n)
    dsp.add_at(step, (0.08 if hard_soles else 0.15) * grit, toe_at - grit_n // 3)
    return step * rng.lognormal(0.0, 0.15)


def render_footsteps(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """People walking past on the lane's stone paving (1-2 steps per second each), some in
    hard soles, some in cloth shoes, heard with the courtyard's stone-wall reverb."""
    sr = ctx.sample_rate_hz
    duration_s = n_samples / sr
    out = np.zeros(n_samples)
    for t_closest_s in dsp.poisson_times(1.0 / 10.0, duration_s + 5.0, rng, first_within_s=1.0):
        speed = rng.uniform(1.0, 1.6)
        interval_s = rng.uniform(0.45, 0.65)
        lateral = rng.uniform(0.8, 6.0)
        hard = bool(rng.random() < 0.6)
        walk_s = rng.uniform(6.0, 14.0)
        lo_s = max(0.0, t_closest_s - walk_s / 2)
        hi_s = min(duration_s, t_closest_s + walk_s / 2)
        if hi_s <= lo_s:
            continue
        m = int((hi_s - lo_s) * sr) + sr
        steps = np.zeros(m)
        t = rng.uniform(0, interval_s)
        while t < hi_s - lo_s:
            dsp.add_at(steps, _step(rng, sr, hard), int(t * sr))
            t += interval_s * rng.normal(1.0, 0.03)
        distance = _pass_by_distance(m, sr, t_closest_s - lo_s, speed, lateral)
        dsp.add_at(out, dsp.propagate(steps, distance, sr), int(lo_s * sr))
    out = dsp.reverb(out, dsp.courtyard_ir(rng, sr, rt60_s=0.7), wet_gain=0.4)
    return with_bed(out, aircon_passage_bed(n_samples, rng, sr))


# --------------------------------------------------------------------------------------------
# chatter
# --------------------------------------------------------------------------------------------

def render_chatter(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """Distant neighbours talking: 6-10 voices, each speaking with short pauses, heard over walls.

    Blurring (no words should survive): voices are low-passed at 1-1.8 kHz (walls and distance
    take the consonants), smeared by a long, wet reverb (rt60 1.6 s) and levelled slowly as
    conversations start and stop.
    """
    sr = ctx.sample_rate_hz
    duration_s = n_samples / sr
    clips = load_voice_clips(ctx.voice_dir, "chatter", sr)
    out = np.zeros(n_samples)
    n_voices = int(rng.integers(6, 11))
    for v in range(n_voices):
        pitch = rng.uniform(0.8, 1.2)
        gain = rng.uniform(0.3, 1.0)
        # The first voice is already mid-sentence when the recording starts (no silent opening).
        t = rng.uniform(-1.0, 0.0) if v == 0 else rng.uniform(0.0, 4.0)
        while t < duration_s:
            clip = dsp.resample_by(clips[int(rng.integers(len(clips)))], pitch * rng.uniform(0.95, 1.05))
            dsp.add_at(out, gain * clip, int(t * sr))
            t += clip.size / sr + rng.exponential(1.2)
    out = dsp.lowpass(out, rng.uniform(1000, 1800), sr, order=4)
    out = dsp.reverb(out, dsp.courtyard_ir(rng, sr, rt60_s=1.6), wet_gain=1.2)
    groups = np.clip(1.0 + 0.5 * dsp.smooth_random(n_samples, rng, 0.1, sr), 0.2, None)
    return out * groups


# --------------------------------------------------------------------------------------------
# grinder: the knife-grinder's iron plates and call
# --------------------------------------------------------------------------------------------

# Free-free bar (Euler-Bernoulli): mode frequencies relative to the first, (beta_n L)^2 ratios.
_BAR_MODE_RATIOS = (1.0, 2.756, 5.404, 8.933)
_BAR_MODE_GAINS = (1.0, 0.6, 0.35, 0.2)


def _clapper(rng, sr):
    """The grinder's 'jing gui': a string of 5 iron plates shaken so they clash 'hua-la-la':
    each plate a free-free bar (fundamental 700-1900 Hz), 6-14 hits over 0.2-0.5 s."""
    n = int(2.5 * sr)
    plates = np.sort(rng.uniform(700, 1900, 5))
    out = np.zeros(n)
    n_hits = int(rng.integers(6, 15))
    spread_s = rng.uniform(0.2, 0.5)
    for f0 in plates:
        exc = np.zeros(n)
        for t in np.sort(rng.uniform(0, spread_s, n_hits // 2)):
            exc[int(t * sr)] += rng.uniform(0.3, 1.0)
        out += dsp.modal_ring(exc, [f0 * r for r in _BAR_MODE_RATIOS], [0.9 / r ** 0.5 for r in _BAR_MODE_RATIOS],
                              _BAR_MODE_GAINS, sr)
    return out


def render_grinder(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """The knife-grinder walking by: clashes of iron plates in groups of 2-3, his call
    ('mo2 jian3 zi5 lai2, qiang1 cai4 dao1') every so often, and now and then a blade
    drawn across the whetstone (noise strokes 2-6 kHz, ~0.8 s apart)."""
    sr = ctx.sample_rate_hz
    duration_s = n_samples / sr
    calls = [shape_call(c, rng, sr, hold_s=(0.6, 1.2)) for c in load_voice_clips(ctx.voice_dir, "grinder", sr)]
    dry = np.zeros(n_samples)
    t = rng.uniform(0.0, 0.4)
    while t < duration_s:
        for _ in range(int(rng.integers(2, 4))):
            clap = _clapper(rng, sr)
            dsp.add_at(dry, 0.7 * clap / (np.max(np.abs(clap)) + 1e-9), int(t * sr))
            t += rng.uniform(0.5, 0.9)
        t += rng.uniform(0.5, 1.5)
        roll = rng.random()
        if roll < 0.45:
            call = calls[int(rng.integers(len(calls)))]
            dsp.add_at(dry, 0.9 * call / (np.max(np.abs(call)) + 1e-9), int(t * sr))
            t += call.size / sr + rng.uniform(1.0, 4.0)
        elif roll < 0.7:
            strokes = int(rng.integers(3, 9))
            for _ in range(strokes):
                n = int(rng.uniform(0.3, 0.5) * sr)
                scrape = dsp.bandpass(rng.standard_normal(n), 2000, 6000, sr, order=2)
                scrape *= dsp.hann_env(n) * (1 + 0.5 * np.sin(2 * np.pi * 35 * np.arange(n) / sr))
                dsp.add_at(dry, 0.15 * scrape, int(t * sr))
                t += rng.uniform(0.7, 0.9)
            t += rng.uniform(1.0, 3.0)
        else:
            t += rng.uniform(2.0, 6.0)
    # He pushes his grinding bench slowly (0.5-0.9 m/s), keeping closer to the doors than vendors.
    heard = _heard_walking_by(dry, rng, sr, rng.uniform(0.5, 0.9), rng.uniform(3.0, 10.0), rt60_s=1.0, wet_gain=0.5)
    return with_bed(heard, road_at_lane_mouth_bed(n_samples, rng, sr))


# --------------------------------------------------------------------------------------------
# courtyard: the quiet bed
# --------------------------------------------------------------------------------------------

# Mains frequency in China (GB/T 156): transformer hum sits at 100 Hz and its harmonics.
_MAINS_HZ = 50.0


def render_courtyard(n_samples: int, rng: np.random.Generator, ctx: RecipeContext) -> np.ndarray:
    """The quiet siheyuan: distant city rumble (traffic beyond the ring road, under 300 Hz),
    a faint transformer hum (100, 200, 300 Hz), and leaves rustling in light air."""
    sr = ctx.sample_rate_hz
    t_s = _times(n_samples, sr)
    # Levels relative to the rumble (unit RMS): hum -30 dB, rustle about -14 dB on average.
    swell = np.exp(0.3 * dsp.smooth_random(n_samples, rng, 1.0 / 12.0, sr))
    rumble = dsp.band_noise(n_samples, rng, 1.8, 30.0, 300.0, sr)
    rumble = rumble / np.sqrt(np.mean(rumble ** 2)) * swell
    hum = sum(g * np.sin(2 * np.pi * k * 2 * _MAINS_HZ * t_s + rng.uniform(0, 6.3))
              for k, g in ((1, 0.03), (2, 0.012), (3, 0.006)))
    # Light air only: the breeze factor stays within [0, 1.44].
    breeze = np.clip(0.3 + 0.5 * dsp.smooth_random(n_samples, rng, 0.3, sr), 0.0, 1.2) ** 2
    rustle = dsp.bandpass(rng.standard_normal(n_samples), 1500.0, 8000.0, sr, order=2)
    rustle = rustle / np.sqrt(np.mean(rustle ** 2))  # unit RMS before the breeze shapes it
    rustle *= (0.5 + 0.5 * np.abs(dsp.smooth_random(n_samples, rng, 12.0, sr))) * breeze
    return rumble + hum + 0.2 * rustle


RECIPES = {
    "pigeons": render_pigeons,
    "bells": render_bells,
    "vendors": render_vendors,
    "birds": render_birds,
    "insects": render_insects,
    "wind": render_wind,
    "rain": render_rain,
    "footsteps": render_footsteps,
    "chatter": render_chatter,
    "grinder": render_grinder,
    "courtyard": render_courtyard,
}

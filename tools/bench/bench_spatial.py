"""Spatial DSP figures (issue 11): interaural differences by bearing, speaker levels, sweep
continuity, room decay times against their designs, and the per-block cost of the spatializer
and the reverb. Prints figures; asserts nothing (tests/test_spatial_dsp.py asserts the physics).

    .venv/bin/python tools/bench/bench_spatial.py
"""

from __future__ import annotations

import math
import time

import numpy as np

from memoire.audio.spatial import (LAYOUTS, RoomParams, RoomReverb, Spatializer, decay_time_s, room_ir, room_irs,
                                   sabine_rt60_s)
from memoire.audio.spatial.measure import ild_db, itd_s, max_jump

rate, block = 44100, 2048
bearings_deg = (0, 45, -45, 90, -90, 135, 180)


def render(sp, blocks, az_deg, source, lp_hz=rate / 2):
    out = np.zeros((block, sp.channels), np.float32)
    ys = []
    for b in range(blocks):
        a = az_deg(b) if callable(az_deg) else az_deg
        sp.process(source[None, b * block:(b + 1) * block], np.array([math.radians(a)]), np.ones(1), np.array([lp_hz]), out)
        ys.append(out.copy())
    return np.concatenate(ys)


def main() -> None:
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(12 * block)).astype(np.float32)
    sp = Spatializer("binaural", rate, 17, block)
    print(f"HRTF {sp.hrtf.source}: {sp.hrtf.sample_rate_hz} Hz, {sp.hrtf.fir_taps} taps + delays up to "
          f"{sp.hrtf.max_delay}, {sum(r.count for r in sp.hrtf.rings)} directions; horizontal power {sp.hrtf_power_db:+.2f} dB "
          "(scaled to 0)")
    print("binaural, white noise at a fixed bearing (positive = right):")
    print("  bearing  ILD broadband  ILD 1-4 kHz  ITD (<1.5 kHz)")
    for deg in bearings_deg:
        sp.reset_slot(0)
        y = render(sp, 12, deg, noise)[2 * block:]
        print(f"  {deg:+5d}    {ild_db(y[:, 0], y[:, 1], rate, None):+6.1f} dB     {ild_db(y[:, 0], y[:, 1], rate):+6.1f} dB"
              f"     {itd_s(y[:, 0], y[:, 1], rate) * 1e3:+.3f} ms")
    for name in ("stereo", "quad", "5.1", "ring8"):
        s2 = Spatializer(name, rate, 17, block)
        print(f"{name} ({', '.join('LFE' if a is None else f'{a:+.0f}' for a in LAYOUTS[name].speakers_deg)} deg): "
              "channel RMS, dB re the source")
        for deg in bearings_deg:
            s2.reset_slot(0)
            y = render(s2, 4, deg, noise)[block:]
            rms = np.sqrt((y.astype(np.float64) ** 2).mean(axis=0)) / 0.1
            cells = " ".join(f"{20 * math.log10(r):6.1f}" if r > 1e-6 else "   -  " for r in rms)
            print(f"  {deg:+5d}: {cells}   loudest ch {int(np.argmax(rms)) + 1}")
    t = np.arange(24 * block) / rate
    tone = (0.5 * np.sin(2 * math.pi * 300 * t)).astype(np.float32)
    print("continuity, a 300 Hz tone (amplitude 0.5; its own largest step 0.0107):")
    for name in ("binaural", "stereo", "ring8"):
        s3 = Spatializer(name, rate, 17, block)
        still = max(max_jump(render(s3, 3, deg, tone)[block:]) for deg in range(-180, 180, 15) if s3.reset_slot(0) is None)
        s3.reset_slot(0)
        y = render(s3, 24, lambda b: 360.0 * b * block / rate, tone)
        print(f"  {name:8s}: largest step still {still:.4f}, turning once a second {max_jump(y[block:]):.4f}")
    print("rooms (decay measured by Schroeder T20 from the IR, against Sabine's design):")
    rooms = [("lane 40x4x6, open top, a=0.03", dict(size_m=(40, 4, 6), absorption=0.03, open_top=True)),
             ("courtyard 15x15x6, open top, a=0.03", dict(size_m=(15, 15, 6), absorption=0.03, open_top=True)),
             ("small courtyard 8x8x5, open top, a=0.05", dict(size_m=(8, 8, 5), absorption=0.05, open_top=True)),
             ("hall 20x12x8, closed, rt60 1.8 s", dict(size_m=(20, 12, 8), rt60_s=1.8)),
             ("room 6x5x3, closed, rt60 0.5 s", dict(size_m=(6, 5, 3), rt60_s=0.5))]
    for label, kw in rooms:
        t0 = time.perf_counter()
        ir = room_ir(sample_rate_hz=rate, seed=1, **kw)
        dt = time.perf_counter() - t0
        design = kw.get("rt60_s") or sabine_rt60_s(kw["size_m"], kw["absorption"], kw.get("open_top", False))
        got = decay_time_s(ir, rate)
        print(f"  {label:42s} design {design:5.2f} s  measured {got:5.2f} s ({(got / design - 1) * 100:+.0f}%)  "
              f"IR {len(ir) / rate:.2f} s, computed in {dt * 1e3:.0f} ms")
    print("cost per 2048-frame block (46.4 ms), median of 40 after 5 warm-up, this machine under load:")
    for name in ("binaural", "stereo", "ring8"):
        for s in (1, 8, 16):
            s4 = Spatializer(name, rate, 17, block)
            out = np.zeros((block, s4.channels), np.float32)
            src = (0.1 * rng.standard_normal((s, block))).astype(np.float32)
            az = np.linspace(-3, 3, s)
            lp = np.linspace(800, 20000, s)
            times = []
            for k in range(45):
                t0 = time.perf_counter()
                s4.process(src, az + 0.02 * k, np.full(s, 0.5), lp * (1 + 0.01 * (k % 3)), out)
                times.append(time.perf_counter() - t0)
            print(f"  Spatializer {name:8s} {s:2d} sources, low-pass closed: {np.median(times[5:]) * 1e3:5.2f} ms")
    irs = room_irs([RoomParams((40, 4, 6), absorption=0.03, open_top=True), RoomParams((15, 15, 6), absorption=0.03, open_top=True, seed=1),
                    RoomParams((8, 8, 5), absorption=0.05, open_top=True, seed=2), RoomParams((20, 12, 8), rt60_s=1.8, seed=3)], rate)
    for ch in (2, 8):
        rv = RoomReverb(irs, rate, block, ch)
        sends = (0.1 * rng.standard_normal((len(irs), block))).astype(np.float32)
        out = np.zeros((block, ch), np.float32)
        times = []
        for k in range(45):
            t0 = time.perf_counter()
            rv.process(sends, out)
            times.append(time.perf_counter() - t0)
        print(f"  RoomReverb {len(irs)} rooms (up to {rv.partitions} partitions), {ch} channels: {np.median(times[5:]) * 1e3:5.2f} ms")


if __name__ == "__main__":
    main()

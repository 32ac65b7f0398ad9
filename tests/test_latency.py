"""Motion-to-sound latency machinery, behaviour only (the figures: tools/bench/latency.py and
docs/sound.md "Latency"): the just-in-time queue's sizing, the meter, the priority fallback,
and the synth decoding for the pose its source hands it just before each block."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from memoire.audio import priority
from memoire.audio.ring import Ring
from memoire.audio.synth import (LatencyMeter, LeadSizer, Listener, SynthCore, SynthSettings, SynthThread,
                                 histogram_percentile, latency_bins)

RATE, HOP, BLOCK = 44100, 2048, 256


def test_lead_never_drops_below_one_device_block():
    sizer = LeadSizer(RATE, 12 * HOP, HOP)
    t = 100.0
    assert sizer.lead(BLOCK, t) > BLOCK  # before any measurement: a start margin above the block
    for i in range(200):  # the block always landed with room to spare (or even above the lead)
        sizer.add(-500 if i % 2 else 0, t + i * 0.046)
    t += 200 * 0.046
    assert sizer.lead(BLOCK, t) >= BLOCK + 0.002 * RATE  # the minimum margin stays
    for block in (16, 256, 512, 4096):
        assert sizer.lead(block, t) >= block
    tiny = LeadSizer(RATE, HOP + 10, HOP)  # a ring with hardly room for one hop: still one block
    assert tiny.lead(BLOCK, t) >= BLOCK


def test_lead_follows_the_measured_jitter_and_forgets_it():
    sizer = LeadSizer(RATE, 12 * HOP, HOP)
    t = 0.0
    for i in range(100):
        sizer.add(100, t)
        t += 0.046
    calm = sizer.lead(BLOCK, t)
    for i in range(10):  # slow decodes: the consumer took 1200 frames before the block landed
        sizer.add(1200, t)
        t += 0.046
    assert sizer.lead(BLOCK, t) >= BLOCK + 1200 > calm
    for i in range(200):  # calm again for longer than the window
        sizer.add(100, t)
        t += 0.046
    assert sizer.lead(BLOCK, t) == calm


def test_an_underrun_raises_the_lead_for_a_while():
    sizer = LeadSizer(RATE, 12 * HOP, HOP)
    t = 0.0
    for i in range(100):
        sizer.add(100, t)
        t += 0.046
    before = sizer.lead(BLOCK, t)
    sizer.underrun(BLOCK, t)
    assert sizer.lead(BLOCK, t + 1.0) >= before + BLOCK - 200
    for i in range(300):
        sizer.add(100, t)
        t += 0.046
    assert sizer.lead(BLOCK, t) == before  # held 10 s, then back


def test_meter_times_a_sample_by_the_read_that_took_it():
    meter = LatencyMeter()
    meter.poll(1, 10.0, 0.0)  # playback started at 10.0
    meter.mark(1000, 10.5)  # pose sent at 10.5, its first sample at index 1000
    # the consumer read [1024, 1280) at 10.52; the meter looks only at 10.60
    meter.poll(1280, 10.60, 0.012, (1024, 1280, 10.52), RATE)
    assert meter.count == 1
    expected = 10.52 - 24 / RATE - 10.5 + 0.012
    assert meter.mean_s == pytest.approx(expected)
    meter.mark(5000, 10.6)
    meter.poll(5000, 10.7, 0.0, (4744, 5000, 10.69), RATE)
    assert meter.count == 1  # index 5000 itself not taken yet
    meter.poll(5256, 10.8, 0.0, (5000, 5256, 10.75), RATE)
    assert meter.samples_s[-1] == pytest.approx(0.15)


def test_p95_from_the_histogram():
    meter = LatencyMeter()
    meter.poll(1, 0.0, 0.0)
    for i in range(100):
        meter.mark(i + 1, 1.0)
        meter.poll(i + 2, 1.0 + 0.0105 + i * 0.001, 0.0)  # 10.5 .. 109.5 ms
    assert meter.p95_s == pytest.approx(0.105, abs=0.0015)
    assert histogram_percentile(np.zeros(latency_bins), 95) is None
    hist = np.zeros(latency_bins)
    hist[latency_bins - 1] = 3  # beyond a second: the last bin
    assert histogram_percentile(hist, 95) == pytest.approx(latency_bins / 1000)


def test_priority_fallback_never_raises(monkeypatch):
    def refuse(*a, **k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    monkeypatch.setattr(os, "setpriority", refuse)
    assert priority.raise_priority() == "normal"
    priority.lower_priority()  # refused too: no exception
    monkeypatch.delattr(os, "sched_setscheduler")
    assert priority.raise_priority() == "normal"


def test_priority_falls_back_to_nice(monkeypatch):
    calls = []

    def refuse(*a, **k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    monkeypatch.setattr(os, "setpriority", lambda which, who, prio: calls.append((who, prio)))
    assert priority.raise_priority(1234) == f"nice {priority.fallback_nice}"
    assert calls == [(1234, priority.fallback_nice)]


def test_priority_on_this_machine_says_what_it_got():
    got = []
    t = threading.Thread(target=lambda: got.append(priority.raise_priority()))  # a throwaway thread
    t.start()
    t.join()
    assert got[0] == "normal" or got[0].startswith(("real-time", "nice"))


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_jit_synth_decodes_for_the_pose_its_source_gives(default_level_path, tiny_model_path):
    """The just-in-time thread asks its source for the newest pose just before each block and
    marks it; a consumer taking the ring at real-time pace never finds it short."""
    from memoire.audio.model import NeuralDecoder, inspect_model
    from memoire.world.field import LatentField, build_zone_blend
    from memoire.world.level import load_level

    level = load_level(default_level_path)
    info = inspect_model(tiny_model_path)
    field_ = LatentField(build_zone_blend(level, info))
    core = SynthCore(lambda: NeuralDecoder(tiny_model_path, info), info, field_,
                     SynthSettings(limiter_ceiling=None), Listener(*level.spawn_xy))
    ring = Ring(12 * HOP, 2)
    asked = []
    x0, y0 = level.spawn_xy

    def source():
        n = len(asked)
        asked.append(time.perf_counter())
        return Listener(x0 + 0.01 * n, y0, 0.0, 0, n + 1, time.perf_counter())

    thread = SynthThread(core, ring, target_fill_frames=HOP + BLOCK, just_in_time=True,
                         device_block=lambda: BLOCK, listener_source=source)
    thread.start()
    out = np.zeros((BLOCK, 2), np.float32)
    try:
        t_next = time.perf_counter()
        while not ring.started and time.perf_counter() - t_next < 5.0:
            time.sleep(0.001)
        t_next = time.perf_counter()
        for _ in range(int(1.5 * RATE / BLOCK)):  # 1.5 s at the device's pace
            ring.read_into(out)
            t_next += BLOCK / RATE
            time.sleep(max(0.0, t_next - time.perf_counter()))
    finally:
        thread.stop()
    assert thread.error is None
    assert len(asked) >= 25  # one pose per block (46 ms): 1.5 s of blocks
    assert thread.latency.count >= 20  # every new pose measured
    assert BLOCK <= thread.lead_frames < ring.capacity - HOP
    # the queue held: on a quiet machine no underrun; on a loaded one the lead grows instead
    assert ring.underruns <= 2


def test_the_pose_keeps_the_time_it_moved(default_level_path, tiny_model_path):
    """A pose sent again unchanged (the game sends one every frame) keeps the time of the move:
    the meter counts from the step, not from the latest resend."""
    from memoire.audio.process import _L_MOVED, _L_STAMP, AudioProcess, _ListenerReader
    from memoire.world.level import load_level

    audio = AudioProcess(load_level(default_level_path), tiny_model_path)  # not started: no child
    try:
        a = audio._listener
        audio.set_listener(5.0, 6.0, 0.0)
        moved = a[_L_MOVED]
        time.sleep(0.002)
        audio.set_listener(5.0, 6.0, 0.4)  # turned on the spot: no move
        assert a[_L_MOVED] == moved and a[_L_STAMP] > moved
        reader = _ListenerReader(a)
        got = reader()
        assert got.moved_s == moved and got.stamp_s == a[_L_STAMP]
        assert reader() is None  # nothing new since
        time.sleep(0.002)
        audio.set_listener(5.5, 6.0, 0.4)
        assert a[_L_MOVED] == a[_L_STAMP] > moved
        assert reader().moved_s == a[_L_MOVED]
    finally:
        audio.close()

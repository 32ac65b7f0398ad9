"""Fault survival of the audio side: master gain, device loss and return, synth crash and stall."""

from __future__ import annotations

import time

import numpy as np
import pytest

from test_soak import SMALL_LEVEL


def test_master_gain_ramps_without_steps_and_holds_the_ceiling():
    from memoire.audio.output import MasterGain

    g = MasterGain(gain=1.0, ceiling=0.5, slew_s=0.05)
    rate = 44100
    g.set(0.0)
    out = []
    for _ in range(12):  # 12 x 512 frames = 139 ms: the 50 ms ramp completes
        block = np.full((512, 2), 0.4, np.float32)
        g.apply(block, rate)
        out.append(block[:, 0].copy())
    sig = np.concatenate(out)
    assert sig[0] < 0.4 and sig[-1] == 0.0
    assert np.max(np.abs(np.diff(sig))) < 0.4 / (0.05 * rate) * 1.01  # a ramp, no step
    zero_at = np.argmax(sig == 0.0)
    assert 0.05 - 0.001 < zero_at / rate < 0.05 + 512 / rate  # 50 ms, ending on a block edge
    loud = np.full((512, 2), 3.0, np.float32)
    g.set(1.0)
    g.current = 1.0
    g.apply(loud, rate)
    assert np.max(np.abs(loud)) == pytest.approx(0.5)  # the volume limit holds


class FakeOut:
    def __init__(self, ring, rate, gain, name):
        self.ring, self.gain, self.name = ring, gain, name
        self.latency_s = 0.0
        self.frames_played = 0
        self.status_flags = 0
        self.failed = None
        self.closed = False

    def pull(self, n):
        buf = np.zeros((n, 2), np.float32)
        self.ring.read_into(buf)
        self.frames_played += n
        return buf

    def check(self):
        return self.failed

    def close(self):
        self.closed = True


@pytest.fixture
def lane(tmp_path):
    from memoire.world.level import load_level

    p = tmp_path / "lane.toml"
    p.write_text(SMALL_LEVEL)
    return load_level(p)


def test_device_loss_falls_back_and_reopens_with_backoff(lane, tiny_model_path):
    from memoire.audio.supervisor import SupervisedEngine

    now = {"t": 0.0}
    present = {"on": True}
    opened = []

    def device(ring, rate, gain):
        if not present["on"]:
            raise OSError("no such device")
        opened.append(FakeOut(ring, rate, gain, "fake device"))
        return opened[-1]

    eng = SupervisedEngine(lane, tiny_model_path, gain=1.0, open_device=device,
                           open_fallback=lambda r, s, g: FakeOut(r, s, g, "fallback"), clock=lambda: now["t"])
    eng.start()
    try:
        eng.poll()
        assert eng.local.output is opened[0]
        present["on"] = False
        opened[0].failed = "unplugged"
        eng.poll()
        assert opened[0].closed and eng.local.output.name == "fallback"
        msgs = eng.poll_messages()
        assert any("sound lost on fake device: unplugged" in m for m in msgs), msgs
        tries = []
        for t in np.arange(0.0, 20.0, 0.25):  # the device stays away for 20 s
            now["t"] = float(t)
            before = eng.supervisor._device_fail.step
            eng.poll()
            if eng.supervisor._device_fail.step != before:
                tries.append(float(t))
        assert tries[:3] == [1.0, 3.0, 7.0]  # waits of 1, 2, 4 s between tries
        present["on"] = True
        now["t"] = 60.0
        eng.poll()
        assert eng.local.output is opened[-1] and len(opened) == 2
        msgs = eng.poll_messages()
        assert any("sound is back on fake device" in m for m in msgs), msgs
        # the synth kept feeding the ring throughout: the new device plays sound
        time.sleep(0.1)
        assert np.abs(opened[-1].pull(1024)).max() > 0
        assert eng.summary()["device_losses"] == 1
    finally:
        eng.close()


@pytest.mark.parametrize("fault", ["crash", "stall"])
def test_synth_crash_or_stall_is_restarted_with_a_fade_in(lane, tiny_model_path, monkeypatch, fault):
    import memoire.audio.supervisor as sup
    from memoire.audio.supervisor import SupervisedEngine

    monkeypatch.setattr(sup, "stall_s", 0.3)
    now = {"t": 0.0}
    outs = []

    def device(ring, rate, gain):
        outs.append(FakeOut(ring, rate, gain, "fake device"))
        return outs[-1]

    eng = SupervisedEngine(lane, tiny_model_path, gain=1.0, open_device=device, open_fallback=device,
                           clock=lambda: now["t"])
    eng.start()
    try:
        eng.poll()
        old_thread, old_ring = eng.local.thread, eng.local.ring
        core = eng.local.core
        original = core.render

        def broken(listener):
            core.render = original
            if fault == "crash":
                raise RuntimeError("decoder exploded")
            time.sleep(1.0)  # stuck in a decode
            return original(listener)

        core.render = broken
        deadline = time.time() + 5
        while eng.supervisor.stats.synth_restarts == 0 and time.time() < deadline:
            outs[-1].pull(512)
            old_thread.wake()
            time.sleep(0.02)
            eng.poll()
        assert eng.supervisor.stats.synth_restarts == 1
        assert eng.local.thread is not old_thread and eng.local.ring is not old_ring
        assert outs[-1].ring is eng.local.ring  # the output reads the new ring
        assert eng.supervisor.gain.target == 0.0  # silent at the restart, then fading in
        for k in range(1, 6):
            now["t"] = 0.1 * k
            eng.poll()
            assert eng.supervisor.gain.target == pytest.approx(min(1.0, 0.1 * k / sup.fade_in_s))
        time.sleep(0.2)
        assert np.abs(outs[-1].pull(2048)).max() > 0  # sound again
        old_thread._thread.join(timeout=2.0)
        assert not old_thread.alive  # the stalled one ended when it woke
        assert any(("stalled" if fault == "stall" else "decoder exploded") in m for m in eng.poll_messages())
    finally:
        eng.close()

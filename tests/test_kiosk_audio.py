"""Fault survival of the audio side, through the audio process that ships (memoire/audio/process.py):
the gain stage, device loss and return, synth crash and stall. The faults are injected with the
child's fault commands; the device and clock are the simulated ones (memoire/audio/simulated.py)
so the backoff and the fade-in can be timed exactly."""

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
    loud = MasterGain(gain=1.0, ceiling=0.5)
    block = np.full((512, 2), 3.0, np.float32)
    loud.apply(block, rate)
    assert np.max(np.abs(block)) == pytest.approx(0.5)  # the volume limit holds


def test_gain_stage_limits_then_lets_go_and_silence_is_the_consumers_write():
    from memoire.audio.output import MasterGain

    rate = 44100
    g = MasterGain(gain=4.0, ceiling=0.5)  # a +12 dB volume on a signal at 0.25
    t = np.arange(512 * 40) / rate
    sig = (0.25 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    out = []
    for k in range(40):
        block = np.repeat(sig[k * 512:(k + 1) * 512, None], 2, axis=1)
        g.apply(block, rate)
        out.append(block[:, 0])
    y = np.concatenate(out)
    assert np.max(np.abs(y)) <= 0.5 + 1e-6
    assert g.limit < 0.6 and g.min_limit == pytest.approx(0.5, abs=0.01)  # the limiter, not the clip
    # silence(): the controlling thread asks, the consumer drops its own current value
    g.silence()
    assert g.current == pytest.approx(4.0)  # untouched by the controlling thread
    block = np.ones((512, 2), np.float32)
    g.apply(block, rate)
    assert g.current == 0.0 and np.all(block == 0.0)


@pytest.fixture
def lane(tmp_path):
    from memoire.world.level import load_level

    p = tmp_path / "lane.toml"
    p.write_text(SMALL_LEVEL)
    return load_level(p)


def _until(cond, audio, timeout_s: float = 10.0, step=None) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if step is not None:
            step()
        audio.poll_events_seen.extend(audio.poll_events())
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def simulated(lane, tiny_model_path):
    from memoire.audio.process import AudioProcess

    made = []

    def make(**kw):
        audio = AudioProcess(lane, tiny_model_path, simulated=True, **kw)
        audio.poll_events_seen = []
        made.append(audio)
        audio.start()
        assert audio.stats().alive
        return audio

    yield make
    for audio in made:
        audio.close()


def _texts(audio) -> str:
    audio.poll_events_seen.extend(audio.poll_events())
    return " | ".join(f"{e.kind}: {e.text}" for e in audio.poll_events_seen)


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_device_loss_falls_back_and_reopens_with_backoff(simulated):
    audio = simulated()
    audio.simulate(0.0, 0.2)
    assert _until(lambda: audio.stats().output == "simulated device", audio)
    audio.inject_fault("device_loss")  # unplugged: the output fails, opening raises
    audio.simulate(0.0, 0.0)
    assert audio.stats().device_losses == 1
    assert _until(lambda: audio.stats().output == "silent clock (simulated)", audio)
    assert "fault: sound lost on simulated device: unplugged (simulated)" in _texts(audio)
    tries = []
    for t in np.arange(0.25, 20.0, 0.25):  # the device stays away for 20 s
        before = audio.stats().device_attempts
        audio.simulate(float(t), 0.0)
        if audio.stats().device_attempts != before:
            tries.append(float(t))
    assert tries[:3] == [1.0, 3.0, 7.0]  # waits of 1, 2, 4 s between tries
    audio.inject_fault("device_back")
    audio.simulate(60.0, 0.0)
    s = audio.stats()
    assert s.device_losses == 1 and s.device_reopens == 2  # the first open counts
    assert _until(lambda: audio.stats().output == "simulated device", audio)
    assert "recovered: sound is back on simulated device" in _texts(audio)
    # the synth kept feeding the ring throughout: the new device plays sound
    frames, sum_sq = audio.simulate(60.1, 0.1)
    assert frames >= 4096 and sum_sq > 0


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
@pytest.mark.parametrize("fault", ["crash", "stall"])
def test_synth_crash_or_stall_is_restarted_with_a_fade_in(simulated, fault):
    from memoire.audio.supervisor import fade_in_s

    audio = simulated(stall_s=0.3)
    audio.simulate(0.0, 0.2)
    assert audio.stats().gain == pytest.approx(1.0)
    # let the synth top the queue up again (it writes sub-blocks of 512 frames), so that the pull
    # below finds sound queued while the synth meets the fault, as a device would
    time.sleep(0.5)
    if fault == "crash":
        audio.inject_fault("synth_crash")
    else:
        audio.inject_fault("synth_stall", 3.0)  # stuck in a decode for 3 s, then it would go on
    audio.simulate(0.0, 0.05)  # the synth renders again (and meets the fault)
    assert _until(lambda: audio.stats().synth_restarts == 1, audio, step=lambda: audio.simulate(0.0, 0.0))
    assert audio.stats().gain == 0.0  # silent at the restart, then fading in
    for k in range(1, 6):
        audio.simulate(0.1 * k, 0.0)
        assert audio.stats().gain == pytest.approx(min(1.0, 0.1 * k / fade_in_s))
    frames, sum_sq = audio.simulate(0.6, 0.2)
    assert frames >= 8192 and sum_sq > 0  # sound again
    texts = _texts(audio)
    assert ("stalled" if fault == "stall" else "injected synth fault") in texts, texts
    assert "restart: synth restarted (1 so far)" in texts


@pytest.mark.slow
def test_counts_survive_a_synth_restart_and_a_process_restart(lane, tiny_model_path):
    import os
    import signal

    from memoire.audio.process import AudioProcess

    audio = AudioProcess(lane, tiny_model_path, mute=True)  # the real-time silent clock
    seen = []
    audio.start()
    try:
        assert _until(lambda: audio.stats().frames_played > 8192, _Seen(audio, seen))
        audio.inject_fault("synth_stall", 1.0)  # the clock drains the ring meanwhile: underruns
        assert _until(lambda: audio.stats().underruns > 0, _Seen(audio, seen))
        time.sleep(1.0)
        u1 = audio.stats().underruns
        audio.inject_fault("synth_crash")
        assert _until(lambda: audio.stats().synth_restarts == 1, _Seen(audio, seen))
        s = audio.stats()
        assert s.underruns >= u1  # the retired ring's count is kept
        old_pid = audio.pid
        os.kill(old_pid, signal.SIGKILL)
        assert _until(lambda: audio.stats().process_restarts == 1 and audio.stats().heartbeat_s > 0,
                      _Seen(audio, seen), timeout_s=30)
        assert audio.pid != old_pid
        after = audio.stats()
        assert after.underruns >= s.underruns and after.synth_restarts == 1
        assert after.frames_played >= s.frames_played and after.alive
        assert _until(lambda: audio.stats().frames_played > s.frames_played + 8192, _Seen(audio, seen))
        kinds = [e.kind for e in seen]
        assert kinds.count("restart") == 2, seen  # the synth's, then the process's
    finally:
        audio.close()
    final = audio.stats()
    assert not final.alive and final.process_restarts == 1 and final.underruns >= s.underruns


class _Seen:
    """Stands for the audio in ``_until``, keeping every event it polls."""

    def __init__(self, audio, seen):
        self.audio, self.poll_events_seen = audio, seen

    def poll_events(self):
        return self.audio.poll_events()


def test_set_level_from_mix_to_zones_drops_the_terrain(default_level_path, tmp_path, tiny_model_path):
    from memoire.audio.card import read_card
    from memoire.audio.engine import LocalEngine
    from memoire.world.level import load_level

    class Grid:
        def sample(self, xy):
            return np.ones((len(xy), 4), np.float32)

    mix = load_level(default_level_path)
    assert mix.sound.field == "mix" and mix.uses_terrain
    zones_path = tmp_path / "hutong.toml"
    zones_path.write_text(default_level_path.read_text().replace('field = "mix"', 'field = "zones"'))
    zones = load_level(zones_path)
    engine = LocalEngine(mix, tiny_model_path, card=read_card(tiny_model_path), mute=True)
    try:
        engine.set_terrain(Grid())
        assert engine.field.terrain is not None and engine.field.terrain_mix == pytest.approx(mix.sound.terrain_mix)
        engine.set_level(mix)  # a reload that still uses the terrain keeps it
        assert engine.field.terrain is not None
        engine.set_level(zones)
        assert engine.field.terrain is None and engine.field.terrain_mix == 0.0
    finally:
        engine.close()

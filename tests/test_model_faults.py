"""Models that misbehave (tests/bad_models.py): refused clearly at load, refused by `memoire render`
when they fail mid-render, faded out and reported by the audio process when they fail while
playing, given up after a few tries, and warned about when they are slow or not streaming."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_soak import SMALL_LEVEL

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """name -> path of a bad model file, made on first use."""
    import torch

    import bad_models as bm

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("bad-models")
    makers = {
        "signature": bm.WrongSignature, "shape": bm.WrongShape, "nan": lambda: bm.NaNAfter(0),
        "nan_later": lambda: bm.NaNAfter(20), "raise3": lambda: bm.RaiseAt(3),
        "shape_later": lambda: bm.ShapeAfter(12), "nonstreaming": bm.NonStreaming,
        "slow": lambda: bm.Slow(bm.slow_work_for(0.12)),  # ~0.12 s per 46 ms frame: ~0.4x real time
    }
    made: dict[str, Path] = {}

    class Files:
        def __getitem__(self, name: str) -> Path:
            if name not in made:
                made[name] = bm.save(makers[name](), folder / f"{name}.ts")
            return made[name]

    return Files()


@pytest.fixture(scope="module")
def card_cache(tmp_path_factory):
    """One card cache for the module (each bad model is probed once), in the environment so that
    the audio children see it too."""
    folder = tmp_path_factory.mktemp("cache")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder / "memoire" / "cards"
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="module")
def lane_path(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("level") / "lane.toml"
    p.write_text(SMALL_LEVEL)
    return p


def _render(lane_path, model, out, capsys, seconds="2"):
    from memoire.cli import main

    rc = main(["render", str(lane_path), "--tour", "lane", "--out", str(out), "--seconds", seconds,
               "--model", str(model)])
    err = capsys.readouterr().err
    return rc, [line for line in err.splitlines() if line.startswith("memoire:")], err


# -- at load ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, says", [
    ("signature", "decode(z) fails on a latent of shape (1, 4, 8) (decode() is missing value for argument 'pitch'"),
    ("shape", "decode returned shape (1, 2, 100), expected (1, 1, 16384)"),
    ("nan", "decode returned NaN or Inf values for an ordinary latent"),
])
def test_a_broken_decode_is_refused_at_load_with_one_clear_line(name, says, models, lane_path, tmp_path, capsys):
    out = tmp_path / "x.wav"
    rc, lines, err = _render(lane_path, models[name], out, capsys)
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(models[name]) in lines[0] and says in lines[0], lines[0]
    if name != "nan":
        assert "rave export --streaming" in lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_render_command_refuses_a_broken_model_without_a_traceback(models, lane_path, tmp_path):
    """The same through the installed command, as a person runs it (a fresh process: ~3 s)."""
    out = tmp_path / "x.wav"
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "memoire"), "render", str(lane_path), "--tour", "lane",
                        "--out", str(out), "--seconds", "1", "--model", str(models["shape"])],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert "decode returned shape (1, 2, 100), expected (1, 1, 16384)" in r.stderr
    assert not out.exists()


@pytest.mark.slow  # probes the model in subprocesses (~5-10 s)
def test_read_card_carries_the_streaming_check_and_its_cache_is_versioned(models, card_cache, tiny_model_path):
    from memoire.audio.card import card_format, card_to_npz, file_sha256, read_card, streaming_warning
    from memoire.audio.model import inspect_model, streaming_tolerance
    from memoire.world.errors import UserError

    path = models["nonstreaming"]
    card = read_card(path)
    assert not card.streaming and card.streaming_error > 0.1  # the joint is off by the signal itself
    assert (card_cache / f"{file_sha256(path)}-v{card_format}.npz").exists()
    text = streaming_warning(card)
    assert "nonstreaming.ts is not a streaming export" in text and "rave export --streaming" in text
    tiny = read_card(tiny_model_path)
    assert tiny.streaming and tiny.streaming_error < streaming_tolerance / 2 and streaming_warning(tiny) is None
    shipped = ROOT / "assets" / "models" / "hutong.ts"
    if shipped.exists():
        ref = inspect_model(shipped)
        assert ref.streaming and ref.streaming_error < 1e-5
    # a card written in another format under the current name is not used: the model is read again
    stale = card_cache / f"{file_sha256(path)}-v{card_format}.npz"
    import dataclasses

    card_to_npz(dataclasses.replace(card, streaming=True, streaming_error=0.0), stale)
    with np.load(stale) as z:
        arrays = {k: z[k] for k in z.files if k != "card_format"}
    with open(stale, "wb") as f:
        np.savez(f, **arrays)  # the format an older Memoire wrote: no card_format
    again = read_card(path)
    assert not again.streaming
    # the probe refuses what inspect_model refuses, with the same message
    with pytest.raises(UserError) as got:
        read_card(models["shape"])
    with pytest.raises(UserError) as want:
        inspect_model(models["shape"])
    assert str(got.value) == str(want.value)


def test_render_warns_once_about_a_non_streaming_model(models, lane_path, tmp_path, capsys):
    out = tmp_path / "x.wav"
    rc, lines, err = _render(lane_path, models["nonstreaming"], out, capsys, seconds="1")
    assert rc == 0, err
    warnings = [line for line in lines if "not a streaming export" in line]
    assert len(warnings) == 1 and "rave export --streaming" in warnings[0]
    assert out.exists()


# -- memoire render: a model that fails mid-render ----------------------------------------------


@pytest.mark.parametrize("name, says", [
    ("nan_later", "decode returned NaN or Inf values"),
    ("raise3", "decode raised an error (RuntimeError: the decoder's cache overflowed)"),
    ("shape_later", "decode returned shape (1, 1, 1024), expected (1, 1, 2048)"),
])
def test_render_refuses_a_model_that_fails_mid_render_and_writes_nothing(name, says, models, lane_path,
                                                                        tmp_path, capsys):
    out = tmp_path / "x.wav"
    out.write_bytes(b"the previous render")  # atomic: an old file stays as it was
    rc, lines, err = _render(lane_path, models[name], out, capsys)
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert says in lines[0] and name in lines[0] and "no sound file written" in lines[0], lines[0]
    assert out.read_bytes() == b"the previous render"
    assert not list(tmp_path.glob("*.tmp*"))


def test_write_audio_refuses_nan(tmp_path):
    from memoire.offline.render import write_audio
    from memoire.world.errors import UserError

    audio = np.zeros((100, 2), np.float32)
    audio[50, 1] = np.nan
    with pytest.raises(UserError, match="NaN"):
        write_audio(tmp_path / "x.wav", audio, 44100)
    assert not (tmp_path / "x.wav").exists()


# -- the synth: a fault fades out, then silence -----------------------------------------------------


def test_a_fault_mid_play_fades_out_without_a_click_and_nan_never_reaches_the_ring(models, lane_path):
    """The synth thread on a real ring, read as the device would: the model turns NaN after 17
    blocks; the sound ends with a 0.1 s fade, then silence that keeps the ring fed."""
    from memoire.audio.model import NeuralDecoder, inspect_model
    from memoire.audio.ring import Ring
    from memoire.audio.synth import Listener, SynthCore, SynthSettings, SynthThread, fault_fade_s
    from memoire.world.field import LatentField, build_zone_blend
    from memoire.world.level import load_level

    level = load_level(lane_path)
    path = models["nan_later"]
    card = inspect_model(path)
    field = LatentField(build_zone_blend(level, card))
    core = SynthCore(lambda: NeuralDecoder(path, card), card, field, SynthSettings(gain_db=12.0),
                     Listener(6.0, 4.5))  # in the bells zone, +12 dB: loud enough to click if cut
    ring = Ring(12 * 2048, 2)
    thread = SynthThread(core, ring, target_fill_frames=3 * 2048)
    thread.set_listener(Listener(6.0, 4.5))
    thread.start()
    got = []
    block = np.zeros((512, 2), np.float32)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and (thread.fault is None or len(got) < 200):
            if ring.available() >= 512:
                ring.read_into(block)
                got.append(block.copy())
            else:
                thread.wake()
                time.sleep(0.001)
    finally:
        thread.stop()
    assert thread.fault is not None and "nan_later.ts: decode returned NaN or Inf values" in str(thread.fault)
    y = np.concatenate(got)
    assert np.isfinite(y).all()
    end = np.flatnonzero(y[:, 0] != 0.0)[-1] + 1  # the last sound: the end of the fade
    fade_at = end - round(fault_fade_s * 44100)
    jumps = np.abs(np.diff(y[:, 0]))
    assert np.abs(y[:fade_at, 0]).max() > 0.05  # it did play
    # no click at the fault: no sample-to-sample step in the fade larger than the sound's own
    print(f"max jump before the fault {jumps[:fade_at - 1].max():.4f}, in the fade and after "
          f"{jumps[fade_at - 1:].max():.4f}", file=sys.stderr)
    assert jumps[fade_at - 1:].max() <= jumps[:fade_at - 1].max() * 1.01
    assert np.all(y[end:] == 0.0) and len(y) - end > 20 * 512  # then silence, the ring still fed
    assert ring.underruns == 0


# -- the audio process: fault reported, silence, give up --------------------------------------------


@pytest.fixture
def simulated(lane_path, card_cache):
    from memoire.audio.process import AudioProcess
    from memoire.world.level import load_level

    made = []

    def make(model, **kw):
        audio = AudioProcess(load_level(lane_path), model, simulated=True, **kw)
        audio.seen = []
        made.append(audio)
        audio.start()
        assert audio.stats().alive
        return audio

    yield make
    for audio in made:
        audio.close()


def _poll(audio):
    audio.seen.extend(audio.poll_events())
    return audio.seen


@pytest.mark.slow  # starts the audio process for each bad model (~3-5 s)
@pytest.mark.parametrize("name, says", [
    ("nan_later", "decode returned NaN or Inf values"),
    ("raise3", "decode raised an error (RuntimeError: the decoder's cache overflowed)"),
    ("shape_later", "decode returned shape (1, 1, 1024)"),
])
def test_audio_process_reports_the_fault_plays_silence_and_gives_up(name, says, models, simulated):
    from memoire.audio.supervisor import model_fault_limit

    audio = simulated(models[name])
    t = 0.0
    deadline = time.time() + 60
    played = []
    while time.time() < deadline and not any("times in a row" in e.text for e in _poll(audio)):
        t += 0.25
        frames, sum_sq = audio.simulate(t, 0.25)
        played.append((t, frames, sum_sq))
        s = audio.stats()
        assert s.alive and all(np.isfinite(s.latent)) and len(s.latent) == 4
    faults = [e for e in audio.seen if e.kind == "fault"]
    assert len(faults) == 2, audio.seen  # the first failure, then giving up
    assert f"model {name}.ts: {says}" in faults[0].text and "fades out" in faults[0].text, faults[0].text
    assert f"failed {model_fault_limit} times in a row" in faults[1].text and f"{name}.ts" in faults[1].text
    assert not [e for e in audio.seen if e.kind == "restart"]  # the retries are for the log ("retry")
    assert audio.stats().synth_restarts == model_fault_limit - 1
    # given up: what was queued plays out (at most the ring, 0.56 s, and the fade), then silence,
    # the clock still advancing, no more restarts
    before = audio.stats().frames_played
    for k in range(40):
        t += 0.5
        frames, sum_sq = audio.simulate(t, 0.25)
        assert frames >= 0.25 * 44100 - 512 and np.isfinite(sum_sq)
        if k >= 3:
            assert sum_sq == 0.0
    assert audio.stats().frames_played > before + 30 * 11000
    assert audio.stats().synth_restarts == model_fault_limit - 1 and audio.stats().underruns == 0
    assert len([e for e in _poll(audio) if e.kind == "fault"]) == 2


@pytest.mark.slow  # over ~1.5 s: the full suite runs it, the fast lane does not
def test_audio_process_warns_about_a_non_streaming_model_once(models, lane_path, card_cache):
    from memoire.audio.process import AudioProcess
    from memoire.world.level import load_level

    audio = AudioProcess(load_level(lane_path), models["nonstreaming"], simulated=True)
    try:
        events = audio.poll_events()
        assert [e.kind for e in events] == ["warning"]
        assert "not a streaming export" in events[0].text and "rave export --streaming" in events[0].text
        audio.start()
        audio.simulate(0.0, 0.5)
        assert not [e for e in audio.poll_events() if e.kind == "warning"]  # said once
        assert audio.stats().frames_played > 0
    finally:
        audio.close()


@pytest.mark.slow
def test_a_slow_model_is_reported_once(models, lane_path, card_cache):
    """~0.4x real time on the real-time silent clock: said once within a few seconds."""
    from memoire.audio.process import AudioProcess
    from memoire.world.level import load_level

    audio = AudioProcess(load_level(lane_path), models["slow"], mute=True)
    seen = []
    try:
        audio.start()
        t0 = time.time()
        while time.time() - t0 < 15 and not any(e.kind == "warning" for e in seen):
            seen.extend(audio.poll_events())
            time.sleep(0.05)
        detect_s = time.time() - t0
        warnings = [e for e in seen if e.kind == "warning"]
        assert len(warnings) == 1, seen
        text = warnings[0].text
        assert "the model slow.ts runs at 0." in text and "x real time on this machine" in text, text
        assert "--torch-threads" in text
        print(f"slow model reported after {detect_s:.1f} s: {text}", file=sys.stderr)
        t1 = time.time()
        while time.time() - t1 < 4:
            seen.extend(audio.poll_events())
            time.sleep(0.05)
        assert len([e for e in seen if e.kind == "warning"]) == 1
        assert not [e for e in seen if e.kind in ("fault", "restart")], seen
    finally:
        audio.close()


# -- the supervisor's rules, on a stand-in engine ---------------------------------------------------


class _Engine:
    """What AudioSupervisor asks of memoire/audio/engine.py LocalEngine, for its model-fault rules."""

    def __init__(self):
        from memoire.audio.engine import SynthState

        self.SynthState = SynthState
        self.model_path = Path("/models/flaky.ts")
        self.fault = None
        self.replaced = 0
        self.output_gain_target = 1.0
        self.output_frames_played = 0
        self.output_name = "test output"
        self.output_is_fallback = False

    def synth_state(self):
        return self.SynthState(True, None, time.perf_counter(), self.fault, None)

    def replace_synth(self):
        self.replaced += 1
        self.fault = None

    def check_output(self):
        self.output_frames_played += 512  # the output keeps playing
        return None

    def stop_synth(self): pass
    def cut_output(self): pass
    def set_output_gain(self, gain): pass
    def replace_output(self, factory=None): pass


def test_supervisor_retries_a_failed_model_gives_up_and_tries_the_next_one():
    from memoire.audio.faults import ModelFault
    from memoire.audio.supervisor import AudioSupervisor, model_fault_limit, model_ok_after_s

    now = [0.0]
    said = []
    engine = _Engine()
    sup = AudioSupervisor(engine, clock=lambda: now[0], report=lambda kind, text: said.append((kind, text)))

    def run(seconds, fault=None):
        end = now[0] + seconds
        while now[0] < end:
            if fault is not None and engine.fault is None:
                engine.fault = ModelFault(engine.model_path, fault)
            sup.poll()
            now[0] += 0.01

    # one failure, then the restarted copy plays: the row ends, "recovered"
    run(0.05, "decode returned NaN or Inf values")
    assert said[-1][0] == "fault" and "flaky.ts: decode returned NaN" in said[-1][1]
    run(1.1)
    assert engine.replaced == 1
    run(model_ok_after_s)
    assert said[-1] == ("recovered", "the model flaky.ts plays again")
    # failing every time: given up after the limit, said once, then no more restarts
    said.clear()
    run(30.0, "decode raised an error (boom)")
    assert engine.replaced == 1 + model_fault_limit - 1
    assert [k for k, _ in said] == ["fault", "retry", "retry", "retry", "fault"], said
    assert "failed 3 times in a row" in said[-1][1]
    # another model chosen: it is tried at once
    engine.model_path = Path("/models/other.ts")
    run(0.05)
    assert engine.replaced == model_fault_limit + 1

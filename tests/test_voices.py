"""The synth's voices (issue 11): one batched decode, the voice budget, fades at its boundary,
the output layouts through render and the live engine's path."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from memoire.audio.model import BatchDecoder, NeuralDecoder, inspect_model
from memoire.audio.synth import Listener, SynthCore, SynthSettings, offline_listener_sequence
from memoire.world.field import LatentField, build_zone_blend
from memoire.world.level import load_level


@pytest.fixture(scope="module")
def rave_tiny_path(tmp_path_factory):
    """Memoire's own RAVE-style model (tiny channels, the shipped architecture): its decode takes
    a batch, one streaming row per entry; classes named as the default level's anchors."""
    from memoire.rave.export import export_torchscript
    from memoire.rave.model import AutoEncoder
    from rave_tiny import TINY_MODEL
    from tiny_model import CLASSES

    torch.manual_seed(0)
    d = TINY_MODEL.latent_dim
    mean = torch.randn(len(CLASSES), d)
    traj = mean[:, :, None] + 0.5 * torch.randn(len(CLASSES), d, 60)
    path = tmp_path_factory.mktemp("rave") / "tiny_rave.ts"
    export_torchscript(AutoEncoder(TINY_MODEL).eval(), path, list(CLASSES), mean, torch.ones_like(mean), traj)
    return path


def _rows_alone(path, info, z: np.ndarray, calls: int) -> np.ndarray:
    """Each row of z (B, D, frames) decoded by a fresh instance of its own, in ``calls`` calls."""
    out = []
    for row in z:
        dec = NeuralDecoder(path, info)
        out.append(np.concatenate([dec.decode(c) for c in np.array_split(row, calls, axis=1)]))
    return np.stack(out)


@pytest.mark.parametrize("model", ["rave", "sine"])
def test_batched_decode_equals_each_voice_decoded_alone(model, rave_tiny_path, tiny_model_path):
    path = rave_tiny_path if model == "rave" else tiny_model_path
    info = inspect_model(path)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((5, info.latent_dim, 6)).astype(np.float32)
    batch = BatchDecoder(NeuralDecoder(path, info), 5)
    # the RAVE-style export batches; the sine test model takes batch 1 only (one copy per slot)
    assert batch.batched == (model == "rave")
    together = np.concatenate([batch.decode(z[:, :, i:i + 2]) for i in range(0, 6, 2)], axis=1)
    alone = _rows_alone(path, info, z, 3)
    assert together.shape == (5, 6 * info.hop_samples)
    scale = float(np.abs(alone).max())
    assert scale > 1e-4
    np.testing.assert_allclose(together, alone, atol=1e-5 * max(scale, 1.0))
    # and the rows differ (each its own voice, not one row repeated)
    assert np.abs(together[0] - together[1]).max() > 1e-3 * scale


@pytest.fixture(scope="module")
def level_and_info(default_level_path, tiny_model_path):
    level = load_level(default_level_path)
    info = inspect_model(tiny_model_path)
    return level, info


def _core(level, info, path, settings, start):
    field = LatentField(build_zone_blend(level, info))
    return SynthCore(lambda: NeuralDecoder(path, info), info, field, settings, start)


def _busiest_walk(level, info, audible: float = 1e-3):
    """A straight walk (east-west along a row of the map) through the place where the most zones
    are audible at once, and that count."""
    blend = build_zone_blend(level, info)
    w, h = level.tiles.size_m
    xs, ys = np.meshgrid(np.arange(0.5, w, 1.0), np.arange(0.5, h, 1.0))
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    counts = (blend.coverage(pts) > audible).sum(axis=1)
    best = pts[int(np.argmax(counts))]
    return best, int(counts.max())


def test_budget_holds_with_more_zones_than_voices(level_and_info, tiny_model_path):
    level, info = level_and_info
    (bx, by), most = _busiest_walk(level, info)
    assert most >= 3  # the default level has places where three or more zones are heard
    budget = 2
    core = _core(level, info, tiny_model_path, SynthSettings(voices=budget), Listener(bx - 8.0, by))
    real, virtual, audible_over = [], [], 0
    for k in range(120):  # 5.6 s walking east through the busiest place
        x = bx - 8.0 + 16.0 * k / 120
        core.render(Listener(x, by, math.pi / 2))
        r, v = core.voice_counts()
        real.append(r)
        virtual.append(v)
        zones_real = [vo for vo in core.bank.voices[:-1] if vo.slot >= 0]
        assert len(zones_real) <= budget  # never more zone voices decoded than the budget
        audible = int((core.field.zones.coverage(np.array([[x, by]])) > 1e-3).sum())
        audible_over = max(audible_over, audible - budget)
    assert max(real) == budget + 1  # the budget filled (the bed's slot counts)
    assert audible_over >= 1  # and some audible zone was kept virtual
    assert core.stats.voices_real == real[-1] and core.stats.voices_virtual == virtual[-1]
    assert real[-1] + virtual[-1] == len(level.zones) + 1


def _switch_blocks(core, walk):
    """Render ``walk`` (listeners); return the audio and the blocks where a zone voice started
    or stopped fading."""
    out, changes, last = [], [], None
    for b, listener in enumerate(walk):
        out.append(core.render(listener))
        state = tuple(sorted((v.zone, v.wanted) for v in core.bank.voices[:-1] if v.slot >= 0))
        if last is not None and state != last:
            changes.append(b)
        last = state
    return np.concatenate(out), changes


def _two_zone_place(level, info):
    """The place where a second zone is heard the loudest beside a first (both near full gain)."""
    blend = build_zone_blend(level, info)
    w, h = level.tiles.size_m
    xs, ys = np.meshgrid(np.arange(0.25, w, 0.5), np.arange(0.25, h, 0.5))
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    c = blend.coverage(pts)
    i = int(np.argmax(np.sort(c, axis=1)[:, -2]))
    return pts[i], float(np.sort(c[i])[-2])


def test_voice_crossing_the_budget_fades_without_a_click(level_and_info, tiny_model_path):
    """Budget 1 where two zones are both heard at nearly full gain: turning the real one's live
    gain down hands the slot to the other (one fades out, then the other fades in, both loud).
    The largest sample step around the hand-over is no larger than the material's own."""
    from memoire.world.field import FieldControls

    level, info = level_and_info
    (x, y), second = _two_zone_place(level, info)
    assert second > 0.9
    core = _core(level, info, tiny_model_path, SynthSettings(voices=1, gain_db=12.0), Listener(x, y))
    listener = Listener(x, y, 0.3)
    out = [core.render(listener) for _ in range(60)]  # 2.8 s: the first zone's voice alone
    first = [v.zone for v in core.bank.voices[:-1] if v.slot >= 0]
    assert len(first) == 1
    name = core.field.zones.names[first[0]]
    core.set_field(core.field.with_controls(FieldControls().with_gains({name: 0.2})))
    switched = None
    for b in range(100):
        out.append(core.render(listener))
        now = [v.zone for v in core.bank.voices[:-1] if v.slot >= 0 and v.wanted]
        if switched is None and now and now != first:
            switched = 60 + b
    assert switched is not None, "the slot never went to the other zone"
    later = [v for v in core.bank.voices[:-1] if v.slot >= 0]
    assert len(later) == 1 and later[0].zone != first[0] and later[0].amplitude > 0.5  # loud, faded in
    audio = np.concatenate(out)
    hop = info.hop_samples
    jumps = np.abs(np.diff(audio, axis=0)).max(axis=1)
    before = jumps[: 60 * hop].max()  # the material's own (the first voice and the bed)
    after = jumps[(switched + 12) * hop:].max()  # and the second's, once it has faded in
    around = jumps[55 * hop:(switched + 12) * hop].max()
    assert around <= 1.25 * max(before, after) + 1e-4


def test_new_voice_starts_silent_then_fades_in(level_and_info, tiny_model_path):
    level, info = level_and_info
    (bx, by), _ = _busiest_walk(level, info)
    core = _core(level, info, tiny_model_path, SynthSettings(voices=1), Listener(bx - 8.0, by))
    amps = {}
    for k in range(160):
        core.render(Listener(bx - 8.0 + 16.0 * k / 160, by, math.pi / 2))
        for v in core.bank.voices[:-1]:
            if v.slot >= 0:
                amps.setdefault(v.zone, []).append(v.fade)
    started = [z for z, a in amps.items() if a[0] == 0.0]
    assert started
    for z in started:  # silent first (settling its slot), then rising at most one fade step a block
        a = np.array(amps[z])
        assert a[0] == 0.0
        assert np.diff(a).max() <= core.frame_s / 0.4 + 1e-9


LAYOUT_CHANNELS = {"binaural": 2, "stereo": 2, "quad": 4, "5.1": 6, "ring8": 8}
# WAVE_FORMAT_EXTENSIBLE dwChannelMask: quad FL FR BL BR; 5.1 (SMPTE) FL FR FC LFE SL SR; ring8 none
CHANNEL_MASKS = {"quad": 0x33, "5.1": 0x60F, "ring8": 0x0}


def _wav_mask(path) -> int | None:
    """The fmt chunk's channel mask (WAVE_FORMAT_EXTENSIBLE), or None for a plain WAV."""
    data = path.read_bytes()
    i = data.index(b"fmt ")
    size = int.from_bytes(data[i + 4:i + 8], "little")
    fmt = data[i + 8:i + 8 + size]
    if int.from_bytes(fmt[0:2], "little") != 0xFFFE:
        return None
    return int.from_bytes(fmt[20:24], "little")


@pytest.mark.parametrize("layout", list(LAYOUT_CHANNELS))
def test_render_writes_the_layouts_channels(layout, default_level_path, tiny_model_path, tmp_path):
    import soundfile as sf

    from memoire.offline.render import render_tour, write_audio

    level = load_level(default_level_path)
    result = render_tour(level, "gallery", tiny_model_path, seconds=1.0, progress=False, output=layout)
    assert result.audio.shape[1] == LAYOUT_CHANNELS[layout]
    assert np.isfinite(result.audio).all() and np.abs(result.audio).max() > 1e-3
    out = tmp_path / f"{layout}.wav"
    write_audio(out, result.audio, result.sample_rate_hz, layout=layout)
    info = sf.info(str(out))
    assert info.channels == LAYOUT_CHANNELS[layout] and info.samplerate == result.sample_rate_hz
    assert _wav_mask(out) == CHANNEL_MASKS.get(layout)
    back, _ = sf.read(str(out), dtype="float32")
    np.testing.assert_allclose(back, result.audio, atol=2.0 / 32768)


def test_live_engine_plays_what_the_offline_core_renders(default_level_path, tiny_model_path, tmp_path):
    """The engine's recording (what its synth thread queued) equals an offline core's render of the
    same pose with the engine's settings: one SynthCore path, N channels through the ring."""
    import time

    import soundfile as sf

    from memoire.audio.engine import LocalEngine, settings_for
    from memoire.audio.scene import RoomIrs, level_acoustics

    level = load_level(default_level_path)
    info = inspect_model(tiny_model_path)
    acoustics = level_acoustics(level)
    rooms = RoomIrs(acoustics, level.path, info.sample_rate_hz, background=False)  # cached: the engine reads it
    assert rooms.irs  # the default level has rooms: the reverb is on both paths
    record = tmp_path / "live.wav"
    settings = dataclasses.replace(settings_for(level), output="quad")
    engine = LocalEngine(level, tiny_model_path, card=info, record=record, mute=True, settings=settings,
                         just_in_time=False, realtime=False)
    try:
        engine.start()
        time.sleep(1.5)
    finally:
        engine.close()
    live, rate = sf.read(str(record), dtype="float32")
    assert live.shape[1] == 4 and len(live) >= info.hop_samples * 8
    field = LatentField(build_zone_blend(level, info))
    core = SynthCore(lambda: NeuralDecoder(tiny_model_path, info), info, field,
                     dataclasses.replace(settings, limiter_ceiling=None), Listener(*level.spawn_xy),
                     acoustics, rooms)
    x, y = level.spawn_xy
    offline = offline_listener_sequence(lambda t: (x, y, 0.0), core, len(live) / rate)
    np.testing.assert_allclose(live, offline[:len(live)], atol=2.0 / 32768)


def test_a_device_with_too_few_channels_plays_stereo_and_says_why(monkeypatch):
    import sounddevice as sd

    from memoire.audio.engine import device_layout

    monkeypatch.setattr(sd, "query_devices", lambda device=None, kind=None: {"name": "USB Audio", "max_output_channels": 4})
    layout, why = device_layout("ring8", None)
    assert layout == "stereo"
    assert "'USB Audio' has 4 output channels" in why and "'ring8' needs 8" in why
    assert "binaural, stereo, quad" in why and "5.1" not in why  # the layouts that fit
    assert device_layout("quad", None) == ("quad", None)  # enough channels: as asked, nothing said
    assert device_layout("binaural", None) == ("binaural", None)  # two channels: never asked

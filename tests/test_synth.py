"""The synth: latent smoothing bounds, streaming decode, crossfades, offline render by zone."""

from __future__ import annotations

import numpy as np
import pytest

from memoire.world.field import LatentField, build_zone_blend
from memoire.audio.model import NeuralDecoder, inspect_model
from memoire.audio.synth import Listener, SynthCore, SynthSettings
from memoire.world.errors import UserError
from memoire.world.level import load_level


@pytest.fixture(scope="module")
def setup(default_level_path, tiny_model_path):
    level = load_level(default_level_path)
    info = inspect_model(tiny_model_path)
    field = LatentField(build_zone_blend(level, info))
    return level, info, field, tiny_model_path


def make_core(setup, start=None, settings=SynthSettings()):
    level, info, field, path = setup
    return SynthCore(lambda: NeuralDecoder(path, info), info, field, settings,
                     start or Listener(*level.spawn_xy))


def max_jump(audio: np.ndarray) -> float:
    return float(np.abs(np.diff(audio, axis=0)).max())


def test_model_interface_is_read(tiny_model_path):
    info = inspect_model(tiny_model_path)
    assert (info.latent_dim, info.hop_samples, info.channels, info.sample_rate_hz) == (4, 2048, 1, 44100)
    assert "pigeons" in info.class_names and info.class_mean.shape == (11, 4)


def test_file_without_interface_is_refused_clearly(tmp_path):
    from tiny_model import save_no_interface

    bad = save_no_interface(tmp_path / "plain.ts")
    with pytest.raises(UserError, match="lacks the RAVE/nn~ decoder interface: it has no a decode"):
        inspect_model(bad)
    junk = tmp_path / "junk.ts"
    junk.write_bytes(b"not a model")
    with pytest.raises(UserError, match="is not a TorchScript model file"):
        inspect_model(junk)
    with pytest.raises(UserError, match="memoire train"):
        inspect_model(tmp_path / "absent.ts")


def test_streaming_decode_in_blocks_equals_whole(tiny_model_path):
    info = inspect_model(tiny_model_path)
    z = np.random.default_rng(0).normal(size=(4, 9)).astype(np.float32)
    whole = NeuralDecoder(tiny_model_path, info).decode(z)
    d = NeuralDecoder(tiny_model_path, info)
    parts = np.concatenate([d.decode(z[:, a:b]) for a, b in [(0, 1), (1, 4), (4, 5), (5, 9)]])
    assert whole.shape == (9 * 2048,)
    np.testing.assert_allclose(parts, whole, atol=1e-4)


def test_latent_moves_at_most_a_bound_per_frame(setup):
    from memoire.world.field import FieldControls

    level, info, field, _ = setup
    settings = SynthSettings(max_latent_speed_per_s=6.0)
    core = make_core(setup, settings=settings)
    bound = settings.max_latent_speed_per_s * core.frame_s
    # each voice's interpolated latent (its anchor's own motion rides on top of it, see below)
    zs = [np.array([v.z for v in core.bank.voices])]
    gs = [np.array([v.gain for v in core.bank.voices])]
    # walk from the lane into the pigeon courtyard, then a latent override far away (OSC): the
    # bed's target jumps, with no teleport flag
    far = tuple(float(v) for v in field.zones.rest_latent + 8.0)
    path = [(4.0 + 0.2 * i, 18.75, None) for i in range(150)] + [(35.25, 9.75, None)] * 40 + [(35.25, 9.75, far)] * 40
    for x, y, latent in path:
        if latent is not None and core.field.zones.override is None:
            core.set_field(field.with_controls(FieldControls().with_latent(latent)))
        core.render(Listener(x, y))
        zs.append(np.array([v.z for v in core.bank.voices]))
        gs.append(np.array([v.gain for v in core.bank.voices]))
    steps = np.linalg.norm(np.diff(np.array(zs), axis=0), axis=2)  # (frames, voices)
    # walking, every voice's gain glides too: at most 1 - exp(-frame / the shortest time constant)
    shortest = min([z.fade_s for z in level.zones] + [level.sound.smoothing_s])
    assert np.abs(np.diff(np.array(gs[:191]), axis=0)).max() <= 1.0 - np.exp(-core.frame_s / shortest) + 1e-9
    assert steps.max() <= bound + 1e-5
    assert steps[:, -1].max() > 0.5 * bound  # the override did move the bed at the cap


def test_latent_reaches_zone_target(setup):
    level, info, field, _ = setup
    core = make_core(setup, start=Listener(4.0, 18.75))
    i = field.zones.names.index("pigeons")
    for _ in range(100):  # 4.6 s in the pigeon courtyard, fade_s 1.5
        core.render(Listener(35.25, 9.75))
    voice = core.bank.voices[i]
    assert voice.slot >= 0 and voice.fade == 1.0  # real, faded in
    np.testing.assert_allclose(voice.z, field.zones.latents[i], atol=0.05)
    assert voice.gain > 0.95  # inside the zone: its full gain


def test_teleport_is_crossfaded_without_a_click(setup):
    core = make_core(setup)
    out = [core.render(Listener(4.0, 18.75)) for _ in range(20)]
    out += [core.render(Listener(59.0, 9.0, teleport=1)) for _ in range(20)]
    audio = np.concatenate(out)
    assert core.stats.crossfades == 1
    # the tiny model's partials are at most 0.08 * 4 amplitude and <= 1.8 kHz: a continuous signal
    # moves at most 2 pi f A / sr ~ 0.08 per sample; a step would be several times that
    calm = max_jump(np.concatenate(out[:20]))
    assert max_jump(audio) <= 1.5 * calm + 1e-3


def test_level_reload_crossfades(setup):
    level, info, field, _ = setup
    core = make_core(setup)
    for _ in range(5):
        core.render(Listener(4.0, 18.75))
    core.set_field(LatentField(field.zones, version=1))
    core.render(Listener(4.0, 18.75))
    assert core.stats.crossfades == 1


def test_output_is_stereo_limited_and_finite(setup):
    core = make_core(setup, settings=SynthSettings(gain_db=30.0))
    audio = np.concatenate([core.render(Listener(35.0, 10.0, heading_rad=0.5)) for _ in range(30)])
    assert audio.shape[1] == 2 and np.all(np.isfinite(audio))
    assert np.abs(audio).max() <= SynthSettings().limiter_ceiling + 1e-6


def test_offline_render_differs_between_zones(default_level_path, tiny_model_path, tmp_path):
    from memoire.offline.render import render_tour

    # the zone blend alone (the terrain has its own tests), in a copy: nothing is saved beside
    # the shipped level
    copy = tmp_path / "hutong.toml"
    copy.write_text(default_level_path.read_text().replace('field = "mix"', 'field = "zones"'))
    level = load_level(copy)
    r = render_tour(level, "gallery", tiny_model_path, seconds=60.0, progress=False)
    assert r.audio.shape == (60 * 44100, 2)
    blend = build_zone_blend(level, inspect_model(tiny_model_path))
    w, rest = blend.weights(r.block_poses[:, :2])
    hop = r.hop_samples
    centroids = {}
    for zi, name in enumerate(blend.names):
        blocks = np.flatnonzero(w[:, zi] > 0.9)
        blocks = blocks[blocks > blocks.min() + 20] if len(blocks) > 25 else blocks  # after the glide in
        if len(blocks) < 5:
            continue
        seg = np.concatenate([r.audio[b * hop:(b + 1) * hop, 0] for b in blocks])
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        freqs = np.fft.rfftfreq(len(seg), 1 / 44100)
        centroids[name] = float((spec * freqs).sum() / spec.sum())
    assert len(centroids) >= 3, centroids
    values = sorted(centroids.values())
    assert values[-1] - values[0] > 50.0, centroids  # the zones sound measurably different


def test_model_change_is_crossfaded(setup, tmp_path):
    from tiny_model import save_tiny

    level, info, field, path = setup
    core = make_core(setup)
    out = [core.render(Listener(35.0, 10.0)) for _ in range(10)]
    other = save_tiny(tmp_path / "other.ts")
    info2 = inspect_model(other)
    field2 = LatentField(build_zone_blend(level, info2), version=1)
    core.set_model(info2, NeuralDecoder(other, info2), NeuralDecoder(other, info2), field2)
    out += [core.render(Listener(35.0, 10.0)) for _ in range(20)]
    assert core.stats.crossfades == 1 and core.field is field2
    calm = max_jump(np.concatenate(out[:10]))
    assert max_jump(np.concatenate(out)) <= 1.5 * calm + 1e-3


def test_volume_ramps_without_a_click(setup):
    """The volume (hold-to-hear, the kiosk's fades) is the output gain stage's, after the synth."""
    from memoire.audio.output import MasterGain

    core = make_core(setup)
    gain = MasterGain(1.0)

    def played(blocks):
        out = []
        for _ in range(blocks):
            audio = core.render(Listener(35.0, 10.0))
            for k in range(0, len(audio), 512):  # as the device callback takes it
                block = audio[k:k + 512].copy()
                gain.apply(block, core.sample_rate_hz)
                out.append(block)
        return out

    out = played(8)
    gain.set(0.0)
    out += played(3)
    assert np.abs(out[-1]).max() == 0.0  # silent after the 50 ms ramp
    gain.set(1.0)
    out += played(3)
    calm = max_jump(np.concatenate(out[:32]))
    assert max_jump(np.concatenate(out)) <= 1.5 * calm + 1e-3
    assert np.abs(out[-1]).max() > 0.01


def test_live_settings_leave_the_ceiling_to_the_output_stage(setup):
    """The live engine's synth has no limiter (limiter_ceiling None): its makeup gain_db goes
    through unlimited, and the one ceiling is the output stage's."""
    core = make_core(setup, settings=SynthSettings(gain_db=30.0, limiter_ceiling=None))
    audio = np.concatenate([core.render(Listener(35.0, 10.0, heading_rad=0.5)) for _ in range(10)])
    assert np.abs(audio).max() > 1.0


def test_class_anchor_moves_with_its_encoded_audio(setup):
    """Inside a zone the latent follows the class's motion (a static mean of a sparse class such
    as bells decodes to near silence); the motion is continuous and repeatable."""
    level, info, field, _ = setup
    assert info.class_frames is not None and info.class_frames.shape == (11, 200, 4)
    runs = []
    for _ in range(2):
        core = make_core(setup, start=Listener(35.25, 9.75))
        zs = []
        for _ in range(300):
            core.render(Listener(35.25, 9.75))
            zs.append(core.last_latent.copy())
        runs.append(np.array(zs))
    zs = runs[0]
    np.testing.assert_array_equal(runs[0], runs[1])  # deterministic: offline renders repeat
    assert zs[100:].std(axis=0).mean() > 0.2  # it moves (a static anchor would not)
    steps = np.linalg.norm(np.diff(zs[100:], axis=0), axis=1)
    # the stand-in motion moves at most 0.8 * 2pi/37 ~ 0.14 per frame per dimension; segment
    # joins are crossfaded, so no step is larger than a few of those
    assert steps.max() < 0.5
    mean_inside = zs[100:].mean(axis=0)
    target = field.zones.latents[field.zones.names.index("pigeons")]
    assert np.linalg.norm(mean_inside - target) < 0.3  # it moves around the class's latent


def test_motion_player_joins_segments_smoothly():
    from memoire.audio.synth import MotionPlayer, motion_segment_frames

    t = np.arange(1000)
    motion = np.stack([np.sin(t / 20.0), np.cos(t / 30.0)], axis=1)
    p = MotionPlayer(motion, seed=3)
    out = np.array([p.next() for _ in range(5 * motion_segment_frames)])
    steps = np.abs(np.diff(out, axis=0)).max(axis=1)
    assert steps.max() < 0.35  # joins between random segments are crossfaded, not cut

"""The procedural hutong corpus: determinism, format, and each recipe measured against its promise."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest
import soundfile as sf

from memoire.rave.evaluate import frame_rms_dbfs
from memoire.world.errors import UserError
from memoire.corpus import command, dsp
from memoire.corpus.generate import (CLASS_NAMES, DEFAULT_OUT_DIR, DEFAULT_VOICE_DIR, MANIFEST_COLUMNS,
                                   SAMPLE_RATE_HZ, SEGMENT_S, SEGMENT_XFADE_S, file_seed, read_manifest,
                                   render_class, render_file, write_corpus)
from memoire.corpus.measure import RECIPE_CHECKS, failed_checks, measure
from memoire.corpus.recipes import bell_strikes
from memoire.corpus.voice import render_voice_clips

# The classes the levels name as anchors (docs/corpus.md); renaming one breaks level files.
ANCHOR_CLASSES = {"pigeons", "bells", "vendors", "birds", "insects", "wind", "rain", "footsteps",
                  "chatter", "grinder", "courtyard"}
# Limit the committed corpus must respect (repository size budget).
CORPUS_MAX_BYTES = 30 * 1024 * 1024


def test_class_names_are_the_anchor_names():
    assert set(CLASS_NAMES) == ANCHOR_CLASSES
    assert set(RECIPE_CHECKS) == ANCHOR_CLASSES


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_same_seed_same_samples_other_seed_other_samples(name):
    a = render_class(name, 1.0, seed=11)
    b = render_class(name, 1.0, seed=11)
    c = render_class(name, 1.0, seed=12)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_class_has_requested_duration_and_sane_samples(name):
    audio = render_class(name, 1.5, seed=3)
    assert audio.dtype == np.float32
    assert audio.shape == (int(1.5 * SAMPLE_RATE_HZ),)
    assert np.all(np.isfinite(audio))
    assert np.max(np.abs(audio)) <= 1.0
    assert dsp.rms_db(audio) > -60.0, "a class must not render (near-)silence"


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_class_measures_as_its_recipe_promises(name):
    """Short renders must pass every recipe check that is meaningful at 3 s (see measure.py)."""
    audio = render_class(name, 3.0, seed=5)
    assert failed_checks(name, measure(audio, SAMPLE_RATE_HZ)) == []


# Each class's checks must reject a clearly different class: they measure something.
@pytest.mark.parametrize("name, impostor", [
    ("pigeons", "rain"), ("bells", "pigeons"), ("vendors", "insects"), ("birds", "wind"),
    ("insects", "birds"), ("wind", "bells"), ("rain", "pigeons"), ("footsteps", "pigeons"),
    ("chatter", "birds"), ("grinder", "courtyard"), ("courtyard", "rain"),
])
def test_recipe_checks_reject_another_class(name, impostor):
    audio = render_class(impostor, 3.0, seed=5)
    assert failed_checks(name, measure(audio, SAMPLE_RATE_HZ)) != []


# The event classes, whose events come and go: between events their recording place is heard.
EVENT_CLASSES = ("bells", "vendors", "birds", "footsteps", "grinder")


@pytest.mark.parametrize("name", EVENT_CLASSES)
def test_event_classes_never_fall_silent_between_events(name):
    """No 46 ms frame (the model's latent frame) of an event class is near-silent: the bed of
    its recording place fills the gaps, so its quiet moments still belong to the class."""
    audio = render_class(name, 12.0, seed=2).astype(np.float64)
    assert frame_rms_dbfs(audio, 2048).min() > -60.0


@pytest.mark.slow  # renders several minutes of one class (~5 s)
def test_long_file_is_several_performances_joined_without_clicks():
    seconds = 2.5 * SEGMENT_S
    audio = render_file("pigeons", seconds, seed=4)
    assert audio.shape == (int(round(seconds * SAMPLE_RATE_HZ)),)
    assert np.array_equal(audio, render_file("pigeons", seconds, seed=4))
    # Three performances, not one long take: the first segment is not render_class's file.
    one_take = render_class("pigeons", seconds, seed=4)
    seg = int(SEGMENT_S * SAMPLE_RATE_HZ)
    assert not np.allclose(audio[:seg], one_take[:seg], atol=1e-3)
    # Another flock after the join: the strongest whistle frequency changes between segments.
    def strongest_hz(x):
        spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        return np.argmax(spectrum) * SAMPLE_RATE_HZ / x.size
    first, second = audio[seg // 2: seg // 2 + 16384], audio[seg + seg // 2: seg + seg // 2 + 16384]
    assert abs(strongest_hz(first) - strongest_hz(second)) > 5.0
    # The joins are crossfades: no sample-to-sample jump there beyond what the class has inside.
    jumps = np.abs(np.diff(audio))
    xfade = int(SEGMENT_XFADE_S * SAMPLE_RATE_HZ)
    near_join = np.concatenate([jumps[k * seg - xfade: k * seg + xfade] for k in (1, 2)])
    assert near_join.max() <= 1.5 * np.percentile(jumps, 99.99)
    # ... and no dip in level either (equal power: independent performances add in power).
    win = 2048
    level = np.sqrt(np.convolve(audio.astype(np.float64) ** 2, np.ones(win) / win, mode="valid"))
    assert level[seg - win: seg].min() > 0.25 * np.median(level)


def test_short_file_is_one_performance():
    assert np.array_equal(render_file("wind", 3.0, seed=9), render_class("wind", 3.0, seed=9))


def test_bell_spectrum_peaks_at_its_fundamental_and_modes():
    sr = SAMPLE_RATE_HZ
    ring = bell_strikes([0.01], [1.0], sr, np.random.default_rng(0), sr, fundamental_hz=2600.0)
    spectrum = np.abs(np.fft.rfft(ring))
    freqs = np.fft.rfftfreq(ring.size, 1 / sr)
    assert abs(freqs[np.argmax(spectrum)] - 2600.0) < 2600.0 * 0.03
    for ratio in (2.3, 3.9):  # the next modes stand out from their neighbourhood
        near = (freqs > 2600 * ratio * 0.97) & (freqs < 2600 * ratio * 1.03)
        between = (freqs > 2600 * (ratio - 0.5)) & (freqs < 2600 * (ratio - 0.3))
        assert spectrum[near].max() > 20 * np.median(spectrum[between])


def test_approaching_source_sounds_higher_than_receding():
    """propagate() must give Doppler: a 1 kHz source passing at 20 m/s."""
    sr = SAMPLE_RATE_HZ
    t = np.arange(4 * sr) / sr
    source = np.sin(2 * np.pi * 1000.0 * t)
    distance = np.sqrt((20.0 * (t - 2.0)) ** 2 + 5.0 ** 2)
    heard = dsp.propagate(source, distance, sr)

    def dominant_hz(x):
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        return np.fft.rfftfreq(x.size, 1 / sr)[np.argmax(spec)]

    before = dominant_hz(heard[int(0.3 * sr):int(1.3 * sr)])
    after = dominant_hz(heard[int(2.7 * sr):int(3.7 * sr)])
    # Expected about 1000 * c / (c -+ 20): 1062 Hz and 945 Hz.
    assert 1040 < before < 1080
    assert 930 < after < 960


def test_measure_counts_onsets_and_finds_the_peak():
    sr = SAMPLE_RATE_HZ
    audio = np.zeros(5 * sr)
    for k in range(10):  # 2 clicks/s, each a decaying 3 kHz tone
        n = int(0.1 * sr)
        u = np.arange(n)
        audio[int((0.25 + 0.5 * k) * sr):][:n] += np.sin(2 * np.pi * 3000 * u / sr) * np.exp(-u / (0.02 * sr))
    m = measure(audio, sr)
    assert abs(m.peak_freq_hz - 3000) < 30
    assert 1.6 <= m.onsets_per_s <= 2.4
    assert m.band(2500, 6000) > 0.9


def test_file_seeds_differ_between_classes_and_splits():
    seeds = {file_seed(0, name, split) for name in CLASS_NAMES for split in ("train", "test")}
    assert len(seeds) == 2 * len(CLASS_NAMES)
    assert file_seed(0, "rain", "train") == file_seed(0, "rain", "train")
    assert file_seed(0, "rain", "train") != file_seed(1, "rain", "train")


def test_write_corpus_files_and_manifest(tmp_path):
    rows = write_corpus(tmp_path, 1.0, 0.5, corpus_seed=7, classes=["bells", "wind"])
    with open(tmp_path / "manifest.csv", newline="") as f:
        assert tuple(next(csv.reader(f))) == MANIFEST_COLUMNS
    assert read_manifest(tmp_path / "manifest.csv") == rows
    assert [(r.class_name, r.split) for r in rows] == [("bells", "train"), ("bells", "test"),
                                                       ("wind", "train"), ("wind", "test")]
    for row in rows:
        info = sf.info(tmp_path / row.file)
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 44100, 1)
        assert info.frames == int(row.duration_s * SAMPLE_RATE_HZ)
        # The manifest's seed regenerates the file (up to 16-bit quantisation).
        audio, _ = sf.read(tmp_path / row.file, dtype="float32")
        again = render_file(row.class_name, row.duration_s, row.seed)
        assert np.max(np.abs(audio - again)) < 2.0 / 32768


def _parse(argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_command_writes_requested_classes(tmp_path, capsys):
    args = _parse(["--out", str(tmp_path), "--seconds-per-class", "1", "--test-seconds", "0",
                   "--seed", "3", "--classes", "insects"])
    assert command.run(args) == 0
    rows = read_manifest(tmp_path / "manifest.csv")
    assert [(r.file, r.duration_s, r.split) for r in rows] == [("insects_train.flac", 1.0, "train")]
    assert "wrote 1 files" in capsys.readouterr().out
    # Re-rendering another class keeps the first one listed.
    assert command.run(_parse(["--out", str(tmp_path), "--seconds-per-class", "1", "--test-seconds", "0",
                               "--classes", "rain"])) == 0
    assert [r.class_name for r in read_manifest(tmp_path / "manifest.csv")] == ["insects", "rain"]


@pytest.mark.parametrize("argv, message", [
    (["--classes", "trumpets"], "unknown corpus class 'trumpets'"),
    (["--seconds-per-class", "0"], "--seconds-per-class must be positive"),
    (["--test-seconds", "-1"], "--test-seconds must be 0 or more"),
])
def test_command_rejects_bad_input(tmp_path, argv, message):
    with pytest.raises(UserError, match=message):
        command.run(_parse(["--out", str(tmp_path)] + argv))


def test_missing_voice_clips_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="vendor_"):
        render_class("vendors", 1.0, seed=0, voice_dir=tmp_path)


def test_measure_of_missing_manifest_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="manifest"):
        command.run(_parse(["--out", str(tmp_path), "--measure"]))


def test_committed_corpus_is_complete_and_fits_the_budget():
    rows = read_manifest(DEFAULT_OUT_DIR / "manifest.csv")
    per_class = {name: 0.0 for name in CLASS_NAMES}
    for row in rows:
        info = sf.info(DEFAULT_OUT_DIR / row.file)
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 44100, 1)
        assert abs(info.frames / info.samplerate - row.duration_s) < 1e-3
        per_class[row.class_name] += row.duration_s
    assert min(per_class.values()) >= 60.0
    assert sum(per_class.values()) >= 600.0
    assert {r.split for r in rows} == {"train", "test"}
    total_bytes = sum(p.stat().st_size for p in DEFAULT_OUT_DIR.rglob("*") if p.is_file())
    assert total_bytes <= CORPUS_MAX_BYTES


@pytest.mark.slow
@pytest.mark.espeak
def test_render_voice_clips_speaks_every_committed_clip(tmp_path):
    written = render_voice_clips(tmp_path)
    committed = sorted(p.name for p in DEFAULT_VOICE_DIR.glob("*.flac"))
    assert sorted(p.name for p in written) == committed
    for path in written:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert 0.5 < info.frames / info.samplerate < 6.0

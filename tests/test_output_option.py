"""The output layout chosen outside the level: --output on play and render, [kiosk] output."""

from __future__ import annotations

import pytest


def test_kiosk_config_output(tmp_path):
    from memoire.kiosk.config import ConfigError, load_kiosk_config

    p = tmp_path / "kiosk.toml"
    p.write_text('[kiosk]\noutput = "ring8"\n')
    assert load_kiosk_config(p).output == "ring8"
    p.write_text("[kiosk]\nidle_s = 60\n")
    assert load_kiosk_config(p).output is None  # the level's
    p.write_text('[kiosk]\noutput = "octo"\n')
    with pytest.raises(ConfigError) as e:
        load_kiosk_config(p)
    msg = str(e.value)
    assert f"{p}:2: [kiosk]: output" in msg and "ring8" in msg and "binaural" in msg


def test_output_flag_on_play_and_render(capsys):
    from memoire.cli import build_parser

    assert build_parser("play").parse_args(["play", "--output", "5.1"]).output == "5.1"
    assert build_parser("play").parse_args(["play"]).output is None
    args = build_parser("render").parse_args(["render", "levels/hutong.toml", "--tour", "gallery", "--out", "x.wav",
                                              "--output", "binaural"])
    assert args.output == "binaural"
    with pytest.raises(SystemExit):
        build_parser("render").parse_args(["render", "l.toml", "--tour", "t", "--out", "x.wav", "--output", "octo"])
    assert "invalid choice: 'octo'" in capsys.readouterr().err


def test_session_line_says_the_voices_and_the_synths_speed():
    from types import SimpleNamespace

    from memoire.audio.client import AudioStats
    from memoire.game.app import session_line

    game = SimpleNamespace(stats=SimpleNamespace(summary=lambda: (20.0, 30.0), frames=10), time_to_first_frame_s=1.0,
                           time_to_first_sound_s=1.5, sim_time_s=1.0, wall_s=1.0, osc=None)
    line = session_line(game, AudioStats(synth_rtf=6.5, voices_real=5, voices_virtual=6, output="pulse"))
    assert "voices 5 real / 6 virtual, synth 6.5x real time" in line, line

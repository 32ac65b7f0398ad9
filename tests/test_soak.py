"""Soak: the kiosk game loop for 30 simulated minutes (attract, visitors, idle returns, a device
loss, a synth crash), then a short real-time stretch. See docs/soak.md; longer runs:
tools/bench/soak.py --minutes N."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SMALL_LEVEL = '''
[level]
name = "Soak lane"
cell_m = 1.5

[map]
grid = """
################
#..............#
#......T.......#
#..............#
#..............#
################
"""

[spawn]
at = [3.0, 4.5]
facing_deg = 90

[sound]
field = "zones"
rest = "courtyard"

[[zones]]
name = "bells"
shape = "circle"
center = [6.0, 4.5]
radius_m = 2.0
falloff_m = 3.0
anchor = "bells"

[[zones]]
name = "rain"
shape = "circle"
center = [18.0, 4.5]
radius_m = 2.0
falloff_m = 3.0
anchor = "rain"

[[tours]]
name = "lane"
speed_mps = 1.2
pause_s = 2.0
points = [[3.0, 4.5], [6.0, 3.0], [9.0, 6.0], [12.0, 4.5], [15.0, 3.0], [18.0, 6.0], [21.0, 4.5]]
'''

KIOSK = '''
[kiosk]
idle_s = 30
fade_s = 1.5
tour = "lane"
volume_db = -6
'''


@pytest.fixture
def soak_files(tmp_path: Path) -> tuple[Path, Path]:
    level = tmp_path / "lane.toml"
    level.write_text(SMALL_LEVEL)
    config = tmp_path / "kiosk.toml"
    config.write_text(KIOSK)
    return level, config


@pytest.mark.slow
@pytest.mark.gl
def test_soak_30_simulated_minutes(soak_files, tiny_model_path):
    import torch

    from tools.soak.harness import Script, check_soak, run_soak

    torch.set_num_threads(1)
    os.environ.setdefault("LP_NUM_THREADS", "1")
    level, config = soak_files
    lines: list[str] = []
    res = run_soak(level, tiny_model_path, config, minutes=30.0, clock="accelerated",
                   script=Script(), log=lines.append)
    report = "\n".join(res.lines() + lines)
    print(report)
    assert res.sim_s >= 30 * 60 - 1
    assert check_soak(res) == [], report
    # the script happened: visitors came and went, the device was lost and found, the synth restarted
    assert res.takeovers >= 7 and res.returns >= 7, report
    assert res.device_losses == 1 and res.device_reopens >= 2, report  # the first open counts as one
    assert res.synth_restarts == 1, report
    assert res.audio_rms_dbfs > -60, report  # sound was played, not silence


@pytest.mark.slow
@pytest.mark.gl
def test_soak_realtime_part_has_no_underruns(soak_files, tiny_model_path):
    import torch

    from tools.soak.harness import Script, run_soak

    torch.set_num_threads(1)
    level, config = soak_files
    # visitor at 3 s, leaving at 7 s; no faults in the real-time part
    script = Script(first_visitor_s=3.0, visitor_every_s=1e9, visitor_s=4.0, device_loss_at_s=1e9,
                    synth_crash_at_s=1e9)
    res = run_soak(level, tiny_model_path, config, minutes=10 / 60, clock="realtime", frame_s=1 / 30,
                   draw_every=1, script=script, log=lambda m: None)
    assert res.wall_s >= 9.5
    assert res.underruns == 0, "\n".join(res.lines())
    assert res.takeovers == 1

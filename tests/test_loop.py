"""The one game loop, through the path that ships: ``Game.frame`` (what ``memoire play``, the kiosk
and the soak run), the fixed-step clock, the tour walker, and a real `memoire play --trace` run.

What a player would check: holding "forward" for a second walks about 1.4 m whatever the frame
rate; a tour walks at its own speed; simulated time keeps pace with the wall clock.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys

import pytest

from memoire.sim.clock import FixedStepClock
from memoire.sim.physics import physics_step_s
from memoire.sim.player import walk_speed_mps

# The trace writes wall_s and sim_s with 3 decimals (±0.5 ms each).
trace_resolution_s = 0.001

YARD = '''
[level]
name = "walking yard"
cell_m = 1.5

[map]
grid = """
####################
#..................#
#..................#
#..................#
#..................#
####################
"""

[spawn]
at = [3.0, 4.5]
facing_deg = 90

[sound]
model = "tiny.ts"
rest = "courtyard"

[[zones]]
name = "birds"
center = [20.0, 4.5]
radius_m = 2.0
falloff_m = 2.0
anchor = "birds"

[[tours]]
name = "east"
speed_mps = 1.0
pause_s = 0.0
points = [[3.0, 4.5], [9.0, 4.5], [15.0, 4.5], [27.0, 4.5]]
'''


@pytest.mark.parametrize("frame_s", [1 / 60, 0.2])
def test_clock_runs_wall_time_at_any_frame_rate(frame_s):
    clock = FixedStepClock(physics_step_s, 0.25)
    clock.advance(10.0)  # starts the clock
    steps = sum(clock.advance(10.0 + k * frame_s)[0] for k in range(1, round(1.0 / frame_s) + 1))
    assert steps * physics_step_s == pytest.approx(1.0, abs=physics_step_s)


def test_clock_clamps_a_stall_and_ignores_time_going_back():
    clock = FixedStepClock(physics_step_s, 0.25)
    clock.advance(0.0)
    steps, alpha = clock.advance(5.0)  # a 5 s stall counts as a quarter second
    assert steps == 30 and 0.0 <= alpha < 1.0
    assert clock.advance(4.0)[0] == 0


@pytest.fixture
def yard(tmp_path, tiny_model_path):
    shutil.copy(tiny_model_path, tmp_path / "tiny.ts")
    path = tmp_path / "yard.toml"
    path.write_text(YARD)
    return path


@pytest.mark.slow  # starts the audio process (~2.5 s) and a software-rendered EGL context
@pytest.mark.gl
def test_holding_forward_for_a_second_walks_walking_speed_at_60_and_5_fps(yard):
    from memoire.game.app import Game, PlayOptions

    game = Game(PlayOptions(level_path=yard, headless=True, mute=True, size_px=(160, 90)))
    game.open()
    try:
        t = 100.0
        for frame_s in (1 / 60, 0.2):
            game.frame(t)
            x0 = game.state.x_m
            game.window.inject(("key", "forward", True))  # pressed, as a player's key reaches the loop
            for _ in range(round(1.0 / frame_s)):
                t += frame_s
                game.frame(t)
            game.window.inject(("key", "forward", False))
            walked = game.state.x_m - x0
            assert walked == pytest.approx(walk_speed_mps, rel=0.05), f"{frame_s * 1000:.0f} ms frames"
            assert game.state.y_m == pytest.approx(4.5, abs=1e-3)  # facing east: straight along x
            t += 0.1
            game.frame(t)
    finally:
        game.close()


@pytest.mark.slow
@pytest.mark.gl
def test_a_tour_walks_at_its_own_speed(yard):
    from memoire.game.app import Game, PlayOptions
    from memoire.world.tour import pose_at

    game = Game(PlayOptions(level_path=yard, tour="east", headless=True, mute=True, size_px=(160, 90)))
    game.open()
    try:
        t = 50.0
        for _ in range(3 * 30 + 1):  # 3 s of 30 fps frames
            game.frame(t)
            t += 1 / 30
        assert game.sim_time_s == pytest.approx(3.0, abs=physics_step_s)
        x, y, h = pose_at(game.mode.tour_plan, game.sim_time_s)
        assert (game.state.x_m, game.state.y_m) == pytest.approx((x, y), abs=1e-6)
        # the tour's own pace: at most its speed_mps (1 m/s, eased at the ends), never a multiple of it
        assert 1.0 < game.state.x_m - 3.0 <= 3.0 + 1e-6
    finally:
        game.close()


def _xvfb() -> str | None:
    return shutil.which("xvfb-run")


@pytest.mark.slow
@pytest.mark.gl
def test_play_tour_under_xvfb_advances_sim_time_with_wall_time(tmp_path, root):
    """`memoire play --tour gallery --trace` in a real window: each frame's simulated time grows as
    the wall clock does (up to the stall clamp), and the tour gets as far as that time takes it."""
    if _xvfb() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("xvfb-run is missing: tools/install.sh installs it")
        pytest.skip("xvfb-run is not installed")
    trace = tmp_path / "t.csv"
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "DISPLAY")}
    r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 640x360x24", sys.executable, "-m", "memoire", "play",
                        "--tour", "gallery", "--frames", "120", "--mute", "--size", "640", "360",
                        "--trace", str(trace)], cwd=root, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(trace.open()))
    assert len(rows) == 120
    wall = [float(row["wall_s"]) for row in rows]
    sim = [float(row["sim_s"]) for row in rows]
    for k in range(1, len(rows)):
        d_wall, d_sim = wall[k] - wall[k - 1], sim[k] - sim[k - 1]
        # the clock's rule: whole steps of the wall time, a stall counting as at most 0.25 s
        # the remainder moves by less than a step; each of the two differences is off by up to 1 ms (rounding)
        assert d_sim == pytest.approx(min(d_wall, 0.25), abs=physics_step_s + 2 * trace_resolution_s), k
    assert sim[0] == 0.0 and sim[-1] <= wall[-1] - wall[0] + physics_step_s
    from memoire.world.level import load_level
    from memoire.world.tour import plan_tour, pose_at

    level = load_level(root / "levels" / "hutong.toml")
    x, y, _ = pose_at(plan_tour(level, level.tour("gallery")), sim[-1])
    assert math.hypot(float(rows[-1]["x_m"]) - x, float(rows[-1]["y_m"]) - y) < 0.05
    assert "simulated in" in r.stderr + r.stdout

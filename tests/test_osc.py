"""OSC in and out (memoire/game/osc.py, docs/osc.md) over the loopback with a real python-osc client
and server: the walk driven from outside through ``Game.frame``, pose/zones/latent coming back at
the latent frame rate, bad messages counted while the game plays on, and the kiosk config keys.

The fast tests drive the bridge with a stand-in game (no audio process, no window); the slow one
runs a headless, muted game with the tiny model and the audio process (~2.5 s to start).
"""

from __future__ import annotations

import math
import shutil
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from memoire.game.osc import OscBridge, jump_m, listener_release_s, local_udp_port, parse_endpoint
from memoire.sim.physics import World, physics_step_s
from memoire.sim.player import PlayerState
from memoire.world.errors import UserError
from memoire.world.field import FieldControls, weight_blend
from memoire.world.level import load_level

YARD = '''
[level]
name = "osc yard"
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
rest = "pigeons"

[[zones]]
name = "birds"
center = [20.0, 4.5]
radius_m = 2.0
falloff_m = 2.0
anchor = "birds"

[[zones]]
name = "bells"
center = [8.0, 4.5]
radius_m = 1.5
falloff_m = 2.0
anchor = "bells"

[[tours]]
name = "east"
speed_mps = 1.0
pause_s = 0.0
points = [[3.0, 4.5], [9.0, 4.5], [15.0, 4.5], [27.0, 4.5]]
'''


class Receiver:
    """An OSC server on the loopback in a thread, keeping (perf_counter, address, args) of everything."""

    def __init__(self):
        self.got: list[tuple[float, str, tuple]] = []
        d = Dispatcher()
        d.set_default_handler(lambda address, *args: self.got.append((time.perf_counter(), address, args)))
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), d)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def of(self, address: str) -> list[tuple[float, tuple]]:
        return [(t, a) for t, addr, a in list(self.got) if addr == address]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def yard_path(tmp_path) -> Path:
    path = tmp_path / "yard.toml"
    path.write_text(YARD)
    return path


class FakeEngine:
    def __init__(self, latent_dim=4):
        self.card = SimpleNamespace(latent_dim=latent_dim, hop_samples=2048, sample_rate_hz=44100)
        self.calls: list = []

    def set_zone_gains(self, gains):
        self.calls.append(("gains", dict(gains)))

    def set_latent(self, latent):
        self.calls.append(("latent", latent))

    def set_gain(self, gain, ceiling=None):
        self.calls.append(("gain", gain))

    def stats(self):
        return SimpleNamespace(latent=(0.1, 0.2, 0.3, 0.4))


class FakeGame:
    """What the bridge uses of a Game: level, state, world, engine, place, say, keys, mode."""

    def __init__(self, level):
        self.level = level
        self.state = self.prev = PlayerState(*level.spawn_xy, 0.0)
        self.world = World(level, level.spawn_xy)
        self.engine = FakeEngine()
        self.said: list[str] = []
        self.keys: dict = {}
        self.teleport_pending = False
        self.tours: list[str] = []
        self.mode = SimpleNamespace(step=lambda game, dt, pose: None,
                                    start_tour=lambda game, name: self.tours.append(name))

    def say(self, text):
        self.said.append(text)

    def place(self, state, *, jump=False):
        self.world.teleport((state.x_m, state.y_m))
        self.state = state
        if jump:
            self.prev = state
            self.teleport_pending = True


def _wait_for(cond, timeout_s=2.0):
    deadline = time.perf_counter() + timeout_s
    while not cond() and time.perf_counter() < deadline:
        time.sleep(0.005)


def _run(bridge, game, t0, seconds, *, on_frame=None):
    """Frames of 1/60 s of the loop clock: steps, then the bridge's poll (as Game.frame orders them)."""
    t = t0
    steps_per_frame = 2
    for _ in range(round(seconds * 60)):
        for _ in range(steps_per_frame):
            game.prev = game.state
            bridge.step(game, physics_step_s, True)
        t += 1 / 60
        bridge.poll(game, t)
        if on_frame is not None:
            on_frame(t)
    return t


def test_parse_endpoint():
    assert parse_endpoint("9000", what="--osc-in", default_host="127.0.0.1") == ("127.0.0.1", 9000)
    assert parse_endpoint(9000, what="--osc-in", default_host="127.0.0.1") == ("127.0.0.1", 9000)
    assert parse_endpoint("0.0.0.0:9000", what="--osc-in", default_host="127.0.0.1") == ("0.0.0.0", 9000)
    assert parse_endpoint("localhost:9001", what="--osc-out") == ("localhost", 9001)
    for bad, what in (("9001", "give HOST:PORT"), ("host:x", "whole number"), ("host:70000", "1..65535"),
                      (":9000", "host before")):
        with pytest.raises(UserError, match=what):
            parse_endpoint(bad, what="--osc-out")


def test_zone_gains_and_latent_override_in_the_field(yard_path):
    level = load_level(yard_path)
    blend = weight_blend(level)
    at_birds = np.array([[20.0, 4.5]])
    w, rest = blend.weights(at_birds)
    assert w[0, 0] == pytest.approx(1.0) and rest[0] == pytest.approx(0.0)
    half = blend.controlled(FieldControls().with_gains({"birds": 0.5}))
    w, rest = half.weights(at_birds)
    assert w[0, 0] == pytest.approx(0.5) and rest[0] == pytest.approx(0.5)  # the rest takes what is left
    off = blend.controlled(FieldControls().with_gains({"birds": 0.0, "nowhere": 0.3}))
    assert off.weights(at_birds)[0][0, 0] == 0.0 and off.gains is not None
    # an override of the blend's latent size is the target everywhere; every weight is 0 then
    lat = blend.controlled(FieldControls().with_latent([1.0, 2.0, 3.0, 4.0]))
    assert lat.override is None  # the weight blend has no latents (size 0): ignored
    from dataclasses import replace

    full = replace(blend, latents=np.zeros((2, 4)), rest_latent=np.zeros(4))
    lat = full.controlled(FieldControls().with_latent([1.0, 2.0, 3.0, 4.0]))
    z, tau = lat.target(at_birds)
    assert z[0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert lat.weights(at_birds)[1][0] == 0.0
    assert full.controlled(FieldControls()).override is None and full.controlled(FieldControls()).gains is None


def test_the_bridge_steers_through_walls_releases_and_counts_bad_messages(yard_path):
    level = load_level(yard_path)
    game = FakeGame(level)
    rx = Receiver()
    bridge = OscBridge.open("127.0.0.1:0", f"127.0.0.1:{rx.port}")
    client = SimpleUDPClient("127.0.0.1", bridge.port)
    try:
        # a near point: steered there through the physics world
        client.send_message("/memoire/listener", [6.0, 4.0, 180.0])
        _wait_for(lambda: bridge._slot is not None)
        t = _run(bridge, game, 0.0, 0.1)
        assert bridge.drives
        def listener(x, y, h):  # sent, and in the slot before the next frame (the loop clock runs ahead of real time)
            client.send_message("/memoire/listener", [x, y, h])
            _wait_for(lambda: bridge._slot is not None and (bridge._slot.x_m, bridge._slot.y_m) == (x, y))

        t = _run(bridge, game, t, 0.8, on_frame=lambda t: listener(6.0, 4.0, 180.0))
        assert (game.state.x_m, game.state.y_m) == pytest.approx((6.0, 4.0), abs=0.02)
        assert game.state.heading_rad == pytest.approx(math.pi)
        # a point inside the north wall (row 0 is y 0..1.5): walked toward, stopped at the wall
        t = _run(bridge, game, t, 1.0, on_frame=lambda t: listener(6.0, 0.5, 0.0))
        assert 1.5 < game.state.y_m < 1.5 + 0.3
        # a far walkable point: a jump (placed at once, crossfaded)
        listener(25.0, 4.5, 90.0)
        t = _run(bridge, game, t, 1 / 60)
        game.teleport_pending = False
        t = _run(bridge, game, t, 1 / 60)
        assert (game.state.x_m, game.state.y_m) == (25.0, 4.5) and game.teleport_pending
        assert math.hypot(25.0 - 6.0, 0.0) > jump_m
        # silence hands the walk back
        t = _run(bridge, game, t, listener_release_s + 0.1)
        assert not bridge.drives and any("handed back" in s for s in game.said)

        # the other commands reach the audio client (latest value wins within a frame)
        client.send_message("/memoire/zone/birds/gain", 0.25)
        client.send_message("/memoire/volume", 0.5)
        client.send_message("/memoire/latent", [0.5, -0.5, 1.0, 2.0])
        client.send_message("/memoire/latent", [])
        client.send_message("/memoire/tour", "east")
        time.sleep(0.1)
        t = _run(bridge, game, t, 1 / 60)
        calls = game.engine.calls
        assert ("gains", {"birds": 0.25}) in calls and ("gain", 0.5) in calls and ("latent", None) in calls
        assert game.tours == ["east"]

        # bad messages, one or two of each kind
        bad = [("/memoire/nope", [1.0]), ("/other", []),
               ("/memoire/listener", [1.0, 2.0]), ("/memoire/volume", []),
               ("/memoire/listener", [1.0, "x", 3.0]), ("/memoire/tour", [3]),
               ("/memoire/listener", [float("nan"), 2.0, 3.0]),
               ("/memoire/volume", [2.0]), ("/memoire/listener", [1000.0, 2.0, 0.0]),
               ("/memoire/zone/nowhere/gain", [0.5]), ("/memoire/tour", ["nowhere"]),
               ("/memoire/latent", [1.0, 2.0])]
        for address, args in bad:
            client.send_message(address, args)
            time.sleep(0.01)
            t = _run(bridge, game, t, 1 / 60)  # the listener is latest-wins: each bad one its own frame
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"hello, not OSC", ("127.0.0.1", bridge.port))
        deadline = time.perf_counter() + 3.0
        while sum(bridge.bad.values()) < 13 and time.perf_counter() < deadline:  # datagrams still in flight
            time.sleep(0.01)
            t = _run(bridge, game, t, 1 / 60)
        assert dict(bridge.bad) == {"unknown address": 2, "wrong argument count": 3, "wrong type": 2,
                                    "not a number": 1, "out of range": 2, "unknown zone": 1, "unknown tour": 1,
                                    "not OSC": 1}
        assert sum("OSC: ignored" in s for s in game.said) == 8  # once per kind
        line = bridge.summary()
        assert "bad OSC messages 13" in line and "unknown address 2" in line

        # out: pose, zones and latent about once per latent frame (2048 / 44100 s) of the loop clock
        before = len(rx.of("/memoire/pose"))
        t = _run(bridge, game, t, 3.0)
        _wait_for(lambda: len(rx.of("/memoire/pose")) >= before + 64)
        period = 2048 / 44100
        for address in ("/memoire/pose", "/memoire/zones", "/memoire/latent"):
            assert abs(len(rx.of(address)) - before - 3.0 / period) <= 2, address
        assert rx.of("/memoire/latent")[-1][1] == pytest.approx((0.1, 0.2, 0.3, 0.4))
    finally:
        bridge.close()
        rx.close()


def test_a_port_in_use_is_a_user_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"OSC port {port} is in use: pick another with --osc-in"):
            OscBridge.open(f"127.0.0.1:{port}", None)
    bridge = OscBridge.open(port, None)  # free again: the default host is the loopback
    bridge.close()
    assert OscBridge.open(None, None) is None


def test_play_options_check_the_osc_flags(tmp_path):
    from memoire.game.app import PlayOptions, check_play_options

    with pytest.raises(UserError, match="--osc-out: give HOST:PORT"):
        check_play_options(PlayOptions(level_path=tmp_path / "x.toml", osc_out="9001"))
    with pytest.raises(UserError, match="--osc-in: the port must be"):
        check_play_options(PlayOptions(level_path=tmp_path / "x.toml", osc_in="99999"))
    check_play_options(PlayOptions(level_path=tmp_path / "x.toml", osc_in="9000", osc_out="127.0.0.1:9001"))
    from memoire.cli import build_parser

    args = build_parser().parse_args(["play", "--osc-in", "9000", "--osc-out", "127.0.0.1:9001"])
    assert (args.osc_in, args.osc_out) == ("9000", "127.0.0.1:9001")


def test_kiosk_config_osc_keys(tmp_path, root):
    from memoire.kiosk.config import ConfigError, parse_kiosk_config

    path = tmp_path / "kiosk.toml"
    c = parse_kiosk_config('[kiosk]\nosc_in = 9000\nosc_out = "127.0.0.1:9001"\n', path)
    assert (c.osc_in, c.osc_out) == ("127.0.0.1:9000", "127.0.0.1:9001")
    c = parse_kiosk_config('[kiosk]\nosc_in = "0.0.0.0:9000"\n', path)
    assert (c.osc_in, c.osc_out) == ("0.0.0.0:9000", None)
    with pytest.raises(ConfigError) as e:
        parse_kiosk_config('[kiosk]\nidle_s = 40\nosc_in = 70000\nosc_out = 9001\nosc_outt = 1\n', path)
    text = str(e.value)
    assert f"{path}:3: [kiosk]: osc_in: the port must be 1..65535, got 70000" in text
    assert f"{path}:4: [kiosk]: osc_out: give HOST:PORT" in text
    assert f"{path}:5: [kiosk]: unknown field 'osc_outt'" in text
    with pytest.raises(ConfigError, match=r"kiosk.toml:2: \[kiosk\]: osc_in must be a port number"):
        parse_kiosk_config('[kiosk]\nosc_in = true\n', path)
    shipped = parse_kiosk_config((root / "config" / "kiosk.toml").read_text(), root / "config" / "kiosk.toml")
    assert shipped.osc_in is None and shipped.osc_out is None  # off unless a venue turns it on


@pytest.mark.slow  # starts the audio process (~2.5 s) and a software-rendered EGL context
@pytest.mark.gl
def test_an_osc_session_drives_a_headless_game_and_gets_its_latents_back(tmp_path, tiny_model_path):
    """The recorded session of docs/osc.md: a walk sent at 20 Hz (loop clock paced to real time),
    every message coming back counted, the latent override and the zone gain heard in the output."""
    from memoire.game.app import Game, PlayOptions, session_line

    shutil.copy(tiny_model_path, tmp_path / "tiny.ts")
    level_path = tmp_path / "yard.toml"
    level_path.write_text(YARD)
    rx = Receiver()
    in_port = local_udp_port()
    game = Game(PlayOptions(level_path=level_path, headless=True, mute=True, size_px=(160, 90),
                            osc_in=str(in_port), osc_out=f"127.0.0.1:{rx.port}"))
    game.open()
    client = SimpleUDPClient("127.0.0.1", in_port)
    sent = 0
    t0 = time.perf_counter()
    t = 0.0

    def run(seconds, send=None):
        """Frames at 60 Hz of the loop clock, paced to real time; ``send(t)`` every 50 ms."""
        nonlocal t, sent
        next_send = t
        end = t + seconds
        while t < end - 1e-9:
            if send is not None and t >= next_send - 1e-9:
                sent += send(t)
                next_send += 0.05
            t += 1 / 60
            lag = (t0 + t) - time.perf_counter()
            if lag > 0:
                time.sleep(lag)
            game.frame(t)

    def walk(start, end_xy, seconds):
        def send(now):
            u = min(1.0, (now - start_t) / seconds)
            x = start[0] + u * (end_xy[0] - start[0])
            y = start[1] + u * (end_xy[1] - start[1])
            client.send_message("/memoire/listener", [x, y, 90.0])
            return 1
        start_t = t
        run(seconds + 0.5, send)

    try:
        game.frame(t)
        walk((3.0, 4.5), (9.0, 4.5), 3.0)  # 1 m/s... then 2 m/s east, past the bells
        assert (game.state.x_m, game.state.y_m) == pytest.approx((9.0, 4.5), abs=0.05)
        walk((9.0, 4.5), (20.0, 4.5), 5.5)  # into the birds
        assert game.osc.drives and game.state.x_m == pytest.approx(20.0, abs=0.05)
        zones = rx.of("/memoire/zones")[-1][1]
        assert zones[0] == "birds" and zones[1] == pytest.approx(1.0)
        client.send_message("/memoire/zone/birds/gain", 0.0)  # the birds silenced: the rest plays there
        sent += 1
        walk((20.0, 4.5), (20.0, 4.0), 0.5)
        assert rx.of("/memoire/zones")[-1][1] == ()
        # the latent override: what the synth decodes (and sends back) goes there
        dim = game.engine.card.latent_dim
        target = [0.5] * dim
        client.send_message("/memoire/latent", target)
        sent += 1
        walk((20.0, 4.0), (20.0, 4.0), 1.5)
        got = np.array(rx.of("/memoire/latent")[-1][1])
        assert len(got) == dim and np.abs(got - 0.5).max() < 0.05
        client.send_message("/memoire/latent", [])
        client.send_message("/memoire/volume", 0.5)
        sent += 2
        for bad in (("/memoire/nope", 1), ("/memoire/listener", [1.0, 2.0]), ("/memoire/volume", 7.0)):
            client.send_message(*bad)
        run(listener_release_s + 0.5)  # the stream stops: the keys have the walk again
        assert not game.osc.drives and game.running
        assert game.engine.stats().gain == pytest.approx(0.5)
        assert dict(game.osc.bad) == {"unknown address": 1, "wrong argument count": 1, "out of range": 1}
        elapsed_real = time.perf_counter() - t0
    finally:
        game.close()
        time.sleep(0.1)
        rx.close()
    line = session_line(game, game.engine.stats())
    assert "bad OSC messages 3 (unknown address 1, wrong argument count 1, out of range 1)" in line
    period = game.engine.card.hop_samples / game.engine.card.sample_rate_hz
    lat = rx.of("/memoire/latent")
    times = np.array([ts for ts, _ in lat])
    rate = (len(times) - 1) / (times[-1] - times[0])
    counts = {a: len(rx.of(a)) for a in ("/memoire/pose", "/memoire/zones", "/memoire/latent")}
    for address, n in counts.items():
        assert abs(n - t / period) <= 3, (address, n, t / period)
    assert rate == pytest.approx(1 / period, rel=0.1)
    gaps = np.diff(times) * 1000
    print(f"\nOSC session: {t:.1f} s of loop clock in {elapsed_real:.1f} s real; sent {sent} good + 3 bad; "
          f"got back {counts}; latent rate {rate:.2f} Hz (latent frame rate {1 / period:.2f} Hz), "
          f"gaps median {np.median(gaps):.1f} ms p99 {np.percentile(gaps, 99):.1f} ms max {gaps.max():.1f} ms; "
          f"game: {game.osc.received} taken; {line}")


def test_the_kiosk_opens_the_bridge_from_its_config_and_folds_the_volume_into_its_gain():
    from memoire.kiosk.config import KioskConfig
    from memoire.kiosk.game import KioskMode

    mode = KioskMode(KioskConfig(None, osc_in="127.0.0.1:0"), window=None)
    game = SimpleNamespace(osc=None)
    mode._open_osc(game)
    try:
        assert game.osc is not None and game.osc.port and not game.osc.owns_gain
        first = game.osc
        mode._open_osc(game)  # the command line's bridge (or this one) is kept
        assert game.osc is first
    finally:
        game.osc.close()
    none = SimpleNamespace(osc=None)
    KioskMode(KioskConfig(None), window=None)._open_osc(none)
    assert none.osc is None

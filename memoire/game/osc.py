"""OSC in and out for the one loop (python-osc): ``OscBridge``. The address space is docs/osc.md.

In (``--osc-in [HOST:]PORT``, [kiosk] osc_in; loopback unless a host is given):

    /memoire/listener x y heading    level metres, compass degrees: drive the walk from outside
    /memoire/zone/<name>/gain g      0..1 on that zone's weight in the blend
    /memoire/latent z1 ... zN        play this latent (N = the model's latent_dim); no numbers: release
    /memoire/volume v                0..1: the one output gain stage (``set_gain``)
    /memoire/tour name               walk that tour of the level from its start

Out (``--osc-out HOST:PORT``, [kiosk] osc_out), once per latent frame (hop / sample rate of the
model: 2048 / 44100 Hz = 46.4 ms) of the loop's clock:

    /memoire/pose x y heading        /memoire/zones name1 w1 ...        /memoire/latent z1 ... zN

Threads. The server is python-osc's ``BlockingOSCUDPServer`` on one daemon thread. Why a thread
rather than a socket polled each frame: the parsing and the checks that need no game state run
off the main thread, and whatever rate a controller sends at, the main thread's share is one
slot read and a short queue drained per frame (a stream of listener messages coalesces in the
slot: latest value wins). Why not ``ThreadingOSCUDPServer``: a thread per datagram for 100
messages a second is churn, and order between messages would be lost. The server thread writes
only the listener slot (under a lock) and the queue; the game's main thread reads both in
``poll`` (``Game.poll_background``) and is the only writer of game state (the player, the audio
client's calls, the counts). Checks that need the level (bounds, zone and tour names) or the
model (the latent's size) run there too.

Driving the walk: while listener messages arrive, each fixed step steers the player toward the
last point sent through the physics world, as the keys do (velocity = gap / ``steer_time_s``,
at most ``steer_max_mps``), so walls stay solid: a point inside a wall is walked toward and the
player stops at the wall. A walkable point farther than ``jump_m`` is a jump: placed at once, the
synth crossfading as at a tour's restart. The heading is taken as sent. A stream silent for
``listener_release_s`` of the loop's clock hands the walk back to the mode (keys, tour, the
kiosk's director); a tour that resumes far away is a jump too.

Sending happens on the main thread in ``poll``, at most once per latent frame of the loop's
clock (a frame slower than that sends once per frame: nothing is sent twice to catch up), and
never raises: a failed send is counted and said once.

Bad messages (unknown address, wrong argument count or type, NaN or infinity, out of range,
unknown zone or tour, a datagram that is not OSC) are counted by kind, said once per kind
(``game.say``: the screen, or the kiosk's log), and never stop the game; the counts reach the
session line (``summary``).
"""

from __future__ import annotations

import logging
import math
import queue
import socket
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np

from memoire.sim.player import PlayerState
from memoire.world.errors import UserError
from memoire.world.field import FieldControls, weight_blend

log = logging.getLogger("memoire.osc")

PREFIX = "/memoire"
# A listener stream that has been silent this long (loop-clock seconds) hands the walk back.
listener_release_s = 1.0
# Steering toward a sent point: the gap closes with this time constant, at most this fast (at
# 5 m/s a 120 Hz step moves 4 cm, far below the player's radius: no tunnelling through walls).
steer_time_s = 0.1
steer_max_mps = 5.0
# A walkable point farther than this from the player is a jump (placed at once, crossfaded).
jump_m = 5.0
# Latent values sent in must lie within +-latent_limit (a RAVE latent is within about +-5).
latent_limit = 100.0
# The default host for --osc-in PORT: this machine only; give 0.0.0.0:PORT to listen on the network.
default_in_host = "127.0.0.1"
# The server thread checks for shutdown this often (seconds).
server_poll_s = 0.1

# Kinds of bad message, in the order the session line lists them.
BAD_KINDS = ("not OSC", "unknown address", "wrong argument count", "wrong type", "not a number", "out of range",
             "unknown zone", "unknown tour")


def parse_endpoint(text, *, what: str, default_host: str | None = None, any_port: bool = False
                   ) -> tuple[str, int]:
    """'HOST:PORT' or, with ``default_host``, 'PORT' (an int too) -> (host, port). ``any_port``
    allows port 0 (the system picks a free one: tests). Raises UserError naming ``what``."""
    raw = str(text).strip()
    host, sep, port_text = raw.rpartition(":")
    if not sep:
        if default_host is None:
            raise UserError(f"{what}: give HOST:PORT, e.g. 127.0.0.1:9001; got '{raw}'")
        host, port_text = default_host, raw
    host = host.strip("[]")
    if not host:
        raise UserError(f"{what}: the host before ':' is empty in '{raw}'")
    try:
        port = int(port_text)
    except ValueError:
        raise UserError(f"{what}: the port must be a whole number, got '{port_text}'") from None
    low = 0 if any_port else 1
    if not low <= port <= 65535:
        raise UserError(f"{what}: the port must be {low}..65535, got {port}")
    return host, port


def check_osc_options(osc_in, osc_out, *, in_flag: str = "--osc-in", out_flag: str = "--osc-out") -> None:
    """The OSC options as typed, checked before anything starts (no port is bound). Raises UserError."""
    if osc_in is not None:
        parse_endpoint(osc_in, what=in_flag, default_host=default_in_host, any_port=True)
    if osc_out is not None:
        parse_endpoint(osc_out, what=out_flag)


@dataclass(frozen=True)
class _Listener:
    x_m: float
    y_m: float
    heading_deg: float


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class OscBridge:
    """OSC in (a server thread feeding the main thread) and out (sent from the main thread) for
    one game. ``open`` binds the ports (UserError when one is taken); ``poll`` once a frame,
    ``step`` every fixed step (Game.update), ``close`` at the end. Main thread, except the server."""

    def __init__(self, listen: tuple[str, int] | None, send_to: tuple[str, int] | None, *,
                 in_flag: str = "--osc-in", out_flag: str = "--osc-out"):
        self.owns_gain = True  # /memoire/volume calls set_gain; the kiosk folds it into its own gain instead
        self.volume = 1.0
        self.received = 0  # good messages taken by the main thread
        self.sent = 0  # messages sent
        self.send_failures = 0
        self.bad: Counter = Counter()
        self.drives = False  # the listener stream is walking the player now
        self.target: _Listener | None = None
        self._release_at_s = 0.0
        self._rejoin: tuple[float, float] | None = None  # where OSC let go: the mode's first pose may jump
        self._said: set[str] = set()
        self._slot_lock = threading.Lock()
        self._slot: _Listener | None = None  # latest listener message (server thread writes)
        self._slot_count = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # other commands and bad reports, in order
        self._gains: dict[str, float] = {}
        self._blend = None  # the level's weight blend under the zone gains, for /memoire/zones
        self._blend_level = None
        self._next_out_s: float | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._client = None
        self.port: int | None = None
        if listen is not None:
            self._serve(listen, in_flag)
        if send_to is not None:
            try:
                from pythonosc.udp_client import SimpleUDPClient

                self._client = SimpleUDPClient(*send_to)
            except (OSError, UnicodeError) as e:
                self.close()
                raise UserError(f"{out_flag} {send_to[0]}:{send_to[1]}: cannot send there ({e})") from None
        self.send_to = send_to

    @classmethod
    def open(cls, osc_in, osc_out, *, in_flag: str = "--osc-in", out_flag: str = "--osc-out") -> "OscBridge | None":
        """A bridge for the options (``[HOST:]PORT`` texts or ints; None: that side off); None when both are off."""
        if osc_in is None and osc_out is None:
            return None
        listen = None if osc_in is None else parse_endpoint(osc_in, what=in_flag, default_host=default_in_host,
                                                            any_port=True)
        send_to = None if osc_out is None else parse_endpoint(osc_out, what=out_flag)
        return cls(listen, send_to, in_flag=in_flag, out_flag=out_flag)

    # -- the server thread ------------------------------------------------------------------------

    def _serve(self, listen: tuple[str, int], flag: str) -> None:
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        bridge = self

        class _Server(BlockingOSCUDPServer):
            def verify_request(self, request, client_address) -> bool:
                ok = super().verify_request(request, client_address)
                if not ok:
                    bridge._report("not OSC", f"a {len(request[0])}-byte datagram that is not OSC")
                return ok

        dispatcher = Dispatcher(strict_timing=False)  # a bundle's time tag never holds up the thread
        dispatcher.set_default_handler(self._on_message)
        host, port = listen
        try:
            self._server = _Server((host, port), dispatcher)
        except OSError as e:
            import errno

            if e.errno == errno.EADDRINUSE:
                raise UserError(f"OSC port {port} is in use: pick another with {flag}") from None
            raise UserError(f"{flag} {host}:{port}: cannot listen there ({e.strerror or e})") from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(server_poll_s,),
                                        name="memoire-osc-in", daemon=True)
        self._thread.start()
        log.info("OSC: listening on %s:%d", host, self.port)

    def _report(self, kind: str, detail: str) -> None:
        self._queue.put(("bad", kind, detail))

    def _on_message(self, address: str, *args) -> None:
        """The server thread: check what needs no game state, hand the rest to the main thread."""
        try:
            self._route(address, args)
        except Exception as e:  # never let one datagram end the server thread
            self._report("wrong type", f"{address}: {e}")

    def _route(self, address: str, args: tuple) -> None:
        def numbers(count: int | None) -> list[float] | None:
            if count is not None and len(args) != count:
                self._report("wrong argument count", f"{address} takes {count} number{'s' if count != 1 else ''}, "
                                                     f"got {len(args)} arguments")
                return None
            if not all(_number(a) for a in args):
                bad = next(a for a in args if not _number(a))
                self._report("wrong type", f"{address} takes numbers, got {type(bad).__name__} {bad!r}")
                return None
            values = [float(a) for a in args]
            if not all(math.isfinite(v) for v in values):
                self._report("not a number", f"{address}: NaN or infinity in {values}")
                return None
            return values

        def unit(v: float) -> bool:
            if 0.0 <= v <= 1.0:
                return True
            self._report("out of range", f"{address} takes 0..1, got {v:g}")
            return False

        if address == f"{PREFIX}/listener":
            v = numbers(3)
            if v is not None:
                with self._slot_lock:
                    self._slot = _Listener(*v)
                    self._slot_count += 1
        elif address == f"{PREFIX}/volume":
            v = numbers(1)
            if v is not None and unit(v[0]):
                self._queue.put(("volume", v[0]))
        elif address == f"{PREFIX}/latent":
            v = numbers(None)
            if v is None:
                return
            if any(abs(x) > latent_limit for x in v):
                self._report("out of range", f"{address}: latent values must be within +-{latent_limit:g}")
                return
            self._queue.put(("latent", tuple(v) if v else None))
        elif address == f"{PREFIX}/tour":
            if len(args) != 1:
                self._report("wrong argument count", f"{address} takes one tour name, got {len(args)} arguments")
            elif not isinstance(args[0], str):
                self._report("wrong type", f"{address} takes a tour name (a string), got {args[0]!r}")
            else:
                self._queue.put(("tour", args[0]))
        elif address.startswith(f"{PREFIX}/zone/") and address.endswith("/gain") and address.count("/") == 4:
            name = address[len(f"{PREFIX}/zone/"):-len("/gain")]
            v = numbers(1)
            if name and v is not None and unit(v[0]):
                self._queue.put(("gain", name, v[0]))
        else:
            self._report("unknown address", f"{address} (Memoire takes /memoire/listener, /memoire/zone/<name>/gain, "
                                            "/memoire/latent, /memoire/volume, /memoire/tour; see docs/osc.md)")

    # -- the main thread --------------------------------------------------------------------------

    def _bad(self, game, kind: str, detail: str) -> None:
        self.bad[kind] += 1
        if kind not in self._said:
            self._said.add(kind)
            log.warning("OSC: ignored: %s", detail)
            game.say(f"OSC: ignored {detail} (bad messages are counted; said once per kind)")

    def poll(self, game, now_s: float) -> None:
        """Once a frame (Game.poll_background): take what arrived, apply it, send what is due."""
        with self._slot_lock:
            got, self._slot, count = self._slot, None, self._slot_count
            self._slot_count = 0
        if got is not None:
            self._take_listener(game, got, count, now_s)
        gains: dict[str, float] = {}
        latent = volume = tour = None
        latent_seen = False
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            kind = item[0]
            if kind == "bad":
                self._bad(game, item[1], item[2])
                continue
            if kind == "gain":
                if item[1] not in (z.name for z in game.level.zones):
                    self._bad(game, "unknown zone", f"/memoire/zone/{item[1]}/gain: the level has no zone "
                              f"'{item[1]}'; its zones: {', '.join(z.name for z in game.level.zones) or 'none'}")
                    continue
                gains[item[1]] = item[2]
            elif kind == "latent":
                dim = game.engine.card.latent_dim
                if item[1] is not None and len(item[1]) != dim:
                    self._bad(game, "wrong argument count", f"/memoire/latent takes {dim} numbers (the model's "
                              f"latent size) or none to release, got {len(item[1])}")
                    continue
                latent, latent_seen = item[1], True
            elif kind == "volume":
                volume = item[1]
            elif kind == "tour":
                if item[1] not in (t.name for t in game.level.tours):
                    self._bad(game, "unknown tour", f"/memoire/tour '{item[1]}': the level's tours: "
                              f"{', '.join(t.name for t in game.level.tours) or 'none'}")
                    continue
                tour = item[1]
            self.received += 1
        if gains:
            self._gains.update(gains)
            self._blend = None
            game.engine.set_zone_gains(gains)
        if latent_seen:
            game.engine.set_latent(latent)
        if volume is not None:
            self.volume = volume
            if self.owns_gain:
                game.engine.set_gain(volume)
        if tour is not None:
            self._release(game, "a tour takes over")
            try:
                game.mode.start_tour(game, tour)
            except UserError as e:
                game.say(f"OSC: /memoire/tour {tour}: {e}")
        if self.drives and now_s >= self._release_at_s:
            self._release(game, f"no listener message for {listener_release_s:g} s")
        if self._client is not None:
            self._send_due(game, now_s)

    def _take_listener(self, game, got: _Listener, count: int, now_s: float) -> None:
        (x0, y0), (x1, y1) = (0.0, 0.0), game.level.tiles.size_m
        if not (x0 <= got.x_m <= x1 and y0 <= got.y_m <= y1):
            self._bad(game, "out of range", f"/memoire/listener {got.x_m:g} {got.y_m:g}: outside the level "
                      f"(0..{x1:g} x 0..{y1:g} m)")
            return
        self.received += count
        self.target = got
        self._release_at_s = now_s + listener_release_s
        if not self.drives:
            self.drives = True
            self._rejoin = None
            game.keys.clear()
            game.say("OSC drives the walk (/memoire/listener)")

    def _release(self, game, why: str) -> None:
        if not self.drives:
            return
        self.drives = False
        self.target = None
        self._rejoin = (game.state.x_m, game.state.y_m)
        game.say(f"OSC: the walk is handed back ({why})")

    def step(self, game, dt_s: float, pose: bool) -> None:
        """One fixed step (Game.update): steer toward the sent point, or the mode's step."""
        if not self.drives:
            game.mode.step(game, dt_s, pose)
            if self._rejoin is not None:
                s = game.state
                moved = math.hypot(s.x_m - self._rejoin[0], s.y_m - self._rejoin[1])
                if moved > jump_m:  # a tour resumed far from where OSC let go: a jump, crossfaded
                    game.prev = s
                    game.teleport_pending = True
                if moved > 0.0:
                    self._rejoin = None
            return
        t, s = self.target, game.state
        heading = math.radians(t.heading_deg % 360.0)
        dx, dy = t.x_m - s.x_m, t.y_m - s.y_m
        gap = math.hypot(dx, dy)
        if gap > jump_m and game.level.tiles.is_walkable(t.x_m, t.y_m):
            game.place(PlayerState(t.x_m, t.y_m, heading, s.pitch_rad), jump=True)
            return
        speed = min(gap / steer_time_s, steer_max_mps)
        v = (dx / gap * speed, dy / gap * speed) if gap > 1e-9 else (0.0, 0.0)
        p = game.world.step(v, dt_s)
        game.state = PlayerState(p.x_m, p.y_m, heading, s.pitch_rad)

    # -- out ------------------------------------------------------------------------------------

    def _send_due(self, game, now_s: float) -> None:
        card = game.engine.card
        period = card.hop_samples / card.sample_rate_hz
        if self._next_out_s is not None and now_s < self._next_out_s:
            return
        self._next_out_s = (now_s if self._next_out_s is None else self._next_out_s) + period
        if self._next_out_s <= now_s:  # a slow frame: no burst of repeats, the next one a period on
            self._next_out_s = now_s + period
        s = game.state
        self._send("/memoire/pose", [float(s.x_m), float(s.y_m), math.degrees(s.heading_rad) % 360.0])
        if self._blend is None or self._blend_level is not game.level:
            self._blend_level = game.level
            self._blend = weight_blend(game.level).controlled(FieldControls().with_gains(self._gains))
        w, _ = self._blend.weights(np.array([[s.x_m, s.y_m]]))
        zones: list = []
        for name, weight in zip(self._blend.names, w[0]):
            if weight > 0.0:
                zones += [name, float(weight)]
        self._send("/memoire/zones", zones)
        latent = game.engine.stats().latent
        if latent:
            self._send("/memoire/latent", [float(v) for v in latent])

    def _send(self, address: str, values: list) -> None:
        try:
            self._client.send_message(address, values)
            self.sent += 1
        except OSError as e:  # nobody listening, a full buffer, a network gone: counted, said once
            self.send_failures += 1
            if self.send_failures == 1:
                log.warning("OSC: cannot send to %s:%d (%s); counting failures", *self.send_to, e)

    # -- the end ----------------------------------------------------------------------------------

    def summary(self) -> str:
        """For the session line: ', OSC in N, out M' and the bad messages by kind, if any."""
        text = f", OSC in {self.received}, out {self.sent}"
        if self.send_failures:
            text += f" ({self.send_failures} sends failed)"
        total = sum(self.bad.values())
        if total:
            kinds = ", ".join(f"{k} {self.bad[k]}" for k in BAD_KINDS if self.bad[k])
            text += f", bad OSC messages {total} ({kinds})"
        return text

    def close(self) -> None:
        """Stop the server thread and close both sockets; idempotent."""
        if self._server is not None:
            if self._thread is not None and self._thread.is_alive():
                self._server.shutdown()  # returns once serve_forever has (within server_poll_s)
            self._server.server_close()
            self._server = None
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None


def local_udp_port() -> int:
    """A free UDP port on the loopback (tests and examples)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

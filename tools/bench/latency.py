"""Motion-to-sound latency, measured two ways on the PulseAudio null sink while the game renders.

    xvfb-run -a -s "-screen 0 1280x720x24" .venv/bin/python tools/bench/latency.py [--steps 20]
    xvfb-run -a -s "-screen 0 1280x720x24" .venv/bin/python tools/bench/latency.py --tour gallery --frames 600

Steps (the default): the real game loop (memoire/game/app.py ``Game``, the renderer drawing the
default level's map) with the real audio process playing on the null sink, on a copy of the
default level whose sound has two places only: a rest whose latent vector decodes near silence
(-59 dBFS with the shipped model) and one zone whose vector decodes loud (-13 dBFS), with
10 ms time constants and the synth's latent speed cap lifted (``max_latent_speed_per_s``), so the
first latent frame decoded for the new pose is already loud. A scripted mode stands the listener
in the silent place, then steps it into the zone (not a teleport: no crossfade), ``--steps``
times at random phase against the synth's 46 ms frames. Meanwhile ``parec`` records the null
sink's monitor. For each step the time the game wrote the pose (its listener stamp,
``time.perf_counter()``) is kept, and the onset found in the recording: the first 1 ms RMS
window above ``--threshold-db`` after it. Step-to-onset is reported raw and less the model's
own onset delay (the same detector on the model decoding silent -> loud offline: ~2.3 ms).

Clock alignment: the recording's sample n is mapped to perf_counter time t(n) = a + n / rate.
Each read from parec's pipe gives (arrival time t_i, frames received so far n_i); a sample cannot
arrive before it was rendered, so a <= t_i - n_i / rate for every read, and the lower envelope
(minimum over reads; drift fitted over 2 s windows) is the estimate: the read that arrived with
the least delay. The null sink renders in blocks, consumed up to one block before their time, so
the uncertainty is about one render block; the script prints the block it saw (the median
interval between bursts) and the spread of the window minima.

The engine's own meter (memoire/audio/synth.py ``LatencyMeter``: pose stamp -> the callback
taking the block's first sample from the ring, plus the device latency) covers the same steps
(up and down). With ``--tour`` the script walks the level's tour instead (the default level as
it ships) and prints the engine meter's mean and p95, underruns and the session figures: the
walking figure. Levers for comparison (environment, read by the audio process):
MEMOIRE_AUDIO_JIT=0 (the fixed 3-frame queue), MEMOIRE_AUDIO_RT=0 (normal priority),
MEMOIRE_AUDIO_BLOCK / MEMOIRE_AUDIO_LATENCY_S (the device's block and buffer), MEMOIRE_AUDIO_RELAY=0
(the device callback in the audio process, not in a device process of its own).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

RATE = 44100
# Found with the shipped model (assets/models/hutong.ts, 12 latent dimensions): held still, the
# first decodes at -58.8 dBFS (1 ms windows at most -48.8), the second at -12.6 dBFS.
QUIET = [-0.64, 0.73, -1.17, -1.43, 0.64, 0.75, -0.96, 0.56, -0.29, 0.3, -1.26, 0.83]
LOUD = [-1.05, -4.39, 2.55, 5.55, -2.88, -0.3, -2.06, -1.14, 0.14, -3.73, -0.83, -4.4]
QUIET_XY = (10.0, 18.75)  # the lane's west part: 20 m from the zone
LOUD_XY = (30.0, 18.75)  # the zone's centre
WINDOW = 44  # 1 ms RMS windows
# The zone's reach (the spatial synth's voices, memoire/audio/voices.py): a voice is decoded only
# while its zone is audible (above -60 dB), and one that turns real fades in over 0.4 s, so the
# zone must stay audible at the quiet place for a step to be heard at once: the logarithmic curve
# over 22 m of falloff is -52 dB at the quiet place's 18 m (the loud latent then plays at -64
# dBFS, under the rest's -59) and 0 dB inside the 2 m radius.
LOUD_FALLOFF_M = 22.0


def bench_level(out_dir: Path, model: Path) -> Path:
    """The default level's map and props with the two-place sound (see the docstring)."""
    text = (ROOT / "levels" / "hutong.toml").read_text()
    head = text[: text.index("[sound]")]
    sound = f"""[sound]
model = "{model.resolve()}"
field = "zones"
smoothing_s = 0.01
rest = {QUIET}
gain_db = 0.0
output = "binaural"
distance_curve = "logarithmic"

[[zones]]
name = "loud"
shape = "circle"
center = [{LOUD_XY[0]}, {LOUD_XY[1]}]
radius_m = 2.0
falloff_m = {LOUD_FALLOFF_M}
curve = "linear"
fade_s = 0.01
anchor = {LOUD}
"""
    path = out_dir / "latency_bench.toml"
    path.write_text(head + sound)
    return path


def envelope_db(mono: np.ndarray) -> np.ndarray:
    env = np.sqrt(np.convolve(mono.astype(np.float64) ** 2, np.ones(WINDOW) / WINDOW, "same"))
    return 20 * np.log10(env + 1e-12)


def model_onset_ms(model: Path, threshold_db: float) -> float:
    """The model's own delay: decode silent frames then loud ones; the onset after the boundary."""
    code = f"""
import json, numpy as np, torch, sys
sys.path.insert(0, {str(ROOT)!r})
from tools.bench.latency import envelope_db
torch.set_num_threads(1)
m = torch.jit.load({str(model)!r}).eval()
q, l = np.array({QUIET}, np.float32), np.array({LOUD}, np.float32)
out = []
for k in range(5):
    m.reset()
    z = torch.from_numpy(np.stack([q] * (20 + k) + [l] * 6, 1))[None]
    with torch.inference_mode():
        y = m.decode(z)[0, 0].numpy()
    b = (20 + k) * 2048
    db = envelope_db(y)
    out.append((b - 2048 + int(np.argmax(db[b - 2048:] > {threshold_db}))) - b)
print(json.dumps(float(np.median(out)) * 1000.0 / 44100))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return float(json.loads(r.stdout.strip().splitlines()[-1]))


class MonitorRecorder:
    """``parec`` on the null sink's monitor; each read's arrival time (perf_counter) kept."""

    def __init__(self, sink: str, latency_ms: int = 2):
        self.proc = subprocess.Popen(["parec", "-d", f"{sink}.monitor", "--format=s16le", f"--rate={RATE}",
                                      "--channels=2", f"--latency-msec={latency_ms}", "--raw"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self.data = bytearray()
        self.reads: list[tuple[float, int]] = []  # (arrival time, frames received so far)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 1024)
            t = time.perf_counter()
            if not chunk:
                return
            self.data += chunk
            self.reads.append((t, len(self.data) // 4))

    def stop(self) -> np.ndarray:
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self._thread.join(timeout=5)
        a = np.frombuffer(bytes(self.data[: len(self.data) // 4 * 4]), np.int16).reshape(-1, 2)
        return a.astype(np.float32).mean(axis=1) / 32768.0

    def clock(self, skip_s: float = 1.0) -> tuple[float, float, float, float, float]:
        """(a, drift per s, t0, spread of the window minima (s), median burst interval (s)):
        t(n) = a + drift * (t - t0) + n / rate, from the lower envelope of t_i - n_i / rate."""
        t = np.array([r[0] for r in self.reads])
        n = np.array([r[1] for r in self.reads], np.float64)
        keep = t > t[0] + skip_s
        t, n = t[keep], n[keep]
        a_i = t - n / RATE
        t0 = t[0]
        edges = np.arange(t0, t[-1] + 2.0, 2.0)
        mins_t, mins_a = [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = (t >= lo) & (t < hi)
            if m.sum() > 5:
                k = np.argmin(np.where(m, a_i, np.inf))
                mins_t.append(t[k] - t0)
                mins_a.append(a_i[k])
        mins_t, mins_a = np.array(mins_t), np.array(mins_a)
        slope, icpt = np.polyfit(mins_t, mins_a, 1) if len(mins_t) > 2 else (0.0, float(mins_a.min()))
        resid = mins_a - (icpt + slope * mins_t)
        icpt += resid.min()  # the envelope: no read arrives before its fit
        gaps = np.diff(t)
        bursts = gaps[gaps > 0.0005]
        return (float(icpt), float(slope), float(t0), float(resid.max() - resid.min()),
                float(np.median(bursts)) if len(bursts) else 0.0)


def default_sink() -> str:
    r = subprocess.run(["pactl", "get-default-sink"], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip():
        return r.stdout.strip()
    r = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True)
    return r.stdout.split()[1]


def make_mode(schedule: list[tuple[float, str]], stamps: list, done_after_s: float):
    from memoire.audio.process import _L_MOVED
    from memoire.game.app import PlayMode, PlayOptions
    from memoire.sim.player import PlayerState

    class StepMode(PlayMode):
        """Stands the listener in the quiet place and steps it into the loud zone on schedule."""

        def __init__(self, opts: PlayOptions):
            super().__init__(opts)
            self.t0: float | None = None
            self.where = "down"
            self.changed = False

        def start_pose(self, game):
            return PlayerState(QUIET_XY[0], QUIET_XY[1], math.pi / 2, 0.0)

        def step(self, game, dt_s, pose):
            now = time.perf_counter()
            if self.t0 is None:
                self.t0 = now
            t = now - self.t0
            want = "down"
            for at, kind in schedule:
                if t >= at:
                    want = kind
            if want != self.where:
                self.where = want
                x, y = LOUD_XY if want == "up" else QUIET_XY
                game.place(PlayerState(x, y, math.pi / 2, 0.0))
                self.changed = True
            if t > done_after_s:
                game.running = False

        def background(self, game, now_s):
            super().background(game, now_s)
            if self.changed:  # the pose just sent: its stamp is the step's wall time
                self.changed = False
                stamps.append((float(game.engine._listener[_L_MOVED]), self.where))

    return StepMode


def run_game(level_path: Path, mode, settings, frames: int | None, headless: bool, tour: str | None = None):
    from memoire.audio.process import AudioProcess
    from memoire.game.app import Game, PlayOptions

    opts = PlayOptions(level_path=level_path, tour=tour, frames=frames, headless=headless,
                       allow_outside_paths=True)

    def make_audio(game, gain):
        return AudioProcess(game.level, game.model_path, gain=gain, settings=settings)

    game = Game(opts, mode(opts) if mode is not None else None, make_audio=make_audio)
    game.run()
    return game, game.engine.stats()


def fmt_ms(v) -> str:
    return "n/a" if v is None else f"{v * 1000:.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "assets" / "models" / "hutong.ts")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threshold-db", type=float, default=-40.0)
    p.add_argument("--tour", help="walk this tour of the default level instead (the engine meter only)")
    p.add_argument("--frames", type=int, default=600, help="frames of the tour")
    p.add_argument("--headless", action="store_true", help="render offscreen (EGL) instead of a window")
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--save", type=Path, help="save the recording, reads and stamps here (.npz)")
    args = p.parse_args()
    headless = args.headless or not os.environ.get("DISPLAY")
    if not shutil.which("parec") or subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        print("needs a PulseAudio server with a null sink (bash tools/install.sh test starts one)", file=sys.stderr)
        return 2
    from memoire.audio.synth import SynthSettings

    load1 = os.getloadavg()[0]
    levers = {k: os.environ[k] for k in ("MEMOIRE_AUDIO_JIT", "MEMOIRE_AUDIO_RT", "MEMOIRE_AUDIO_BLOCK",
                                         "MEMOIRE_AUDIO_LATENCY_S") if k in os.environ}
    if args.tour:
        game, s = run_game(ROOT / "levels" / "hutong.toml", None, None, args.frames, headless, args.tour)
        mean_ms, p99_ms = game.stats.summary()
        out = dict(mode="tour", tour=args.tour, frames=game.stats.frames, frame_mean_ms=mean_ms,
                   frame_p99_ms=p99_ms, engine_mean_ms=s.latency_s * 1000 if s.latency_s else None,
                   engine_p95_ms=s.latency_p95_s * 1000 if s.latency_p95_s else None, underruns=s.underruns,
                   device_underflows=s.device_underflows, synth_rtf=s.synth_rtf, priority=s.priority,
                   output=s.output, load1_before=load1, levers=levers)
        print(f"tour {args.tour}: {game.stats.frames} frames (mean {mean_ms:.1f} ms, p99 {p99_ms:.1f} ms), "
              f"engine meter mean {fmt_ms(s.latency_s)} p95 {fmt_ms(s.latency_p95_s)}, underruns {s.underruns} "
              f"(device {s.device_underflows}), synth {s.synth_rtf:.1f}x, priority: {s.priority}; "
              f"load before {load1:.2f} {levers or ''}")
    else:
        onset_model_ms = model_onset_ms(args.model, args.threshold_db)
        rng = random.Random(1)
        schedule, t = [], 4.0  # 4 s to settle (the queue primed, the decoder's cache on the rest)
        for _ in range(args.steps):
            schedule.append((t, "up"))
            schedule.append((t + 0.4, "down"))
            t += 0.4 + 0.6 + rng.uniform(0.0, 0.2)
        stamps: list = []
        settings = SynthSettings(max_latent_speed_per_s=1e9, limiter_ceiling=None)
        with tempfile.TemporaryDirectory() as tmp:
            level = bench_level(Path(tmp), args.model)
            rec = MonitorRecorder(default_sink())
            time.sleep(0.5)
            try:
                game, s = run_game(level, make_mode(schedule, stamps, t + 0.5), settings, None, headless)
            finally:
                time.sleep(0.3)
                mono = rec.stop()
        if args.save:
            np.savez(args.save, mono=mono, reads=np.array(rec.reads), stamps=np.array([s_ for s_, k in stamps]),
                     kinds=np.array([k for _, k in stamps]))
        a, drift, t_first, spread_s, burst_s = rec.clock()
        db = envelope_db(mono)
        lat, bad = [], 0
        for stamp, kind in stamps:
            if kind != "up":
                continue
            n0 = int(round((stamp - (a + drift * (stamp - t_first))) * RATE))
            if n0 - 441 < 0 or n0 + RATE // 2 > len(db):
                bad += 1
                continue
            if db[n0 - 441 : n0].max() > args.threshold_db:  # loud already before the step
                bad += 1
                continue
            hit = np.flatnonzero(db[n0 : n0 + RATE // 2] > args.threshold_db)
            if not len(hit):
                bad += 1
                continue
            lat.append((hit[0]) / RATE)
        lat_a = np.array(lat)
        net = lat_a - onset_model_ms / 1000
        mean_ms, p99_ms = game.stats.summary()
        out = dict(mode="steps", steps=len(lat), unusable=bad, raw_mean_ms=float(lat_a.mean() * 1000),
                   raw_p95_ms=float(np.percentile(lat_a, 95) * 1000), net_mean_ms=float(net.mean() * 1000),
                   net_p95_ms=float(np.percentile(net, 95) * 1000), net_min_ms=float(net.min() * 1000),
                   net_max_ms=float(net.max() * 1000), model_onset_ms=onset_model_ms,
                   engine_mean_ms=s.latency_s * 1000 if s.latency_s else None,
                   engine_p95_ms=s.latency_p95_s * 1000 if s.latency_p95_s else None,
                   underruns=s.underruns, device_underflows=s.device_underflows, priority=s.priority,
                   clock_drift_ppm=drift * 1e6, clock_spread_ms=spread_s * 1000, render_block_ms=burst_s * 1000,
                   frames=game.stats.frames, frame_mean_ms=mean_ms, frame_p99_ms=p99_ms, load1_before=load1,
                   levers=levers, output=s.output)
        print(f"steps: {len(lat)} measured ({bad} unusable); step-to-onset (recorded on {default_sink()}.monitor) "
              f"mean {out['raw_mean_ms']:.1f} ms p95 {out['raw_p95_ms']:.1f} ms; less the model's own onset "
              f"({onset_model_ms:.1f} ms): mean {out['net_mean_ms']:.1f} ms p95 {out['net_p95_ms']:.1f} ms "
              f"(min {out['net_min_ms']:.1f}, max {out['net_max_ms']:.1f})")
        print(f"engine meter (same steps, up and down): mean {fmt_ms(s.latency_s)} p95 {fmt_ms(s.latency_p95_s)}; "
              f"underruns {s.underruns} (device {s.device_underflows}); priority: {s.priority}")
        print(f"clock: lower envelope of {len(rec.reads)} reads, drift {drift * 1e6:.0f} ppm, window minima "
              f"spread {spread_s * 1000:.2f} ms, reads arrive in bursts {burst_s * 1000:.1f} ms apart; "
              f"{game.stats.frames} frames (mean {mean_ms:.1f} ms, p99 {p99_ms:.1f} ms); load before {load1:.2f} "
              f"{levers or ''}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

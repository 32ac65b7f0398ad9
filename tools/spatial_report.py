"""Measure the spatial mix (issue 11) on offline renders through the live engine's core.

    python -m tools.spatial_report [--model FILE] [--out-dir docs/img] [--tour-seconds S] [--skip-tour]

Every render goes through ``memoire.offline.render.open_core`` + ``render_poses``: the SynthCore,
voices, spatial stage and room reverbs that ``memoire play`` and ``memoire render`` run. Prints
markdown for docs/sound.md and writes pictures:

1. Direction: a level of one open yard and one broadband zone (the rain anchor) whose emitter is
   its centre, the listener 6 m south of it inside the zone's radius (so its gain is 1 and the bed,
   a near-silent latent, gets nothing), facing so that the zone is at each bearing. Binaural: the
   interaural level difference (broadband) and time difference (below 1.5 kHz) of the render.
   Stereo and ring8: the loudest channel against the speaker nearest the bearing.
2. Walls and gates: a yard split by a wall; the zone north of it, the listener south of it facing
   north; the same map with the wall open (line of sight), closed (no gate) and with a gate to the
   listener's right. Level (dBFS), spectral centroid, and (binaural) the ILD: the gate's side.
3. Rooms: the default level's room IRs (memoire/audio/scene.py RoomIrs: the cache beside the level)
   measured (Schroeder T20 -> RT60) against their design; the wet level (render minus the dry
   render without reverb) as the listener walks from the lane through the middle gate into the
   pigeon courtyard.
4. The default tour, binaural and ring8: level, the largest sample jumps near voice events (a voice
   turning real or virtual, a slot handed over) and room changes against the material's own (the
   99.99th percentile of jumps away from any event), a spectrogram and per-channel levels.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# A latent the shipped model decodes near silence (-59 dBFS; tools/bench/latency.py QUIET): the bed
# of the test levels, so what is measured is the zone's voice alone.
QUIET = [-0.64, 0.73, -1.17, -1.43, 0.64, 0.75, -0.96, 0.56, -0.29, 0.3, -1.26, 0.83]
BEARINGS_DEG = (0, 45, -45, 90, -90, 135, 180)
SETTLE_S = 1.5  # the voice's fades and the latent glide settle before the measured part
MEASURE_S = 3.0
EVENT_GUARD_BLOCKS = 1  # an event's block, the one before and the one after

# A test level: one open map, the listener standing at ``at``, one broadband zone (the rain anchor)
# whose emitter is its centre, the bed the near-silent QUIET latent.
TEST_LEVEL = """
[level]
name = "{name}"
cell_m = 1.5

[map]
grid = \"\"\"
{grid}
\"\"\"

[spawn]
at = [{at[0]}, {at[1]}]
facing_deg = 0

[sound]
field = "zones"
rest = {quiet}
output = "{output}"

[[zones]]
name = "source"
shape = "circle"
center = [{center[0]}, {center[1]}]
radius_m = {radius_m}
falloff_m = {falloff_m}
fade_s = 0.3
anchor = "rain"
emitter = "center"
"""


def yard(cols: int, rows: int, divider: str | None = None, divider_row: int = 0) -> str:
    lines = ["#" * cols]
    for r in range(1, rows - 1):
        lines.append(divider if (divider is not None and r == divider_row) else "#" + "." * (cols - 2) + "#")
    lines.append("#" * cols)
    return "\n".join(lines)


def wall_grid(variant: str) -> str:
    cols, rows, row = 24, 17, 8
    if variant == "open":
        return yard(cols, rows)
    wall = list("#" * cols)
    if variant == "gate":
        wall[14] = wall[15] = "G"  # x 21-24 m: ahead and to the right of the listener at x = 12
    return yard(cols, rows, "".join(wall), row)


def write_level(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def db(x: float) -> float:
    return 20 * math.log10(max(x, 1e-12))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def centroid_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(np.asarray(x, np.float64) * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    return float((spec * f).sum() / max(spec.sum(), 1e-30))


def render_still(level_path: Path, model: Path, x: float, y: float, heading_rad: float, *,
                 output: str | None = None, reverb: bool = True) -> tuple[np.ndarray, int, object]:
    """The measured part (after SETTLE_S) of a render with the listener standing still."""
    from memoire.offline.render import open_core, render_poses
    from memoire.world.level import load_level

    level = load_level(level_path, allow_outside=True)
    core = open_core(level, model, (x, y, heading_rad), output=output, progress=False, reverb=reverb)
    audio, _, _ = render_poses(core, lambda t: (x, y, heading_rad), SETTLE_S + MEASURE_S, progress=False)
    return audio[int(SETTLE_S * core.sample_rate_hz):], core.sample_rate_hz, core


def direction(tmp: Path, model: Path) -> list[str]:
    from memoire.audio.spatial.measure import ild_db, itd_s
    from memoire.audio.spatial.panning import layout

    out = ["### Direction", "",
           "One broadband zone (the rain anchor) 6 m from the listener, inside its radius (gain 1), "
           "the bed a near-silent latent; the listener turned so that the zone is at each bearing "
           "(clockwise, degrees). Binaural: ILD broadband (dB, right over left) and ITD below "
           "1.5 kHz (ms, right ear leading > 0), as rendered (the yard's reverb reaching both ears) "
           "and dry (the same render without the room reverbs). Stereo and ring8: the loudest "
           "channel and the speaker nearest the bearing.", "",
           "| bearing | ILD (dB) | ITD (ms) | ILD dry (dB) | ITD dry (ms) | stereo loudest (nearest) | ring8 loudest (nearest) |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    paths = {o: write_level(tmp, f"direction_{o}", TEST_LEVEL.format(
        name="Direction yard", grid=yard(24, 24), at=(18.0, 18.0), center=(18.0, 12.0), radius_m=8.0, falloff_m=10.0,
        quiet=QUIET, output=o))
             for o in ("binaural", "stereo", "ring8")}
    for b in BEARINGS_DEG:
        h = math.radians(-b)  # the zone is due north of the listener: heading -b puts it at bearing b
        audio, rate, _ = render_still(paths["binaural"], model, 18.0, 18.0, h)
        ild, itd = ild_db(audio[:, 0], audio[:, 1], rate, None), itd_s(audio[:, 0], audio[:, 1], rate)
        dry, _, _ = render_still(paths["binaural"], model, 18.0, 18.0, h, reverb=False)
        ild_d, itd_d = ild_db(dry[:, 0], dry[:, 1], rate, None), itd_s(dry[:, 0], dry[:, 1], rate)
        cells = [f"{b:+d}", f"{ild:+.1f}", f"{itd * 1000:+.3f}", f"{ild_d:+.1f}", f"{itd_d * 1000:+.3f}"]
        for o in ("stereo", "ring8"):
            a, _, _ = render_still(paths[o], model, 18.0, 18.0, h)
            levels = np.array([rms(a[:, c]) for c in range(a.shape[1])])
            speakers = layout(o).speakers_deg
            dist = [abs((b - s + 180) % 360 - 180) if s is not None else 999 for s in speakers]
            loud, near = int(np.argmax(levels)), int(np.argmin(dist))
            cells.append(f"ch {loud + 1} at {speakers[loud]:+.0f} ({'yes' if loud == near else 'NO: ' + str(near + 1)})")
        out.append("| " + " | ".join(cells) + " |")
    return out


def walls(tmp: Path, model: Path) -> list[str]:
    from memoire.audio.spatial.measure import ild_db
    from memoire.world.acoustics import Acoustics
    from memoire.world.level import load_level

    out = ["### Walls and gates", "",
           "The zone 13.5 m north of the listener (facing north) across the line of a wall: open "
           "(no wall), a wall with a gate ahead-right (the gate's centre at 41 degrees, 12.5 m), "
           "and a closed wall. Binaural renders.", "",
           "| map | reach gain | walls | via gate | level (dBFS) | centroid (Hz) | ILD (dB) |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    figures = {}
    for variant in ("open", "gate", "wall"):
        path = write_level(tmp, f"wall_{variant}", TEST_LEVEL.format(
            name=f"Wall yard ({variant})", grid=wall_grid(variant), at=(12.0, 19.5), center=(12.0, 6.0), radius_m=3.0,
            falloff_m=30.0, quiet=QUIET, output="binaural"))
        ac = Acoustics.build(load_level(path, allow_outside=True))
        r = ac.reach((12.0, 19.5), 0, SETTLE_S)
        audio, rate, _ = render_still(path, model, 12.0, 19.5, 0.0)
        mono = audio.mean(axis=1)
        figures[variant] = (db(rms(mono)), centroid_hz(mono, rate), ild_db(audio[:, 0], audio[:, 1], rate, None))
        lv, c, ild = figures[variant]
        out.append(f"| {variant} | {r.gain:.3f} | {r.walls} | {'yes' if r.via_portal else 'no'} | {lv:.1f} | "
                   f"{c:.0f} | {ild:+.1f} |")
    o, g, w = figures["open"], figures["gate"], figures["wall"]
    out += ["", f"Through the wall: {o[0] - w[0]:.1f} dB quieter than in line of sight, centroid "
                f"{w[1]:.0f} Hz against {o[1]:.0f} Hz; through the gate {g[0] - w[0]:+.1f} dB against the "
                f"closed wall, ILD {g[2]:+.1f} dB (the gate is on the right)."]
    return out


def rooms(model: Path, out_dir: Path) -> list[str]:
    from memoire.audio.scene import RoomIrs, level_acoustics
    from memoire.audio.spatial.reverb import decay_time_s
    from memoire.world.level import load_level
    from memoire.world.paths import DEFAULT_LEVEL, default_model
    from memoire.audio.card import read_card

    level = load_level(DEFAULT_LEVEL)
    ac = level_acoustics(level)
    rate = read_card(default_model(level, model)).sample_rate_hz
    irs = RoomIrs(ac, level.path, rate, background=False)
    out = ["### Rooms", "", "The default level's rooms (found from the map), their design RT60 (Sabine over "
           "their materials, the open sky absorbing; or the level's `rt60_s`) and the RT60 measured from "
           "each computed impulse response (Schroeder backward integral, T20 x 3):", "",
           "| room | size (m) | design RT60 (s) | measured RT60 (s) |", "| --- | --- | --- | --- |"]
    ready = irs.irs
    for i, room in enumerate(ac.rooms):
        ir = ready[i] if ready is not None else None
        measured = decay_time_s(ir[0] if ir is not None and ir.ndim == 2 else ir, rate) if ir is not None else float("nan")
        w, d, h = room.size_m
        out.append(f"| {room.name} | {w:.0f} x {d:.0f} x {h:.0f} | {room.rt60_s:.2f} | {measured:.2f} |")
    # the wet level along a walk from the lane into the pigeon courtyard through its gate
    model_path = default_model(level, model)
    walk_s = 12.0
    a, b = (36.0, 20.5), (36.0, 8.0)

    def pose(t):
        u = min(max(t / walk_s, 0.0), 1.0)
        return (a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, 0.0)

    from memoire.offline.render import open_core, render_poses

    full_core = open_core(level, model_path, pose(0.0), progress=False)
    full, times, poses = render_poses(full_core, pose, walk_s, progress=False)
    dry_core = open_core(level, model_path, pose(0.0), progress=False, reverb=False)
    dry, _, _ = render_poses(dry_core, pose, walk_s, progress=False)
    wet = full - dry
    hop = full_core.hop
    out += ["", f"Walking north at {abs(b[1] - a[1]) / walk_s:.2f} m/s from the lane ({a[0]:.0f}, {a[1]:.1f}) through "
            "the middle gate into the pigeon courtyard: the wet signal (the render minus the same render "
            "without reverbs) against the dry, per room the listener is in:", "",
            "| listener's room | seconds | dry (dBFS) | wet (dBFS) | wet - dry (dB) |", "| --- | --- | --- | --- | --- |"]
    room_of = np.array([ac.room_at(p[0], p[1]) for p in poses])
    start = int(SETTLE_S / (hop / full_core.sample_rate_hz))  # the reverb fades in over its first second
    for ri in sorted(set(room_of[start:].tolist())):
        blocks = [k for k in range(start, len(poses)) if room_of[k] == ri and (k + 1) * hop <= len(full)]
        if not blocks:
            continue
        seg_w = np.concatenate([wet[k * hop:(k + 1) * hop] for k in blocks])
        seg_d = np.concatenate([dry[k * hop:(k + 1) * hop] for k in blocks])
        name = ac.rooms[ri].name if ri >= 0 else "(in a wall)"
        out.append(f"| {name} | {len(blocks) * hop / full_core.sample_rate_hz:.1f} | {db(rms(seg_d)):.1f} | "
                   f"{db(rms(seg_w)):.1f} | {db(rms(seg_w)) - db(rms(seg_d)):+.1f} |")
    return out


def tour(model: Path, out_dir: Path, seconds: float | None) -> list[str]:
    from memoire.offline.render import open_core, render_poses, write_audio
    from memoire.world.level import load_level
    from memoire.world.paths import DEFAULT_LEVEL, default_model
    from memoire.world.tour import plan_tour, pose_at
    from tools.sound_report import spectrogram_png

    level = load_level(DEFAULT_LEVEL)
    plan = plan_tour(level, level.tour("gallery"))
    model_path = default_model(level, model)
    total = plan.duration_s if seconds is None else seconds
    out = ["### The default tour", ""]
    for output in ("binaural", "ring8"):
        core = open_core(level, model_path, pose_at(plan, 0.0), output=output, progress=False)
        events: list[int] = []
        last = {"slots": None, "room": None}
        counts = []

        def on_block(b, c):
            slots = tuple(id(v) if v is not None else None for v in c.bank.by_slot())
            room = c.acoustics.room_at(*poses_now[0]) if c.acoustics is not None else -1
            if last["slots"] is not None and (slots != last["slots"] or room != last["room"]):
                events.append(b)
            last["slots"], last["room"] = slots, room
            counts.append(c.voice_counts())

        poses_now = [(0.0, 0.0)]

        def pose(t):
            p = pose_at(plan, t)
            poses_now[0] = (p[0], p[1])
            return p

        import time as _time

        t0 = _time.perf_counter()
        audio, times, poses = render_poses(core, pose, total, progress=True, label=f"tour {output}", on_block=on_block)
        wall = _time.perf_counter() - t0
        rate, hop = core.sample_rate_hz, core.hop
        jumps = np.abs(np.diff(audio, axis=0)).max(axis=1)
        near = np.zeros(len(jumps), bool)
        for b in events:
            near[max(0, (b - EVENT_GUARD_BLOCKS) * hop):min(len(jumps), (b + EVENT_GUARD_BLOCKS + 1) * hop)] = True
        own = float(np.percentile(jumps[~near], 99.99)) if (~near).any() else float("nan")
        far_max = float(jumps[~near].max()) if (~near).any() else float("nan")
        near_max = float(jumps[near].max()) if near.any() else float("nan")
        # each event against its own surroundings: the largest jump within a block of the event
        # against the largest in the 2 s either side of that (the material playing there then)
        worse, worst_ratio = 0, 0.0
        for b in events:
            lo, hi = max(0, (b - EVENT_GUARD_BLOCKS) * hop), min(len(jumps), (b + EVENT_GUARD_BLOCKS + 1) * hop)
            ctx = np.concatenate([jumps[max(0, lo - 2 * rate):lo], jumps[hi:hi + 2 * rate]])
            if len(ctx) == 0 or hi <= lo:
                continue
            ratio = float(jumps[lo:hi].max()) / max(float(ctx.max()), 1e-9)
            worst_ratio = max(worst_ratio, ratio)
            worse += ratio > 1.0
        real = np.array([c[0] for c in counts])
        wav = out_dir.parent.parent / "build" / f"tour_{output}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        write_audio(wav, audio, rate, output)
        out += [f"**{output}** ({audio.shape[1]} channels, {len(audio) / rate:.0f} s, rendered "
                f"{len(audio) / rate / wall:.1f}x faster than real time, written to {wav.relative_to(ROOT)}): "
                f"RMS {db(rms(audio)):.1f} dBFS, peak {db(float(np.abs(audio).max())):.1f} dBFS; voices real "
                f"{real.min()}-{real.max()} (mean {real.mean():.1f}); {len(events)} voice/room events; largest "
                f"jump within a block of an event {near_max:.4f}, elsewhere {far_max:.4f}, the material's own "
                f"(99.99th percentile elsewhere) {own:.4f}; events whose jump exceeds the largest of the 2 s "
                f"around them: {worse} of {len(events)} (the highest ratio {worst_ratio:.2f}).", ""]
        t = np.arange(len(audio)) / rate
        if output == "binaural":
            png = out_dir / "spatial_tour_binaural_spectrogram.png"
            spectrogram_png(audio.mean(axis=1), rate, png, "default tour, binaural (mid of the two ears)")
            out.append(f"Spectrogram: {png.relative_to(ROOT)}")
        png = out_dir / f"spatial_tour_{output}_levels.png"
        channel_levels_png(audio, rate, png, f"default tour, {output}: level per channel (0.5 s windows)")
        out += [f"Levels per channel: {png.relative_to(ROOT)}", ""]
    return out


def channel_levels_png(audio: np.ndarray, rate: int, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    win = int(0.5 * rate)
    n = len(audio) // win
    lv = 10 * np.log10(np.mean(audio[:n * win].reshape(n, win, -1).astype(np.float64) ** 2, axis=1) + 1e-12)
    fig, ax = plt.subplots(figsize=(12, 4), dpi=90)
    t = (np.arange(n) + 0.5) * win / rate
    for c in range(lv.shape[1]):
        ax.plot(t, lv[:, c], lw=0.9, label=f"ch {c + 1}")
    ax.set_ylim(-80, 0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("dBFS")
    ax.set_title(title)
    ax.legend(ncol=8, fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--tour-seconds", type=float, default=None, help="default: the whole tour")
    ap.add_argument("--skip-tour", action="store_true")
    ap.add_argument("--only", choices=("direction", "walls", "rooms", "tour"), default=None)
    args = ap.parse_args(argv)
    from memoire.audio.model import set_torch_threads
    from memoire.world.paths import DEFAULT_MODEL

    set_torch_threads(1)
    model = args.model or DEFAULT_MODEL
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only in (None, "direction"):
            lines += direction(tmp, model) + [""]
            print("\n".join(lines), flush=True)
        if args.only in (None, "walls"):
            lines += walls(tmp, model) + [""]
            print("\n".join(lines[-12:]), flush=True)
    if args.only in (None, "rooms"):
        lines += rooms(model, args.out_dir) + [""]
    if args.only in (None, "tour") and not args.skip_tour:
        lines += tour(model, args.out_dir, args.tour_seconds)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

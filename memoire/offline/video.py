"""Trailer recordings: a tour's picture rendered offscreen and its sound rendered offline, muxed to MP4.

`memoire render LEVEL --tour NAME --out FILE.mp4 [--size W H] [--fps F] [--start S | --start-zone Z] [--seconds S]`

1. the sound: ``memoire.offline.render.render_tour`` (the synth driven by the tour walker, faster than real
   time), written to a temporary WAV beside the output;
2. the picture: frame k shows the tour's camera at t = k / fps (``memoire.world.tour.camera_pose_at``: the
   same walker, framed by memoire/world/framing.py),
   drawn by the headless EGL renderer and piped as raw RGB to the ffmpeg binary that
   imageio-ffmpeg bundles (H.264, yuv420p for players everywhere), which adds the WAV as AAC;
3. written to a temporary file and renamed, so a failed render leaves no half MP4.

Sound and picture share the walker and its start (``start_s`` into the tour: --start, --start-zone), so
they are in sync by construction.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

from memoire.offline.render import render_tour, write_audio
from memoire.world.errors import UserError
from memoire.world.files import atomic_output
from memoire.world.level import Level
from memoire.world.tour import camera_pose_at, plan_tour

# H.264 quality: imageio-ffmpeg's scale 0-10 (10 best); 8 is visually clean for trailers.
video_quality = 8
# AAC at 192 kbit/s: transparent for stereo ambiences.
audio_bitrate = "192k"
max_fps = 120.0
max_side_px = 7680


def _check(size_px, fps: float) -> tuple[int, int]:
    w, h = (int(v) for v in size_px)
    if not (16 <= w <= max_side_px and 16 <= h <= max_side_px):
        raise UserError(f"--size {w} {h}: give a width and height between 16 and {max_side_px} pixels")
    if w % 2 or h % 2:
        raise UserError(f"--size {w} {h}: H.264 video needs even sizes; try --size {w + w % 2} {h + h % 2}")
    if not (0 < fps <= max_fps):
        raise UserError(f"--fps {fps:g}: give a frame rate above 0 and at most {max_fps:g}")
    return w, h


def render_video(level: Level, tour_name: str, model_path: Path, out: Path, *, seconds: float | None = None,
                 size_px=(1280, 720), fps: float = 30.0, torch_threads: int = 1, progress: bool = True,
                 start_s: float = 0.0, quality: str = "high") -> int:
    """Render ``tour_name`` of ``level`` to ``out`` (.mp4) at picture ``quality`` ("low" or
    "high", memoire/render/renderer.py). Raises UserError for bad input."""
    w, h = _check(size_px, fps)
    out = Path(out)
    plan = plan_tour(level, level.tour(tour_name))  # UserError names the level's tours
    duration_s = max(plan.duration_s - start_s, 0.0) if seconds is None else float(seconds)

    t0 = time.perf_counter()
    # a trailer's sound is two channels: the level's binaural or stereo, else stereo (a speaker
    # array's layout is for `memoire render` to a WAV)
    two = level.spatial.output if level.spatial.output in ("binaural", "stereo") else "stereo"
    sound = render_tour(level, tour_name, model_path, duration_s, torch_threads=torch_threads, progress=progress,
                        start_s=start_s, output=two)
    wav = out.with_name(f".{out.stem}.sound.wav")
    write_audio(wav, sound.audio, sound.sample_rate_hz)
    try:
        with atomic_output(out) as part:
            frames = _write_frames(level, plan, part, wav, (w, h), fps, duration_s, progress, start_s, quality)
    finally:
        if wav.exists():
            wav.unlink()
    wall = time.perf_counter() - t0
    print(f"{out}: {frames} frames at {fps:g} fps ({w}x{h}), {duration_s:.1f} s with sound, "
          f"rendered in {wall:.0f} s ({duration_s / max(wall, 1e-9):.2f}x real time)")
    return 0


def _write_frames(level: Level, plan, part: Path, wav: Path, size_px: tuple[int, int], fps: float,
                  duration_s: float, progress: bool, start_s: float = 0.0, quality: str = "high") -> int:
    import imageio_ffmpeg

    from memoire.render.camera import Camera
    from memoire.render.context import headless_context
    from memoire.render.renderer import Renderer

    os.environ.setdefault("LP_NUM_THREADS", "1")
    frames = max(1, math.ceil(duration_s * fps))
    ctx = headless_context()
    renderer = Renderer(ctx, level, size_px, quality=quality)
    writer = imageio_ffmpeg.write_frames(
        str(part), size_px, fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
        quality=video_quality, macro_block_size=2, audio_path=str(wav), audio_codec="aac",
        output_params=["-b:a", audio_bitrate, "-shortest", "-movflags", "+faststart"], ffmpeg_log_level="error")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=frames, unit="frame", desc=f"video {part.name.removeprefix('.').removesuffix('.part.mp4')}",
                   file=sys.stderr, leave=False)
    try:
        writer.send(None)  # start ffmpeg
        for k in range(frames):
            x, y, heading, pitch = camera_pose_at(plan, min(start_s + k / fps, plan.duration_s))
            renderer.draw(Camera(x_m=x, y_m=y, heading_rad=heading, pitch_rad=pitch), time_s=start_s + k / fps)
            writer.send(renderer.read_pixels())
            if bar is not None:
                bar.update(1)
    except (OSError, RuntimeError) as e:  # ffmpeg ended early (disk full, bad path)
        raise UserError(f"{part.name}: ffmpeg could not write the video ({e})") from None
    finally:
        if bar is not None:
            bar.close()
        writer.close()
        renderer.release()
        ctx.release()
    return frames

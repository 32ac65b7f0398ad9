"""Offline rendering of a tour: the synth driven by the tour walker, faster than real time.

`memoire render LEVEL --tour NAME --out FILE.wav [--start S | --start-zone Z] [--seconds S] [--output L]`
writes the sound a visitor walking that tour would hear (from ``start_s`` into it:
memoire/world/tour_start.py), through the same SynthCore, voices and spatial stage as the live
engine, in the level's output layout or ``--output``'s: a multichannel WAV for speaker arrays
(WAVE_FORMAT_EXTENSIBLE with the layout's channel mask), two ear channels for "binaural". With
--out FILE.mp4 it also renders the picture offscreen and muxes both (see memoire/offline/video.py).

A model that fails while rendering (its decode raises, returns NaN/Inf or the wrong shape:
memoire/audio/faults.py ``ModelFault``) stops the render with a UserError: no sound file is
written (never a file of NaN). A model that is not a streaming export renders, with a warning.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from memoire.world.files import atomic_output
from memoire.world.level import Level
from memoire.world.tour import plan_tour, pose_at


# WAVE_FORMAT_EXTENSIBLE dwChannelMask per layout (Microsoft's speaker bits: FL 0x1, FR 0x2, FC 0x4,
# LFE 0x8, BL 0x10, BR 0x20, SL 0x200, SR 0x400): quad FL FR BL BR; 5.1 in SMPTE order L R C LFE Ls
# Rs with side surrounds (Ls/Rs at +-110 degrees: KSAUDIO_SPEAKER_5POINT1_SURROUND); a ring of
# eight has no standard positions, so no bits ("direct out": channel n is speaker n).
# Two-channel layouts are written as plain WAV.
channel_masks = {"quad": 0x33, "5.1": 0x60F, "ring8": 0x0}


@dataclass(frozen=True)
class TourRender:
    audio: np.ndarray  # (samples, channels of ``layout``) float32
    sample_rate_hz: int
    block_times_s: np.ndarray  # (blocks,) start time of each decoded block
    block_poses: np.ndarray  # (blocks, 3) x_m, y_m, heading_rad
    realtime_factor: float  # audio seconds per wall second for the whole render
    hop_samples: int
    layout: str = "stereo"  # the output layout (memoire/audio/scene.py OUTPUT_LAYOUTS)


def build_field(level: Level, info, *, train_terrain: bool = True, log=print):
    """The level's latent field for a model: the zone blend, plus its terrain when it uses one."""
    from memoire.world.field import level_field

    grid = None
    if level.uses_terrain and train_terrain:
        from memoire.terrain.inprocess import terrain_grid_for_level

        grid = terrain_grid_for_level(level, info, log=log)
    return level_field(level, info, terrain=grid)


def open_core(level: Level, model_path: Path, start: tuple[float, float, float], *, output: str | None = None,
              progress: bool = True, reverb: bool = True):
    """The live engine's SynthCore for ``level`` (its voices, spatial stage and room reverbs: the IRs
    cached beside the level, computed now when missing), with its own limiter, the listener at
    ``start`` (x_m, y_m, heading_rad). ``output``: the layout instead of the level's [sound] output.
    ``reverb=False``: no room reverbs (the dry mix; reports subtract it to measure the wet).
    Raises UserError for a model that cannot be used."""
    from memoire.audio.card import streaming_warning
    from memoire.audio.model import NeuralDecoder, inspect_model
    from memoire.audio.engine import settings_for
    from memoire.audio.scene import RoomIrs, level_acoustics
    from memoire.audio.synth import Listener, SynthCore

    info = inspect_model(model_path)
    warning = streaming_warning(info)
    if warning is not None:
        print(f"memoire: warning: {warning}", file=sys.stderr)
    field = build_field(level, info, log=(lambda m: print(m, file=sys.stderr)) if progress else (lambda m: None))
    settings = settings_for(level, output=output)  # the live engine's, with the synth's own limiter
    acoustics = level_acoustics(level)
    rooms = RoomIrs(acoustics, level.path, info.sample_rate_hz, background=False) if reverb else None
    return SynthCore(lambda: NeuralDecoder(model_path, info), info, field, settings, Listener(*start),
                     acoustics, rooms)


def render_poses(core, poses: Callable[[float], tuple[float, float, float]], seconds: float, *,
                 label: str = "render", progress: bool = True,
                 on_block: Callable[[int, object], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drive ``core`` block by block for ``seconds``, the listener at ``poses(t_s)`` -> (x_m, y_m,
    heading_rad) at each block's start ``t_s`` (from 0). ``on_block(b, core)`` after each block
    (reports read the voices and the room there). Returns (audio (samples, channels) float32,
    block start times (blocks,), poses (blocks, 3)). A ModelFault propagates."""
    from memoire.audio.synth import Listener

    block_s = core.settings.frames_per_block * core.frame_s
    blocks = max(1, math.ceil(seconds / block_s))
    n = core.settings.frames_per_block * core.hop
    out = np.empty((blocks * n, core.channels), np.float32)
    times = np.arange(blocks) * block_s
    block_poses = np.empty((blocks, 3))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=blocks, unit="block", desc=label, file=sys.stderr, leave=False)
    try:
        for b in range(blocks):
            block_poses[b] = poses(float(times[b]))
            out[b * n:(b + 1) * n] = core.render(Listener(*block_poses[b], seq=b))
            if on_block is not None:
                on_block(b, core)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    samples = int(round(seconds * core.sample_rate_hz))
    return out[:samples], times, block_poses


def render_tour(level: Level, tour_name: str, model_path: Path, seconds: float | None = None,
                torch_threads: int = 1, progress: bool = True, start_s: float = 0.0,
                output: str | None = None) -> TourRender:
    """The sound of ``seconds`` of the tour from its moment ``start_s`` (default: to the tour's end;
    past the end the walker stands at it). ``block_times_s`` count from the render's start. ``output``:
    the layout instead of the level's [sound] output.
    Raises UserError for a model that cannot be used or that fails mid-render (nothing written)."""
    from memoire.audio.faults import ModelFault
    from memoire.audio.model import set_torch_threads
    from memoire.world.errors import UserError

    set_torch_threads(torch_threads)
    tour = level.tour(tour_name)
    plan = plan_tour(level, tour)
    core = open_core(level, model_path, pose_at(plan, start_s), output=output, progress=progress)
    total_s = max(plan.duration_s - start_s, 0.0) if seconds is None else seconds
    block_s = core.settings.frames_per_block * core.frame_s
    t0 = time.perf_counter()
    try:
        audio, times, poses = render_poses(core, lambda t: pose_at(plan, start_s + t), total_s,
                                           label=f"render {tour_name}", progress=progress)
    except ModelFault as e:
        done_s = core.stats.blocks * block_s
        raise UserError(f"{model_path}: the model failed at {done_s:.2f} s of the render: {e.what}; "
                        "no sound file written. Fix the model (or export an earlier checkpoint) and render "
                        "again") from None
    wall = time.perf_counter() - t0
    return TourRender(audio, core.sample_rate_hz, times, poses,
                      (len(audio) / core.sample_rate_hz) / max(wall, 1e-9), core.hop, core.layout)


def write_audio(path: Path, audio: np.ndarray, sample_rate_hz: int, layout: str | None = None) -> None:
    """Write atomically (memoire.world.files.atomic_output): the old file or the whole new one.
    Refuses audio that is not finite (UserError): never a file of NaN. A WAV of a speaker layout
    (``channel_masks``) is WAVE_FORMAT_EXTENSIBLE with the layout's channel mask."""
    import soundfile as sf

    from memoire.world.errors import UserError

    if not np.isfinite(audio).all():
        raise UserError(f"{path}: the rendered sound holds NaN or Inf values; no file written")
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    mask = channel_masks.get(layout) if fmt == "WAV" else None
    with atomic_output(path) as tmp:
        sf.write(str(tmp), audio, sample_rate_hz, subtype="PCM_16", format="WAVEX" if mask is not None else fmt)
        if mask is not None:
            _set_channel_mask(tmp, mask)


def _set_channel_mask(path: Path, mask: int) -> None:
    """Write ``mask`` into a WAVE_FORMAT_EXTENSIBLE file's fmt chunk (libsndfile picks its own
    mask from the channel count; soundfile cannot set one). The fmt chunk's extension holds
    cbSize (2 bytes), wValidBitsPerSample (2), then dwChannelMask (4): bytes 20-23 of the chunk."""
    with open(path, "r+b") as f:
        head = f.read(4096)
        i = head.find(b"fmt ")
        if i < 0 or int.from_bytes(head[i + 8:i + 10], "little") != 0xFFFE:
            raise RuntimeError(f"{path}: not a WAVE_FORMAT_EXTENSIBLE file")
        f.seek(i + 8 + 20)
        f.write(int(mask).to_bytes(4, "little"))

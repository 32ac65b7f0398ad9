"""The audio engine as the game and the editor see it: one object, a few calls.

    engine = AudioEngine(level, model_path, record=..., mute=...)
    engine.start()
    engine.set_listener(x, y, heading)      # every frame, main thread; latest value wins
    engine.set_level(level)                 # hot reload: crossfades to the new field
    engine.close(); engine.summary()

It resolves the level's anchors against the model, builds the latent field, opens the output
(or a silent clock, with the reason in ``silent_reason``) and runs the synth thread.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from audio.field import LatentField, build_zone_blend, field_mix
from audio.model import ModelInfo, NeuralDecoder, inspect_model
from audio.output import open_output
from audio.ring import Ring
from audio.synth import Listener, SynthCore, SynthSettings, SynthThread, output_channels
from game.level import Level

# Queue depth: three latent frames (3 x 2048 = 6144 samples, 139 ms at 44.1 kHz) keep the
# device fed through one slow decode while keeping motion-to-sound latency near 0.2 s.
target_fill_latent_frames = 3
ring_capacity_latent_frames = 8


def settings_for(level: Level, base: SynthSettings = SynthSettings()) -> SynthSettings:
    return dataclasses.replace(base, gain_db=level.sound.gain_db)


class AudioEngine:
    def __init__(self, level: Level, model_path: Path, *, record: Path | None = None, mute: bool = False,
                 torch_threads: int = 1, device: int | str | None = None,
                 settings: SynthSettings | None = None):
        self.info: ModelInfo = inspect_model(model_path)
        self.model_path = Path(model_path)
        self.level = level
        self._field_version = 0
        self.field = LatentField(build_zone_blend(level, self.info), version=0)
        self.settings = settings or settings_for(level)
        hop = self.info.hop_samples
        self.ring = Ring(ring_capacity_latent_frames * hop, output_channels)
        self._seq = 0
        self._teleport = 0
        start = Listener(*level.spawn_xy)
        self.core = SynthCore(lambda: NeuralDecoder(self.model_path, self.info), self.info, self.field,
                              self.settings, start)
        self.output, self.silent_reason = open_output(self.ring, self.info.sample_rate_hz, device, enabled=not mute)
        self.thread = SynthThread(self.core, self.ring, target_fill_frames=target_fill_latent_frames * hop,
                                  torch_threads=torch_threads, record_path=record,
                                  played=lambda: self.ring.read_index,
                                  device_latency_s=lambda: self.output.latency_s)
        self.thread.set_listener(start)

    def start(self) -> None:
        self.thread.start()

    def set_listener(self, x_m: float, y_m: float, heading_rad: float, *, teleport: bool = False) -> None:
        self._seq += 1
        if teleport:
            self._teleport += 1
        self.thread.set_listener(Listener(x_m, y_m, heading_rad, self._teleport, self._seq, time.perf_counter()))

    def set_level(self, level: Level) -> None:
        """A new version of the level (hot reload): new field, crossfaded. Raises UserError."""
        blend = build_zone_blend(level, self.info)  # may raise: the old level keeps playing
        self._field_version += 1
        self.level = level
        self.field = LatentField(blend, self.field.terrain, self.field.terrain_mix, self._field_version)
        self.thread.set_field(self.field)

    def set_terrain(self, terrain, level: Level | None = None) -> None:
        """Use a terrain grid (pure-numpy sampler) with the level's mix; glides, no crossfade."""
        lv = level or self.level
        self.field = self.field.with_terrain(terrain, field_mix(lv))
        self.thread.set_field(self.field)

    @property
    def underruns(self) -> int:
        return self.ring.underruns

    def latent(self) -> np.ndarray:
        return self.core.last_latent

    def close(self) -> None:
        self.thread.stop()
        self.output.close()

    def summary(self) -> dict:
        return {
            "underruns": self.ring.underruns,
            "device_underflows": self.output.status_flags,
            "synth_rtf": self.core.stats.realtime_factor,
            "latency_s": self.thread.latency.mean_s,
            "output": self.output.name,
        }

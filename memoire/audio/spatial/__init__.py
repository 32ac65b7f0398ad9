"""Spatial DSP for the synth thread (numpy + scipy; pyroomacoustics only to compute room IRs).

- hrtf.py: OpenAL Soft's measured HRTF (.mhr, Debian's libopenal-data), interpolated responses
- panning.py: speaker layouts, equal-power stereo, pairwise 2-D VBAP
- filters.py: per-slot one-pole low-passes (air absorption, occlusion)
- spatializer.py: S mono sources -> the layout's channels, block by block, never a click
- reverb.py: room impulse responses (image sources + a Sabine tail), their cache, and streaming
  partitioned convolution

Azimuths are radians relative to the listener's head: 0 = ahead, positive = clockwise (right).
"""

from memoire.audio.spatial.hrtf import Hrtf, default_hrtf_path
from memoire.audio.spatial.panning import LAYOUTS, Layout, Panner, layout, layout_channels
from memoire.audio.spatial.filters import LowpassBank
from memoire.audio.spatial.spatializer import Spatializer
from memoire.audio.spatial.reverb import (RoomParams, RoomReverb, decay_time_s, irs_key, load_irs, max_rt60_s,
                                          room_ir, room_irs, sabine_rt60_s, save_irs)

__all__ = ["Hrtf", "default_hrtf_path", "LAYOUTS", "Layout", "Panner", "layout", "layout_channels", "LowpassBank",
           "Spatializer", "RoomParams", "RoomReverb", "decay_time_s", "irs_key", "load_irs", "max_rt60_s", "room_ir",
           "room_irs", "sabine_rt60_s", "save_irs"]

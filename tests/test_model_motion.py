"""The export carries each class's encoded audio; the game reads it as the class's motion."""

import numpy as np
import torch

from memoire.world.field import resolve_motion
from memoire.audio.model import inspect_model
from memoire.rave.export import export_torchscript
from memoire.rave.model import AutoEncoder
from memoire.rave.train import class_trajectories
from memoire.world.level import Anchor
from rave_tiny import TINY_MODEL


def test_export_carries_class_frames_and_the_game_reads_them(tmp_path):
    torch.manual_seed(0)
    d = TINY_MODEL.latent_dim
    frames = {"bells": torch.randn(90, d), "rain": torch.randn(70, d)}
    names = sorted(frames)
    traj = class_trajectories(frames, names)
    assert traj.shape == (2, d, 70)  # the shortest class's length
    mean = torch.stack([frames[n].mean(0) for n in names])
    std = torch.stack([frames[n].std(0) for n in names])
    path = tmp_path / "m.ts"
    export_torchscript(AutoEncoder(TINY_MODEL).eval(), path, names, mean, std, traj)
    info = inspect_model(path)
    assert info.class_frames.shape == (2, 70, d)
    np.testing.assert_allclose(info.class_frames[0], frames["bells"][:70].numpy(), atol=1e-6)
    motion = resolve_motion(Anchor(class_name="rain"), info)
    assert motion.shape == (70, d)
    np.testing.assert_allclose(motion.mean(axis=0), 0.0, atol=1e-5)
    assert resolve_motion(Anchor(vector=tuple([0.0] * d)), info) is None  # a vector stays still

"""Training on a tiny corpus, checkpoints and resume, user errors, `memoire encode`."""

import argparse

import numpy as np
import pytest
import torch

from memoire.rave import encode_command
from memoire.rave.data import load_corpus, split_train_heldout
from memoire.rave.losses import multiscale_stft_distance
from memoire.rave.train import load_checkpoint, model_from_checkpoint, train
from memoire.world.errors import UserError
from rave_tiny import TINY_MODEL, TINY_TRAIN, write_tiny_corpus


def _fixed_batch(folder):
    clips = load_corpus(folder, 44100)
    x = np.stack([c.audio[: 4 * 2048] for c in clips])[:, None]
    return torch.from_numpy(x)


def _loss(model, x):
    torch.manual_seed(0)
    with torch.no_grad():
        y, _ = model(x)
    return float(multiscale_stft_distance(y, x))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("rave")
    data = base / "corpus"
    write_tiny_corpus(data)
    run = base / "run"
    state = train(data, run, 40, False, "cpu", TINY_MODEL, TINY_TRAIN, progress=False,
                  export_path=run / "model.ts", log=lambda s: None)
    return data, run, state


def test_a_few_steps_lower_the_loss(trained):
    data, run, state = trained
    x = _fixed_batch(data)
    torch.manual_seed(0)
    from memoire.rave.model import AutoEncoder

    untrained = AutoEncoder(TINY_MODEL).eval()  # train() seeds torch with the same seed first
    trained_model = model_from_checkpoint(load_checkpoint(run / "checkpoint.pt"))
    assert _loss(trained_model, x) < 0.9 * _loss(untrained, x)


def test_run_folder_has_checkpoint_curves_and_export(trained):
    _, run, state = trained
    assert state["step"] == 40
    for name in ("checkpoint.pt", "losses.csv", "losses.png", "model.ts"):
        assert (run / name).is_file(), name
    lines = (run / "losses.csv").read_text().splitlines()
    assert lines[0].startswith("step,stft") and len(lines) == 41
    m = torch.jit.load(str(run / "model.ts"))
    assert sorted(m.latent_class_names) == ["hiss", "tone"]
    assert m.latent_class_mean.shape == (2, TINY_MODEL.latent_dim)


def test_resume_continues_the_step_count(trained, tmp_path):
    import shutil

    data, run, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    state = train(data, copy, 45, True, "cpu", progress=False, log=lambda s: None)
    assert state["step"] == 45
    assert len(state["history"]["step"]) == 45
    with pytest.raises(UserError, match="--resume"):
        train(data, copy, 50, False, "cpu", progress=False, log=lambda s: None)


def test_folder_without_audio_is_a_user_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(UserError, match="no .wav or .flac"):
        train(tmp_path, tmp_path / "run", 1, False, "cpu", progress=False)
    with pytest.raises(UserError, match="no such folder"):
        train(tmp_path / "missing", tmp_path / "run", 1, False, "cpu", progress=False)


def test_held_out_split_uses_the_manifest_or_file_tails(tmp_path):
    write_tiny_corpus(tmp_path)
    train_clips, held = split_train_heldout(load_corpus(tmp_path, 44100))
    # no split column: the last 15 % of each file is held out
    assert len(train_clips) == len(held) == 2
    assert len(held[0].audio) == pytest.approx(0.15 * 1.5 * 44100, abs=2)


def test_encode_command_writes_frames_by_dims(trained, tmp_path, capsys):
    data, run, _ = trained
    out = tmp_path / "tone.npy"
    args = argparse.Namespace(file=str(data / "tone.wav"), out=str(out), model=str(run / "model.ts"))
    assert encode_command.run(args) == 0
    z = np.load(out)
    assert z.shape == (int(1.5 * 44100) // 2048, TINY_MODEL.latent_dim) and z.dtype == np.float32
    printed = capsys.readouterr().out
    assert "mean = [" in printed and f"{z.mean(0)[0]:.3f}" in printed


def test_encode_command_errors_are_user_errors(trained, tmp_path):
    _, run, _ = trained
    with pytest.raises(UserError, match="no such audio file"):
        encode_command.run(argparse.Namespace(file=str(tmp_path / "nope.wav"), out=None, model=str(run / "model.ts")))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(UserError, match="cannot read"):
        encode_command.run(argparse.Namespace(file=str(bad), out=None, model=str(run / "model.ts")))

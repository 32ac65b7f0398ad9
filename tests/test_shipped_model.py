"""The shipped model against the committed corpus: what docs/model.md promises of it."""

from pathlib import Path

import pytest
import torch

from memoire.rave.data import load_corpus, split_train_heldout
from memoire.rave.evaluate import class_means, encode_frames, nearest_class

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = ROOT / "assets" / "models" / "hutong.ts"
CORPUS = ROOT / "assets" / "corpus"
# The target for the latent's class separability (nearest-class-mean, held-out frames).
MIN_SEPARABILITY = 0.90


@pytest.fixture(scope="module")
def shipped():
    torch.set_num_threads(1)
    return torch.jit.load(str(SHIPPED_MODEL), map_location="cpu").eval()


def test_shipped_model_knows_every_corpus_class(shipped):
    clips = load_corpus(CORPUS, int(shipped.sampling_rate))
    assert sorted(shipped.latent_class_names) == sorted({c.cls for c in clips})


@pytest.mark.slow  # encodes held-out corpus audio with the shipped model (~4 s)
def test_held_out_frames_land_nearest_their_own_class(shipped):
    """A level names a class as a zone's anchor: the latent must keep the classes apart, on
    audio the model never saw (each class's held-out file, another performance)."""
    rate = int(shipped.sampling_rate)
    train, held = split_train_heldout(load_corpus(CORPUS, rate))

    names, means = class_means(lambda audio: encode_frames(shipped, audio), train)
    correct = total = 0
    for clip in held:
        pred = nearest_class(means, encode_frames(shipped, clip.audio))
        correct += int((pred == names.index(clip.cls)).sum())
        total += len(pred)
    assert total > 2000
    assert correct / total >= MIN_SEPARABILITY

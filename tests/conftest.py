"""Shared fixtures. Tests run headless: SDL's dummy video driver, moderngl on EGL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/tiny_model.py

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A tiny TorchScript model with the RAVE/nn~ interface and Memoire's class statistics."""
    import torch

    from tiny_model import save_tiny

    torch.set_num_threads(1)
    return save_tiny(tmp_path_factory.mktemp("models") / "tiny.ts")


@pytest.fixture(scope="session")
def default_level_path() -> Path:
    return ROOT / "levels" / "hutong.toml"

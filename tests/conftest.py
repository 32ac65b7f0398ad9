"""Shared fixtures. Tests run headless: SDL's dummy video driver, moderngl on EGL.

A test that needs something of the machine says so with a marker: ``gl`` (an OpenGL 3.3 context on
EGL), ``pulse`` (PulseAudio), ``espeak`` (espeak-ng). Without it the test is skipped with the
reason; under CI=true it fails instead, since CI (tools/install.sh) installs all of them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/tiny_model.py

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

CI = os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Skip the running test with ``reason``; under CI=true fail with it: CI runs every test."""
    if CI:
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)", pytrace=False)
    pytest.skip(reason)


def _gl_missing() -> str | None:
    try:
        from memoire.render.context import headless_context

        headless_context().release()
    except Exception as e:  # UserError with the reason, or the driver's own error
        return f"no headless OpenGL 3.3 (EGL) on this machine: {e}"
    return None


def _pulse_missing() -> str | None:
    if shutil.which("pulseaudio") and shutil.which("pactl"):
        return None
    return "pulseaudio is not installed (bash tools/install.sh test installs it and starts a null sink)"


def _espeak_missing() -> str | None:
    return None if shutil.which("espeak-ng") else "espeak-ng is not installed (apt install espeak-ng)"


NEEDS = {"gl": _gl_missing, "pulse": _pulse_missing, "espeak": _espeak_missing}
_missing: dict[str, str | None] = {}  # marker -> why the machine lacks it (probed once a session)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for marker, probe in NEEDS.items():
        if item.get_closest_marker(marker) is not None:
            if marker not in _missing:
                _missing[marker] = probe()
            if _missing[marker]:
                skip_or_fail(_missing[marker])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a marked test that skips itself (a server that did not answer, no device
    reaching it) fails with its reason too."""
    report = yield
    if (CI and report.skipped and not hasattr(report, "wasxfail")
            and any(item.get_closest_marker(m) is not None for m in NEEDS)):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: skipped, but this test must run: {reason}"
    return report


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

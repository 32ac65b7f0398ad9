"""Where Memoire's own files are: the one place that names the default level, model and folders.

The package lives at ``<root>/memoire``; its content (levels/, assets/, config/) sits beside it in
the project folder, and in a demo folder built by ``memoire build-demo`` (same layout).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # memoire/world/paths.py -> the project folder
DEFAULT_LEVEL = ROOT / "levels" / "hutong.toml"
DEFAULT_MODEL = ROOT / "assets" / "models" / "hutong.ts"
DEFAULT_KIOSK_CONFIG = ROOT / "config" / "kiosk.toml"
CORPUS_DIR = ROOT / "assets" / "corpus"
VOICE_DIR = CORPUS_DIR / "voice"
RUNS_DIR = ROOT / "runs"
DOCS_IMG_DIR = ROOT / "docs" / "img"


def default_model(level, override: str | Path | None = None) -> Path:
    """The model a level plays: ``override`` (a --model flag), else the level's [sound] model,
    else Memoire's shipped one."""
    if override:
        return Path(override)
    return level.sound.model or DEFAULT_MODEL

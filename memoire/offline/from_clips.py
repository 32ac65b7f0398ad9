"""`memoire level from-clips DIR --model M.ts --out L.toml`: an artist's clips as a playable gallery.

Every audio file directly in DIR (sorted by name) is encoded with the artist's model, as `memoire
encode` does (memoire/rave/encode_command.py's checks, memoire/rave/data.py's ``load_audio``), and
saved as a latent clip ``<L>.clips/<name>.npy`` beside the level. The level is the default level
(levels/hutong.toml, or ``--template``) with its map, spawn, tours, [sound] and [terrain] settings,
and its zones' anchors replaced by the clips in order: zone i gets clip i, cycling when there are
fewer clips than zones; clips beyond the zones are left out (and named). Each zone is renamed after
its clip; ``[sound] rest`` becomes the mean of the clips' means; ``[sound] model`` the model's path
relative to the level. The level is checked with the level reader before it is written.

Refused before anything is written (exit 2): a missing or empty folder, one without audio files,
audio files that cannot be used (each named, with why: unreadable, empty, silent, NaN, shorter
than one latent frame; ``--skip-unreadable`` leaves them out instead), a model that is not a
model, an output that is an input. Files are written whole or not at all (``atomic_output``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np

from memoire.world.errors import UserError
from memoire.world.files import (
    atomic_output,
    atomic_write_text,
    cannot_write,
    check_output_path,
)
from memoire.world.paths import DEFAULT_LEVEL

# File suffixes read as audio: what libsndfile reads (soundfile.available_formats) by their usual names.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".caf",
                  ".w64", ".rf64")
# Names shown in full in a message; the rest are counted.
_names_shown = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`memoire level ACTION`: only from-clips so far."""
    sub = parser.add_subparsers(dest="level_action", metavar="ACTION", required=True)
    p = sub.add_parser(
        "from-clips", help="a playable level from a folder of audio clips and a model",
        description="Encode every audio file in FOLDER with the model and write a level over the default map "
                    "whose zones are those clips, in name order (zone i gets clip i; fewer clips than zones: "
                    "they repeat; more: the rest are left out and named). The clips go to OUT's folder as "
                    "<OUT>.clips/<name>.npy, the rest latent is their mean. Then: memoire check OUT, "
                    "memoire play OUT.")
    p.add_argument("folder", type=Path, help="folder of audio clips (wav, flac, ogg, aiff, mp3, ...)")
    p.add_argument("--model", type=Path, required=True, help="the artist's TorchScript model (RAVE / nn~ export)")
    p.add_argument("--out", type=Path, required=True, help="level file to write (L.toml)")
    p.add_argument("--template", type=Path, default=DEFAULT_LEVEL,
                   help="level whose map, spawn, tours and zones to use (default: levels/hutong.toml)")
    p.add_argument("--name", help="the level's name (default: the folder's name)")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="leave out audio files that cannot be used instead of stopping")
    p.add_argument("--copy-model", action="store_true",
                   help="copy the model beside the level, so the folder is self-contained (a level may only "
                        "name files in its own folder or the assets/ folder beside it)")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "level_action", None) != "from-clips":
        raise UserError(f"unknown level action '{getattr(args, 'level_action', '')}'; use from-clips")
    return from_clips(args.folder, args.model, args.out, template=args.template, name=args.name,
                      skip_unreadable=args.skip_unreadable, copy_model=args.copy_model)


# ---------------------------------------------------------------------------------------------
# Finding and encoding the clips


def find_clips(folder: Path) -> list[Path]:
    """Audio files directly in ``folder``, sorted by name (case-insensitive). UserError when the
    folder is missing, empty or holds no audio file."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{folder}: no such folder; give the folder holding the artist's audio clips")
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; put the clips in a folder and give that")
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name.casefold())
    if not entries:
        raise UserError(f"{folder} is empty; put the artist's audio clips in it (WAV, FLAC, OGG, AIFF, MP3, ...)")
    files = [p for p in entries if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
    if not files:
        others = [p.name + ("/" if p.is_dir() else "") for p in entries]
        raise UserError(f"{folder}: no audio files in it (found {_names(others)}); a clip is a "
                        f"{', '.join(AUDIO_SUFFIXES[:6])}, ... file directly in the folder")
    return files


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_names_shown])
    return shown + (f" and {len(items) - _names_shown} more" if len(items) > _names_shown else "")


def load_encoder(model: Path):
    """(torch module, model card) for encoding (`memoire encode`'s loader); UserError for a file
    that is not a usable model."""
    from memoire.rave.encode_command import load_encoder as load

    model = Path(model)
    if not model.exists():
        raise UserError(f"--model {model}: no such model file (a TorchScript .ts exported from RAVE or `memoire "
                        "train`)")
    return load(model)


def encode_clip(path: Path, module, info) -> np.ndarray:
    """(frames, latent_dim) float32 latents of one clip: `memoire encode`'s checks and reading."""
    from memoire.rave.encode_command import encode_with

    return encode_with(path, module, info)


def _why(e: UserError, path: Path) -> str:
    text = str(e)
    prefix = f"{path}: "
    return text.removeprefix(prefix)


# ---------------------------------------------------------------------------------------------
# The level


def clip_file_names(paths: list[Path]) -> list[str]:
    """A file name (no suffix) per clip: its name with anything but letters, digits, '-', '_' and
    '.' as '_', unique (a second 'rain' is 'rain-2')."""
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", p.stem).strip("._") or "clip"
        base = base[:60]
        name, k = base, 2
        while name.casefold() in seen:
            name, k = f"{base}-{k}", k + 1
        seen.add(name.casefold())
        out.append(name)
    return out


def assign(n_zones: int, n_clips: int) -> list[int]:
    """Clip index per zone: zone i gets clip i, cycling when there are fewer clips than zones."""
    return [i % n_clips for i in range(n_zones)]


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def from_clips(folder: Path, model: Path, out: Path, *, template: Path = DEFAULT_LEVEL, name: str | None = None,
               skip_unreadable: bool = False, copy_model: bool = False) -> int:
    from memoire.world.level import allowed_roots, load_level, parse_level

    folder, model, out, template = Path(folder), Path(model), Path(out), Path(template)
    if out.suffix.lower() != ".toml":
        raise UserError(f"--out {out}: a level is a .toml file; name it L.toml")
    clips = find_clips(folder)
    base = load_level(template, allow_outside=True)
    del base  # read for its checks; the raw tables are what is copied
    raw = tomllib.loads(template.read_text(encoding="utf-8-sig"))
    zones = raw.get("zones") or []
    if not zones:
        raise UserError(f"{template}: the template level has no [[zones]] to put the clips in")
    clips_dir = out.with_name(out.stem + ".clips")
    inputs = [("the template level", template), ("the model", model), *(("an audio clip", c) for c in clips)]
    check_output_path(out, inputs, flag="--out")
    if clips_dir.exists() and not clips_dir.is_dir():
        raise UserError(f"{clips_dir} is a file; the clips folder goes there (move the file, or name --out "
                        "otherwise)")
    if any(Path(c).resolve().is_relative_to(clips_dir.resolve()) for c in clips):
        raise UserError(f"{folder} is the clips folder {clips_dir} this command writes; keep the audio elsewhere")

    module, info = load_encoder(model)
    print(f"encoding {len(clips)} clip{'s' if len(clips) != 1 else ''} with {model.name} "
          f"({info.latent_dim} latent dimensions)...", file=sys.stderr, flush=True)
    encoded: list[tuple[Path, np.ndarray]] = []
    bad: list[tuple[Path, str]] = []
    for path in clips:
        try:
            encoded.append((path, encode_clip(path, module, info)))
        except UserError as e:
            bad.append((path, _why(e, path)))
    if bad:
        listing = "\n".join(f"  {p.name}: {why}" for p, why in bad)
        if not skip_unreadable or not encoded:
            what = "none of the audio files could be used" if not encoded else \
                f"{len(bad)} of {len(clips)} audio files cannot be used"
            hint = "fix or remove them" + ("" if not encoded else ", or pass --skip-unreadable to leave them out")
            raise UserError(f"{folder}: {what}; nothing written:\n{listing}\n{hint}")
        print(f"left out {len(bad)} file{'s' if len(bad) != 1 else ''} that cannot be used:\n{listing}",
              file=sys.stderr)

    names = clip_file_names([p for p, _ in encoded])
    order = assign(len(zones), len(encoded))
    used = sorted(set(order))
    left_out = [encoded[i][0].name for i in range(len(encoded)) if i not in used]

    # Model path: relative to the level; copied beside it with --copy-model.
    level_dir = out.parent if str(out.parent) else Path(".")
    model_in_level = model
    if copy_model:
        model_in_level = level_dir / model.name
        if not (model_in_level.exists() and os.path.samefile(model_in_level, model)):
            if model_in_level.exists():
                raise UserError(f"--copy-model: {model_in_level} exists and is another file; move it, or copy the "
                                "model there yourself")
            try:
                with atomic_output(model_in_level) as tmp:
                    shutil.copyfile(model, tmp)
            except OSError as e:
                raise cannot_write(model_in_level, e) from None

    level = _level_table(raw, encoded, names, order, clips_dir, level_dir, model_in_level,
                         name or folder.resolve().name)
    text = _header(folder, model, template) + dump_toml(level)

    # Write the clips, check the level as the game will read it, then write it.
    try:
        clips_dir.mkdir(exist_ok=True)
        for i in used:
            with atomic_output(clips_dir / f"{names[i]}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, encoded[i][1])
    except OSError as e:
        raise cannot_write(clips_dir, e) from None
    parse_level(text, out.resolve(), allow_outside=True)  # a bug here, not the user's: let it show
    try:
        atomic_write_text(out, text)
    except OSError as e:
        raise cannot_write(out, e) from None

    for zone, i in zip(level["zones"], order):
        print(f"  zone {zone['name']!r:<24} <- {encoded[i][0].name} ({len(encoded[i][1])} frames)", file=sys.stderr)
    if len(encoded) < len(zones):
        print(f"{len(encoded)} clips for {len(zones)} zones: the clips repeat in order", file=sys.stderr)
    if left_out:
        print(f"{len(left_out)} clip{'s' if len(left_out) != 1 else ''} left out (the map has {len(zones)} zones): "
              f"{_names(left_out)}", file=sys.stderr)
    roots = allowed_roots(out.resolve())
    if not any(model_in_level.resolve().is_relative_to(r) for r in roots):
        print(f"note: the model {model} is outside the level's folder; play with --allow-outside-paths, or run "
              "again with --copy-model (or move the model beside the level)", file=sys.stderr)
    print(f"wrote {out} ({len(zones)} zones, clips in {clips_dir.name}/); next: memoire check {out}, "
          f"memoire play {out}")
    return 0


def _level_table(raw: dict, encoded, names, order, clips_dir: Path, level_dir: Path, model: Path,
                 level_name: str) -> dict:
    level = json.loads(json.dumps(raw))  # a deep copy of plain TOML data
    level.setdefault("level", {})["name"] = level_name
    sound = level.setdefault("sound", {})
    sound["model"] = _rel(model, level_dir)
    means = np.stack([encoded[i][1].mean(axis=0) for i in sorted(set(order))])
    sound["rest"] = [_round(v) for v in means.mean(axis=0)]
    terrain = level.get("terrain")
    if isinstance(terrain, dict) and terrain.get("source", "train") != "train":
        terrain["source"] = "train"  # a named terrain was made for another model
    level.pop("trajectories", None)  # their clips were encoded with the template's model
    taken: set[str] = set()
    renamed: dict[str, str] = {}  # the template's zone name -> the clip's zone in its place
    for zone, i in zip(level["zones"], order):
        old_name = zone.get("name")
        zname, k = encoded[i][0].stem[:70] or names[i], 2
        base_name = zname
        while zname in taken:
            zname, k = f"{base_name} ({k})", k + 1
        taken.add(zname)
        zone["name"] = zname
        zone["anchor"] = {"clip": f"{clips_dir.name}/{names[i]}.npy"}
        if isinstance(old_name, str):
            renamed[old_name] = zname
    # props that belong to a zone (a flock over it, rain over it) follow the zone in its place
    for prop in level.get("props") or []:
        if isinstance(prop, dict) and isinstance(prop.get("zone"), str):
            if prop["zone"] in renamed:
                prop["zone"] = renamed[prop["zone"]]
            else:  # a zone the clips did not fill: the prop has nothing to show
                prop["zone"] = None
    if level.get("props"):
        level["props"] = [p for p in level["props"] if not (isinstance(p, dict) and "zone" in p and p["zone"] is None)]
    return level


def _round(v: float) -> float:
    return float(f"{float(v):.7g}")


def _header(folder: Path, model: Path, template: Path) -> str:
    return (f"# Written by `memoire level from-clips` from the clips in {folder.name}/, encoded with {model.name},\n"
            f"# over the map of {template.name}. Format: docs/levels.md. Edit freely (or: memoire edit).\n\n")


# ---------------------------------------------------------------------------------------------
# TOML out (level files hold tables, arrays of tables, strings, numbers, booleans and arrays)

_bare_key = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _bare_key.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v, indent: str = "") -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        if "\n" in v and "'''" not in v and not any(ord(c) < 32 and c not in "\n\t" for c in v):
            return "'''\n" + v + "'''"
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        if len(v) > 8 and all(isinstance(x, list) for x in v):
            return "[\n" + "".join(f"  {_value(x)},\n" for x in v) + "]"
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(name: str, t: dict) -> list[str]:
    lines = [f"[{name}]"]
    subtables = []
    for k, v in t.items():
        if isinstance(v, dict):
            subtables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    out = lines + [""]
    for k, v in subtables:
        out += _table(f"{name}.{_key(k)}", v)
    return out


def dump_toml(doc: dict) -> str:
    """TOML text for ``doc`` (tomllib's kind of data): plain keys, then [tables] (nested as
    [a.b]), then [[arrays of tables]] whose nested tables are written inline."""
    lines: list[str] = []
    for k, v in doc.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and not all(isinstance(x, dict) for x in v)) \
                or (isinstance(v, list) and not v):
            lines.append(f"{_key(k)} = {_value(v)}")
    if lines:
        lines.append("")
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += _table(_key(k), v)
    for k, v in doc.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines.append(f"[[{_key(k)}]]")
                lines += [f"{_key(a)} = {_value(b)}" for a, b in item.items()]
                lines.append("")
    return "\n".join(lines)

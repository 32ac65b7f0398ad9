"""`memoire build-demo LEVEL --out DIR`: a self-contained festival demo folder.

    DIR/
      start.sh              launcher: kiosk mode with the folder's level, model and config
      install.sh            venue set-up: a venv with the dependencies, the systemd user unit
      memoire-demo.service  systemd user unit (Restart=always, WatchdogSec; the game notifies)
      kiosk.toml            kiosk settings (idle time, tour, volume, quit key, logs)
      levels/LEVEL.toml     the level, its model path pointing into assets/models/; its saved terrain
      assets/models/MODEL.ts  the neural model (the project's own layout: the level's paths stay
                            inside its folder or the assets/ beside it, docs/levels.md Paths)
      app/                  Memoire's source (memoire/, pyproject.toml)
      README.md             one page for the venue technician
      logs/                 rotating logs (made at first start)

start.sh finds Python in this order: $MEMOIRE_PYTHON, DIR/venv (made by install.sh), the Python
that built the demo (if it still exists); it runs the bundled app/ source with it.
"""

from __future__ import annotations

import argparse
import shutil
import stat
import sys
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.paths import ROOT, DEFAULT_KIOSK_CONFIG

# Source copied into app/: the memoire package and what installs it.
APP_PARTS = ("memoire", "pyproject.toml", "README.md")
# systemd watchdog: the game pings every frame (at most every WatchdogSec/2); a loop frozen for
# 30 s is restarted. Start-up (torch import, model load) gets 120 s before READY=1.
watchdog_s = 30
start_timeout_s = 120
restart_delay_s = 5


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level", help="level file (e.g. levels/hutong.toml)")
    p.add_argument("--out", required=True, help="the demo folder to write (must not exist, or be empty)")
    p.add_argument("--model", help="TorchScript model (default: the level's [sound] model)")
    p.add_argument("--config", help=f"kiosk config to start from (default: {DEFAULT_KIOSK_CONFIG})")
    p.add_argument("--force", action="store_true", help="replace the files of an existing demo folder")


def run(args: argparse.Namespace) -> int:
    out = build_demo(Path(args.level), Path(args.out), model=Path(args.model) if args.model else None,
                     config=Path(args.config) if args.config else None, force=args.force)
    print(f"demo written to {out}: start it with {out / 'start.sh'}; venue set-up: {out / 'README.md'}")
    return 0


def build_demo(level_path: Path, out: Path, *, model: Path | None = None, config: Path | None = None,
               force: bool = False) -> Path:
    import tomlkit

    from memoire.kiosk.config import load_kiosk_config, tour_line
    from memoire.world.level import load_level
    from memoire.world.paths import default_model

    level = load_level(level_path)
    model_path = default_model(level, model)
    if not model_path.exists():
        raise UserError(f"model file {model_path} not found: the demo needs it. Train one (`memoire corpus`, "
                        "`memoire train`) or pass --model FILE")
    config_path = config or DEFAULT_KIOSK_CONFIG
    kiosk = load_kiosk_config(config_path)
    tour = kiosk.tour or (level.tours[0].name if level.tours else None)
    if tour is None:
        raise UserError(f"{level.path}: the level has no [[tours]]; the kiosk's attract mode walks one")
    if tour not in [t.name for t in level.tours]:
        raise UserError(f"{tour_line(kiosk)}: [kiosk]: tour '{tour}' is not in {level.path}; its tours: "
                        f"{', '.join(t.name for t in level.tours)}")
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not force:
        raise UserError(f"--out {out}: the folder exists and is not empty; choose a new folder or add --force")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file, not a folder")
    from memoire.world.files import check_output_path, level_inputs

    inputs = [*level_inputs(level, model_path), ("the kiosk config", config_path)]
    models = out / "assets" / "models"
    for dest in (out / "levels" / level_path.name, models / model_path.name, out / "kiosk.toml"):
        check_output_path(dest, inputs, flag="--out", folder_made=True)  # --force over the inputs: refused

    (out / "levels").mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    # the model, and the level pointing at it
    shutil.copy2(model_path, models / model_path.name)
    doc = tomlkit.parse(level_path.read_text(encoding="utf-8"))
    if "sound" not in doc:
        doc["sound"] = tomlkit.table()
    doc["sound"]["model"] = f"../assets/models/{model_path.name}"
    level_out = out / "levels" / level_path.name
    level_out.write_text(tomlkit.dumps(doc), encoding="utf-8")
    from memoire.terrain.grid import saved_suffix

    for saved in level_path.parent.glob(f"{level_path.stem}{saved_suffix}"):
        shutil.copy2(saved, out / "levels" / saved.name)
    for extra in _level_files(level):
        dest = out / "levels" / extra.relative_to(level_path.parent.resolve())
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(extra, dest)
    # the config, with its logs inside the folder and the tour written out
    cdoc = tomlkit.parse(config_path.read_text(encoding="utf-8"))
    cdoc["kiosk"]["log_dir"] = tomlkit.item("logs").comment("in this folder")
    cdoc["kiosk"]["tour"] = tour
    (out / "kiosk.toml").write_text(tomlkit.dumps(cdoc), encoding="utf-8")
    load_kiosk_config(out / "kiosk.toml")  # what we wrote must load
    _copy_app(out / "app")
    _write(out / "start.sh", _start_sh(level_out.relative_to(out)), executable=True)
    _write(out / "install.sh", _install_sh(), executable=True)
    _write(out / "memoire-demo.service", service_unit(out))
    _write(out / "README.md", _readme(level.name, tour, model_path.name, kiosk))
    load_level(level_out)  # the copied level loads, its model path resolves
    return out


def _level_files(level) -> list[Path]:
    """Files the level names (trajectory clips, a terrain source file) that live beside or below it."""
    base = level.path.parent.resolve()
    files = [t.clip for t in level.trajectories]
    if level.terrain is not None and level.terrain.source_path is not None:
        files.append(level.terrain.source_path)
    out = []
    for f in files:
        f = Path(f).resolve()
        if f.exists() and base in f.parents:
            out.append(f)
    return out


def _copy_app(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "bench")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for part in APP_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / part)


def _write(path: Path, text: str, executable: bool = False) -> None:
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _start_sh(level_rel: Path) -> str:
    return f"""#!/bin/sh
# Memoire festival demo: starts kiosk mode (written by `memoire build-demo`; see README.md).
#   ./start.sh                      fullscreen kiosk on this computer's display
#   ./start.sh --xvfb               on a virtual display when the computer has none (tests)
#   ./start.sh --headless --frames 300   offscreen, a fixed number of frames (smoke test)
# Quit: the key chord in kiosk.toml (ctrl+alt+q unless changed).
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
PY="${{MEMOIRE_PYTHON:-}}"
if [ -z "$PY" ] && [ -x "$HERE/venv/bin/python" ]; then PY="$HERE/venv/bin/python"; fi
if [ -z "$PY" ] && [ -x "{sys.executable}" ]; then PY="{sys.executable}"; fi
if [ -z "$PY" ]; then
  echo "memoire: no Python with Memoire's libraries here: run ./install.sh once (see README.md)" >&2
  exit 2
fi
export PYTHONPATH="$HERE/app${{PYTHONPATH:+:$PYTHONPATH}}"
export PYGAME_HIDE_SUPPORT_PROMPT=1
XVFB=0
if [ "${{1:-}}" = "--xvfb" ]; then XVFB=1; shift; fi
if [ "$XVFB" = 1 ]; then
  exec xvfb-run -a -s "-screen 0 1920x1080x24" "$PY" -m memoire play "$HERE/{level_rel}" --kiosk --config "$HERE/kiosk.toml" "$@"
fi
exec "$PY" -m memoire play "$HERE/{level_rel}" --kiosk --config "$HERE/kiosk.toml" "$@"
"""


def _install_sh() -> str:
    return """#!/bin/sh
# Memoire demo set-up (see README.md):
#   ./install.sh            a Python environment in ./venv with Memoire's libraries (needs internet once)
#   ./install.sh --service  also install and start the systemd user service (starts at login, restarts on failure)
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
if [ ! -x venv/bin/python ]; then
  PY="${PYTHON:-python3.11}"; command -v "$PY" >/dev/null || PY=python3   # Memoire needs Python 3.11
  "$PY" -m venv venv
  venv/bin/python -m pip install --upgrade pip
  # torch first, from PyTorch's CPU index (the default index's build pulls GBs of CUDA libraries)
  venv/bin/python -m pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
  venv/bin/python -m pip install ./app
fi
if [ "${1:-}" = "--service" ]; then
  mkdir -p "$HOME/.config/systemd/user"
  # the unit names this folder: rewrite its paths in case the folder was moved after building
  sed "s#^WorkingDirectory=.*#WorkingDirectory=$HERE#; s#^ExecStart=.*#ExecStart=$HERE/start.sh#" \\
    memoire-demo.service > "$HOME/.config/systemd/user/memoire-demo.service"
  systemctl --user daemon-reload
  systemctl --user enable --now memoire-demo.service
  echo "service installed: systemctl --user status memoire-demo"
fi
"""


def service_unit(demo: Path) -> str:
    """The systemd user unit for the demo folder ``demo`` (absolute paths)."""
    return f"""# Memoire festival demo as a systemd user service (installed by ./install.sh --service).
[Unit]
Description=Memoire festival demo ({demo.name})
After=graphical-session.target sound.target
PartOf=graphical-session.target

[Service]
Type=notify
# the game sends READY=1 and WATCHDOG=1 itself (NOTIFY_SOCKET); all: also through xvfb-run
NotifyAccess=all
WorkingDirectory={demo}
ExecStart={demo}/start.sh
Restart=always
RestartSec={restart_delay_s}
WatchdogSec={watchdog_s}
TimeoutStartSec={start_timeout_s}
Environment=DISPLAY=:0

[Install]
WantedBy=graphical-session.target default.target
"""


def _readme(level_name: str, tour: str, model_name: str, kiosk) -> str:
    return f"""# Memoire festival demo: for the venue technician

A first-person walk through "{level_name}" whose sound is generated live. Put it on a computer
with a screen, headphones, a keyboard and a mouse. It starts by itself, walks its tour
("{tour}") until a visitor touches the mouse or a key, and returns to the tour
{kiosk.idle_s:g} s after the visitor leaves.

## Install (once, with internet)

    ./install.sh              # makes ./venv with the libraries (a few minutes; ~1 GB)
    ./install.sh --service    # also: start at login, restart on any failure (systemd user service)

Linux with a desktop session and Python 3.11; `sudo apt install python3.11-venv libportaudio2 libegl1`
if missing.
For the service to run without anyone logged in: `sudo loginctl enable-linger $USER`.

## Start and stop

- Start: `./start.sh` (or `systemctl --user start memoire-demo` with the service).
- Quit: press **{kiosk.quit_chord}** (nothing else leaves the demo). With the service, it
  restarts within {restart_delay_s} s: use `systemctl --user stop memoire-demo` to stop it for good.
- Disable the service: `systemctl --user disable --now memoire-demo`.

## Change the volume

Edit `kiosk.toml`: `volume_db` (now {kiosk.volume_db:g}; each -6 halves the signal level) and,
to protect ears, `volume_limit_db` (now {kiosk.volume_limit_db:g} dBFS, the loudest peak allowed).
Then restart: `systemctl --user restart memoire-demo` (or quit and `./start.sh`).
The computer's own volume control works too.

## Read the logs

`logs/memoire.log` (the newest; older ones are `memoire.log.1` ... `.{kiosk.log_backups}`, each at most
{kiosk.log_max_bytes // 1000} kB, so they never fill the disk). With the service also:
`journalctl --user -u memoire-demo -f`.
What to look for: "sound lost" / "sound is back" (headphones unplugged / plugged back: the demo
plays on and recovers by itself), "restarting it" / "audio process" (the sound engine was
restarted by itself), "cannot start" (a missing or broken file:
the screen says which; it retries every {kiosk.retry_s:g} s).

## Files

`levels/` the level, `assets/models/{model_name}` the sound model, `kiosk.toml` the settings,
`app/` the program, `start.sh` the launcher, `memoire-demo.service` the service.
"""

"""`memoire build-demo LEVEL --out DIR`: a self-contained festival demo folder.

    DIR/
      start.sh              launcher: kiosk mode with the folder's level, model and config
      install.sh            venue set-up: ./venv from wheels/ (offline), the systemd user unit
      memoire-demo.service  systemd user unit (Restart=always, WatchdogSec; the game notifies)
      kiosk.toml            kiosk settings (idle time, tour, volume, quit key, logs)
      levels/LEVEL.toml     the level, its model path pointing into assets/models/; its saved terrain
      assets/models/MODEL.ts  the neural model (the project's own layout: the level's paths stay
                            inside its folder or the assets/ beside it, docs/levels.md Paths)
      app/                  Memoire's source (memoire/, pyproject.toml)
      wheels/               the wheelhouse: Memoire's wheel and every library it needs (CPU torch
                            included) for the builder's platform and Python; left out by --no-wheels
      README.md             one page for the venue technician (the system it was built on, screen
                            blanking, auto-login, audio output, resolution)
      logs/                 rotating logs (made at first start)

install.sh installs from wheels/ with `pip --no-index` (no internet at the venue) after checking
that the venue's Python and machine are those the wheels were built for; with --no-wheels it
downloads them instead (today's online install). start.sh runs the bundled app/ source with
$MEMOIRE_PYTHON if the technician sets it, else DIR/venv/bin/python, never another folder's
Python: without ./venv it says to run ./install.sh first; with a file of the folder missing it
says the folder is incomplete and to rebuild it.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.paths import DEFAULT_KIOSK_CONFIG, ROOT

# Source copied into app/: the memoire package and what installs it.
# the package, and the data it reads from the project's assets/ (times of day, prop shapes,
# acoustic materials; memoire/world/paths.py ROOT is the app folder in a demo)
APP_PARTS = ("memoire", "pyproject.toml", "README.md", "assets/look", "assets/props", "assets/acoustics")
# systemd watchdog: the game pings every frame (at most every WatchdogSec/2); a loop frozen for
# 30 s is restarted. Start-up (torch import, model load) gets 120 s before READY=1.
watchdog_s = 30
start_timeout_s = 120
restart_delay_s = 5
# The wheelhouse: torch's CPU build (PyPI's Linux torch pulls GBs of CUDA wheels). It is looked for
# on PyTorch's CPU index as well as the builder's own pip sources; pip takes 2.13.0+cpu over a
# plain 2.13.0 (a local version sorts higher), and the set is refused if any CUDA wheel got in.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_WHEEL_PREFIXES = ("nvidia_", "nvidia-", "triton-", "cuda_", "cuda-")
# start.sh and install.sh: a folder of this demo that is missing means it is incomplete
INCOMPLETE = "this demo folder is incomplete ({what} is missing): rebuild it with `memoire build-demo`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("level", help="level file (e.g. levels/hutong.toml)")
    p.add_argument("--out", required=True, help="the demo folder to write (must not exist, or be empty)")
    p.add_argument("--model", help="TorchScript model (default: the level's [sound] model)")
    p.add_argument("--config", help=f"kiosk config to start from (default: {DEFAULT_KIOSK_CONFIG})")
    p.add_argument("--force", action="store_true", help="replace the files of an existing demo folder")
    p.add_argument("--no-wheels", action="store_true",
                   help="leave out the wheelhouse (wheels/, ~350 MB): a small folder whose install.sh downloads "
                        "the libraries at the venue (needs internet there)")


def run(args: argparse.Namespace) -> int:
    out = build_demo(Path(args.level), Path(args.out), model=Path(args.model) if args.model else None,
                     config=Path(args.config) if args.config else None, force=args.force,
                     wheels=not args.no_wheels, log=print)
    print(f"demo written to {out}: start it with {out / 'start.sh'}; venue set-up: {out / 'README.md'}")
    return 0


def build_demo(level_path: Path, out: Path, *, model: Path | None = None, config: Path | None = None,
               force: bool = False, wheels: bool = True, log=None) -> Path:
    """Write the demo folder ``out``. ``wheels``: bundle the wheelhouse (offline install at the venue);
    ``log``: called with progress lines (the wheelhouse takes a while)."""
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
    system = built_on()
    wheel_mb = None
    if wheels:
        wheel_mb = make_wheelhouse(out / "app", out / "wheels", log=log or (lambda line: None))
    elif (out / "wheels").exists():  # --force --no-wheels over a folder built with them
        shutil.rmtree(out / "wheels")
    # start.sh checks these before Python starts: a folder copied in part says so, not a model hint
    needed = [level_out.relative_to(out), (models / model_path.name).relative_to(out), Path("kiosk.toml"),
              Path("app/memoire/__main__.py")]
    needed += [Path("levels") / extra.relative_to(level_path.parent.resolve()) for extra in _level_files(level)]
    _write(out / "start.sh", _start_sh(level_out.relative_to(out), needed), executable=True)
    _write(out / "install.sh", _install_sh_offline(system) if wheels else _install_sh(), executable=True)
    _write(out / "memoire-demo.service", service_unit(out))
    _write(out / "README.md", _readme(level.name, tour, model_path.name, kiosk, system=system, wheel_mb=wheel_mb))
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
    # the HRTF binaural output needs (Debian's libopenal-data), so a venue without the package
    # plays binaural too (memoire/audio/spatial/hrtf.py looks in the app's assets/hrtf first)
    from memoire.audio.spatial.hrtf import bundled_hrtf_folder, hrtf_folder

    if hrtf_folder.is_dir():
        shutil.copytree(hrtf_folder, dest / bundled_hrtf_folder.relative_to(ROOT), dirs_exist_ok=True)


@dataclass(frozen=True)
class BuiltOn:
    """The system a demo is built on: the wheelhouse fits it (and machines like it) only."""

    distro: str       # /etc/os-release PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)"
    python: str       # the full version, e.g. "3.11.7"
    python_tag: str   # major.minor, what the wheels' cp311 tags need: "3.11"
    machine: str      # platform.machine(): "x86_64", "aarch64"
    libc: str         # "glibc 2.36" (manylinux wheels need at least the version they name)

    def line(self) -> str:
        return f"{self.distro}, Python {self.python}, {self.machine}, {self.libc}"


def built_on() -> BuiltOn:
    try:
        distro = platform.freedesktop_os_release().get("PRETTY_NAME") or "Linux"
    except OSError:
        distro = f"{platform.system()} {platform.release()} (no /etc/os-release)"
    libc, libc_version = platform.libc_ver()
    return BuiltOn(distro=distro, python=platform.python_version(),
                   python_tag=f"{sys.version_info[0]}.{sys.version_info[1]}", machine=platform.machine(),
                   libc=f"{libc} {libc_version}".strip() or "unknown libc")


def _pip(args: list[str], what: str) -> str:
    cmd = [sys.executable, "-m", "pip", *args]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
        raise UserError(f"build-demo: {what} failed (`{shlex.join(cmd)}`):\n{tail}\n"
                        "(--no-wheels builds a demo that downloads its libraries at the venue instead)")
    return r.stdout


def make_wheelhouse(app: Path, dest: Path, *, log=lambda line: None) -> float:
    """Fill ``dest`` with a wheel of Memoire (built from ``app``, the demo's copy of its source) and
    every library it needs for this Python and platform, torch's CPU build included; refuse a set
    with CUDA wheels in it. Returns its size in MB."""
    import tomllib

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    on = built_on()
    log(f"wheels/: Memoire and its libraries for Python {on.python_tag} on {on.machine} "
        "(the first build downloads ~350 MB; pip's cache serves the next)")
    # Memoire itself, from a scratch copy (setuptools leaves build/ and *.egg-info beside the source)
    # (with setuptools here, no download for it; without, pip fetches it into an isolated build)
    no_isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "app"
        shutil.copytree(app, src)
        _pip(["wheel", "--quiet", "--no-deps", *no_isolation, "--wheel-dir", str(dest), str(src)],
             "building Memoire's wheel")
    own = sorted(dest.glob("memoire-*.whl"))
    if not own:
        raise UserError(f"build-demo: pip made no Memoire wheel in {dest}")
    deps = tomllib.loads((app / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    torch_pin = next((d for d in deps if d.replace(" ", "").startswith("torch==")), None)
    if torch_pin:
        # torch first, its CPU build: PyTorch's CPU index and the builder's own pip sources (a short
        # retry: an index that cannot be reached is passed over, as long as another has the wheel)
        _pip(["download", "--quiet", "--no-deps", "--dest", str(dest), "--extra-index-url", TORCH_CPU_INDEX,
              "--retries", "1", "--timeout", "30", torch_pin], f"downloading {torch_pin} (CPU build)")
    # the rest: what Memoire's wheel needs, torch resolving to the CPU wheel already in dest
    _pip(["download", "--quiet", "--dest", str(dest), "--find-links", str(dest), str(own[0])],
         "downloading Memoire's libraries")
    files = sorted(f.name for f in dest.iterdir())
    cuda = [f for f in files if f.lower().startswith(CUDA_WHEEL_PREFIXES)]
    if cuda:
        shutil.rmtree(dest)
        raise UserError(f"build-demo: the wheelhouse pulled CUDA wheels ({', '.join(cuda[:4])}"
                        f"{' ...' if len(cuda) > 4 else ''}): pip found torch's CUDA build, not its CPU one. "
                        f"Make {TORCH_CPU_INDEX} reachable (or put torch's +cpu wheel in pip's find-links), "
                        "or build with --no-wheels")
    not_wheels = [f for f in files if not f.endswith(".whl")]
    if not_wheels:  # an sdist would need a compiler and build tools at the venue
        raise UserError(f"build-demo: pip found no wheel for {', '.join(not_wheels)} on this platform; "
                        "the venue cannot build it offline: build with --no-wheels")
    mb = sum(f.stat().st_size for f in dest.iterdir()) / 1e6
    torch_wheel = next((f for f in files if f.startswith("torch-")), "no torch")
    log(f"wheels/: {len(files)} wheels, {mb:.0f} MB ({torch_wheel})")
    return mb


def _write(path: Path, text: str, executable: bool = False) -> None:
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _start_sh(level_rel: Path, needed: list[Path]) -> str:
    checks = "\n".join(f"[ -e {shlex.quote(str(p))} ] || incomplete {shlex.quote(str(p))}" for p in needed)
    text = r"""#!/bin/sh
# Memoire festival demo: starts kiosk mode (written by `memoire build-demo`; see README.md).
#   ./start.sh                      fullscreen kiosk on this computer's display
#   ./start.sh --xvfb               on a virtual display when the computer has none (tests)
#   ./start.sh --headless --frames 300   offscreen, a fixed number of frames (smoke test)
# Quit: the key chord in kiosk.toml (ctrl+alt+q unless changed).
# Python: ./venv (made by ./install.sh), or $MEMOIRE_PYTHON if set; never another folder's.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
incomplete() {
  echo "memoire: @INCOMPLETE@" >&2
  exit 3
}
@CHECKS@
if [ -n "${MEMOIRE_PYTHON:-}" ]; then
  PY="$MEMOIRE_PYTHON"
  command -v "$PY" >/dev/null 2>&1 || { echo "memoire: MEMOIRE_PYTHON=$PY: no such program" >&2; exit 2; }
elif [ -x "$HERE/venv/bin/python" ] && [ -e "$HERE/venv/.memoire-installed" ]; then
  PY="$HERE/venv/bin/python"
elif [ -e "$HERE/venv" ]; then
  echo "memoire: ./venv is unfinished (the last ./install.sh stopped early): run ./install.sh again (see README.md)" >&2
  exit 2
else
  echo "memoire: no ./venv in $HERE: run ./install.sh first (see README.md)" >&2
  exit 2
fi
export PYTHONPATH="$HERE/app${PYTHONPATH:+:$PYTHONPATH}"
export PYGAME_HIDE_SUPPORT_PROMPT=1
XVFB=0
if [ "${1:-}" = "--xvfb" ]; then XVFB=1; shift; fi
if [ "$XVFB" = 1 ]; then
  exec xvfb-run -a -s "-screen 0 1920x1080x24" "$PY" -m memoire play "$HERE/@LEVEL@" --kiosk --config "$HERE/kiosk.toml" "$@"
fi
exec "$PY" -m memoire play "$HERE/@LEVEL@" --kiosk --config "$HERE/kiosk.toml" "$@"
"""
    incomplete = INCOMPLETE.format(what="$1").replace("`", "\\`")
    return text.replace("@CHECKS@", checks).replace("@INCOMPLETE@", incomplete).replace("@LEVEL@", str(level_rel))


_SERVICE_PART = r"""if [ "${1:-}" = "--service" ]; then
  mkdir -p "$HOME/.config/systemd/user"
  # the unit names this folder: rewrite its paths in case the folder was moved after building
  sed "s#^WorkingDirectory=.*#WorkingDirectory=$HERE#; s#^ExecStart=.*#ExecStart=$HERE/start.sh#" \
    memoire-demo.service > "$HOME/.config/systemd/user/memoire-demo.service"
  systemctl --user daemon-reload
  systemctl --user enable --now memoire-demo.service
  echo "service installed: systemctl --user status memoire-demo"
fi
"""


def _install_sh() -> str:
    """The online install (--no-wheels): downloads the libraries at the venue."""
    return r"""#!/bin/sh
# Memoire demo set-up (see README.md):
#   ./install.sh            a Python environment in ./venv with Memoire's libraries (needs internet once)
#   ./install.sh --service  also install and start the systemd user service (starts at login, restarts on failure)
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
if [ ! -e venv/.memoire-installed ]; then
  rm -rf venv
  PY="${PYTHON:-python3.11}"; command -v "$PY" >/dev/null || PY=python3   # Memoire needs Python 3.11
  "$PY" -m venv venv
  venv/bin/python -m pip install --upgrade pip
  # torch first, from PyTorch's CPU index (the default index's build pulls GBs of CUDA libraries)
  venv/bin/python -m pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
  venv/bin/python -m pip install ./app
  touch venv/.memoire-installed
fi
""" + _SERVICE_PART


def _install_sh_offline(on: BuiltOn) -> str:
    """The offline install: ./venv from wheels/, after checking the venue's Python fits them."""
    text = r"""#!/bin/sh
# Memoire demo set-up (see README.md); no internet needed: the libraries are in ./wheels.
#   ./install.sh            a Python environment in ./venv from ./wheels (a few minutes)
#   ./install.sh --service  also install and start the systemd user service (starts at login, restarts on failure)
#   PYTHON=python3.11 ./install.sh   use this Python (default: python@TAG@, else python3)
# The wheels were built on @BUILT_ON@: they need Python @TAG@ on @MACHINE@.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
WANT="@TAG@ @MACHINE@"
fail() { echo "memoire install: $*" >&2; exit 1; }
incomplete() { echo "memoire install: @INCOMPLETE@" >&2; exit 3; }
[ -d wheels ] || incomplete wheels/
ls wheels/memoire-*.whl >/dev/null 2>&1 || incomplete "wheels/memoire-*.whl"
[ -d app/memoire ] || incomplete app/memoire/
# everything comes from ./wheels: this computer's pip settings (an index, a proxy, a cache) play no part
for v in $(env | sed -n 's/^\(PIP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_NO_CACHE_DIR=1
if [ ! -e venv/.memoire-installed ]; then
  if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
  elif command -v python@TAG@ >/dev/null 2>&1; then PY=python@TAG@
  elif command -v python3 >/dev/null 2>&1; then PY=python3
  else fail "no Python on this computer: install Python @TAG@ (sudo apt install python@TAG@ python@TAG@-venv) and run ./install.sh again"
  fi
  command -v "$PY" >/dev/null 2>&1 || fail "PYTHON=$PY: no such program"
  HAVE="$("$PY" -c 'import platform, sys; print("%d.%d %s" % (sys.version_info[0], sys.version_info[1], platform.machine()))')" \
    || fail "$PY does not run"
  if [ "$HAVE" != "$WANT" ]; then
    FULL="$("$PY" -c 'import platform; print(platform.python_version())')"
    OS="$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -sr)"
    cat >&2 <<EOF
memoire install: this computer's Python does not fit this demo's libraries (wheels/).
  the wheels are for: Python @TAG@ on @MACHINE@ (built on @BUILT_ON@)
  this computer has:  Python $FULL on $(uname -m) ($OS; $(command -v "$PY"))
Nothing was installed. Either
  - install Python @TAG@ from the distribution: sudo apt install python@TAG@ python@TAG@-venv
    (Ubuntu releases without it: the deadsnakes PPA), then run: PYTHON=python@TAG@ ./install.sh
  - or rebuild the demo on a computer like this one (same distribution and Python):
    memoire build-demo LEVEL --out DIR    (memoire build-demo --no-wheels: a demo that downloads them here)
EOF
    exit 1
  fi
  rm -rf venv
  echo "memoire install: making ./venv with $PY ($("$PY" -c 'import platform; print(platform.python_version())'))"
  "$PY" -m venv venv || fail "$PY cannot make a venv: install its venv module (sudo apt install python@TAG@-venv) and run ./install.sh again"
  echo "memoire install: installing Memoire's libraries from ./wheels (offline; a few minutes)"
  venv/bin/python -m pip install --quiet --no-index --find-links wheels memoire \
    || fail "pip found no fitting wheel in ./wheels for this computer (see above): if one is missing, copy the whole folder again; else rebuild the demo on a computer like this one (same distribution, Python @TAG@), or build it with --no-wheels"
  PYGAME_HIDE_SUPPORT_PROMPT=1 venv/bin/python -c "import torch, numpy, scipy, pygame, moderngl, pymunk, soundfile" \
    || fail "the libraries installed but do not load (see above); the system libraries they need: sudo apt install libegl1 libgl1 libportaudio2"
  venv/bin/python -c "import sounddevice" 2>/dev/null \
    || echo "memoire install: warning: PortAudio is missing (sudo apt install libportaudio2): without it the demo plays no sound" >&2
  touch venv/.memoire-installed
  echo "memoire install: done ($(du -sh venv | cut -f1) in ./venv); start with ./start.sh"
fi
"""
    incomplete = INCOMPLETE.format(what="$1").replace("`", "\\`")
    built = "".join(c for c in on.line() if c not in '`"$\\')  # it goes inside double quotes
    for key, value in (("@TAG@", on.python_tag), ("@MACHINE@", on.machine), ("@BUILT_ON@", built),
                       ("@INCOMPLETE@", incomplete)):
        text = text.replace(key, value)
    return text + _SERVICE_PART


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


def _readme(level_name: str, tour: str, model_name: str, kiosk, *, system: BuiltOn | None = None,
            wheel_mb: float | None = None) -> str:
    system = system or built_on()
    tag = system.python_tag
    if wheel_mb is not None:
        install = f"""## Install (once, no internet needed)

    ./install.sh              # makes ./venv from ./wheels (a few minutes; no download)
    ./install.sh --service    # also: start at login, restart on any failure (systemd user service)

This folder's libraries (`wheels/`, {wheel_mb:.0f} MB; ./venv takes about 1.4 GB once installed)
were made for the system above: Python {tag} on {system.machine}; the same distribution release is safest.
install.sh checks first and says so if this computer's Python differs (it names both); then
either install Python {tag} from the distribution (`sudo apt install python{tag} python{tag}-venv`,
then `PYTHON=python{tag} ./install.sh`), or rebuild the demo with `memoire build-demo` on a
computer like this one.

System packages it needs (Debian/Ubuntu names; usually already there on a desktop):
`sudo apt install python{tag}-venv libportaudio2 libegl1`. Offline, they come from the
distribution's install media or a local mirror.
For the service to run without anyone logged in: `sudo loginctl enable-linger $USER`."""
    else:
        install = f"""## Install (once, with internet)

    ./install.sh              # makes ./venv with the libraries (a few minutes; ~1 GB download)
    ./install.sh --service    # also: start at login, restart on any failure (systemd user service)

Linux with a desktop session and Python {tag} (built on {system.distro}, Python {system.python});
`sudo apt install python{tag}-venv libportaudio2 libegl1` if missing.
For the service to run without anyone logged in: `sudo loginctl enable-linger $USER`."""
    return f"""# Memoire festival demo: for the venue technician

A first-person walk through "{level_name}" whose sound is generated live. Put it on a computer
with a screen, headphones, a keyboard and a mouse. It starts by itself, walks its tour
("{tour}") until a visitor touches the mouse or a key, and returns to the tour
{kiosk.idle_s:g} s after the visitor leaves.

Built on: {system.line()}.

{install}

## Start and stop

- Start: `./start.sh` (or `systemctl --user start memoire-demo` with the service).
- Quit: press **{kiosk.quit_chord}** (nothing else leaves the demo). With the service, it
  restarts within {restart_delay_s} s: use `systemctl --user stop memoire-demo` to stop it for good.
- Disable the service: `systemctl --user disable --now memoire-demo`.
- `./start.sh` uses this folder's ./venv only. "run ./install.sh first": there is none yet.
  "this demo folder is incomplete (... is missing)": a file did not get copied; copy the whole
  folder again, or rebuild it with `memoire build-demo`.
- Quick check without the screen: `./start.sh --headless --mute --frames 300` (prints a
  "session:" line with frame times; the log says "kiosk: playing").

## Keep the screen on (blanking, power saving)

Nobody touches the computer for hours, so switch off everything that reacts to that:

1. X11 session: `xset s off -dpms` (screen saver and monitor power saving off, until logout).
   To make it stick, put it in `~/.config/autostart/memoire-screen.desktop`:

       [Desktop Entry]
       Type=Application
       Name=Memoire screen
       Exec=sh -c "xset s off -dpms"

2. GNOME: Settings > Power > Screen Blank: Never, and Automatic Suspend: off; Settings >
   Privacy > Screen Lock: off. Or in a terminal of the session:
   `gsettings set org.gnome.desktop.session idle-delay 0`,
   `gsettings set org.gnome.desktop.screensaver lock-enabled false`,
   `gsettings set org.gnome.settings-daemon.plugins.power sleep-inactive-ac-type nothing`.
3. KDE Plasma: System Settings > Power Management: untick Dim screen, Turn off screen and
   Suspend session; System Settings > Screen Locking: Lock screen automatically off.
4. No suspend from systemd-logind: in `/etc/systemd/logind.conf` set `IdleAction=ignore` and
   `HandleLidSwitch=ignore` (a laptop run closed); or `sudo systemctl mask sleep.target
   suspend.target hibernate.target hybrid-sleep.target`. Reboot after.
5. Text console (no desktop, `./start.sh --xvfb` or a screen attached to the console): the
   kernel blanks it after 10 minutes: add `consoleblank=0` to `GRUB_CMDLINE_LINUX_DEFAULT` in
   `/etc/default/grub`, `sudo update-grub`, reboot.

Check: leave it untouched for longer than the longest timeout (15 minutes is usually enough).

## Log in by itself (auto-login)

So that a power cut ends with the demo running again (with `./install.sh --service`, it starts
when the session does). Replace USER with the account that installed the demo:

- GDM (GNOME): in `/etc/gdm3/daemon.conf` (Debian) or `/etc/gdm3/custom.conf` (Ubuntu), under
  `[daemon]`: `AutomaticLoginEnable=true` and `AutomaticLogin=USER`. Add `WaylandEnable=false`
  there for an X11 session (the `xset` and `xrandr` steps here need X11).
- LightDM (Xfce, MATE, ...): in `/etc/lightdm/lightdm.conf`, under `[Seat:*]`:
  `autologin-user=USER` and `autologin-user-timeout=0` (on Debian also:
  `sudo groupadd -r autologin; sudo gpasswd -a USER autologin`).
- SDDM (KDE): `/etc/sddm.conf.d/autologin.conf` with `[Autologin]`, `User=USER`,
  `Session=plasmax11` (or `plasma`).
- Reboot to try it; switch the lock screen off too (above).

## Choose the sound output

The demo plays on the system's default output (PulseAudio or PipeWire through ALSA).

1. List the outputs: `pactl list short sinks` (names like `alsa_output.pci-0000_00_1f.3.analog-stereo`;
   an HDMI screen's speakers show up when it is plugged in).
2. Test one before the demo: `paplay --device=NAME /usr/share/sounds/alsa/Front_Center.wav`, or
   `speaker-test -c 2 -t wav -l 1` on the default output (it says "front left", "front right").
3. Make it the default: `pactl set-default-sink NAME` (or the desktop's sound settings; it is
   remembered). Or for the demo only: `systemctl --user edit memoire-demo`, add

       [Service]
       Environment=PULSE_SINK=NAME

   then `systemctl --user restart memoire-demo` (without the service: `PULSE_SINK=NAME ./start.sh`).
4. Headphones unplugged and back: the demo recovers by itself (the log says "sound lost", "sound is back").

## Screen resolution

The kiosk fills the screen at the desktop's resolution. To change it (X11):

1. `xrandr` lists the outputs and their modes (the connected one, e.g. `HDMI-1`).
2. `xrandr --output HDMI-1 --mode 1920x1080` (add `--rate 60` if the screen offers several).
   A slow computer runs smoother at `--mode 1280x720`.
3. To keep it: the desktop's display settings remember it, or add the `xrandr` line to the
   autostart file above (`Exec=sh -c "xset s off -dpms; xrandr --output HDMI-1 --mode 1920x1080"`).
   On Wayland, use the desktop's display settings (xrandr cannot set it there).
4. Memoire's own size: the kiosk is always fullscreen; `--size W H` sets the picture size of a
   test run: `./start.sh --headless --mute --size 1920 1080 --frames 300` prints the frame times
   at that size (under 33 ms for 30 frames a second).

## Change the volume

Edit `kiosk.toml`: `volume_db` (now {kiosk.volume_db:g}; each -6 halves the signal level) and,
to protect ears, `volume_limit_db` (now {kiosk.volume_limit_db:g} dBFS, the loudest peak allowed).
Then restart: `systemctl --user restart memoire-demo` (or quit and `./start.sh`).
The computer's own volume control works too.

## Read the logs

`logs/memoire.log` (the newest; older ones are `memoire.log.1` ... `.{kiosk.log_backups}`, each at most
{kiosk.log_max_bytes // 1000} kB, so they never fill the disk). With the service also:
`journalctl --user -u memoire-demo -f` (start.sh's own messages go there, or to the terminal).
What to look for: "sound lost" / "sound is back" (headphones unplugged / plugged back: the demo
plays on and recovers by itself), "restarting it" / "audio process" (the sound engine was
restarted by itself), "cannot start" (a missing or broken file:
the screen says which; it retries every {kiosk.retry_s:g} s).

## Files

`levels/` the level, `assets/models/{model_name}` the sound model, `kiosk.toml` the settings,
`app/` the program, {"`wheels/` its libraries, " if wheel_mb is not None else ""}`start.sh` the launcher,
`memoire-demo.service` the service, `venv/` made by install.sh.
"""

#!/usr/bin/env bash
# Install Memoire on a fresh Debian machine (Python 3.11), then play or test.
#
#   bash tools/install.sh play [memoire play options...]   install, then start the game
#   bash tools/install.sh test [pytest options...]         install, then run the tests
#
# Installs what is missing: system packages with apt-get (PortAudio, Mesa/EGL, Xvfb, PulseAudio
# with its ALSA plugin, espeak-ng for the corpus's vendor calls, libopenal-data for the binaural
# output's measured HRTF), a virtual environment in .venv,
# and the project with its pinned torch.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-play}"; shift || true

need_pkgs=(libportaudio2 libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 xvfb xauth pulseaudio pulseaudio-utils
           libasound2-plugins espeak-ng python3-venv libopenal-data)  # libopenal-data: the HRTF for binaural output
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "memoire: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3.11}"; command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "memoire: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.memoire-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "memoire: installing the project and its Python packages into .venv (torch 2.13.0, CPU)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi

start_pulse() {
  # A PulseAudio null sink: a real, real-time-paced output device on a machine without a sound card.
  if ! pactl info >/dev/null 2>&1; then
    pulseaudio -D --exit-idle-time=-1 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do pactl info >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if pactl info >/dev/null 2>&1 && ! pactl list short sinks 2>/dev/null | grep -q .; then
    pactl load-module module-null-sink sink_name=memoire_null >/dev/null
  fi
}

case "$mode" in
  play)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      echo "memoire: no display here; starting the game under Xvfb (a virtual screen)"
      start_pulse
      exec xvfb-run -a -s "-screen 0 1280x720x24" .venv/bin/memoire play "$@"
    fi
    exec .venv/bin/memoire play "$@"
    ;;
  test)
    start_pulse
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash tools/install.sh play|test [options]" >&2
    exit 2
    ;;
esac

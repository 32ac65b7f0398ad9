"""The kiosk config file: a [kiosk] table in TOML, validated like level files.

    [kiosk]
    idle_s = 40              # seconds without input before the visitor's walk fades back to the tour
    tour = "gallery"         # the level's tour walked in attract mode (default: the level's first)
    volume_db = -6.0         # output gain, dB (0 = as the level mixes it)
    volume_limit_db = -3.0   # hard ceiling on output peaks, dBFS: protects ears and headphones
    quit_key = "ctrl+alt+q"  # the only way out of kiosk mode
    fade_s = 2.0             # picture and sound fade when returning to the tour
    log_dir = "logs"         # relative to this file ("~" for the home folder)
    log_max_bytes = 2000000  # one log file's cap; with log_backups old files, the disk use is bounded
    log_backups = 3
    retry_s = 30             # a level or model that fails to load is retried this often
    trace = true             # visitors' walks, one CSV a day: log_dir/traces/YYYY-MM-DD.csv
    trace_hz = 10            # at most this many trace rows a second (about 25 MB for a 12-hour day)
    osc_in = 9000            # take OSC on this port ([HOST:]PORT text too; docs/osc.md); absent: off
    osc_out = "127.0.0.1:9001"  # send pose, zones and latent there, once per latent frame; absent: off

Every problem is reported with file:line: [kiosk]: message, all at once, as a ``UserError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from memoire.world.errors import UserError
from memoire.world.tomlfile import ProblemsError, TomlReader, clean_text, parse_toml, read_text_file

MODIFIERS = ("ctrl", "alt", "shift")
# Keys a chord may end with: letters, digits, function keys, and a few named keys (pygame names).
_CHORD_KEY = re.compile(r"^([a-z0-9]|f([1-9]|1[0-2])|escape|backspace|delete|end|home|pause)$")
# A kiosk config is a dozen lines; 1 MiB is a wrong file, refused before it is read.
max_config_file_bytes = 2**20
KIOSK_KEYS = ("idle_s", "tour", "volume_db", "volume_limit_db", "quit_key", "fade_s", "log_dir", "log_max_bytes",
              "log_backups", "retry_s", "trace", "trace_hz", "osc_in", "osc_out", "quality", "output")


@dataclass(frozen=True)
class QuitChord:
    """Modifier keys that must be held and the key pressed with them (pygame key names)."""

    modifiers: frozenset[str]
    key: str

    def __str__(self) -> str:
        return "+".join([*(m for m in MODIFIERS if m in self.modifiers), self.key])


@dataclass(frozen=True)
class KioskConfig:
    path: Path | None  # None: built-in defaults
    idle_s: float = 40.0
    tour: str | None = None
    volume_db: float = -6.0
    volume_limit_db: float = -3.0
    quit_chord: QuitChord = QuitChord(frozenset({"ctrl", "alt"}), "q")
    fade_s: float = 2.0
    log_dir: Path | None = None
    log_max_bytes: int = 2_000_000
    log_backups: int = 3
    retry_s: float = 30.0
    trace: bool = True  # per-day traces in log_dir/traces/ (memoire/kiosk/logs.py day_trace_path)
    trace_hz: float = 10.0
    osc_in: str | None = None  # "[HOST:]PORT" (memoire/game/osc.py); None: no OSC in
    osc_out: str | None = None  # "HOST:PORT"; None: no OSC out
    quality: str = "auto"  # the picture: "auto" (high on a GPU, low on software GL), "low" or "high"; --quality wins
    # the sound's output layout (memoire/world/level.py OUTPUTS: "binaural" for headphones, "stereo",
    # "quad", "5.1", "ring8"); None: the level's [sound] output. --output wins.
    output: str | None = None

    @property
    def volume_gain(self) -> float:
        return 10 ** (self.volume_db / 20)

    @property
    def peak_ceiling(self) -> float:
        return 10 ** (self.volume_limit_db / 20)


class ConfigError(ProblemsError):
    """A kiosk config file with problems; ``problems`` lists them all."""

    what = "the kiosk config "


def parse_chord(text: str) -> QuitChord | None:
    """'ctrl+alt+q' -> QuitChord; None when it is not modifiers plus one key."""
    parts = [p.strip().lower() for p in text.split("+")]
    *mods, key = parts
    if not mods or len(set(mods)) != len(mods) or any(m not in MODIFIERS for m in mods):
        return None
    if not _CHORD_KEY.match(key):
        return None
    return QuitChord(frozenset(mods), key)


def parse_kiosk_config(text: str, path: Path) -> KioskConfig:
    """Validate config source ``text`` (from ``path``: messages, and the base of log_dir)."""
    text = clean_text(text)  # a byte-order mark, CRLF line ends: as the editor meant them
    data = parse_toml(text, path, ConfigError)
    r = TomlReader(path, text)
    r.unknown_keys(data, ("kiosk",), (), "")
    t = data.get("kiosk")
    if not isinstance(t, dict):
        r.problem(("kiosk",), "", "missing table [kiosk] (see docs/kiosk.md)" if t is None
                  else f"'kiosk' must be a table [kiosk], got {type(t).__name__}")
        raise ConfigError(r.problems)
    kp, where = ("kiosk",), "[kiosk]"
    d = KioskConfig(None)
    r.unknown_keys(t, KIOSK_KEYS, kp, where)
    idle = r.number(t, "idle_s", kp, where, default=d.idle_s, unit="s", minimum=5.0, maximum=3600.0)
    tour = r.text(t, "tour", kp, where, default="") or None
    volume = r.number(t, "volume_db", kp, where, default=d.volume_db, unit="dB", minimum=-60.0, maximum=12.0)
    limit = r.number(t, "volume_limit_db", kp, where, default=d.volume_limit_db, unit="dBFS", minimum=-40.0,
                     maximum=0.0)
    chord_text = r.text(t, "quit_key", kp, where, default=str(d.quit_chord))
    chord = parse_chord(chord_text) if chord_text is not None else None
    if chord is None and chord_text is not None:
        r.problem((*kp, "quit_key"), where,
                  f"quit_key must be modifiers and a key joined by '+', e.g. \"ctrl+alt+q\" (modifiers: "
                  f"{', '.join(MODIFIERS)}; at least one); got '{chord_text}'")
    fade = r.number(t, "fade_s", kp, where, default=d.fade_s, unit="s", minimum=0.1, maximum=30.0)
    log_dir = r.text(t, "log_dir", kp, where, default="logs")
    max_bytes = r.number(t, "log_max_bytes", kp, where, default=d.log_max_bytes, unit="bytes", minimum=10_000,
                         maximum=1_000_000_000, integer=True)
    backups = r.number(t, "log_backups", kp, where, default=d.log_backups, minimum=1, maximum=100, integer=True)
    retry = r.number(t, "retry_s", kp, where, default=d.retry_s, unit="s", minimum=1.0, maximum=3600.0)
    trace = t.get("trace", d.trace)
    if not isinstance(trace, bool):
        r.problem((*kp, "trace"), where, f"trace must be true or false (no quotes), got {trace!r}")
        trace = d.trace
    trace_hz = r.number(t, "trace_hz", kp, where, default=d.trace_hz, unit="rows/s", minimum=0.1, maximum=1000.0)
    osc_in = _osc_endpoint(r, t, "osc_in", where, port_alone=True)
    osc_out = _osc_endpoint(r, t, "osc_out", where, port_alone=False)
    from memoire.render.look import QUALITIES  # the renderer's own list (no GL in that module)

    quality = r.text(t, "quality", kp, where, default=d.quality, choices=QUALITIES)
    from memoire.world.level import OUTPUTS

    output = r.text(t, "output", kp, where, default=None, choices=OUTPUTS) if "output" in t else None
    if r.problems:
        raise ConfigError(r.problems)
    return KioskConfig(path=path, idle_s=float(idle), tour=tour, volume_db=float(volume),
                       volume_limit_db=float(limit), quit_chord=chord or d.quit_chord, fade_s=float(fade),
                       log_dir=(path.parent / Path(log_dir).expanduser()) if log_dir else None,
                       log_max_bytes=int(max_bytes),
                       log_backups=int(backups), retry_s=float(retry), trace=trace, trace_hz=float(trace_hz),
                       osc_in=osc_in, osc_out=osc_out, quality=quality,
                       output=output)


def _osc_endpoint(r: TomlReader, t: dict, key: str, where: str, *, port_alone: bool) -> str | None:
    """[kiosk] osc_in (a port, or "HOST:PORT") / osc_out ("HOST:PORT"), checked as --osc-in/--osc-out
    are; a problem is reported at its line. None when absent."""
    from memoire.game.osc import default_in_host, parse_endpoint

    if key not in t:
        return None
    v = t[key]
    kinds = "a port number or \"HOST:PORT\"" if port_alone else "\"HOST:PORT\", e.g. \"127.0.0.1:9001\""
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        r.problem(("kiosk", key), where, f"{key} must be {kinds}, got {v!r}")
        return None
    try:
        host, port = parse_endpoint(v, what=key, default_host=default_in_host if port_alone else None)
    except UserError as e:
        r.problem(("kiosk", key), where, str(e))
        return None
    return f"{host}:{port}"


def default_config_path() -> Path:
    """config/kiosk.toml in the source tree: what `memoire play --kiosk` uses without --config."""
    from memoire.world.paths import DEFAULT_KIOSK_CONFIG

    return DEFAULT_KIOSK_CONFIG


def load_kiosk_config(path: str | Path | None) -> KioskConfig:
    """Read the kiosk config file; None reads config/kiosk.toml (built-in defaults, logs under
    ./logs, if the source tree has none). Raises UserError."""
    if path is None:
        path = default_config_path()
        if not path.exists():
            return KioskConfig(None, log_dir=Path("logs"))
    path = Path(path)
    text = read_text_file(path, "kiosk config file", max_config_file_bytes,
                          f"{path}: no such kiosk config file (the default is config/kiosk.toml)")
    return parse_kiosk_config(text, path)


def tour_line(config: KioskConfig) -> str:
    """'file:line' of the tour field, for messages about a tour the level lacks."""
    if config.path is None:
        return "the kiosk config"
    try:
        from memoire.world.tomlfile import LineIndex

        line = LineIndex(config.path.read_text(encoding="utf-8")).line("kiosk", "tour")
    except OSError:
        line = 0
    return f"{config.path}:{line}" if line else str(config.path)

"""What differs between ways of running the one game loop (memoire/game/app.py): a ``Mode``.

The loop (``Game.frame``) calls these hooks and nothing else that differs: `memoire play` is
``PlayMode`` (memoire/game/app.py), the festival kiosk ``KioskMode`` (memoire/kiosk/game.py).
Each hook has a default that does nothing, so a mode fills in only what it changes.
Main thread only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # annotations only: the game imports this module, not the other way round
    from memoire.game.app import Game
    from memoire.sim.player import PlayerState


class Mode:
    #: output gain the audio process starts at (the kiosk fades in from silence)
    start_gain = 1.0
    #: the zone hint on the ground (PlayMode toggles it with Z)
    show_zones = False

    def attach(self, game: "Game") -> None:
        """The level is loaded (``game.level``); check what the mode needs of it (raise UserError)."""

    def start_pose(self, game: "Game") -> "PlayerState":
        """Where the player starts."""
        raise NotImplementedError

    def opened(self, game: "Game") -> None:
        """Audio, window and renderer are up; the first frame comes next."""

    def events(self, game: "Game") -> Iterable[tuple]:
        """This frame's input events (memoire/game/window.py's tuples)."""
        return ()

    def handle(self, game: "Game", event: tuple) -> bool:
        """Take ``event`` if it is the mode's (True); walking, looking and resizing are the game's."""
        return False

    def looks(self, game: "Game") -> bool:
        """Whether mouse motion turns the view now."""
        return True

    def step(self, game: "Game", dt_s: float, pose: bool) -> None:
        """Move the player one fixed step (``game.walk`` or ``game.place``). ``pose`` is False
        for steps whose pose nobody sees (all but the frame's last two)."""
        game.walk(dt_s)

    def background(self, game: "Game", now_s: float) -> None:
        """Once a frame after the listener went to the synth (gains, watchers)."""

    def reloaded(self, game: "Game") -> None:
        """The level was hot-reloaded (``game.level`` is the new one)."""

    def draws(self, game: "Game") -> bool:
        """Whether this frame is drawn."""
        return True

    def overlays(self, game: "Game", player: "PlayerState", window_px: tuple[int, int]) -> list:
        """(rgba, x_px, y_px) overlays drawn over the 3D view."""
        return []

    def say(self, game: "Game", text: str) -> None:
        """Tell someone ``text`` once (the screen, the log)."""

    def traces(self, game: "Game") -> bool:
        """Whether this frame goes into the trace (``game.trace``), when there is one."""
        return True

    def frame_done(self, game: "Game") -> None:
        """The frame is over (the kiosk pings its watchdog)."""

    def summary(self, game: "Game", audio: dict) -> None:
        """The session is over: report it."""

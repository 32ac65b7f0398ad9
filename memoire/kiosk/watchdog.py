"""systemd notifications (sd_notify) by hand: READY=1, WATCHDOG=1, STATUS=..., no dependency.

systemd passes the address of its notification socket in NOTIFY_SOCKET (a path, or an abstract
socket name starting with '@') and, with WatchdogSec= in the unit, the watchdog period in
WATCHDOG_USEC. The protocol is one datagram per message, "KEY=value" lines (man sd_notify).
Outside systemd (no NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import os
import socket


class Watchdog:
    def __init__(self, environ: dict | None = None):
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET") or None
        if addr and addr.startswith("@"):
            addr = "\0" + addr[1:]  # abstract namespace
        self.address = addr
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        enabled = usec is not None and (pid is None or pid == str(os.getpid()))
        # Ping at half the period (systemd's advice): one missed beat is not yet a restart.
        self.interval_s = int(usec) / 1e6 / 2 if enabled and usec.isdigit() and int(usec) > 0 else None
        self._next_s = 0.0
        self._sock: socket.socket | None = None
        self.sent = 0

    @property
    def active(self) -> bool:
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one notification; False when there is no socket or sending failed (never raises)."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto(message.encode("utf-8"), self.address)
        except OSError:
            return False
        self.sent += 1
        return True

    def ready(self, status: str = "") -> None:
        self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def ping(self, now_s: float) -> None:
        """WATCHDOG=1 when due (every interval_s); call every frame from the main loop, so a frozen
        loop stops the pings and systemd restarts the game."""
        if self.interval_s is None or now_s < self._next_s:
            return
        self._next_s = now_s + self.interval_s
        self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

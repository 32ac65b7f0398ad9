"""Festival kiosk mode: attract tour, visitor takeover, fault survival, demo folders.

Modules: ``config`` (the [kiosk] TOML section), ``director`` (attract / visitor / fade state
machine, pure), ``events`` (input for kiosk mode: quit chord, activity), ``screen`` (the
message screen shown when the level or model cannot load), ``logs`` (rotating log files),
``watchdog`` (systemd sd_notify), ``game`` (the kiosk game loop), ``run`` (``memoire play
--kiosk``), ``build_command`` (``memoire build-demo``). See docs/kiosk.md.
"""

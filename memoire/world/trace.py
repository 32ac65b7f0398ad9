"""The visitor-trace CSV format, shared by its writer (memoire/game/trace.py) and its reader
(memoire/offline/trace_plot.py): one row per frame.

    wall_s,sim_s,x_m,y_m,heading_deg,zone,zone_weight
"""

from __future__ import annotations

COLUMNS = ("wall_s", "sim_s", "x_m", "y_m", "heading_deg", "zone", "zone_weight")
HEADER = ",".join(COLUMNS) + "\n"

"""How the editor looks: its window split, fonts and colours (pure constants).

Tile and prop colours are the map palette shared with the game's minimap
(memoire/render/palette.py), so a wall or a garden looks the same in both. Every colour is an
sRGB 0..255 triple. Read-only constants: safe from any thread.
"""

from __future__ import annotations

from memoire.render.palette import TILE_RGB as MAP_TILE_RGB
from memoire.render.palette import VOID_RGB

# -- the window: the map on the left, the panel on the right, the status line along the bottom --
panel_width_px = 340
status_height_px = 26
# pygame's default font at these pixel sizes
font_px = 20
font_small_px = 17
font_big_px = 26

# -- the map -------------------------------------------------------------------------------------
# The editor paints void cells (outside the level's ground) in the map palette's void colour.
TILE_RGB = {**MAP_TILE_RGB, "void": VOID_RGB}
MISSING_TILE_RGB = (255, 0, 255)  # a legend character with no known kind: loud magenta
BG_RGB = (24, 24, 28)
OUTLINE_RGB = (0, 0, 0)  # the dark rim around markers and the shadow under map text
WHITE_RGB = (255, 255, 255)
ACCENT_RGB = (255, 214, 40)
ACTIVE_RGB = (255, 120, 0)  # the selected corner or path point
HANDLE_LINE_RGB = (200, 200, 200)
PROBLEM_RGB = (240, 50, 50)
TOUR_RGB = (255, 255, 255)
TRAJECTORY_RGB = (80, 220, 255)
PATH_RGB = {"tours": TOUR_RGB, "trajectories": TRAJECTORY_RGB}
GRID_LINE_RGBA = (0, 0, 0, 40)
FIELD_ALPHA = 160  # of 255: the field over the paving
BANNER_RGB = (150, 30, 30)
# The rooms layer (R): each room's cells tinted in its own colour (geometry.room_hue), this opaque
# of 255: the ground and the colour field stay readable under it; gates and doors between rooms
# are marked across in the portal colour.
ROOM_TINT_ALPHA = 70
PORTAL_RGB = (255, 255, 255)

# -- the panel and the status line -------------------------------------------------------------------
PANEL_RGB = (36, 38, 44)
TEXT_RGB = (230, 230, 230)
DIM_RGB = (150, 150, 160)
READY_RGB = (120, 220, 120)
NO_PROBLEMS_RGB = (150, 210, 150)
PROBLEM_TEXT_RGB = (255, 190, 190)
BUTTON_RGB = (56, 58, 66)
BUTTON_ON_RGB = (90, 90, 110)  # the active tool, the zone tool's drawing mode
STEP_BUTTON_RGB = (66, 68, 80)  # a row's < and >
DELETE_BUTTON_RGB = (70, 50, 50)
FOCUS_RGB = (52, 54, 64)  # the row that , and . change
TEXT_EDIT_RGB = (20, 20, 24)
SEPARATOR_RGB = (70, 72, 80)
SWATCH_DARK_TEXT_RGB = (0, 0, 0)  # labels on light swatches
SWATCH_LIGHT_TEXT_RGB = (255, 255, 255)
STATUS_BG_RGB = (18, 18, 22)
WARN_RGB = (255, 170, 90)

"""The editor's map tools, one module each behind the ``Tool`` interface (tools/base.py).

    tiles.py   paint grid cells (walls, ground, props)
    zones.py   draw, move, resize and reshape sound zones
    eraser.py  brush away zones' anchors and path points
    paths.py   draw and edit Bezier tours
    spawn.py   place the visitor's start and facing

The editor (memoire/editor/app.py) makes one of each, in the panel's order. Main thread only.
"""

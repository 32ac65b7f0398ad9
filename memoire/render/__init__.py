"""The world's pictures.

    geometry.py  triangle-soup builder, vertex layout, material ids          (numpy)
    meshes.py    Level -> SceneMesh: walls, houses, gates, ground, props      (numpy)
    zones.py     zone colours and the ground tint of the zone hint            (numpy)
    minimap.py   top-down RGBA map and the per-frame player stamp             (numpy)
    camera.py    first-person Camera and its matrices                         (numpy)
    shaders.py   GLSL sources                                                 (strings)
    context.py   headless (EGL) and window OpenGL 3.3 contexts                (moderngl)
    renderer.py  Renderer: draw, overlays, read_pixels, hot reload            (moderngl)
    screenshots.py  `python -m tools.screenshots`: docs/img/render_*.png

Only context.py and renderer.py import moderngl; everything else runs without GL.
"""

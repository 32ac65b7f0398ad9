"""The first-person camera: where the eye is and where it looks (pure numpy).

Conventions (docs/architecture.md): level metres, x east, y south; world X = x, Z = y, Y up.
``heading_rad`` is a compass angle (0 = north = -y, pi/2 = east), forward on the ground is
(sin h, -cos h). ``pitch_rad`` > 0 looks up. Matrices are 4x4 float32 in the usual maths
layout (column vectors, ``clip = P @ V @ world``); transpose them for OpenGL's column-major
upload (``m.T.tobytes()``), or upload with ``.T`` as the renderer does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Near clip plane. Its corners lie NEAR_M * sqrt(1 + tan^2(fov/2) * (1 + aspect^2)) from the eye:
# 0.087 m at 16:9 and 70 degrees, 0.10 m at 21:9, so an eye kept the player's 0.25 m radius from
# anything drawn (memoire/sim/physics.py collides with memoire/world/framing.py level_solids: cells,
# gate posts and leaves, lanterns, props) never clips a wall even turning on the spot, with 0.15 m
# to spare; the tour camera keeps 0.6 m (framing.min_clearance_m).
NEAR_M = 0.05
FAR_M = 250.0  # far clip plane: beyond the largest level diagonal; fog hides the end anyway


@dataclass(frozen=True)
class Camera:
    x_m: float
    y_m: float
    heading_rad: float
    pitch_rad: float = 0.0
    eye_height_m: float = 1.6
    fov_deg: float = 70.0  # vertical field of view

    @property
    def eye(self) -> np.ndarray:
        """Eye position in world coordinates (X, Y, Z)."""
        return np.array([self.x_m, self.eye_height_m, self.y_m], dtype=np.float64)

    @property
    def forward(self) -> np.ndarray:
        """Unit view direction in world coordinates."""
        h, p = self.heading_rad, self.pitch_rad
        return np.array([math.sin(h) * math.cos(p), math.sin(p), -math.cos(h) * math.cos(p)])

    def view_matrix(self) -> np.ndarray:
        """World -> eye space (the camera looks down -Z of eye space, +Y up)."""
        return look_at(self.eye, self.eye + self.forward, np.array([0.0, 1.0, 0.0]))

    def projection_matrix(self, aspect: float, near_m: float = NEAR_M, far_m: float = FAR_M) -> np.ndarray:
        return perspective(math.radians(self.fov_deg), aspect, near_m, far_m)

    def view_projection(self, aspect: float) -> np.ndarray:
        return (self.projection_matrix(aspect) @ self.view_matrix()).astype(np.float32)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    f = np.asarray(target, dtype=np.float64) - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, up)
    if np.linalg.norm(s) < 1e-9:  # looking straight up or down: any side vector will do
        s = np.cross(f, np.array([0.0, 0.0, -1.0]))
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m.astype(np.float32)


def perspective(fov_y_rad: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / math.tan(fov_y_rad / 2.0)
    m = np.zeros((4, 4))
    m[0, 0] = f / aspect
    m[1, 1] = f
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2.0 * far * near / (near - far)
    m[3, 2] = -1.0
    return m.astype(np.float32)


def orthographic(left: float, right: float, bottom: float, top: float, near: float, far: float) -> np.ndarray:
    m = np.eye(4)
    m[0, 0] = 2.0 / (right - left)
    m[1, 1] = 2.0 / (top - bottom)
    m[2, 2] = -2.0 / (far - near)
    m[0, 3] = -(right + left) / (right - left)
    m[1, 3] = -(top + bottom) / (top - bottom)
    m[2, 3] = -(far + near) / (far - near)
    return m.astype(np.float32)


def project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 matrix to world points (k, 3); returns normalised device coords (k, 3)."""
    p = np.asarray(points, dtype=np.float64)
    h = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ np.asarray(matrix, dtype=np.float64).T
    return h[:, :3] / h[:, 3:4]


def frustum_planes(view_proj: np.ndarray) -> np.ndarray:
    """The six planes of a view-projection matrix's frustum, (6, 4) rows (a, b, c, d) with
    a x + b y + c z + d >= 0 inside (Gribb and Hartmann's rows of the matrix; not normalised)."""
    m = np.asarray(view_proj, dtype=np.float64)
    return np.stack([m[3] + m[0], m[3] - m[0], m[3] + m[1], m[3] - m[1], m[3] + m[2], m[3] - m[2]])


def boxes_in_view(planes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(n,) bool: which (n, 2, 3) boxes (min corner, max corner) may be seen through the frustum
    ``planes``: a box is out only when all of it lies outside one plane (conservative: a box
    beside a frustum's corner may still count as in)."""
    n, d = planes[:, None, :3], planes[:, None, 3]
    corner = np.where(n >= 0.0, boxes[None, :, 1], boxes[None, :, 0])  # the corner furthest inside
    return ((corner * n).sum(axis=-1) + d >= 0.0).all(axis=0)

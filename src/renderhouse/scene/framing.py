"""Automatic turntable framing, the way the three.js baseline frames a model.

The model's world-space bounding box is centred on the turntable axis; the camera distance
makes the box's circumscribed sphere fit the narrower field of view with a 5 % margin, so the
whole model stays in view at every spin angle and every elevation (a sphere looks the same
from everywhere). Angles: frame ``i`` of ``n`` turns the model by ``start + i/n · 360°``,
anticlockwise seen from above for ``ccw`` (the baseline's direction), clockwise for ``cw``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MARGIN = 1.05


@dataclass(frozen=True)
class Framing:
    center: np.ndarray
    radius: float
    distance: float
    fov_y: float  # radians
    aspect: float
    near: float
    far: float


def frame_bounds(
    lo: np.ndarray, hi: np.ndarray, width: int, height: int, fov_deg: float, margin: float = MARGIN
) -> Framing:
    center = (np.asarray(lo, np.float64) + np.asarray(hi, np.float64)) / 2
    radius = float(np.linalg.norm(np.asarray(hi, np.float64) - lo) / 2) or 1.0
    aspect = width / height
    vfov = math.radians(fov_deg)
    hfov = 2 * math.atan(math.tan(vfov / 2) * aspect)
    distance = radius / math.sin(min(vfov, hfov) / 2) * margin
    near = max(distance - radius * 1.5, distance / 1000)
    far = distance + radius * 1.5
    return Framing(center, radius, distance, vfov, aspect, near, far)


def spin_angles(frames: int, direction: str = "ccw", start_deg: float = 0.0) -> list[float]:
    sign = 1.0 if direction == "ccw" else -1.0
    return [math.radians(start_deg) + sign * 2 * math.pi * i / frames for i in range(frames)]


def model_matrix(framing: Framing, angle: float) -> np.ndarray:
    """Rotate about +Y through the framing centre: R_y(angle) · T(-centre)."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, 0, s, 0], [0, 1, 0, 0], [-s, 0, c, 0], [0, 0, 0, 1]], np.float64)
    move = np.eye(4)
    move[:3, 3] = -framing.center
    return rot @ move


def camera_position(framing: Framing, elevation_deg: float) -> np.ndarray:
    e = math.radians(elevation_deg)
    return np.array([0.0, framing.distance * math.sin(e), framing.distance * math.cos(e)])


def view_projection(framing: Framing, elevation_deg: float) -> np.ndarray:
    """OpenGL clip-space matrix for a camera on the +Z side looking at the origin."""
    eye = camera_position(framing, elevation_deg)
    f = -eye / np.linalg.norm(eye)
    up = np.array([0.0, 1.0, 0.0])
    if abs(f[1]) > 0.9999:  # looking straight down or up: any horizontal up works
        up = np.array([0.0, 0.0, -1.0 if f[1] < 0 else 1.0])
    r = np.cross(f, up)
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = r, u, -f
    view[:3, 3] = -view[:3, :3] @ eye
    t = 1 / math.tan(framing.fov_y / 2)
    n, fa = framing.near, framing.far
    proj = np.zeros((4, 4))
    proj[0, 0] = t / framing.aspect
    proj[1, 1] = t
    proj[2, 2] = (fa + n) / (n - fa)
    proj[2, 3] = 2 * fa * n / (n - fa)
    proj[3, 2] = -1
    return proj @ view

"""Unit quaternions in glTF's (x, y, z, w) order: the few operations retargeting needs.

Hamilton product and rotation formulas as in Shoemake, "Animating rotation with quaternion
curves" (SIGGRAPH 1985); matrix → quaternion by Shepperd's method (J. Guidance and Control,
1978), which picks the numerically largest component first.
"""

from __future__ import annotations

import math

import numpy as np

IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a · b: rotate by b first, then by a."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def inverse(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]]) / float(np.dot(q, q))


def normalise(q: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(q))
    return IDENTITY.copy() if n < 1e-12 else np.asarray(q, np.float64) / n


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    u, w = q[:3], q[3]
    t = 2.0 * np.cross(u, v)
    return np.asarray(v) + w * t + np.cross(u, t)


def from_axis_angle(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, np.float64)
    axis = axis / (np.linalg.norm(axis) or 1.0)
    half = math.radians(degrees) / 2
    return np.array([*(axis * math.sin(half)), math.cos(half)])


def from_euler(xyz_degrees: tuple[float, float, float] | list[float]) -> np.ndarray:
    """Degrees about the fixed X, Y, Z axes, applied Z first, then Y, then X
    (q = qx · qy · qz): how the pose library is written. Lowering an arm (Z) and then
    swinging it forward (Y) is one triple this way."""
    x, y, z = xyz_degrees
    qx = from_axis_angle(np.array([1.0, 0, 0]), x)
    qy = from_axis_angle(np.array([0, 1.0, 0]), y)
    qz = from_axis_angle(np.array([0, 0, 1.0]), z)
    return multiply(qx, multiply(qy, qz))


def from_matrix(m: np.ndarray) -> np.ndarray:
    """The rotation of a 3x3 matrix (columns may carry a positive scale, removed first)."""
    m = np.asarray(m, np.float64)[:3, :3]
    m = m / np.maximum(np.linalg.norm(m, axis=0, keepdims=True), 1e-20)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s]
    return normalise(np.array(q))


def between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``u`` onto direction ``v`` (a pure swing)."""
    u = np.asarray(u, np.float64) / (np.linalg.norm(u) or 1.0)
    v = np.asarray(v, np.float64) / (np.linalg.norm(v) or 1.0)
    d = float(np.dot(u, v))
    if d < -1 + 1e-9:  # opposite: turn half way round any axis perpendicular to u
        axis = np.cross(u, [1.0, 0, 0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(u, [0, 1.0, 0])
        return from_axis_angle(axis, 180.0)
    return normalise(np.array([*np.cross(u, v), 1.0 + d]))


def angle_degrees(u: np.ndarray, v: np.ndarray) -> float:
    """Angle between two directions."""
    u = np.asarray(u, np.float64) / (np.linalg.norm(u) or 1.0)
    v = np.asarray(v, np.float64) / (np.linalg.norm(v) or 1.0)
    return math.degrees(math.atan2(np.linalg.norm(np.cross(u, v)), float(np.dot(u, v))))

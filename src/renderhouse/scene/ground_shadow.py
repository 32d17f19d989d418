"""Optional soft ground shadow for the turntable (``--shadow``): a top-down closeness map of
the model, blurred, laid on the ground plane and spun with the model. ``gl_scene`` is the
``GLScene`` being drawn."""

from __future__ import annotations

from typing import Any

import numpy as np

from renderhouse.scene.gltf_scene import Scene


def _mat(m: np.ndarray) -> bytes:
    return np.ascontiguousarray(np.asarray(m, np.float32).T).tobytes()


def bake_shadow(gl_scene: Any, scene: Scene, geometry: list[tuple[Any, str, Any]]) -> tuple:
    """A soft contact shadow: draw the model from straight above into a small map that
    keeps, per texel, how close the lowest geometry is to the ground (MAX blending),
    blur it on the CPU, and later lay it on the ground under the model. Baked once per
    job because the shadow spins rigidly with the model."""
    import moderngl

    ctx, res = gl_scene.ctx, 128
    lo, hi = (np.asarray(b, np.float64) for b in scene.bounds)
    centre = (lo + hi) / 2
    half = max(hi[0] - lo[0], hi[2] - lo[2]) / 2 * 1.3 or 1.0
    footprint = (centre[0] - half, centre[2] - half, 2 * half, 2 * half)
    prog = gl_scene.owner.program("height")
    prog["u_footprint"].value = (footprint[0], footprint[1], 1 / footprint[2], 1 / footprint[3])
    prog["u_height"].value = (float(lo[1]), 1.0 / max(float(hi[1] - lo[1]), 1e-9))
    tex = ctx.texture((res, res), 4)
    fbo = ctx.framebuffer(tex)
    fbo.use()
    fbo.clear(0, 0, 0, 0)
    ctx.enable(moderngl.BLEND)
    ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
    ctx.blend_func = moderngl.ONE, moderngl.ONE
    ctx.blend_equation = moderngl.MAX
    for vbo, fmt, ibo in geometry:
        # positions only: skip the interleaved normal/uv floats as padding
        first, *rest = fmt.split()
        fmt = " ".join([first] + [f"{f[0]}x4" for f in rest])
        vao = ctx.vertex_array(
            prog, [(vbo, fmt, "a_position")], index_buffer=ibo, index_element_size=4
        )
        vao.render(moderngl.TRIANGLES)
        vao.release()
    ctx.blend_equation = moderngl.FUNC_ADD
    close = np.frombuffer(fbo.read(components=1), np.uint8).reshape(res, res) / 255.0
    fbo.release()
    tex.release()
    close = close**3  # only geometry near the ground casts a dark contact shadow
    for _ in range(3):  # three box passes ≈ a Gaussian (central limit)
        for axis in (0, 1):
            close = sum(np.roll(close, k, axis) for k in range(-3, 4)) / 7
    shadow = ctx.texture((res, res), 1, (np.clip(close, 0, 1) * 255).astype(np.uint8).tobytes())
    gl_scene._resources.append(shadow)
    vao = ctx.vertex_array(gl_scene.owner.program("ground"), [])
    gl_scene._resources.append(vao)
    return shadow, vao, footprint, float(lo[1])


def draw_shadow(gl_scene: Any, model: np.ndarray, vp: np.ndarray) -> None:
    import moderngl

    shadow, vao, footprint, ground = gl_scene.shadow
    prog = gl_scene.owner.program("ground")
    prog["u_model"].write(_mat(model))
    prog["u_view_proj"].write(_mat(vp))
    prog["u_footprint"].value = footprint
    prog["u_ground"].value = ground
    prog["u_strength"].value = 0.8
    shadow.use(0)
    prog["u_shadow"].value = 0
    gl_scene.ctx.disable(moderngl.CULL_FACE)
    vao.render(moderngl.TRIANGLES, vertices=6)

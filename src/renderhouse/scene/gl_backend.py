"""The default backend: OpenGL 3.3 through moderngl on a headless EGL context (Mesa llvmpipe
on our workers).

One context, its compiled programs and the uploaded lighting live for the whole process, so a
warm worker's next job only uploads its model. Each frame: draw premultiplied RGBA into a
multisampled target (opaque and masked primitives first, then blended ones back to front),
resolve, composite over the background in a full-screen pass, read back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from renderhouse.errors import JobFailed
from renderhouse.scene.environment import Environment, load_brdf_lut
from renderhouse.scene.framing import (
    Framing,
    camera_position,
    model_matrix,
    view_projection,
)
from renderhouse.scene.gl_textures import GL_SRGB8_ALPHA8, RawGL, mip_chain
from renderhouse.scene.gltf_scene import TEXTURE_SLOTS, Material, Primitive, Scene
from renderhouse.scene.ground_shadow import bake_shadow, draw_shadow
from renderhouse.scene.renderer import RenderSettings, parse_background

SHADERS = Path(__file__).parent / "shaders"


def pbr_defines(mat: Material, prim: Primitive | None) -> tuple[str, ...]:
    """The pbr program variant a material needs on a primitive: only the features it uses
    are compiled in (llvmpipe pays for both sides of every branch, so a flag checked at run
    time costs as much as the feature itself). ``prim`` None: assume the common case
    (no tangents, colours or second UV set), for compiling ahead of the geometry."""
    slots = mat.slots
    d: list[str] = []
    if mat.alpha_mode == "MASK":
        d.append("ALPHA_MASK")
    elif mat.alpha_mode == "BLEND":
        d.append("ALPHA_BLEND")
    if "baseColor" in slots:
        d.append("HAS_BASE_MAP")
    if prim is not None and prim.colors is not None:
        d.append("HAS_COLOR")
    if any(float(v) != 0.0 for v in mat.emissive) and "emissive" in slots:
        d.append("HAS_EMISSIVE_MAP")
    if mat.unlit:
        d.append("UNLIT")
    else:
        if "normal" in slots:
            d.append("HAS_NORMAL_MAP")
            if prim is not None and prim.tangents is not None:
                d.append("HAS_TANGENT")
        if "metallicRoughness" in slots:
            d.append("HAS_MR_MAP")
        if "occlusion" in slots:
            d.append("HAS_OCCLUSION_MAP")
            if mat.occlusion_in_mr:
                d.append("OCCLUSION_IN_MR")
        if mat.transmission > 0:
            d.append("TRANSMISSION")
        if mat.iridescence > 0:
            d.append("IRIDESCENCE")
    used = [slots[k] for k in TEXTURE_SLOTS if k in slots]
    if any(t.texcoord != 0 or not np.array_equal(t.transform, np.eye(3)) for t in used):
        d.append("UV_SELECT")
        if prim is not None and prim.uv1 is not None:
            d.append("HAS_UV1")
    return tuple(sorted(d))


def _unpremultiply(img: np.ndarray) -> np.ndarray:
    """Straight alpha for PNG: only partly covered pixels need dividing (edges, glass)."""
    a = img[..., 3]
    edge = (a > 0) & (a < 255)
    if not edge.any():
        return img
    img = img.copy()
    ae = a[edge].astype(np.uint32)[:, None]
    img[edge, :3] = np.minimum(255, (img[edge, :3].astype(np.uint32) * 255 + ae // 2) // ae)
    return img


def _mat(m: np.ndarray) -> bytes:
    """Column-major float32 bytes, as GLSL expects."""
    return np.ascontiguousarray(np.asarray(m, np.float32).T).tobytes()


class GLRenderer:
    name = "gl"

    def __init__(self) -> None:
        self._ctx: Any = None
        self._raw: RawGL | None = None
        self._programs: dict[str, Any] = {}
        self._env_key: str | None = None
        self._env_tex: Any = None
        self._env_levels = 0
        self._env_sh: bytes = b""
        self._lut: Any = None
        self._white: Any = None
        self._targets: dict[tuple[int, int, int], Any] = {}

    # -- process-wide state -------------------------------------------------------------
    def context(self) -> Any:
        if self._ctx is None:
            # llvmpipe rasterises on LP_NUM_THREADS threads; leave nothing idle on small hosts.
            os.environ.setdefault("LP_NUM_THREADS", str(max(1, os.cpu_count() or 1)))
            import moderngl

            try:
                self._ctx = moderngl.create_standalone_context(backend="egl", require=330)
            except Exception as exc:  # moderngl raises bare Exceptions for EGL failures
                raise JobFailed(
                    f"cannot create a headless OpenGL context ({exc}); install Mesa EGL "
                    "(Debian: libegl1 libegl-mesa0 libgl1-mesa-dri)",
                    code="renderer_unavailable",
                ) from None
            ctx = self._ctx
            try:
                self._raw: RawGL | None = RawGL()
                self._finish = self._raw.finish
            except (OSError, AttributeError):
                self._raw, self._finish = None, ctx.finish
            self._white = ctx.texture((1, 1), 4, b"\xff\xff\xff\xff")
            self._empty_vaos: dict[tuple[str, ...], Any] = {}
        return self._ctx

    # vertex and fragment shader file per program; "pbr" is compiled per variant (pbr_program)
    PROGRAMS = {
        "pbr": ("pbr.vert", "pbr.frag"),
        "composite": ("screen.vert", "composite.frag"),
        "height": ("height.vert", "height.frag"),
        "ground": ("ground.vert", "ground.frag"),
    }

    def program(self, name: str, defines: tuple[str, ...] = ()) -> Any:
        """Compile on first use (llvmpipe compiles are tens of ms each), then keep."""
        key = (name, *defines)
        if key not in self._programs:
            vert_file, frag_file = self.PROGRAMS[name]
            head = "#version 330\n" + "".join(f"#define {d}\n" for d in defines)
            vert, frag = ((SHADERS / f).read_text() for f in (vert_file, frag_file))
            self._programs[key] = self.context().program(
                vertex_shader=vert.replace("#version 330\n", head, 1),
                fragment_shader=frag.replace("#version 330\n", head, 1),
            )
        return self._programs[key]

    def pbr_program(self, mat: Material, prim: Primitive | None) -> Any:
        return self.program("pbr", pbr_defines(mat, prim))

    def warm_up(
        self, primitives: list[Primitive] | None = None, materials: list[Material] | None = None
    ) -> None:
        """Create the context and compile the programs a scene will likely need (done while
        its textures decode; a guess that misses only costs a compile at upload)."""
        self.context()
        if primitives and materials:
            for prim in primitives:
                if 0 <= prim.material < len(materials):
                    self.pbr_program(materials[prim.material], prim)
        self.composite(("OPAQUE_SCENE", "FXAA"))

    def composite(self, defines: tuple[str, ...]) -> tuple[Any, Any]:
        """A composite program variant and an attribute-less vertex array to draw it with."""
        prog = self.program("composite", defines)
        if defines not in self._empty_vaos:
            self._empty_vaos[defines] = self.context().vertex_array(prog, [])
        return prog, self._empty_vaos[defines]

    def _use_environment(self, env: Environment) -> None:
        ctx = self.context()
        if self._env_key != env.key:
            if self._env_tex is not None:
                self._env_tex.release()
            levels = env.specular
            h, w = levels[0].shape[:2]
            tex = ctx.texture((w, h), 3, levels[0].tobytes(), dtype="f2")
            tex.build_mipmaps(0, len(levels) - 1)
            for i, lv in enumerate(levels[1:], 1):
                tex.write(np.ascontiguousarray(lv).tobytes(), level=i)
            import moderngl

            tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            tex.repeat_x, tex.repeat_y = True, False
            self._env_tex, self._env_levels, self._env_key = tex, len(levels), env.key
            self._env_sh = np.asarray(env.sh, np.float32).tobytes()
        if self._lut is None:
            lut = load_brdf_lut()
            self._lut = ctx.texture((lut.shape[1], lut.shape[0]), 2, lut.tobytes(), dtype="f4")
            self._lut.repeat_x = self._lut.repeat_y = False

    def target(self, width: int, height: int, samples: int) -> Any:
        """Framebuffers for one output size, kept for the next job of the same size."""
        key = (width, height, samples)
        if key not in self._targets:
            ctx = self.context()
            if samples:
                scene = ctx.framebuffer(
                    ctx.renderbuffer((width, height), 4, samples=samples),
                    ctx.depth_renderbuffer((width, height), samples=samples),
                )
            else:
                scene = None
            resolved_tex = ctx.texture((width, height), 4)
            resolved_tex.repeat_x = resolved_tex.repeat_y = False  # FXAA taps clamp at edges
            depth = None if samples else ctx.depth_renderbuffer((width, height))
            resolved = ctx.framebuffer(resolved_tex, depth)
            self._targets[key] = (scene or resolved, resolved, resolved_tex)
        return self._targets[key]

    def prepare(
        self, scene: Scene, environment: Environment, framing: Framing, settings: RenderSettings
    ) -> GLScene:
        self.context()
        self._use_environment(environment)
        return GLScene(self, scene, framing, settings)


def _hull_points(scene: Scene, cells: int = 24) -> np.ndarray:
    """Homogeneous corners of the occupied cells of a ``cells``³ grid over the model's box:
    every vertex lies inside the points' convex hull, so their projected rectangle holds the
    model's (at most a cell wider per side), for a few thousand points instead of every
    vertex (projecting 340k vertices each frame costs ~50 ms)."""
    lo, hi = (np.asarray(b, np.float64) for b in scene.bounds)
    step = np.maximum(hi - lo, 1e-9) / cells
    occupied = np.zeros((cells,) * 3, bool)
    for prim in scene.primitives:
        c = np.clip(((prim.positions - lo) / step).astype(np.int32), 0, cells - 1)
        occupied[c[:, 0], c[:, 1], c[:, 2]] = True
    grid = np.zeros((cells + 1,) * 3, bool)  # grid points: corners of occupied cells
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                grid[dx : dx + cells, dy : dy + cells, dz : dz + cells] |= occupied
    pts = lo + np.argwhere(grid) * step
    return np.hstack([pts, np.ones((len(pts), 1))])


class GLScene:
    """A model uploaded to the GPU, ready to render at any angle."""

    def __init__(
        self, owner: GLRenderer, scene: Scene, framing: Framing, settings: RenderSettings
    ) -> None:
        import moderngl

        self.owner = owner
        self.ctx = ctx = owner.context()
        self.framing = framing
        self.settings = settings
        self._resources: list[Any] = []
        self.textures = []
        for img in scene.images:
            h, w = img.pixels.shape[:2]
            tex = ctx.texture(
                (w, h),
                4,
                np.ascontiguousarray(img.pixels).tobytes(),
                internal_format=GL_SRGB8_ALPHA8 if img.srgb else None,
            )
            if owner._raw is not None:
                if img.mips is None:  # kept on the (cached) scene for the next job
                    img.mips = mip_chain(img.pixels, img.srgb)
                owner._raw.upload_mips(
                    tex, ctx.default_texture_unit, [img.pixels, *img.mips], img.srgb
                )
            else:
                tex.build_mipmaps()
            tex.filter = (moderngl.LINEAR_MIPMAP_NEAREST, moderngl.LINEAR)
            tex.repeat_x, tex.repeat_y = img.repeat
            self.textures.append(tex)
            self._resources.append(tex)
        self.draws = []
        geometry: list[tuple[Any, str, Any]] = []
        for prim in scene.primitives:
            mat = scene.materials[prim.material]

            def buf(arr: np.ndarray) -> Any:
                b = ctx.buffer(np.ascontiguousarray(arr, np.float32).tobytes())
                self._resources.append(b)
                return b

            # Only attributes the model has are bound: llvmpipe fetches every bound attribute
            # of every vertex, which shows on dense meshes (Corset_heavy: 343k vertices).
            tangents = prim.tangents
            if prim.uv0 is not None:
                base = np.hstack([prim.positions, prim.normals, prim.uv0])
                content = [(buf(base), "3f 3f 2f", "a_position", "a_normal", "a_uv0")]
            else:
                base = np.hstack([prim.positions, prim.normals])
                content = [(buf(base), "3f 3f", "a_position", "a_normal")]
            if tangents is not None:
                content.append((buf(tangents), "4f", "a_tangent"))
            if prim.uv1 is not None:
                content.append((buf(prim.uv1), "2f", "a_uv1"))
            if prim.colors is not None:
                content.append((buf(prim.colors), "4f", "a_color"))
            ibo = ctx.buffer(prim.indices.astype(np.uint32).tobytes())
            self._resources.append(ibo)
            geometry.append((content[0][0], content[0][1], ibo))
            prog = owner.pbr_program(mat, prim)
            vao = ctx.vertex_array(
                prog, content, index_buffer=ibo, index_element_size=4, skip_errors=True
            )
            self._resources.append(vao)
            texcoords = [mat.slots[s].texcoord if s in mat.slots else 0 for s in TEXTURE_SLOTS]
            transforms = b"".join(
                _mat(mat.slots[s].transform if s in mat.slots else np.eye(3)) for s in TEXTURE_SLOTS
            )
            textures = [
                self.textures[mat.slots[s].image] if s in mat.slots else owner._white
                for s in TEXTURE_SLOTS
            ]
            uniforms = {
                "u_base_color": tuple(float(v) for v in mat.base_color),
                "u_metallic": mat.metallic,
                "u_roughness": mat.roughness,
                "u_emissive": tuple(float(v) for v in mat.emissive),
                "u_normal_scale": mat.normal_scale,
                "u_occlusion_strength": mat.occlusion_strength,
                "u_alpha_cutoff": mat.alpha_cutoff,
                "u_transmission": mat.transmission,
                "u_dielectric_f0": ((mat.ior - 1) / (mat.ior + 1)) ** 2,
                "u_iridescence": mat.iridescence,
                "u_iridescence_ior": mat.iridescence_ior,
                "u_iridescence_thickness": mat.iridescence_thickness,
                "u_texcoord": texcoords,
            }
            # the compiler drops what the variant does not read: keep only what it has
            uniforms = {k: v for k, v in uniforms.items() if k in prog}
            blended = mat.alpha_mode == "BLEND" or mat.transmission > 0
            centroid = prim.positions.mean(0) if blended else None
            self.draws.append(
                (
                    vao,
                    uniforms,
                    transforms,
                    textures,
                    mat.double_sided,
                    prim.mirrored,
                    blended,
                    centroid,
                    prog,
                    mat.alpha_mode == "MASK",
                )
            )
        # opaque first (they fill depth cheaply), then masked, then blended
        self.draws.sort(key=lambda d: (d[6], d[9]))
        self.programs = list({id(d[8]): d[8] for d in self.draws}.values())
        self.shadow = bake_shadow(self, scene, geometry) if settings.shadow else None
        mode, top, bottom = parse_background(settings.background)
        self.bg_kind = mode
        self.bounds = scene.bounds
        # Points projected each frame for the FXAA pass's scissor: the rotated bounding box
        # covers about 2.5x the model's pixels at 512², and FXAA costs per pixel covered
        # (~40 ns on llvmpipe). With a ground shadow the box (which holds the shadow's square)
        # is used as before.
        self._points: np.ndarray | None = None
        if settings.aa == "fast" and self.shadow is None:
            self._points = _hull_points(scene)
        # A solid background is the clear colour (blending onto it equals compositing over
        # it), so most frames need no full-screen pass: on llvmpipe that pass alone costs
        # ~14 ms per 512² frame and ~55 ms per 1024² frame.
        self.clear_color = (*top, 1.0) if mode == "solid" else (0.0, 0.0, 0.0, 0.0)
        self.bg_top, self.bg_bottom = (*top, 1.0), (*bottom, 1.0)
        # off: nothing; fast: FXAA in the composite pass (cheap on llvmpipe); high: MSAA 4x
        # like the baseline (about 2.5x the raster cost on llvmpipe); ultra: MSAA 4x at 2x2
        # supersampling.
        # (supersampling stops at a 4096² target: an 8192² MSAA target is 1 GiB on a CPU)
        scale = 2 if settings.aa == "ultra" and max(settings.width, settings.height) <= 2048 else 1
        samples = min(4, ctx.max_samples) if settings.aa in ("high", "ultra") else 0
        self.fxaa = settings.aa == "fast"
        self.scale = scale
        self.composite_defines = tuple(
            name
            for name, on in (
                ("DOWNSAMPLE", scale > 1),
                ("FXAA", self.fxaa and scale == 1),
                ("OPAQUE_SCENE", mode == "solid"),
                ("TRANSPARENT", mode == "transparent"),
            )
            if on
        )
        self.draw_fbo, self.resolve_fbo, self.resolved_tex = owner.target(
            settings.width * scale, settings.height * scale, samples
        )
        self.out_fbo, _, _ = owner.target(settings.width, settings.height, 0)
        if scale == 1:
            # the composite pass reads the resolved texture, so it needs its own output target
            key = (settings.width, settings.height, -1)
            if key not in owner._targets:
                rb = ctx.renderbuffer((settings.width, settings.height), 4)
                owner._targets[key] = (ctx.framebuffer(rb), None, None)
            self.out_fbo = owner._targets[key][0]

    def render(self, angle: float, elevation_deg: float) -> np.ndarray:
        import moderngl

        ctx, owner = self.ctx, self.owner
        model = model_matrix(self.framing, angle)
        vp = view_projection(self.framing, elevation_deg)
        eye = camera_position(self.framing, elevation_deg)
        owner._env_tex.use(5)
        owner._lut.use(6)
        frame_uniforms: dict[str, Any] = {
            "u_camera": tuple(float(v) for v in eye),
            "u_env_max_lod": float(owner._env_levels - 1),
            "u_env_intensity": 1.0,
            "u_exposure": float(self.settings.exposure),
            "u_env_specular": 5,
            "u_brdf_lut": 6,
            "u_tex_base": 0,
            "u_tex_mr": 1,
            "u_tex_normal": 2,
            "u_tex_occlusion": 3,
            "u_tex_emissive": 4,
        }
        frame_blocks = {"u_model": _mat(model), "u_view_proj": _mat(vp), "u_sh": owner._env_sh}
        for prog in self.programs:
            # uniforms the compiler optimised away are simply absent
            for name, value in frame_uniforms.items():
                if name in prog:
                    prog[name].value = value
            for name, data in frame_blocks.items():
                if name in prog:
                    prog[name].write(data)

        fbo = self.draw_fbo
        fbo.use()
        fbo.clear(*self.clear_color, depth=1.0)
        ctx.enable(moderngl.DEPTH_TEST | moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        opaque = [d for d in self.draws if not d[6]]
        blended = [d for d in self.draws if d[6]]
        if blended:
            # back to front by centroid distance, after the spin
            def depth(d: Any) -> float:
                p = model[:3, :3] @ d[7] + model[:3, 3]
                return -float(np.linalg.norm(p - eye))

            blended.sort(key=depth)
        if self.shadow is not None:
            fbo.depth_mask = False
            draw_shadow(self, model, vp)
        fbo.depth_mask = True
        for d in opaque:
            self._draw(d)
        fbo.depth_mask = False
        for d in blended:
            self._draw(d)
        fbo.depth_mask = True
        owner._finish()  # rasterise now, with the GIL released
        ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND | moderngl.CULL_FACE)
        if fbo is not self.resolve_fbo:
            ctx.copy_framebuffer(self.resolve_fbo, fbo)

        w, h = self.settings.width, self.settings.height
        if self.scale == 1 and not self.fxaa and self.bg_kind != "gradient":
            data = self.resolve_fbo.read(components=4, alignment=1)
            img = np.frombuffer(data, np.uint8).reshape(h, w, 4)[::-1]
            return _unpremultiply(img) if self.bg_kind == "transparent" else img

        comp, vao = owner.composite(self.composite_defines)
        self.out_fbo.use()
        if self.scale == 1 and self.bg_kind != "gradient":
            # FXAA only where the model can be; elsewhere the output is the plain background
            self.out_fbo.clear(*self.clear_color)
            ctx.scissor = self._screen_rect(model, vp)
        self.resolved_tex.use(0)
        comp["u_scene"].value = 0
        for name, value in (("u_bg_top", self.bg_top), ("u_bg_bottom", self.bg_bottom)):
            if name in comp:
                comp[name].value = value
        vao.render(moderngl.TRIANGLES, vertices=3)
        ctx.scissor = None
        data = self.out_fbo.read(components=4, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(h, w, 4)[::-1]

    def _screen_rect(self, model: np.ndarray, vp: np.ndarray) -> tuple[int, int, int, int] | None:
        """Pixel rectangle (x, y, w, h) holding the projected vertices (or, with a ground
        shadow, the bounding box and the shadow's square), padded for FXAA's reach; None
        (whole frame) if unsure."""
        if self._points is not None:
            corners = self._points
        else:
            lo, hi = (np.asarray(b, np.float64) for b in self.bounds)
            if self.shadow is not None:
                c, half = (lo + hi) / 2, (hi - lo) / 2 * 1.3
                lo, hi = c - half, c + half
            corners = np.array(
                [
                    [x, y, z, 1.0]
                    for x in (lo[0], hi[0])
                    for y in (lo[1], hi[1])
                    for z in (lo[2], hi[2])
                ]
            )
        clip = corners @ (vp @ model)[[0, 1, 3]].T  # x, y, w
        if (clip[:, 2] <= 1e-6).any():
            return None
        ndc = clip[:, :2] / clip[:, 2:3]
        w, h = self.settings.width, self.settings.height
        x0 = max(int(np.floor((ndc[:, 0].min() * 0.5 + 0.5) * w)) - 4, 0)
        x1 = min(int(np.ceil((ndc[:, 0].max() * 0.5 + 0.5) * w)) + 4, w)
        y0 = max(int(np.floor((ndc[:, 1].min() * 0.5 + 0.5) * h)) - 4, 0)
        y1 = min(int(np.ceil((ndc[:, 1].max() * 0.5 + 0.5) * h)) + 4, h)
        return (x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))

    def _draw(self, d: Any) -> None:
        import moderngl

        vao, uniforms, transforms, textures, double_sided, mirrored, _, _, prog, _ = d
        ctx = self.ctx
        for name, value in uniforms.items():
            prog[name].value = value
        if "u_uv_transform" in prog:
            # the compiler trims the array past the last slot this variant samples
            used = prog["u_uv_transform"].array_length * 36  # a mat3 is 9 float32s
            prog["u_uv_transform"].write(transforms[:used])
        for i, tex in enumerate(textures):
            tex.use(i)
        if double_sided:
            ctx.disable(moderngl.CULL_FACE)
        else:
            ctx.enable(moderngl.CULL_FACE)
            ctx.front_face = "cw" if mirrored else "ccw"
        vao.render(moderngl.TRIANGLES)

    def release(self) -> None:
        for r in self._resources:
            r.release()
        self._resources.clear()
        self.draws.clear()

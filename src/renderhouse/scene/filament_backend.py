"""The optional ``filament`` backend: Google Filament through the ``filly`` package.

It renders the same frames as ``gl`` from Filament's own glTF loader and PBR shading, so a
look question ("is our shader right?") can be answered against a second, independent
renderer. It shares everything that decides *what* is in the frame with ``gl``:

- framing: the camera uses :mod:`renderhouse.scene.framing` (distance, fov, near/far) and the
  model is turned with the same ``model_matrix``, so silhouettes line up pixel for pixel;
- lighting: the prefiltered environment's level 0 (the preset's equirect panorama, already
  blurred by ``PRESET_BLUR`` like ``gl`` sees it) is handed to ``create_environment``, which
  builds Filament's own IBL from it (filly's closest facility to our CPU prefilter);
- exposure: Filament works in photometric units, so the IBL intensity is set to cancel the
  camera's EV100 exposure (``1.2 · 2^EV100``) times ``RenderSettings.exposure``: radiance 1
  in the panorama reaches the tone mapper as 1, as in ``gl``;
- tone mapping: ``aces_legacy`` is Filament's ACES RRT+ODT with the 1/0.6 pre-scale, the
  curve three.js's ACESFilmic (and our pbr.frag) fit.

Filament loads the glTF file itself, so the model must be a file (``Scene.source``); the
node-transform options our loader applies (``--up z``, animation poses) are applied here as
well where filly allows (the animation pose; a Z-up export is turned by -90° about X).
Ground shadows are not drawn by this backend.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np

from renderhouse.errors import InvalidInput, JobFailed
from renderhouse.scene.environment import Environment
from renderhouse.scene.framing import Framing, camera_position, model_matrix
from renderhouse.scene.gltf_scene import Scene
from renderhouse.scene.renderer import RenderSettings, parse_background

INSTALL_HINT = "pip install 'renderhouse[filament]'"


def import_filly() -> Any:
    """filly, or a clear error naming the extra that provides it."""
    try:
        import filly  # type: ignore[import-not-found]
    except ImportError:
        raise InvalidInput(
            "the filament renderer is not available: it needs the optional 'filly' package "
            f"({INSTALL_HINT}); use --renderer gl"
        ) from None
    return filly


def _unpremultiply(img: np.ndarray) -> np.ndarray:
    """Straight alpha for PNG, as ``gl`` returns: only partly covered pixels change."""
    a = img[..., 3]
    edge = (a > 0) & (a < 255)
    if not edge.any():
        return img
    img = img.copy()
    ae = a[edge].astype(np.uint32)[:, None]
    img[edge, :3] = np.minimum(255, (img[edge, :3].astype(np.uint32) * 255 + ae // 2) // ae)
    return img


class FilamentRenderer:
    """Process-wide Filament engine; IBLs are kept per environment key, because building one
    from a panorama costs 7-20 s on llvmpipe (measured; the same for a 256x128 or a 512x256
    panorama, so downsampling does not help)."""

    name = "filament"

    def __init__(self) -> None:
        self._filly = import_filly()
        self._renderer: Any = None
        self._ibls: dict[str, Any] = {}

    def renderer(self) -> Any:
        if self._renderer is None:
            os.environ.setdefault("LP_NUM_THREADS", str(max(1, os.cpu_count() or 1)))
            # Filament prints its start-up banner on stdout, where the CLI writes its JSON:
            # keep only warnings, and send what is still printed natively to stderr.
            self._filly.set_log_level("warning")
            sys.stdout.flush()
            saved = os.dup(1)
            os.dup2(2, 1)
            try:
                self._renderer = self._filly.Renderer()
            except self._filly.FillyError as exc:
                raise JobFailed(
                    f"cannot start Filament ({exc}); it needs OpenGL 4.1 (Mesa EGL on Linux)",
                    code="renderer_unavailable",
                ) from None
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        return self._renderer

    def ibl(self, env: Environment) -> Any:
        if env.key not in self._ibls:
            pano = np.ascontiguousarray(env.specular[0], np.float32)
            self._ibls[env.key] = self.renderer().create_environment(pano)
        return self._ibls[env.key]

    def prepare(
        self, scene: Scene, environment: Environment, framing: Framing, settings: RenderSettings
    ) -> FilamentScene:
        if scene.source is None:
            raise InvalidInput("the filament renderer needs the model as a file")
        return FilamentScene(self, scene, self.ibl(environment), framing, settings)


class FilamentScene:
    """One model in a Filament scene with a camera and target sized for the job."""

    def __init__(
        self,
        owner: FilamentRenderer,
        scene: Scene,
        ibl: Any,
        framing: Framing,
        settings: RenderSettings,
    ) -> None:
        r = owner.renderer()
        self.renderer = r
        self.framing = framing
        self.scene = fs = r.create_scene()
        try:
            self.model = fs.load(str(scene.source))
        except owner._filly.FillyError as exc:
            fs.close()
            raise JobFailed(f"Filament could not load the model ({exc})") from None
        if scene.pose is not None:
            self.model.apply_animation(scene.pose[0], scene.pose[1], loop=False)
        # Filament places the glTF nodes itself; our loader may also turn a Z-up export.
        self.base = np.eye(4)
        if scene.z_up:
            self.base[1:3, 1:3] = [[0.0, 1.0], [-1.0, 0.0]]  # R_x(-90°): +Z becomes +Y
        fs.environment = ibl
        self.camera = cam = r.create_camera()
        fs.environment_intensity = 1.2 * 2.0 ** float(cam.exposure) * settings.exposure
        fs.tone_mapping = "aces_legacy"
        fs.encoding = "srgb"
        fs.antialiasing = "fxaa" if settings.aa == "fast" else "none"
        fs.msaa = 4 if settings.aa in ("high", "ultra") else 1
        mode, top, bottom = parse_background(settings.background)
        self.mode, self.top, self.bottom = mode, top, bottom
        # Always rendered over transparent black: Filament tone-maps its clear colour, so a
        # solid or gradient background (sRGB-encoded, like ours) is composited below instead.
        fs.transparent = True
        fs.background = [0.0, 0.0, 0.0, 0.0]
        cam.set_perspective(
            fov_y_deg=math.degrees(framing.fov_y),
            aspect=framing.aspect,
            near=framing.near,
            far=framing.far,
        )
        fs.camera = cam
        self.target = r.create_render_target(width=settings.width, height=settings.height)
        self.size = (settings.height, settings.width)

    def render(self, angle: float, elevation_deg: float) -> np.ndarray:
        self.model.transform = (model_matrix(self.framing, angle) @ self.base).astype(np.float32)
        eye = camera_position(self.framing, elevation_deg)
        self.camera.position = [float(v) for v in eye]
        up = [0.0, 1.0, 0.0]
        if abs(math.sin(math.radians(elevation_deg))) > 0.9999:  # as view_projection
            up = [0.0, 0.0, -1.0 if elevation_deg > 0 else 1.0]
        self.camera.look_at([0.0, 0.0, 0.0], up)
        self.renderer.render(self.scene, self.target)
        img = np.ascontiguousarray(self.target.read())  # premultiplied, like Filament blends
        if self.mode == "transparent":
            return _unpremultiply(img)
        h = self.size[0]
        t = (1.0 - (np.arange(h, dtype=np.float32) + 0.5) / h)[:, None, None]  # 1 at the top
        bg = np.asarray(self.bottom, np.float32) * (1 - t) + np.asarray(self.top, np.float32) * t
        a = img[..., 3:4].astype(np.float32) / 255
        out = np.empty_like(img)
        out[..., :3] = np.clip(img[..., :3] + bg * 255 * (1 - a) + 0.5, 0, 255).astype(np.uint8)
        out[..., 3] = 255
        return out

    def release(self) -> None:
        for obj in (self.target, self.model, self.camera, self.scene):
            obj.close()

"""The renderer seam: a backend turns a loaded scene plus lighting into frames.

Backends live behind this protocol so the turntable job never imports a graphics API. ``gl``
(moderngl on Mesa llvmpipe) is ours and the default; ``filament`` (filly) is an optional
extra that is reported as unavailable when it is not installed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from renderhouse.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

    from renderhouse.scene.environment import Environment
    from renderhouse.scene.framing import Framing
    from renderhouse.scene.gltf_scene import Scene

AA_QUALITIES = ("off", "fast", "high", "ultra")


@dataclass(frozen=True)
class RenderSettings:
    width: int
    height: int
    background: str = "transparent"  # "transparent" | "#rrggbb" | "gradient:#top,#bottom"
    exposure: float = 1.0
    aa: str = "fast"  # off: none, fast: FXAA, high: MSAA 4x, ultra: MSAA 4x + 2x2 supersampling
    shadow: bool = False


class PreparedScene(Protocol):
    def render(self, angle: float, elevation_deg: float) -> np.ndarray:
        """One frame: the model turned by ``angle`` radians, as (H, W, 4) uint8 RGBA."""

    def release(self) -> None: ...


class Renderer(Protocol):
    name: str

    def prepare(
        self, scene: Scene, environment: Environment, framing: Framing, settings: RenderSettings
    ) -> PreparedScene: ...


def parse_color(text: str) -> tuple[float, float, float]:
    t = text.strip().lstrip("#")
    if len(t) == 3:
        t = "".join(ch * 2 for ch in t)
    if len(t) != 6:
        raise InvalidInput(f"colour {text!r} must look like #rrggbb")
    try:
        return tuple(int(t[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
    except ValueError:
        raise InvalidInput(f"colour {text!r} must look like #rrggbb") from None


def parse_background(text: str) -> tuple[str, tuple[float, ...], tuple[float, ...]]:
    """("transparent" | "solid" | "gradient", top colour, bottom colour)."""
    if text == "transparent":
        return "transparent", (0, 0, 0), (0, 0, 0)
    if text.startswith("gradient:"):
        parts = text[len("gradient:") :].split(",")
        if len(parts) != 2:
            raise InvalidInput("a gradient background looks like gradient:#top,#bottom")
        return "gradient", parse_color(parts[0]), parse_color(parts[1])
    c = parse_color(text)
    return "solid", c, c


_THREAD = threading.local()
"""Backends per thread: a GL context is current on the thread that made it, so a process
that renders from two threads (an API process drawing thumbnails beside in-process jobs)
needs one per thread; a worker's job thread keeps its warm one."""


def _backends() -> dict[str, Renderer]:
    backends: dict[str, Renderer] | None = getattr(_THREAD, "backends", None)
    if backends is None:
        backends = _THREAD.backends = {}
    return backends


FILAMENT_ONLY_EXTENSIONS = frozenset(
    {
        "KHR_materials_clearcoat",
        "KHR_materials_sheen",
        "KHR_materials_specular",
        "KHR_materials_anisotropy",
    }
)
"""Material extensions the gl backend ignores and Filament renders: ``auto`` sends models
that use them to ``filament`` when it is installed (transmission, volume, IOR and
iridescence have gl approximations that meet the look targets, so they stay on gl)."""


def choose_backend(name: str, extensions_used: list[str]) -> str:
    """Resolve ``auto`` for one model: gl, unless it needs what only filament draws."""
    if name != "auto":
        return name
    import importlib.util

    needs = FILAMENT_ONLY_EXTENSIONS.intersection(extensions_used)
    if needs and importlib.util.find_spec("filly") is not None:
        return "filament"
    return "gl"


def get_renderer(name: str = "auto") -> Renderer:
    """This thread's backend instance (GL context and programs stay warm between jobs)."""
    backends = _backends()
    if name == "auto":
        name = "gl"
    if name == "filament":
        if name not in backends:
            # imports filly lazily and raises InvalidInput naming the extra when it is missing
            from renderhouse.scene.filament_backend import FilamentRenderer

            backends[name] = FilamentRenderer()
        return backends[name]
    if name != "gl":
        raise InvalidInput(f"unknown renderer {name!r}; choose auto, gl or filament")
    if name not in backends:
        from renderhouse.scene.gl_backend import GLRenderer

        backends[name] = GLRenderer()
    return backends[name]

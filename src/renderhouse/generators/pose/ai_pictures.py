"""The pose job's AI path: a 2D picture of the character the prompt describes, per pose, from
an image provider's edit endpoint, with our posed mannequin render as the pose reference.

The reference is the neutral mannequin (the one the library thumbnails use), not the user's
avatar: a grey, featureless body carries the pose, camera and framing and nothing of a look,
so the prompt (and the optional reference picture) alone decide what the character looks
like. Each picture is one paid call held by ``ctx.spend`` (the estimate before, the reported
usage after); a safety refusal is settled at zero and fails the job for good; an outage
fails the attempt (the job's retry policy tries again). Every delivered picture is stored
and checkpointed at once, so a retried attempt never asks (nor pays) for it again.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderhouse.errors import InvalidInput
from renderhouse.generators.context import Context
from renderhouse.providers.images.base import ImageProvider, ProviderFailed, ProviderRefused

MAX_PIXELS = 4096 * 4096
"""The largest picture we decode, from a provider or a user (bounded memory)."""
LOOK_SIDE = 1024

POSE_PROMPT = (
    "Draw the character described below as a finished 2D picture. The first image is only a "
    "pose reference, a grey mannequin: copy its body pose, camera angle and framing exactly, "
    "never its look.{look} Character: {prompt}"
)
PORTRAIT_PROMPT = (
    "Draw a portrait of the character described below as a finished 2D picture. The first "
    "image is only a framing reference, a grey mannequin seen from the front: keep that "
    "framing, never its look.{look} Character: {prompt}"
)
LOOK = " The second image shows the character's look (face, hair, clothing): keep it."


def default_provider(name: str, model: str | None) -> ImageProvider:
    from renderhouse.providers.images.environment import from_environment

    return from_environment(name, model)


def mannequin_file() -> Path:
    """The neutral mannequin (``mannequin.build_mannequin`` with its defaults, the same body
    as ``examples/avatars/Mannequin.glb``), built once per cache directory."""
    from renderhouse.generators.pose.mannequin import build_mannequin
    from renderhouse.scene.environment import default_cache_dir

    path = default_cache_dir() / "pose-mannequin" / "mannequin-v1.glb"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{os.getpid()}-{path.name}")
        build_mannequin(tmp)
        os.replace(tmp, path)  # workers building at once each write a whole file
    return path


def _decode(data: bytes, what: str) -> Any:
    """A PIL RGB picture from untrusted bytes, refused above MAX_PIXELS before decoding."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ValueError(f"{im.width}x{im.height} is over 4096x4096 pixels")
                return im.convert("RGB")
    except (
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ValueError(f"{what} is not a usable picture: {exc}") from None


def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def load_look(path: str) -> bytes:
    """The user's reference picture as a PNG of at most LOOK_SIDE a side; refused with
    ``invalid_reference`` before any paid call."""
    try:
        data = Path(path).read_bytes()
        image = _decode(data, "ai.reference")
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{exc}; upload a PNG or JPEG of the character",
            code="invalid_reference",
            details={"field": "ai.reference"},
        ) from None
    image.thumbnail((LOOK_SIDE, LOOK_SIDE))
    return _png(image)


@dataclass
class AIPictures:
    """One job's provider calls; ``picture`` per pose (or the portrait), at most once each
    across attempts, recorded in ``entries`` (which the caller checkpoints)."""

    ctx: Context
    make_provider: Callable[[], ImageProvider]
    prompt: str
    look: bytes | None
    size: int
    entries: dict[str, dict[str, Any]]
    _provider: ImageProvider | None = None

    @property
    def provider(self) -> ImageProvider:
        """Made on the first call: a resumed job with every picture done opens no client."""
        if self._provider is None:
            self._provider = self.make_provider()
        return self._provider

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()

    def picture(self, key: str, file: str, reference_png: bytes, portrait: bool = False) -> None:
        template = PORTRAIT_PROMPT if portrait else POSE_PROMPT
        prompt = template.format(look=LOOK if self.look else "", prompt=self.prompt)
        references = [self.look] if self.look else []
        estimate = self.provider.estimate(self.size, self.size, images=1 + len(references))
        self.ctx.raise_if_cancelled()
        with self.ctx.spend(estimate, provider=self.provider.name) as call:
            try:
                result = self.provider.edit(reference_png, prompt, self.size, self.size, references)
            except ProviderRefused:
                call.settle(0)  # refused requests are not charged
                raise
            call.settle(result.cost)
        try:
            image = _decode(result.png, f"{self.provider.name}'s answer")
        except ValueError as exc:
            raise ProviderFailed(f"{exc}; the job will retry") from None
        if image.size != (self.size, self.size):
            from PIL import Image

            image = image.resize((self.size, self.size), Image.Resampling.LANCZOS)
        self.ctx.artifacts.put_bytes(file, _png(image), "image/png")
        self.entries[key] = {
            "file": file,
            "provider": self.provider.name,
            "cost_micro_usd": result.cost,
            "usage": result.usage,
        }

    def done(self, key: str) -> bool:
        """Delivered by this or an earlier attempt (entries are kept only with their file)."""
        return key in self.entries

    @property
    def spent(self) -> int:
        return sum(int(e.get("cost_micro_usd", 0)) for e in self.entries.values())

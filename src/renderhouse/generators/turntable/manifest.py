"""The turntable manifest: one JSON document describing every output of a spin.

It is the contract between the generator and whatever displays the result (our
offline ``viewer.html``, an API client, a third-party player), so it is versioned
(``schema_version``) and holds only relative artifact names. Names are checked here to
be plain relative paths, because the viewer loads them as URLs next to itself and must
never be steered to another origin.

``direction`` is how the model appears to turn, seen from above, as the frame index
increases: ``"ccw"`` (counter-clockwise) or ``"cw"``. Frame ``i`` of a row with ``n``
frames is at ``i * 360 / n`` degrees.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from renderhouse import __version__
from renderhouse.errors import InvalidInput

SCHEMA_VERSION = 1
GENERATOR = "renderhouse-turntable"
DIRECTIONS = {"cw": "cw", "clockwise": "cw", "ccw": "ccw", "counterclockwise": "ccw"}


def check_relative_name(name: str) -> str:
    """Return ``name`` if it is a safe relative POSIX path, else raise InvalidInput."""
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or ":" in name
        or path.is_absolute()
        or ".." in path.parts
        or name.startswith("//")
    ):
        raise InvalidInput(
            f"artifact name {name!r} must be a relative path inside the output directory",
            details={"name": name},
        )
    return name


def build_manifest(
    *,
    model_name: str,
    frames_by_row: list[list[str]],
    elevations: list[float],
    size: tuple[int, int],
    formats: list[str],
    sprites: list[dict] | None,
    videos: dict[str, str] | None,
    poster: str,
    direction: str,
    fps: int,
    extra: dict | None = None,
    default_row: int = 0,
    background: str | None = None,
) -> dict:
    """Assemble the manifest dict (JSON-serialisable). ``size`` is (width, height) of
    one frame; ``videos`` maps a format (``webm``/``mp4``) to its artifact name;
    ``background`` is an optional CSS colour the viewer paints behind the frames."""
    if not frames_by_row or any(not row for row in frames_by_row):
        raise InvalidInput("a turntable manifest needs at least one row of frames")
    if len(elevations) != len(frames_by_row):
        raise InvalidInput(
            f"{len(frames_by_row)} rows of frames but {len(elevations)} elevations",
            details={"rows": len(frames_by_row), "elevations": len(elevations)},
        )
    if any(not math.isfinite(e) for e in elevations):
        raise InvalidInput("elevations must be finite numbers")
    if direction not in DIRECTIONS:
        raise InvalidInput(
            f"direction must be cw or ccw, got {direction!r}", details={"direction": direction}
        )
    if not 0 <= default_row < len(frames_by_row):
        raise InvalidInput(f"default_row {default_row} is not one of the rows")
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1:
        raise InvalidInput(f"frame size must be positive, got {size}")
    rows = []
    for index, (names, elevation) in enumerate(zip(frames_by_row, elevations, strict=True)):
        count = len(names)
        rows.append(
            {
                "index": index,
                "elevation": float(elevation),
                "frames": [check_relative_name(n) for n in names],
                "angles": [round(i * 360.0 / count, 4) for i in range(count)],
            }
        )
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": GENERATOR,
        "generator_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "model": {"name": model_name},
        "size": {"width": width, "height": height},
        "formats": list(formats),
        "direction": DIRECTIONS[direction],
        "fps": int(fps),
        "poster": check_relative_name(poster),
        "default_row": default_row,
        "rows": rows,
        "sprites": [dict(s) for s in sprites] if sprites else None,
        "videos": {k: check_relative_name(v) for k, v in videos.items()} if videos else None,
        "background": background,
        "extra": dict(extra) if extra else {},
    }
    for sheet in manifest["sprites"] or []:
        if "file" in sheet:
            check_relative_name(sheet["file"])
    return manifest

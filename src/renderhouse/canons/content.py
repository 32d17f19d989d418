"""A canon as the platform stores it: validated by the ``render`` generator's own canon
model (422 with its code: ``invalid_colour``, ``invalid_logo``, ``invalid_framing``, …) and
its pictures decoded once under the generator's limits, so a stored canon never fails a job
later for a logo that is not an image."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from renderhouse.errors import InvalidInput


def validated(data: Any) -> dict[str, Any]:
    """The canon JSON to store (normalised by the model; ``source`` is the platform's own)."""
    from renderhouse.generators.render.canon import Canon, validation_code
    from renderhouse.generators.render.canon_images import load_rgba

    if not isinstance(data, dict):
        raise InvalidInput(
            "the body must be a brand canon: a JSON object (see docs/render.md)",
            code="invalid_canon",
        )
    data = {k: v for k, v in data.items() if k != "source"}
    try:
        canon = Canon.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = errors[0]
        raise InvalidInput(
            f"invalid canon: {first['field'] or 'canon'}: {first['message']}",
            code=validation_code(exc.errors()),  # type: ignore[arg-type]
            details={"errors": errors},
        ) from None
    pictures = {"logo": canon.logo.image, "background": canon.background.image}
    for part, picture in pictures.items():
        if picture is None:
            continue
        if not picture.startswith("data:"):  # a second guard: nothing stored names a file
            raise InvalidInput(
                f"{part}.image: a stored canon holds its pictures inline (a data URL, or "
                "upload:<id>, which is copied in)",
                code=f"invalid_{part}",
                details={"field": f"{part}.image"},
            )
        load_rgba(picture, part)
    return canon.model_dump(mode="json", exclude={"source"})

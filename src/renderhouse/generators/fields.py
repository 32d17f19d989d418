"""Input fields that name a file the caller uploaded.

A generator marks each such field in its pydantic input model with ``UploadedFile``::

    class Input(BaseModel):
        pdf: Annotated[str, UploadedFile("application/pdf", max_mb=50)]
        logos: list[Annotated[str, UploadedFile("image/png")]] = []

Over HTTP the field holds ``upload:<id>`` (the caller's own upload, checked by the API and
stored as that reference in the job row); on the CLI it holds a local path. Either way the
generator's ``run`` receives a local path: the worker fetches the file first. A field
declared ``inline=True`` also takes the bytes themselves as a ``data:`` URL (a canon's logo),
which the generator decodes and checks. The platform finds the fields from this declaration
alone (``file_fields``, by dotted path: ``canon.logo.image``), so a new kind needs no edit
outside its own package."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class UploadedFile:
    """What an upload field accepts: content types as the upload check names them (none:
    any), a size limit in MB (None: the deployment's upload limit), for zipped uploads the
    member suffixes that must be present (e.g. ``".gltf"``), ``presets``: plain names
    the field takes instead of a file (e.g. a lighting preset), and ``inline``: whether it
    also takes the file's bytes as a ``data:`` URL."""

    def __init__(
        self,
        *content_types: str,
        max_mb: float | None = None,
        zip_members: tuple[str, ...] = (),
        presets: tuple[str, ...] = (),
        inline: bool = False,
    ) -> None:
        self.content_types = tuple(content_types)
        self.max_mb = max_mb
        self.zip_members = tuple(zip_members)
        self.presets = tuple(presets)
        self.inline = inline

    def takes_as_is(self, value: str) -> bool:
        """Whether ``value`` is no file at all: a preset name, or inline bytes."""
        return value in self.presets or (self.inline and value.startswith("data:"))

    def accepts(self, content_type: str) -> bool:
        return not self.content_types or content_type in self.content_types

    def __repr__(self) -> str:
        return f"UploadedFile{self.content_types!r}"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-renderhouse-file"] = {
            "content_types": list(self.content_types),
            "max_mb": self.max_mb,
            "zip_members": list(self.zip_members),
            "presets": list(self.presets),
            "inline": self.inline,
        }
        return schema


def file_fields(model: type[BaseModel], prefix: str = "") -> dict[str, UploadedFile]:
    """Dotted field path → declaration for every upload field of ``model``, including those
    inside lists, optionals and nested models (a list's items, and a dict's values, share
    their field's path)."""
    found: dict[str, UploadedFile] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        for spec in info.metadata:
            if isinstance(spec, UploadedFile):
                found[path] = spec
        _walk(info.annotation, path, found)
    return found


def _walk(annotation: Any, path: str, found: dict[str, UploadedFile]) -> None:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, UploadedFile):
                found[path] = extra
        _walk(base, path, found)
    elif origin in (list, tuple, set, frozenset, dict, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            _walk(arg, path, found)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.update(file_fields(annotation, f"{path}."))

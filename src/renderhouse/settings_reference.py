"""The settings reference (``docs/settings.md``) written from the settings model itself, so
the document cannot drift: ``python -m renderhouse.settings_reference > docs/settings.md``,
and a test fails when the committed file differs or a setting has no description."""

from __future__ import annotations

import json
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from renderhouse.settings import Settings

HEADER = """# Settings reference

Generated from `src/renderhouse/settings.py` by `python -m renderhouse.settings_reference`;
do not edit by hand. Every setting is read, highest first, from a CLI flag where one exists,
the environment variable shown, the TOML settings file (`--settings` or
`RENDERHOUSE_SETTINGS_FILE`, keys as in the first column), then the default. Settings are
validated once at start-up; `renderhouse check` validates them and reaches every configured
service. Lists and tables are given in the environment as JSON.

| setting | environment | type | default | what it does |
| --- | --- | --- | --- | --- |
"""


def _type(info: FieldInfo) -> str:
    text = str(info.annotation).replace("typing.", "").replace("pathlib.", "")
    for prefix in ("<class '", "'>"):
        text = text.replace(prefix, "")
    return text.replace("renderhouse.settings.", "").replace("|", "\\|")


def _default(info: FieldInfo) -> str:
    value: Any = info.default
    if value is PydanticUndefined and info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    if value is None:
        return "none"
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        value = {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in value.items()}
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return f"`{text}`".replace("|", "\\|") if text else '`""`'


def undocumented() -> list[str]:
    return [name for name, info in Settings.model_fields.items() if not info.description]


def render() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    rows = []
    for name, info in Settings.model_fields.items():
        description = " ".join((info.description or "").split()).replace("|", "\\|")
        rows.append(
            f"| `{name}` | `{prefix}{name.upper()}` | {_type(info)} | {_default(info)} "
            f"| {description} |"
        )
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")

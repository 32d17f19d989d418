"""docs/settings.md is the settings model, rendered: a new setting without a description, or
a changed one without regenerating the document, fails here."""

from __future__ import annotations

from pathlib import Path

from renderhouse import settings_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_has_a_description() -> None:
    missing = settings_reference.undocumented()
    assert not missing, (
        f"settings without a description: {missing}; give each a docstring under the field "
        "in src/renderhouse/settings.py"
    )


def test_the_reference_is_current() -> None:
    assert DOC.read_text() == settings_reference.render(), (
        "docs/settings.md is stale: python -m renderhouse.settings_reference > docs/settings.md"
    )


def test_every_setting_appears_with_its_environment_variable() -> None:
    text = DOC.read_text()
    from renderhouse.settings import Settings

    for name in Settings.model_fields:
        assert f"| `{name}` | `RENDERHOUSE_{name.upper()}` |" in text

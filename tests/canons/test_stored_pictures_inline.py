"""A stored canon holds its pictures inline, whatever path reaches ``validated``: a picture
that names a file (which a staged job input may) is refused, not read."""

from __future__ import annotations

import pytest

from renderhouse.canons.content import validated
from renderhouse.errors import InvalidInput
from tests.canons.conftest import small_canon


@pytest.mark.parametrize("part", ["logo", "background"])
def test_a_picture_naming_a_server_file_is_refused(part: str) -> None:
    canon = small_canon()
    canon[part] = {**canon.get(part, {}), "image": "/etc/passwd"}
    with pytest.raises(InvalidInput) as refused:
        validated(canon)
    assert refused.value.code == f"invalid_{part}"
    assert refused.value.details["field"] == f"{part}.image"
    assert "holds its pictures inline" in refused.value.message


def test_an_inline_canon_is_stored() -> None:
    assert validated(small_canon())["logo"]["image"].startswith("data:image/png;base64,")

"""Upload fields as the input model declares them (``UploadedFile``): the API checks a
reference's owner, type and size against the declaration, and the job row keeps the
reference on local storage too, so no response ever shows a server path."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.fields import UploadedFile, file_fields
from tests.api.conftest import assert_error
from tests.api.test_uploads import glb, upload

pytestmark = pytest.mark.anyio


class Nested(BaseModel):
    extra: Annotated[str, UploadedFile("model/gltf-binary")]


class Plain(BaseModel):
    extra: str = ""
    """Same name as ``Nested.extra``, but no file: a field is known by its whole path."""
    pdf: str = ""


class PickyInput(BaseModel):
    pdf: Annotated[str, UploadedFile("application/pdf", max_mb=1)] | None = None
    inline_pdf: Annotated[str, UploadedFile("application/pdf", inline=True)] | None = None
    models: list[Annotated[str, UploadedFile("model/gltf-binary")]] = []
    small: Annotated[str, UploadedFile(max_mb=0.00001)] | None = None
    nested: Nested | None = None
    plain: Plain | None = None
    note: str = ""


class Picky(Generator):
    kind: ClassVar[str] = "picky"
    Input: ClassVar[type[BaseModel]] = PickyInput
    resources: ClassVar[Resources] = Resources(isolated=False)

    async def run(self, ctx: Any, input: Any) -> Any:  # type: ignore[override]
        return {}


@pytest.fixture
def runtime(runtime):
    runtime.registry.add(Picky)
    return runtime


def test_fields_are_found_in_lists_optionals_and_nested_models() -> None:
    found = file_fields(PickyInput)
    assert sorted(found) == ["inline_pdf", "models", "nested.extra", "pdf", "small"]
    assert found["pdf"].content_types == ("application/pdf",) and found["pdf"].max_mb == 1
    schema = PickyInput.model_json_schema()
    assert "x-renderhouse-file" in str(schema)  # the declaration is in the published schema


async def test_the_job_row_keeps_the_reference_on_local_storage(
    alice: httpx.AsyncClient, runtime
) -> None:
    up = (await upload(alice, "m.glb", glb())).json()
    r = await alice.post(
        "/v1/jobs", json={"kind": "picky", "input": {"models": [up["ref"], up["ref"]]}}
    )
    assert r.status_code == 201, r.text
    assert r.json()["input"]["models"] == [up["ref"], up["ref"]]
    stored = runtime.queue.get(r.json()["id"])
    assert stored.input["models"] == [up["ref"], up["ref"]]
    assert str(runtime.settings.data_dir) not in r.text


async def test_a_reference_of_the_wrong_type_is_refused(alice: httpx.AsyncClient) -> None:
    up = (await upload(alice, "m.glb", glb())).json()
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"pdf": up["ref"]}})
    body = assert_error(r, 422, "wrong_file_type")
    assert body["details"]["accepted"] == ["application/pdf"]
    assert "model/gltf-binary" in body["message"]


async def test_a_reference_over_the_fields_size_limit_is_refused(
    alice: httpx.AsyncClient,
) -> None:
    up = (await upload(alice, "m.glb", glb())).json()
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"small": up["ref"]}})
    assert_error(r, 422, "file_too_large")


async def test_nested_fields_are_checked_too(alice: httpx.AsyncClient) -> None:
    r = await alice.post(
        "/v1/jobs", json={"kind": "picky", "input": {"nested": {"extra": "/etc/passwd"}}}
    )
    assert_error(r, 422)
    up = (await upload(alice, "m.glb", glb())).json()
    r = await alice.post(
        "/v1/jobs", json={"kind": "picky", "input": {"nested": {"extra": up["ref"]}}}
    )
    assert r.status_code == 201, r.text


async def test_another_users_upload_is_unknown(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    up = (await upload(bob, "m.glb", glb())).json()
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"models": [up["ref"]]}})
    assert_error(r, 404)


async def test_fields_are_matched_by_their_whole_path(alice: httpx.AsyncClient) -> None:
    """``plain.extra`` and ``plain.pdf`` share a last name with declared upload fields, yet
    are not file fields: no path check, no type check (a PDF field's type is not theirs)."""
    up = (await upload(alice, "m.glb", glb())).json()
    plain = {"extra": "notes/today.txt", "pdf": up["ref"]}
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"plain": plain}})
    assert r.status_code == 201, r.text
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"pdf": up["ref"]}})
    assert_error(r, 422, "wrong_file_type")


async def test_an_inline_field_takes_a_data_url_but_no_path(alice: httpx.AsyncClient) -> None:
    inline = "data:application/pdf;base64,JVBERi0xLjcK"
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"inline_pdf": inline}})
    assert r.status_code == 201, r.text
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"pdf": inline}})
    assert_error(r, 422)  # a field that is not inline takes no data URL (it looks like a path)
    r = await alice.post("/v1/jobs", json={"kind": "picky", "input": {"inline_pdf": "/a.pdf"}})
    assert_error(r, 422)

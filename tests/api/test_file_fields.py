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


class PickyInput(BaseModel):
    pdf: Annotated[str, UploadedFile("application/pdf", max_mb=1)] | None = None
    models: list[Annotated[str, UploadedFile("model/gltf-binary")]] = []
    small: Annotated[str, UploadedFile(max_mb=0.00001)] | None = None
    nested: Nested | None = None
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
    assert sorted(found) == ["models", "nested.extra", "pdf", "small"]
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

"""Avatars over HTTP: created from an upload with the generator's validation and bone map,
listed, shown, renamed, re-mapped, grouped, deleted; owner-scoped; bad avatars refused with
the generator's codes; projects and presets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from renderhouse.store.schema_pose import avatars
from tests.api.conftest import Users, assert_error
from tests.pose.tiny_gltf import scale_weights
from tests.pose_api.conftest import ASSETS, upload

pytestmark = pytest.mark.anyio


async def test_an_avatar_from_an_upload_shows_its_bone_map(
    alice: httpx.AsyncClient, mixamo_rig: Path, runtime
) -> None:
    ref = await upload(alice, mixamo_rig)
    r = await alice.post("/v1/avatars", json={"upload": ref})
    assert r.status_code == 201, r.text
    avatar = r.json()
    assert avatar["ref"] == f"avatar:{avatar['id']}" and avatar["upload"] == ref
    assert avatar["name"] == "mixamo"
    assert avatar["mapping"]["scheme"] == "mixamo"
    assert avatar["mapping"]["bones"]["leftUpperArm"] == "mixamorig:LeftArm"
    assert avatar["summary"]["up_axis"] == "+y" and avatar["summary"]["joints"] > 20
    assert avatar["created_at"].endswith("Z") and "T" in avatar["created_at"]
    shown = (await alice.get(f"/v1/avatars/{avatar['id']}")).json()
    assert shown == avatar
    with runtime.store.read() as conn:  # the row holds the upload id, never a path
        row = conn.execute(avatars.select()).one()
    assert row.upload_id == ref.removeprefix("upload:") and "/" not in row.upload_id


async def test_list_pages_rename_and_delete(alice: httpx.AsyncClient, mannequin: Path) -> None:
    ref = await upload(alice, mannequin)
    ids = []
    for n in range(3):
        r = await alice.post("/v1/avatars", json={"upload": ref, "name": f"a{n}"})
        ids.append(r.json()["id"])
    first = (await alice.get("/v1/avatars", params={"limit": 2})).json()
    assert first["total"] == 3 and len(first["data"]) == 2 and first["next_offset"] == 2
    rest = (await alice.get("/v1/avatars", params={"limit": 2, "offset": 2})).json()
    assert rest["next_offset"] is None
    assert {a["id"] for a in first["data"] + rest["data"]} == set(ids)
    r = await alice.patch(f"/v1/avatars/{ids[0]}", json={"name": "Hero"})
    assert r.status_code == 200 and r.json()["name"] == "Hero"
    assert r.json()["updated_at"] >= r.json()["created_at"]
    assert (await alice.delete(f"/v1/avatars/{ids[0]}")).status_code == 204
    assert_error(await alice.get(f"/v1/avatars/{ids[0]}"), 404, "not_found")
    assert (await alice.get("/v1/avatars")).json()["total"] == 2


async def test_the_bone_map_is_editable_and_validated(
    alice: httpx.AsyncClient, mannequin: Path
) -> None:
    ref = await upload(alice, mannequin)
    avatar = (await alice.post("/v1/avatars", json={"upload": ref})).json()
    assert avatar["mapping"]["bones"]["head"] == "head"
    url = f"/v1/avatars/{avatar['id']}"
    r = await alice.patch(url, json={"bone_map": {"head": "neck"}})
    assert r.status_code == 200, r.text
    assert r.json()["bone_map"] == {"head": "neck"}
    assert r.json()["mapping"]["bones"]["head"] == "neck"
    err = assert_error(
        await alice.patch(url, json={"bone_map": {"leftWing": "head"}}), 422, "unknown_bone"
    )
    assert "humanoid bone" in err["message"]
    assert_error(await alice.patch(url, json={"bone_map": {"head": "Nope"}}), 422, "unknown_bone")
    kept = (await alice.get(url)).json()  # a refused map leaves the avatar as it was
    assert kept["bone_map"] == {"head": "neck"}
    back = (await alice.patch(url, json={"bone_map": {}})).json()
    assert back["mapping"]["bones"]["head"] == "head" and back["bone_map"] == {}


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda tmp, m: ASSETS / "BoomBox.glb", "no_skin"),
        (lambda tmp, m: ASSETS / "Fox.glb", "not_humanoid"),
        (lambda tmp, m: scale_weights(m, tmp / "bad.glb", 0.6), "bad_weights"),
    ],
)
async def test_bad_avatars_are_refused_with_the_generators_code(
    alice: httpx.AsyncClient, mannequin: Path, tmp_path: Path, make, code: str, runtime
) -> None:
    ref = await upload(alice, make(tmp_path, mannequin))
    err = assert_error(await alice.post("/v1/avatars", json={"upload": ref}), 422, code)
    assert err["message"]
    with runtime.store.read() as conn:
        assert conn.execute(avatars.select()).first() is None


async def test_a_pdf_is_not_an_avatar_and_refs_are_checked(alice: httpx.AsyncClient) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = await alice.post("/v1/uploads", files={"file": ("a.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    assert_error(await alice.post("/v1/avatars", json={"upload": ref}), 422, "wrong_file_type")
    assert_error(await alice.post("/v1/avatars", json={"upload": "/etc/passwd"}), 422)
    assert_error(await alice.post("/v1/avatars", json={"upload": "upload:up_nope"}), 404)


async def test_other_users_avatars_answer_404(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, mannequin: Path
) -> None:
    ref = await upload(alice, mannequin)
    avatar = (await alice.post("/v1/avatars", json={"upload": ref})).json()
    url = f"/v1/avatars/{avatar['id']}"
    assert_error(await bob.post("/v1/avatars", json={"upload": ref}), 404)  # alice's upload
    assert_error(await bob.get(url), 404, "not_found")
    assert_error(await bob.patch(url, json={"name": "mine"}), 404)
    assert_error(await bob.delete(url), 404)
    assert_error(await bob.get(url + "/usage"), 404)
    assert (await bob.get("/v1/avatars")).json()["total"] == 0
    assert (await alice.get(url)).json()["name"] == avatar["name"]


async def test_projects_group_avatars_and_presets_hold_a_shot(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, mannequin: Path
) -> None:
    preset = await alice.post(
        "/v1/presets",
        json={"name": "studio", "settings": {"camera": "front", "background": "#202020"}},
    )
    assert preset.status_code == 201, preset.text
    p = preset.json()
    assert p["ref"] == f"preset:{p['id']}" and p["settings"] == {
        "camera": "front",
        "background": "#202020",
    }
    bad = await alice.post(
        "/v1/presets", json={"name": "x", "settings": {"background": "not-a-colour"}}
    )
    assert_error(bad, 422)
    assert_error(await alice.post("/v1/presets", json={"name": "x", "settings": {"size": 9}}), 422)
    project = await alice.post("/v1/avatar-projects", json={"name": "Shop", "preset_id": p["id"]})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    ref = await upload(alice, mannequin)
    a = (await alice.post("/v1/avatars", json={"upload": ref, "project_id": pid})).json()
    b = (await alice.post("/v1/avatars", json={"upload": ref})).json()
    assert a["project_id"] == pid and b["project_id"] is None
    moved = (await alice.patch(f"/v1/avatars/{b['id']}", json={"project_id": pid})).json()
    assert moved["project_id"] == pid
    listed = (await alice.get("/v1/avatars", params={"project_id": pid})).json()
    assert listed["total"] == 2
    assert (await alice.get(f"/v1/avatar-projects/{pid}")).json()["avatars"] == 2
    assert_error(await bob.get(f"/v1/avatar-projects/{pid}"), 404)
    assert_error(await bob.get(f"/v1/presets/{p['id']}"), 404)
    assert_error(
        await bob.post("/v1/avatar-projects", json={"name": "x", "preset_id": p["id"]}), 404
    )
    assert (await alice.delete(f"/v1/avatar-projects/{pid}")).status_code == 204
    assert (await alice.get(f"/v1/avatars/{a['id']}")).json()["project_id"] is None
    assert (await alice.delete(f"/v1/presets/{p['id']}")).status_code == 204
    assert (await alice.get("/v1/presets")).json() == []


async def test_unauthenticated_calls_are_refused(anon: httpx.AsyncClient, users: Users) -> None:
    for path in ("/v1/avatars", "/v1/poses", "/v1/presets", "/v1/avatar-projects"):
        assert_error(await anon.get(path), 401)


async def test_avatars_per_user_are_bounded(
    alice: httpx.AsyncClient, mannequin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from renderhouse.avatars import avatar_rows

    monkeypatch.setattr(avatar_rows, "MAX_AVATARS", 2)
    ref = await upload(alice, mannequin)
    for _ in range(2):
        assert (await alice.post("/v1/avatars", json={"upload": ref})).status_code == 201
    err = assert_error(await alice.post("/v1/avatars", json={"upload": ref}), 422, "too_many")
    assert err["details"] == {"limit": 2}

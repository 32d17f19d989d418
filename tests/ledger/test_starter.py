"""Issue 19, item 5: a user made with ``renderhouse users create`` (or the admin API) gets the
starter credits once, as one ``grant`` entry in the ledger, and the README's walk-through runs
for them: key → upload → turntable job (201, not 402) → artifacts listed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

import renderhouse.store.schema_auth  # noqa: F401
from renderhouse import accounts, ledger
from renderhouse.api import create_app
from renderhouse.cli import main
from renderhouse.ledger.starter import grant_starter
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.schema_ledger import ledger_entries

SECRET = "s" * 40
GLB = (Path(__file__).parents[1] / "assets" / "BoomBox.glb").read_bytes()


def test_new_user_runs_the_readme_walkthrough(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data, secret_key=SECRET))
    rt.prepare_store(create_if_empty=True)
    rt.close()
    out = CliRunner().invoke(main, ["--data-dir", str(data), "users", "create", "ada"])
    assert out.exit_code == 0, out.output
    assert "granted 200 starter credits" in out.output
    key = out.output.split("store it now): ")[1].split()[0]

    rt = Runtime(Settings(data_dir=data, secret_key=SECRET))
    with TestClient(create_app(rt.settings, rt), headers={"Authorization": f"Bearer {key}"}) as c:
        assert c.get("/v1/credits").json()["available"] == 200
        up = c.post("/v1/uploads", files={"file": ("Corset.glb", GLB, "model/gltf-binary")})
        assert up.status_code == 201, up.text
        body = {"model": up.json()["ref"], "frames": 24, "size": 512, "formats": ["png", "viewer"]}
        job = c.post("/v1/jobs", json={"kind": "turntable", "input": body})
        assert job.status_code == 201, job.text  # was 402: a new user had 0 credits
        assert c.get(f"/v1/jobs/{job.json()['id']}/artifacts").json() == []
        entries = c.get("/v1/credits/ledger").json()["data"]
        assert [(e["kind"], e["amount"]) for e in entries][-1] == ("grant", 200)
    rt.close()


def test_starter_grant_is_once_and_configurable(db_url: str, tmp_path: Path) -> None:
    rt = Runtime(Settings(database_url=db_url, data_dir=tmp_path, secret_key=SECRET,
                          starter_credits=7))  # fmt: skip
    with rt.store.begin() as conn:
        user = accounts.create_user(conn, "bo")
        assert grant_starter(conn, user.id, 7) is True
        assert grant_starter(conn, user.id, 7) is False  # a retry grants nothing
    with rt.store.read() as conn:
        rows = conn.execute(
            select(ledger_entries.c.kind, ledger_entries.c.amount).where(
                ledger_entries.c.account == user.id
            )
        ).all()
        assert [tuple(r) for r in rows] == [("grant", 7)]
        assert ledger.balance(conn, user.id).available == 7
        assert ledger.reconcile(conn).to_dict()["ok"]
    admin_key = None
    with rt.store.begin() as conn:
        admin = accounts.create_user(conn, "root", is_admin=True)
        admin_key = accounts.create_key(conn, admin, scope="admin")
    app = create_app(rt.settings, rt)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        made = c.post("/v1/admin/users", json={"name": "cy"})
        assert made.status_code == 201, made.text
        assert made.json()["starter_credits"] == 7
    with rt.store.read() as conn:
        assert ledger.balance(conn, made.json()["id"]).available == 7
    rt.close()
    none = Runtime(Settings(database_url=db_url, data_dir=tmp_path, secret_key=SECRET,
                            starter_credits=0))  # fmt: skip
    with none.store.begin() as conn:
        user = accounts.create_user(conn, "di")
        assert grant_starter(conn, user.id, 0) is False
        assert ledger.balance(conn, user.id).available == 0
    none.close()

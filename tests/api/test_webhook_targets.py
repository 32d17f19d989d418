"""SSRF: a job's webhook_url may not point at the server itself, its networks or a metadata
service, in any spelling; refused at submit (422) and again at delivery, where the request
goes to the very address that was checked. ``webhook_allow_private`` admits private
networks for on-premises receivers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from renderhouse import netguard, webhooks
from renderhouse.duties.webhook import WebhookGenerator, WebhookInput
from renderhouse.generators.local_context import LocalContext
from renderhouse.queue.enqueue import NewJob
from renderhouse.settings import Settings
from renderhouse.store.schema_auth import webhook_deliveries
from tests.api.conftest import assert_error, client_for
from tests.api.test_webhooks import Receiver, run_worker

pytestmark = pytest.mark.anyio

FORBIDDEN = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.0.0.1:8000/hook", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[64:ff9b::7f00:1]/", "loopback"),
    ("http://localhost:8080/", "loopback"),
    ("http://LOCALHOST./", "loopback"),
    ("http://api.localhost/", "loopback"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[::ffff:10.1.2.3]/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://0xa9fea9fe/", "metadata"),
    ("http://169.254.10.20/", "link_local"),
    ("http://[fe80::1]/", "link_local"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://192.0.2.1/", "reserved"),
    ("http://100.64.0.1/", "cgnat"),
    ("https://user:secret@hooks.example.com/", "credentials"),
]


@pytest.mark.parametrize(("url", "reason"), FORBIDDEN)
async def test_forbidden_webhook_urls_are_refused_at_submit(
    alice: httpx.AsyncClient, url: str, reason: str
) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": url})
    error = assert_error(r, 422, "webhook_url_forbidden")
    assert error["details"]["field"] == "webhook_url"
    assert error["details"]["reason"] == reason
    assert (await alice.get("/v1/jobs")).json()["data"] == []


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://x/"])
async def test_other_schemes_are_refused(alice: httpx.AsyncClient, url: str) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": url})
    assert assert_error(r, 422)["details"]["errors"][0]["field"] == "webhook_url"


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "http://[2606:4700:4700::1111]:8080/x",
        # Does not resolve here (no DNS in the sandbox): accepted, and checked at delivery.
        "https://hooks.example.com/renderhouse",
    ],
)
async def test_public_targets_are_accepted(alice: httpx.AsyncClient, url: str) -> None:
    r = await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": url})
    assert r.status_code == 201, r.text


async def test_the_check_needs_authentication_first(anon: httpx.AsyncClient) -> None:
    r = await anon.post("/v1/jobs", json={"kind": "noop", "webhook_url": "http://127.0.0.1/"})
    assert_error(r, 401, "unauthorized")


async def test_allow_private_admits_private_networks_only(app, settings, users) -> None:
    app.state.rh.settings = settings.model_copy(update={"webhook_allow_private": True})
    async with client_for(app, users.alice) as alice:
        for url in (
            "http://127.0.0.1:9/x",
            "http://localhost/x",
            "http://10.1.2.3/",
            "http://[fd00::5]/",
        ):
            r = await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": url})
            assert r.status_code == 201, (url, r.text)
        for url, reason in [
            ("http://169.254.169.254/", "metadata"),
            ("http://0.0.0.0:8000/", "unspecified"),
            ("http://224.0.0.1/", "multicast"),
        ]:
            r = await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": url})
            assert assert_error(r, 422, "webhook_url_forbidden")["details"]["reason"] == reason


# -- delivery ----------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _input(url: str) -> WebhookInput:
    return WebhookInput(url=url, body='{"ok":true}', secret="whsec_x", event="job.succeeded")


def _generator(*, allow_private: bool, lookup: netguard.Lookup | None = None) -> WebhookGenerator:
    gen = WebhookGenerator()
    gen.allow_private = allow_private
    gen.lookup = lookup
    return gen


async def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    receiver: Receiver, tmp_path: Path
) -> None:
    url = f"http://localhost:{receiver.server_address[1]}/hook"
    with pytest.raises(netguard.ForbiddenTarget) as info:
        await _generator(allow_private=False).run(LocalContext(tmp_path), _input(url))
    assert info.value.details["reason"] == "loopback"
    assert receiver.received == []

    result = await _generator(allow_private=True).run(LocalContext(tmp_path), _input(url))
    assert result == {"status_code": 204}
    assert receiver.received[0][1]["Host"] == f"localhost:{receiver.server_address[1]}"


async def test_rebinding_to_a_private_address_is_refused(
    receiver: Receiver, tmp_path: Path
) -> None:
    """The name answered a public address at submit; at delivery it answers loopback (and
    once, a public address and loopback together): nothing is sent."""
    for answer in (["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["::ffff:127.0.0.1"]):
        gen = _generator(allow_private=False, lookup=lambda _h, _p, a=answer: a)
        with pytest.raises(netguard.ForbiddenTarget):
            await gen.run(
                LocalContext(tmp_path),
                _input(f"http://hooks.example.test:{receiver.server_address[1]}/"),
            )
    assert receiver.received == []


async def test_delivery_connects_to_the_checked_address(receiver: Receiver, tmp_path: Path) -> None:
    """The name exists only in the injected resolver; the request still arrives, with the
    original Host header: the connection went to the checked address, never to DNS."""
    gen = _generator(allow_private=True, lookup=lambda _h, _p: ["127.0.0.1"])
    url = f"http://hooks.example.test:{receiver.server_address[1]}/in?x=1"
    assert await gen.run(LocalContext(tmp_path), _input(url)) == {"status_code": 204}
    (body, headers, _status) = receiver.received[0]
    assert headers["Host"] == f"hooks.example.test:{receiver.server_address[1]}"
    assert json.loads(body) == {"ok": True}


async def test_https_keeps_the_name_for_tls(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    gen = _generator(allow_private=False, lookup=lambda _h, _p: ["93.184.216.34"])
    gen.transport = httpx.MockTransport(answer)
    await gen.run(LocalContext(tmp_path), _input("https://Hooks.Example.com/x"))
    (request,) = seen
    assert request.url.host == "93.184.216.34" and request.url.scheme == "https"
    assert request.headers["Host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


async def test_worker_fails_a_forbidden_delivery_for_good(
    runtime, users, app, receiver: Receiver
) -> None:
    """A delivery already queued (the policy changed, or the name moved) reaches a worker
    that refuses it: failed on the first attempt, never retried, logged."""
    with runtime.store.begin() as conn:
        (job, _), *_ = runtime.queue.enqueue_many(
            [
                NewJob(
                    kind=webhooks.KIND,
                    input={
                        "url": f"http://localhost:{receiver.server_address[1]}/hook",
                        "body": "{}",
                        "secret": "whsec_x",
                        "job_id": "j1",
                        "event": "job.succeeded",
                    },
                    owner=users.alice_id,
                    max_attempts=5,
                )
            ],
            conn,
        )

    def logged() -> bool:
        with runtime.store.read() as conn:
            return conn.execute(select(webhook_deliveries)).first() is not None

    await asyncio.to_thread(run_worker, runtime, logged)
    done = runtime.queue.get(job.id)
    assert (done.state, done.error_code, done.attempts_spent) == (
        "failed",
        "webhook_url_forbidden",
        1,
    )
    assert receiver.received == []


def test_settings_default_refuses_private_targets() -> None:
    assert Settings().webhook_allow_private is False

"""requests, httpx (sync and async) and aiohttp signing with credential providers, against a real
``apig-gateway`` process on 127.0.0.1 (its echo backend answers with the request it received):
temporary credentials from a local metadata service (security token signed), project id from a
provider, a Python provider, and the one retry on a "signature expired" answer with the server's
time (``retry_on_expired``).

The gateway binary: ``APIG_GATEWAY`` (set by ``cargo xtask test python``), else
``target/debug/apig-gateway`` (``cargo build -p apig-gateway``)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import requests

import apig
from apig.aiohttp import AppAuthMiddleware
from apig.httpx import AppAuth as HttpxAuth
from apig.requests import AppAuth as RequestsAuth

from .metadata_server import MetadataService, secret_of

TIMEOUT = 10
ROOT = Path(__file__).resolve().parents[3]
DEMO = ("demo-access-key", "demo-secret-key")


def gateway_binary() -> Path:
    path = Path(os.environ.get("APIG_GATEWAY") or ROOT / "target" / "debug" / "apig-gateway")
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build -p apig-gateway` (or set APIG_GATEWAY)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose apps are the demo key pair and the metadata service's TMPAK1..3."""
    apis = [
        {"id": f"echo-{m.lower()}", "method": m, "path": "/echo", "auth": "app", "backend": {"url": "echo:"}}
        for m in ("GET", "POST", "PUT")
    ]
    apps = [{"id": "demo", "key": DEMO[0], "secret": DEMO[1]}] + [
        {"id": f"tmp{n}", "key": f"TMPAK{n}", "secret": secret_of(n)} for n in (1, 2, 3)
    ]
    config = {
        "gateway": {"error_prefix": "APIG"},
        "groups": [{"id": "g", "name": "python clients", "domains": [], "apis": apis}],
        "environments": [{"name": "RELEASE", "published": [a["id"] for a in apis]}],
        "apps": apps,
        "authorizations": [{"app": app["id"], "api": api["id"]} for app in apps for api in apis],
    }
    path = tmp_path_factory.mktemp("gateway") / "gateway.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    port = free_port()
    address = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(gateway_binary()), "--config", str(path), "--listen", address, "--access-log", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "the gateway exited"
                assert time.monotonic() < deadline, f"the gateway did not listen on {address} within 10 s"
                time.sleep(0.02)
        yield f"http://{address}"
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def metadata() -> Iterator[MetadataService]:
    service = MetadataService()
    try:
        yield service
    finally:
        service.close()


def signed_headers(echo: dict[str, Any]) -> list[str]:
    """The SignedHeaders of the Authorization the echo backend received."""
    authorization = next(v for n, v in echo["headers"] if n == "authorization")
    return str(authorization).split("SignedHeaders=")[1].split(",")[0].split(";")


def header(echo: dict[str, Any], name: str) -> str:
    return str(next(v for n, v in echo["headers"] if n == name))


def check_temporary(echo: dict[str, Any]) -> None:
    """Signed with the metadata service's first pair, its token sent and signed."""
    assert "Access=TMPAK1" in header(echo, "authorization")
    assert header(echo, "x-security-token") == "token-1+/="
    assert "x-security-token" in signed_headers(echo)


def test_requests_with_temporary_credentials(gateway: str, metadata: MetadataService) -> None:
    auth = RequestsAuth(credentials=apig.MetadataProvider(metadata.endpoint))
    assert auth.signer is None
    r = requests.post(f"{gateway}/echo?a=1", json={"n": 1}, auth=auth, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    check_temporary(r.json())
    assert r.json()["body"] == '{"n": 1}'


def test_httpx_sync_with_project_id_and_python_provider(gateway: str) -> None:
    provider = apig.StaticProvider(*DEMO, project_id="proj-1")
    with httpx.Client(auth=HttpxAuth(credentials=provider), timeout=TIMEOUT) as client:
        r = client.put(f"{gateway}/echo", content=b"payload")
        assert r.status_code == 200, r.text
        assert header(r.json(), "x-project-id") == "proj-1" and "x-project-id" in signed_headers(r.json())

    class Mine:
        def credentials(self) -> apig.Credentials:
            return apig.Credentials(*DEMO, domain_id="dom-1")

    with httpx.Client(auth=HttpxAuth(credentials=Mine()), timeout=TIMEOUT) as client:
        r = client.get(f"{gateway}/echo")
        assert r.status_code == 200, r.text
        assert header(r.json(), "x-domain-id") == "dom-1"


@pytest.mark.anyio
async def test_httpx_async_with_temporary_credentials(gateway: str, metadata: MetadataService) -> None:
    auth = HttpxAuth(credentials=apig.MetadataProvider(metadata.endpoint))
    async with httpx.AsyncClient(auth=auth, timeout=TIMEOUT) as client:
        r = await client.post(f"{gateway}/echo", json={"k": "ü"})
        assert r.status_code == 200, r.text
        check_temporary(r.json())


@pytest.mark.anyio
async def test_aiohttp_middleware(gateway: str, metadata: MetadataService, tmp_path: Path) -> None:
    middleware = AppAuthMiddleware(credentials=apig.MetadataProvider(metadata.endpoint))
    async with aiohttp.ClientSession(middlewares=(middleware,)) as session:
        async with session.get(f"{gateway}/echo?q=a%20b&x=1") as r:
            assert r.status == 200, await r.text()
            check_temporary(await r.json())
        async with session.post(f"{gateway}/echo", json={"name": "测试"}) as r:
            assert r.status == 200, await r.text()
            echo = await r.json()
            assert json.loads(echo["body"]) == {"name": "测试"}
        async with session.post(f"{gateway}/echo", data={"form": "a b"}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["body"] == "form=a+b"
        upload = tmp_path / "upload.bin"
        upload.write_bytes(b"file content " * 1000)
        with upload.open("rb") as f:
            async with session.put(f"{gateway}/echo", data=f) as r:
                assert r.status == 200, await r.text()
                assert len((await r.json())["body"]) == 13000

        async def chunks() -> AsyncIterator[bytes]:
            yield b"streamed "
            yield b"body"

        async with session.post(f"{gateway}/echo", data=chunks()) as r:
            assert r.status == 200, await r.text()
            echo = await r.json()
            assert echo["body"] == "streamed body" and header(echo, "x-sdk-content-sha256") == "UNSIGNED-PAYLOAD"
    wrong = AppAuthMiddleware(DEMO[0], "wrong-secret")
    async with aiohttp.ClientSession(middlewares=(wrong,)) as session:
        async with session.get(f"{gateway}/echo") as r:
            assert r.status == 401 and (await r.json())["error_code"] == "APIG.0303"


def test_requests_retries_once_on_expired(gateway: str) -> None:
    auth = RequestsAuth(*DEMO)
    auth.clock_offset = -3600  # an hour behind: outside the gateway's 15 minutes
    r = requests.post(f"{gateway}/echo", data=b"body", auth=auth, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert len(r.history) == 1 and r.history[0].status_code == 401
    assert abs(auth.clock_offset) <= 5
    without = RequestsAuth(credentials=apig.StaticProvider(*DEMO), retry_on_expired=False)
    without.clock_offset = -3600
    r = requests.get(f"{gateway}/echo", auth=without, timeout=TIMEOUT)
    assert r.status_code == 401 and "signature expired" in r.json()["error_msg"]
    assert without.clock_offset == -3600

    # the caller's own X-Sdk-Date: nothing learned, not retried
    dated = RequestsAuth(*DEMO)
    r = requests.get(f"{gateway}/echo", headers={"X-Sdk-Date": "20200101T000000Z"}, auth=dated, timeout=TIMEOUT)
    assert r.status_code == 401 and not r.history and dated.clock_offset == 0

    def body() -> Iterator[bytes]:
        yield b"one-shot"

    streamed = RequestsAuth(*DEMO)
    streamed.clock_offset = -3600
    r = requests.put(f"{gateway}/echo", data=body(), auth=streamed, timeout=TIMEOUT)
    assert r.status_code == 401 and streamed.clock_offset == -3600  # not replayable: not retried


def test_httpx_sync_retries_once_on_expired(gateway: str) -> None:
    auth = HttpxAuth(credentials=apig.StaticProvider(*DEMO))
    auth.clock_offset = 3600
    with httpx.Client(auth=auth, timeout=TIMEOUT) as client:
        r = client.post(f"{gateway}/echo", content=b"again")
        assert r.status_code == 200 and r.json()["body"] == "again", r.text
        assert len(r.history) == 1 and abs(auth.clock_offset) <= 5
    # a 401 that is not an expired answer is returned as it came, nothing learned
    wrong = HttpxAuth(DEMO[0], "wrong-secret")
    with httpx.Client(auth=wrong, timeout=TIMEOUT) as client:
        r = client.get(f"{gateway}/echo")
        assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303" and not r.history
    assert wrong.clock_offset == 0
    dated = HttpxAuth(*DEMO)
    with httpx.Client(auth=dated, timeout=TIMEOUT) as client:
        r = client.get(f"{gateway}/echo", headers={"X-Sdk-Date": "20200101T000000Z"})
        assert r.status_code == 401 and "signature expired" in r.text and not r.history
    assert dated.clock_offset == 0


@pytest.mark.anyio
async def test_async_clients_retry_once_on_expired(gateway: str) -> None:
    auth = HttpxAuth(*DEMO)
    auth.clock_offset = -3600
    async with httpx.AsyncClient(auth=auth, timeout=TIMEOUT) as client:
        r = await client.get(f"{gateway}/echo")
        assert r.status_code == 200, r.text
    assert abs(auth.clock_offset) <= 5
    middleware = AppAuthMiddleware(credentials=apig.StaticProvider(*DEMO))
    middleware.clock_offset = -3600
    async with aiohttp.ClientSession(middlewares=(middleware,)) as session:
        async with session.post(f"{gateway}/echo", data=b"retried") as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["body"] == "retried"
    assert abs(middleware.clock_offset) <= 5
    without = AppAuthMiddleware(*DEMO, retry_on_expired=False)
    without.clock_offset = -3600
    async with aiohttp.ClientSession(middlewares=(without,)) as session:
        async with session.get(f"{gateway}/echo") as r:
            assert r.status == 401 and "signature expired" in (await r.json())["error_msg"]
    assert without.clock_offset == -3600
    dated = AppAuthMiddleware(*DEMO)
    async with aiohttp.ClientSession(middlewares=(dated,)) as session:
        async with session.get(f"{gateway}/echo", headers={"X-Sdk-Date": "20200101T000000Z"}) as r:
            assert r.status == 401
    assert dated.clock_offset == 0


def test_helpers_refuse_mixed_arguments() -> None:
    provider = apig.StaticProvider(*DEMO)
    for helper in (RequestsAuth, HttpxAuth, AppAuthMiddleware):
        with pytest.raises(TypeError):
            helper(*DEMO, credentials=provider)
        with pytest.raises(TypeError):
            helper(credentials=object())
        with pytest.raises(TypeError):
            helper(signer=apig.Signer(*DEMO), region="r1")


def test_each_request_gets_the_providers_current_credentials(gateway: str) -> None:
    service = MetadataService(lifetime=2.0)  # TMPAK1 expiring in 2 s: inside the refresh margin
    try:
        provider = apig.MetadataProvider(service.endpoint, refresh_margin=60, min_refresh_interval=0.0)
        with httpx.Client(auth=HttpxAuth(credentials=provider), timeout=TIMEOUT) as client:
            r = client.get(f"{gateway}/echo")
            assert r.status_code == 200 and "Access=TMPAK1" in header(r.json(), "authorization"), r.text
            service.lifetime = 3600.0
            service.rotate()  # the service now issues TMPAK2: the provider refreshes in the background
            deadline = time.monotonic() + 5
            while "Access=TMPAK2" not in header(r.json(), "authorization"):
                assert time.monotonic() < deadline, "the new key pair was never used"
                time.sleep(0.02)
                r = client.get(f"{gateway}/echo")
                assert r.status_code == 200, r.text  # the old pair until the new one arrives
            assert header(r.json(), "x-security-token") == "token-2+/="
    finally:
        service.close()


def test_a_python_providers_exception_reaches_the_caller_unchanged(gateway: str) -> None:
    class Failing:
        def credentials(self) -> apig.Credentials:
            raise PermissionError("vault says no")

    with pytest.raises(PermissionError, match="vault says no"):
        requests.get(f"{gateway}/echo", auth=RequestsAuth(credentials=Failing()), timeout=TIMEOUT)
    with pytest.raises(apig.CredentialsError) as caught:
        requests.get(f"{gateway}/echo", auth=RequestsAuth(credentials=apig.ProfileProvider("/nonexistent")), timeout=TIMEOUT)
    assert (caught.value.code, caught.value.provider) == ("missing", "profile")


@pytest.mark.anyio
async def test_async_helpers_fetch_credentials_off_the_event_loop(gateway: str) -> None:
    """A first fetch from a slow metadata service runs in a worker thread: the loop keeps ticking."""
    for client in ("httpx", "aiohttp"):
        service = MetadataService()
        service.delay = 0.3
        provider = apig.MetadataProvider(service.endpoint)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        try:
            if client == "httpx":
                async with httpx.AsyncClient(auth=HttpxAuth(credentials=provider), timeout=TIMEOUT) as c:
                    status = (await c.get(f"{gateway}/echo")).status_code
            else:
                async with aiohttp.ClientSession(middlewares=[AppAuthMiddleware(credentials=provider)]) as s:
                    async with s.get(f"{gateway}/echo") as r:
                        status = r.status
        finally:
            task.cancel()
            service.close()
        assert status == 200, client
        assert ticks >= 10, f"{client}: the event loop was blocked during the fetch ({ticks} ticks in 0.3 s)"

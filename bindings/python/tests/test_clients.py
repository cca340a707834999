"""requests and httpx (sync and async) signing real requests to a verifying server on 127.0.0.1."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

import apig
from apig.httpx import AppAuth as HttpxAuth
from apig.requests import AppAuth as RequestsAuth

from .conftest import KEY, SECRET

TIMEOUT = 10


def test_requests_get_with_query(verifying_server: str) -> None:
    r = requests.get(
        f"{verifying_server}/v1/items?b=2&a=1&q=hello%20world",
        headers={"X-Project-Id": "p1"},
        auth=RequestsAuth(KEY, SECRET),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["access_key"] == KEY
    assert "x-project-id" in reply["signed_headers"] and "host" in reply["signed_headers"]
    assert "connection" not in reply["signed_headers"]
    assert reply["unsigned_payload"] is False


def test_requests_bodies(verifying_server: str, tmp_path: Any) -> None:
    auth = RequestsAuth(KEY, SECRET)
    s = requests.Session()
    s.auth = auth
    url = f"{verifying_server}/v1/items"
    assert s.post(url, json={"name": "测试", "n": 1}, timeout=TIMEOUT).json()["body"] == json.dumps(
        {"name": "测试", "n": 1}
    )
    assert s.post(url, data="naïve text ✓", timeout=TIMEOUT).json()["body"] == "naïve text ✓"
    assert s.post(url, data=b"\x00\x01raw", timeout=TIMEOUT).status_code == 200
    assert s.post(url, data={"form": "a b"}, timeout=TIMEOUT).json()["body"] == "form=a+b"
    assert s.delete(f"{url}/42", timeout=TIMEOUT).status_code == 200
    path = tmp_path / "upload.bin"
    path.write_bytes(b"file content " * 10000)
    with path.open("rb") as f:
        r = s.put(url, data=f, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["unsigned_payload"] is False
    assert len(r.json()["body"]) == 130000


def test_requests_generator_body_is_sent_unsigned(verifying_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"part one, "
        yield b"part two"

    r = requests.post(f"{verifying_server}/v1/stream", data=chunks(), auth=RequestsAuth(KEY, SECRET), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["unsigned_payload"] is True
    assert r.json()["body"] == "part one, part two"


def test_requests_wrong_secret_and_tampering_are_rejected(verifying_server: str) -> None:
    r = requests.get(f"{verifying_server}/v1/items", auth=RequestsAuth(KEY, "wrong"), timeout=TIMEOUT)
    assert (r.status_code, r.json()["code"]) == (401, "signature_mismatch")
    r = requests.get(f"{verifying_server}/v1/items", auth=RequestsAuth("AK-UNKNOWN", SECRET), timeout=TIMEOUT)
    assert (r.status_code, r.json()["code"]) == (401, "unknown_access_key")
    prepared = requests.Request("POST", f"{verifying_server}/v1/items", data=b"amount=1").prepare()
    RequestsAuth(KEY, SECRET)(prepared)
    prepared.body = b"amount=9"
    with requests.Session() as s:
        r = s.send(prepared, timeout=TIMEOUT)
    assert (r.status_code, r.json()["code"]) == (401, "signature_mismatch")
    r = requests.get(f"{verifying_server}/v1/items", timeout=TIMEOUT)
    assert (r.status_code, r.json()["code"]) == (401, "missing_authorization")


def test_requests_auth_options() -> None:
    signer = apig.Signer(KEY, SECRET, algorithm="SDK-HMAC-SM3")
    assert RequestsAuth(signer=signer).signer is signer
    assert RequestsAuth(KEY, SECRET, algorithm="V11-HMAC-SHA256", region="r1").signer.algorithm == "V11-HMAC-SHA256"
    with pytest.raises(TypeError):
        RequestsAuth(KEY)
    with pytest.raises(TypeError):
        RequestsAuth(KEY, SECRET, signer=signer)


def test_httpx_sync(verifying_server: str) -> None:
    with httpx.Client(auth=HttpxAuth(KEY, SECRET), timeout=TIMEOUT) as client:
        r = client.get(f"{verifying_server}/v1/items", params={"b": "2", "a": "1 2"}, headers={"X-Project-Id": "p"})
        assert r.status_code == 200, r.text
        assert r.json()["access_key"] == KEY
        r = client.post(f"{verifying_server}/v1/items", json={"k": "ü"})
        assert r.status_code == 200, r.text
        r = client.put(f"{verifying_server}/v1/items", content=iter([b"stream", b"ed"]))
        assert r.status_code == 200 and r.json()["body"] == "streamed", r.text
        r = client.post(f"{verifying_server}/v1/files", files={"f": ("a.txt", io.BytesIO(b"hello"))})
        assert r.status_code == 200, r.text
    with httpx.Client(auth=HttpxAuth(KEY, "wrong"), timeout=TIMEOUT) as client:
        r = client.get(f"{verifying_server}/v1/items")
        assert (r.status_code, r.json()["code"]) == (401, "signature_mismatch")


@pytest.mark.anyio
async def test_httpx_async(verifying_server: str) -> None:
    async def chunks() -> Any:
        yield b"async "
        yield b"body"

    async with httpx.AsyncClient(auth=HttpxAuth(KEY, SECRET), timeout=TIMEOUT) as client:
        r = await client.get(f"{verifying_server}/v1/items?x=1")
        assert r.status_code == 200, r.text
        r = await client.post(f"{verifying_server}/v1/items", content=chunks())
        assert r.status_code == 200 and r.json()["body"] == "async body", r.text
    async with httpx.AsyncClient(auth=HttpxAuth(KEY, SECRET, unsigned_payload=True), timeout=TIMEOUT) as client:
        r = await client.post(f"{verifying_server}/v1/items", content=b"not hashed")
        assert r.status_code == 200 and r.json()["unsigned_payload"] is True, r.text


def test_hop_by_hop_headers_are_not_signed() -> None:
    """Both integrations leave the core's hop-by-hop headers (any case) out of the signature."""
    assert {"connection", "proxy-authorization", "transfer-encoding"} <= set(apig.HOP_BY_HOP_HEADERS)
    headers = {name.title(): "x" for name in apig.HOP_BY_HOP_HEADERS} | {"X-Project-Id": "p"}
    prepared = requests.Request("GET", "https://api.example.com/v1/items", headers=headers).prepare()
    RequestsAuth(KEY, SECRET)(prepared)
    flow = HttpxAuth(KEY, SECRET).auth_flow(httpx.Request("GET", "https://api.example.com/v1/items", headers=headers))
    for authorization in (prepared.headers["Authorization"], next(flow).headers["Authorization"]):
        signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        assert "x-project-id" in signed and "host" in signed
        assert not set(signed) & set(apig.HOP_BY_HOP_HEADERS)


def test_hop_by_hop_headers_read_as_documented() -> None:
    """docs/python.md lists apig.HOP_BY_HOP_HEADERS as they are (once title case: `Connection`, ...)."""
    import pathlib
    import re

    doc = pathlib.Path(__file__).resolve().parents[3] / "docs" / "python.md"
    text = " ".join(doc.read_text(encoding="utf-8").split())
    listed = re.search(r"`apig\.HOP_BY_HOP_HEADERS`, the core's list, lower case, matched in any case: ([^)]*)\)", text)
    assert listed is not None, "docs/python.md no longer lists HOP_BY_HOP_HEADERS"
    assert tuple(re.findall(r"`([^`]+)`", listed.group(1))) == apig.HOP_BY_HOP_HEADERS

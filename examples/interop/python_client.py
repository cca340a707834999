"""Python clients against the reference gateway's demo: requests and httpx, signed by `apig`.

    python examples/interop/python_client.py http://127.0.0.1:8080

Run by `cargo xtask ci` (the interop step) against a running `apig-gateway`.
"""

from __future__ import annotations

import json
import sys

import httpx
import requests

from apig.httpx import AppAuth as HttpxAppAuth
from apig.requests import AppAuth as RequestsAppAuth

KEY, SECRET = "demo-access-key", "demo-secret-key"


def main(base: str) -> int:
    failures = 0

    def check(name: str, ok: bool, detail: object = "") -> None:
        nonlocal failures
        print(f"{'ok  ' if ok else 'FAIL'} python: {name}{'' if ok else f' ({detail})'}")
        failures += not ok

    r = requests.get(f"{base}/demo/echo", params={"hello": "world", "q": "a b+c"}, auth=RequestsAppAuth(KEY, SECRET), timeout=10)
    check("requests GET with a query", r.status_code == 200 and r.json()["method"] == "GET", r.text)

    r = requests.post(f"{base}/demo/echo", json={"name": "ünïcode", "n": 1}, auth=RequestsAppAuth(KEY, SECRET), timeout=10)
    check("requests POST JSON", r.status_code == 200 and json.loads(r.json()["body"])["name"] == "ünïcode", r.text)

    with httpx.Client(auth=HttpxAppAuth(KEY, SECRET), timeout=10) as client:
        r = client.post(f"{base}/demo/echo", content=b"\x00\xffbinary", headers={"Content-Type": "application/octet-stream"})
        check("httpx POST binary", r.status_code == 200, r.text)

    r = requests.post(f"{base}/backend/orders", json={"order": 7}, auth=RequestsAppAuth(KEY, SECRET), timeout=10)
    check(
        "through the gateway to a Python backend that verifies the gateway's backend signature",
        r.status_code == 200 and r.json()["signed_by"] == "gateway-signature-key" and '"order": 7' in r.json()["body"],
        r.text,
    )

    r = requests.get(f"{base}/demo/echo", auth=RequestsAppAuth(KEY, "not-the-secret"), timeout=10)
    body = r.json()
    check(
        "wrong secret: 401 APIG.0303 with the gateway's canonical request",
        r.status_code == 401 and body["error_code"] == "APIG.0303" and "canonicalRequest:GET|/demo/echo/|" in body["error_msg"],
        r.text,
    )
    return failures


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1].rstrip("/")) else 0)

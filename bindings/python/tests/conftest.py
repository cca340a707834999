"""Shared fixtures: keys, and a real HTTP server on 127.0.0.1 that verifies with apig.Verifier."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import apig

KEY = "AKTESTEXAMPLE0000001"
SECRET = "sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv"
KEYS = {KEY: SECRET}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _read_chunked(rfile: Any) -> bytes:
    out = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += rfile.read(size)
        rfile.readline()


class VerifyingHandler(BaseHTTPRequestHandler):
    """Answers 200 with the verified identity and what it received, or 401 with the error code."""

    verifier = apig.Verifier(KEYS)
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # http.server decodes header bytes as Latin-1; give the verifier the UTF-8 text sent
        headers = [(n, v.encode("latin-1").decode("utf-8", "replace")) for n, v in self.headers.items()]
        try:
            verified = self.verifier.verify(self.command, self.path, headers, body)
            status, reply = 200, {
                "access_key": verified.access_key,
                "signed_headers": verified.signed_headers,
                "unsigned_payload": verified.unsigned_payload,
                "body": body.decode("utf-8", "replace"),
            }
        except apig.ApigError as e:
            status, reply = 401, {"code": e.code, "message": e.message}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def verifying_server() -> Iterator[str]:
    """The base URL of a threaded HTTP server on 127.0.0.1 that verifies every request."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), VerifyingHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""The server middlewares under real servers on 127.0.0.1: ASGI (Starlette under uvicorn) and
WSGI (Flask under wsgiref), answering APIG-style JSON errors."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import flask
import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import apig
import apig.asgi
import apig.wsgi
from apig.requests import AppAuth

from .conftest import KEY, KEYS, SECRET

TIMEOUT = 10


async def whoami(request: Request) -> JSONResponse:
    verified = request.scope.get("apig")
    body = await request.body()
    return JSONResponse({"access_key": verified.access_key if verified else None, "body": body.decode()})


def starlette_app() -> Any:
    app = Starlette(routes=[Route("/{path:path}", whoami, methods=["GET", "POST", "PUT"])])
    return apig.asgi.VerifyMiddleware(app, keys=KEYS, exclude_paths=["/healthz"], max_body_size=1024)


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(starlette_app(), lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def flask_app() -> Any:
    app = flask.Flask(__name__)

    @app.route("/<path:path>", methods=["GET", "POST", "PUT"])
    def whoami(path: str) -> Any:
        verified = flask.request.environ.get("apig.verified")
        return {"access_key": verified.access_key if verified else None, "body": flask.request.get_data(as_text=True)}

    app.wsgi_app = apig.wsgi.VerifyMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, keys=lambda ak: KEYS.get(ak), exclude_paths=["/healthz"], max_body_size=1024
    )
    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(WSGIServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def wsgi_server() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, flask_app(), server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(params=["asgi", "wsgi"])
def server(request: Any) -> str:
    return str(request.getfixturevalue(f"{request.param}_server"))


def assert_apig_error(r: requests.Response, status: int, code: str, contains: str = "") -> None:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"error_code", "error_msg", "request_id"}
    assert body["error_code"] == code
    assert contains in body["error_msg"]
    assert len(body["request_id"]) == 32 and r.headers["X-Request-Id"] == body["request_id"]


def test_signed_requests_pass_with_identity(server: str) -> None:
    auth = AppAuth(KEY, SECRET)
    r = requests.get(f"{server}/v1/items?b=2&a=1&q=%E4%B8%AD", auth=auth, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == {"access_key": KEY, "body": ""}
    r = requests.post(f"{server}/v1/my%20items/x", json={"n": "ü"}, auth=auth, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["body"] == '{"n": "\\u00fc"}'


def test_unsigned_request_gets_apig_0303(server: str) -> None:
    r = requests.get(f"{server}/v1/items", timeout=TIMEOUT)
    assert_apig_error(r, 401, "APIG.0303", "Incorrect app authentication information")


def test_tampered_request_gets_apig_0303(server: str) -> None:
    prepared = requests.Request("PUT", f"{server}/v1/items?amount=1", data=b"x").prepare()
    AppAuth(KEY, SECRET)(prepared)
    prepared.url = f"{server}/v1/items?amount=9"
    with requests.Session() as s:
        r = s.send(prepared, timeout=TIMEOUT)
    assert_apig_error(r, 401, "APIG.0303", "verify signature fail, canonicalRequest:PUT|/v1/items/|amount=9|")
    r = requests.get(f"{server}/v1/items", auth=AppAuth("AK-UNKNOWN", SECRET), timeout=TIMEOUT)
    assert_apig_error(r, 401, "APIG.0303", "app not found")


def test_expired_request_gets_apig_0303(server: str) -> None:
    old = apig.Signer(KEY, SECRET).sign("GET", f"{server}/v1/items", date="20200101T000000Z")
    r = requests.get(f"{server}/v1/items", headers=old.headers, timeout=TIMEOUT)
    assert_apig_error(r, 401, "APIG.0303", "signature expired")


def test_too_large_body_gets_413(server: str) -> None:
    r = requests.post(f"{server}/v1/items", data=b"x" * 2048, auth=AppAuth(KEY, SECRET), timeout=TIMEOUT)
    assert_apig_error(r, 413, "APIG.0201", "Request entity too large, limit 1024 bytes")


def test_excluded_path_is_served(server: str) -> None:
    r = requests.get(f"{server}/healthz", timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["access_key"] is None


def test_middleware_arguments() -> None:
    with pytest.raises(TypeError):
        apig.asgi.VerifyMiddleware(starlette_app())
    with pytest.raises(TypeError):
        apig.wsgi.VerifyMiddleware(flask_app().wsgi_app, keys=KEYS, verifier=apig.Verifier(KEYS))


def test_wsgi_target_and_headers_from_environ() -> None:
    environ = {
        "PATH_INFO": "/v1/a b/中".encode().decode("latin-1"),
        "QUERY_STRING": "x=1",
        "HTTP_X_SDK_DATE": "20240403T101500Z",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "",
    }
    assert apig.wsgi.request_target(environ) == "/v1/a%20b/%E4%B8%AD?x=1"
    assert apig.wsgi.request_target({**environ, "REQUEST_URI": "/raw?y"}) == "/raw?y"
    expected = [("Content-Type", "text/plain"), ("X-Sdk-Date", "20240403T101500Z")]
    assert sorted(apig.wsgi.request_headers(environ)) == expected


def test_error_response_is_what_the_error_carries() -> None:
    """The middlewares answer with the status, APIG code and error_msg the error carries (from the
    core), as compact UTF-8 JSON like the core's own writer."""
    from apig._http import error_response

    with pytest.raises(apig.ApigError) as caught:
        apig.Verifier(KEYS).verify("GET", "/v1/ü", [], b"")
    error = caught.value
    status, body, headers = error_response(error)
    request_id = dict(headers)["X-Request-Id"]
    assert status == error.status == 401 and dict(headers)["Content-Length"] == str(len(body))
    assert json.loads(body) == {"error_code": error.apig_code, "error_msg": error.apig_message, "request_id": request_id}
    assert body.startswith(b'{"error_code":"APIG.0303","error_msg":"Incorrect app authentication information: ')


def test_bad_content_length_gets_400() -> None:
    """A WSGI request whose Content-Length is not a number: the core's invalid_request answer."""
    seen: list[str] = []
    app = apig.wsgi.VerifyMiddleware(flask_app().wsgi_app, keys=KEYS)
    out = app({"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/items", "CONTENT_LENGTH": "x"},
              lambda status, headers: seen.append(status))  # type: ignore[arg-type,return-value]
    assert seen == ["400 Bad Request"]
    body = json.loads(b"".join(out))
    assert (body["error_code"], body["error_msg"]) == ("APIG.0201", "Bad request: invalid Content-Length")


def test_asgi_websocket_handshake_is_verified() -> None:
    from starlette.routing import WebSocketRoute
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(ws.scope["apig"].access_key)
        await ws.close()

    app = apig.asgi.VerifyMiddleware(Starlette(routes=[WebSocketRoute("/ws", echo)]), keys=KEYS)
    with TestClient(app, base_url="http://testserver") as client:
        signed = apig.Signer(KEY, SECRET).sign("GET", "http://testserver/ws")
        with client.websocket_connect("/ws", headers=signed.headers) as ws:
            assert ws.receive_text() == KEY
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect("/ws"):
                pass
        assert closed.value.code == 1008


def test_the_413_answer_and_default_limit_are_the_cores() -> None:
    """The middlewares' default body limit is the core's DEFAULT_BODY_LIMIT (12 MiB) and their 413
    the core's ApigErrorResponse::body_too_large."""
    from apig._apig import DEFAULT_BODY_LIMIT
    from apig._http import too_large

    assert DEFAULT_BODY_LIMIT == 12 * 1024 * 1024
    assert apig.asgi.VerifyMiddleware(starlette_app(), KEYS).max_body_size == DEFAULT_BODY_LIMIT
    assert apig.wsgi.VerifyMiddleware(flask_app().wsgi_app, KEYS).max_body_size == DEFAULT_BODY_LIMIT
    status, body, headers = too_large(DEFAULT_BODY_LIMIT)
    request_id = dict(headers)["X-Request-Id"]
    assert status == 413
    assert json.loads(body) == {
        "error_code": "APIG.0201",
        "error_msg": "Request entity too large, limit 12582912 bytes",
        "request_id": request_id,
    }

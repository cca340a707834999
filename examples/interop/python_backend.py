"""A backend behind the reference gateway that checks the gateway's *backend signature*: the
gateway's `backend_signing` policy re-signs every forwarded request with its signature key, and this
WSGI app only answers requests that `apig.wsgi.VerifyMiddleware` proves came through the gateway.

    python examples/interop/python_backend.py 9000

Run by `cargo xtask ci` (the interop step) behind a running `apig-gateway`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from apig.wsgi import VerifyMiddleware

#: The gateway's signature key (examples/interop/gateway.json, policy `sign-backend`).
SIGNATURE_KEYS = {"gateway-signature-key": "interop-backend-signature-secret"}


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    verified = environ["apig.verified"]
    body = environ["wsgi.input"].read()
    answer = {
        "signed_by": verified.access_key,
        "signed_headers": list(verified.signed_headers),
        "path": environ.get("PATH_INFO", ""),
        "body": body.decode("utf-8", "replace"),
    }
    data = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


if __name__ == "__main__":
    server = make_server("127.0.0.1", int(sys.argv[1]), VerifyMiddleware(app, keys=SIGNATURE_KEYS), handler_class=QuietHandler)
    print(f"backend listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()

"""HTTP plumbing shared by the client and server integrations (no signing logic here)."""

from __future__ import annotations

import json
import uuid

from apig._apig import HOP_BY_HOP_HEADERS, ApigError, error_body

#: The core's hop-by-hop headers (RFC 9110 section 7.6.1), for fast lookups: connection-specific,
#: rewritten or dropped by proxies, so the client integrations leave them out of the signature.
HOP_BY_HOP = frozenset(HOP_BY_HOP_HEADERS)

#: Largest body the server middlewares buffer to verify it (APIG's own limit is 12 MB).
DEFAULT_MAX_BODY = 12 * 1024 * 1024

Response = tuple[int, bytes, list[tuple[str, str]]]


def signable_headers(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` without the hop-by-hop headers."""
    return [(n, v) for n, v in pairs if n.lower() not in HOP_BY_HOP]


def error_response(error: ApigError) -> Response:
    """APIG's answer to ``error`` (``docs/error-codes.md``): the status the error carries and the
    JSON body the core writes, with a fresh request id (also in ``X-Request-Id``)."""
    request_id = uuid.uuid4().hex
    return _json(error.status, error_body(error, request_id).encode(), request_id)


def too_large(limit: int) -> Response:
    """``413 APIG.0201 Request entity too large, limit N bytes``: the middleware's own body limit,
    not a core error (the reference gateway answers it the same way)."""
    request_id = uuid.uuid4().hex
    body = {"error_code": "APIG.0201", "error_msg": f"Request entity too large, limit {limit} bytes"}
    return _json(413, json.dumps({**body, "request_id": request_id}).encode(), request_id)


def _json(status: int, body: bytes, request_id: str) -> Response:
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Request-Id", request_id),
    ]
    return status, body, headers

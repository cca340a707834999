"""HTTP plumbing shared by the client and server integrations (no signing logic here)."""

from __future__ import annotations

import json
import uuid

from apig._apig import ApigError

#: Hop-by-hop headers (RFC 9110 section 7.6.1): connection-specific, rewritten or dropped by
#: proxies, so the client integrations leave them out of the signature.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: Largest body the server middlewares buffer to verify it (APIG's own limit is 12 MB).
DEFAULT_MAX_BODY = 12 * 1024 * 1024


def signable_headers(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` without the hop-by-hop headers."""
    return [(n, v) for n, v in pairs if n.lower() not in HOP_BY_HOP]


def apig_error(error: ApigError) -> tuple[int, str, str]:
    """The HTTP status, APIG error code and message for ``error``, as ``docs/error-codes.md``
    lists them (the reference gateway answers the same).

    Authentication failures (every verification kind: missing or bad Authorization, unknown key,
    expired, signature mismatch, ...) are ``401 APIG.0303 Incorrect app authentication
    information: ...``; a request that cannot be canonicalised or read is ``400 APIG.0201 Bad
    request: ...``; inconsistent verifier settings are ``500 APIG.0000 Internal error: ...``.
    """
    if error.authentication_failure:
        return 401, "APIG.0303", f"Incorrect app authentication information: {error.apig_message}"
    if error.code == "invalid_config":
        return 500, "APIG.0000", f"Internal error: {error.message}"
    return 400, "APIG.0201", f"Bad request: {error.message}"


def error_body(status: int, code: str, message: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    """The APIG-style JSON error response: status, body, headers (with ``X-Request-Id``)."""
    request_id = uuid.uuid4().hex
    body = json.dumps({"error_code": code, "error_msg": message, "request_id": request_id}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Request-Id", request_id),
    ]
    return status, body, headers


def too_large(limit: int) -> tuple[int, bytes, list[tuple[str, str]]]:
    """``413 APIG.0201 Request entity too large, limit N bytes``."""
    return error_body(413, "APIG.0201", f"Request entity too large, limit {limit} bytes")

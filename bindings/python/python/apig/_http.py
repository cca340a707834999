"""HTTP plumbing shared by the client and server integrations (no signing logic here)."""

from __future__ import annotations

import json
import uuid

from typing import Any, Union

from apig._apig import DEFAULT_BODY_LIMIT, ApigError, Signer, Verifier, _body_too_large, _ClientSigner

#: Largest body the server middlewares buffer to verify it: the core's ``DEFAULT_BODY_LIMIT``
#: (12 MiB, APIG's own limit).
DEFAULT_MAX_BODY = DEFAULT_BODY_LIMIT

Response = tuple[int, bytes, list[tuple[str, str]]]


def resolve_signer(key: Union[str, None], secret: Union[str, bytes, None], signer: Union[Signer, None], options: dict[str, Any]) -> Signer:
    """The signer of a client integration: ``signer=`` as given, or one built from key, secret and
    the :class:`apig.Signer` keyword options (never both)."""
    if signer is None:
        if key is None or secret is None:
            raise TypeError("AppAuth needs key and secret, or signer=")
        return Signer(key, secret, **options)
    if key is not None or secret is not None or options:
        raise TypeError("pass either key, secret and signer options, or signer=")
    return signer


def resolve_client(
    key: Union[str, None],
    secret: Union[str, bytes, None],
    signer: Union[Signer, None],
    credentials: Any,
    options: dict[str, Any],
) -> tuple[Union[Signer, None], _ClientSigner]:
    """What a client helper signs with: ``credentials=`` (an apig provider, or any object with a
    ``credentials()`` method returning :class:`apig.Credentials`) with the :class:`apig.Signer`
    keyword options, or else ``key, secret`` / ``signer=`` as :func:`resolve_signer` takes them.
    Returns the fixed signer (``None`` with a provider) and the native client signer, which gets
    the provider's current credentials and the learned clock offset at each request."""
    if credentials is not None:
        if key is not None or secret is not None or signer is not None:
            raise TypeError("pass either credentials=, or key and secret, or signer=")
        return None, _ClientSigner(credentials, **options)
    fixed = resolve_signer(key, secret, signer, options)
    return fixed, _ClientSigner(fixed)


def resolve_verifier(keys: Any, verifier: Union[Verifier, None], options: dict[str, Any]) -> Verifier:
    """The verifier of a server middleware: ``verifier=`` as given, or one built from ``keys`` and
    the :class:`apig.Verifier` keyword options (never both)."""
    if verifier is None:
        if keys is None:
            raise TypeError("VerifyMiddleware needs keys= or verifier=")
        return Verifier(keys, **options)
    if keys is not None or options:
        raise TypeError("pass either keys and verifier options, or verifier=")
    return verifier


def error_response(error: ApigError) -> Response:
    """APIG's answer to ``error`` (``docs/error-codes.md``): the status, APIG code and ``error_msg``
    the error carries (the core's mapping)."""
    return _json(error.status, error.apig_code, error.apig_message)


def too_large(limit: int) -> Response:
    """``413 APIG.0201 Request entity too large, limit N bytes``: the middleware's own body limit,
    not a core error, answered as the core's ``ApigErrorResponse::body_too_large`` words it (the
    reference gateway answers it the same way)."""
    return _json(*_body_too_large(limit))


def _json(status: int, code: str, message: str) -> Response:
    """The JSON error response, written as the core writes it (compact, UTF-8), with a fresh
    request id also in ``X-Request-Id``."""
    request_id = uuid.uuid4().hex
    fields = {"error_code": code, "error_msg": message, "request_id": request_id}
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Request-Id", request_id),
    ]
    return status, body, headers

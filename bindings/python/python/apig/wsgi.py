"""WSGI middleware (Flask, Django, any WSGI app): reject requests that are not signed with a
known App key, answering like APIG (``401 {"error_code": "APIG.0303", ...}``).

On success the :class:`apig.Verified` identity is in ``environ["apig.verified"]`` (Flask:
``request.environ["apig.verified"]``) and the app reads the body as usual from ``wsgi.input``.

The body is buffered (up to ``max_body_size``, else ``413``) because it is part of the signature.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import quote

from apig._apig import ApigError, InvalidRequestError, Verifier
from apig._http import DEFAULT_MAX_BODY, Response, error_response, resolve_verifier, too_large

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["VerifyMiddleware", "request_target", "request_headers"]

_UNPREFIXED = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def request_target(environ: WSGIEnvironment) -> str:
    """The request target as the client sent it: the raw URI when the server passes it on
    (``RAW_URI`` / ``REQUEST_URI``), else rebuilt from the decoded path as PEP 3333 describes."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    target = quote(path, safe="/") or "/"
    query = environ.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


def request_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The request headers from ``HTTP_*`` (and ``CONTENT_TYPE`` / ``CONTENT_LENGTH``) keys, with
    their values decoded back to the UTF-8 text the client sent."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
        elif key in _UNPREFIXED:
            name = _UNPREFIXED[key]
            if not value:
                continue
        else:
            continue
        headers.append((name, value.encode("latin-1").decode("utf-8", "replace")))
    return headers


class VerifyMiddleware:
    """``app.wsgi_app = VerifyMiddleware(app.wsgi_app, keys={"app-key": "app-secret"})``.

    ``keys`` is a mapping or a callable ``access_key -> secret | None``; the keyword options are
    those of :class:`apig.Verifier`, or pass ``verifier=`` directly. ``exclude_paths`` are served
    without verification.
    """

    def __init__(
        self,
        app: WSGIApplication,
        keys: Any = None,
        *,
        verifier: Union[Verifier, None] = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        exclude_paths: Iterable[str] = (),
        **verifier_options: Any,
    ) -> None:
        self.app = app
        self.verifier = resolve_verifier(keys, verifier, verifier_options)
        self.max_body_size = max_body_size
        self.exclude_paths = frozenset(exclude_paths)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self.exclude_paths:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return _respond(start_response, error_response(InvalidRequestError("invalid Content-Length")))
        if length > self.max_body_size:
            return _respond(start_response, too_large(self.max_body_size))
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            verified = self.verifier.verify(
                environ.get("REQUEST_METHOD", "GET"), request_target(environ), request_headers(environ), body
            )
        except ApigError as error:
            return _respond(start_response, error_response(error))
        environ["apig.verified"] = verified
        return self.app(environ, start_response)


_REASONS = {400: "Bad Request", 401: "Unauthorized", 413: "Payload Too Large", 500: "Internal Server Error"}


def _respond(start_response: StartResponse, response: Response) -> list[bytes]:
    status, body, headers = response
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]

"""ASGI middleware (Starlette, FastAPI, any ASGI 3 app): reject requests that are not signed
with a known App key, answering like APIG (``401 {"error_code": "APIG.0303", ...}``).

On success the :class:`apig.Verified` identity is in ``scope["apig"]`` (Starlette:
``request.scope["apig"]``) and the app receives the body as usual. WebSocket handshakes are
verified too (an empty body); a rejected one is closed with code 1008, which the server answers
with ``403``. Lifespan events pass through.

The body is buffered (up to ``max_body_size``, else ``413``) because it is part of the signature.
Verification runs in the event loop: it is fast (bodies of 64 KiB and more are hashed with the GIL
released), but a ``keys`` callable should not block.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable, Union
from urllib.parse import quote

from apig._apig import ApigError, Verifier
from apig._http import DEFAULT_MAX_BODY, Response, error_response, resolve_verifier, too_large

__all__ = ["VerifyMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class VerifyMiddleware:
    """``VerifyMiddleware(app, keys={"app-key": "app-secret"})``.

    ``keys`` is a mapping or a callable ``access_key -> secret | None``; the keyword options are
    those of :class:`apig.Verifier` (``max_skew``, ``require_host``, ...), or pass
    ``verifier=`` directly. ``exclude_paths`` are served without verification (e.g. health checks).
    """

    def __init__(
        self,
        app: ASGIApp,
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            try:
                scope["apig"] = self.verifier.verify("GET", _target(scope), list(scope["headers"]), b"")
            except ApigError:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                await _respond(send, too_large(self.max_body_size))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)

        try:
            verified = self.verifier.verify(scope["method"], _target(scope), list(scope["headers"]), body)
        except ApigError as error:
            await _respond(send, error_response(error))
            return
        scope["apig"] = verified

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _target(scope: Scope) -> bytes:
    """The request target as sent: the raw path (else the path, percent-encoded) and the query."""
    raw = scope.get("raw_path")
    target: bytes = raw if raw else quote(scope["path"].encode("utf-8"), safe="/").encode("ascii")
    query: bytes = scope.get("query_string", b"")
    return target + b"?" + query if query else target


async def _respond(send: Send, response: Response) -> None:
    status, body, headers = response
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})

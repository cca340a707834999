"""``aiohttp`` integration (aiohttp >= 3.12): a client middleware that signs every request of a
session, ``aiohttp.ClientSession(middlewares=[AppAuthMiddleware(credentials=provider)])``.

Each request is signed with the provider's current credentials (security token and project /
domain id included); a provider that may have to fetch (none fetched yet, or expired) is asked in
a worker thread, so the event loop never waits on the metadata service.

Bodies are signed as sent: ``bytes``, ``str``, ``json=``, form data, multipart and file objects are
read with aiohttp's own ``Payload.as_bytes()`` (a file is read in a worker thread, then rewound by
aiohttp) and hashed. Async iterables and stream readers cannot be read ahead: they are sent with
``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` (the body is then not authenticated; gateways can refuse
it). Pass ``unsigned_payload=True`` to do that for every request (e.g. large uploads).

A ``401`` whose APIG message says the signature expired, with the server's time, makes the
middleware learn the clock offset and send the request once more (``retry_on_expired=True``, the
default); streamed bodies are not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any, Union

import aiohttp

from apig._apig import Signer
from apig._http import resolve_client

__all__ = ["AppAuthMiddleware"]


class AppAuthMiddleware:
    """Signs each request with APIG App authentication: an aiohttp client middleware.

    ``AppAuthMiddleware(key, secret, algorithm=..., region=..., service=...)`` takes the arguments
    of :class:`apig.Signer`; ``AppAuthMiddleware(signer=existing_signer)`` reuses a signer;
    ``AppAuthMiddleware(credentials=provider, ...)`` signs with a provider's current credentials.
    """

    def __init__(
        self,
        key: Union[str, None] = None,
        secret: Union[str, bytes, None] = None,
        *,
        signer: Union[Signer, None] = None,
        credentials: Any = None,
        unsigned_payload: bool = False,
        retry_on_expired: bool = True,
        **signer_options: Any,
    ) -> None:
        self.signer, self._client = resolve_client(key, secret, signer, credentials, signer_options)
        self.unsigned_payload = unsigned_payload
        self.retry_on_expired = retry_on_expired

    @property
    def clock_offset(self) -> int:
        """Seconds added to this machine's clock when signing (learned from expired answers)."""
        return self._client.clock_offset

    @clock_offset.setter
    def clock_offset(self, seconds: int) -> None:
        self._client.clock_offset = seconds

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        if self._client.may_block():
            await asyncio.get_running_loop().run_in_executor(None, self._client.prefetch)
        body = await self._body(request)
        original = list(request.headers.items())
        self._sign(request, original, body)
        response = await handler(request)
        if response.status != 401 or not self.retry_on_expired or body is _STREAMED:
            return response
        # read (and kept by aiohttp for the caller) only for a 401: a few hundred bytes of JSON
        if not self._client.learn(await response.text(errors="replace")):
            return response
        response.release()
        self._sign(request, original, body)
        return await handler(request)

    async def _body(self, request: aiohttp.ClientRequest) -> Union[bytes, object, None]:
        """The bytes to hash, ``None`` (no body, or unsigned_payload) or ``_STREAMED``."""
        payload = request.body
        if isinstance(payload, (bytes, bytearray)):
            return bytes(payload) or None
        if isinstance(payload, aiohttp.payload.AsyncIterablePayload):
            return _STREAMED
        if self.unsigned_payload:
            return None
        try:
            return await payload.as_bytes()
        except TypeError:  # a body part being streamed through (BodyPartReaderPayload)
            return _STREAMED

    def _sign(self, request: aiohttp.ClientRequest, original: list[tuple[str, str]], body: object) -> None:
        for name in {n.lower() for n in request.headers} - {n.lower() for n, _ in original}:
            del request.headers[name]  # the previous signature's headers
        unsigned = body is _STREAMED or (self.unsigned_payload and request.body != b"")
        signed = self._client.sign(
            request.method,
            str(request.url),
            original,
            body if isinstance(body, bytes) and not unsigned else None,
            unsigned_payload=unsigned,
        )
        for name, value in signed.headers.items():
            request.headers[name] = value


#: A body that cannot be read ahead (signed with UNSIGNED-PAYLOAD, never retried).
_STREAMED = object()

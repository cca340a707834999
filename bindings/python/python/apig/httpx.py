"""``httpx`` integration: ``httpx.Client(auth=AppAuth(key, secret))``, sync and async, or with
temporary credentials ``AppAuth(credentials=apig.ChainProvider())`` (any provider: each request is
signed with its current credentials, security token and project / domain id included).

httpx reads the body before signing (``requires_request_body = True``), so streamed request bodies
are buffered and signed like ``bytes`` (and can be sent again). Hop-by-hop headers
(``Connection``, ...) are not signed: the core's signer leaves them out.

A ``401`` whose APIG message says the signature expired, with the server's time, makes the auth
learn the clock offset and send the request once more (``retry_on_expired=True``, the default).
In the async client, a provider that may have to fetch (none fetched yet, or expired) is asked in
a worker thread, so the event loop never waits on the metadata service.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any, Union

import anyio.to_thread
import httpx

from apig._apig import Signer
from apig._http import resolve_client

__all__ = ["AppAuth"]


class AppAuth(httpx.Auth):
    """Signs each request with APIG App authentication (sync and async clients).

    ``AppAuth(key, secret, algorithm=..., region=..., service=...)`` takes the arguments of
    :class:`apig.Signer`; ``AppAuth(signer=existing_signer)`` reuses a signer;
    ``AppAuth(credentials=provider, ...)`` signs with a provider's current credentials.
    """

    requires_request_body = True

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

    def _sign(self, request: httpx.Request, original: list[tuple[str, str]]) -> None:
        for name in {n.lower() for n in request.headers} - {n.lower() for n, _ in original}:
            del request.headers[name]  # the previous signature's headers
        signed = self._client.sign(
            request.method,
            str(request.url),
            original,
            None if self.unsigned_payload else request.content,
            unsigned_payload=self.unsigned_payload,
        )
        request.headers.update(signed.headers)

    def _expired(self, response: httpx.Response) -> bool:
        return self.retry_on_expired and response.status_code == 401 and self._client.learn(response.text)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request, request.headers.multi_items())
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        original = request.headers.multi_items()
        self._sign(request, original)
        response = yield request
        if response.status_code == 401 and self.retry_on_expired:
            response.read()
            if self._expired(response):
                self._sign(request, original)
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._client.may_block():
            await anyio.to_thread.run_sync(self._client.prefetch)
        original = request.headers.multi_items()
        self._sign(request, original)
        response = yield request
        if response.status_code == 401 and self.retry_on_expired:
            await response.aread()
            if self._expired(response):
                self._sign(request, original)
                yield request

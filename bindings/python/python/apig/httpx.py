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

import anyio.to_thread
import httpx

from apig._http import ClientAuth

__all__ = ["AppAuth"]


class AppAuth(ClientAuth, httpx.Auth):
    """Signs each request with APIG App authentication (sync and async clients).

    ``AppAuth(key, secret, algorithm=..., region=..., service=...)`` takes the arguments of
    :class:`apig.Signer`; ``AppAuth(signer=existing_signer)`` reuses a signer;
    ``AppAuth(credentials=provider, ...)`` signs with a provider's current credentials.
    """

    requires_request_body = True

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
        return self._client.learn(response.text)

    def _retries(self, response: httpx.Response, original: list[tuple[str, str]]) -> bool:
        """A 401 to retry: not when the caller fixed the signing time (``X-Sdk-Date``)."""
        dated = any(name.lower() == "x-sdk-date" for name, _ in original)
        return response.status_code == 401 and self.retry_on_expired and not dated

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request, request.headers.multi_items())
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()  # requires_request_body, as httpx.Auth.sync_auth_flow does
        original = request.headers.multi_items()
        self._sign(request, original)
        response = yield request
        if self._retries(response, original):
            response.read()
            if self._expired(response):
                self._sign(request, original)
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()  # requires_request_body, as httpx.Auth.async_auth_flow does
        if self._client.may_block():
            await anyio.to_thread.run_sync(self._client.prefetch)
        original = request.headers.multi_items()
        self._sign(request, original)
        response = yield request
        if self._retries(response, original):
            await response.aread()
            if self._expired(response):
                self._sign(request, original)
                yield request

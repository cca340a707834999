"""``httpx`` integration: ``httpx.Client(auth=AppAuth(key, secret))``, sync and async.

httpx reads the body before signing (``requires_request_body = True``), so streamed request bodies
are buffered and signed like ``bytes``. Hop-by-hop headers (``Connection``, ...) are not signed: the
core's signer leaves them out.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Union

import httpx

from apig._apig import Signer
from apig._http import resolve_signer

__all__ = ["AppAuth"]


class AppAuth(httpx.Auth):
    """Signs each request with APIG App authentication (sync and async clients).

    ``AppAuth(key, secret, algorithm=..., region=..., service=...)`` takes the arguments of
    :class:`apig.Signer`; ``AppAuth(signer=existing_signer)`` reuses a signer.
    """

    requires_request_body = True

    def __init__(
        self,
        key: Union[str, None] = None,
        secret: Union[str, bytes, None] = None,
        *,
        signer: Union[Signer, None] = None,
        unsigned_payload: bool = False,
        **signer_options: Any,
    ) -> None:
        self.signer = resolve_signer(key, secret, signer, signer_options)
        self.unsigned_payload = unsigned_payload

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = request.headers.multi_items()
        signed = self.signer.sign(
            request.method,
            str(request.url),
            headers,
            None if self.unsigned_payload else request.content,
            unsigned_payload=self.unsigned_payload,
        )
        request.headers.update(signed.headers)
        yield request

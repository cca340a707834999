"""``requests`` integration: ``requests.get(url, auth=AppAuth(key, secret))``, or with temporary
credentials ``AppAuth(credentials=apig.ChainProvider())`` (any provider: each request is signed with
its current credentials, security token and project / domain id included).

Bodies are signed as sent:

* ``bytes`` / ``None``: hashed as is.
* ``str``: encoded as UTF-8, and the request body replaced by those bytes (``http.client`` would
  otherwise send a ``str`` body as Latin-1, which is not what was hashed).
* a seekable file object: hashed in chunks (the GIL released) and rewound, then streamed by
  ``requests``.
* a generator, iterator or non-seekable stream: cannot be read ahead, so the request is signed with
  ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` (the body is then not authenticated; gateways can
  refuse it). Pass ``unsigned_payload=True`` to do that for every request.

A ``401`` whose APIG message says the signature expired, with the server's time, makes the auth
learn the clock offset and send the request once more (``retry_on_expired=True``, the default);
generator and one-shot stream bodies are not retried.

Hop-by-hop headers (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``, ...) are not signed: the
core's signer leaves them out (``apig.Signer(excluded_headers=...)``).
"""

from __future__ import annotations

from typing import Any, Callable, Union

import requests
import requests.auth

from apig._http import ClientAuth

__all__ = ["AppAuth"]


def _seekable(body: Any) -> bool:
    try:
        return bool(body.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _dated(headers: list[tuple[str, str]]) -> bool:
    """Whether the caller fixed the signing time (``X-Sdk-Date``): a new clock offset cannot help."""
    return any(name.lower() == "x-sdk-date" for name, _ in headers)


class AppAuth(ClientAuth, requests.auth.AuthBase):
    """Signs each prepared request with APIG App authentication.

    ``AppAuth(key, secret, algorithm=..., region=..., service=...)`` takes the arguments of
    :class:`apig.Signer`; ``AppAuth(signer=existing_signer)`` reuses a signer;
    ``AppAuth(credentials=provider, ...)`` signs with a provider's current credentials.
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body: Any = r.body
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body
            r.prepare_content_length(body)
        unsigned = self.unsigned_payload
        position = None
        replayable = True
        if body is not None and not isinstance(body, (bytes, bytearray)):
            if hasattr(body, "read") and _seekable(body):
                position = body.tell()  # hashed in chunks by the core, then rewound
            else:
                unsigned = True  # a generator or a one-shot stream: cannot be read ahead
                replayable = False
        original = [(str(n), str(v)) for n, v in r.headers.items()]
        added = self._sign(r, original, None if unsigned else body, unsigned)
        if self.retry_on_expired and replayable and not _dated(original):
            r.hooks["response"].append(self._retry_hook(original, added, unsigned, position))
        return r

    def _sign(self, r: requests.PreparedRequest, headers: list[tuple[str, str]], body: Any, unsigned: bool) -> list[str]:
        signed = self._client.sign(r.method or "GET", r.url or "", headers, body, unsigned_payload=unsigned)
        r.headers.update(signed.headers)
        return list(signed.headers)

    def _retry_hook(
        self, original: list[tuple[str, str]], added: list[str], unsigned: bool, position: Union[int, None]
    ) -> Callable[..., requests.Response]:
        """The response hook: on an expired answer naming the server's time, learn the offset, sign
        again and send once more (the retried request carries no hook)."""

        def hook(response: requests.Response, **kwargs: Any) -> requests.Response:
            if response.status_code != 401:
                return response
            if not self._client.learn(response.text):
                return response
            request = response.request.copy()
            request.hooks["response"] = [h for h in request.hooks["response"] if h is not hook]
            for name in added:
                request.headers.pop(name, None)
            body = request.body
            if position is not None:
                body.seek(position)  # type: ignore[union-attr]
            self._sign(request, original, None if unsigned else body, unsigned)
            response.close()
            connection = response.connection
            retried: requests.Response = connection.send(request, **kwargs)
            retried.history.append(response)
            retried.request = request
            return retried

        return hook

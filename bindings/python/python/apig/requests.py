"""``requests`` integration: ``requests.get(url, auth=AppAuth(key, secret))``.

Bodies are signed as sent:

* ``bytes`` / ``None``: hashed as is.
* ``str``: encoded as UTF-8, and the request body replaced by those bytes (``http.client`` would
  otherwise send a ``str`` body as Latin-1, which is not what was hashed).
* a seekable file object: hashed in chunks (the GIL released) and rewound, then streamed by
  ``requests``.
* a generator, iterator or non-seekable stream: cannot be read ahead, so the request is signed with
  ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` (the body is then not authenticated; gateways can
  refuse it). Pass ``unsigned_payload=True`` to do that for every request.

Hop-by-hop headers (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``, ...) are not signed: the
core's signer leaves them out (``apig.Signer(excluded_headers=...)``).
"""

from __future__ import annotations

from typing import Any, Union

import requests
import requests.auth

from apig._apig import Signer
from apig._http import resolve_signer

__all__ = ["AppAuth"]


def _seekable(body: Any) -> bool:
    try:
        return bool(body.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class AppAuth(requests.auth.AuthBase):
    """Signs each prepared request with APIG App authentication.

    ``AppAuth(key, secret, algorithm=..., region=..., service=...)`` takes the arguments of
    :class:`apig.Signer`; ``AppAuth(signer=existing_signer)`` reuses a signer.
    """

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

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body: Any = r.body
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body
            r.prepare_content_length(body)
        unsigned = self.unsigned_payload
        if body is not None and not isinstance(body, (bytes, bytearray)):
            if hasattr(body, "read") and _seekable(body):
                pass  # hashed in chunks by the core, then rewound
            else:
                unsigned = True  # a generator or a one-shot stream: cannot be read ahead
        headers = [(str(n), str(v)) for n, v in r.headers.items()]
        signed = self.signer.sign(
            r.method or "GET",
            r.url or "",
            headers,
            None if unsigned else body,
            unsigned_payload=unsigned,
        )
        r.headers.update(signed.headers)
        return r

"""A drop-in for Huawei's ``apig_sdk.signer`` module, backed by the apig core.

Change one import line and keep the rest of the code::

    # from apig_sdk import signer
    from apig.compat import signer

    sig = signer.Signer()
    sig.Key = "app-key"
    sig.Secret = "app-secret"
    r = signer.HttpRequest("POST", "https://api.example.com/v1/items?limit=10",
                           {"Content-Type": "application/json"}, '{"a": 1}')
    sig.Sign(r)          # adds X-Sdk-Date, Host and Authorization to r.headers
    requests.request(r.method, r.scheme + "://" + r.host + r.uri, params=r.query,
                     headers=r.headers, data=r.body)

As in the original, ``Sign`` signs what that send puts on the wire: the path as written and
``r.query`` as ``requests`` encodes it (``urllib.parse.urlencode(r.query, doseq=True)``; a ``+``
in the URL is a literal plus in ``r.query``, sent and signed as ``%2B``). ``Verify`` checks ``r``
as received: its URL's query as written (``+`` is a space there, as the gateway reads it), or, on
a request ``Sign`` signed, the query it signed. Differences from the original, all from the core:
the default port is left out of ``Host``, header values may be any text, the body may be
``bytes`` as well as ``str``, and ``Verify`` also checks the ``X-Sdk-Date`` window (15 minutes)
and the headers the ``Authorization`` lists rather than every header present.
"""

from __future__ import annotations

from typing import Union
from urllib.parse import unquote, urlencode

import apig

__all__ = ["HttpRequest", "Signer", "DateFormat", "Alg", "HXDate", "HHost", "HAuthorization", "HContentSha256"]

DateFormat = "%Y%m%dT%H%M%SZ"
Alg = "SDK-HMAC-SHA256"
HXDate = "X-Sdk-Date"
HHost = "host"
HAuthorization = "Authorization"
HContentSha256 = "x-sdk-content-sha256"


class HttpRequest:
    """A request to sign: ``HttpRequest(method, url, headers, body)``.

    Like the original it exposes ``method``, ``scheme``, ``host``, ``uri`` (the path),
    ``query`` (a dict of decoded value lists, for ``requests``' ``params=``), ``headers`` (a copy
    of the dict given) and ``body`` (bytes). As in the original, the query is decoded with
    ``unquote`` (a ``+`` stays a plus) and ``Sign`` signs ``query`` as it is then.
    """

    def __init__(
        self,
        m: str = "",
        u: str = "",
        h: Union[dict[str, str], None] = None,
        b: Union[str, bytes] = "",
    ) -> None:
        self.method = m
        scheme, sep, rest = u.partition("://")
        if not sep:
            scheme, rest = "http", u
        target_start = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        self.scheme = scheme
        self.host = rest[:target_start]
        path, _, raw_query = rest[target_start:].partition("?")
        self.uri = path or "/"
        # the query as received (what Verify checks), replaced by the one signed when signing
        self._raw_query = raw_query
        self.query: dict[str, list[str]] = {}
        for piece in raw_query.split("&"):
            key, _, value = piece.partition("=")
            if key:
                self.query.setdefault(unquote(key), []).append(unquote(value))
        self.headers: dict[str, str] = dict(h) if h is not None else {}
        self.body: bytes = b.encode("utf-8") if isinstance(b, str) else bytes(b)

    def _url(self) -> str:
        url = f"{self.scheme}://{self.host}{self.uri}"
        return f"{url}?{self._raw_query}" if self._raw_query else url

    def _encode_query(self) -> None:
        """Sets the query to what the documented send puts on the wire: ``requests`` appends
        ``params=r.query`` encoded by ``urlencode(..., doseq=True)`` (RFC 3986 escapes, a plus as
        ``%2B``, a space as ``+``)."""
        self._raw_query = urlencode(self.query, doseq=True)


class Signer:
    """``sig = Signer(); sig.Key = ...; sig.Secret = ...; sig.Sign(r)``."""

    def __init__(self) -> None:
        self.Key = ""
        self.Secret = ""
        self._cached: Union[tuple[str, str, apig.Signer], None] = None

    def _signer(self) -> apig.Signer:
        cached = self._cached
        if cached is None or cached[0] != self.Key or cached[1] != self.Secret:
            # every header given is signed, hop-by-hop ones included, as the original does
            cached = (self.Key, self.Secret, apig.Signer(self.Key, self.Secret, excluded_headers="none"))
            self._cached = cached
        return cached[2]

    def Sign(self, r: HttpRequest) -> None:
        """Signs ``r`` (its query as ``requests`` sends ``params=r.query``) and adds
        ``X-Sdk-Date`` (when absent), ``Host`` (when absent) and ``Authorization`` to
        ``r.headers``."""
        if isinstance(r.body, str):
            r.body = r.body.encode("utf-8")
        r._encode_query()
        signed = self._signer().sign(r.method, r._url(), list(r.headers.items()), r.body)
        for name, value in signed.headers.items():
            existing = next((k for k in r.headers if k.lower() == name.lower()), name)
            r.headers[existing] = value

    def Verify(self, r: HttpRequest, authorization: str) -> bool:
        """Whether ``authorization`` is a valid signature of ``r`` by ``Key`` / ``Secret``."""
        if isinstance(r.body, str):
            r.body = r.body.encode("utf-8")
        headers = [(k, v) for k, v in r.headers.items() if k.lower() != "authorization"]
        headers.append(("Authorization", authorization))
        try:
            apig.Verifier({self.Key: self.Secret}).verify(r.method, r._url(), headers, r.body)
        except apig.ApigError:
            return False
        return True

"""apig.compat.signer: the official SDK's API, round trip and against a verifying server."""

from __future__ import annotations

import requests

import apig
from apig.compat import signer

from .conftest import KEY, SECRET
from .vectors import sign_vector


def new_signer(key: str = KEY, secret: str = SECRET) -> signer.Signer:
    sig = signer.Signer()
    sig.Key = key
    sig.Secret = secret
    return sig


def test_request_attributes_like_the_original() -> None:
    r = signer.HttpRequest("POST", "https://api.example.com:8443/v1/a%20b?x=1&y=%E4%B8%AD&x=2",
                           {"Content-Type": "application/json"}, '{"a": "ü"}')
    assert (r.method, r.scheme, r.host, r.uri) == ("POST", "https", "api.example.com:8443", "/v1/a%20b")
    assert r.query == {"x": ["1", "2"], "y": ["中"]}
    assert r.body == '{"a": "ü"}'.encode()
    assert signer.HttpRequest("GET", "api.example.com").scheme == "http"
    assert signer.HttpRequest("GET", "https://api.example.com").uri == "/"
    headers = {"A": "1"}
    r2 = signer.HttpRequest("GET", "https://h/", headers)
    r2.headers["B"] = "2"
    assert headers == {"A": "1"}


def test_sign_matches_the_vector_and_verifies() -> None:
    v = sign_vector("post_json")
    sig = new_signer(v["key"], v["secret"])
    headers = {n: val for n, val in v["request"]["headers"]}
    r = signer.HttpRequest(v["request"]["method"], v["request"]["url"], headers, v["request"]["body"])
    sig.Sign(r)
    assert r.headers["Authorization"] == v["expected"]["authorization"]
    # unlike the original, Verify also applies APIG's 15-minute window: the vector's date is old
    assert not sig.Verify(r, r.headers["Authorization"])
    fresh_headers = {n: val for n, val in headers.items() if n != "X-Sdk-Date"}
    fresh = signer.HttpRequest(v["request"]["method"], v["request"]["url"], fresh_headers, v["request"]["body"])
    sig.Sign(fresh)
    assert sig.Verify(fresh, fresh.headers["Authorization"])
    fresh.body = b'{"tampered": true}'
    assert not sig.Verify(fresh, fresh.headers["Authorization"])


def test_sign_adds_date_host_and_authorization() -> None:
    sig = new_signer()
    r = signer.HttpRequest("GET", "https://api.example.com/v1/items?limit=10")
    sig.Sign(r)
    assert set(r.headers) == {"Host", "X-Sdk-Date", "Authorization"}
    assert r.headers["Host"] == "api.example.com"
    assert r.headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={KEY}, SignedHeaders=host;x-sdk-date, ")
    # the same request through the native API gives the same signature
    native = apig.Signer(KEY, SECRET).sign("GET", "https://api.example.com/v1/items?limit=10",
                                           date=r.headers["X-Sdk-Date"])
    assert native.authorization == r.headers["Authorization"]
    assert not new_signer(secret="other").Verify(r, r.headers["Authorization"])
    assert not sig.Verify(r, "garbage")
    # like the original, every header given is signed, a hop-by-hop one too
    r2 = signer.HttpRequest("GET", "https://api.example.com/x", {"Connection": "keep-alive"})
    sig.Sign(r2)
    assert "SignedHeaders=connection;host;x-sdk-date, " in r2.headers["Authorization"]
    # a lower-case host header given by the caller is kept, not duplicated
    r3 = signer.HttpRequest("GET", "https://api.example.com/x", {"host": "api.example.com"})
    sig.Sign(r3)
    assert sorted(r3.headers) == ["Authorization", "X-Sdk-Date", "host"]


def test_official_usage_against_a_verifying_server(verifying_server: str) -> None:
    sig = new_signer()
    r = signer.HttpRequest("POST", f"{verifying_server}/v1/items?limit=10&tag=a b",
                           {"Content-Type": "application/json", "X-Project-Id": "p1"}, '{"name": "测试"}')
    sig.Sign(r)
    resp = requests.request(r.method, r.scheme + "://" + r.host + r.uri, params=r.query, headers=r.headers,
                            data=r.body, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["access_key"] == KEY
    assert resp.json()["body"] == '{"name": "测试"}'


def test_plus_and_reserved_characters_in_the_query_sign_what_requests_sends(verifying_server: str) -> None:
    # once 401: the query dict held "x+y" (a plus, as in the original), requests sent x%2By and the
    # signer had signed the URL's "+" as a space
    sig = new_signer()
    for query in ("b=x+y", "b=x%2By&c=1+2+3", "a=x y&b=%7E~*'()&c=%E4%B8%AD+", "flag&e=&f=a%26b%3Dc", "p=1&p=+&p=%20"):
        r = signer.HttpRequest("GET", f"{verifying_server}/v1/items?{query}")
        sig.Sign(r)
        resp = requests.request(r.method, r.scheme + "://" + r.host + r.uri, params=r.query, headers=r.headers,
                                data=r.body, timeout=10)
        assert resp.status_code == 200, (query, resp.text)
        # the request as the server receives it verifies too, as does the signed object itself
        wire = requests.Request(r.method, r.scheme + "://" + r.host + r.uri, params=r.query).prepare().url
        assert wire is not None
        assert sig.Verify(signer.HttpRequest(r.method, wire, dict(r.headers), r.body), r.headers["Authorization"])
        assert sig.Verify(r, r.headers["Authorization"])
    r = signer.HttpRequest("GET", f"{verifying_server}/v1/items?b=x+y")
    assert r.query == {"b": ["x+y"]}


def test_query_changed_before_signing_is_what_is_signed(verifying_server: str) -> None:
    sig = new_signer()
    r = signer.HttpRequest("GET", f"{verifying_server}/v1/items?limit=10")
    r.query["tag"] = ["a+b c"]
    sig.Sign(r)
    resp = requests.request(r.method, r.scheme + "://" + r.host + r.uri, params=r.query, headers=r.headers,
                            timeout=10)
    assert resp.status_code == 200, resp.text

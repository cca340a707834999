"""apig.Verifier: key stores, policy options, results, and bodies."""

from __future__ import annotations

import datetime
import io

import pytest

import apig

from .conftest import KEY, SECRET
from .vectors import load

DATE = "20240403T101500Z"
NOW = "20240403T101600Z"


def signed(body: bytes = b"{}", **options: object) -> list[tuple[str, str]]:
    h = {"X-Sdk-Date": DATE, "Content-Type": "application/json"}
    out = apig.Signer(KEY, SECRET).sign("POST", "https://api.example.com/v1/x", h, body, **options)  # type: ignore[arg-type]
    return list(h.items()) + list(out.headers.items())


@pytest.mark.parametrize("v", load("verify-public.json"), ids=lambda v: v["name"])
def test_verify_vectors(v: dict) -> None:  # type: ignore[type-arg]
    req = v["request"]
    verifier = apig.Verifier(v["key_store"])
    args = (req["method"], req["url"], [tuple(h) for h in req["headers"]], req.get("body", "").encode())
    if v["expected_verdict"] == "accept":
        assert verifier.verify(*args, now=v["now"]).access_key in v["key_store"]
    else:
        with pytest.raises(apig.ApigError) as e:
            verifier.verify(*args, now=v["now"])
        if "expected_error" in v:
            assert e.value.code == v["expected_error"]


def test_verified_fields() -> None:
    verified = apig.Verifier({KEY: SECRET}).verify("POST", "/v1/x", signed(), b"{}", now=NOW)
    assert verified.access_key == KEY
    assert verified.algorithm == "SDK-HMAC-SHA256"
    assert verified.signed_headers == ["content-type", "host", "x-sdk-date"]
    assert verified.date == DATE
    assert verified.timestamp == int(datetime.datetime(2024, 4, 3, 10, 15, tzinfo=datetime.timezone.utc).timestamp())
    assert verified.unsigned_payload is False
    assert KEY in repr(verified)


def test_key_stores_are_read_live() -> None:
    keys: dict[str, str] = {}
    verifier = apig.Verifier(keys)
    with pytest.raises(apig.UnknownAccessKeyError):
        verifier.verify("POST", "/v1/x", signed(), b"{}", now=NOW)
    keys[KEY] = SECRET
    assert verifier.verify("POST", "/v1/x", signed(), b"{}", now=NOW).access_key == KEY
    seen: list[str] = []

    def lookup(ak: str) -> bytes | None:
        seen.append(ak)
        return SECRET.encode() if ak == KEY else None

    assert apig.Verifier(lookup).verify("POST", "/v1/x", signed(), b"{}", now=NOW).access_key == KEY
    assert seen == [KEY]


def test_key_store_errors_propagate() -> None:
    def broken(ak: str) -> str:
        raise RuntimeError("key service down")

    with pytest.raises(RuntimeError, match="key service down"):
        apig.Verifier(broken).verify("POST", "/v1/x", signed(), b"{}", now=NOW)
    with pytest.raises(TypeError):
        apig.Verifier(lambda ak: 42).verify("POST", "/v1/x", signed(), b"{}", now=NOW)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError):
        apig.Verifier(42)  # type: ignore[arg-type]


def test_policy_options() -> None:
    v = apig.Verifier({KEY: SECRET})
    assert (v.max_skew, v.require_host, v.allow_unsigned_payload) == (900.0, False, True)
    assert v.algorithms == list(apig.ALGORITHMS)
    strict = apig.Verifier({KEY: SECRET}, max_skew=datetime.timedelta(seconds=30), algorithms=["SDK-HMAC-SHA256"])
    assert strict.max_skew == 30.0
    with pytest.raises(apig.ExpiredError):
        strict.verify("POST", "/v1/x", signed(), b"{}", now="20240403T101531Z")
    assert apig.Verifier({KEY: SECRET}, max_skew=61).verify("POST", "/v1/x", signed(), b"{}", now=NOW)
    with pytest.raises(ValueError):
        apig.Verifier({KEY: SECRET}, max_skew=-1)
    with pytest.raises(apig.UnsupportedAlgorithmError):
        apig.Verifier({KEY: SECRET}, algorithms=["MD5"])


def test_now_forms() -> None:
    verifier = apig.Verifier({KEY: SECRET})
    when = datetime.datetime(2024, 4, 3, 10, 16, tzinfo=datetime.timezone.utc)
    for now in (NOW, when, when.timestamp(), int(when.timestamp())):
        assert verifier.verify("POST", "/v1/x", signed(), b"{}", now=now).date == DATE
    with pytest.raises(apig.ExpiredError):
        verifier.verify("POST", "/v1/x", signed(), b"{}")  # the real clock: years later


def test_bodies() -> None:
    verifier = apig.Verifier({KEY: SECRET})
    big = b"y" * 300_000
    h = signed(big)
    for body in (big, bytearray(big), io.BytesIO(big), big.decode()):
        assert verifier.verify("POST", "/v1/x", h, body, now=NOW)
    with pytest.raises(apig.SignatureMismatchError):
        verifier.verify("POST", "/v1/x", h, big[:-1], now=NOW)
    # the body omitted means empty; None means not available
    with pytest.raises(apig.SignatureMismatchError):
        verifier.verify("POST", "/v1/x", h, now=NOW)
    with pytest.raises(apig.InvalidRequestError):
        verifier.verify("POST", "/v1/x", h, None, now=NOW)
    unsigned = signed(b"anything", unsigned_payload=True)
    verified = verifier.verify("POST", "/v1/x", unsigned, None, now=NOW)
    assert verified.unsigned_payload is True
    # file bodies are hashed with the algorithm the request claims
    sm3 = apig.Signer(KEY, SECRET, algorithm="SDK-HMAC-SM3").sign("PUT", "https://h/f", {"X-Sdk-Date": DATE}, big)
    sm3_headers = [("X-Sdk-Date", DATE), *sm3.headers.items()]
    assert verifier.verify("PUT", "/f", sm3_headers, io.BytesIO(big), now=NOW).algorithm == "SDK-HMAC-SM3"

"""apig.Signer: argument forms, bodies, dates and errors, checked against the conformance vectors."""

from __future__ import annotations

import datetime
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests.structures

import apig

from .conftest import KEY, SECRET
from .vectors import headers, load, sign_vector

POST = sign_vector("post_json")
GET = sign_vector("doc_example_vpcs")


def signer_for(v: dict[str, Any]) -> apig.Signer:
    return apig.Signer(
        v["key"], v["secret"], algorithm=v.get("algorithm", "SDK-HMAC-SHA256"), region=v.get("region_id"),
        service=v.get("service"),
    )


@pytest.mark.parametrize("v", load("sign-public.json") + load("sign-variants.json"), ids=lambda v: v["name"])
def test_every_sign_vector_with_dict_headers_where_names_are_unique(v: dict[str, Any]) -> None:
    pairs = headers(v)
    if len({n.lower() for n, _ in pairs}) != len(pairs) or "body_base64" in v["request"]:
        pytest.skip("repeated header names or binary body: covered by the conformance runner")
    out = signer_for(v).sign(v["request"]["method"], v["request"]["url"], dict(pairs), v["request"].get("body"))
    assert out.canonical_request == v["expected"]["canonical_request"]
    assert out.string_to_sign == v["expected"]["string_to_sign"]
    assert out.signature == v["expected"]["signature"]
    assert out.authorization == v["expected"]["authorization"]


class LinesAsPairs(list[str]):
    """A list subclass holding `name: value` lines whose own `__iter__` yields the pairs: a subclass is
    iterated, not read item by item as a plain list is."""

    def __iter__(self) -> Any:
        return (tuple(line.split(": ", 1)) for line in list.__iter__(self))


@pytest.mark.parametrize(
    "make_headers",
    [
        dict,
        list,
        lambda pairs: [list(p) for p in pairs],
        lambda pairs: [(n.encode(), v.encode()) for n, v in pairs],
        requests.structures.CaseInsensitiveDict,
        lambda pairs: iter(pairs),
        tuple,
        lambda pairs: LinesAsPairs(f"{n}: {v}" for n, v in pairs),
    ],
    ids=["dict", "pairs", "lists", "bytes", "CaseInsensitiveDict", "iterator", "tuple", "list subclass"],
)
def test_header_forms(make_headers: Any) -> None:
    out = signer_for(POST).sign("POST", POST["request"]["url"], make_headers(headers(POST)), POST["request"]["body"])
    assert out.authorization == POST["expected"]["authorization"]


@pytest.mark.parametrize(
    "make_body",
    [
        lambda text: text,
        lambda text: text.encode(),
        lambda text: bytearray(text.encode()),
        lambda text: memoryview(text.encode()),
        lambda text: io.BytesIO(text.encode()),
        lambda text: io.StringIO(text),
    ],
    ids=["str", "bytes", "bytearray", "memoryview", "BytesIO", "StringIO"],
)
def test_body_forms(make_body: Any) -> None:
    out = signer_for(POST).sign("POST", POST["request"]["url"], headers(POST), make_body(POST["request"]["body"]))
    assert out.signature == POST["expected"]["signature"]


def test_file_body_streams_to_the_same_signature_and_is_rewound(tmp_path: Any) -> None:
    data = bytes(range(256)) * 4099  # ~1 MiB, several read chunks, above the GIL-release threshold
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    signer = apig.Signer(KEY, SECRET)
    h = {"X-Sdk-Date": "20240403T101500Z", "Content-Type": "application/octet-stream"}
    from_bytes = signer.sign("PUT", "https://api.example.com/upload", h, data)
    with path.open("rb") as f:
        f.seek(10)
        from_offset = signer.sign("PUT", "https://api.example.com/upload", h, f)
        assert f.tell() == 10
        f.seek(0)
        from_file = signer.sign("PUT", "https://api.example.com/upload", h, f)
        assert f.tell() == 0
    assert from_file.signature == from_bytes.signature
    assert from_offset.signature == signer.sign("PUT", "https://api.example.com/upload", h, data[10:]).signature
    # the body hash line is the SHA-256 of the data, computed independently here
    import hashlib

    assert from_file.canonical_request.endswith(hashlib.sha256(data).hexdigest())


def test_large_bodies_sign_from_several_threads() -> None:
    signer = apig.Signer(KEY, SECRET)
    body = b"z" * (1 << 20)
    h = {"X-Sdk-Date": "20240403T101500Z"}
    expected = signer.sign("POST", "https://api.example.com/x", h, body).signature
    results: list[str] = []

    def work() -> None:
        for _ in range(5):
            results.append(signer.sign("POST", "https://api.example.com/x", h, body).signature)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [expected] * 20


def test_non_seekable_stream_is_read_once() -> None:
    class Pipe:
        def __init__(self, data: bytes) -> None:
            self.stream = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self.stream.read(n)

    out = signer_for(POST).sign("POST", POST["request"]["url"], headers(POST), Pipe(POST["request"]["body"].encode()))
    assert out.signature == POST["expected"]["signature"]


def test_date_forms_agree() -> None:
    signer = apig.Signer(KEY, SECRET)
    when = datetime.datetime(2024, 4, 3, 10, 15, 0, tzinfo=datetime.timezone.utc)
    in_header = signer.sign("GET", "https://api.example.com/v1", {"X-Sdk-Date": "20240403T101500Z"})
    for date in ("20240403T101500Z", when, when.astimezone(datetime.timezone(datetime.timedelta(hours=8))),
                 int(when.timestamp()), when.timestamp() + 0.9):
        out = signer.sign("GET", "https://api.example.com/v1", date=date)
        assert out.date == "20240403T101500Z"
        assert out.headers["X-Sdk-Date"] == "20240403T101500Z"
        assert out.signature == in_header.signature
    with pytest.raises(ValueError, match="naive"):
        signer.sign("GET", "https://api.example.com/v1", date=datetime.datetime(2024, 4, 3))
    with pytest.raises(apig.MalformedDateError):
        signer.sign("GET", "https://api.example.com/v1", date="2024-04-03T10:15:00Z")


def test_times_outside_the_x_sdk_date_range_raise_malformed_date() -> None:
    # once: 10**15 signed as 00000000T000000Z, 10**400 raised TypeError
    signer = apig.Signer(KEY, SECRET)
    verifier = apig.Verifier({KEY: SECRET})
    for date in (10**15, -(10**15), 1e20, 10**400, -(10**400), 253402300800, float("inf"), float("nan")):
        with pytest.raises(apig.MalformedDateError, match="00010101T000000Z to 99991231T235959Z"):
            signer.sign("GET", "https://api.example.com/v1", date=date)
        signed = signer.sign("GET", "https://api.example.com/v1")
        with pytest.raises(apig.MalformedDateError):
            verifier.verify("GET", "https://api.example.com/v1", signed.headers, now=date)
    assert signer.sign("GET", "https://h/", date=253402300799).date == "99991231T235959Z"
    assert signer.sign("GET", "https://h/", date=-62135596800).date == "00010101T000000Z"


def test_added_headers_and_unsigned_payload() -> None:
    v = sign_vector("unsigned_payload")
    out = signer_for(v).sign(v["request"]["method"], v["request"]["url"], headers(v), v["request"]["body"])
    assert out.authorization == v["expected"]["authorization"]
    # the same request asked to be unsigned by the caller: the core adds and signs the header
    without = [(n, val) for n, val in headers(v) if n.lower() != "x-sdk-content-sha256"]
    out2 = signer_for(v).sign(v["request"]["method"], v["request"]["url"], without, b"ignored", unsigned_payload=True)
    assert out2.headers["X-Sdk-Content-Sha256"] == apig.UNSIGNED_PAYLOAD
    assert out2.authorization == v["expected"]["authorization"]
    fresh = apig.Signer(KEY, SECRET).sign("GET", "https://api.example.com:8443/x")
    assert list(fresh.headers) == ["Host", "X-Sdk-Date", "Authorization"]
    assert fresh.headers["Host"] == "api.example.com:8443"


def test_temporary_credentials_and_service_ids() -> None:
    """The v3 options: the token and the ids are added before signing and signed; a verifier
    reports the signed token (the v3 vectors themselves run in conformance.py)."""
    token = "gQpj+token/=="
    signer = apig.Signer(KEY, SECRET, security_token=token, project_id="p1", profile="v3")
    assert (signer.profile, signer.project_id, signer.domain_id) == ("huaweicloud-v3", "p1", None)
    assert token not in repr(signer)
    out = signer.sign("PUT", "https://h/o", {"Content-Type": "text/plain"}, b"data", date="20240403T101500Z")
    assert list(out.headers) == [
        "X-Project-Id", "X-Security-Token", "Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"
    ]
    assert out.headers["X-Security-Token"] == token
    assert out.signed_headers == "content-type;host;x-project-id;x-sdk-content-sha256;x-sdk-date;x-security-token"
    received = {"Content-Type": "text/plain", "X-Sdk-Date": "20240403T101500Z", **out.headers}
    verified = apig.Verifier({KEY: SECRET}).verify("PUT", "/o", received, b"data", now="20240403T101500Z")
    assert verified.security_token == token and verified.unsigned_payload
    assert token not in repr(verified)
    plain = apig.Verifier({KEY: SECRET}).verify(
        "GET", "/", apig.Signer(KEY, SECRET).sign("GET", "https://h/", date="20240403T101500Z").headers,
        now="20240403T101500Z",
    )
    assert plain.security_token is None
    with pytest.raises(apig.InvalidConfigError, match="security token"):
        apig.Signer(KEY, SECRET, security_token="")
    with pytest.raises(apig.InvalidConfigError, match="profile"):
        apig.Signer(KEY, SECRET, profile="v2")
    with pytest.raises(apig.DuplicateHeaderError):
        signer.sign("GET", "https://h/", {"X-Security-Token": "another"})


def test_v11_and_sm3_options() -> None:
    for v in load("sign-variants.json"):
        out = signer_for(v).sign(v["request"]["method"], v["request"]["url"], headers(v), v["request"].get("body"))
        assert out.authorization == v["expected"]["authorization"]
        assert (out.credential_scope is not None) == v["algorithm"].startswith("V11")
    assert apig.Signer(KEY, SECRET, algorithm="SDK-HMAC-SM3").algorithm == "SDK-HMAC-SM3"


def test_secret_as_bytes_and_no_leak() -> None:
    a = apig.Signer(KEY, SECRET).sign("GET", "https://h/x", date="20240403T101500Z")
    b = apig.Signer(KEY, SECRET.encode()).sign("GET", "https://h/x", date="20240403T101500Z")
    assert a.signature == b.signature
    assert SECRET not in repr(apig.Signer(KEY, SECRET))
    assert apig.Signer(KEY, SECRET).key == KEY


def test_bad_inputs_raise_typed_errors() -> None:
    signer = apig.Signer(KEY, SECRET)
    with pytest.raises(apig.InvalidRequestError) as e:
        signer.sign("GET", "api.example.com/no-scheme")
    assert e.value.code == "invalid_request"
    with pytest.raises(apig.InvalidRequestError):
        signer.sign("GET", "https://h/x", {"X-Bad": "a\r\nInjected: 1"})
    with pytest.raises(apig.InvalidRequestError):
        signer.sign("G T", "https://h/x")
    with pytest.raises(apig.DuplicateHeaderError):
        signer.sign("GET", "https://h/x", [("X-A", "1"), ("x-a", "2")])
    with pytest.raises(apig.UnsupportedAlgorithmError):
        apig.Signer(KEY, SECRET, algorithm="HMAC-SHA1")
    with pytest.raises(apig.InvalidConfigError):
        apig.Signer(KEY, SECRET, algorithm="V11-HMAC-SHA256")
    with pytest.raises(apig.InvalidConfigError):
        apig.Signer("", SECRET)
    with pytest.raises(TypeError):
        signer.sign("GET", "https://h/x", body=12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        signer.sign("GET", "https://h/x", "X-A: 1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        signer.sign("GET", "https://h/x", [("only-name",)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        apig.Signer(KEY, 42)  # type: ignore[arg-type]

    def gen() -> Iterator[bytes]:
        yield b"chunk"

    with pytest.raises(TypeError, match="unsigned_payload=True"):
        signer.sign("POST", "https://h/x", body=gen())  # type: ignore[arg-type]


def test_defaults_are_the_cores() -> None:
    """Options left out keep the core's defaults (apig::SigningSettings::default)."""
    signer = apig.Signer(KEY, SECRET)
    assert (signer.algorithm, signer.excluded_headers) == ("SDK-HMAC-SHA256", "hop-by-hop")
    v11 = apig.Signer(KEY, SECRET, algorithm="V11-HMAC-SM3", region="cn-north-4")
    signed = v11.sign("GET", "https://h/x", date="20240403T101500Z")
    assert signed.credential_scope == "20240403/cn-north-4/apic"
    with pytest.raises(apig.UnsupportedAlgorithmError) as e:
        apig.Signer(KEY, SECRET, algorithm="sdk-hmac-sha256")
    assert all(name in e.value.message for name in apig.ALGORITHMS), e.value.message
    with pytest.raises(apig.InvalidConfigError) as e:
        apig.Signer(KEY, SECRET, excluded_headers="all")
    assert '"all"' in e.value.message and "hop-by-hop, none" in e.value.message


def test_the_signer_leaves_hop_by_hop_headers_out() -> None:
    """The core's rule, not the integrations': a plain Signer does not sign the hop-by-hop headers
    (any case), unless excluded_headers="none"."""
    plain = {"Host": "h", "X-Sdk-Date": "20240403T101500Z", "X-Project-Id": "p"}
    hop = {name.upper(): "x" for name in apig.HOP_BY_HOP_HEADERS}
    signer = apig.Signer(KEY, SECRET)
    expected = signer.sign("GET", "https://h/x", plain)
    signed = signer.sign("GET", "https://h/x", {**hop, **plain})
    assert (signed.signed_headers, signed.signature) == (expected.signed_headers, expected.signature)
    assert signed.signed_headers == "host;x-project-id;x-sdk-date"
    every = apig.Signer(KEY, SECRET, excluded_headers="none")
    assert every.excluded_headers == "none"
    assert every.sign("GET", "https://h/x", {"Connection": "close", **plain}).signed_headers.startswith("connection;")

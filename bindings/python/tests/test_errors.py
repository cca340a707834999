"""The error mapping: every core error kind has its exception class with the core's code, and each
one is raised by a real call."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path
from typing import Callable

import pytest

import apig

from .conftest import KEY, SECRET

NOW = "20240403T101600Z"
DATE = "20240403T101500Z"


def documented_answers() -> dict[str, tuple[int, str, str]]:
    """docs/error-codes.md's table: core code -> (HTTP status, APIG code, ``error_msg``)."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "error-codes.md").read_text(encoding="utf-8")
    rows = re.finditer(r"^\| `([a-z_]+)` \| (APIG\.\d{4}) \| (\d{3}) \| `([^`]*)`", doc, re.M)
    return {m[1]: (int(m[3]), m[2], m[4].replace("\\|", "|")) for m in rows}


def matches(documented: str, text: str) -> bool:
    """Whether ``text`` is the documented ``error_msg`` with its ``…`` / ``<placeholder>`` filled."""
    parts = re.split(r"…|<[^>]*>", documented)
    return re.fullmatch(".*".join(map(re.escape, parts)), text, re.S) is not None


def signed(headers: dict[str, str] | None = None, url: str = "https://api.example.com/v1/x?a=1",
           body: bytes = b"", unsigned: bool = False, **signer_options: str) -> list[tuple[str, str]]:
    h = {"X-Sdk-Date": DATE, **(headers or {})}
    out = apig.Signer(KEY, SECRET, **signer_options).sign("POST", url, h, body, unsigned_payload=unsigned)
    return list(h.items()) + list(out.headers.items())


def verify(headers: list[tuple[str, str]], body: object = b"", **policy: object) -> apig.Verified:
    return apig.Verifier({KEY: SECRET}, **policy).verify(  # type: ignore[arg-type]
        "POST", "/v1/x?a=1", headers, body, now=NOW  # type: ignore[arg-type]
    )


def replace(headers: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    out = [(n, v) for n, v in headers if n.lower() != name.lower()]
    return out if value is None else out + [(name, value)]


def auth_of(headers: list[tuple[str, str]]) -> str:
    return next(v for n, v in headers if n == "Authorization")


class Broken(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise OSError("disk on fire")


TRIGGERS: dict[str, Callable[[], object]] = {
    "missing_authorization": lambda: verify(replace(signed(), "Authorization", None)),
    "malformed_authorization": lambda: verify(replace(signed(), "Authorization", "SDK-HMAC-SHA256 Access=AK")),
    "unsupported_algorithm": lambda: verify(signed(), algorithms=["SDK-HMAC-SM3"]),
    "unknown_access_key": lambda: apig.Verifier({}).verify("POST", "/v1/x?a=1", signed(), b"", now=NOW),
    "missing_date": lambda: verify(replace(signed(), "X-Sdk-Date", None)),
    "malformed_date": lambda: verify(replace(signed(), "X-Sdk-Date", "2024-04-03")),
    "date_not_signed": lambda: verify(replace(signed(), "Authorization", auth_of(signed()).replace(";x-sdk-date", ""))),
    "expired": lambda: apig.Verifier({KEY: SECRET}).verify("POST", "/v1/x?a=1", signed(), b"", now="20240403T110000Z"),
    "signed_header_missing": lambda: verify(replace(signed({"X-Project": "p"}), "X-Project", None)),
    "host_not_signed": lambda: verify(signed(url="/v1/x?a=1"), require_host=True),
    "duplicate_header": lambda: apig.Signer(KEY, SECRET).sign("GET", "https://h/", [("X-A", "1"), ("X-A", "2")]),
    "credential_scope_mismatch": lambda: verify(signed(algorithm="V11-HMAC-SHA256", region="cn-north-4"),
                                                region="cn-south-1"),
    "unsigned_payload_not_allowed": lambda: verify(signed(unsigned=True), allow_unsigned_payload=False),
    "payload_hash_mismatch": lambda: verify(signed({"X-Sdk-Content-Sha256": "0" * 64}), body=b"other"),
    "signature_mismatch": lambda: verify(signed(), body=b"tampered"),
    "invalid_request": lambda: apig.Signer(KEY, SECRET).sign("GET", "no-scheme/x"),
    "invalid_config": lambda: apig.Signer(KEY, ""),
    "body_read": lambda: apig.Signer(KEY, SECRET).sign("PUT", "https://h/", body=Broken()),
}


def test_triggers_cover_every_code() -> None:
    assert sorted(TRIGGERS) == sorted(apig.ERROR_CODES)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_kind_is_raised_with_its_class(code: str) -> None:
    with pytest.raises(apig.ApigError) as caught:
        TRIGGERS[code]()
    err = caught.value
    assert err.code == code, str(err)
    assert type(err) is apig.error_class(code)
    assert str(err).startswith(f"{code}: ")
    assert err.message and err.message in str(err)
    if code == "signature_mismatch":
        assert err.canonical_request is not None and err.canonical_request.startswith("POST\n/v1/x/\na=1\n")
        assert err.string_to_sign is not None and err.string_to_sign.startswith("SDK-HMAC-SHA256\n" + DATE + "\n")
        assert err.apig_message.endswith("canonicalRequest:" + err.canonical_request.replace("\n", "|"))
    else:
        assert err.canonical_request is None and err.string_to_sign is None
    assert err.authentication_failure == (code not in {"invalid_request", "invalid_config", "body_read"})


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_kind_answers_as_docs_error_codes_lists(code: str) -> None:
    """status, apig_code and apig_message (the full error_msg) and the JSON body come from the core
    and say what docs/error-codes.md lists (the table the reference gateway is checked against)."""
    table = documented_answers()
    assert sorted(table) == sorted(apig.ERROR_CODES)
    status, apig_code, error_msg = table[code]
    with pytest.raises(apig.ApigError) as caught:
        TRIGGERS[code]()
    err = caught.value
    assert (err.status, err.apig_code) == (status, apig_code) == (type(err).status, type(err).apig_code)
    # the documented text, or (where the table shows one example) the core's message after its lead
    lead = error_msg.split(": ", 1)[0] + ": "
    assert matches(error_msg, err.apig_message) or err.apig_message == lead + err.message, err.apig_message
    # plain values: the error survives pickling (multiprocessing, concurrent.futures) intact
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err) and copy.__dict__ == err.__dict__ and str(copy) == str(err)


def test_errors_made_in_python_get_the_core_answer() -> None:
    """An ApigError created in Python (e.g. by a middleware) gets the core's answer for its class,
    with ``str(error)`` as the message."""
    table = documented_answers()
    for code in apig.ERROR_CODES:
        error = apig.error_class(code)("example")
        assert (error.status, error.apig_code) == table[code][:2]
        assert matches(table[code][2].split(": ")[0] + ": …", error.apig_message), error.apig_message
        assert error.apig_message.endswith(": example")
    assert apig.ApigError("no kind").apig_message == ""


def test_body_read_keeps_the_cause() -> None:
    with pytest.raises(apig.BodyReadError) as caught:
        apig.Signer(KEY, SECRET).sign("PUT", "https://h/", body=Broken())
    assert isinstance(caught.value.__cause__, OSError)

"""The Python conformance runner: ``cargo xtask conformance python [FILE...]``.

Walks every vector of the given files (default: every ``*.json`` in the repository's
``conformance/`` folder) through the installed ``apig`` package's public API, prints each failing
case with a diff, and ends with ``N passed, M failed``. Exit status: 0 when all pass, 1 on any
failure, 2 when a file cannot be read.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import apig

ROOT = Path(__file__).resolve().parents[2]


def body_of(request: dict[str, Any]) -> bytes:
    if "body_base64" in request:
        return base64.b64decode(request["body_base64"])
    return str(request.get("body", "")).encode("utf-8")


def compare(what: str, expected: str, actual: str) -> list[str]:
    if expected == actual:
        return []
    out = [f"  {what} differs:"]
    e, a = expected.split("\n"), actual.split("\n")
    for i in range(max(len(e), len(a))):
        x = e[i] if i < len(e) else None
        y = a[i] if i < len(a) else None
        if x == y:
            out.append(f"      {x!r}")
        else:
            if x is not None:
                out.append(f"    - {x!r}")
            if y is not None:
                out.append(f"    + {y!r}")
    return out


def credential_options(v: dict[str, Any]) -> dict[str, Any]:
    """The v3 fields (conformance/README.md) as Signer options; a v3 vector (one with a
    ``credential_type``) is signed with the ``huaweicloud-v3`` profile."""
    kind = v.get("credential_type")
    if kind is None:
        if any(k in v for k in ("security_token", "project_id", "domain_id")):
            raise ValueError("credential fields without a credential_type")
        return {}
    if kind not in ("basic", "global"):
        raise ValueError(f"unknown credential_type {kind!r}")
    return {
        "profile": "huaweicloud-v3",
        "security_token": v.get("security_token"),
        "project_id": v.get("project_id") if kind == "basic" else None,
        "domain_id": v.get("domain_id") if kind == "global" else None,
    }


def run_sign(v: dict[str, Any]) -> list[str]:
    req = v["request"]
    try:
        signer = apig.Signer(
            v["key"],
            v["secret"],
            algorithm=v.get("algorithm", "SDK-HMAC-SHA256"),
            region=v.get("region_id"),
            service=v.get("service"),
            **credential_options(v),
        )
        out = signer.sign(req["method"], req["url"], [tuple(h) for h in req.get("headers", [])], body_of(req))
    except (apig.ApigError, ValueError) as e:
        return [f"  signing failed: {e}"]
    exp = v["expected"]
    diff: list[str] = []
    diff += compare("canonical_request", exp["canonical_request"], out.canonical_request)
    diff += compare("string_to_sign", exp["string_to_sign"], out.string_to_sign)
    diff += compare("signature", exp["signature"], out.signature)
    diff += compare("authorization", exp["authorization"], out.authorization)
    if "signed_headers" in exp:
        diff += compare("signed_headers", exp["signed_headers"], out.signed_headers)
    if "headers_added" in exp:
        at_signing = dict((n, val) for n, val in exp.get("headers_at_signing", []))
        expected = "".join(f"{n}: {at_signing.get(n)}\n" for n in exp["headers_added"])
        added = "".join(f"{n}: {val}\n" for n, val in out.headers.items() if n != "Authorization")
        diff += compare("headers_added", expected, added)
    return diff


def run_verify(v: dict[str, Any]) -> list[str]:
    req = v["request"]
    verifier = apig.Verifier(v["key_store"])
    try:
        verifier.verify(
            req["method"], req["url"], [tuple(h) for h in req.get("headers", [])], body_of(req), now=v["now"]
        )
        verdict, error = "accept", None
    except apig.ApigError as e:
        verdict, error = "reject", e
    if verdict != v["expected_verdict"]:
        return [f"  verdict: expected {v['expected_verdict']}, got {verdict}" + (f" ({error})" if error else "")]
    expected_error = v.get("expected_error")
    if expected_error and error is not None and error.code != expected_error:
        return [f"  error code: expected {expected_error}, got {error.code}"]
    return []


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or sorted((ROOT / "conformance").glob("*.json"))
    passed = failed = 0
    for file in files:
        try:
            vectors = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            print(f"cannot read {file}: {e}", file=sys.stderr)
            return 2
        for v in vectors:
            diff = run_verify(v) if "expected_verdict" in v else run_sign(v)
            if diff:
                failed += 1
                print(f"FAIL {file.name} :: {v['name']}")
                print("\n".join(diff))
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The repository's conformance vectors, the independent source of expected values in the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONFORMANCE = Path(__file__).resolve().parents[3] / "conformance"


def load(file: str) -> list[dict[str, Any]]:
    return list(json.loads((CONFORMANCE / file).read_text(encoding="utf-8")))


def sign_vector(name: str, file: str = "sign-public.json") -> dict[str, Any]:
    return next(v for v in load(file) if v["name"] == name)


def headers(vector: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in vector["request"].get("headers", [])]

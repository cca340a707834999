"""The vector runner (bindings/python/conformance.py) reports failures with a diff and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .vectors import CONFORMANCE

RUNNER = Path(__file__).resolve().parents[1] / "conformance.py"


def run(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUNNER), *map(str, files)], capture_output=True, text=True, timeout=60)


def test_all_vectors_pass() -> None:
    result = run()
    assert result.returncode == 0, result.stdout
    last = result.stdout.strip().splitlines()[-1]
    passed, failed = (int(w) for w in last.replace(",", "").split()[::2])
    assert failed == 0 and passed == sum(len(json.loads(f.read_text())) for f in CONFORMANCE.glob("*.json"))


def test_a_broken_vector_fails_with_a_diff(tmp_path: Any) -> None:
    vectors = json.loads((CONFORMANCE / "sign-public.json").read_text())
    vectors[1]["expected"]["canonical_request"] = vectors[1]["expected"]["canonical_request"].replace("GET", "PUT", 1)
    verify = json.loads((CONFORMANCE / "verify-public.json").read_text())
    verify[0]["expected_verdict"] = "reject" if verify[0]["expected_verdict"] == "accept" else "accept"
    (tmp_path / "sign.json").write_text(json.dumps(vectors))
    (tmp_path / "verify.json").write_text(json.dumps(verify))
    result = run(tmp_path / "sign.json", tmp_path / "verify.json")
    assert result.returncode == 1
    assert f"FAIL sign.json :: {vectors[1]['name']}" in result.stdout
    assert "canonical_request differs" in result.stdout and "- 'PUT'" in result.stdout and "+ 'GET'" in result.stdout
    assert f"FAIL verify.json :: {verify[0]['name']}" in result.stdout
    assert result.stdout.strip().endswith(f"{len(vectors) + len(verify) - 2} passed, 2 failed")


def test_an_unreadable_file_exits_2(tmp_path: Any) -> None:
    assert run(tmp_path / "missing.json").returncode == 2

"""Garbage in, typed errors out: no panic (pyo3's PanicException) and no other exception types."""

from __future__ import annotations

import random

import apig

from .conftest import KEY, SECRET

ALPHABET = "aZ09 -_./?&=%+~:;,\"'\t\r\n\x00\x7fé中\U0001f600"
EXPECTED = (apig.ApigError, TypeError, ValueError, OverflowError)


def junk(rng: random.Random, n: int = 12) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(n)))


def test_random_inputs_give_typed_errors_only() -> None:
    rng = random.Random(20240403)
    signer = apig.Signer(KEY, SECRET)
    verifier = apig.Verifier({KEY: SECRET})
    real = signer.sign("GET", "https://api.example.com/v1?x=1", date="20240403T101500Z")
    for _ in range(3000):
        method = rng.choice(["GET", "post", junk(rng, 6)])
        url = rng.choice(["https://api.example.com/", "/", ""]) + junk(rng)
        names = ["X-A", "Host", "X-Sdk-Date", "Authorization", junk(rng, 5)]
        headers = [(rng.choice(names), junk(rng)) for _ in range(rng.randrange(4))]
        if rng.random() < 0.3:
            auth = real.authorization
            cut = rng.randrange(len(auth) + 1)
            headers.append(("Authorization", auth[:cut] + junk(rng, 4) + auth[cut:]))
        body = rng.choice([None, b"", junk(rng).encode(), junk(rng)])
        date = rng.choice([None, "20240403T101500Z", junk(rng, 17), 1.5e300, -1e20, float("nan")])
        try:
            signer.sign(method, url, headers, body, date=date)  # type: ignore[arg-type]
        except EXPECTED:
            pass
        try:
            verifier.verify(method, url, headers, body, now=date)  # type: ignore[arg-type]
        except EXPECTED:
            pass

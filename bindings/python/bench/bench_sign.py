"""Per-call time of apig from Python: `python bindings/python/bench/bench_sign.py [--quick]`.

The requests are those of the core's criterion bench (core/benches/sign.rs), so the two can be
compared: a typical GET (3 headers, a query) and a 1 KiB POST. Each figure is the best of 7
repeats of timeit, in microseconds per call, timed with the process's CPU clock
(`time.process_time`) so that other work on a shared machine does not inflate it; `--wall` uses
the wall clock instead.

With `apigateway-sdk-python==1.0.0` installed in the same venv (a PyPI copy of Huawei's
pure-Python `apig_sdk.signer`, same API; a bench-only install, not a dependency of the package),
the official signer is timed on the same GET and POST in the same process, and the last lines
give how many times faster apig signs each request.

`--core BINARY` also times the core alone on the same two requests, in the same conditions: the
core's bench binary (`cargo bench -p apig --bench sign --no-run` prints its path) in its
fixed-count mode (`APIG_BENCH_COUNT`), by the CPU time of the child process (best of 7 runs), and
prints what the binding adds per call.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
import timeit
from typing import Callable

import apig
from apig.compat import signer as compat

AK = "AKTESTEXAMPLE0000001"
SK = "sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv"
GET_URL = "https://api.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b"
HEADERS = [("Host", "api.example.com"), ("Content-Type", "application/json"), ("X-Sdk-Date", "20240403T101500Z")]
BODY = b"x" * 1024
POST_URL = "https://api.example.com/v1/items"


def measure(f: Callable[[], object], number: int) -> float:
    timer = time.perf_counter if "--wall" in sys.argv else time.process_time
    return min(timeit.repeat(f, number=number, repeat=7, timer=timer)) / number * 1e6


def core_time(binary: str, case: str, number: int) -> float:
    """CPU µs per call of the core's fixed-count bench `case` (process start-up subtracted)."""

    def child_cpu(count: int) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        env = {**os.environ, "APIG_BENCH_COUNT": str(count), "APIG_BENCH_CASE": case}
        subprocess.run([binary], env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    startup = min(child_cpu(1) for _ in range(3))
    return min(child_cpu(number) - startup for _ in range(7)) / number * 1e6


def main() -> None:
    binary = None
    if "--core" in sys.argv:
        at = sys.argv.index("--core") + 1
        if at >= len(sys.argv) or not os.path.isfile(sys.argv[at]):
            sys.exit("--core needs the core's bench binary (the path `cargo bench -p apig --bench sign --no-run` prints)")
        binary = sys.argv[at]
    quick = "--quick" in sys.argv
    n = 2_000 if quick else 50_000
    signer = apig.Signer(AK, SK)
    sm3 = apig.Signer(AK, SK, algorithm="SDK-HMAC-SM3")
    signed = signer.sign("GET", GET_URL, HEADERS)
    received = [*HEADERS, ("Authorization", signed.authorization)]
    verifier = apig.Verifier({AK: SK}, max_skew=10**9)
    dict_headers = dict(HEADERS)
    legacy = compat.Signer()
    legacy.Key, legacy.Secret = AK, SK

    def compat_sign() -> None:
        r = compat.HttpRequest("GET", GET_URL, dict_headers)
        legacy.Sign(r)

    cases: list[tuple[str, Callable[[], object]]] = [
        ("sign typical GET (3 headers + query)", lambda: signer.sign("GET", GET_URL, HEADERS)),
        ("sign typical GET, headers as a dict", lambda: signer.sign("GET", GET_URL, dict_headers)),
        ("sign typical GET + .headers dict", lambda: signer.sign("GET", GET_URL, HEADERS).headers),
        ("sign 1 KiB POST", lambda: signer.sign("POST", POST_URL, HEADERS, BODY)),
        ("sign typical GET, SDK-HMAC-SM3", lambda: sm3.sign("GET", GET_URL, HEADERS)),
        ("verify typical GET", lambda: verifier.verify("GET", GET_URL, received)),
        ("compat.signer Sign typical GET", compat_sign),
    ]
    clock = "wall" if "--wall" in sys.argv else "CPU"
    try:
        from apigateway_sdk_python import signer as reference  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        reference = None
    if reference is not None:
        official = reference.Signer()
        official.Key, official.Secret = AK, SK

        text_body = BODY.decode()  # the official signer takes the body as str and encodes it

        def official_get() -> None:
            official.Sign(reference.HttpRequest("GET", GET_URL, dict_headers))

        def official_post() -> None:
            official.Sign(reference.HttpRequest("POST", POST_URL, dict_headers, text_body))

        cases.append(("official signer: typical GET", official_get))
        cases.append(("official signer: 1 KiB POST", official_post))
    print(f"apig {apig.__version__} on Python {platform.python_version()} ({platform.machine()}), n={n}, {clock} time")
    results: dict[str, float] = {}
    for label, f in cases:
        results[label] = measure(f, n)
        print(f"{label:40s} {results[label]:7.2f} µs")
    if binary is not None:
        for what, ours, case in [
            ("typical GET", "sign typical GET (3 headers + query)", "sign_get"),
            ("1 KiB POST", "sign 1 KiB POST", "sign_post_1kib"),
        ]:
            alone = core_time(binary, case, 8 * n)
            print(f"the core alone, {what}: {alone:5.2f} µs; the binding adds {results[ours] - alone:5.2f} µs")
    if reference is not None:
        for what, ours, theirs in [
            ("typical GET", "sign typical GET (3 headers + query)", "official signer: typical GET"),
            ("1 KiB POST", "sign 1 KiB POST", "official signer: 1 KiB POST"),
        ]:
            print(f"apig vs the official signer, {what}: {results[theirs] / results[ours]:5.1f}x faster")


if __name__ == "__main__":
    main()

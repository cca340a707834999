"""The Python client of the credential rotation proof (examples/rotation, `cargo xtask rotation`).

    python python_client.py GATEWAY_URL METADATA_URL SECONDS CONCURRENCY REFRESH_MARGIN MIN_REFRESH_INTERVAL PAUSE_MS

Signs with `apig.MetadataProvider` (the ECS metadata service's temporary credentials, refreshed in
the background before they expire) through `apig.requests.AppAuth`, from CONCURRENCY threads at
once, and prints its report as one JSON line (the format of examples/rotation/src/report.rs).
"""

from __future__ import annotations

import json
import sys
import threading
import time

import requests

import apig
from apig.requests import AppAuth


class Report:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data = {"client": "python", "requests": 0, "failures": 0, "errors": [], "first_ms": 0.0, "latencies_ms": [], "keys": {}, "slow": []}

    def fail(self, what: str) -> None:
        self.data["failures"] += 1
        if len(self.data["errors"]) < 5:
            self.data["errors"].append(what)

    def count(self, response: requests.Response | None, error: str | None) -> None:
        """Counts one answer: the access key the gateway accepted, and its security token's pair."""
        if error is not None:
            return self.fail(error)
        if response.status_code != 200:
            return self.fail(f"HTTP {response.status_code}: {response.text}")
        headers = {name: value for name, value in response.json()["headers"]}
        access = headers.get("authorization", "").split("Access=")[-1].split(",")[0]
        if not headers.get("x-security-token", "").startswith(f"rotation-token.{access}."):
            return self.fail(f"the security token of another key pair was sent with {access}")
        self.data["keys"][access] = self.data["keys"].get(access, 0) + 1
        return None


def main(gateway: str, metadata: str, seconds: float, concurrency: int, margin: float, interval: float, pause_ms: int) -> None:
    provider = apig.MetadataProvider(endpoint=metadata, refresh_margin=margin, min_refresh_interval=interval)
    auth = AppAuth(credentials=provider)
    url = f"{gateway.rstrip('/')}/rotation/echo"
    report = Report()

    def send(session: requests.Session, params: dict) -> tuple[requests.Response | None, str | None]:
        try:
            return session.get(url, params=params, auth=auth, timeout=10), None
        except Exception as e:  # noqa: BLE001 - every failure is counted and described
            return None, f"{type(e).__name__}: {e}"

    started = time.perf_counter()
    with requests.Session() as session:
        response, error = send(session, {"client": "python"})
    report.data["first_ms"] = (time.perf_counter() - started) * 1000
    with report.lock:
        report.count(response, error)
    deadline = started + seconds

    def worker(number: int) -> None:
        with requests.Session() as session:
            n = 0
            while time.perf_counter() < deadline:
                start, epoch = time.perf_counter(), time.time() * 1000
                response, error = send(session, {"client": "python", "worker": number, "n": n})
                ms = (time.perf_counter() - start) * 1000
                with report.lock:
                    report.data["requests"] += 1
                    report.data["latencies_ms"].append(ms)
                    if ms > 100:  # slow: its start, to set beside the metadata service's fetches
                        report.data["slow"].append([epoch, ms])
                    report.count(response, error)
                n += 1
                time.sleep(pause_ms / 1000)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(report.data))


if __name__ == "__main__":
    gateway, metadata, seconds, concurrency, margin, interval, pause_ms = sys.argv[1:8]
    main(gateway, metadata, float(seconds), int(concurrency), float(margin), float(interval), int(pause_ms))

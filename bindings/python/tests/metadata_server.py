"""A local ECS metadata service for the tests: a threaded HTTP server on 127.0.0.1 speaking the
documented protocol (``PUT /meta-data/latest/api/token``, ``GET /openstack/latest/securitykey``
answering ``{"credential": {"access", "secret", "securitytoken", "expires_at"}}``), whose answers the
test sets: the key pairs it issues and how long they live, a delay, a status, a raw body."""

from __future__ import annotations

import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union


class MetadataService:
    """Issues ``TMPAK<n>`` / ``TMPSK<n>`` / ``token-<n>``: a new pair each time ``rotate()`` is called."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.generation = 1
        self.lifetime = lifetime
        self.expires_at = time.time() + lifetime
        self.delay = 0.0
        self.status = 200
        self.body: Union[str, None] = None  # a raw body instead of the credentials
        self.gets = 0
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:
                self._reply(200, b"session-token", "text/plain")

            def do_GET(self) -> None:
                with service.lock:
                    service.gets += 1
                    delay, status, body = service.delay, service.status, service.body
                    answer = body if body is not None else json.dumps({"credential": service.credential()})
                if delay:
                    time.sleep(delay)
                self._reply(status, answer.encode(), "application/json")

            def _reply(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def credential(self) -> dict[str, str]:
        n = self.generation
        at = datetime.datetime.fromtimestamp(self.expires_at, datetime.timezone.utc)
        return {
            "access": f"TMPAK{n}",
            "secret": f"TMPSK{n}",
            "securitytoken": f"token-{n}+/=",
            "expires_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def rotate(self) -> None:
        """The next key pair, living ``lifetime`` seconds from now."""
        with self.lock:
            self.generation += 1
            self.expires_at = time.time() + self.lifetime

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

"""Temporary credentials from an ECS-style metadata service, signed by aiohttp's client middleware
(apig.aiohttp.AppAuthMiddleware) and verified by an aiohttp server that looks the temporary key up.

Everything runs on 127.0.0.1: a tiny metadata service speaking the documented JSON, an aiohttp
API that verifies with apig.Verifier, and a client whose clock is an hour off (the middleware learns
the offset from the "signature expired" answer and retries once).

Run: python examples/python/aiohttp_temporary_credentials.py  (makes its calls and exits)
"""

import asyncio
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
from aiohttp import web

import apig
from apig.aiohttp import AppAuthMiddleware

# what the metadata service hands out (on an ECS: the agency's temporary credentials)
TEMPORARY = {"TMPAKEXAMPLE7QXZ2K9W": "TmpSkExample0a1B2c3D4e5F6g7H8i9J0kLmNoPq"}


class MetadataHandler(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:  # the optional session token
        self.reply(b"session-token")

    def do_GET(self) -> None:  # /openstack/latest/securitykey
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        access, secret = next(iter(TEMPORARY.items()))
        credential = {
            "access": access,
            "secret": secret,
            "securitytoken": "gQpjbi1ub3J0aC00-example-token",
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        self.reply(json.dumps({"credential": credential}).encode())

    def reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


verifier = apig.Verifier(TEMPORARY.get)  # a callable: access key -> secret | None


async def orders(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        verified = verifier.verify(request.method, request.path_qs, list(request.headers.items()), body)
    except apig.ApigError as e:  # APIG's answer for it: 401 APIG.0303 "…signature expired…"
        answer = {"error_code": e.apig_code, "error_msg": e.apig_message}
        return web.json_response(answer, status=e.status)
    return web.json_response({"caller": verified.access_key, "token_signed": verified.security_token})


async def main() -> None:
    metadata = ThreadingHTTPServer(("127.0.0.1", 0), MetadataHandler)
    threading.Thread(target=metadata.serve_forever, daemon=True).start()
    app = web.Application()
    app.router.add_post("/v1/orders", orders)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    provider = apig.MetadataProvider(f"http://127.0.0.1:{metadata.server_address[1]}", timeout=2.0)
    signing = AppAuthMiddleware(credentials=provider)  # retry_on_expired=True is the default
    signing.clock_offset = -3600  # pretend this machine's clock is an hour slow
    async with aiohttp.ClientSession(middlewares=[signing]) as session:
        async with session.post(f"http://127.0.0.1:{port}/v1/orders", json={"sku": "A-1"}) as response:
            reply = await response.json()
            print(response.status, reply, "clock offset learned:", signing.clock_offset, "s")
            assert response.status == 200 and reply["caller"] == "TMPAKEXAMPLE7QXZ2K9W"
            assert reply["token_signed"] == "gQpjbi1ub3J0aC00-example-token"
            assert abs(signing.clock_offset) <= 5
    print(provider.credentials())  # Credentials(access_key='TMPAK…', security_token='<redacted>', …)

    await runner.cleanup()
    metadata.shutdown()


asyncio.run(main())

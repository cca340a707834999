"""A Starlette (or FastAPI) app behind apig.asgi.VerifyMiddleware under uvicorn, called with an
async httpx client signing through apig.httpx.AppAuth.

Run: python examples/python/httpx_starlette.py  (serves on 127.0.0.1, makes two calls, exits)
"""

import asyncio
import socket

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import apig.asgi
from apig.httpx import AppAuth


async def items(request: Request) -> JSONResponse:
    verified = request.scope["apig"]  # set by the middleware
    return JSONResponse({"caller": verified.access_key, "query": dict(request.query_params)})


app = apig.asgi.VerifyMiddleware(Starlette(routes=[Route("/v1/items", items)]), keys={"my-app-key": "my-app-secret"})


async def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(auth=AppAuth("my-app-key", "my-app-secret"), timeout=10) as client:
        ok = await client.get(f"{base}/v1/items", params={"limit": 10, "q": "blue shoes"})
        print(ok.status_code, ok.json())
        assert ok.status_code == 200 and ok.json()["caller"] == "my-app-key"
    async with httpx.AsyncClient(timeout=10) as client:
        anonymous = await client.get(f"{base}/v1/items")
        print(anonymous.status_code, anonymous.json())
        assert anonymous.status_code == 401 and anonymous.json()["error_code"] == "APIG.0303"
    server.should_exit = True
    await serving


asyncio.run(main())

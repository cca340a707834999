"""A Flask API protected by apig.wsgi.VerifyMiddleware, called with requests + apig.requests.AppAuth.

Run: python examples/python/requests_flask.py  (serves on 127.0.0.1, makes three calls, exits)
"""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import flask
import requests

import apig.wsgi
from apig.requests import AppAuth

app = flask.Flask(__name__)


@app.post("/v1/orders")
def create_order() -> dict[str, object]:
    verified = flask.request.environ["apig.verified"]  # set by the middleware
    return {"caller": verified.access_key, "order": flask.request.get_json()}


keys = {"my-app-key": "my-app-secret"}  # or a callable: access key -> secret | None
app.wsgi_app = apig.wsgi.VerifyMiddleware(app.wsgi_app, keys=keys)  # type: ignore[method-assign]


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"

auth = AppAuth("my-app-key", "my-app-secret")
ok = requests.post(f"{base}/v1/orders", json={"sku": "A-1", "qty": 2}, auth=auth, timeout=10)
print(ok.status_code, ok.json())
assert ok.status_code == 200 and ok.json()["caller"] == "my-app-key"

bad = requests.post(f"{base}/v1/orders", json={"sku": "A-1"}, auth=AppAuth("my-app-key", "wrong-secret"), timeout=10)
print(bad.status_code, bad.json())
assert bad.status_code == 401 and bad.json()["error_code"] == "APIG.0303"

anonymous = requests.post(f"{base}/v1/orders", json={}, timeout=10)
print(anonymous.status_code, anonymous.json()["error_msg"])
assert anonymous.status_code == 401

server.shutdown()

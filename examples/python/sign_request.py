"""Sign a request, look at what was signed, and verify it as a server would.

Run: python examples/python/sign_request.py
"""

import apig

signer = apig.Signer("my-app-key", "my-app-secret")
signed = signer.sign(
    "POST",
    "https://api.example.com/v1/items?limit=10",
    headers={"Content-Type": "application/json"},
    body=b'{"name": "widget"}',
)
print("headers to add:", signed.headers)
print("canonical request:\n" + signed.canonical_request)
print("string to sign:\n" + signed.string_to_sign)

# The server receives the request target, every header sent, and the body.
received = {"Content-Type": "application/json", **signed.headers}
verifier = apig.Verifier({"my-app-key": "my-app-secret"})
verified = verifier.verify("POST", "/v1/items?limit=10", received, b'{"name": "widget"}')
print("verified:", verified.access_key, verified.signed_headers)

try:
    verifier.verify("POST", "/v1/items?limit=99", received, b'{"name": "widget"}')
except apig.SignatureMismatchError as e:
    print("tampered query rejected:", e.code)
    assert e.canonical_request is not None and "limit=99" in e.canonical_request

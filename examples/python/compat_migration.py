"""Code written for Huawei's apig_sdk.signer, moved to apig by changing one import line.

Run: python examples/python/compat_migration.py
"""

# from apig_sdk import signer          <- before
from apig.compat import signer  # <- after

sig = signer.Signer()
sig.Key = "my-app-key"
sig.Secret = "my-app-secret"

r = signer.HttpRequest(
    "POST",
    "https://api.example.com/v1/items?limit=10",
    {"Content-Type": "application/json", "X-Project-Id": "p-1"},
    '{"name": "widget"}',
)
sig.Sign(r)
print(r.headers["X-Sdk-Date"])
print(r.headers["Authorization"])
# then, as before: requests.request(r.method, r.scheme + "://" + r.host + r.uri, params=r.query,
#                                   headers=r.headers, data=r.body)

# server side: Verify(request, authorization) -> bool
assert sig.Verify(r, r.headers["Authorization"])
r.body = b'{"name": "tampered"}'
assert not sig.Verify(r, r.headers["Authorization"])
print("verify: ok, tampered body rejected")

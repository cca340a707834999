// Every core error kind, reached through the package's public API: each is an ApigError with the
// core's code and the HTTP status the binding maps it to, and together they are ERROR_CODES.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApigError, ERROR_CODES, PayloadHasher, Signer, Verifier, hashBody, isApigError } from "apig-wasm";

const DATE = "20240403T101500Z";
const NOW = "20240403T101600Z";
const signer = new Signer({ key: "AK1", secret: "secret-1" });
const verifier = new Verifier({ keys: { AK1: "secret-1" } });

function signed(request) {
  const out = signer.sign({ date: DATE, ...request });
  return [...(request.headers ?? []), ...Object.entries(out.headers)];
}

function hashOf(text) {
  const h = new PayloadHasher();
  h.update(text);
  return h.digest();
}

// code → a function that makes the core (or the package) fail with that code
const cases = {
  missing_authorization: () => verifier.verify({ method: "GET", url: "/", headers: [["X-Sdk-Date", DATE]], now: NOW }),
  malformed_authorization: () =>
    verifier.verify({ method: "GET", url: "/", headers: [["Authorization", "SDK-HMAC-SHA256 nonsense"]], now: NOW }),
  unsupported_algorithm: () => new Signer({ key: "AK1", secret: "s", algorithm: "HMAC-MD5" }),
  unknown_access_key: () => {
    const other = new Signer({ key: "AK2", secret: "s" }).sign({ method: "GET", url: "http://h/", date: DATE });
    verifier.verify({ method: "GET", url: "/", headers: Object.entries(other.headers), now: NOW });
  },
  missing_date: () => {
    const headers = signed({ method: "GET", url: "http://h/" }).filter(([n]) => n !== "X-Sdk-Date");
    verifier.verify({ method: "GET", url: "/", headers, now: NOW });
  },
  malformed_date: () => signer.sign({ method: "GET", url: "http://h/", headers: [["X-Sdk-Date", "2024-04-03"]] }),
  date_not_signed: () =>
    verifier.verify({
      method: "GET",
      url: "/",
      headers: [
        ["Host", "h"],
        ["X-Sdk-Date", DATE],
        ["Authorization", `SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=${"0".repeat(64)}`],
      ],
      now: NOW,
    }),
  expired: () =>
    verifier.verify({ method: "GET", url: "/", headers: signed({ method: "GET", url: "http://h/" }), now: "20240403T103200Z" }),
  signed_header_missing: () => {
    const headers = signed({ method: "GET", url: "http://h/", headers: [["X-Extra", "1"]] }).filter(([n]) => n !== "X-Extra");
    verifier.verify({ method: "GET", url: "/", headers, now: NOW });
  },
  host_not_signed: () => {
    const strict = new Verifier({ keys: { AK1: "secret-1" }, requireHost: true });
    strict.verify({ method: "GET", url: "/", headers: signed({ method: "GET", url: "/" }), now: NOW });
  },
  duplicate_header: () =>
    signer.sign({ method: "GET", url: "http://h/", headers: [["X-A", "1"], ["x-a", "2"]], date: DATE }),
  credential_scope_mismatch: () => {
    const v11 = new Signer({ key: "AK1", secret: "secret-1", algorithm: "V11-HMAC-SHA256", region: "cn-north-4" });
    const out = v11.sign({ method: "GET", url: "http://h/", date: DATE });
    new Verifier({ keys: { AK1: "secret-1" }, region: "cn-south-1" }).verify({
      method: "GET",
      url: "/",
      headers: [["Host", "h"], ...Object.entries(out.headers)],
      now: NOW,
    });
  },
  unsigned_payload_not_allowed: () =>
    new Verifier({ keys: { AK1: "secret-1" }, allowUnsignedPayload: false }).verify({
      method: "PUT",
      url: "/",
      headers: signed({ method: "PUT", url: "http://h/", unsignedPayload: true }),
      body: "x",
      now: NOW,
    }),
  payload_hash_mismatch: () => {
    const headers = signed({ method: "PUT", url: "http://h/", headers: [["X-Sdk-Content-Sha256", hashOf("a")]], body: "a" });
    verifier.verify({ method: "PUT", url: "/", headers, body: "b", now: NOW });
  },
  signature_mismatch: () =>
    verifier.verify({ method: "GET", url: "/?x=2", headers: signed({ method: "GET", url: "http://h/?x=1" }), now: NOW }),
  invalid_request: () => signer.sign({ method: "GET", url: "no scheme here" }),
  invalid_config: () => new Signer({ key: "", secret: "s" }),
  body_read: () =>
    hashBody(
      signer,
      new ReadableStream({
        pull(controller) {
          controller.error(new Error("disk on fire"));
        },
      }),
    ),
};

const STATUS = { invalid_request: 400, body_read: 400, invalid_config: 500 };

test("every core error kind is reached, with its code and status", async () => {
  assert.deepEqual(Object.keys(cases).sort(), [...ERROR_CODES].sort(), "a case per core error code");
  for (const [code, make] of Object.entries(cases)) {
    let error;
    try {
      await make();
    } catch (e) {
      error = e;
    }
    assert.ok(error !== undefined, `${code}: nothing was thrown`);
    assert.ok(error instanceof ApigError, `${code}: ${error} is not an ApigError`);
    assert.ok(error instanceof Error);
    assert.ok(isApigError(error));
    assert.equal(error.name, "ApigError");
    assert.equal(error.code, code, `${code}: got ${error.code}: ${error.message}`);
    assert.equal(error.status, STATUS[code] ?? 401, code);
    assert.ok(error.message.length > 0);
  }
});

test("a signature mismatch carries the verifier's canonical request and string to sign", () => {
  try {
    cases.signature_mismatch();
    assert.fail("accepted");
  } catch (e) {
    assert.equal(e.code, "signature_mismatch");
    assert.match(e.canonicalRequest, /^GET\n\/\nx=2\n/);
    assert.match(e.stringToSign, /^SDK-HMAC-SHA256\n20240403T101500Z\n[0-9a-f]{64}$/);
  }
});

test("ill-typed options are typed errors, never crashes", () => {
  const attempts = [
    [() => new Signer(), "invalid_config"],
    [() => new Signer("AK"), "invalid_config"],
    [() => new Signer({ key: 1, secret: "s" }), "invalid_config"],
    [() => new Signer({ key: "AK", secret: "s", algorithm: "V11-HMAC-SHA256" }), "invalid_config"],
    [() => signer.sign({ method: "GET" }), "invalid_request"],
    [() => signer.sign({ method: "GET", url: "http://h/", headers: [["a"]] }), "invalid_request"],
    [() => signer.sign({ method: "GET", url: "http://h/", headers: { a: 1 } }), "invalid_request"],
    [() => signer.sign({ method: "GET", url: "http://h/", body: 42 }), "invalid_request"],
    [() => signer.sign({ method: "GET", url: "http://h/", body: "a", payloadHash: "b" }), "invalid_request"],
    [() => signer.sign({ method: "GET", url: "http://h/", date: Number.NaN }), "malformed_date"],
    [() => signer.sign({ method: "GET", url: "http://h/", date: -1 }), "invalid_request"],
    [() => signer.sign({ method: "GET", url: "http://h/", date: "yesterday" }), "malformed_date"],
    [() => signer.sign({ method: "G ET", url: "http://h/" }), "invalid_request"],
    [() => new Verifier({}), "invalid_config"],
    [() => new Verifier({ keys: { AK: 1 } }), "invalid_config"],
    [() => new Verifier({ keys: {}, maxSkewSeconds: -5 }), "invalid_config"],
    [() => new Verifier({ keys: {}, algorithms: "SDK-HMAC-SHA256" }), "invalid_config"],
    [() => new Verifier({ keys: {}, algorithms: ["nope"] }), "unsupported_algorithm"],
    [() => new PayloadHasher("nope"), "unsupported_algorithm"],
    [() => new PayloadHasher().update(7), "invalid_request"],
  ];
  for (const [attempt, code] of attempts) {
    assert.throws(attempt, (e) => e instanceof ApigError && e.code === code, `${attempt}`);
  }
  const hasher = new PayloadHasher();
  hasher.digest();
  assert.throws(() => hasher.digest(), (e) => e.code === "invalid_request");
});

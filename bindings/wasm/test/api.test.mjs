// The package's API in Node: entry points, sign/verify round trips, input forms, body hashing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import * as esm from "apig-wasm";
import {
  PayloadHasher,
  Signer,
  Verifier,
  clockSkewFromExpired,
  errorCodes,
  ERROR_CODES,
  hashBody,
} from "apig-wasm";

const require = createRequire(import.meta.url);
const DATE = "20240403T101500Z";
const NOW = "20240403T101600Z";
const ALGORITHMS = ["SDK-HMAC-SHA256", "SDK-HMAC-SM3", "V11-HMAC-SHA256", "V11-HMAC-SM3"];

function signerFor(algorithm) {
  return new Signer({ key: "AK1", secret: "secret-1", algorithm, region: algorithm.startsWith("V11") ? "cn-north-4" : undefined });
}

test("require and import reach the same package, with the same exports", () => {
  const cjs = require("apig-wasm");
  const names = Object.keys(cjs).sort();
  assert.deepEqual(names, [
    "ApigError",
    "ERROR_CODES",
    "PayloadHasher",
    "Signer",
    "Verifier",
    "clockSkewFromExpired",
    "errorCodes",
    "hashBody",
    "isApigError",
    "signedFetch",
  ]);
  for (const name of names) assert.equal(typeof esm[name], typeof cjs[name], name);
  assert.equal(esm.Signer, cjs.Signer, "one module instance for both");
  assert.deepEqual([...ERROR_CODES], errorCodes());
  assert.ok(Object.isFrozen(ERROR_CODES));
  assert.equal(require("apig-wasm/package.json").name, "apig-wasm");
});

test("sign then verify, for every algorithm, and a tampered request fails", () => {
  for (const algorithm of ALGORITHMS) {
    const signer = signerFor(algorithm);
    assert.equal(signer.algorithm, algorithm);
    assert.equal(signer.key, "AK1");
    const body = JSON.stringify({ name: "test", count: 1 });
    const out = signer.sign({
      method: "POST",
      url: "https://api.example.com/v1/items?limit=10",
      headers: [["Content-Type", "application/json"]],
      body,
      date: DATE,
    });
    assert.deepEqual(Object.keys(out.headers), ["Host", "X-Sdk-Date", "Authorization"]);
    assert.equal(out.headers.Host, "api.example.com");
    assert.equal(out.date, DATE);
    assert.match(out.signature, /^[0-9a-f]{64}$/);
    assert.ok(out.authorization.startsWith(`${algorithm} `));
    assert.ok(out.authorization.endsWith(`Signature=${out.signature}`));
    assert.equal(out.signedHeaders, "content-type;host;x-sdk-date");
    assert.ok(out.canonicalRequest.startsWith("POST\n/v1/items/\nlimit=10\n"));
    assert.equal(out.credentialScope, algorithm.startsWith("V11") ? "20240403/cn-north-4/apic" : undefined);

    const received = [["Content-Type", "application/json"], ...Object.entries(out.headers)];
    const verifier = new Verifier({ keys: new Map([["AK1", "secret-1"]]) });
    const identity = verifier.verify({ method: "POST", url: "/v1/items?limit=10", headers: received, body, now: NOW });
    assert.equal(identity.accessKey, "AK1");
    assert.equal(identity.algorithm, algorithm);
    assert.deepEqual(identity.signedHeaders, ["content-type", "host", "x-sdk-date"]);
    assert.ok(identity.signedAt instanceof Date);
    assert.equal(identity.signedAt.toISOString(), "2024-04-03T10:15:00.000Z");
    assert.equal(identity.unsignedPayload, false);
    assert.throws(
      () => verifier.verify({ method: "POST", url: "/v1/items?limit=10", headers: received, body: body + " ", now: NOW }),
      (e) => e.code === "signature_mismatch",
    );
  }
});

test("the signing time may be a Date, milliseconds or an X-Sdk-Date string; default is now", () => {
  const signer = signerFor("SDK-HMAC-SHA256");
  const at = (date) => signer.sign({ method: "GET", url: "http://h/", date }).signature;
  const millis = Date.UTC(2024, 3, 3, 10, 15, 0);
  assert.equal(at(new Date(millis)), at(DATE));
  assert.equal(at(millis + 999), at(DATE), "truncated to the second");
  assert.notEqual(at(millis + 1000), at(DATE));
  const before = Date.now();
  const now = signer.sign({ method: "GET", url: "http://h/" });
  const signedAt = new Verifier({ keys: { AK1: "secret-1" } }).verify({
    method: "GET",
    url: "/",
    headers: Object.entries(now.headers),
  }).signedAt.getTime();
  assert.ok(signedAt >= Math.floor(before / 1000) * 1000 && signedAt <= Date.now(), "signed at Date.now()");
  assert.ok(new Verifier({ keys: { AK1: "secret-1" } }).verify({ method: "GET", url: "/", headers: Object.entries(now.headers) }));
});

test("a time after the year 9999 is malformed_date, from sign and verify alike", () => {
  // once: date 1e20 signed as 00000000T000000Z
  const signer = signerFor("SDK-HMAC-SHA256");
  const verifier = new Verifier({ keys: { AK1: "secret-1" } });
  const signed = signer.sign({ method: "GET", url: "http://h/" });
  for (const date of [1e20, 253402300800000, Infinity, NaN, new Date(NaN)]) {
    assert.throws(
      () => signer.sign({ method: "GET", url: "http://h/", date }),
      (e) => e.code === "malformed_date" && /99991231T235959Z/.test(e.message),
      String(date),
    );
    assert.throws(
      () => verifier.verify({ method: "GET", url: "/", headers: Object.entries(signed.headers), now: date }),
      (e) => e.code === "malformed_date",
      String(date),
    );
  }
  assert.equal(signer.sign({ method: "GET", url: "http://h/", date: 253402300799999 }).date, "99991231T235959Z");
});

test("an array header value repeats the header: equal values sign once, different ones are duplicate_header", () => {
  // once: an array value was refused outright ("each entry ... must be a [name, value] pair of strings")
  const signer = signerFor("SDK-HMAC-SHA256");
  const base = { method: "GET", url: "http://h/", date: DATE };
  const once = signer.sign({ ...base, headers: { "X-Tag": "a" } });
  assert.equal(signer.sign({ ...base, headers: { "X-Tag": ["a", "a"] } }).signature, once.signature);
  assert.equal(signer.sign({ ...base, headers: { "X-Tag": ["a"] } }).signature, once.signature);
  assert.throws(
    () => signer.sign({ ...base, headers: { "X-Tag": ["a", "b"] } }),
    (e) => e.code === "duplicate_header" && e.message.includes('joined with ", "'),
  );
  const joined = signer.sign({ ...base, headers: { "X-Tag": ["a", "b"].join(", ") } });
  assert.ok(joined.canonicalRequest.includes("\nx-tag:a, b\n"));
});

test("PayloadHasher.update() returns the hasher, for chaining", () => {
  // once: update() returned undefined (the Node package returns the hasher)
  const hasher = new PayloadHasher();
  assert.equal(hasher.update("a"), hasher);
  assert.equal(hasher.update(new Uint8Array([98])).digest(), new PayloadHasher().update("ab").digest());
});

test("headers as pairs, an object, a Headers or a Map sign the same", () => {
  const signer = signerFor("SDK-HMAC-SHA256");
  const sig = (headers) => signer.sign({ method: "GET", url: "http://h/", headers, date: DATE }).signature;
  const pairs = [["Content-Type", "text/plain"], ["X-Trace", "a b"]];
  const expected = sig(pairs);
  assert.equal(sig(Object.fromEntries(pairs)), expected);
  assert.equal(sig(new Headers(pairs)), expected);
  assert.equal(sig(new Map(pairs)), expected);
  assert.notEqual(sig([["Content-Type", "text/plain"]]), expected);
});

test("bodies as text, bytes, buffers and views, or hashed in chunks, sign the same", async () => {
  for (const algorithm of ALGORITHMS) {
    const signer = signerFor(algorithm);
    const text = "héllo, wörld ".repeat(1000);
    const bytes = new TextEncoder().encode(text);
    const sig = (request) => signer.sign({ method: "PUT", url: "http://h/up", date: DATE, ...request }).signature;
    const expected = sig({ body: text });
    assert.equal(sig({ body: bytes }), expected);
    assert.equal(sig({ body: bytes.buffer }), expected);
    assert.equal(sig({ body: new DataView(bytes.buffer) }), expected);
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 5);
    assert.equal(sig({ body: new Uint8Array(padded.buffer, 5, bytes.length) }), expected, "a view's window only");
    assert.equal(sig({ body: Buffer.from(text) }), expected);

    const hasher = signer.createHasher();
    for (let i = 0; i < bytes.length; i += 777) hasher.update(bytes.subarray(i, i + 777));
    assert.equal(sig({ payloadHash: hasher.digest() }), expected);
    const standalone = new PayloadHasher(algorithm);
    standalone.update(text);
    assert.equal(sig({ payloadHash: standalone.digest() }), expected);

    const blob = await hashBody(signer, new Blob([bytes.subarray(0, 10), bytes.subarray(10)]));
    assert.equal(sig({ payloadHash: blob.payloadHash }), expected);
    assert.ok(blob.body instanceof Blob);
    const stream = await hashBody(signer, new Blob([text]).stream());
    assert.equal(sig({ payloadHash: stream.payloadHash }), expected);
    assert.equal(await stream.body.text(), text, "the stream's bytes come back as a Blob to send");
    const whole = await hashBody(signer, text);
    assert.equal(whole.body, text);
    assert.equal(sig({ payloadHash: whole.payloadHash }), expected);
    assert.equal(sig({ payloadHash: (await hashBody(signer, null)).payloadHash }), sig({}), "empty body");
  }
});

test("text beyond ASCII, many headers and large bodies cross intact, both ways", () => {
  const signer = signerFor("SDK-HMAC-SHA256");
  const sha256 = (data) => createHash("sha256").update(data).digest("hex");
  // more header pairs than the module keeps inline, values beyond ASCII (and beyond the BMP)
  const headers = Array.from({ length: 12 }, (_, i) => [`X-H${String(i).padStart(2, "0")}`, `v${i} ü😀 é`]);
  const body = "naïve body \0 with NUL ✓";
  const out = signer.sign({ method: "POST", url: "https://api.example.com/ä/b?q=ö", headers, body, date: DATE });
  assert.ok(out.canonicalRequest.includes("\nx-h11:v11 ü😀 é\n"), out.canonicalRequest);
  assert.ok(out.authorization.endsWith(`Signature=${out.signature}`));
  assert.equal(out.signedHeaders.split(";").length, 12 + 2);
  // the canonical request as decoded is exactly what the core hashed, the body exactly what it read
  assert.equal(out.stringToSign.split("\n").pop(), sha256(out.canonicalRequest));
  assert.equal(out.canonicalRequest.split("\n").pop(), sha256(body));
  assert.deepEqual(Object.keys(out.headers), ["Host", "X-Sdk-Date", "Authorization"]);
  const identity = new Verifier({ keys: { AK1: "secret-1" } }).verify({
    method: "POST",
    url: "/ä/b?q=ö",
    headers: [...headers, ...Object.entries(out.headers)],
    body,
    now: NOW,
  });
  assert.equal(identity.signedHeaders.length, 14);

  // a body larger than the scratch memory kept between calls, as text and as bytes
  const small = signer.sign({ method: "GET", url: "https://h/", date: DATE });
  const large = "x✓".repeat(600_000);
  for (const big of [large, new TextEncoder().encode(large)]) {
    const signed = signer.sign({ method: "PUT", url: "https://h/up", body: big, date: DATE });
    assert.equal(signed.canonicalRequest.split("\n").pop(), sha256(big));
    assert.deepEqual(signer.sign({ method: "GET", url: "https://h/", date: DATE }), small);
  }
});

test("unsigned payloads add and sign X-Sdk-Content-Sha256", () => {
  const signer = signerFor("SDK-HMAC-SHA256");
  const out = signer.sign({ method: "PUT", url: "http://h/", unsignedPayload: true, date: DATE });
  assert.equal(out.headers["X-Sdk-Content-Sha256"], "UNSIGNED-PAYLOAD");
  assert.ok(out.canonicalRequest.endsWith("\nUNSIGNED-PAYLOAD"));
  const identity = new Verifier({ keys: { AK1: "secret-1" } }).verify({
    method: "PUT",
    url: "/",
    headers: Object.entries(out.headers),
    unsignedPayload: true,
    now: NOW,
  });
  assert.equal(identity.unsignedPayload, true);
});

test("the skew of a gateway's 'signature expired' answer", () => {
  const apig =
    '{"error_msg":"Incorrect app authentication information: signature expired, signature time:20191115T033655Z, server time:20191115T035255Z","error_code":"APIG.0303"}';
  assert.equal(clockSkewFromExpired(apig), 960);
  assert.equal(clockSkewFromExpired("signature expired, signature time:20191115T035255Z, server time:20191115T033655Z"), -960);
  assert.equal(clockSkewFromExpired('{"error_msg":"Incorrect app authentication information: verify signature fail"}'), undefined);
  assert.equal(clockSkewFromExpired(""), undefined);
});

// The budget for the browser module: 100 KB, 40 KB gzipped (decimal kilobytes, the
// stricter reading). The Node module also holds the Verifier, is built for speed and is not
// downloaded by pages: its ceiling, the measured size plus a little, only catches growth (raised
// from 150 / 60 KiB when the core's byte scans and on-stack buffers made it 174 / 61 KiB).
const CEILING = {
  web: { raw: 100_000, gzipped: 40_000 },
  bundler: { raw: 100_000, gzipped: 40_000 },
  nodejs: { raw: 180 * 1024, gzipped: 64 * 1024 },
};

test("the optimised modules do not grow past their recorded sizes", () => {
  const pkg = dirname(require.resolve("apig-wasm/package.json"));
  for (const [target, ceiling] of Object.entries(CEILING)) {
    const wasm = readFileSync(join(pkg, target, "apig_wasm_bg.wasm"));
    const gzipped = gzipSync(wasm, { level: 9 }).length;
    assert.ok(wasm.length <= ceiling.raw, `${target}: ${wasm.length} bytes > ${ceiling.raw}`);
    assert.ok(gzipped <= ceiling.gzipped, `${target}: ${gzipped} bytes gzipped > ${ceiling.gzipped}`);
  }
});

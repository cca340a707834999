// signedFetch against a verifying HTTP server on 127.0.0.1 (Node's fetch), and with a recording fetch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { ApigError, Signer, Verifier, signedFetch } from "apig-wasm";

const KEYS = { AK1: "secret-1" };
const verifier = new Verifier({ keys: KEYS });
const SKEW_MS = 30 * 60 * 1000; // the /skewed/ routes' server clock runs 30 minutes ahead
let server;
let base;
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      hits++;
      const body = Buffer.concat(chunks);
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const skewed = req.url.startsWith("/skewed/");
      const unsigned = req.url.startsWith("/unsigned/");
      const now = skewed ? new Date(Date.now() + SKEW_MS) : undefined;
      let status = 200;
      let answer;
      try {
        const identity = verifier.verify({ method: req.method, url: req.url, headers, body, now });
        answer = { accessKey: identity.accessKey, unsignedPayload: identity.unsignedPayload, body: body.toString(), host: req.headers.host };
        if (unsigned !== identity.unsignedPayload) throw new Error("unexpected payload mode");
      } catch (e) {
        status = e instanceof ApigError ? e.status : 500;
        answer = {
          error_code: "APIG.0303",
          error_msg: `Incorrect app authentication information: ${e.message}`,
          code: e.code,
        };
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

const signer = new Signer({ key: "AK1", secret: "secret-1" });

test("GET and bodies of every kind are signed and verified by the server", async () => {
  const fetchSigned = signedFetch(signer);
  const text = JSON.stringify({ name: "ü", n: 1 });
  const bodies = [
    ["none", undefined, ""],
    ["string", text, text],
    ["Uint8Array", new TextEncoder().encode(text), text],
    ["ArrayBuffer", new TextEncoder().encode(text).buffer, text],
    ["Blob", new Blob([text]), text],
    ["ReadableStream", new Blob([text.slice(0, 5), text.slice(5)]).stream(), text],
    ["URLSearchParams", new URLSearchParams({ a: "1 2", b: "ß" }), "a=1+2&b=%C3%9F"],
  ];
  for (const [kind, body, sent] of bodies) {
    const response = await fetchSigned(`${base}/echo/a%20b/?q=1&q=0&z`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json", "X-Trace": kind },
      body,
    });
    const answer = await response.json();
    assert.equal(response.status, 200, `${kind}: ${JSON.stringify(answer)}`);
    assert.equal(answer.accessKey, "AK1");
    assert.equal(answer.body, sent, kind);
  }
});

test("a Request object as input, and a relative URL is an invalid_request in Node", async () => {
  const fetchSigned = signedFetch(signer);
  const response = await fetchSigned(new Request(`${base}/echo`, { method: "PUT", body: "from a Request" }));
  assert.equal(response.status, 200);
  assert.equal((await response.json()).body, "from a Request");
  await assert.rejects(fetchSigned("/relative"), (e) => e instanceof ApigError && e.code === "invalid_request");
});

test("unsignedPayload streams the body as is", async () => {
  const fetchSigned = signedFetch(signer, { unsignedPayload: true });
  const response = await fetchSigned(`${base}/unsigned/up`, { method: "PUT", body: new Blob(["streamed"]).stream() });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  assert.equal(answer.unsignedPayload, true);
  assert.equal(answer.body, "streamed");
});

test("a 'signature expired' 401 teaches the clock offset and is retried once", async () => {
  const fetchSigned = signedFetch(signer);
  assert.equal(fetchSigned.clockOffset, 0);
  const start = hits;
  const response = await fetchSigned(`${base}/skewed/x`, { method: "POST", body: "again" });
  assert.equal(response.status, 200, JSON.stringify(await response.clone().json()));
  assert.equal((await response.json()).body, "again", "the body is sent again");
  assert.equal(hits - start, 2, "one rejected request, one retry");
  assert.ok(Math.abs(fetchSigned.clockOffset - SKEW_MS) <= 2000, `learned ${fetchSigned.clockOffset}`);
  const next = hits;
  assert.equal((await fetchSigned(`${base}/skewed/y`)).status, 200);
  assert.equal(hits - next, 1, "the learned offset is kept");

  const noRetry = signedFetch(signer, { retryOnExpired: false });
  const rejected = await noRetry(`${base}/skewed/z`);
  assert.equal(rejected.status, 401);
  assert.equal((await rejected.json()).code, "expired");
  const preset = signedFetch(signer, { clockOffset: SKEW_MS });
  assert.equal((await preset(`${base}/skewed/w`)).status, 200);
});

test("other 401s are returned as they are, without a retry", async () => {
  const wrong = signedFetch(new Signer({ key: "AK1", secret: "not-the-secret" }));
  const start = hits;
  const response = await wrong(`${base}/echo`);
  assert.equal(response.status, 401);
  assert.equal((await response.json()).code, "signature_mismatch");
  assert.equal(hits - start, 1);
});

test("Host is never handed to fetch; the URL's host is signed", async () => {
  const seen = [];
  const recording = async (input, init) => {
    seen.push({ input, headers: new Headers(init.headers) });
    return new Response("ok");
  };
  // the Node package's calling convention: signedFetch(signer, fetchImpl, options)
  const fetchSigned = signedFetch(signer, recording);
  await fetchSigned("https://api.example.com:8443/v1?x=1", { headers: { Host: "evil.example.com", "X-A": "1" } });
  const { input, headers } = seen[0];
  assert.equal(input, "https://api.example.com:8443/v1?x=1");
  assert.equal(headers.get("host"), null);
  assert.equal(headers.get("x-a"), "1");
  assert.match(headers.get("authorization"), /SignedHeaders=host;x-a;x-sdk-date, /);
  assert.match(headers.get("x-sdk-date"), /^\d{8}T\d{6}Z$/);
  const identity = verifier.verify({
    method: "GET",
    url: "/v1?x=1",
    headers: [["Host", "api.example.com:8443"], ...headers],
  });
  assert.equal(identity.accessKey, "AK1");
});

test("bodies the browser would rewrite are refused", async () => {
  const fetchSigned = signedFetch(signer, async () => new Response("unreached"));
  const form = new FormData();
  form.append("a", "1");
  await assert.rejects(fetchSigned("https://h/", { method: "POST", body: form }), (e) => e.code === "invalid_request");
  assert.throws(() => signedFetch(signer, { fetch: 42 }), (e) => e.code === "invalid_config");
  assert.throws(() => signedFetch(signer, { clockOffset: Number.NaN }), (e) => e.code === "invalid_config");
});

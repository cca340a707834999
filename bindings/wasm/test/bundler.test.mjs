// The `apig-wasm/bundler` build (wasm-bindgen's bundler target: the .wasm imported as an ES module),
// loaded the way a bundler with WebAssembly ES-module integration does, through Node's
// --experimental-wasm-modules; it must sign every sign vector as the others do, and (a browser
// build) has no Verifier.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(process.env.APIG_ROOT ?? join(process.cwd(), "..", "..", ".."), "conformance");
const vectors = readdirSync(dir)
  .filter((f) => f.startsWith("sign-") && f.endsWith(".json"))
  .flatMap((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));

const script = `
import { Signer, Verifier, ApigError } from "apig-wasm/bundler";
const vectors = JSON.parse(process.argv[1]);
const out = vectors.map((v) => {
  const signer = new Signer({ key: v.key, secret: v.secret, algorithm: v.algorithm, region: v.region_id, service: v.service });
  const body = v.request.body_base64 === undefined ? v.request.body ?? "" : Buffer.from(v.request.body_base64, "base64");
  return signer.sign({ method: v.request.method, url: v.request.url, headers: v.request.headers ?? [], body }).authorization;
});
let error;
try { new Signer({}); } catch (e) { error = e instanceof ApigError && e.code; }
let noVerifier;
try { new Verifier({ keys: { AK: "SK" } }); } catch (e) { noVerifier = e instanceof ApigError && e.code; }
console.log(JSON.stringify({ out, error, noVerifier }));
`;

test("the bundler build signs every sign vector", () => {
  const run = spawnSync(process.execPath, ["--experimental-wasm-modules", "--input-type=module", "-e", script, JSON.stringify(vectors)], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const { out, error, noVerifier } = JSON.parse(run.stdout);
  assert.equal(error, "invalid_config");
  // the browser builds (bundler, web) leave the Verifier out
  assert.equal(noVerifier, "invalid_config");
  assert.equal(out.length, vectors.length);
  vectors.forEach((v, i) => assert.equal(out[i], v.expected.authorization, v.name));
});

// The `apig-wasm/bundler` build (wasm-bindgen's bundler target: the .wasm imported as an ES module),
// loaded the way a bundler with WebAssembly ES-module integration does, through Node's
// --experimental-wasm-modules; it must sign every sign vector as the others do, and (a browser
// build) has no Verifier.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Signer } from "apig-wasm";

const dir = join(process.env.APIG_ROOT ?? join(process.cwd(), "..", "..", ".."), "conformance");
const vectors = readdirSync(dir)
  .filter((f) => f.startsWith("sign-") && f.endsWith(".json"))
  .flatMap((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));

const script = `
import { Signer, Verifier, ApigError } from "apig-wasm/bundler";
const vectors = JSON.parse(process.argv[1]);
const out = vectors.map((v) => {
  // a v3 vector (credential_type: conformance/README.md): its credentials and the v3 profile
  const kind = v.credential_type;
  const v3 = kind === undefined ? {} : {
    profile: "huaweicloud-v3",
    securityToken: v.security_token,
    projectId: kind === "basic" ? v.project_id : undefined,
    domainId: kind === "global" ? v.domain_id : undefined,
  };
  const signer = new Signer({ key: v.key, secret: v.secret, algorithm: v.algorithm, region: v.region_id, service: v.service, ...v3 });
  const body = v.request.body_base64 === undefined ? v.request.body ?? "" : Buffer.from(v.request.body_base64, "base64");
  return signer.sign({ method: v.request.method, url: v.request.url, headers: v.request.headers ?? [], body }).authorization;
});
let error;
try { new Signer({}); } catch (e) { error = e instanceof ApigError && e.code; }
let noVerifier;
try { new Verifier({ keys: { AK: "SK" } }); } catch (e) { noVerifier = e instanceof ApigError && e.code; }
${beyondAscii.toString()}
const beyond = beyondAscii(Signer);
console.log(JSON.stringify({ out, error, noVerifier, beyond }));
`;

// Text beyond ASCII both ways and a body larger than the scratch memory kept between calls,
// through the browser builds' TextEncoder / TextDecoder path: as the Node build signs them.
function beyondAscii(Signer) {
  const signer = new Signer({ key: "AK1", secret: "secret-1" });
  const headers = [["X-Name", "ü😀 é"], ["X-Other", "plain"]];
  const date = "20240403T101500Z";
  return [
    signer.sign({ method: "POST", url: "https://h/ä?q=ö", headers, body: "naïve ✓", date }),
    signer.sign({ method: "PUT", url: "https://h/", body: "x✓".repeat(600_000), date }).signature,
    signer.sign({ method: "GET", url: "https://h/", date }),
  ];
}

test("the bundler build signs every sign vector", () => {
  const run = spawnSync(process.execPath, ["--experimental-wasm-modules", "--input-type=module", "-e", script, JSON.stringify(vectors)], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const { out, error, noVerifier, beyond } = JSON.parse(run.stdout);
  assert.deepEqual(beyond, JSON.parse(JSON.stringify(beyondAscii(Signer))));
  assert.equal(error, "invalid_config");
  // the browser builds (bundler, web) leave the Verifier out
  assert.equal(noVerifier, "invalid_config");
  assert.equal(out.length, vectors.length);
  vectors.forEach((v, i) => assert.equal(out[i], v.expected.authorization, v.name));
});

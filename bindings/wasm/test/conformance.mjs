// The conformance runner of apig-wasm: `cargo xtask conformance wasm [FILE...]`.
//
// Walks every vector of the given files (default: every *.json in the repository's conformance/)
// through the installed package's public API in Node, prints each failure with a diff and ends
// with `N passed, M failed`; exits 1 on any failure, 2 when a file cannot be read.
import { readFileSync, readdirSync } from "node:fs";
import { join, basename } from "node:path";
import { Signer, Verifier, isApigError } from "apig-wasm";

function vectorFiles(args) {
  if (args.length > 0) return args;
  const dir = join(process.env.APIG_ROOT ?? process.cwd(), "conformance");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => join(dir, f));
}

function body(request) {
  if (request.body_base64 !== undefined) return Buffer.from(request.body_base64, "base64");
  return request.body ?? "";
}

// A line diff of one compared field, in the format every runner of the project prints.
function compare(what, expected, actual, out) {
  if (expected === actual) return;
  out.push(`  ${what} differs:`);
  const e = String(expected).split("\n");
  const a = String(actual).split("\n");
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] === a[i]) {
      out.push(`      ${JSON.stringify(e[i])}`);
    } else {
      if (i < e.length) out.push(`    - ${JSON.stringify(e[i])}`);
      if (i < a.length) out.push(`    + ${JSON.stringify(a[i])}`);
    }
  }
}

// The v3 fields (conformance/README.md) as Signer options: a vector with a `credential_type` is
// Huawei Cloud's v3 SDKs', signed with the `huaweicloud-v3` profile. A field this runner does not
// know how to pass fails the case.
function credentialOptions(v) {
  const kind = v.credential_type;
  if (kind === undefined) {
    if (["security_token", "project_id", "domain_id"].some((k) => k in v)) {
      throw new Error("credential fields without a credential_type");
    }
    return {};
  }
  if (kind !== "basic" && kind !== "global") throw new Error(`unknown credential_type ${JSON.stringify(kind)}`);
  return {
    profile: "huaweicloud-v3",
    securityToken: v.security_token,
    projectId: kind === "basic" ? v.project_id : undefined,
    domainId: kind === "global" ? v.domain_id : undefined,
  };
}

function runSign(v) {
  let signed;
  try {
    const signer = new Signer({
      key: v.key,
      secret: v.secret,
      algorithm: v.algorithm,
      region: v.region_id,
      service: v.service,
      ...credentialOptions(v),
    });
    const r = v.request;
    signed = signer.sign({ method: r.method, url: r.url, headers: r.headers ?? [], body: body(r) });
  } catch (e) {
    return [`  signing failed: ${isApigError(e) ? `${e.code}: ${e.message}` : e}`];
  }
  const out = [];
  compare("canonical_request", v.expected.canonical_request, signed.canonicalRequest, out);
  compare("string_to_sign", v.expected.string_to_sign, signed.stringToSign, out);
  compare("signature", v.expected.signature, signed.signature, out);
  compare("authorization", v.expected.authorization, signed.authorization, out);
  if (v.expected.signed_headers !== undefined) {
    compare("signed_headers", v.expected.signed_headers, signed.signedHeaders, out);
  }
  if (v.expected.headers_added !== undefined) {
    const atSigning = new Map(v.expected.headers_at_signing ?? []);
    const expected = v.expected.headers_added.map((n) => `${n}: ${atSigning.get(n)}\n`).join("");
    const added = Object.entries(signed.headers)
      .filter(([n]) => n !== "Authorization")
      .map(([n, value]) => `${n}: ${value}\n`)
      .join("");
    compare("headers_added", expected, added, out);
  }
  return out;
}

function runVerify(v) {
  const r = v.request;
  let verdict = "accept";
  let error;
  try {
    const verifier = new Verifier({ keys: v.key_store });
    verifier.verify({ method: r.method, url: r.url, headers: r.headers ?? [], body: body(r), now: v.now });
  } catch (e) {
    if (!isApigError(e)) return [`  verify threw a non-apig error: ${e}`];
    verdict = "reject";
    error = e;
  }
  if (verdict !== v.expected_verdict) {
    return [`  verdict: expected ${v.expected_verdict}, got ${verdict}${error ? ` (${error.code}: ${error.message})` : ""}`];
  }
  if (v.expected_error !== undefined && error !== undefined && error.code !== v.expected_error) {
    return [`  error code: expected ${v.expected_error}, got ${error.code}`];
  }
  return [];
}

let passed = 0;
let failed = 0;
for (const file of vectorFiles(process.argv.slice(2))) {
  let vectors;
  try {
    vectors = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`cannot read ${file}: ${e.message}`);
    process.exit(2);
  }
  for (const v of vectors) {
    const problems = v.expected_verdict !== undefined ? runVerify(v) : runSign(v);
    if (problems.length === 0) {
      passed++;
    } else {
      failed++;
      console.log(`FAIL ${basename(file)} :: ${v.name}\n${problems.join("\n")}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

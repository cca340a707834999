// Per-call signing time of apig-wasm in Node, next to the native Node package (bindings/node,
// napi-rs) when it is built: `cargo xtask build wasm && node bindings/wasm/bench/sign.mjs`.
// The same typical request for both: POST JSON with two headers and a fixed date.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ROUNDS = 7;
const CALLS = 20000;

const request = {
  method: "POST",
  url: "https://api.example.com/v1/items?limit=10&offset=20",
  headers: [["Content-Type", "application/json"], ["X-Project-Id", "0123456789abcdef"]],
  body: JSON.stringify({ name: "test", count: 1, tags: ["a", "b", "c"] }),
  date: Date.UTC(2024, 3, 3, 10, 15, 0),
};

// µs per call, wall time and CPU time (user + system: steadier on a shared, loaded machine)
function measure(name, signer) {
  const run = (n) => {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) signer.sign(request);
    const wall = Number(process.hrtime.bigint() - start) / 1000 / n;
    const used = process.cpuUsage(cpu);
    return { wall, cpu: (used.user + used.system) / n };
  };
  run(5000); // warm up
  const rounds = Array.from({ length: ROUNDS }, () => run(CALLS));
  const stat = (key) => {
    const sorted = rounds.map((r) => r[key]).sort((a, b) => a - b);
    return { median: sorted[Math.floor(ROUNDS / 2)], best: sorted[0] };
  };
  const cpu = stat("cpu");
  const wall = stat("wall");
  console.log(
    `${name.padEnd(24)} CPU ${cpu.median.toFixed(2)} (${cpu.best.toFixed(2)}) µs/call, ` +
      `wall ${wall.median.toFixed(2)} (${wall.best.toFixed(2)}): median (best) of ${ROUNDS} rounds of ${CALLS}`,
  );
  return { median: cpu.median, signature: signer.sign(request).signature };
}

const wasm = require(join(here, "..", "pkg", "nodejs", "index.cjs"));
const results = { wasm: measure("apig-wasm (Node)", new wasm.Signer({ key: "AK1", secret: "secret-1" })) };

let native;
try {
  native = require(join(here, "..", "..", "node"));
} catch (error) {
  console.log(`native Node package not available (${error.code ?? error.message}): build it with cargo xtask build node`);
}
if (native) {
  results.native = measure("apig native (napi-rs)", new native.Signer({ key: "AK1", secret: "secret-1" }));
  if (results.native.signature !== results.wasm.signature) {
    console.error("the two packages disagree on the signature");
    process.exit(1);
  }
  console.log(`ratio wasm / native (median CPU): ${(results.wasm.median / results.native.median).toFixed(2)}x (target ≤ 2x)`);
}
console.log(`node ${process.version}, ${process.arch}`);

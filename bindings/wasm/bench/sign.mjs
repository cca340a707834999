// Per-call signing time of apig-wasm in Node, next to the native Node package (bindings/node,
// napi-rs) when it is built: `cargo xtask build wasm && node bindings/wasm/bench/sign.mjs`.
// The same typical request for both: POST JSON with two headers and a fixed date.
//
// Each package is warmed up with WARMUP calls, then ROUNDS rounds of CALLS calls alternate between
// the two in one process (the order swapped every round), so that a change in the machine's load
// hits both alike; the ratio is the median of the per-round ratios. CPU time (user + system) is
// the figure: steadier than wall time on a shared machine.
//
// The warm-up is long on purpose. V8 runs a WebAssembly function first as Liftoff (baseline)
// code and moves it to TurboFan when it has run enough; until all the hot functions have, a sign
// takes ~1.8x its steady time (all Liftoff, `node --liftoff-only`: ~4-5x). With a few thousand
// warm-up calls, whole runs of 140 000 calls stayed in that state on a loaded machine (the
// bimodal ~4.7 / ~8.4 µs of docs/BENCHMARKS.md); after 50 000 calls every run was steady. A
// long-running server is in the steady state after its first 10^5 signs or so. APIG_BENCH_WARMUP
// changes the warm-up (e.g. 5000 to see the slow state), APIG_BENCH_QUICK=1 runs a few calls only.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const quick = process.env.APIG_BENCH_QUICK === "1";
const WARMUP = quick ? 10 : Number(process.env.APIG_BENCH_WARMUP ?? 50000);
const [ROUNDS, CALLS] = quick ? [1, 10] : [15, 20000];

const request = {
  method: "POST",
  url: "https://api.example.com/v1/items?limit=10&offset=20",
  headers: [["Content-Type", "application/json"], ["X-Project-Id", "0123456789abcdef"]],
  body: JSON.stringify({ name: "test", count: 1, tags: ["a", "b", "c"] }),
  date: Date.UTC(2024, 3, 3, 10, 15, 0),
};

// µs per call of one round, wall time and CPU time (user + system)
function round(signer, n) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) signer.sign(request);
  const wall = Number(process.hrtime.bigint() - start) / 1000 / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / n };
}

const wasm = require(join(here, "..", "pkg", "nodejs", "index.cjs"));
const cases = [{ name: "apig-wasm (Node)", signer: new wasm.Signer({ key: "AK1", secret: "secret-1" }) }];
try {
  const native = require(join(here, "..", "..", "node"));
  cases.push({ name: "apig native (napi-rs)", signer: new native.Signer({ key: "AK1", secret: "secret-1" }) });
} catch (error) {
  console.log(`native Node package not available (${error.code ?? error.message}): build it with cargo xtask build node`);
}
if (cases.length === 2 && cases[0].signer.sign(request).signature !== cases[1].signer.sign(request).signature) {
  console.error("the two packages disagree on the signature");
  process.exit(1);
}

for (const c of cases) {
  round(c.signer, WARMUP);
  c.rounds = [];
}
for (let r = 0; r < ROUNDS; r++) {
  for (const c of r % 2 === 0 ? cases : [...cases].reverse()) c.rounds.push(round(c.signer, CALLS));
}

const sorted = (xs) => xs.slice().sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
for (const c of cases) {
  const cpu = c.rounds.map((x) => x.cpu);
  const wall = c.rounds.map((x) => x.wall);
  console.log(
    `${c.name.padEnd(24)} CPU ${median(cpu).toFixed(2)} (best ${sorted(cpu)[0].toFixed(2)}, worst ${sorted(cpu).at(-1).toFixed(2)}) µs/call, ` +
      `wall ${median(wall).toFixed(2)} (${sorted(wall)[0].toFixed(2)}): median of ${ROUNDS} rounds of ${CALLS} after ${WARMUP} warm-up calls`,
  );
}
if (cases.length === 2) {
  const ratios = cases[0].rounds.map((x, i) => x.cpu / cases[1].rounds[i].cpu);
  console.log(
    `ratio wasm / native (median of the per-round CPU ratios): ${median(ratios).toFixed(2)}x ` +
      `(rounds ${sorted(ratios)[0].toFixed(2)}-${sorted(ratios).at(-1).toFixed(2)}; target ≤ 2x)`,
  );
}
console.log(`node ${process.version}, ${process.arch}`);

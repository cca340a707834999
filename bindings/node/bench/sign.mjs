// Per-call time of Signer.sign from JavaScript (and Verifier.verify for reference).
//
//   node bench/sign.mjs            (after `cargo xtask build node`; from bindings/node)
//
// Each case: 20 000 warm-up calls, then 15 rounds of 50 000 calls; prints, in µs per call, the
// median and best round by wall clock and by the process's CPU time (user + system), which stays
// meaningful when other processes share the cores. The inputs are built once, as an application
// would reuse its objects. APIG_BENCH_QUICK=1 runs a few calls only (the tests do, to keep it
// working).
import { Signer, Verifier } from 'apig-sdk'

const [WARMUP, ROUNDS, CALLS] = process.env.APIG_BENCH_QUICK === '1' ? [10, 1, 10] : [20000, 15, 50000]

const KEY = 'AKTESTEXAMPLE0000001'
const SECRET = 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv'
const signer = new Signer({ key: KEY, secret: SECRET })
const verifier = new Verifier({ keys: { [KEY]: SECRET } })

const get = {
  method: 'GET',
  url: 'https://api.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  headers: { 'Content-Type': 'application/json', 'X-Project-Id': '77b6a44cba5143ab91d13ab9a8ff44fd', 'X-Sdk-Date': '20240403T101500Z' },
}
const kib = Buffer.alloc(1024, 'a')
const post = {
  method: 'POST',
  url: 'https://api.example.com/v1/items',
  headers: { 'Content-Type': 'application/json', 'X-Sdk-Date': '20240403T101500Z' },
  body: kib,
}
const signedGet = signer.sign(get)
const toVerify = {
  method: 'GET',
  url: '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  headers: { ...get.headers, ...signedGet.headers },
  now: Date.UTC(2024, 3, 3, 10, 16, 0),
}

const cases = [
  ['sign GET, 3 headers + query', () => signer.sign(get)],
  ['sign POST, 1 KiB body (Buffer)', () => signer.sign(post)],
  ['verify GET, 3 headers + query', () => verifier.verify(toVerify)],
]

function round(fn, n) {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn()
  const wall = Number(process.hrtime.bigint() - start) / n / 1000
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / n }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const best = (xs) => Math.min(...xs)

console.log(`node ${process.version}, ${process.arch}`)
for (const [name, fn] of cases) {
  round(fn, WARMUP)
  const rounds = Array.from({ length: ROUNDS }, () => round(fn, CALLS))
  const wall = rounds.map((r) => r.wall)
  const cpu = rounds.map((r) => r.cpu)
  console.log(
    `${name.padEnd(32)} wall: median ${median(wall).toFixed(2)} best ${best(wall).toFixed(2)}` +
      `   cpu: median ${median(cpu).toFixed(2)} best ${best(cpu).toFixed(2)}  (µs/call)`,
  )
}

// Per-call time of Signer.sign from JavaScript (and Verifier.verify for reference).
//
//   node bench/sign.mjs [--core BINARY] [--official SIGNER_JS]   (after `cargo xtask build node`; from bindings/node)
//
// Each case gets 50 000 warm-up calls (V8 has then optimised the JavaScript on both sides: with
// 20 000, a whole run could stay ~1.5x slower), then 21 rounds of 20 000 calls run with the cases
// interleaved, the order reversed every other round, so that a change in the machine's load hits
// them alike; prints, in µs per call, the median and best round by wall clock and by the
// process's CPU time (user + system), which stays meaningful when other processes share the cores. The inputs are built once, as an application
// would reuse its objects. The GET and the 1 KiB POST are the requests of the core's bench
// (core/benches/sign.rs), so that the two can be compared:
//
// --core BINARY       also times the core alone on the same two requests: the core's bench binary
//                     (`cargo bench -p apig --bench sign --no-run` prints its path) in its
//                     fixed-count mode, by its CPU time less its start-up; prints what the binding
//                     adds to the core on each.
// --official FILE     also times Huawei's official JavaScript signer (its `signer.js`, which is not
//                     part of this repository: give its path) on the same two requests, checks that
//                     it signs them as apig does, and prints how many times faster apig is on each.
//
// APIG_BENCH_QUICK=1 runs a few calls only (the tests do, to keep it working).
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Signer, Verifier } from 'apig-sdk'

const quick = process.env.APIG_BENCH_QUICK === '1'
const [WARMUP, ROUNDS, CALLS] = quick ? [10, 1, 10] : [50000, 21, 20000]
const option = (name) => {
  const at = process.argv.indexOf(name)
  if (at === -1) return undefined
  const value = process.argv[at + 1]
  if (value === undefined) throw new Error(`${name} needs a path`)
  return path.resolve(value)
}
const coreBinary = option('--core')
const officialPath = option('--official')

const KEY = 'AKTESTEXAMPLE0000001'
const SECRET = 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv'
const signer = new Signer({ key: KEY, secret: SECRET })
const verifier = new Verifier({ keys: { [KEY]: SECRET } })

// core/benches/sign.rs: GET_URL, GET_HEADERS, and the 1 KiB POST of `post_1kib`
const GET_URL = 'https://api.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b'
const POST_URL = 'https://api.example.com/v1/items'
const headers = { Host: 'api.example.com', 'Content-Type': 'application/json', 'X-Sdk-Date': '20240403T101500Z' }
const get = { method: 'GET', url: GET_URL, headers }
const kib = Buffer.alloc(1024, 'x')
const post = { method: 'POST', url: POST_URL, headers, body: kib }
const signedGet = signer.sign(get)
const toVerify = {
  method: 'GET',
  url: '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b',
  headers: { ...headers, ...signedGet.headers },
  now: Date.UTC(2024, 3, 3, 10, 16, 0),
}

const GET_CASE = 'sign GET, 3 headers + query'
const POST_CASE = 'sign POST, 1 KiB body (Buffer)'
const cases = [
  [GET_CASE, () => signer.sign(get)],
  [POST_CASE, () => signer.sign(post)],
  ['verify GET, 3 headers + query', () => verifier.verify(toVerify)],
]

if (officialPath !== undefined) {
  // the official signer adds its headers to the object it is given: a fresh one per call; it takes
  // the body as text
  const official = createRequire(import.meta.url)(officialPath)
  const reference = new official.Signer()
  reference.Key = KEY
  reference.Secret = SECRET
  const text = kib.toString()
  const theirs = {
    GET: () => reference.Sign(new official.HttpRequest('GET', GET_URL, { ...headers })),
    POST: () => reference.Sign(new official.HttpRequest('POST', POST_URL, { ...headers }, text)),
  }
  for (const [what, request] of [['GET', get], ['POST', post]]) {
    const expected = signer.sign(request).authorization
    const got = theirs[what]().headers.Authorization
    if (got !== expected) throw new Error(`the official signer signs the ${what} differently:\n  ${got}\n  ${expected}`)
  }
  cases.push(['official signer: GET', theirs.GET], ['official signer: 1 KiB POST', theirs.POST])
}

function round(fn, n) {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn()
  const wall = Number(process.hrtime.bigint() - start) / n / 1000
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / n }
}

/** CPU µs per call of the core's fixed-count bench `name` (its start-up subtracted). */
function core(name, count) {
  // the child's user + system time, as bash's `times` prints it after the child has ended
  const cpu = (n) => {
    const script = `APIG_BENCH_COUNT=${n} APIG_BENCH_CASE=${name} "$0" >/dev/null; times`
    const out = spawnSync('bash', ['-c', script, coreBinary], { encoding: 'utf8' })
    if (out.status !== 0) throw new Error(`${coreBinary} failed: ${out.stderr}`)
    const [user, system] = [...out.stdout.trim().split('\n').at(-1).matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
    return user + system
  }
  const startup = Math.min(cpu(1), cpu(1), cpu(1))
  const runs = Array.from({ length: quick ? 1 : 7 }, () => cpu(count) - startup)
  return (runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)] / count) * 1e6
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const best = (xs) => Math.min(...xs)

console.log(`node ${process.version}, ${process.arch}`)
for (const [, fn] of cases) round(fn, WARMUP)
const rounds = cases.map(() => [])
for (let r = 0; r < ROUNDS; r++) {
  const order = cases.map((_, i) => i)
  if (r % 2 === 1) order.reverse()
  for (const i of order) rounds[i].push(round(cases[i][1], CALLS))
}
const results = {}
cases.forEach(([name], i) => {
  const wall = rounds[i].map((r) => r.wall)
  const cpu = rounds[i].map((r) => r.cpu)
  results[name] = median(cpu)
  console.log(
    `${name.padEnd(32)} wall: median ${median(wall).toFixed(2)} best ${best(wall).toFixed(2)}` +
      `   cpu: median ${median(cpu).toFixed(2)} best ${best(cpu).toFixed(2)}  (µs/call)`,
  )
})
for (const [what, ours, theirs, coreCase] of [
  ['GET', GET_CASE, 'official signer: GET', 'sign_get'],
  ['1 KiB POST', POST_CASE, 'official signer: 1 KiB POST', 'sign_post_1kib'],
]) {
  if (coreBinary !== undefined) {
    const alone = core(coreCase, quick ? 10 : 400000)
    console.log(`the core alone, ${what}: ${alone.toFixed(2)} µs CPU; the binding adds ${(results[ours] - alone).toFixed(2)} µs`)
  }
  if (officialPath !== undefined) {
    console.log(`apig vs the official signer, ${what}: ${(results[theirs] / results[ours]).toFixed(1)}x faster`)
  }
}

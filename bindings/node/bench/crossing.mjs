// Where a sign() of the typical GET spends its time: the whole call, the native call alone, the
// JavaScript on either side of it, and an empty napi-rs class getter for scale.
//
//   node bench/crossing.mjs        (after `cargo xtask build node`; from bindings/node)
//
// CPU time (user + system) per call, median and best of 15 rounds of 50 000 calls, the cases
// interleaved round by round so that a change in the machine's load hits them alike. It reaches
// into the package's internals (binding.js, lib/api.cjs, lib/engine.js); APIG_BENCH_QUICK=1 runs a
// few calls only (the tests do, to keep it working).
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)
const root = path.dirname(require.resolve('apig-sdk/package.json'))
const binding = require(path.join(root, 'binding.js'))
const { makeApi } = require(path.join(root, 'lib', 'api.cjs'))
const { napiEngine } = require(path.join(root, 'lib', 'engine.js'))
// an API of its own, to reach its engine's packing and unpacking
let engine
const { Signer } = makeApi((shared) => (engine = napiEngine(shared)))
const { unpackResult } = engine.internals
const [ROUNDS, CALLS] = process.env.APIG_BENCH_QUICK === '1' ? [1, 10] : [15, 50000]

const signer = new Signer({ key: 'AKTESTEXAMPLE0000001', secret: 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv' })
const get = {
  method: 'GET',
  url: 'https://api.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  headers: { 'Content-Type': 'application/json', 'X-Project-Id': '77b6a44cba5143ab91d13ab9a8ff44fd', 'X-Sdk-Date': '20240403T101500Z' },
}
// the native function sign() calls, on request pieces made once
const nativeSigner = new binding.Signer({ key: 'AKTESTEXAMPLE0000001', secret: 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv' })
const native = nativeSigner.signFunction(true)
const pieces = Object.entries(get.headers).flat()
const args = [pieces.length, get.method, get.url, ...pieces]
const packed = native(...args)
const { walkHeaders } = engine.internals

let sink
const cases = [
  ['sign() GET, all of it', () => { sink = signer.sign(get) }],
  ['native call, pieces made once', () => { sink = native(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8]) }],
  ['walk the headers', () => { sink = walkHeaders(get.headers, 'headers', false) }],
  ['slice the result', () => { sink = unpackResult(packed) }],
  ['empty napi-rs getter', () => { sink = nativeSigner.key }],
]

function round(fn, n) {
  const cpu = process.cpuUsage()
  for (let i = 0; i < n; i++) fn()
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / n
}

for (const [, fn] of cases) round(fn, CALLS)
const rounds = cases.map(() => [])
for (let r = 0; r < ROUNDS; r++) cases.forEach(([, fn], i) => rounds[i].push(round(fn, CALLS)))
console.log(`node ${process.version}, ${process.arch}; CPU µs per call`)
cases.forEach(([name], i) => {
  const xs = rounds[i].slice().sort((a, b) => a - b)
  console.log(`${name.padEnd(32)} median ${xs[Math.floor(xs.length / 2)].toFixed(3)}  best ${xs[0].toFixed(3)}`)
})

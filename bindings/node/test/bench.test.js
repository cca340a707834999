'use strict'
// The benchmark scripts (bench/, copied beside the tests by `cargo xtask test node`) stay runnable:
// each runs a few calls and prints a line per case.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const dir = path.join(__dirname, '..', 'bench')

test('the benchmark scripts run', () => {
  const scripts = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort()
  assert.deepEqual(scripts, ['crossing.mjs', 'sign.mjs'])
  for (const script of scripts) {
    const out = execFileSync(process.execPath, [path.join(dir, script)], {
      encoding: 'utf8',
      timeout: 30000,
      env: { ...process.env, APIG_BENCH_QUICK: '1' },
    })
    assert.match(out, /^sign.*GET.*median \d+\.\d+/m, `${script} printed:\n${out}`)
  }
})

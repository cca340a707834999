'use strict'
// Runs every example of examples/node (copied beside the tests by `cargo xtask test node`, where
// they import the installed package) and checks what it prints.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const dir = path.join(__dirname, '..', 'examples')
const required = process.env.APIG_REQUIRE_EXAMPLES === '1'

const expected = {
  'fetch_and_middleware.mjs': [/^200 hello AKTESTEXAMPLE0000001, you sent 15 bytes$/m, /^401 \{"error_code":"APIG\.0303","error_msg":"Incorrect app authentication information: the request has no Authorization header","request_id":"[0-9a-f]{32}"\}$/m],
  'sign_request.js': [/^Host: api\.example\.com$/m, /^Authorization: SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000001, SignedHeaders=content-type;host;x-sdk-date, Signature=[0-9a-f]{64}$/m, /^verified: AKTESTEXAMPLE0000001$/m, /^rejected: signature_mismatch \(HTTP 401\)$/m],
  'temporary_credentials.js': [/^fetch: 200 hello TMPAKEXAMPLE7QXZ2K9W, token signed: true$/m, /^credentials fetched from the backend: 1$/m, /^undici: 200 hello TMPAKEXAMPLE7QXZ2K9W, token signed: true$/m],
  'signer_js_compat.js': [/^SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, Signature=[0-9a-f]{64}$/m, /^200 accepted$/m],
}

test('every example runs and prints what it should', (t) => {
  if (!fs.existsSync(dir)) {
    assert.ok(!required, `no examples at ${dir}`)
    t.skip('examples run from the installed package only (cargo xtask test node)')
    return
  }
  const scripts = fs.readdirSync(dir).filter((f) => /\.(c|m)?js$/.test(f)).sort()
  assert.deepEqual(scripts, Object.keys(expected).sort())
  for (const script of scripts) {
    const out = execFileSync(process.execPath, [path.join(dir, script)], { encoding: 'utf8', timeout: 30000 })
    for (const pattern of expected[script]) assert.match(out, pattern, `${script} printed:\n${out}`)
  }
})

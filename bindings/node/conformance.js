#!/usr/bin/env node
'use strict'
// The Node conformance runner: walks every vector of the given files (default: every *.json in the
// repository's conformance/ folder) through the installed `apig` package's public API, prints a
// diff for each failing case and ends with `N passed, M failed` (exit 1 on any failure, 2 when a
// file cannot be read). Run by `cargo xtask conformance node [FILE...]`.

const fs = require('node:fs')
const path = require('node:path')
const { ApigError, Signer, Verifier } = require('apig-sdk')

function defaultFiles() {
  const dir = process.env.APIG_CONFORMANCE_DIR || path.join(__dirname, '..', '..', 'conformance')
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => path.join(dir, name))
}

function body(request) {
  if (request.body_base64 !== undefined) return Buffer.from(request.body_base64, 'base64')
  return request.body === undefined ? undefined : request.body
}

/** `yyyyMMddTHHmmssZ` → Date (test harness only: the package never parses dates itself). */
function vectorTime(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (m === null) throw new Error(`bad "now" ${text}`)
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]))
}

/** A line diff of two strings: `-` expected, `+` actual. */
function diff(expected, actual) {
  const a = String(expected).split('\n')
  const b = String(actual).split('\n')
  const out = []
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) out.push(`      ${a[i]}`)
    else {
      if (a[i] !== undefined) out.push(`    - ${JSON.stringify(a[i])}`)
      if (b[i] !== undefined) out.push(`    + ${JSON.stringify(b[i])}`)
    }
  }
  return out.join('\n')
}

// The v3 fields (conformance/README.md) as Signer options: a vector with a `credential_type` is
// Huawei Cloud's v3 SDKs', signed with the `huaweicloud-v3` profile. A field this runner does not
// know how to pass fails the case.
function credentialOptions(vector) {
  const kind = vector.credential_type
  if (kind === undefined) {
    if (['security_token', 'project_id', 'domain_id'].some((k) => k in vector)) {
      throw new Error('credential fields without a credential_type')
    }
    return {}
  }
  if (kind !== 'basic' && kind !== 'global') throw new Error(`unknown credential_type ${JSON.stringify(kind)}`)
  const options = { profile: 'huaweicloud-v3' }
  if (vector.security_token !== undefined) options.securityToken = vector.security_token
  if (kind === 'basic' && vector.project_id !== undefined) options.projectId = vector.project_id
  if (kind === 'global' && vector.domain_id !== undefined) options.domainId = vector.domain_id
  return options
}

function runSign(vector) {
  const options = { key: vector.key, secret: vector.secret, ...credentialOptions(vector) }
  if (vector.algorithm !== undefined) options.algorithm = vector.algorithm
  if (vector.region_id !== undefined) options.region = vector.region_id
  if (vector.service !== undefined) options.service = vector.service
  const { method, url, headers } = vector.request
  const result = new Signer(options).sign({ method, url, headers, body: body(vector.request) })
  const actual = {
    canonical_request: result.canonicalRequest,
    string_to_sign: result.stringToSign,
    signature: result.signature,
    authorization: result.authorization,
    signed_headers: result.signedHeaders,
  }
  const problems = []
  for (const field of ['canonical_request', 'string_to_sign', 'signature', 'authorization', 'signed_headers']) {
    if (field === 'signed_headers' && vector.expected[field] === undefined) continue
    if (vector.expected[field] !== actual[field]) {
      problems.push(`  ${field} differs:\n${diff(vector.expected[field], actual[field])}`)
    }
  }
  if (vector.expected.headers_added !== undefined) {
    const atSigning = new Map(vector.expected.headers_at_signing ?? [])
    const expected = vector.expected.headers_added.map((n) => `${n}: ${atSigning.get(n)}\n`).join('')
    const added = Object.entries(result.headers)
      .filter(([n]) => n !== 'Authorization')
      .map(([n, v]) => `${n}: ${v}\n`)
      .join('')
    if (expected !== added) problems.push(`  headers_added differs:\n${diff(expected, added)}`)
  }
  return problems
}

function runVerify(vector) {
  const verifier = new Verifier({ keys: vector.key_store })
  const { method, url, headers } = vector.request
  let verdict = 'accept'
  let code
  let message
  try {
    verifier.verify({ method, url, headers, body: body(vector.request), now: vectorTime(vector.now) })
  } catch (error) {
    if (!(error instanceof ApigError)) throw error
    verdict = 'reject'
    code = error.code
    message = error.message
  }
  const problems = []
  if (verdict !== vector.expected_verdict) {
    problems.push(`  verdict: expected ${vector.expected_verdict}, got ${verdict}${code ? ` (${code}: ${message})` : ''}`)
  } else if (vector.expected_error !== undefined && code !== vector.expected_error) {
    problems.push(`  error: expected ${vector.expected_error}, got ${code} (${message})`)
  }
  return problems
}

function main(args) {
  const files = args.length > 0 ? args.map((f) => path.resolve(f)) : defaultFiles()
  let passed = 0
  let failed = 0
  for (const file of files) {
    let vectors
    try {
      vectors = JSON.parse(fs.readFileSync(file, 'utf8'))
    } catch (error) {
      console.error(`cannot read ${file}: ${error.message}`)
      return 2
    }
    const shown = path.basename(file)
    for (const vector of vectors) {
      let problems
      try {
        problems = 'expected_verdict' in vector ? runVerify(vector) : runSign(vector)
      } catch (error) {
        problems = [`  threw ${error.name} ${error.code || ''}: ${error.message}`]
      }
      if (problems.length === 0) passed++
      else {
        failed++
        console.log(`FAIL ${shown} ${vector.name}\n${problems.join('\n')}`)
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`)
  return failed === 0 ? 0 : 1
}

process.exitCode = main(process.argv.slice(2))

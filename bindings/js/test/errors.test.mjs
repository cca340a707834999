// Every core error kind, produced through the shared API of apig-sdk or apig-wasm: each is an
// ApigError whose code is the core's stable code with the core's APIG answer, and the TypeScript
// union lists exactly the core's codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { AT, KEY, SECRET, apig, documentedAnswers, matchesDocumented, packageDir } from './helpers.mjs'

const { ApigError, ERROR_CODES, PayloadHasher, Signer, Verifier, hashBody, isApigError, signedFetch, axiosInterceptor, verifyMiddleware } = apig
const signer = new Signer({ key: KEY, secret: SECRET })
const verifier = new Verifier({ keys: { [KEY]: SECRET } })

/** A POST signed at AT, and the request verifying it. */
function signed(extra = {}) {
  const r = signer.sign({ method: 'POST', url: 'https://h/p?q=1', headers: { 'Content-Type': 'text/plain' }, body: 'b', date: AT, ...extra })
  const headers = { 'Content-Type': 'text/plain', ...r.headers }
  return { r, headers, request: { method: 'POST', url: '/p?q=1', headers, body: 'b', now: AT } }
}

const cases = {
  missing_authorization: () => {
    const { request, headers } = signed()
    delete headers.Authorization
    verifier.verify(request)
  },
  malformed_authorization: () => {
    const { request, headers } = signed()
    headers.Authorization = 'SDK-HMAC-SHA256 nonsense'
    verifier.verify(request)
  },
  unsupported_algorithm: () => new Verifier({ keys: { [KEY]: SECRET }, algorithms: ['SDK-HMAC-SM3'] }).verify(signed().request),
  unknown_access_key: () => new Verifier({ keys: { OTHER: SECRET } }).verify(signed().request),
  missing_date: () => {
    const { request, headers } = signed()
    delete headers['X-Sdk-Date']
    verifier.verify(request)
  },
  malformed_date: () => signer.sign({ method: 'GET', url: 'https://h/', headers: { 'X-Sdk-Date': 'yesterday' } }),
  date_not_signed: () => {
    const { request, headers } = signed()
    headers.Authorization = headers.Authorization.replace('content-type;host;x-sdk-date', 'content-type;host')
    verifier.verify(request)
  },
  expired: () => verifier.verify({ ...signed().request, now: AT + 16 * 60 * 1000 }),
  signed_header_missing: () => {
    const { request, headers } = signed()
    delete headers['Content-Type']
    verifier.verify(request)
  },
  host_not_signed: () => {
    const r = signer.sign({ method: 'GET', url: '/no-host', date: AT })
    new Verifier({ keys: { [KEY]: SECRET }, requireHost: true }).verify({ method: 'GET', url: '/no-host', headers: r.headers, now: AT })
  },
  duplicate_header: () => signer.sign({ method: 'GET', url: 'https://h/', headers: [['X-A', '1'], ['x-a', '2']] }),
  credential_scope_mismatch: () => {
    const v11 = new Signer({ key: KEY, secret: SECRET, algorithm: 'V11-HMAC-SHA256', region: 'cn-north-4' })
    const r = v11.sign({ method: 'GET', url: 'https://h/', date: AT })
    new Verifier({ keys: { [KEY]: SECRET }, region: 'eu-west-0' }).verify({ method: 'GET', url: '/', headers: r.headers, now: AT })
  },
  unsigned_payload_not_allowed: () => {
    const r = signer.sign({ method: 'PUT', url: 'https://h/', unsignedPayload: true, date: AT })
    new Verifier({ keys: { [KEY]: SECRET }, allowUnsignedPayload: false }).verify({ method: 'PUT', url: '/', headers: r.headers, body: 'x', now: AT })
  },
  payload_hash_mismatch: () => {
    const declared = signer.createHasher().update('the body').digest()
    const r = signer.sign({ method: 'PUT', url: 'https://h/', headers: { 'X-Sdk-Content-Sha256': declared }, body: 'the body', date: AT })
    verifier.verify({ method: 'PUT', url: '/', headers: { ...r.headers, 'X-Sdk-Content-Sha256': declared }, body: 'another body', now: AT })
  },
  signature_mismatch: () => verifier.verify({ ...signed().request, body: 'tampered' }),
  invalid_request: () => signer.sign({ method: 'GET', url: 'not a url' }),
  invalid_config: () => new Signer({ key: KEY, secret: '' }),
  body_read: async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'))
      },
    })
    await signer.sign({ method: 'PUT', url: 'https://h/', body: failing })
  },
}

test('ERROR_CODES is the core list and the shipped index.d.ts union says the same', () => {
  assert.equal(ERROR_CODES.length, 18)
  const dts = fs.readFileSync(path.join(packageDir, 'index.d.ts'), 'utf8')
  const union = /export type ApigErrorCode =([^]*?)\n\n/.exec(dts)
  assert.ok(union, 'index.d.ts declares ApigErrorCode')
  assert.deepEqual([...union[1].matchAll(/'([a-z_]+)'/g)].map((m) => m[1]), [...ERROR_CODES])
  assert.deepEqual(Object.keys(cases).sort(), [...ERROR_CODES].sort(), 'a case per code')
  assert.deepEqual(Object.keys(documentedAnswers()).sort(), [...ERROR_CODES].sort(), 'docs/error-codes.md lists every code')
})

for (const [code, run] of Object.entries(cases)) {
  test(`${code} is an ApigError with that code and the core's APIG answer`, async () => {
    await assert.rejects(
      async () => run(),
      (error) => {
        assert.ok(error instanceof ApigError, `${error && error.stack}`)
        assert.ok(error instanceof Error && isApigError(error))
        assert.equal(error.name, 'ApigError')
        assert.equal(error.code, code)
        assert.ok(typeof error.message === 'string' && error.message.length > 0)
        // status, APIG code and error_msg: the core's answer, as docs/error-codes.md lists it (the
        // documented text, or where the table shows one example the core's message after its lead)
        const documented = documentedAnswers()[code]
        assert.equal(error.status, documented.status)
        assert.equal(error.apigCode, documented.apigCode)
        const lead = documented.errorMsg.split(': ')[0] + ': '
        assert.ok(
          matchesDocumented(documented.errorMsg, error.apigMessage) || error.apigMessage === lead + error.message,
          `${error.apigMessage} vs ${documented.errorMsg}`,
        )
        if (code === 'signature_mismatch') {
          assert.ok(error.canonicalRequest.startsWith('POST\n/p/\nq=1\n'))
          assert.ok(error.stringToSign.startsWith('SDK-HMAC-SHA256\n20240403T101500Z\n'))
          assert.ok(error.apigMessage.endsWith(`canonicalRequest:${error.canonicalRequest.replace(/\n/g, '|')}`))
        } else {
          assert.equal(error.canonicalRequest, undefined)
        }
        return true
      },
    )
  })
}

test('hashBody reports a failing stream as body_read', async () => {
  const failing = new ReadableStream({
    pull(controller) {
      controller.error(new Error('disk on fire'))
    },
  })
  await assert.rejects(hashBody(signer, failing), (e) => e instanceof ApigError && e.code === 'body_read' && e.cause.message === 'disk on fire')
})

test('an ApigError made in JavaScript gets the core answer for its code and message', () => {
  const table = documentedAnswers()
  for (const code of ERROR_CODES) {
    const error = new ApigError('example', code)
    assert.equal(error.code, code)
    assert.equal(error.message, 'example')
    assert.equal(error.status, table[code].status)
    assert.equal(error.apigCode, table[code].apigCode)
    assert.ok(error.apigMessage.endsWith(': example'), error.apigMessage)
  }
  assert.equal(new ApigError('too big', 'body_read', 413).status, 413)
  assert.throws(() => new ApigError('x', 'no_such_code'), TypeError)
})

test('wrong JavaScript types are ApigErrors with the expected code, never crashes', () => {
  const bad = [
    [() => new Signer(), 'invalid_config'],
    [() => new Signer('AK'), 'invalid_config'],
    [() => new Signer({ key: 1, secret: 'x' }), 'invalid_config'],
    [() => new Signer({ key: KEY, secret: SECRET, algorithm: 'MD5' }), 'unsupported_algorithm'],
    [() => new Signer({ key: KEY, secret: SECRET, algorithm: 'V11-HMAC-SHA256' }), 'invalid_config'],
    [() => signer.sign(), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 5 }), 'invalid_request'],
    [() => signer.sign({ method: 'GET' }), 'invalid_request'],
    [() => signer.sign({ method: 'G ET', url: 'https://h/' }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', headers: 'x' }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', headers: [['only-name']] }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', headers: { a: {} } }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', headers: { 'Bad Name': 'x' } }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', body: 42 }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', body: {} }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', body: 'a', payloadHash: 'b' }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', payloadHash: 'b', unsignedPayload: true }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', body: 'x', unsignedPayload: true }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', unsignedPayload: 'yes' }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', date: {} }), 'invalid_request'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', date: 'today' }), 'malformed_date'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', date: NaN }), 'malformed_date'],
    [() => signer.sign({ method: 'GET', url: 'https://h/', date: 1e300 }), 'malformed_date'],
    [() => new Verifier(), 'invalid_config'],
    [() => new Verifier({}), 'invalid_config'],
    [() => new Verifier({ keys: 'x' }), 'invalid_config'],
    [() => new Verifier({ keys: { AK: 1 } }), 'invalid_config'],
    [() => new Verifier({ keys: {}, maxSkewSeconds: -1 }), 'invalid_config'],
    [() => new Verifier({ keys: {}, maxSkewSeconds: '5' }), 'invalid_config'],
    [() => new Verifier({ keys: {}, algorithms: 'all' }), 'invalid_config'],
    [() => new Verifier({ keys: {}, algorithms: ['nope'] }), 'unsupported_algorithm'],
    [() => verifier.verify({ method: 'GET' }), 'invalid_request'],
    [() => new PayloadHasher(5), 'unsupported_algorithm'],
    [() => signedFetch({}), 'invalid_config'],
    [() => signedFetch(signer, 'nope'), 'invalid_config'],
    [() => signedFetch(signer, fetch, { streams: 'maybe' }), 'invalid_config'],
    [() => signedFetch(signer, { fetch: 42 }), 'invalid_config'],
    [() => signedFetch(signer, { clockOffset: Number.NaN }), 'invalid_config'],
    [() => signedFetch(signer, { retryOnExpired: 'no' }), 'invalid_config'],
    [() => axiosInterceptor({}), 'invalid_config'],
    [() => verifyMiddleware(), 'invalid_config'],
    [() => verifyMiddleware({ keys: {}, limit: -1 }), 'invalid_config'],
    [() => verifyMiddleware({}), 'invalid_config'],
  ]
  for (const [call, code] of bad) {
    assert.throws(call, (e) => e instanceof ApigError && e.code === code, `${call}`)
  }
})

test('a NUL or a wrong type in the method, URL or headers is reported by name', () => {
  const base = { method: 'GET', url: 'https://h/x', date: AT }
  const messages = [
    [{ ...base, method: 'G\0ET' }, 'invalid HTTP method "G\\0ET"'],
    [{ ...base, url: 'https://h/x\0y' }, 'invalid URL "https://h/x\\0y": it contains control characters'],
    [{ ...base, headers: { 'a\0b': 'c\0d' } }, 'headers: NUL in "a\\u0000b"'],
    [{ ...base, headers: [['X-A', 'one\0two']] }, 'headers: NUL in "X-A"'],
    [{ ...base, headers: new Map([['X-A', '\0']]), body: 'x' }, 'headers: NUL in "X-A"'],
    [{ ...base, method: 'G\0ET', headers: { 'X-A': 'a\0' } }, 'headers: NUL in "X-A"'],
    [{ ...base, method: undefined }, 'method is required'],
    [{ ...base, method: 5 }, 'method must be a string'],
    [{ ...base, url: null, headers: { 'X-A': 'a' } }, 'url is required'],
  ]
  for (const [request, message] of messages) {
    assert.throws(
      () => signer.sign(request),
      (e) => e instanceof ApigError && e.code === 'invalid_request' && e.message === message,
      JSON.stringify(request),
    )
  }
})

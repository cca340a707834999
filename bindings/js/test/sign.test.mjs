// The shared API's signing and verifying, against apig-sdk or apig-wasm (APIG_JS_PACKAGE): the same
// cases and expectations for both engines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import { AT, DATE, KEY, PACKAGE, SECRET, apig, require } from './helpers.mjs'

const { ApigError, ERROR_CODES, HOP_BY_HOP_HEADERS, PayloadHasher, Signer, Verifier, clockSkewFromExpired, errorCodes, hashBody } = apig
const ALGORITHMS = ['SDK-HMAC-SHA256', 'SDK-HMAC-SM3', 'V11-HMAC-SHA256', 'V11-HMAC-SM3']
const signerFor = (algorithm) =>
  new Signer({ key: KEY, secret: SECRET, algorithm, region: algorithm.startsWith('V11') ? 'cn-north-4' : undefined })

test('both packages export the same API, from require and import alike', () => {
  const cjs = require(PACKAGE)
  const names = Object.keys(cjs).filter((n) => !n.startsWith('__')).sort()
  // apig-sdk adds the native credential providers (apig-credentials)
  const native = ['ChainProvider', 'EnvironmentProvider', 'MetadataProvider', 'ProfileProvider', 'StaticProvider']
  assert.deepEqual(names.filter((n) => !native.includes(n)), [
    'ApigError',
    'CREDENTIALS_ERROR_CODES',
    'ERROR_CODES',
    'HOP_BY_HOP_HEADERS',
    'PayloadHasher',
    'Signer',
    'Verifier',
    'axiosInterceptor',
    'clockSkewFromExpired',
    'credentialsSigner',
    'errorCodes',
    'hashBody',
    'isApigError',
    'isCredentialsSource',
    'signAxios',
    'signedFetch',
    'verifyMiddleware',
  ])
  assert.deepEqual(names.filter((n) => native.includes(n)), PACKAGE === 'apig-sdk' ? native : [])
  for (const name of names) assert.equal(apig[name], cjs[name], `${name}: one module instance for both`)
  assert.deepEqual([...ERROR_CODES], errorCodes())
  assert.ok(Object.isFrozen(ERROR_CODES) && Object.isFrozen(HOP_BY_HOP_HEADERS))
  for (const name of ['connection', 'proxy-authorization', 'transfer-encoding']) assert.ok(HOP_BY_HOP_HEADERS.includes(name))
})

test('sign returns the headers to add and the strings behind them', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  assert.equal(signer.key, KEY)
  assert.equal(signer.algorithm, 'SDK-HMAC-SHA256')
  const r = signer.sign({
    method: 'POST',
    url: 'https://api.example.com/v1/items?b=2&a=1',
    headers: { 'Content-Type': 'application/json' },
    body: '{"a":1}',
    date: new Date(AT),
  })
  assert.deepEqual(Object.keys(r.headers), ['Host', 'X-Sdk-Date', 'Authorization'])
  assert.equal(r.headers.Host, 'api.example.com')
  assert.equal(r.headers['X-Sdk-Date'], DATE)
  assert.equal(r.date, DATE)
  assert.equal(r.headers.Authorization, r.authorization)
  assert.equal(r.signedHeaders, 'content-type;host;x-sdk-date')
  assert.match(r.signature, /^[0-9a-f]{64}$/)
  assert.equal(r.authorization, `SDK-HMAC-SHA256 Access=${KEY}, SignedHeaders=content-type;host;x-sdk-date, Signature=${r.signature}`)
  assert.ok(r.canonicalRequest.startsWith('POST\n/v1/items/\na=1&b=2\n'))
  assert.ok(r.stringToSign.startsWith(`SDK-HMAC-SHA256\n${DATE}\n`))
  assert.equal(r.credentialScope, undefined)
})

test('sign then verify, for every algorithm; a tampered request fails', () => {
  const verifier = new Verifier({ keys: new Map([[KEY, SECRET]]) })
  for (const algorithm of ALGORITHMS) {
    const signer = signerFor(algorithm)
    assert.equal(signer.algorithm, algorithm)
    const body = JSON.stringify({ name: 'test', count: 1 })
    const out = signer.sign({ method: 'POST', url: 'https://api.example.com/v1/items?limit=10', headers: [['Content-Type', 'application/json']], body, date: DATE })
    assert.ok(out.authorization.startsWith(`${algorithm} `))
    assert.equal(out.credentialScope, algorithm.startsWith('V11') ? '20240403/cn-north-4/apic' : undefined)
    const received = [['Content-Type', 'application/json'], ...Object.entries(out.headers)]
    const identity = verifier.verify({ method: 'POST', url: '/v1/items?limit=10', headers: received, body, now: AT + 60_000 })
    assert.equal(identity.accessKey, KEY)
    assert.equal(identity.algorithm, algorithm)
    assert.deepEqual(identity.signedHeaders, ['content-type', 'host', 'x-sdk-date'])
    assert.equal(identity.signedAt.toISOString(), '2024-04-03T10:15:00.000Z')
    assert.equal(identity.unsignedPayload, false)
    assert.throws(
      () => verifier.verify({ method: 'POST', url: '/v1/items?limit=10', headers: received, body: body + ' ', now: AT }),
      (e) => e instanceof ApigError && e.code === 'signature_mismatch',
    )
  }
  const v11 = signerFor('V11-HMAC-SHA256').sign({ method: 'GET', url: 'https://h/', date: AT })
  assert.ok(v11.authorization.startsWith(`V11-HMAC-SHA256 Credential=${KEY}/20240403/cn-north-4/apic, `))
})

test('temporary credentials and service ids: securityToken, projectId, domainId, profile', () => {
  const token = 'gQpj+token/=='
  const signer = new Signer({ key: KEY, secret: SECRET, securityToken: token, domainId: 'd1', profile: 'v3' })
  const out = signer.sign({
    method: 'PUT',
    url: 'https://h/o',
    headers: { 'Content-Type': 'text/plain', 'X-Sdk-Date': DATE },
    body: 'data',
  })
  assert.deepEqual(Object.keys(out.headers), ['X-Domain-Id', 'X-Security-Token', 'Host', 'X-Sdk-Content-Sha256', 'Authorization'])
  assert.equal(out.headers['X-Security-Token'], token)
  assert.equal(out.signedHeaders, 'content-type;host;x-domain-id;x-sdk-content-sha256;x-sdk-date;x-security-token')
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const identity = verifier.verify({
    method: 'PUT',
    url: '/o',
    headers: { 'Content-Type': 'text/plain', 'X-Sdk-Date': DATE, ...out.headers },
    body: 'data',
    now: DATE,
  })
  assert.equal(identity.unsignedPayload, true)
  for (const [options, code] of [
    [{ securityToken: '' }, 'invalid_config'],
    [{ projectId: 'a\nb' }, 'invalid_config'],
    [{ profile: 'v2' }, 'invalid_config'],
    [{ securityToken: 42 }, 'invalid_config'],
  ]) {
    assert.throws(() => new Signer({ key: KEY, secret: SECRET, ...options }), (e) => e instanceof ApigError && e.code === code, JSON.stringify(options))
  }
  assert.throws(
    () => signer.sign({ method: 'GET', url: 'https://h/', headers: { 'X-Security-Token': 'another' } }),
    (e) => e.code === 'duplicate_header' && !e.message.includes(token),
  )
})

test('the signing time: X-Sdk-Date header, a Date, milliseconds or an X-Sdk-Date string; default now', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'http://127.0.0.1:8080/x' }
  const carried = signer.sign({ ...base, headers: { 'X-Sdk-Date': DATE } })
  assert.deepEqual(Object.keys(carried.headers), ['Host', 'Authorization'])
  for (const date of [AT, new Date(AT), DATE, AT + 999]) assert.equal(signer.sign({ ...base, date }).signature, carried.signature, String(date))
  assert.notEqual(signer.sign({ ...base, date: AT + 1000 }).signature, carried.signature)
  const before = Date.now()
  const now = signer.sign({ method: 'GET', url: 'http://h/' })
  const signedAt = new Verifier({ keys: { [KEY]: SECRET } }).verify({ method: 'GET', url: '/', headers: now.headers }).signedAt.getTime()
  assert.ok(signedAt >= Math.floor(before / 1000) * 1000 && signedAt <= Date.now(), 'signed at Date.now()')
})

test('a time after the year 9999 is malformed_date, from sign and verify alike', () => {
  // once: date 1e20 signed as 00000000T000000Z
  const signer = new Signer({ key: KEY, secret: SECRET })
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const signed = signer.sign({ method: 'GET', url: 'https://h/x' })
  for (const date of [1e20, 253402300800000, Infinity, NaN, new Date(NaN), 'yesterday']) {
    assert.throws(() => signer.sign({ method: 'GET', url: 'https://h/x', date }), (e) => e instanceof ApigError && e.code === 'malformed_date', String(date))
    assert.throws(
      () => verifier.verify({ method: 'GET', url: '/x', headers: { Host: 'h', ...signed.headers }, now: date }),
      (e) => e instanceof ApigError && e.code === 'malformed_date',
      String(date),
    )
  }
  assert.throws(() => signer.sign({ method: 'GET', url: 'https://h/x', date: 1e20 }), /99991231T235959Z/)
  assert.equal(signer.sign({ method: 'GET', url: 'https://h/x', date: 253402300799999 }).date, '99991231T235959Z')
})

test('a time before 1970: the native engine signs it; WebAssembly, whose clock starts in 1970, refuses it as invalid_request', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const at = (date) => signer.sign({ method: 'GET', url: 'https://h/x', date }).date
  if (PACKAGE === 'apig-sdk') {
    assert.equal(at(-62135596800000), '00010101T000000Z')
    assert.throws(() => at(-1e20), (e) => e instanceof ApigError && e.code === 'malformed_date')
  } else {
    for (const date of [-1, -62135596800000, '19691231T235959Z']) {
      assert.throws(() => at(date), (e) => e instanceof ApigError && e.code === 'invalid_request' && /after 1970/.test(e.message), String(date))
    }
  }
})

test('an array header value repeats the header: equal values sign once, different ones are duplicate_header', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'https://h/x', date: AT }
  const once = signer.sign({ ...base, headers: { 'X-Tag': 'a' } })
  assert.equal(signer.sign({ ...base, headers: { 'X-Tag': ['a', 'a'] } }).signature, once.signature)
  assert.equal(signer.sign({ ...base, headers: { 'X-Tag': ['a'] } }).signature, once.signature)
  assert.throws(
    () => signer.sign({ ...base, headers: { 'X-Tag': ['a', 'b'] } }),
    (e) => e instanceof ApigError && e.code === 'duplicate_header' && e.message.includes('joined with ", "'),
  )
  assert.ok(signer.sign({ ...base, headers: { 'X-Tag': 'a, b' } }).canonicalRequest.includes('\nx-tag:a, b\n'))
})

test('every header form gives the same signature', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'https://h/p', date: AT }
  const forms = [
    { 'X-A': 'one', 'X-N': '5' },
    { 'X-A': 'one', 'X-N': 5 },
    [['X-A', 'one'], ['X-N', '5']],
    [['X-A', 'one'], ['X-N', 5]],
    new Map([['X-A', 'one'], ['X-N', '5']]),
    new Headers({ 'X-A': 'one', 'X-N': '5' }),
    { 'X-A': ['one'], 'X-N': '5', 'X-Skipped': undefined, 'X-Null': null },
  ]
  const signatures = forms.map((headers) => signer.sign({ ...base, headers }).signature)
  assert.equal(new Set(signatures).size, 1, signatures.join(' '))
  assert.notEqual(signer.sign({ ...base, headers: { 'X-A': 'one' } }).signature, signatures[0])
})

test('a headers object gives its own enumerable string-keyed properties only, in order', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'https://h/p', date: AT }
  const expected = signer.sign({ ...base, headers: [['X-A', 'one'], ['X-N', '5']] }).signedHeaders
  const bare = Object.create(null)
  Object.assign(bare, { 'X-A': 'one', 'X-N': '5' })
  const extra = { 'X-A': 'one', 'X-N': '5', [Symbol('x-sym')]: 'no' }
  Object.defineProperty(extra, 'X-Hidden', { value: 'no', enumerable: false })
  Object.prototype['X-Inherited'] = 'no'
  try {
    for (const headers of [bare, extra, { 'X-A': 'one', 'X-N': '5' }]) {
      assert.equal(signer.sign({ ...base, headers }).signedHeaders, expected)
    }
  } finally {
    delete Object.prototype['X-Inherited']
  }
  assert.equal(expected, 'host;x-a;x-n;x-sdk-date')
})

test('an unpaired surrogate in the URL or a header is signed as U+FFFD, as its UTF-8 encoding makes it', () => {
  // JavaScript strings may hold one; the request crosses as UTF-8 (wasm) or UTF-16 read as UTF-8 (native)
  const signer = new Signer({ key: KEY, secret: SECRET })
  const sign = (text) => signer.sign({ method: 'GET', url: `https://h/${text}?q=${text}`, headers: { 'X-A': `a${text}b`, 'X-Sdk-Date': DATE } })
  const expected = sign('\uFFFD')
  for (const lone of ['\uD800', '\uDC00', 'x\uDBFF']) {
    const out = sign(lone)
    assert.equal(out.authorization, lone.startsWith('x') ? sign('x\uFFFD').authorization : expected.authorization, JSON.stringify(lone))
  }
})

test('non-ASCII text, many headers and large bodies cross intact, both ways', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const sha256 = (data) => createHash('sha256').update(data).digest('hex')
  const headers = Array.from({ length: 40 }, (_, i) => [`X-${'h'.repeat(i % 11)}${i}`, `v${i} ü😀 é${'v'.repeat(i % 13)}`])
  const body = 'naïve body \0 with NUL ✓'
  const out = signer.sign({ method: 'POST', url: 'https://api.example.com/ä/b?q=ö', headers, body, date: DATE })
  for (const [name, value] of headers) assert.ok(out.canonicalRequest.includes(`\n${name.toLowerCase()}:${value}\n`), name)
  assert.equal(out.stringToSign.split('\n').pop(), sha256(out.canonicalRequest))
  assert.equal(out.canonicalRequest.split('\n').pop(), sha256(body))
  const identity = verifier.verify({ method: 'POST', url: '/ä/b?q=ö', headers: [...headers, ...Object.entries(out.headers)], body, now: AT })
  assert.equal(identity.signedHeaders.length, 42)
  // null options are omitted ones
  const plain = signer.sign({ method: 'GET', url: 'https://h/caf%C3%A9', headers: { 'X-Name': 'café', 'X-Sdk-Date': DATE } })
  assert.deepEqual(signer.sign({ method: 'GET', url: 'https://h/caf%C3%A9', headers: { 'X-Name': 'café', 'X-Sdk-Date': DATE }, body: null, payloadHash: null, unsignedPayload: false, date: null }), plain)
  assert.deepEqual(signer.sign({ method: 'GET', url: 'https://h/caf%C3%A9', headers: { 'X-Name': 'café', 'X-Sdk-Date': DATE }, body: '' }), plain)
  // bodies larger than any buffer kept between calls, as text and as bytes
  const small = signer.sign({ method: 'GET', url: 'https://h/', date: DATE })
  const large = 'x✓'.repeat(600_000)
  for (const big of [large, new TextEncoder().encode(large)]) {
    assert.equal(signer.sign({ method: 'PUT', url: 'https://h/up', body: big, date: DATE }).canonicalRequest.split('\n').pop(), sha256(big))
    assert.deepEqual(signer.sign({ method: 'GET', url: 'https://h/', date: DATE }), small)
  }
})

test('bodies as text, Buffers, typed arrays, ArrayBuffers, views, hashes and streams sign the same', async () => {
  for (const algorithm of ALGORITHMS) {
    const signer = signerFor(algorithm)
    const text = 'héllo, wörld '.repeat(1000)
    const bytes = new TextEncoder().encode(text)
    const sig = (request) => signer.sign({ method: 'PUT', url: 'http://h/up', date: DATE, ...request }).signature
    const expected = sig({ body: text })
    const padded = new Uint8Array(bytes.length + 10)
    padded.set(bytes, 5)
    for (const body of [bytes, Buffer.from(text), bytes.buffer, new DataView(bytes.buffer), new Uint8Array(padded.buffer, 5, bytes.length), padded.subarray(5, 5 + bytes.length)]) {
      assert.equal(sig({ body }), expected, `${algorithm} ${body.constructor.name}`)
    }
    const hasher = signer.createHasher()
    for (let i = 0; i < bytes.length; i += 777) assert.equal(hasher.update(bytes.subarray(i, i + 777)), hasher, 'update() chains')
    assert.equal(sig({ payloadHash: hasher.digest() }), expected)
    assert.equal(sig({ payloadHash: new PayloadHasher(algorithm).update(text).digest() }), expected)

    const chunks = []
    for (let i = 0; i < bytes.length; i += 7000) chunks.push(bytes.subarray(i, i + 7000))
    async function* generate() {
      yield* chunks
    }
    const streams = [Readable.from(chunks), generate(), Readable.toWeb(Readable.from(chunks)), new Blob(chunks), new Blob([text]).stream()]
    for (const body of streams) {
      const signed = signer.sign({ method: 'PUT', url: 'http://h/up', date: DATE, body })
      assert.ok(signed instanceof Promise, 'a stream body: sign() returns a Promise')
      assert.equal((await signed).signature, expected)
    }
    assert.equal(await signer.hashStream(Readable.from(['héllo, wörld '.repeat(500), Buffer.from('héllo, wörld '.repeat(500))])), new PayloadHasher(algorithm).update(text).digest())

    const blob = await hashBody(signer, new Blob([bytes.subarray(0, 10), bytes.subarray(10)]))
    assert.equal(sig({ payloadHash: blob.payloadHash }), expected)
    assert.ok(blob.body instanceof Blob)
    const stream = await hashBody(signer, new Blob([text]).stream())
    assert.equal(sig({ payloadHash: stream.payloadHash }), expected)
    assert.equal(await stream.body.text(), text, "the stream's bytes come back as a Blob to send")
    const whole = await hashBody(signer, text)
    assert.equal(whole.body, text)
    assert.equal(sig({ payloadHash: whole.payloadHash }), expected)
    assert.equal(sig({ payloadHash: (await hashBody(signer, null)).payloadHash }), sig({}), 'empty body')
  }
})

test('unsignedPayload signs UNSIGNED-PAYLOAD; a verifier accepts it with or without the body', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const r = signer.sign({ method: 'PUT', url: 'https://h/big', unsignedPayload: true, date: AT })
  assert.equal(r.headers['X-Sdk-Content-Sha256'], 'UNSIGNED-PAYLOAD')
  assert.ok(r.canonicalRequest.endsWith('\nUNSIGNED-PAYLOAD'))
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  for (const body of [{ body: 'anything' }, { unsignedPayload: true }]) {
    assert.equal(verifier.verify({ method: 'PUT', url: '/big', headers: r.headers, now: AT, ...body }).unsignedPayload, true)
  }
})

test('PayloadHasher digests once; an unknown algorithm is unsupported_algorithm', () => {
  const hasher = new Signer({ key: KEY, secret: SECRET }).createHasher()
  assert.ok(hasher instanceof PayloadHasher)
  assert.match(hasher.update('a').digest(), /^[0-9a-f]{64}$/)
  assert.throws(() => hasher.digest(), (e) => e instanceof ApigError && e.code === 'invalid_request')
  assert.throws(() => hasher.update('b'), (e) => e instanceof ApigError && e.code === 'invalid_request')
  assert.equal(new PayloadHasher().update('ab').digest(), new PayloadHasher('SDK-HMAC-SHA256').update('a').update(new Uint8Array([98])).digest())
  assert.notEqual(new PayloadHasher('SDK-HMAC-SM3').update('ab').digest(), new PayloadHasher().update('ab').digest())
  assert.throws(() => new PayloadHasher('nope'), (e) => e instanceof ApigError && e.code === 'unsupported_algorithm')
  assert.throws(() => new PayloadHasher().update(7), (e) => e instanceof ApigError && e.code === 'invalid_request')
})

test('verifier keys: object, Map, pairs and function', () => {
  const signed = new Signer({ key: KEY, secret: SECRET }).sign({ method: 'GET', url: 'https://h/k?x=1', date: AT })
  const request = { method: 'GET', url: '/k?x=1', headers: signed.headers, now: AT }
  const asked = []
  const lookup = (ak) => (asked.push(ak), ak === KEY ? SECRET : undefined)
  for (const keys of [{ [KEY]: SECRET }, new Map([[KEY, SECRET]]), [[KEY, SECRET]], lookup]) {
    assert.equal(new Verifier({ keys }).verify(request).accessKey, KEY)
  }
  assert.deepEqual(asked, [KEY])
  assert.throws(() => new Verifier({ keys: () => undefined }).verify(request), (e) => e instanceof ApigError && e.code === 'unknown_access_key')
  const boom = new Error('key store down')
  assert.throws(() => new Verifier({ keys: () => { throw boom } }).verify(request), (e) => e === boom)
  for (const keys of [async () => SECRET, () => 42]) {
    assert.throws(() => new Verifier({ keys }).verify(request), (e) => e instanceof ApigError && e.code === 'invalid_config')
  }
})

test("the skew of a gateway's 'signature expired' answer", () => {
  const answer = '{"error_msg":"Incorrect app authentication information: signature expired, signature time:20191115T033655Z, server time:20191115T035255Z","error_code":"APIG.0303"}'
  assert.equal(clockSkewFromExpired(answer), 960)
  assert.equal(clockSkewFromExpired('signature expired, signature time:20191115T035255Z, server time:20191115T033655Z'), -960)
  assert.equal(clockSkewFromExpired('{"error_msg":"Incorrect app authentication information: verify signature fail"}'), undefined)
  assert.equal(clockSkewFromExpired(''), undefined)
})

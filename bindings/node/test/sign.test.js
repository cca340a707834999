'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Readable } = require('node:stream')
const { ApigError, PayloadHasher, Signer, Verifier } = require('apig-sdk')
const { KEY, SECRET } = require('./helpers.js')

const DATE = '20240403T101500Z'
const AT = Date.UTC(2024, 3, 3, 10, 15, 0)

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

test('a request that carries X-Sdk-Date is signed at that date; date numbers equal Dates', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'http://127.0.0.1:8080/x' }
  const carried = signer.sign({ ...base, headers: { 'X-Sdk-Date': DATE } })
  assert.deepEqual(Object.keys(carried.headers), ['Host', 'Authorization'])
  assert.equal(carried.signature, signer.sign({ ...base, date: AT }).signature)
  assert.equal(carried.signature, signer.sign({ ...base, date: new Date(AT) }).signature)
})

test('a time outside the years 0001 to 9999 is malformed_date, from sign and verify alike', () => {
  // once: date 1e20 signed as 00000000T000000Z
  const signer = new Signer({ key: KEY, secret: SECRET })
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const signed = signer.sign({ method: 'GET', url: 'https://h/x' })
  for (const date of [1e20, -1e20, 253402300800000, Infinity, NaN, new Date(NaN)]) {
    assert.throws(() => signer.sign({ method: 'GET', url: 'https://h/x', date }),
      (e) => e instanceof ApigError && e.code === 'malformed_date' && /99991231T235959Z/.test(e.message), String(date))
    assert.throws(() => verifier.verify({ method: 'GET', url: '/x', headers: { Host: 'h', ...signed.headers }, now: date }),
      (e) => e instanceof ApigError && e.code === 'malformed_date', String(date))
  }
  assert.equal(signer.sign({ method: 'GET', url: 'https://h/x', date: 253402300799999 }).date, '99991231T235959Z')
  assert.equal(signer.sign({ method: 'GET', url: 'https://h/x', date: -62135596800000 }).date, '00010101T000000Z')
})

test('an array header value repeats the header: equal values sign once, different ones are duplicate_header', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'https://h/x', date: AT }
  const once = signer.sign({ ...base, headers: { 'X-Tag': 'a' } })
  assert.equal(signer.sign({ ...base, headers: { 'X-Tag': ['a', 'a'] } }).signature, once.signature)
  assert.equal(signer.sign({ ...base, headers: { 'X-Tag': ['a'] } }).signature, once.signature)
  assert.throws(() => signer.sign({ ...base, headers: { 'X-Tag': ['a', 'b'] } }),
    (e) => e instanceof ApigError && e.code === 'duplicate_header' && e.message.includes('joined with ", "'))
  const joined = signer.sign({ ...base, headers: { 'X-Tag': ['a', 'b'].join(', ') } })
  assert.ok(joined.canonicalRequest.includes('\nx-tag:a, b\n'))
})

test('createHasher().update() returns the hasher, for chaining', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const hasher = signer.createHasher()
  assert.equal(hasher.update('a'), hasher)
  assert.equal(hasher.update(Buffer.from('b')).digest(), signer.createHasher().update('ab').digest())
})

test('non-ASCII header values and omitted or null options sign alike through either result encoding', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const request = { method: 'GET', url: 'https://api.example.com/caf%C3%A9', headers: { 'X-Name': 'café 中文', 'X-Sdk-Date': DATE } }
  const plain = signer.sign(request)
  assert.ok(plain.canonicalRequest.includes('\nx-name:café 中文\n'), plain.canonicalRequest)
  assert.deepEqual(Object.keys(plain.headers), ['Host', 'Authorization'])
  assert.equal(plain.headers.Authorization, plain.authorization)
  const nulls = signer.sign({ ...request, body: null, payloadHash: null, unsignedPayload: false, date: null })
  assert.deepEqual(nulls, plain)
  const explicit = signer.sign({ ...request, body: '' })
  assert.deepEqual(explicit, plain)
  const identity = verifier.verify({ ...request, url: '/caf%C3%A9', headers: { ...request.headers, ...plain.headers }, now: AT })
  assert.equal(identity.accessKey, KEY)
})

test('many headers, and names and values of every short length, all reach the core', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const headers = { 'X-Sdk-Date': DATE }
  for (let i = 1; i <= 40; i++) headers[`X-${'h'.repeat(i % 11)}${i}`] = 'v'.repeat(i % 13)
  const signed = signer.sign({ method: 'PUT', url: 'https://h/many', headers, body: 'b' })
  for (const [name, value] of Object.entries(headers)) {
    assert.ok(signed.canonicalRequest.includes(`\n${name.toLowerCase()}:${value}\n`), name)
  }
  const identity = verifier.verify({ method: 'PUT', url: '/many', headers: { ...headers, ...signed.headers }, body: 'b', now: AT })
  assert.equal(identity.signedHeaders.length, 42)
})

test('every header form gives the same signature', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'GET', url: 'https://h/p', date: AT }
  const forms = [
    { 'X-A': 'one', 'X-N': '5' },
    { 'X-A': 'one', 'X-N': 5 },
    [['X-A', 'one'], ['X-N', '5']],
    new Map([['X-A', 'one'], ['X-N', '5']]),
    new Headers({ 'X-A': 'one', 'X-N': '5' }),
    { 'X-A': ['one'], 'X-N': '5', 'X-Skipped': undefined },
  ]
  const signatures = forms.map((headers) => signer.sign({ ...base, headers }).signature)
  assert.equal(new Set(signatures).size, 1, signatures.join(' '))
})

test('string, Buffer, Uint8Array, ArrayBuffer and payloadHash bodies agree', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'PUT', url: 'https://h/upload', date: AT }
  const text = 'héllo wörld'
  const bytes = Buffer.from(text, 'utf8')
  const view = new Uint8Array(bytes)
  const sliced = new Uint8Array(Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')])).subarray(2, 2 + bytes.length)
  const hash = signer.createHasher().update(text).digest()
  const results = [
    { body: text },
    { body: bytes },
    { body: view },
    { body: sliced },
    { body: view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) },
    { payloadHash: hash },
  ].map((extra) => signer.sign({ ...base, ...extra }).signature)
  assert.equal(new Set(results).size, 1)
  assert.ok(signer.sign({ ...base, body: text }).canonicalRequest.endsWith(hash))
})

test('stream bodies are hashed chunk by chunk: same signature as the buffer', async () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const base = { method: 'POST', url: 'https://h/stream', headers: { 'Content-Type': 'application/octet-stream' }, date: AT }
  const data = Buffer.alloc(300 * 1024)
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251
  const expected = signer.sign({ ...base, body: data })
  const chunks = []
  for (let i = 0; i < data.length; i += 7000) chunks.push(data.subarray(i, i + 7000))

  const fromReadable = await signer.sign({ ...base, body: Readable.from(chunks) })
  async function* generate() {
    for (const chunk of chunks) yield chunk
  }
  const fromGenerator = await signer.sign({ ...base, body: generate() })
  const fromWeb = await signer.sign({ ...base, body: Readable.toWeb(Readable.from(chunks)) })
  for (const streamed of [fromReadable, fromGenerator, fromWeb]) {
    assert.equal(streamed.signature, expected.signature)
    assert.equal(streamed.canonicalRequest, expected.canonicalRequest)
  }
  assert.equal(await signer.hashStream(Readable.from(['ab', Buffer.from('c')])), signer.createHasher().update('abc').digest())
})

test('unsignedPayload signs UNSIGNED-PAYLOAD and adds its header', () => {
  const signer = new Signer({ key: KEY, secret: SECRET })
  const r = signer.sign({ method: 'PUT', url: 'https://h/big', unsignedPayload: true, date: AT })
  assert.equal(r.headers['X-Sdk-Content-Sha256'], 'UNSIGNED-PAYLOAD')
  assert.ok(r.canonicalRequest.endsWith('\nUNSIGNED-PAYLOAD'))
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  const identity = verifier.verify({ method: 'PUT', url: '/big', headers: r.headers, body: 'anything', now: AT })
  assert.equal(identity.unsignedPayload, true)
})

test('PayloadHasher digests once', () => {
  const hasher = new Signer({ key: KEY, secret: SECRET }).createHasher()
  assert.ok(hasher instanceof PayloadHasher)
  hasher.update('a')
  assert.match(hasher.digest(), /^[0-9a-f]{64}$/)
  assert.throws(() => hasher.digest(), (e) => e instanceof ApigError && e.code === 'invalid_request')
  assert.throws(() => hasher.update('b'), (e) => e instanceof ApigError && e.code === 'invalid_request')
})

test('V11 and SM3 signers report their algorithm and scope', () => {
  const v11 = new Signer({ key: KEY, secret: SECRET, algorithm: 'V11-HMAC-SHA256', region: 'cn-north-4' })
  const r = v11.sign({ method: 'GET', url: 'https://h/', date: AT })
  assert.equal(r.credentialScope, '20240403/cn-north-4/apic')
  assert.ok(r.authorization.startsWith(`V11-HMAC-SHA256 Credential=${KEY}/20240403/cn-north-4/apic, `))
  const sm3 = new Signer({ key: KEY, secret: SECRET, algorithm: 'SDK-HMAC-SM3' })
  assert.equal(sm3.algorithm, 'SDK-HMAC-SM3')
  const verifier = new Verifier({ keys: { [KEY]: SECRET } })
  for (const signer of [v11, sm3]) {
    const signed = signer.sign({ method: 'POST', url: 'https://h/x', body: 'b', date: AT })
    const identity = verifier.verify({ method: 'POST', url: '/x', headers: signed.headers, body: 'b', now: AT + 1000 })
    assert.equal(identity.algorithm, signer.algorithm)
    assert.equal(identity.accessKey, KEY)
    assert.deepEqual(identity.signedAt, new Date(AT))
  }
})

test('verifier keys: object, Map and function', () => {
  const signed = new Signer({ key: KEY, secret: SECRET }).sign({ method: 'GET', url: 'https://h/k?x=1', date: AT })
  const request = { method: 'GET', url: '/k?x=1', headers: signed.headers, now: AT }
  const asked = []
  for (const keys of [{ [KEY]: SECRET }, new Map([[KEY, SECRET]]), (ak) => (asked.push(ak), ak === KEY ? SECRET : undefined)]) {
    assert.equal(new Verifier({ keys }).verify(request).accessKey, KEY)
  }
  assert.deepEqual(asked, [KEY])
  const boom = new Error('key store down')
  assert.throws(() => new Verifier({ keys: () => { throw boom } }).verify(request), (e) => e === boom)
  assert.throws(
    () => new Verifier({ keys: async () => SECRET }).verify(request),
    (e) => e instanceof ApigError && e.code === 'invalid_config',
  )
})

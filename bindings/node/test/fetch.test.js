'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Readable } = require('node:stream')
const { Signer, signedFetch } = require('apig-sdk')
const { KEY, SECRET, verifyingServer } = require('./helpers.js')

const signer = new Signer({ key: KEY, secret: SECRET })

test('signedFetch: accepted requests of every body kind', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  const apigFetch = signedFetch(signer)

  const get = await apigFetch(`${server.url}/v1/items?limit=2&b=x%20y`, { headers: { 'X-Custom': 'c' } })
  assert.equal(get.status, 200)
  const got = await get.json()
  assert.equal(got.accessKey, KEY)
  assert.equal(got.url, '/v1/items?limit=2&b=x%20y')
  assert.ok(got.signedHeaders.includes('x-custom'))

  const bodies = [
    ['a string', JSON.stringify({ a: 1, é: 'ü' })],
    ['a Uint8Array', new TextEncoder().encode('bytes body')],
    ['URLSearchParams', new URLSearchParams({ a: '1', b: 'two words' })],
    ['a Blob', new Blob(['blob body'])],
  ]
  for (const [what, body] of bodies) {
    const res = await apigFetch(`${server.url}/upload`, { method: 'POST', body })
    assert.equal(res.status, 200, what)
    const echoed = await res.json()
    assert.equal(echoed.unsignedPayload, false, what)
    assert.equal(echoed.body, await new Response(body).text(), what)
    if (typeof body === 'string') assert.ok(echoed.signedHeaders.includes('content-type'))
  }

  const form = new FormData()
  form.append('field', 'value')
  const multipart = await apigFetch(`${server.url}/form`, { method: 'POST', body: form })
  assert.equal(multipart.status, 200)
  assert.match((await multipart.json()).body, /name="field"\r\n\r\nvalue/)

  const request = new Request(`${server.url}/req?x=1`, { method: 'PUT', body: 'from a Request', headers: { 'X-R': '1' } })
  const fromRequest = await apigFetch(request)
  assert.equal(fromRequest.status, 200)
  assert.equal((await fromRequest.json()).body, 'from a Request')
})

test('signedFetch: streamed bodies are unsigned by default, or buffered', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  const chunks = () => Readable.toWeb(Readable.from([Buffer.from('chunk-1,'), Buffer.from('chunk-2')]))

  const unsigned = await signedFetch(signer)(`${server.url}/s`, { method: 'POST', body: chunks(), duplex: 'half' })
  assert.equal(unsigned.status, 200)
  const u = await unsigned.json()
  assert.equal(u.unsignedPayload, true)
  assert.equal(u.body, 'chunk-1,chunk-2')
  assert.ok(u.signedHeaders.includes('x-sdk-content-sha256'))

  const buffered = await signedFetch(signer, fetch, { streams: 'buffer' })(`${server.url}/s`, { method: 'POST', body: chunks() })
  const b = await buffered.json()
  assert.equal(b.unsignedPayload, false)
  assert.equal(b.body, 'chunk-1,chunk-2')
})

test('signedFetch: tampered requests are rejected with an APIG.0303 JSON answer', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  // a fetch that changes the request after it was signed
  const tamper = (change) => (url, init) => fetch(change.url ? change.url(url) : url, { ...init, ...(change.init ? change.init(init) : {}) })
  const tampered = [
    signedFetch(signer, tamper({ url: (u) => u.replace('limit=2', 'limit=3') })),
    signedFetch(signer, tamper({ init: () => ({ body: 'changed body' }) })),
    signedFetch(signer, tamper({ init: (i) => ({ headers: i.headers.map(([n, v]) => [n, n === 'x-custom' ? 'evil' : v]) }) })),
    signedFetch(new Signer({ key: KEY, secret: 'wrong secret' })),
  ]
  for (const apigFetch of tampered) {
    const res = await apigFetch(`${server.url}/v1/items?limit=2`, { method: 'POST', body: 'original body', headers: { 'X-Custom': 'c' } })
    assert.equal(res.status, 401)
    assert.match(res.headers.get('content-type'), /^application\/json/)
    const answer = await res.json()
    assert.equal(answer.error_code, 'APIG.0303')
    assert.match(answer.error_msg, /^Incorrect app authentication information: verify signature fail, canonicalRequest:POST\|\/v1\/items\/\|limit=\d+\|/)
    assert.match(answer.request_id, /^[0-9a-f]{32}$/)
    assert.equal(res.headers.get('x-request-id'), answer.request_id)
  }
  const unknown = await signedFetch(new Signer({ key: 'AKUNKNOWN', secret: SECRET }))(`${server.url}/x`)
  assert.equal(unknown.status, 401)
  assert.match((await unknown.json()).error_msg, /app not found, appkey AKUNKNOWN/)
})

test('signedFetch rejects bad arguments', () => {
  assert.throws(() => signedFetch({}), TypeError)
  assert.throws(() => signedFetch(signer, 'nope'), TypeError)
  assert.throws(() => signedFetch(signer, fetch, { streams: 'maybe' }), TypeError)
})

test('signedFetch and axiosInterceptor leave the core hop-by-hop headers out of the signature', async () => {
  const { HOP_BY_HOP_HEADERS, axiosInterceptor } = require('apig-sdk')
  const axios = require('axios')
  for (const name of ['connection', 'proxy-authorization', 'transfer-encoding']) assert.ok(HOP_BY_HOP_HEADERS.includes(name))
  const headers = { 'X-Custom': 'c' }
  for (const name of HOP_BY_HOP_HEADERS) headers[name.toUpperCase()] = 'x'
  const signedHeaders = (authorization) => /SignedHeaders=([^,]*)/.exec(authorization)[1].split(';')

  let sent
  await signedFetch(signer, async (url, init) => {
    sent = new Headers(init.headers)
    return new Response('ok')
  })('https://api.example.com/v1/items', { headers })
  const config = axiosInterceptor(signer, { axios })({ method: 'get', url: 'https://api.example.com/v1/items', headers: { ...headers } })
  for (const authorization of [sent.get('authorization'), config.headers.Authorization]) {
    const signed = signedHeaders(authorization)
    assert.ok(signed.includes('x-custom') && signed.includes('host'), authorization)
    assert.deepEqual(signed.filter((name) => HOP_BY_HOP_HEADERS.includes(name)), [])
  }
  // they are still sent: only the signature leaves them out
  assert.equal(sent.get('proxy-authorization'), 'x')
})

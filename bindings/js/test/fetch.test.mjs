// signedFetch and verifyMiddleware of apig-sdk or apig-wasm, against real servers on 127.0.0.1
// (Node's fetch), and with recording fetches.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { KEY, SECRET, apig, listen, verifyingServer } from './helpers.mjs'

const { ApigError, HOP_BY_HOP_HEADERS, Signer, Verifier, signedFetch, verifyMiddleware } = apig
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

  const text = JSON.stringify({ a: 1, é: 'ü' })
  const form = new FormData()
  form.append('field', 'value')
  const bodies = [
    ['a string', text],
    ['a Uint8Array', new TextEncoder().encode('bytes body')],
    ['an ArrayBuffer', new TextEncoder().encode('buffer body').buffer],
    ['URLSearchParams', new URLSearchParams({ a: '1 2', b: 'ß' })],
    ['a Blob', new Blob(['blob ', 'body'])],
    ['FormData', form],
  ]
  for (const [what, body] of bodies) {
    const res = await apigFetch(`${server.url}/upload`, { method: 'POST', body })
    assert.equal(res.status, 200, what)
    const echoed = await res.json()
    assert.equal(echoed.unsignedPayload, false, what)
    if (!(body instanceof FormData)) assert.equal(echoed.body, await new Response(body).text(), what)
    else assert.match(echoed.body, /name="field"\r\n\r\nvalue/)
    if (typeof body === 'string') assert.ok(echoed.signedHeaders.includes('content-type'))
  }

  const request = new Request(`${server.url}/req?x=1`, { method: 'PUT', body: 'from a Request', headers: { 'X-R': '1' } })
  const fromRequest = await apigFetch(request)
  assert.equal(fromRequest.status, 200)
  const echoed = await fromRequest.json()
  assert.equal(echoed.body, 'from a Request')
  assert.ok(echoed.signedHeaders.includes('x-r'))
  await assert.rejects(apigFetch('/relative'), (e) => e instanceof ApigError && e.code === 'invalid_request')
})

test('signedFetch: streamed bodies are unsigned by default, or buffered; unsignedPayload for every body', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  const chunks = () => Readable.toWeb(Readable.from([Buffer.from('chunk-1,'), Buffer.from('chunk-2')]))

  const unsigned = await signedFetch(signer)(`${server.url}/s`, { method: 'POST', body: chunks(), duplex: 'half' })
  assert.equal(unsigned.status, 200)
  const u = await unsigned.json()
  assert.equal(u.unsignedPayload, true)
  assert.equal(u.body, 'chunk-1,chunk-2')
  assert.ok(u.signedHeaders.includes('x-sdk-content-sha256'))

  for (const buffered of [signedFetch(signer, fetch, { streams: 'buffer' }), signedFetch(signer, { streams: 'buffer' })]) {
    const b = await (await buffered(`${server.url}/s`, { method: 'POST', body: chunks() })).json()
    assert.equal(b.unsignedPayload, false)
    assert.equal(b.body, 'chunk-1,chunk-2')
  }

  const all = await (await signedFetch(signer, { unsignedPayload: true })(`${server.url}/u`, { method: 'PUT', body: 'as is' })).json()
  assert.equal(all.unsignedPayload, true)
  assert.equal(all.body, 'as is')
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

test("signedFetch: a 'signature expired' 401 teaches the clock offset and is retried once", async (t) => {
  const SKEW_MS = 30 * 60 * 1000 // the server's clock runs 30 minutes ahead
  let hits = 0
  const middleware = verifyMiddleware({ verifier: new SkewedVerifier({ keys: { [KEY]: SECRET } }, SKEW_MS) })
  const server = await listen((req, res) => {
    hits++
    middleware(req, res, () => res.end(req.rawBody.toString()))
  })
  t.after(server.close)

  const fetchSigned = signedFetch(signer)
  assert.equal(fetchSigned.clockOffset, 0)
  const response = await fetchSigned(`${server.url}/x`, { method: 'POST', body: 'again' })
  assert.equal(response.status, 200)
  assert.equal(await response.text(), 'again', 'the body is sent again')
  assert.equal(hits, 2, 'one rejected request, one retry')
  assert.ok(Math.abs(fetchSigned.clockOffset - SKEW_MS) <= 2000, `learned ${fetchSigned.clockOffset}`)
  assert.equal((await fetchSigned(`${server.url}/y`)).status, 200)
  assert.equal(hits, 3, 'the learned offset is kept')

  const rejected = await signedFetch(signer, { retryOnExpired: false })(`${server.url}/z`)
  assert.equal(rejected.status, 401)
  assert.match((await rejected.json()).error_msg, /signature expired/)
  assert.equal((await signedFetch(signer, fetch, { clockOffset: SKEW_MS })(`${server.url}/w`)).status, 200)
  const start = hits
  assert.equal((await signedFetch(new Signer({ key: KEY, secret: 'not-the-secret' }), { clockOffset: SKEW_MS })(`${server.url}/v`)).status, 401)
  assert.equal(hits - start, 1, 'other 401s are returned without a retry')
})

/** A Verifier whose clock runs `skew` milliseconds ahead. */
class SkewedVerifier {
  constructor(options, skew) {
    this.inner = new Verifier(options)
    this.skew = skew
  }

  verify(request) {
    return this.inner.verify({ ...request, now: Date.now() + this.skew })
  }
}

test('signedFetch: Host and the hop-by-hop headers are sent but not signed; the URL host is', async () => {
  const headers = { Host: 'evil.example.com', 'X-Custom': 'c' }
  for (const name of HOP_BY_HOP_HEADERS) headers[name.toUpperCase()] = 'x'
  let sent
  await signedFetch(signer, async (url, init) => {
    sent = { url, headers: new Headers(init.headers) }
    return new Response('ok')
  })('https://api.example.com:8443/v1?x=1', { headers })
  assert.equal(sent.url, 'https://api.example.com:8443/v1?x=1')
  assert.equal(sent.headers.get('host'), null)
  assert.equal(sent.headers.get('proxy-authorization'), 'x', 'hop-by-hop headers are still sent')
  const signedHeaders = /SignedHeaders=([^,]*)/.exec(sent.headers.get('authorization'))[1].split(';')
  assert.deepEqual(signedHeaders, ['host', 'x-custom', 'x-sdk-date'])
  const identity = new Verifier({ keys: { [KEY]: SECRET } }).verify({
    method: 'GET',
    url: '/v1?x=1',
    headers: [['Host', 'api.example.com:8443'], ...sent.headers],
  })
  assert.equal(identity.accessKey, KEY)
})

test('verifyMiddleware on a plain node:http server: 401 answers, the body limit', async (t) => {
  const middleware = verifyMiddleware({ keys: { [KEY]: SECRET }, limit: 64 })
  const server = await listen((req, res) => middleware(req, res, () => res.end(`hello ${req.apig.accessKey}`)))
  t.after(server.close)
  const apigFetch = signedFetch(signer)
  assert.equal(await (await apigFetch(`${server.url}/hi`)).text(), `hello ${KEY}`)
  const expired = signer.sign({ method: 'GET', url: `${server.url}/hi`, date: Date.now() - 20 * 60 * 1000 })
  const res = await fetch(`${server.url}/hi`, { headers: { 'X-Sdk-Date': expired.date, Authorization: expired.authorization } })
  assert.equal(res.status, 401)
  assert.match((await res.json()).error_msg, /^Incorrect app authentication information: signature expired, signature time:/)
  const unsigned = await fetch(`${server.url}/hi`)
  assert.deepEqual(Object.keys(await unsigned.json()), ['error_code', 'error_msg', 'request_id'])
  const large = await apigFetch(`${server.url}/hi`, { method: 'POST', body: 'x'.repeat(1000) })
  assert.equal(large.status, 413)
  assert.deepEqual((({ error_code, error_msg }) => ({ error_code, error_msg }))(await large.json()), {
    error_code: 'APIG.0201',
    error_msg: 'Request entity too large, limit 64 bytes',
  })
})

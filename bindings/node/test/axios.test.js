'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Readable } = require('node:stream')
const axios = require('axios')
const { HOP_BY_HOP_HEADERS, Signer, axiosInterceptor, signAxios, verifyMiddleware } = require('apig-sdk')
const { KEY, SECRET, listen, verifyingServer } = require('./helpers.js')

const signer = new Signer({ key: KEY, secret: SECRET })

function client(baseURL, options) {
  const instance = axios.create({ baseURL, validateStatus: () => true })
  instance.interceptors.request.use(axiosInterceptor(signer, options))
  return instance
}

test('axios interceptor: accepted requests', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  const api = client(`${server.url}/api`)

  const get = await api.get('/items', { params: { limit: 2, q: 'two words', tags: ['a', 'b'] }, headers: { 'X-Custom': 'c' } })
  assert.equal(get.status, 200, JSON.stringify(get.data))
  assert.equal(get.data.accessKey, KEY)
  assert.match(get.data.url, /^\/api\/items\?/)
  assert.ok(get.data.signedHeaders.includes('x-custom'))
  assert.ok(get.data.signedHeaders.includes('accept'))

  const bodies = [
    [{ name: 'test', count: 1 }, '{"name":"test","count":1}'],
    ['  text with spaces \n', '  text with spaces \n'],
    [Buffer.from('buffer body'), 'buffer body'],
    [new Uint8Array(Buffer.from('xxview bodyyy')).subarray(2, 11), 'view body'],
    [new URLSearchParams({ a: '1', b: 'c d' }), 'a=1&b=c+d'],
  ]
  for (const [data, sent] of bodies) {
    const res = await api.post('/upload', data)
    assert.equal(res.status, 200, `${sent}: ${JSON.stringify(res.data)}`)
    assert.equal(res.data.body, sent)
    assert.equal(res.data.unsignedPayload, false)
  }
  const json = await api.post('/upload', { a: 1 })
  assert.ok(json.data.signedHeaders.includes('content-type'))

  const put = await api.put('/stream', Readable.from([Buffer.from('streamed')]))
  assert.equal(put.status, 200)
  assert.equal(put.data.unsignedPayload, true)
  assert.equal(put.data.body, 'streamed')

  // the axios module passed explicitly works the same
  const explicit = client(`${server.url}/api`, { axios })
  assert.equal((await explicit.delete('/items/1')).status, 200)
})

test('axios interceptor: tampered requests are rejected with APIG.0303', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  const tampering = [
    (config) => ((config.url = config.url.replace('limit=2', 'limit=20')), config),
    (config) => ((config.data = Buffer.from('{"name":"evil"}')), config),
    (config) => (config.headers.set('X-Custom', 'evil'), config),
  ]
  for (const tamper of tampering) {
    const api = axios.create({ baseURL: server.url, validateStatus: () => true })
    // axios runs request interceptors last-registered first: the tamperer runs after signing
    api.interceptors.request.use(tamper)
    api.interceptors.request.use(axiosInterceptor(signer))
    const res = await api.post('/items', { name: 'test' }, { params: { limit: 2 }, headers: { 'X-Custom': 'c' } })
    assert.equal(res.status, 401)
    assert.equal(res.data.error_code, 'APIG.0303')
    assert.match(res.data.error_msg, /^Incorrect app authentication information: /)
  }
})

test('axios interceptor: the core hop-by-hop headers are sent but left out of the signature', () => {
  const headers = { 'X-Custom': 'c' }
  for (const name of HOP_BY_HOP_HEADERS) headers[name.toUpperCase()] = 'x'
  const config = axiosInterceptor(signer, { axios })({ method: 'get', url: 'https://api.example.com/v1/items', headers: { ...headers } })
  const signed = /SignedHeaders=([^,]*)/.exec(config.headers.Authorization)[1].split(';')
  assert.deepEqual(signed, ['host', 'x-custom', 'x-sdk-date'])
  assert.equal(config.headers['PROXY-AUTHORIZATION'], 'x')
})

/** A verifying server allowing 60 s of clock skew that counts the requests it gets. */
async function countingServer(t) {
  const middleware = verifyMiddleware({ keys: { [KEY]: SECRET }, maxSkewSeconds: 60 })
  const server = await listen((req, res) => {
    server.hits += 1
    middleware(req, res, () => {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ body: req.rawBody.toString('utf8'), accessKey: req.apig.accessKey }))
    })
  })
  server.hits = 0
  t.after(server.close)
  return server
}

const TWO_HOURS_BEHIND = -7_200_000

test("signAxios: a 'signature expired' 401 teaches the clock offset and is retried once", async (t) => {
  const server = await countingServer(t)
  // a signer two hours behind: the first answer is "signature expired … server time …"
  const api = signAxios(axios.create({ baseURL: `${server.url}/api`, validateStatus: () => true }), signer, { clockOffset: TWO_HOURS_BEHIND })
  const res = await api.post('/late', { n: 1 }, { params: { q: 'a b' } })
  assert.equal(res.status, 200, JSON.stringify(res.data))
  assert.equal(res.data.body, '{"n":1}', 'the body is sent again')
  assert.equal(server.hits, 2, 'one rejected request, one retry')
  assert.equal((await api.get('/again')).status, 200)
  assert.equal(server.hits, 3, 'the learned offset is kept')

  // axios' default validateStatus: the 401 is an error, the retry's answer the result
  const strict = signAxios(axios.create({ baseURL: server.url }), signer, { clockOffset: TWO_HOURS_BEHIND })
  assert.equal((await strict.put('/x', 'text')).data.body, 'text')
  assert.equal(server.hits, 5)

  // retryOnExpired: false answers the 401
  const noRetry = signAxios(axios.create({ baseURL: server.url, validateStatus: () => true }), signer, {
    clockOffset: TWO_HOURS_BEHIND,
    retryOnExpired: false,
  })
  const refused = await noRetry.get('/late')
  assert.equal(refused.status, 401)
  assert.match(refused.data.error_msg, /signature expired/)
  assert.equal(server.hits, 6)

  // a stream cannot be sent again; an X-Sdk-Date the caller set is the caller's: no retry
  const dated = await api.post('/d', 'dated', { headers: { 'X-Sdk-Date': '20200101T000000Z' } })
  assert.equal(dated.status, 401)
  assert.match(dated.data.error_msg, /signature expired/)
  const late = signAxios(axios.create({ baseURL: server.url, validateStatus: () => true }), signer, { clockOffset: TWO_HOURS_BEHIND })
  const stream = await late.put('/s', Readable.from([Buffer.from('once')]))
  assert.equal(stream.status, 401)
  assert.match(stream.data.error_msg, /signature expired/)
  assert.equal(server.hits, 8, 'no retry of the stream nor of the caller-dated request')

  // other 401s are answered without a retry
  const wrong = signAxios(axios.create({ baseURL: server.url, validateStatus: () => true }), new Signer({ key: KEY, secret: 'other-secret' }))
  const mismatch = await wrong.get('/m')
  assert.equal(mismatch.status, 401)
  assert.match(mismatch.data.error_msg, /verify signature fail/)
  assert.equal(server.hits, 9)
})

test('axios: a credentials source (a function or a provider) signs like a Signer', async (t) => {
  const server = await countingServer(t)
  let asked = 0
  const source = async () => {
    asked += 1
    return { accessKey: KEY, secretKey: SECRET, expiresAt: Date.now() + 3_600_000 }
  }
  const api = signAxios(axios.create({ baseURL: server.url }), source, { clockOffset: TWO_HOURS_BEHIND })
  const res = await api.post('/p', 'from a source')
  assert.equal(res.data.accessKey, KEY)
  assert.equal(res.data.body, 'from a source')
  assert.equal(server.hits, 2, 'retried once with the learned offset')

  const plain = axios.create({ baseURL: server.url })
  plain.interceptors.request.use(axiosInterceptor({ name: 'test', credentials: source }))
  assert.equal((await plain.get('/q')).data.accessKey, KEY)
  assert.equal((await plain.get('/q')).data.accessKey, KEY)
  assert.equal(asked, 2, 'each source asked once')

  const failing = axios.create({ baseURL: server.url })
  failing.interceptors.request.use(
    axiosInterceptor(() => {
      throw new Error('backend down')
    }),
  )
  await assert.rejects(failing.get('/f'), (e) => e.code === 'unreachable')
})

test('axios: wrong arguments are invalid_config', () => {
  const invalid = (e) => e.code === 'invalid_config'
  assert.throws(() => axiosInterceptor({ key: KEY }), invalid)
  assert.throws(() => axiosInterceptor(signer, { clockOffset: Number.NaN }), invalid)
  assert.throws(() => signAxios({}, signer), invalid)
  assert.throws(() => signAxios(axios.create(), 'signer'), invalid)
  assert.throws(() => signAxios(axios.create(), signer, { retryOnExpired: 'yes' }), invalid)
})

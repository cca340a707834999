'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Readable } = require('node:stream')
const axios = require('axios')
const { HOP_BY_HOP_HEADERS, Signer, axiosInterceptor } = require('apig-sdk')
const { KEY, SECRET, verifyingServer } = require('./helpers.js')

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

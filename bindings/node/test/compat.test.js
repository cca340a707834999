'use strict'
// apig/compat: code written for Huawei's signer.js, with only the require line changed.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const signer = require('apig-sdk/compat')
const { Signer } = require('apig-sdk')
const { KEY, SECRET, verifyingServer } = require('./helpers.js')

function send(options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.setTimeout(10000, () => req.destroy(new Error('timeout')))
    if (body) req.write(body)
    req.end()
  })
}

test('signer.js round trip: HttpRequest + Sign + http.request is accepted', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  const sig = new signer.Signer()
  sig.Key = KEY
  sig.Secret = SECRET
  const r = new signer.HttpRequest('POST', `${server.url}/v1/items?limit=2&b=1`)
  r.headers = { 'Content-Type': 'application/json' }
  r.body = '{"a":1}'
  const opt = sig.Sign(r)
  assert.equal(opt.headers, r.headers)
  assert.equal(opt.hostname, '127.0.0.1')
  assert.equal(opt.port, Number(new URL(server.url).port))
  assert.equal(opt.path, '/v1/items?limit=2&b=1')
  assert.equal(opt.method, 'POST')
  assert.match(r.headers['X-Sdk-Date'], /^\d{8}T\d{6}Z$/)
  assert.equal(r.headers.host, new URL(server.url).host)
  const reply = await send(opt, r.body)
  assert.equal(reply.status, 200, JSON.stringify(reply.json))
  assert.equal(reply.json.accessKey, KEY)
  assert.equal(reply.json.body, '{"a":1}')

  // the same request signed by the native API gives the same Authorization
  const native = new Signer({ key: KEY, secret: SECRET }).sign({
    method: 'POST',
    url: `${server.url}/v1/items?limit=2&b=1`,
    headers: { 'Content-Type': 'application/json', 'X-Sdk-Date': r.headers['X-Sdk-Date'] },
    body: '{"a":1}',
  })
  assert.equal(r.headers.Authorization, native.authorization)

  // tampering with the body after signing is caught
  const bad = await send(opt, '{"a":2}')
  assert.equal(bad.status, 401)
  assert.equal(bad.json.error_code, 'APIG.0303')
})

test('signer.js details: destructured require, scheme-less URLs, SecurityToken, the 4-argument constructor', () => {
  const { Signer: CompatSigner, HttpRequest } = require('apig-sdk/compat')
  const sig = new CompatSigner()
  sig.Key = KEY
  sig.Secret = SECRET
  sig.SecurityToken = 'token-123'
  const r = new HttpRequest('GET', 'api.example.com/v1/x?y=1', { 'X-Sdk-Date': '20240403T101500Z' }, '')
  const opt = sig.Sign(r)
  assert.equal(opt.hostname, 'api.example.com')
  assert.equal(opt.port, undefined)
  assert.equal(opt.path, '/v1/x?y=1')
  assert.equal(r.headers['X-Security-Token'], 'token-123')
  assert.ok(!r.headers.Authorization.includes('x-security-token'))
  const native = new Signer({ key: KEY, secret: SECRET }).sign({ method: 'GET', url: 'https://api.example.com/v1/x?y=1', headers: { 'X-Sdk-Date': '20240403T101500Z' } })
  assert.equal(r.headers.Authorization, native.authorization)
  assert.throws(() => new CompatSigner().Sign(new HttpRequest('GET', 'https://h/')), (e) => e.code === 'invalid_config')
})

'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const express = require('express')
const { ApigError, Signer, Verifier, signedFetch, verifyMiddleware } = require('apig-sdk')
const { KEY, SECRET, listen } = require('./helpers.js')

const signer = new Signer({ key: KEY, secret: SECRET })
const apigFetch = signedFetch(signer)

function expressApp(setup) {
  const app = express()
  setup(app)
  return listen(app)
}

test('Express: verified requests reach the route with req.apig and the raw body', async (t) => {
  const server = await expressApp((app) => {
    const router = express.Router()
    router.post('/orders', (req, res) => res.json({ who: req.apig.accessKey, raw: req.rawBody.toString(), body: req.body.toString() }))
    router.get('/orders/:id', (req, res) => res.json({ who: req.apig.accessKey, id: req.params.id, q: req.query.q }))
    // mounted under a prefix: the middleware signs against originalUrl, not the rewritten req.url
    app.use('/shop', verifyMiddleware({ keys: { [KEY]: SECRET } }), router)
  })
  t.after(server.close)
  const posted = await apigFetch(`${server.url}/shop/orders`, { method: 'POST', body: '{"item":1}', headers: { 'Content-Type': 'application/json' } })
  assert.equal(posted.status, 200)
  assert.deepEqual(await posted.json(), { who: KEY, raw: '{"item":1}', body: '{"item":1}' })
  const got = await apigFetch(`${server.url}/shop/orders/7?q=a%20b`)
  assert.deepEqual(await got.json(), { who: KEY, id: '7', q: 'a b' })

  const unsigned = await fetch(`${server.url}/shop/orders/7`)
  assert.equal(unsigned.status, 401)
  const answer = await unsigned.json()
  assert.deepEqual(Object.keys(answer), ['error_code', 'error_msg', 'request_id'])
  assert.equal(answer.error_code, 'APIG.0303')
  assert.equal(answer.error_msg, 'Incorrect app authentication information: the request has no Authorization header')
  assert.equal(unsigned.headers.get('x-request-id'), answer.request_id)
})

test('Express: a raw body parser before the middleware is used; tampered bodies are rejected', async (t) => {
  const server = await expressApp((app) => {
    app.use(express.raw({ type: '*/*' }))
    app.use(verifyMiddleware({ keys: (ak) => (ak === KEY ? SECRET : undefined), maxSkewSeconds: 300, requireHost: true }))
    app.put('/doc', (req, res) => res.json({ len: req.rawBody.length, signed: req.apig.signedHeaders }))
  })
  t.after(server.close)
  const ok = await apigFetch(`${server.url}/doc`, { method: 'PUT', body: 'payload' })
  assert.deepEqual(await ok.json(), { len: 7, signed: ['content-type', 'host', 'x-sdk-date'] })
  const tampered = await signedFetch(signer, (url, init) => fetch(url, { ...init, body: 'PAYLOAD' }))(`${server.url}/doc`, { method: 'PUT', body: 'payload' })
  assert.equal(tampered.status, 401)
  const rejected = await tampered.json()
  assert.equal(rejected.error_code, 'APIG.0303')
  assert.match(rejected.error_msg, /^Incorrect app authentication information: verify signature fail, canonicalRequest:PUT\|\/doc\/\|\|/)
})

test('body limit, onError and server errors', async (t) => {
  let seen
  const server = await expressApp((app) => {
    app.use('/small', verifyMiddleware({ keys: { [KEY]: SECRET }, limit: 16 }), (req, res) => res.end('ok'))
    app.use(
      '/custom',
      verifyMiddleware({
        verifier: new Verifier({ keys: { [KEY]: SECRET } }),
        onError: (error, req, res) => {
          seen = error
          res.status(403).json({ code: error.code })
        },
      }),
      (req, res) => res.end('ok'),
    )
    app.use('/broken', verifyMiddleware({ keys: () => 42 }), (req, res) => res.end('ok'))
    app.use((error, req, res, next) => res.status(599).json({ handled: error.code }))
  })
  t.after(server.close)

  assert.equal((await apigFetch(`${server.url}/small`, { method: 'POST', body: 'tiny' })).status, 200)
  const large = await apigFetch(`${server.url}/small`, { method: 'POST', body: 'x'.repeat(1000) })
  assert.equal(large.status, 413)
  const tooLarge = await large.json()
  assert.equal(tooLarge.error_code, 'APIG.0201')
  assert.equal(tooLarge.error_msg, 'Request entity too large, limit 16 bytes')

  const custom = await fetch(`${server.url}/custom`)
  assert.equal(custom.status, 403)
  assert.deepEqual(await custom.json(), { code: 'missing_authorization' })
  assert.ok(seen instanceof ApigError)
  assert.equal(seen.status, 401)
  assert.equal(seen.apigCode, 'APIG.0303')

  // a key function returning a non-string is a server error: handed to next(error)
  const broken = await apigFetch(`${server.url}/broken`)
  assert.equal(broken.status, 599)
  assert.deepEqual(await broken.json(), { handled: 'invalid_config' })
})

test('plain node:http server with the middleware', async (t) => {
  const middleware = verifyMiddleware({ keys: { [KEY]: SECRET } })
  const server = await listen((req, res) => middleware(req, res, () => res.end(`hello ${req.apig.accessKey}`)))
  t.after(server.close)
  assert.equal(await (await apigFetch(`${server.url}/hi`)).text(), `hello ${KEY}`)
  const expired = signer.sign({ method: 'GET', url: `${server.url}/hi`, date: Date.now() - 20 * 60 * 1000 })
  const res = await fetch(`${server.url}/hi`, { headers: { 'X-Sdk-Date': expired.date, Authorization: expired.authorization } })
  assert.equal(res.status, 401)
  assert.match((await res.json()).error_msg, /^Incorrect app authentication information: signature expired, signature time:/)
})

test('verifyMiddleware rejects bad options', () => {
  assert.throws(() => verifyMiddleware(), (e) => e instanceof ApigError && e.code === 'invalid_config')
  assert.throws(() => verifyMiddleware({ keys: {}, limit: -1 }), (e) => e instanceof ApigError && e.code === 'invalid_config')
  assert.throws(() => verifyMiddleware({}), (e) => e instanceof ApigError && e.code === 'invalid_config')
})

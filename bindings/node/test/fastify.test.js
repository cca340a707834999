'use strict'
// apig-sdk/fastify: a real Fastify server verifying requests, with the Connect middleware's answers.
const test = require('node:test')
const assert = require('node:assert/strict')
const Fastify = require('fastify')
const apigFastify = require('apig-sdk/fastify')
const { Signer, signedFetch } = require('apig-sdk')
const { KEY, SECRET } = require('./helpers.js')

const signer = new Signer({ key: KEY, secret: SECRET })
const apigFetch = signedFetch(signer)

async function app(options, routes) {
  const fastify = Fastify()
  await fastify.register(apigFastify, options)
  routes(fastify)
  const url = await fastify.listen({ port: 0, host: '127.0.0.1' })
  return { url, close: () => fastify.close() }
}

test('Fastify: verified requests reach the route with request.apig, the parsed body and rawBody', async (t) => {
  const server = await app({ keys: { [KEY]: SECRET } }, (f) => {
    f.post('/orders', async (request) => ({ who: request.apig.accessKey, body: request.body, raw: Buffer.from(request.rawBody).toString() }))
    f.get('/orders/:id', async (request) => ({ who: request.apig.accessKey, id: request.params.id, q: request.query.q }))
  })
  t.after(server.close)
  const headers = { 'Content-Type': 'application/json' }
  const posted = await apigFetch(`${server.url}/orders`, { method: 'POST', body: '{"item":1}', headers })
  assert.equal(posted.status, 200)
  assert.deepEqual(await posted.json(), { who: KEY, body: { item: 1 }, raw: '{"item":1}' })
  const got = await apigFetch(`${server.url}/orders/7?q=a%20b`)
  assert.deepEqual(await got.json(), { who: KEY, id: '7', q: 'a b' })

  const unsigned = await fetch(`${server.url}/orders/7`)
  assert.equal(unsigned.status, 401)
  const answer = await unsigned.json()
  assert.deepEqual(Object.keys(answer), ['error_code', 'error_msg', 'request_id'])
  assert.equal(answer.error_code, 'APIG.0303')
  assert.equal(answer.error_msg, 'Incorrect app authentication information: the request has no Authorization header')
  assert.equal(unsigned.headers.get('x-request-id'), answer.request_id)

  // the body changed after signing
  const tampered = signedFetch(signer, (url, init) => fetch(url, { ...init, body: '{"item":2}' }))
  const changed = await tampered(`${server.url}/orders`, { method: 'POST', body: '{"item":1}', headers })
  assert.equal(changed.status, 401)
  assert.equal((await changed.json()).error_code, 'APIG.0303')
})

test('Fastify: the body limit answers 413 APIG.0201; onError replaces the answer', async (t) => {
  const server = await app({ keys: { [KEY]: SECRET }, limit: 8 }, (f) => f.post('/big', async () => 'no'))
  t.after(server.close)
  const big = await apigFetch(`${server.url}/big`, { method: 'POST', body: 'x'.repeat(64), headers: { 'Content-Type': 'text/plain' } })
  assert.equal(big.status, 413)
  assert.equal((await big.json()).error_code, 'APIG.0201')

  const custom = await app({ keys: { [KEY]: SECRET }, onError: (error, request, reply) => reply.code(403).send({ code: error.code }) }, (f) =>
    f.get('/x', async () => 'no'),
  )
  t.after(custom.close)
  const refused = await fetch(`${custom.url}/x`)
  assert.equal(refused.status, 403)
  assert.deepEqual(await refused.json(), { code: 'missing_authorization' })
})

'use strict'
// apig-sdk/undici: the signing interceptor on an undici Agent (request(), undici's fetch and a
// global dispatcher) against a verifying server on 127.0.0.1, with a credentials source and the
// retry on an APIG "signature expired" answer.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Readable } = require('node:stream')
const undici = require('undici')
const { ApigError, Signer, verifyMiddleware } = require('apig-sdk')
const { signingAgent, signingInterceptor } = require('apig-sdk/undici')
const { KEY, SECRET, listen, verifyingServer } = require('./helpers.js')

const signer = new Signer({ key: KEY, secret: SECRET })

test('undici: Agent#compose(signingInterceptor) signs request() and fetch(), bodies whole or streamed', async (t) => {
  const server = await verifyingServer({ keys: { [KEY]: SECRET }, allowUnsignedPayload: true })
  t.after(server.close)
  const agent = new undici.Agent().compose(signingInterceptor(signer))
  t.after(() => agent.close())

  const got = await undici.request(`${server.url}/v1/items?b=x%20y&a=1`, { dispatcher: agent, headers: { 'X-Custom': 'c', 'X-Empty': '' } })
  assert.equal(got.statusCode, 200)
  const echoed = await got.body.json()
  assert.equal(echoed.accessKey, KEY)
  assert.ok(echoed.signedHeaders.includes('x-custom'))
  assert.equal(echoed.url, '/v1/items?b=x%20y&a=1')

  const posted = await undici.request(`${server.url}/upload`, {
    method: 'POST',
    dispatcher: agent,
    body: '{"a":1}',
    headers: { 'content-type': 'application/json' },
  })
  const p = await posted.body.json()
  assert.equal(p.body, '{"a":1}')
  assert.equal(p.unsignedPayload, false)
  assert.ok(p.signedHeaders.includes('content-type'))

  const fetched = await undici.fetch(`${server.url}/f`, { method: 'PUT', body: 'fetched', dispatcher: agent })
  assert.equal(fetched.status, 200)
  assert.equal((await fetched.json()).body, 'fetched')

  const streamed = await undici.request(`${server.url}/s`, {
    method: 'POST',
    dispatcher: agent,
    body: Readable.from([Buffer.from('a'), Buffer.from('b')]),
  })
  const s = await streamed.body.json()
  assert.equal(s.unsignedPayload, true)
  assert.equal(s.body, 'ab')

  const unsigned = await undici.request(`${server.url}/plain`)
  assert.equal(unsigned.statusCode, 401)
  await unsigned.body.dump()
})

test('undici: setGlobalDispatcher(signingAgent(source)) with a function source; its failures reach the caller', async (t) => {
  const server = await verifyingServer()
  t.after(server.close)
  let calls = 0
  const source = async () => {
    calls += 1
    return { accessKey: KEY, secretKey: SECRET, expiresAt: Date.now() + 3_600_000 }
  }
  const previous = undici.getGlobalDispatcher()
  const agent = signingAgent(source)
  undici.setGlobalDispatcher(agent)
  t.after(() => {
    undici.setGlobalDispatcher(previous)
    return agent.close()
  })
  const answers = await Promise.all([1, 2, 3].map((i) => undici.fetch(`${server.url}/g/${i}`)))
  for (const res of answers) assert.equal((await res.json()).accessKey, KEY)
  assert.equal(calls, 1)

  const failing = new undici.Agent().compose(
    signingInterceptor(() => {
      throw new Error('backend down')
    }),
  )
  t.after(() => failing.close())
  await assert.rejects(undici.request(`${server.url}/x`, { dispatcher: failing }), (e) => e instanceof ApigError && e.code === 'unreachable')
})

test("undici: a 'signature expired' 401 teaches the clock offset and is retried once; other 401s pass", async (t) => {
  const middleware = verifyMiddleware({ keys: { [KEY]: SECRET }, maxSkewSeconds: 60 })
  let seen = 0
  const server = await listen((req, res) => {
    seen += 1
    middleware(req, res, () => res.end(`ok ${req.rawBody.toString()}`))
  })
  t.after(server.close)
  // a signer two hours behind: the first answer is "signature expired … server time …"
  const agent = new undici.Agent().compose(signingInterceptor(signer, { clockOffset: -7_200_000 }))
  t.after(() => agent.close())
  const res = await undici.request(`${server.url}/late`, { method: 'POST', body: 'again', dispatcher: agent })
  assert.equal(res.statusCode, 200)
  assert.equal(await res.body.text(), 'ok again')
  assert.equal(seen, 2)

  const noRetry = new undici.Agent().compose(signingInterceptor(signer, { clockOffset: -7_200_000, retryOnExpired: false }))
  t.after(() => noRetry.close())
  const refused = await undici.request(`${server.url}/late`, { dispatcher: noRetry })
  assert.equal(refused.statusCode, 401)
  assert.equal((await refused.body.json()).error_code, 'APIG.0303')

  const wrongKey = new undici.Agent().compose(signingInterceptor(new Signer({ key: KEY, secret: 'other-secret' })))
  t.after(() => wrongKey.close())
  const mismatch = await undici.request(`${server.url}/m`, { dispatcher: wrongKey })
  assert.equal(mismatch.statusCode, 401)
  assert.match((await mismatch.body.json()).error_msg, /verify signature fail/)
  assert.throws(() => signingInterceptor(signer, { retryOnExpired: 'yes' }), (e) => e.code === 'invalid_config')
})

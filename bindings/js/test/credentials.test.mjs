// Credentials sources in signedFetch (the browser pattern: a function fetching short-lived
// credentials from the page's own backend), against a verifying server on 127.0.0.1: one call for
// concurrent requests, a refresh in the background before expiry, a failed refresh served from the
// old credentials until they expire, typed errors for bad answers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { apig, verifyingServer } from './helpers.mjs'

const { ApigError, CREDENTIALS_ERROR_CODES, credentialsSigner, isCredentialsSource, signedFetch } = apig

const TMP = [
  { accessKey: 'TMPAKEXAMPLE00000001', secretKey: 'TmpSkExample0a1B2c3D4e5F6g7H8i9J0kLmNoPq', securityToken: 'gQpjbi1ub3J0aC00+/=token-1' },
  { accessKey: 'TMPAKEXAMPLE00000002', secretKey: 'TmpSkExample1a1B2c3D4e5F6g7H8i9J0kLmNoPq', securityToken: 'gQpjbi1ub3J0aC00+/=token-2' },
]
const keys = Object.fromEntries(TMP.map((c) => [c.accessKey, c.secretKey]))

/** A function source giving TMP[i] for its i-th call (resolving after `delay` ms), with `expiresIn`. */
function rotatingSource({ expiresIn, delay = 20, fail = () => false }) {
  const source = async () => {
    const n = source.calls++
    await sleep(delay)
    if (fail(n)) throw new Error(`backend down (call ${n})`)
    return { ...TMP[n % TMP.length], expiresAt: expiresIn === undefined ? undefined : new Date(Date.now() + expiresIn) }
  }
  source.calls = 0
  return source
}

test('credential sources: the error codes are the providers\' (apig-credentials)', () => {
  assert.deepEqual(
    [...CREDENTIALS_ERROR_CODES],
    ['missing', 'malformed', 'missing_field', 'unreachable', 'timeout', 'http_status', 'expired', 'no_provider'],
  )
  for (const code of CREDENTIALS_ERROR_CODES) {
    const error = new ApigError('m', code)
    assert.equal(error.code, code)
  }
  assert.ok(isCredentialsSource(() => ({})))
  assert.ok(isCredentialsSource({ credentials: () => ({}) }))
  assert.ok(!isCredentialsSource({ accessKey: 'a' }))
  assert.throws(() => signedFetch({ accessKey: 'a', secretKey: 'b' }), (e) => e instanceof ApigError && e.code === 'invalid_config')
  assert.throws(() => signedFetch(() => TMP[0], { refreshMarginSeconds: -1 }), (e) => e.code === 'invalid_config')
  assert.throws(() => signedFetch(() => TMP[0], { profile: 3 }), (e) => e.code === 'invalid_config')
})

test('signedFetch(function source): concurrent requests share one call; the token is signed', async (t) => {
  const server = await verifyingServer({ keys })
  t.after(server.close)
  const source = rotatingSource({ expiresIn: 3_600_000 })
  const apigFetch = signedFetch(source)
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => apigFetch(`${server.url}/c/${i}`)))
  assert.equal(source.calls, 1)
  for (const res of answers) {
    assert.equal(res.status, 200)
    const echoed = await res.json()
    assert.equal(echoed.accessKey, TMP[0].accessKey)
    assert.ok(echoed.signedHeaders.includes('x-security-token'), echoed.signedHeaders)
  }
  await apigFetch(`${server.url}/again`)
  assert.equal(source.calls, 1, 'valid credentials are not asked for again')
})

test('signedFetch(source): signer settings from the options (profile, project id, algorithm)', async (t) => {
  const server = await verifyingServer({ keys })
  t.after(server.close)
  let sent
  const recording = (url, init) => {
    sent = new Headers(init.headers)
    return fetch(url, init)
  }
  const source = { name: 'backend', credentials: async () => ({ ...TMP[0], projectId: '0a1b2c3d4e5f60718293a4b5c6d7e8f9' }) }
  const apigFetch = signedFetch(source, { fetch: recording, profile: 'huaweicloud-v3', algorithm: 'SDK-HMAC-SM3' })
  const res = await apigFetch(`${server.url}/v3/projects`, { method: 'POST', body: 'text', headers: { 'Content-Type': 'text/plain' } })
  assert.equal(res.status, 200)
  const echoed = await res.json()
  assert.ok(echoed.signedHeaders.includes('x-project-id'))
  assert.equal(echoed.unsignedPayload, true, 'the v3 profile signs UNSIGNED-PAYLOAD for a non-JSON body')
  assert.equal(sent.get('x-project-id'), '0a1b2c3d4e5f60718293a4b5c6d7e8f9')
  assert.equal(sent.get('x-security-token'), TMP[0].securityToken)
  assert.match(sent.get('authorization'), /^SDK-HMAC-SM3 Access=TMPAKEXAMPLE00000001,/)
})

test('signedFetch(function source): refreshed in the background near expiry, one call, no request waits', async (t) => {
  const server = await verifyingServer({ keys })
  t.after(server.close)
  const source = rotatingSource({ expiresIn: 2_000, delay: 150 })
  const apigFetch = signedFetch(source, { refreshMarginSeconds: 1.8, minRefreshIntervalSeconds: 0 })
  assert.equal((await (await apigFetch(`${server.url}/1`)).json()).accessKey, TMP[0].accessKey)
  assert.equal(source.calls, 1)
  await sleep(250) // now less than 1.8 s left: the next requests start one refresh and do not wait for it
  const during = await Promise.all([1, 2, 3].map((i) => apigFetch(`${server.url}/during/${i}`).then((r) => r.json())))
  assert.equal(source.calls, 2, 'one refresh call for the three requests')
  for (const echoed of during) assert.equal(echoed.accessKey, TMP[0].accessKey, 'signed with the held credentials')
  await sleep(200) // the refresh (150 ms) has answered
  assert.equal((await (await apigFetch(`${server.url}/after`)).json()).accessKey, TMP[1].accessKey)
})

test('signedFetch(function source): a failed refresh keeps the credentials until they expire, then rejects expired', async (t) => {
  const server = await verifyingServer({ keys })
  t.after(server.close)
  const source = rotatingSource({ expiresIn: 600, delay: 5, fail: (n) => n > 0 })
  const apigFetch = signedFetch(source, { refreshMarginSeconds: 0.5, minRefreshIntervalSeconds: 0 })
  assert.equal((await apigFetch(`${server.url}/1`)).status, 200)
  await sleep(150) // inside the margin: the refresh fails in the background
  const kept = await apigFetch(`${server.url}/2`)
  assert.equal(kept.status, 200)
  await sleep(50)
  assert.equal(source.calls, 2)
  assert.equal((await (await apigFetch(`${server.url}/3`)).json()).accessKey, TMP[0].accessKey)
  await sleep(500) // expired now
  await assert.rejects(apigFetch(`${server.url}/4`), (e) => {
    assert.ok(e instanceof ApigError)
    assert.equal(e.code, 'expired')
    assert.equal(e.provider, 'function')
    assert.equal(e.status, 500)
    assert.match(e.message, /backend down/)
    assert.ok(e.cause instanceof ApigError && e.cause.code === 'unreachable')
    return true
  })
})

test('credentialsSigner: typed errors for what a source gives or throws', async () => {
  const first = (value) => credentialsSigner(() => value)()
  await assert.rejects(first({ accessKey: 'AK' }), (e) => e.code === 'missing_field' && /secretKey/.test(e.message))
  await assert.rejects(first(null), (e) => e.code === 'malformed')
  await assert.rejects(first({ ...TMP[0], expiresAt: 'soon' }), (e) => e.code === 'malformed' && /expiresAt/.test(e.message))
  await assert.rejects(first({ ...TMP[0], securityToken: 7 }), (e) => e.code === 'malformed')
  await assert.rejects(first({ ...TMP[0], expiresAt: Date.now() - 1000 }), (e) => e.code === 'expired' && e.status === 500)
  const failure = new Error('HTTP 403 from /credentials')
  await assert.rejects(
    credentialsSigner(async () => {
      throw failure
    })(),
    (e) => e instanceof ApigError && e.code === 'unreachable' && e.cause === failure && e.source === 'anonymous()',
  )
  const typed = new ApigError('no', 'timeout')
  await assert.rejects(credentialsSigner({ credentials: () => Promise.reject(typed) })(), (e) => e === typed)
  // a bad signer setting is the Signer's own error
  await assert.rejects(credentialsSigner(() => TMP[0], { algorithm: 'NOPE' })(), (e) => e.code === 'unsupported_algorithm')
  // expiresAt as milliseconds, and the same signer for the same credentials
  const next = credentialsSigner(() => ({ ...TMP[0], expiresAt: Date.now() + 3_600_000 }))
  const signer = await next()
  assert.equal(signer.key, TMP[0].accessKey)
  assert.equal(await next(), signer)
})

'use strict'
// The native credential providers (apig-credentials through src/credentials.rs): a real metadata
// server on 127.0.0.1 speaking the ECS JSON (temporary credentials, slow, unreachable, malformed),
// the environment, a profile file, the chain's answer, and signedFetch with a provider.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const {
  ApigError,
  CREDENTIALS_ERROR_CODES,
  ChainProvider,
  EnvironmentProvider,
  MetadataProvider,
  ProfileProvider,
  StaticProvider,
  signedFetch,
} = require('apig-sdk')
const { listen, verifyingServer } = require('./helpers.js')

const TMP_AK = 'TMPAKEXAMPLE7QXZ2K9W'
const TMP_SK = 'TmpSkExample0a1B2c3D4e5F6g7H8i9J0kLmNoPq'
const TOKEN = 'gQpjbi1ub3J0aC00+/=the-token'

/** A metadata service: `answer(n)` gives the n-th securitykey answer as [status, body, delay ms]. */
async function metadataServer(answer) {
  const server = await listen((req, res) => {
    if (req.url === '/meta-data/latest/api/token') {
      res.statusCode = 404 // no session tokens here: the provider goes on without one
      return res.end()
    }
    if (req.url !== '/openstack/latest/securitykey') {
      res.statusCode = 404
      return res.end()
    }
    const [status, body, delay = 0] = answer(server.calls++)
    setTimeout(() => {
      res.statusCode = status
      res.setHeader('Content-Type', 'application/json')
      res.end(typeof body === 'string' ? body : JSON.stringify(body))
    }, delay)
  })
  server.calls = 0
  return server
}

const securityKey = (expiresInMs, ak = TMP_AK) => ({
  credential: {
    access: ak,
    secret: TMP_SK,
    securitytoken: TOKEN,
    // six fraction digits, as the ECS service writes them
    expires_at: new Date(Date.now() + expiresInMs).toISOString().replace('Z', '000Z'),
  },
})

const isCredentialsError = (code, provider) => (e) => {
  assert.ok(e instanceof ApigError, String(e))
  assert.equal(e.code, code, e.message)
  assert.equal(e.provider, provider)
  assert.equal(e.status, 500)
  assert.ok(typeof e.source === 'string' && e.source.length > 0)
  return true
}

test('the addon reports the credential error codes of lib/api.cjs', () => {
  assert.deepEqual([...CREDENTIALS_ERROR_CODES].sort(), ['expired', 'http_status', 'malformed', 'missing', 'missing_field', 'no_provider', 'timeout', 'unreachable'])
})

test('MetadataProvider: temporary credentials from a metadata server, cached; signedFetch signs the token', async (t) => {
  const metadata = await metadataServer(() => [200, securityKey(3_600_000)])
  t.after(metadata.close)
  const server = await verifyingServer({ keys: { [TMP_AK]: TMP_SK } })
  t.after(server.close)
  const provider = new MetadataProvider({ endpoint: metadata.url, timeoutMs: 2000 })
  assert.equal(provider.name, 'metadata')
  const credentials = await provider.credentials()
  assert.equal(credentials.accessKey, TMP_AK)
  assert.equal(credentials.secretKey, TMP_SK)
  assert.equal(credentials.securityToken, TOKEN)
  assert.ok(credentials.expiresAt instanceof Date && credentials.expiresAt > new Date())
  await provider.credentials()
  assert.equal(metadata.calls, 1, 'valid credentials come from the cache')

  const apigFetch = signedFetch(provider)
  const answers = await Promise.all([1, 2, 3].map((i) => apigFetch(`${server.url}/v1/${i}`)))
  for (const res of answers) {
    assert.equal(res.status, 200)
    const echoed = await res.json()
    assert.equal(echoed.accessKey, TMP_AK)
    assert.ok(echoed.signedHeaders.includes('x-security-token'))
  }
  assert.equal(metadata.calls, 1)
})

test('MetadataProvider: malformed JSON, missing fields, HTTP errors, slow and unreachable services are typed errors', async (t) => {
  const cases = [
    ['malformed', () => [200, '{"credential": {"access": '], 'malformed'],
    ['missing field', () => [200, { credential: { access: TMP_AK, expires_at: '2030-01-01T00:00:00Z' } }], 'missing_field'],
    ['HTTP 500', () => [500, { error: 'down' }], 'http_status'],
    ['slow', () => [200, securityKey(3_600_000), 1500], 'timeout'],
  ]
  for (const [what, answer, code] of cases) {
    const metadata = await metadataServer(answer)
    t.after(metadata.close)
    const provider = new MetadataProvider({ endpoint: metadata.url, timeoutMs: 300 })
    await assert.rejects(provider.credentials(), isCredentialsError(code, 'metadata'), what)
  }
  // a port nothing listens on
  const closed = await listen(() => {})
  await closed.close()
  const unreachable = new MetadataProvider({ endpoint: closed.url, timeoutMs: 500 })
  await assert.rejects(unreachable.credentials(), isCredentialsError('unreachable', 'metadata'))
  // signedFetch passes the provider's error on
  await assert.rejects(signedFetch(unreachable)(`${closed.url}/x`), isCredentialsError('unreachable', 'metadata'))
  assert.throws(() => new MetadataProvider({ timeoutMs: -1 }), (e) => e instanceof ApigError && e.code === 'invalid_config')
})

test('MetadataProvider: credentials that expire are refreshed; a failed refresh serves them until expiry, then expired', async (t) => {
  const metadata = await metadataServer((n) => (n === 0 ? [200, securityKey(1500)] : [503, 'down']))
  t.after(metadata.close)
  const provider = new MetadataProvider({ endpoint: metadata.url, refreshMarginSeconds: 1, minRefreshIntervalSeconds: 0, timeoutMs: 500 })
  const first = await provider.credentials()
  assert.equal(first.accessKey, TMP_AK)
  await new Promise((resolve) => setTimeout(resolve, 700)) // inside the margin: the refresh fails
  assert.equal((await provider.credentials()).accessKey, TMP_AK, 'the cached credentials are still served')
  await new Promise((resolve) => setTimeout(resolve, 1000)) // past the expiry
  await assert.rejects(provider.credentials(), (e) => e instanceof ApigError && ['expired', 'http_status'].includes(e.code))
  assert.ok(metadata.calls >= 2)
})

test('EnvironmentProvider and ProfileProvider: Huawei Cloud v3 SDK variables and file', async (t) => {
  const saved = { ...process.env }
  t.after(() => {
    for (const name of Object.keys(process.env)) if (name.startsWith('HUAWEICLOUD_SDK_') && !(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
  })
  for (const name of Object.keys(process.env)) if (name.startsWith('HUAWEICLOUD_SDK_')) delete process.env[name]
  const env = new EnvironmentProvider()
  assert.equal(env.name, 'environment')
  await assert.rejects(env.credentials(), isCredentialsError('missing', 'environment'))
  process.env.HUAWEICLOUD_SDK_AK = 'ENVAK'
  process.env.HUAWEICLOUD_SDK_SK = 'ENVSK'
  process.env.HUAWEICLOUD_SDK_PROJECT_ID = 'p1'
  assert.deepEqual(await env.credentials(), { accessKey: 'ENVAK', secretKey: 'ENVSK', projectId: 'p1' })

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apig-profile-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'credentials')
  fs.writeFileSync(file, '[basic]\nak = FILEAK\nsk = FILESK\nsecurity_token = tok\n[global]\nak = GAK\nsk = GSK\ndomain_id = d9\n')
  assert.deepEqual(await new ProfileProvider({ path: file }).credentials(), { accessKey: 'FILEAK', secretKey: 'FILESK', securityToken: 'tok' })
  const global = new ProfileProvider({ path: file, profile: 'global' })
  assert.equal(global.name, 'profile')
  assert.deepEqual(await global.credentials(), { accessKey: 'GAK', secretKey: 'GSK', domainId: 'd9' })
  await assert.rejects(new ProfileProvider({ path: file, profile: 'nope' }).credentials(), isCredentialsError('missing', 'profile'))
  await assert.rejects(new ProfileProvider({ path: path.join(dir, 'none') }).credentials(), isCredentialsError('missing', 'profile'))
  const broken = path.join(dir, 'broken')
  fs.writeFileSync(broken, '[basic\nak = x\n')
  await assert.rejects(new ProfileProvider({ path: broken }).credentials(), isCredentialsError('malformed', 'profile'))
})

test('ChainProvider: says which provider answered; no_provider lists every failure', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apig-chain-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const missing = new ProfileProvider({ path: path.join(dir, 'none') })
  const fixed = new StaticProvider({ accessKey: 'SAK', secretKey: 'SSK', securityToken: 'st' })
  assert.equal(fixed.name, 'static')
  const chain = new ChainProvider([missing, fixed])
  assert.equal(chain.name, 'chain')
  const answered = await chain.resolve()
  assert.equal(answered.provider, 'static')
  assert.deepEqual(answered.credentials, { accessKey: 'SAK', secretKey: 'SSK', securityToken: 'st' })
  assert.equal((await chain.credentials()).accessKey, 'SAK')
  await assert.rejects(new ChainProvider([missing]).resolve(), (e) => {
    isCredentialsError('no_provider', 'chain')(e)
    assert.match(e.message, /profile/)
    return true
  })
  assert.throws(() => new ChainProvider([{ credentials: () => ({}) }]), (e) => e.code === 'invalid_config')
  assert.throws(() => new StaticProvider({ accessKey: 'A' }), (e) => e.code === 'invalid_config')
  // the default chain: environment → profile → metadata
  assert.equal(new ChainProvider().name, 'chain')
})

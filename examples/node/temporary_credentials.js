// Temporary credentials end to end, on 127.0.0.1:
//  * a Fastify API verifying signatures (apig-sdk/fastify);
//  * a backend endpoint issuing short-lived credentials, and signedFetch with a function source
//    asking it (the browser pattern: the page never holds a permanent secret);
//  * an ECS-style metadata service, and undici signing with apig-sdk's MetadataProvider.
// Run: node examples/node/temporary_credentials.js   (needs the apig-sdk, fastify, undici packages)
const http = require('node:http')
const Fastify = require('fastify')
const undici = require('undici')
const apigFastify = require('apig-sdk/fastify')
const { MetadataProvider, signedFetch } = require('apig-sdk')
const { signingAgent } = require('apig-sdk/undici')

// what IAM would issue: an AK/SK pair, a security token, an expiry
const TEMPORARY = { accessKey: 'TMPAKEXAMPLE7QXZ2K9W', secretKey: 'TmpSkExample0a1B2c3D4e5F6g7H8i9J0kLmNoPq', securityToken: 'gQpjbi1ub3J0aC00...the-token' }

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler).listen(0, '127.0.0.1', () => resolve(server))
  })
}
const urlOf = (server) => `http://127.0.0.1:${server.address().port}`

async function main() {
  // the API: verifies every request, knows the temporary key pair (a real gateway asks IAM)
  const api = Fastify()
  await api.register(apigFastify, { keys: { [TEMPORARY.accessKey]: TEMPORARY.secretKey } })
  api.get('/v1/hello', async (request) => `hello ${request.apig.accessKey}, token signed: ${request.apig.securityToken !== undefined}`)
  const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' })

  // your backend: hands the logged-in page credentials that expire in 15 minutes
  let issued = 0
  const backend = await listen((req, res) => {
    issued += 1
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify({ ...TEMPORARY, expiresAt: Date.now() + 15 * 60_000 }))
  })
  const credentials = async () => (await fetch(`${urlOf(backend)}/credentials`)).json()
  const apigFetch = signedFetch(credentials)
  for (let i = 0; i < 3; i++) {
    const res = await apigFetch(`${apiUrl}/v1/hello`)
    console.log(`fetch: ${res.status} ${await res.text()}`)
  }
  console.log(`credentials fetched from the backend: ${issued}`)

  // an ECS metadata service (169.254.169.254 on a real server)
  const metadata = await listen((req, res) => {
    if (req.url !== '/openstack/latest/securitykey') {
      res.statusCode = 404
      return res.end()
    }
    const expires = new Date(Date.now() + 3_600_000).toISOString()
    res.end(JSON.stringify({ credential: { access: TEMPORARY.accessKey, secret: TEMPORARY.secretKey, securitytoken: TEMPORARY.securityToken, expires_at: expires } }))
  })
  const agent = signingAgent(new MetadataProvider({ endpoint: urlOf(metadata) }))
  const { statusCode, body } = await undici.request(`${apiUrl}/v1/hello`, { dispatcher: agent })
  console.log(`undici: ${statusCode} ${await body.text()}`)

  await agent.close()
  await api.close()
  backend.close()
  metadata.close()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

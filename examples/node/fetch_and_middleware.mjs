// Sign with fetch, verify with the Connect-style middleware: a complete round trip on 127.0.0.1.
//
//   node examples/node/fetch_and_middleware.mjs
import http from 'node:http'
import { Signer, signedFetch, verifyMiddleware } from 'apig-sdk'

const KEY = 'AKTESTEXAMPLE0000001'
const SECRET = 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv'

// The server: verify every request, then answer with who signed it.
const verify = verifyMiddleware({ keys: { [KEY]: SECRET } })
const server = http.createServer((req, res) =>
  verify(req, res, () => res.end(`hello ${req.apig.accessKey}, you sent ${req.rawBody.length} bytes`)),
)
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`

try {
  // The client: a fetch that signs.
  const apigFetch = signedFetch(new Signer({ key: KEY, secret: SECRET }))
  const ok = await apigFetch(`${base}/v1/items?limit=2`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'test' }),
  })
  console.log(ok.status, await ok.text())

  // An unsigned request gets APIG's answer.
  const rejected = await fetch(`${base}/v1/items`)
  console.log(rejected.status, await rejected.text())
} finally {
  server.close()
}

// Helpers of the test suite shared by apig-sdk and apig-wasm (bindings/js/test, copied beside each
// package's own tests as test/shared by `cargo xtask test node|wasm`): the package under test is
// APIG_JS_PACKAGE, installed in the scratch project as users get it.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'

export const PACKAGE = process.env.APIG_JS_PACKAGE
if (PACKAGE !== 'apig-sdk' && PACKAGE !== 'apig-wasm') throw new Error('set APIG_JS_PACKAGE to apig-sdk or apig-wasm')
export const apig = await import(PACKAGE)
export const require = createRequire(path.join(process.cwd(), 'package.json'))
/** The package's folder. */
export const packageDir = path.dirname(require.resolve(`${PACKAGE}/package.json`))

export const KEY = 'AKTESTEXAMPLE0000001'
export const SECRET = 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv'
export const DATE = '20240403T101500Z'
export const AT = Date.UTC(2024, 3, 3, 10, 15, 0)

/** Starts `handler` on 127.0.0.1 (random port); resolves to { url, close }. */
export function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler)
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(done)) })
    })
  })
}

/** A server that verifies with the package's middleware and echoes what it found as JSON. */
export function verifyingServer(options = { keys: { [KEY]: SECRET } }) {
  const middleware = apig.verifyMiddleware(options)
  return listen((req, res) => {
    middleware(req, res, (error) => {
      if (error) {
        res.statusCode = 500
        res.end(String(error && error.message))
        return
      }
      res.setHeader('Content-Type', 'application/json')
      res.end(
        JSON.stringify({
          accessKey: req.apig.accessKey,
          signedHeaders: req.apig.signedHeaders,
          unsignedPayload: req.apig.unsignedPayload,
          method: req.method,
          url: req.url,
          body: req.rawBody.toString('utf8'),
        }),
      )
    })
  })
}

/** docs/error-codes.md's table: core code → { status, apigCode, errorMsg }. */
export function documentedAnswers() {
  const root = process.env.APIG_ROOT ?? path.join(process.cwd(), '..', '..', '..')
  const doc = fs.readFileSync(path.join(root, 'docs', 'error-codes.md'), 'utf8')
  const table = {}
  for (const m of doc.matchAll(/^\| `([a-z_]+)` \| (APIG\.\d{4}) \| (\d{3}) \| `([^`]*)`/gm)) {
    table[m[1]] = { status: Number(m[3]), apigCode: m[2], errorMsg: m[4].replace(/\\\|/g, '|') }
  }
  return table
}

/** Whether `text` is the documented `error_msg` with its `…` / `<placeholder>` parts filled in. */
export function matchesDocumented(documented, text) {
  const escape = (part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const pattern = documented.split(/…|<[^>]*>/).map(escape).join('[^]*')
  return new RegExp(`^${pattern}$`).test(text)
}

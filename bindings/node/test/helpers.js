'use strict'
// Shared test helpers: a real HTTP server on 127.0.0.1 behind verifyMiddleware.

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { verifyMiddleware } = require('apig-sdk')

const KEY = 'AKTESTEXAMPLE0000001'
const SECRET = 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv'

/** Starts `handler` on 127.0.0.1 (random port); resolves to { url, close }. */
function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler)
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(done)),
      })
    })
  })
}

/** A server that verifies with `options` and echoes what the middleware found as JSON. */
function verifyingServer(options = { keys: { [KEY]: SECRET } }) {
  const middleware = verifyMiddleware(options)
  return listen((req, res) => {
    middleware(req, res, (error) => {
      if (error) {
        res.statusCode = 500
        res.end(String(error && error.message))
        return
      }
      const text = JSON.stringify({
        accessKey: req.apig.accessKey,
        signedHeaders: req.apig.signedHeaders,
        unsignedPayload: req.apig.unsignedPayload,
        method: req.method,
        url: req.url,
        body: req.rawBody.toString('utf8'),
      })
      res.setHeader('Content-Type', 'application/json')
      res.end(text)
    })
  })
}

/**
 * docs/error-codes.md's table: core code → { status, apigCode, errorMsg } (the repository root is
 * found from APIG_CONFORMANCE_DIR when the tests run from the installed package).
 */
function documentedAnswers() {
  const root = process.env.APIG_CONFORMANCE_DIR
    ? path.join(process.env.APIG_CONFORMANCE_DIR, '..')
    : path.join(__dirname, '..', '..', '..')
  const doc = fs.readFileSync(path.join(root, 'docs', 'error-codes.md'), 'utf8')
  const table = {}
  for (const m of doc.matchAll(/^\| `([a-z_]+)` \| (APIG\.\d{4}) \| (\d{3}) \| `([^`]*)`/gm)) {
    table[m[1]] = { status: Number(m[3]), apigCode: m[2], errorMsg: m[4].replace(/\\\|/g, '|') }
  }
  return table
}

/** Whether `text` is the documented `error_msg` with its `…` / `<placeholder>` parts filled in. */
function matchesDocumented(documented, text) {
  const escape = (part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const pattern = documented.split(/…|<[^>]*>/).map(escape).join('[^]*')
  return new RegExp(`^${pattern}$`).test(text)
}

module.exports = { KEY, SECRET, documentedAnswers, listen, matchesDocumented, verifyingServer }

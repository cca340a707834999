'use strict'
// Shared test helpers: a real HTTP server on 127.0.0.1 behind verifyMiddleware.

const http = require('node:http')
const { verifyMiddleware } = require('apig')

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

module.exports = { KEY, SECRET, listen, verifyingServer }

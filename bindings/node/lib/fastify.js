'use strict'
// `apig-sdk/fastify`: a Fastify plugin verifying every request's APIG signature, the Fastify
// counterpart of `verifyMiddleware` (the same options, body reading, limit and APIG error JSON:
// the shared API's server support, lib/api.cjs).
//
//   await app.register(require('apig-sdk/fastify'), { keys: { [ak]: sk } })
//   app.post('/x', (request) => request.apig.accessKey)
//
// It hooks `preParsing`: the raw body is read (up to `limit`), verified, and handed to Fastify's
// content-type parsers unchanged, so `request.body` is parsed as usual; `request.apig` is who
// signed, `request.rawBody` the bytes verified. Requests that fail get APIG's 401 JSON answer (or
// `onError(error, request, reply)`); a Verifier error ≥ 500 goes to Fastify's error handling.

const { Readable } = require('node:stream')
const apig = require('../index.js')

const { ApigError, Verifier } = apig
const server = apig.__server

function apigFastify(fastify, options, done) {
  const o = options ?? {}
  if (typeof o !== 'object') throw new ApigError('apig-sdk/fastify needs options { keys } or { verifier }', 'invalid_config')
  // fastify's own plugin options are not the verifier's
  const { verifier: given, limit = server.defaultBodyLimit, onError, prefix, logLevel, logSerializers, ...policy } = o
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new ApigError(`apig-sdk/fastify: limit must be a whole number of bytes, not ${String(limit)}`, 'invalid_config')
  }
  const verifier = given === undefined ? new Verifier(policy) : given

  fastify.decorateRequest('apig', null)
  fastify.decorateRequest('rawBody', null)
  fastify.addHook('preParsing', function apigVerify(request, reply, payload, next) {
    const fail = (error) => {
      if (!(error instanceof ApigError) || error.status >= 500) return next(error)
      if (onError !== undefined) return onError(error, request, reply)
      const { status, headers, body } = server.errorAnswer(error)
      reply.code(status).headers(headers).send(body)
    }
    server.readBody(payload, limit).then((body) => {
      let identity
      try {
        identity = verifier.verify({
          method: request.raw.method,
          url: request.raw.url,
          headers: server.receivedHeaders(request.raw),
          body,
        })
      } catch (error) {
        return fail(error)
      }
      request.apig = identity
      request.rawBody = body
      const again = Readable.from(body.length === 0 ? [] : [body])
      again.receivedEncodedLength = body.length
      return next(null, again)
    }, fail)
  })
  done()
}

// one plugin for the whole app (not encapsulated: fastify-plugin's marker), named for Fastify's errors
apigFastify[Symbol.for('skip-override')] = true
apigFastify[Symbol.for('fastify.display-name')] = 'apig-sdk/fastify'
apigFastify[Symbol.for('plugin-meta')] = { name: 'apig-sdk/fastify', fastify: '>=4' }

module.exports = apigFastify
module.exports.default = apigFastify
module.exports.apigFastify = apigFastify

'use strict'
// verifyMiddleware: Connect/Express `(req, res, next)` verification of APIG-signed requests. It
// reads the raw body (up to a limit), lets the core verify, and answers like APIG on failure.

const { randomUUID } = require('node:crypto')
const { ApigError, Verifier } = require('./core.js')

const DEFAULT_LIMIT = 1024 * 1024

function verifyMiddleware(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('verifyMiddleware(options) needs { keys } or { verifier }')
  }
  const { verifier: given, limit = DEFAULT_LIMIT, onError, ...policy } = options
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new TypeError(`verifyMiddleware: limit must be a whole number of bytes, not ${String(limit)}`)
  }
  const verifier = given === undefined ? new Verifier(policy) : given

  return function apigVerify(req, res, next) {
    const fail = (error) => {
      if (!(error instanceof ApigError) || error.status >= 500) return next(error)
      if (onError !== undefined) return onError(error, req, res, next)
      return answer(res, error)
    }
    rawBody(req, limit).then((body) => {
      let identity
      try {
        identity = verifier.verify({
          method: req.method,
          url: req.originalUrl || req.url,
          headers: headerPairs(req),
          body,
        })
      } catch (error) {
        return fail(error)
      }
      req.apig = identity
      req.rawBody = body
      if (req.body === undefined) req.body = body
      return next()
    }, fail)
  }
}

/** The received headers as pairs, exactly as they came (`rawHeaders` keeps repeats). */
function headerPairs(req) {
  const raw = req.rawHeaders
  if (!Array.isArray(raw)) return req.headers
  const pairs = new Array(raw.length >> 1)
  for (let i = 0; i + 1 < raw.length; i += 2) pairs[i >> 1] = [raw[i], raw[i + 1]]
  return pairs
}

/** The body as a Buffer: one a previous raw parser kept, or read from the stream. */
function rawBody(req, limit) {
  if (Buffer.isBuffer(req.rawBody)) return Promise.resolve(req.rawBody)
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body)
  if (typeof req.body === 'string') return Promise.resolve(Buffer.from(req.body, 'utf8'))
  if (req.readableEnded || req._body === true || typeof req.on !== 'function') {
    return Promise.reject(
      new ApigError(
        'the body was consumed before verifyMiddleware; mount it before body parsers (it sets req.rawBody)',
        'invalid_config',
      ),
    )
  }
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    let settled = false
    const done = (error, value) => {
      if (settled) return
      settled = true
      req.removeListener('data', onData)
      req.removeListener('end', onEnd)
      req.removeListener('error', onError)
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk) => {
      size += chunk.length
      if (size > limit) {
        req.pause()
        done(tooLarge(limit))
        return
      }
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)
    }
    const onEnd = () => done(null, Buffer.concat(chunks, size))
    const onError = (cause) => {
      const error = new ApigError(`reading the body failed: ${cause.message}`, 'body_read')
      error.cause = cause
      done(error)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

/**
 * The middleware's own limit, not a core error: 413 with APIG's `APIG.0201` (docs/error-codes.md)
 * and the message alone as `error_msg`.
 */
function tooLarge(limit) {
  const error = new ApigError(`Request entity too large, limit ${limit} bytes`, 'body_read', 413)
  error.apigMessage = error.message
  return error
}

/** APIG's JSON error answer: the status, code and `error_msg` the error carries (the core's mapping). */
function answer(res, error) {
  const requestId = randomUUID().replace(/-/g, '')
  const text = JSON.stringify({ error_code: error.apigCode, error_msg: error.apigMessage, request_id: requestId })
  res.statusCode = error.status
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.setHeader('X-Request-Id', requestId)
  if (error.status === 413) res.setHeader('Connection', 'close')
  res.end(text)
}

module.exports = { verifyMiddleware }

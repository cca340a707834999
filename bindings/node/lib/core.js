'use strict'
// The package's JavaScript half over the native addon: the ApigError class, and Signer/Verifier
// subclasses that add what only JavaScript can do (await a stream, read a Headers or Map object).
// Every byte that is signed is hashed and canonicalised by the Rust core.

const binding = require('../binding.js')

/** The error every failure of this package is: an `Error` with the core's stable `code`. */
class ApigError extends Error {
  /**
   * `status`, `apigCode` and `apigMessage` are the core's APIG answer for `code` and `message`
   * (docs/error-codes.md); errors thrown by the native side carry the answer to the very error.
   * @param {string} message
   * @param {string} code one of ERROR_CODES (a TypeError otherwise)
   * @param {number} [status] an HTTP status other than the core's (the middleware's 413)
   */
  constructor(message, code, status) {
    super(message)
    const answer = binding.apigAnswer(String(code), this.message)
    if (answer === null) throw new TypeError(`ApigError: unknown code ${JSON.stringify(String(code))}; see ERROR_CODES`)
    this.name = 'ApigError'
    this.code = code
    this.status = status === undefined ? answer.status : status
    this.apigCode = answer.apigCode
    this.apigMessage = answer.apigMessage
  }
}
binding.registerErrorClass(ApigError)

/** Every error code, in the core's order. */
const ERROR_CODES = Object.freeze(binding.errorCodes())

/** The core's hop-by-hop headers (lower case): the client integrations do not sign them. */
const HOP_BY_HOP_HEADERS = Object.freeze(binding.hopByHopHeaders())
const hopByHop = new Set(HOP_BY_HOP_HEADERS)

/** `[name, value]` pairs without the hop-by-hop headers, which proxies rewrite. */
function signableHeaders(pairs) {
  return pairs.filter(([name]) => !hopByHop.has(String(name).toLowerCase()))
}

/** Whether `body` is a stream or async iterable to hash chunk by chunk. */
function isStreamBody(body) {
  return (
    body !== null &&
    typeof body === 'object' &&
    !ArrayBuffer.isView(body) &&
    !(body instanceof ArrayBuffer) &&
    (typeof body[Symbol.asyncIterator] === 'function' || typeof body.getReader === 'function')
  )
}

function invalid(message) {
  return new ApigError(message, 'invalid_request')
}

/**
 * Headers → one string `name\0value\0…` for the native side (one boundary crossing for all of
 * them). Type conversion only: names and values go to the core verbatim (numbers as their text),
 * which validates, lower-cases, trims and sorts. Accepts an object (array values repeat the name,
 * `undefined`/`null` are skipped), an array of pairs, or a `Headers`/`Map`.
 */
function packHeaders(headers, what = 'headers') {
  if (headers === undefined || headers === null) return ''
  if (typeof headers !== 'object') {
    throw invalid(`${what} must be an object of name → value, an array of [name, value] pairs, or a Headers/Map`)
  }
  let packed = ''
  const add = (name, value) => {
    if (value === undefined || value === null) return
    if (typeof value === 'number') value = String(value)
    if (typeof name !== 'string' || typeof value !== 'string') {
      throw invalid(`${what}: ${JSON.stringify(String(name))} must have a string or number value`)
    }
    if (name.includes('\0') || value.includes('\0')) throw invalid(`${what}: NUL in ${JSON.stringify(name)}`)
    packed += name + '\0' + value + '\0'
  }
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i]
      if (!Array.isArray(pair) || pair.length !== 2 || pair[1] === undefined || pair[1] === null) {
        throw invalid(`${what}[${i}] must be a [name, value] pair`)
      }
      add(pair[0], pair[1])
    }
  } else if (typeof headers.entries === 'function' && (headers instanceof Map || Object.getPrototypeOf(headers) !== Object.prototype)) {
    for (const [name, value] of headers.entries()) add(name, value)
  } else {
    for (const name of Object.keys(headers)) {
      const value = headers[name]
      if (Array.isArray(value)) for (const v of value) add(name, v)
      else add(name, value)
    }
  }
  return packed
}

/** The native packed result → the SignResult object. */
function unpackResult(packed) {
  const p = packed.split('\0')
  const headers = {}
  for (let i = 7; i + 1 < p.length; i += 2) headers[p[i]] = p[i + 1]
  const result = {
    headers,
    authorization: p[0],
    signature: p[1],
    canonicalRequest: p[2],
    stringToSign: p[3],
    signedHeaders: p[4],
    date: p[5],
  }
  if (p[6] !== '') result.credentialScope = p[6]
  return result
}

function requestObject(request, call) {
  if (request === null || typeof request !== 'object') {
    throw invalid(`${call} needs a request object { method, url, headers, body }`)
  }
  return request
}

/** Iterates a web ReadableStream that lacks Symbol.asyncIterator (older runtimes). */
async function* readerChunks(stream) {
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

class Signer extends binding.Signer {
  /**
   * Signs a request. Returns the result, or a Promise of it when the body is a stream or async
   * iterable (hashed chunk by chunk by the core, never buffered).
   */
  sign(request) {
    const r = requestObject(request, 'sign(request)')
    if (isStreamBody(r.body)) {
      return this.hashStream(r.body).then((payloadHash) => this.sign({ ...r, body: undefined, payloadHash }))
    }
    if (r.unsignedPayload !== undefined && typeof r.unsignedPayload !== 'boolean') throw invalid('unsignedPayload must be a boolean')
    return unpackResult(
      this.signPacked(r.method, r.url, packHeaders(r.headers), r.body, r.payloadHash, r.unsignedPayload === true, r.date),
    )
  }

  /**
   * The body hash of a stream, async iterable or web ReadableStream of strings / Uint8Arrays,
   * computed by the core's hasher chunk by chunk.
   */
  async hashStream(source) {
    const hasher = this.createHasher()
    const chunks =
      typeof source[Symbol.asyncIterator] === 'function' || typeof source[Symbol.iterator] === 'function'
        ? source
        : readerChunks(source)
    try {
      for await (const chunk of chunks) hasher.update(chunk)
    } catch (cause) {
      if (cause instanceof ApigError) throw cause
      const error = new ApigError(`reading the body failed: ${cause && cause.message}`, 'body_read')
      error.cause = cause
      throw error
    }
    return hasher.digest()
  }
}

class Verifier extends binding.Verifier {
  constructor(options) {
    if (options !== null && typeof options === 'object' && options.keys !== null && typeof options.keys === 'object') {
      options = { ...options, keys: packKeys(options.keys) }
    }
    super(options)
  }

  /** Verifies a received request; returns the signer's identity or throws an ApigError. */
  verify(request) {
    const r = requestObject(request, 'verify(request)')
    return this.verifyPacked(r.method, r.url, packHeaders(r.headers), r.body, r.payloadHash, r.now)
  }
}

/** A key store object or Map → the packed string the native constructor copies. */
function packKeys(keys) {
  try {
    return packHeaders(keys instanceof Map ? keys : Object.entries(keys), 'keys')
  } catch (error) {
    throw new ApigError('keys must be an object or Map of access key → secret string, or a function', 'invalid_config')
  }
}

module.exports = {
  ApigError,
  ERROR_CODES,
  HOP_BY_HOP_HEADERS,
  PayloadHasher: binding.PayloadHasher,
  packHeaders,
  signableHeaders,
  Signer,
  Verifier,
  isStreamBody,
}

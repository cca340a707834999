'use strict'
// The package's JavaScript half over the native addon: the ApigError class, and Signer/Verifier
// subclasses that add what only JavaScript can do (await a stream, read a Headers or Map object).
// Every byte that is signed is hashed and canonicalised by the Rust core.

const binding = require('../binding.js')

/** The error every failure of this package is: an `Error` with the core's stable `code`. */
class ApigError extends Error {
  /**
   * @param {string} message
   * @param {string} code one of ERROR_CODES
   * @param {number} [status] the HTTP status a server answers (401, 400 or 500)
   */
  constructor(message, code, status) {
    super(message)
    this.name = 'ApigError'
    this.code = code
    this.status = status === undefined ? 500 : status
  }
}
binding.registerErrorClass(ApigError)

/** Every error code, in the core's order. */
const ERROR_CODES = Object.freeze(binding.errorCodes())

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

/** `Headers`, `Map` and other objects with `entries()` → `[name, value]` pairs; others unchanged. */
function headerInput(headers) {
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers) && typeof headers.entries === 'function') {
    return Array.from(headers.entries())
  }
  return headers
}

/** Adapts one request object: Headers/Map headers become pairs. */
function adapt(request) {
  if (request !== null && typeof request === 'object') {
    const headers = headerInput(request.headers)
    if (headers !== request.headers) return { ...request, headers }
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
    request = adapt(request)
    if (request !== null && typeof request === 'object' && isStreamBody(request.body)) {
      return this.hashStream(request.body).then((payloadHash) =>
        super.sign({ ...request, body: undefined, payloadHash }),
      )
    }
    return super.sign(request)
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
      const error = new ApigError(`reading the body failed: ${cause && cause.message}`, 'body_read', 400)
      error.cause = cause
      throw error
    }
    return hasher.digest()
  }
}

class Verifier extends binding.Verifier {
  constructor(options) {
    if (options !== null && typeof options === 'object' && options.keys instanceof Map) {
      options = { ...options, keys: Array.from(options.keys) }
    }
    super(options)
  }

  /** Verifies a received request; returns the signer's identity or throws an ApigError. */
  verify(request) {
    return super.verify(adapt(request))
  }
}

module.exports = {
  ApigError,
  ERROR_CODES,
  PayloadHasher: binding.PayloadHasher,
  Signer,
  Verifier,
  isStreamBody,
}

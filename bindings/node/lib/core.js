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

/** How many pieces (names and values) the last `packHeaders` call packed. */
let packedPieces = 0

/**
 * Headers → one string `name\0value\0…` for the native side (one boundary crossing for all of
 * them). Type conversion only: names and values go to the core verbatim (numbers as their text),
 * which validates, lower-cases, trims and sorts. Accepts an object (array values repeat the name,
 * `undefined`/`null` are skipped), an array of pairs, or a `Headers`/`Map`. A NUL in a name or
 * value would shift every piece after it: `checkNul` refuses it here; `sign()` leaves it out and
 * has the native side compare the NULs of the whole request with `packedPieces` instead (one
 * scan rather than one per piece), checking here only when they differ.
 */
function packHeaders(headers, what = 'headers', checkNul = true) {
  packedPieces = 0
  if (headers === undefined || headers === null) return ''
  if (typeof headers !== 'object') {
    throw invalid(`${what} must be an object of name → value, an array of [name, value] pairs, or a Headers/Map`)
  }
  let packed = ''
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i]
      if (!Array.isArray(pair) || pair.length !== 2 || pair[1] === undefined || pair[1] === null) {
        throw invalid(`${what}[${i}] must be a [name, value] pair`)
      }
      packed = addHeader(packed, pair[0], pair[1], what, checkNul)
    }
  } else if (typeof headers.entries === 'function' && (headers instanceof Map || Object.getPrototypeOf(headers) !== Object.prototype)) {
    for (const [name, value] of headers.entries()) packed = addHeader(packed, name, value, what, checkNul)
  } else {
    const names = Object.keys(headers)
    for (let i = 0; i < names.length; i++) {
      const name = names[i]
      const value = headers[name]
      if (Array.isArray(value)) for (const v of value) packed = addHeader(packed, name, v, what, checkNul)
      else packed = addHeader(packed, name, value, what, checkNul)
    }
  }
  return packed
}

/** `packed` with one more header (none for an `undefined`/`null` value). */
function addHeader(packed, name, value, what, checkNul) {
  if (value === undefined || value === null) return packed
  if (typeof value === 'number') value = String(value)
  if (typeof name !== 'string' || typeof value !== 'string') {
    throw invalid(`${what}: ${JSON.stringify(String(name))} must have a string or number value`)
  }
  if (checkNul && (name.includes('\0') || value.includes('\0'))) throw invalid(`${what}: NUL in ${JSON.stringify(name)}`)
  packedPieces += 2
  return packed + name + '\0' + value + '\0'
}

/** The names of the headers the core adds, indexed by the digit that stands for each in a packed result. */
const ADDED_HEADER_NAMES = binding.addedHeaderNames()
const ZERO = 48 // '0'
const NAMED = 42 // '*': a header name that is not in ADDED_HEADER_NAMES follows
const SAME_AS_AUTHORIZATION = 97 // 'a'
const SAME_AS_DATE = 100 // 'd'

/**
 * The native packed result (src/sign.rs, `pack_result`) → the SignResult object: seven pieces
 * ended by NUL, then the added headers, each a name code, a value code and NUL. Slicing at the
 * NULs here is cheaper than `split`, and the header names are strings held once.
 */
function unpackResult(s) {
  let start = 0
  let end = s.indexOf('\0')
  const authorization = s.slice(start, end)
  end = s.indexOf('\0', (start = end + 1))
  const signature = s.slice(start, end)
  end = s.indexOf('\0', (start = end + 1))
  const canonicalRequest = s.slice(start, end)
  end = s.indexOf('\0', (start = end + 1))
  const stringToSign = s.slice(start, end)
  end = s.indexOf('\0', (start = end + 1))
  const signedHeaders = s.slice(start, end)
  end = s.indexOf('\0', (start = end + 1))
  const date = s.slice(start, end)
  end = s.indexOf('\0', (start = end + 1))
  const credentialScope = s.slice(start, end)
  start = end + 1
  const headers = {}
  while (start < s.length) {
    let name
    const code = s.charCodeAt(start)
    if (code === NAMED) {
      end = s.indexOf('\0', start + 1)
      name = s.slice(start + 1, end)
      start = end + 1
    } else {
      name = ADDED_HEADER_NAMES[code - ZERO]
      start += 1
    }
    const kind = s.charCodeAt(start)
    if (kind === SAME_AS_AUTHORIZATION) {
      headers[name] = authorization
      start += 2
    } else if (kind === SAME_AS_DATE) {
      headers[name] = date
      start += 2
    } else {
      end = s.indexOf('\0', start + 1)
      headers[name] = s.slice(start + 1, end)
      start = end + 1
    }
  }
  const result = { headers, authorization, signature, canonicalRequest, stringToSign, signedHeaders, date }
  if (credentialScope !== '') result.credentialScope = credentialScope
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
  /** The native signing functions for this signer's credentials (see `sign_function` in src/sign.rs). */
  #signPacked
  #signParts

  constructor(options) {
    super(options)
    this.#signPacked = super.signFunction(true)
    this.#signParts = null // made when first needed: it only reports errors
  }

  /**
   * Signs a request. Returns the result, or a Promise of it when the body is a stream or async
   * iterable (hashed chunk by chunk by the core, never buffered).
   */
  sign(request) {
    const r = requestObject(request, 'sign(request)')
    const body = r.body
    if (isStreamBody(body)) {
      return this.hashStream(body).then((payloadHash) => this.sign({ ...r, body: undefined, payloadHash }))
    }
    const unsignedPayload = r.unsignedPayload
    if (unsignedPayload !== undefined && typeof unsignedPayload !== 'boolean') throw invalid('unsignedPayload must be a boolean')
    const method = r.method
    const url = r.url
    const headerInput = r.headers
    let headers = packHeaders(headerInput, 'headers', false)
    const payloadHash = r.payloadHash
    const date = r.date
    const plain = body == null && payloadHash == null && date == null && unsignedPayload !== true
    if (typeof method === 'string' && typeof url === 'string') {
      // one string for the method, URL and headers, with the number of NULs it must hold; the
      // native side reads omitted trailing arguments as undefined, so the usual request needs two
      const line = method + '\0' + url + '\0' + headers
      const separators = packedPieces + 2
      const packed = plain
        ? this.#signPacked(line, separators)
        : this.#signPacked(line, separators, body, payloadHash, unsignedPayload === true, date)
      // null: a NUL in the method, URL or a header, reported below as without the shortcut
      if (packed !== null) return unpackResult(packed)
    }
    headers = packHeaders(headerInput)
    // the native side reports what is wrong with the method or URL
    this.#signParts ??= super.signFunction(false)
    return unpackResult(this.#signParts(method, url, headers, body, payloadHash, unsignedPayload === true, date))
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
  /** The native verifying function of this verifier (see `verify_function` in src/verify.rs). */
  #verify

  constructor(options) {
    if (options !== null && typeof options === 'object' && options.keys !== null && typeof options.keys === 'object') {
      options = { ...options, keys: packKeys(options.keys) }
    }
    super(options)
    this.#verify = super.verifyFunction()
  }

  /** Verifies a received request; returns the signer's identity or throws an ApigError. */
  verify(request) {
    const r = requestObject(request, 'verify(request)')
    return unpackIdentity(this.#verify(r.method, r.url, packHeaders(r.headers), r.body, r.payloadHash, r.now))
  }
}

/**
 * The native packed identity (src/verify.rs, `pack_identity`) → the Identity object: access key,
 * algorithm, signing time in seconds, `1`/`0` for an unsigned payload, then the signed header
 * names, each ended by NUL.
 */
function unpackIdentity(s) {
  const p = s.split('\0')
  p.pop()
  return {
    accessKey: p[0],
    algorithm: p[1],
    signedHeaders: p.slice(4),
    signedAt: new Date(Number(p[2]) * 1000),
    unsignedPayload: p[3] === '1',
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
  unpackResult,
  Signer,
  Verifier,
  isStreamBody,
}

'use strict'
// `apig-sdk/undici`: signing for undici (and so for Node's fetch through a global dispatcher).
//
//   const { Agent, setGlobalDispatcher } = require('undici')
//   const { signingInterceptor } = require('apig-sdk/undici')
//   const agent = new Agent().compose(signingInterceptor(new MetadataProvider()))
//   setGlobalDispatcher(agent)               // fetch(), request(), … now sign
//
// The interceptor takes a Signer or a credentials source (a function, a provider; the shared API's
// credentialsSigner: one signer per credentials, refreshed before expiry) and signs each request
// with the method, URL (origin + path), headers and body undici sends. Bodies given whole (a
// string, Buffer, Uint8Array) are signed; streams, async iterables and FormData are signed
// UNSIGNED-PAYLOAD (the gateway must allow it). With `retryOnExpired` (default true), a 401
// "signature expired … server time …" teaches the clock offset and a whole-body request is signed
// and sent once more. undici is an optional peer dependency: only `signingAgent` loads it.

const apig = require('../index.js')

const { ApigError, clockSkewFromExpired, credentialsSigner } = apig
const invalidConfig = (message) => new ApigError(message, 'invalid_config')

/** The request's headers as `[name, value]` pairs, from any form undici takes. */
function headerPairs(headers) {
  const pairs = []
  const add = (name, value) => {
    if (value === undefined || value === null) return
    if (Array.isArray(value)) for (const v of value) pairs.push([String(name), String(v)])
    else pairs.push([String(name), String(value)])
  }
  if (headers === undefined || headers === null) return pairs
  if (Array.isArray(headers)) {
    if (headers.length > 0 && !Array.isArray(headers[0])) {
      for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1])
    } else {
      for (const [name, value] of headers) add(name, value)
    }
    return pairs
  }
  if (typeof headers[Symbol.iterator] === 'function') {
    for (const [name, value] of headers) add(name, value)
    return pairs
  }
  for (const name of Object.keys(headers)) add(name, headers[name])
  return pairs
}

/** A body undici can send again, and the core can sign: a string or bytes. */
function wholeBody(body) {
  if (body === undefined || body === null) return null
  if (typeof body === 'string' || body instanceof Uint8Array) return body
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  return undefined
}

/**
 * An undici interceptor (`dispatcher.compose(signingInterceptor(source, options))`) signing every
 * request with `source` (a Signer or a credentials source). Options: the credentials source's
 * signer settings (`algorithm`, `profile`, …, `refreshMarginSeconds`), `retryOnExpired` (default
 * true), `clockOffset` (ms, default 0), `unsignedPayload` (sign UNSIGNED-PAYLOAD for every body).
 */
function signingInterceptor(source, options = {}) {
  if (options === null || typeof options !== 'object') throw invalidConfig('signingInterceptor(source, options): options must be an object')
  const currentSigner = credentialsSigner(source, options)
  const retryOnExpired = flag(options.retryOnExpired, 'retryOnExpired', true)
  const unsignedPayload = flag(options.unsignedPayload, 'unsignedPayload', false)
  let clockOffset = options.clockOffset ?? 0
  if (typeof clockOffset !== 'number' || !Number.isFinite(clockOffset)) throw invalidConfig('clockOffset must be a finite number of milliseconds')

  return (dispatch) =>
    function apigSign(opts, handler) {
      const body = wholeBody(opts.body)
      const headers = headerPairs(opts.headers).filter(([name]) => name.toLowerCase() !== 'host')
      const url = new URL(opts.path, opts.origin).href
      const request = { method: opts.method, url, headers }
      if (body === undefined || unsignedPayload) request.unsignedPayload = true
      else if (body !== null) request.body = body

      const send = (signer, target) => {
        const signed = signer.sign({ ...request, date: Date.now() + clockOffset })
        const flat = []
        for (const [name, value] of headerPairs(opts.headers)) flat.push(name, value)
        for (const name of Object.keys(signed.headers)) if (name !== 'Host') flat.push(name, signed.headers[name])
        return dispatch({ ...opts, headers: flat }, target)
      }

      const failed = (controller, error) =>
        typeof handler.onResponseError === 'function' ? handler.onResponseError(controller, error) : handler.onError(error)
      currentSigner()
        .then((signer) => {
          if (body === undefined || !retryOnExpired) return send(signer, handler)
          const retry = new ExpiredRetry(handler, (controller, skew) => {
            // the gateway said how far our clock is off: learn it, sign again, send once more
            clockOffset += skew * 1000
            try {
              send(signer, handler)
            } catch (error) {
              failed(controller, error)
            }
          })
          return send(signer, retry)
        })
        .catch((error) => failed(null, error))
      return true
    }
}

function flag(value, name, otherwise) {
  if (value === undefined || value === null) return otherwise
  if (typeof value !== 'boolean') throw invalidConfig(`${name} must be a boolean`)
  return value
}

/**
 * Passes the answer on, except a 401: held until its body says whether it is APIG's "signature
 * expired" (then `retry(skew)` instead of the answer) or not (then passed on as it came).
 */
class ExpiredRetry {
  #handler
  #retry
  #held = null

  constructor(handler, retry) {
    this.#handler = handler
    this.#retry = retry
  }

  onRequestStart(controller, context) {
    this.#handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(...args) {
    return this.#handler.onRequestUpgrade?.(...args)
  }

  onResponseStart(controller, statusCode, headers, statusMessage) {
    if (statusCode === 401) {
      this.#held = { statusCode, headers, statusMessage, chunks: [] }
      return
    }
    return this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData(controller, chunk) {
    if (this.#held !== null) {
      this.#held.chunks.push(chunk)
      return
    }
    return this.#handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller, trailers) {
    const held = this.#held
    if (held === null) return this.#handler.onResponseEnd?.(controller, trailers)
    const body = Buffer.concat(held.chunks)
    const skew = clockSkewFromExpired(body.toString('utf8'))
    if (skew !== undefined) return this.#retry(controller, skew)
    this.#handler.onResponseStart?.(controller, held.statusCode, held.headers, held.statusMessage)
    if (body.length > 0) this.#handler.onResponseData?.(controller, body)
    return this.#handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller, error) {
    return this.#handler.onResponseError?.(controller, error)
  }
}

/**
 * An undici `Agent` (options: `agentOptions`) composed with `signingInterceptor(source, options)`:
 * pass it as `dispatcher`, or to `setGlobalDispatcher`.
 */
function signingAgent(source, options = {}) {
  let undici
  try {
    undici = require('undici')
  } catch (cause) {
    const error = invalidConfig('signingAgent needs the undici package (npm install undici), an optional peer dependency of apig-sdk')
    error.cause = cause
    throw error
  }
  const { agentOptions, ...signing } = options ?? {}
  return new undici.Agent(agentOptions).compose(signingInterceptor(source, signing))
}

module.exports = { signingAgent, signingInterceptor }

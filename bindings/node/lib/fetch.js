'use strict'
// signedFetch: a fetch that signs each request. fetch's own Request class turns the arguments into
// a method, a URL, headers and body bytes (adding Content-Type as fetch would); the core signs them.

const { isStreamBody, signableHeaders } = require('./core.js')

function signedFetch(signer, fetchImpl = globalThis.fetch, options = {}) {
  if (signer === null || typeof signer !== 'object' || typeof signer.sign !== 'function') {
    throw new TypeError('signedFetch(signer): signer must be an apig Signer')
  }
  if (typeof fetchImpl !== 'function') {
    throw new TypeError('signedFetch(signer, fetchImpl): no fetch implementation (pass one, e.g. undici.fetch)')
  }
  const streams = options.streams === undefined ? 'unsigned' : options.streams
  if (streams !== 'unsigned' && streams !== 'buffer') {
    throw new TypeError(`signedFetch: options.streams must be 'unsigned' or 'buffer', not ${String(streams)}`)
  }

  return async function apigFetch(input, init) {
    const streamed = init != null && isStreamBody(init.body)
    const request = new Request(input, streamed ? { ...init, duplex: 'half' } : init)
    const headers = Array.from(request.headers)
    const signing = { method: request.method, url: request.url, headers: signableHeaders(headers) }
    let body = null
    if (request.body !== null) {
      if (streamed && streams === 'unsigned') {
        signing.unsignedPayload = true
        body = request.body
      } else {
        body = new Uint8Array(await request.arrayBuffer())
        signing.body = body
      }
    }
    const signed = signer.sign(signing)
    for (const [name, value] of Object.entries(signed.headers)) {
      // fetch derives Host from the URL: the very value the core signed
      if (name !== 'Host') headers.push([name, value])
    }
    const forwarded = {
      ...init,
      method: request.method,
      headers,
      body,
      signal: request.signal,
      redirect: request.redirect,
    }
    if (body !== null && !(body instanceof Uint8Array)) forwarded.duplex = 'half'
    else delete forwarded.duplex
    return fetchImpl(request.url, forwarded)
  }
}

module.exports = { signedFetch }

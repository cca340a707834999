'use strict'
// axiosInterceptor: signs each axios request. axios serialises `data` and `params` after the
// interceptors run, so the interceptor does it first (as axios would) and hands axios the exact
// bytes and URL that were signed.

const { ApigError, isStreamBody, signableHeaders } = require('./core.js')

function axiosInterceptor(signer, options = {}) {
  if (signer === null || typeof signer !== 'object' || typeof signer.sign !== 'function') {
    throw new TypeError('axiosInterceptor(signer): signer must be an apig Signer')
  }
  return function apigAxiosInterceptor(config) {
    const url = fullUrl(config, options.axios)
    const method = String(config.method || 'get').toUpperCase()
    const signing = { method, url }
    const data = config.data
    if (data !== undefined && data !== null) {
      if (isStreamBody(data)) {
        signing.unsignedPayload = true
      } else {
        const [bytes, contentType] = serialise(data)
        if (contentType !== undefined && !hasHeader(config.headers, 'content-type')) {
          setHeader(config, 'Content-Type', contentType)
        }
        config.data = bytes
        signing.body = bytes
      }
    }
    signing.headers = signableHeaders(headerPairs(config.headers))
    const signed = signer.sign(signing)
    for (const [name, value] of Object.entries(signed.headers)) {
      // axios derives Host from the URL: the very value the core signed
      if (name !== 'Host') setHeader(config, name, value)
    }
    config.url = url
    config.baseURL = undefined
    config.params = undefined
    return config
  }
}

/** The URL axios will request: its own getUri() (baseURL + url + serialised params). */
function fullUrl(config, axios) {
  if (axios === undefined) {
    try {
      axios = require('axios')
    } catch (cause) {
      throw new ApigError('axiosInterceptor: axios cannot be loaded; pass it as { axios }', 'invalid_config')
    }
  }
  return axios.getUri({ ...config, adapter: undefined })
}

/** axios' own serialisation of `data`, as bytes (so axios sends them unchanged). */
function serialise(data) {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8'), undefined]
  if (Buffer.isBuffer(data)) return [data, undefined]
  if (ArrayBuffer.isView(data)) return [Buffer.from(data.buffer, data.byteOffset, data.byteLength), undefined]
  if (data instanceof ArrayBuffer) return [Buffer.from(data), undefined]
  if (data instanceof URLSearchParams) {
    return [Buffer.from(data.toString(), 'utf8'), 'application/x-www-form-urlencoded;charset=utf-8']
  }
  if (typeof FormData !== 'undefined' && data instanceof FormData) {
    throw new ApigError('axiosInterceptor cannot sign FormData: serialise it first, or send it with signedFetch', 'invalid_request')
  }
  if (typeof data === 'object') return [Buffer.from(JSON.stringify(data), 'utf8'), 'application/json']
  throw new ApigError(`axiosInterceptor cannot sign data of type ${typeof data}`, 'invalid_request')
}

function headerPairs(headers) {
  if (headers === undefined || headers === null) return []
  const plain = typeof headers.toJSON === 'function' ? headers.toJSON() : headers
  const pairs = []
  for (const [name, value] of Object.entries(plain)) {
    if (value === undefined || value === null || value === false) continue
    if (Array.isArray(value)) for (const v of value) pairs.push([name, String(v)])
    else pairs.push([name, String(value)])
  }
  return pairs
}

function hasHeader(headers, name) {
  if (headers === undefined || headers === null) return false
  if (typeof headers.has === 'function') return headers.has(name)
  return Object.keys(headers).some((key) => key.toLowerCase() === name && headers[key] != null && headers[key] !== false)
}

function setHeader(config, name, value) {
  if (config.headers === undefined || config.headers === null) config.headers = {}
  if (typeof config.headers.set === 'function') config.headers.set(name, value)
  else config.headers[name] = value
}

module.exports = { axiosInterceptor }

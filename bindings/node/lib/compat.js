'use strict'
// apig/compat: the interface of Huawei's signer.js (`new Signer()`, `.Key`, `.Secret`,
// `new HttpRequest(method, url, headers, body)`, `Sign(r)`), signing with the Rust core. Existing
// code switches by changing its require line.

const { Signer: CoreSigner } = require('../index.js')

/** A request to sign, as signer.js has it: method, URL, headers object and body. */
class HttpRequest {
  constructor(method, url, headers, body) {
    this.method = method === undefined ? '' : method
    this.url = url === undefined ? '' : String(url)
    const { host, path } = split(this.url)
    this.host = host
    this.uri = path
    this.headers = headers === undefined ? {} : headers
    this.body = body === undefined ? '' : body
  }
}

/** signer.js accepts URLs without a scheme (`host/path?query`): those are https. */
function absolute(url) {
  return url.includes('://') || url.startsWith('/') ? url : `https://${url}`
}

/** host (with any port) and path+query of a URL, for the http.request options Sign returns. */
function split(url) {
  const rest = absolute(url).replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '')
  if (rest.startsWith('/')) return { host: '', path: rest.split('#')[0] }
  const end = rest.search(/[/?#]/)
  const authority = end === -1 ? rest : rest.slice(0, end)
  const path = end === -1 ? '/' : rest.slice(end).split('#')[0]
  return { host: authority.slice(authority.lastIndexOf('@') + 1), path: path.startsWith('?') ? `/${path}` : path }
}

class Signer {
  constructor() {
    this.Key = ''
    this.Secret = ''
    this.SecurityToken = ''
    this._cache = null
  }

  /**
   * Signs `r` and adds `X-Sdk-Date` (if absent), `host` (if absent) and `Authorization` to
   * `r.headers` (and `X-Security-Token`, unsigned, when set). Returns `https.request` options
   * `{ hostname, port?, path, method, headers }`, `headers` being `r.headers` itself.
   */
  Sign(r) {
    if (this._cache === null || this._cache.key !== this.Key || this._cache.secret !== this.Secret) {
      this._cache = { key: this.Key, secret: this.Secret, signer: new CoreSigner({ key: this.Key, secret: this.Secret }) }
    }
    const signed = this._cache.signer.sign({ method: r.method, url: absolute(r.url), headers: r.headers, body: r.body })
    for (const [name, value] of Object.entries(signed.headers)) {
      r.headers[name === 'Host' ? 'host' : name] = value
    }
    if (this.SecurityToken) r.headers['X-Security-Token'] = this.SecurityToken
    const { host, path } = split(r.url)
    const port = /:(\d+)$/.exec(host)
    const options = { hostname: port ? host.slice(0, port.index) : host, path, method: r.method, headers: r.headers }
    if (port) options.port = Number(port[1])
    return options
  }
}

module.exports = { HttpRequest, Signer }

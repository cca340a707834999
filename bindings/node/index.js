'use strict'
// apig-sdk: Huawei Cloud APIG App authentication for Node.js. The public API is the one shared with
// apig-wasm (lib/api.cjs, copied from bindings/js/api.js by `cargo xtask build node`), here over the
// native addon (lib/engine.js, the only JavaScript that knows it). Types: index.d.ts (shared too).

const { makeApi } = require('./lib/api.cjs')
const { napiEngine } = require('./lib/engine.js')
const { __napiBindingTarget } = require('./binding.js')

const api = makeApi(napiEngine)

module.exports = {
  ApigError: api.ApigError,
  ERROR_CODES: api.ERROR_CODES,
  HOP_BY_HOP_HEADERS: api.HOP_BY_HOP_HEADERS,
  PayloadHasher: api.PayloadHasher,
  Signer: api.Signer,
  Verifier: api.Verifier,
  axiosInterceptor: api.axiosInterceptor,
  clockSkewFromExpired: api.clockSkewFromExpired,
  errorCodes: api.errorCodes,
  hashBody: api.hashBody,
  isApigError: api.isApigError,
  signedFetch: api.signedFetch,
  verifyMiddleware: api.verifyMiddleware,
  __napiBindingTarget,
}

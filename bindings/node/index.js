'use strict'
// apig: Huawei Cloud APIG App authentication for Node.js. The signing core is Rust (binding.js
// loads it); this file gathers the JavaScript half. Types: index.d.ts.

const { ApigError, ERROR_CODES, HOP_BY_HOP_HEADERS, PayloadHasher, Signer, Verifier } = require('./lib/core.js')
const { signedFetch } = require('./lib/fetch.js')
const { axiosInterceptor } = require('./lib/axios.js')
const { verifyMiddleware } = require('./lib/middleware.js')
const { __napiBindingTarget } = require('./binding.js')

module.exports = {
  ApigError,
  ERROR_CODES,
  HOP_BY_HOP_HEADERS,
  PayloadHasher,
  Signer,
  Verifier,
  axiosInterceptor,
  errorCodes: () => ERROR_CODES.slice(),
  signedFetch,
  verifyMiddleware,
  __napiBindingTarget,
}

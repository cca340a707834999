'use strict'
// apig-sdk: Huawei Cloud APIG App authentication for Node.js. The public API is the one shared with
// apig-wasm (lib/api.cjs, copied from bindings/js/api.js by `cargo xtask build node`), here over the
// native addon (lib/engine.js, the only JavaScript that knows it). Types: index.d.ts (shared too).

const { makeApi } = require('./lib/api.cjs')
const { napiEngine } = require('./lib/engine.js')
const { credentialProviders } = require('./lib/credentials.js')
const { __napiBindingTarget } = require('./binding.js')

const api = makeApi(napiEngine)
const providers = credentialProviders(api)

module.exports = {
  ApigError: api.ApigError,
  CREDENTIALS_ERROR_CODES: api.CREDENTIALS_ERROR_CODES,
  ChainProvider: providers.ChainProvider,
  ERROR_CODES: api.ERROR_CODES,
  EnvironmentProvider: providers.EnvironmentProvider,
  HOP_BY_HOP_HEADERS: api.HOP_BY_HOP_HEADERS,
  MetadataProvider: providers.MetadataProvider,
  PayloadHasher: api.PayloadHasher,
  ProfileProvider: providers.ProfileProvider,
  Signer: api.Signer,
  StaticProvider: providers.StaticProvider,
  Verifier: api.Verifier,
  axiosInterceptor: api.axiosInterceptor,
  clockSkewFromExpired: api.clockSkewFromExpired,
  credentialsSigner: api.credentialsSigner,
  errorCodes: api.errorCodes,
  hashBody: api.hashBody,
  isApigError: api.isApigError,
  isCredentialsSource: api.isCredentialsSource,
  signAxios: api.signAxios,
  signedFetch: api.signedFetch,
  verifyMiddleware: api.verifyMiddleware,
  __napiBindingTarget,
  // for apig-sdk/fastify: the server support verifyMiddleware uses (not public API)
  __server: api.__server,
}

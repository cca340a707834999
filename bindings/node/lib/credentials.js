'use strict'
// The credential providers of apig-sdk: thin classes over the native ones of apig-credentials
// (src/credentials.rs). Each is a credentials source for `signedFetch` (an object with
// `credentials()`), and every `credentials()` returns a Promise: the provider runs on libuv's thread
// pool, so the metadata service's HTTP calls and file reads never block the event loop. A failure
// rejects with an ApigError whose `code` is the provider's (CREDENTIALS_ERROR_CODES), naming the
// `provider` and the `source` it read.

const binding = require('../binding.js')

function credentialProviders(api) {
  const { credentialsError, ApigError } = api
  const invalidConfig = (message) => new ApigError(message, 'invalid_config')
  const native = new WeakMap()
  const codes = binding.credentialsErrorCodes()
  if (codes.join() !== api.CREDENTIALS_ERROR_CODES.join()) {
    throw new Error(`apig-sdk: the addon's credential error codes (${codes}) are not lib/api.cjs's; reinstall apig-sdk`)
  }

  /** The credentials of a native answer, or its failure as an ApigError. */
  function unpack(answer) {
    if (answer.error) {
      const { code, provider, source, message } = answer.error
      throw credentialsError(code, provider, source, message)
    }
    const c = answer.credentials
    const credentials = { accessKey: c.accessKey, secretKey: c.secretKey }
    if (c.securityToken != null) credentials.securityToken = c.securityToken
    if (c.projectId != null) credentials.projectId = c.projectId
    if (c.domainId != null) credentials.domainId = c.domainId
    if (c.expiresAt != null) credentials.expiresAt = new Date(c.expiresAt)
    return credentials
  }

  const text = (o, name, required) => {
    const value = o[name]
    if (value === undefined || value === null) {
      if (required) throw invalidConfig(`${name} is required`)
      return undefined
    }
    if (typeof value !== 'string' || (required && value === '')) throw invalidConfig(`${name} must be a${required ? ' non-empty' : ''} string`)
    return value
  }
  const number = (o, name) => {
    const value = o[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalidConfig(`${name} must be a number ≥ 0`)
    return value
  }
  const optionsOf = (value, what) => {
    if (value === undefined || value === null) return {}
    if (typeof value !== 'object' || Array.isArray(value)) throw invalidConfig(`${what} takes an options object`)
    return value
  }

  /** What the public classes share: `name`, `credentials()`. */
  class Provider {
    #native
    constructor(inner) {
      this.#native = inner
      native.set(this, inner)
    }
    /** `static`, `environment`, `profile`, `metadata` or `chain`. */
    get name() {
      return this.#native.name
    }
    /** The credentials valid now (a Promise; the provider runs off the event loop). */
    async credentials() {
      return unpack(await this.#native.credentials())
    }
  }

  /** Fixed credentials, given in code: never refreshed, no I/O. */
  class StaticProvider extends Provider {
    constructor(options) {
      const o = optionsOf(options, 'new StaticProvider(options)')
      super(
        binding.NativeProvider.fromStatic({
          accessKey: text(o, 'accessKey', true),
          secretKey: text(o, 'secretKey', true),
          securityToken: text(o, 'securityToken'),
          projectId: text(o, 'projectId'),
          domainId: text(o, 'domainId'),
        }),
      )
    }
  }

  /** HUAWEICLOUD_SDK_AK, _SK, _SECURITY_TOKEN, _PROJECT_ID, _DOMAIN_ID, read at each call. */
  class EnvironmentProvider extends Provider {
    constructor() {
      super(binding.NativeProvider.environment())
    }
  }

  /** A profile (section, default `basic`) of the credentials file (default ~/.huaweicloud/credentials). */
  class ProfileProvider extends Provider {
    constructor(options) {
      const o = optionsOf(options, 'new ProfileProvider(options)')
      super(binding.NativeProvider.profile(text(o, 'path'), text(o, 'profile')))
    }
  }

  /** The ECS metadata service's temporary credentials, refreshed in the background before expiry. */
  class MetadataProvider extends Provider {
    constructor(options) {
      const o = optionsOf(options, 'new MetadataProvider(options)')
      super(
        binding.NativeProvider.metadata({
          endpoint: text(o, 'endpoint'),
          refreshMarginSeconds: number(o, 'refreshMarginSeconds'),
          timeoutMs: number(o, 'timeoutMs'),
          minRefreshIntervalSeconds: number(o, 'minRefreshIntervalSeconds'),
        }),
      )
    }
  }

  /**
   * The first of `providers` that answers (none given: environment, profile file, metadata
   * service, Huawei Cloud's v3 SDKs' order); once one has, only that one.
   */
  class ChainProvider extends Provider {
    constructor(providers) {
      let list
      if (providers !== undefined && providers !== null) {
        if (!Array.isArray(providers)) throw invalidConfig('new ChainProvider(providers) takes an array of apig-sdk providers')
        list = providers.map((p, i) => {
          const inner = native.get(p)
          if (inner === undefined) throw invalidConfig(`providers[${i}] is not an apig-sdk provider (StaticProvider, …)`)
          return inner
        })
      }
      super(binding.NativeProvider.chain(list))
    }
    /** The credentials and the provider that answered: `{ credentials, provider }`. */
    async resolve() {
      const answer = await native.get(this).credentials()
      return { credentials: unpack(answer), provider: answer.provider }
    }
  }

  return { ChainProvider, EnvironmentProvider, MetadataProvider, ProfileProvider, StaticProvider }
}

module.exports = { credentialProviders }

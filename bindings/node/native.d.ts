// Types of apig-sdk: the API shared with apig-wasm (index.d.ts, from bindings/js) and the native
// credential providers of apig-credentials, which only this package has.
import type { Credentials } from './index'

export * from './index'

/** What every provider is: a credentials source for `signedFetch`, `credentialsSigner`, … */
export interface CredentialsProvider {
  /** `static`, `environment`, `profile`, `metadata` or `chain`. */
  readonly name: string
  /**
   * The credentials valid now. Runs off the event loop (the thread pool); rejects with an
   * `ApigError` of a `CredentialsErrorCode` naming the `provider` and the `source` it read.
   */
  credentials(): Promise<Credentials & { expiresAt?: Date }>
}

/** Options of `new StaticProvider(options)`. */
export interface StaticProviderOptions {
  accessKey: string
  secretKey: string
  securityToken?: string
  projectId?: string
  domainId?: string
}

/** Fixed credentials, given in code: never refreshed, no I/O. */
export declare class StaticProvider implements CredentialsProvider {
  constructor(options: StaticProviderOptions)
  readonly name: string
  credentials(): Promise<Credentials & { expiresAt?: Date }>
}

/**
 * `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK` (required), `HUAWEICLOUD_SDK_SECURITY_TOKEN`,
 * `HUAWEICLOUD_SDK_PROJECT_ID`, `HUAWEICLOUD_SDK_DOMAIN_ID`, read at each call (empty = unset).
 */
export declare class EnvironmentProvider implements CredentialsProvider {
  constructor()
  readonly name: string
  credentials(): Promise<Credentials & { expiresAt?: Date }>
}

/** Options of `new ProfileProvider(options)`. */
export interface ProfileProviderOptions {
  /** The INI file (default `$HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else `~/.huaweicloud/credentials`). */
  path?: string
  /** The section (default `basic`; `global` for global services, or any profile name). */
  profile?: string
}

/** A section of the credentials file (keys `ak`, `sk`, `security_token`, `project_id`, `domain_id`), read once. */
export declare class ProfileProvider implements CredentialsProvider {
  constructor(options?: ProfileProviderOptions)
  readonly name: string
  credentials(): Promise<Credentials & { expiresAt?: Date }>
}

/** Options of `new MetadataProvider(options)` (omitted: apig-credentials' defaults). */
export interface MetadataProviderOptions {
  /** Scheme and authority of the metadata service (default `http://169.254.169.254`). */
  endpoint?: string
  /** Refresh in the background when less than this is left (default 2400 s, the v3 SDKs'). */
  refreshMarginSeconds?: number
  /** Timeout of each HTTP call (default 3000 ms). */
  timeoutMs?: number
  /** The fewest seconds between two background refreshes (default 10). */
  minRefreshIntervalSeconds?: number
}

/**
 * The ECS metadata service's temporary credentials (AK, SK, security token, expiry), refreshed in
 * the background before expiry, one fetch at a time; a failed refresh keeps serving the cached
 * credentials until they expire.
 */
export declare class MetadataProvider implements CredentialsProvider {
  constructor(options?: MetadataProviderOptions)
  readonly name: string
  credentials(): Promise<Credentials & { expiresAt?: Date }>
}

/**
 * The first of `providers` that answers (none: environment → profile file → metadata service,
 * Huawei Cloud's v3 SDKs' order); once one has, only that one. Fails with `no_provider` listing
 * each provider's error.
 */
export declare class ChainProvider implements CredentialsProvider {
  constructor(providers?: CredentialsProvider[])
  readonly name: string
  credentials(): Promise<Credentials & { expiresAt?: Date }>
  /** The credentials and the provider that answered. */
  resolve(): Promise<{ credentials: Credentials & { expiresAt?: Date }; provider: string }>
}

// Types of apig-sdk (native, napi-rs) and apig-wasm (WebAssembly): one API, written once in
// bindings/js (api.js and this file) and shipped by both packages.

/** A signing algorithm token. */
export type Algorithm = 'SDK-HMAC-SHA256' | 'SDK-HMAC-SM3' | 'V11-HMAC-SHA256' | 'V11-HMAC-SM3'

/** The core's stable error codes: the same strings in every apig binding (`ERROR_CODES`). */
export type ApigErrorCode =
  | 'missing_authorization'
  | 'malformed_authorization'
  | 'unsupported_algorithm'
  | 'unknown_access_key'
  | 'missing_date'
  | 'malformed_date'
  | 'date_not_signed'
  | 'expired'
  | 'signed_header_missing'
  | 'host_not_signed'
  | 'duplicate_header'
  | 'credential_scope_mismatch'
  | 'unsigned_payload_not_allowed'
  | 'payload_hash_mismatch'
  | 'signature_mismatch'
  | 'invalid_request'
  | 'invalid_config'
  | 'body_read'

/** Every error code, in the core's order. */
export declare const ERROR_CODES: readonly ApigErrorCode[]

/** Every error code of the core, in the core's order (a copy of `ERROR_CODES`). */
export declare function errorCodes(): ApigErrorCode[]

/** What every failure of this package throws: an `Error` with the core's stable `code`. */
export declare class ApigError extends Error {
  /**
   * An error of `code` (a `TypeError` for a code not in `ERROR_CODES`); `status`, `apigCode` and
   * `apigMessage` are the core's APIG answer for it. `status` overrides the HTTP status.
   */
  constructor(message: string, code: ApigErrorCode | CredentialsErrorCode, status?: number)
  readonly name: 'ApigError'
  /** Why, as a stable code: the core's, or a credentials source's (`CredentialsErrorCode`). */
  readonly code: ApigErrorCode | CredentialsErrorCode
  /** A credentials source's error only: the provider that failed. */
  readonly provider?: string
  /** A credentials source's error only: what it read (a variable, a file, a URL, a function). */
  readonly source?: string
  /**
   * The HTTP status APIG answers (the core's mapping, docs/error-codes.md): 401 for authentication
   * failures, 400 for a request that cannot be read, 500 for bad settings.
   */
  readonly status: number
  /** The APIG error code (the core's mapping): `APIG.0303`, `APIG.0201` or `APIG.0000`. */
  readonly apigCode: string
  /**
   * The full `error_msg` APIG answers, from the core: `Incorrect app authentication information: …`
   * (for a signature mismatch `…verify signature fail, canonicalRequest:` and the verifier's
   * canonical request with newlines shown as `|`), `Bad request: …` or `Internal error: …`.
   */
  readonly apigMessage: string
  /** `signature_mismatch` only: the verifier's canonical request, to compare with the client's. */
  readonly canonicalRequest?: string
  /** `signature_mismatch` only: the verifier's string to sign. */
  readonly stringToSign?: string
}

/**
 * The codes of a credential provider's failure (apig-credentials' `CredentialsErrorKind`, the same
 * strings in every language): `missing` (a variable, file, section or key), `malformed` (a file or an
 * answer that cannot be read), `missing_field`, `unreachable` (also: a function source threw),
 * `timeout`, `http_status`, `expired` (no valid credentials left: the refresh failed),
 * `no_provider` (every provider of a chain failed).
 */
export type CredentialsErrorCode =
  | 'missing'
  | 'malformed'
  | 'missing_field'
  | 'unreachable'
  | 'timeout'
  | 'http_status'
  | 'expired'
  | 'no_provider'

/** Every credential provider's error code. */
export declare const CREDENTIALS_ERROR_CODES: readonly CredentialsErrorCode[]

/**
 * An `ApigError` from a credentials source: its `code` is a `CredentialsErrorCode`, `status` 500 and
 * `apigCode` `APIG.0000` (the client's configuration: no request was signed).
 */
export interface CredentialsApigError extends ApigError {
  readonly code: CredentialsErrorCode
  /** The provider that failed: `environment`, `profile`, `metadata`, `chain`, `static`, `function`, … */
  readonly provider: string
  /** What it read: a variable name, a file path, a URL, or the function source's `name()`. */
  readonly source: string
}

/** Whether `value` is an `ApigError` (the same as `value instanceof ApigError`). */
export declare function isApigError(value: unknown): value is ApigError

/**
 * The hop-by-hop headers (lower case, the core's list): connection-specific headers that proxies
 * rewrite or drop, so `signedFetch` and `axiosInterceptor` leave them out of the signature.
 */
export declare const HOP_BY_HOP_HEADERS: readonly string[]

/**
 * From the text of an APIG "signature expired" answer, the seconds to add to the local clock to
 * match the gateway's (the core's parser); `undefined` for any other text.
 */
export declare function clockSkewFromExpired(message: string): number | undefined

/** An object with `entries()`, such as a fetch `Headers` or a `Map`. */
export interface HeadersLike {
  entries(): IterableIterator<[string, string]>
}

/**
 * Request headers: an object (values may be numbers or arrays, which repeat the header;
 * `undefined` is skipped), an array of `[name, value]` pairs, or a `Headers` / `Map`.
 */
export type HeaderInput =
  | Record<string, string | number | readonly (string | number)[] | undefined>
  | ReadonlyArray<readonly [string, string | number]>
  | HeadersLike

/** A body given in one piece: sent as is (strings as UTF-8). */
export type BodyInput = string | Uint8Array | ArrayBuffer | ArrayBufferView | null

/**
 * A body read chunk by chunk: a Node `Readable`, an async generator, a web `ReadableStream`, a
 * `Blob`…
 */
export type StreamBody = AsyncIterable<string | Uint8Array> | ReadableStream<Uint8Array> | Blob

/** A time: a `Date`, milliseconds since 1970, or an `X-Sdk-Date` string (`20240403T101500Z`). */
export type DateInput = Date | number | string

/** Options of `new Signer(options)`. Omitted options take the core's defaults. */
export interface SignerOptions {
  /** The access key (APIG "AppKey", "AK"). */
  key: string
  /** The secret key (APIG "AppSecret", "SK"); its UTF-8 bytes are the HMAC key. */
  secret: string
  /** `SDK-HMAC-SHA256` (default), `SDK-HMAC-SM3`, `V11-HMAC-SHA256` or `V11-HMAC-SM3`. */
  algorithm?: Algorithm
  /** V11 only (and required there): the region of the credential scope, e.g. `cn-north-4`. */
  region?: string
  /** V11 only: the service of the credential scope (default `apic`). */
  service?: string
  /**
   * Which of the request's headers are left out of the signature: `hop-by-hop` (default: the
   * connection-specific headers of `HOP_BY_HOP_HEADERS`, which proxies rewrite) or `none` (sign
   * every header, as Huawei's signers do). The core's rule, the same in every language.
   */
  excludedHeaders?: 'hop-by-hop' | 'none'
  /**
   * The security token of temporary credentials (AK, SK and token from IAM or the ECS metadata
   * service): every request gets `X-Security-Token`, added before signing and signed, as Huawei
   * Cloud's v3 SDKs do.
   */
  securityToken?: string
  /** A project id: every request gets `X-Project-Id`, signed (regional Huawei Cloud service APIs). */
  projectId?: string
  /** An account (domain) id: every request gets `X-Domain-Id`, signed (global services: IAM, BSS, …). */
  domainId?: string
  /**
   * The client conventions: `apig` (default) or `huaweicloud-v3` (alias `v3`): Huawei Cloud's v3
   * SDKs' rules (`UNSIGNED-PAYLOAD` for a non-JSON `Content-Type`, `_` names not signed, …).
   */
  profile?: 'apig' | 'huaweicloud-v3' | 'v3'
}

/** A request to sign. */
export interface SignRequest {
  /** The HTTP method, e.g. `GET` (use upper case: Huawei's signers disagree on lower case). */
  method: string
  /**
   * The absolute URL (`https://host/path?query`) or an origin-form target (`/path?query`, the host
   * then comes from a `Host` header).
   */
  url: string
  /** The headers to send; every header given is signed. */
  headers?: HeaderInput
  /** The exact body (default: empty). A stream body makes `sign()` return a Promise. */
  body?: BodyInput
  /**
   * The body's lower-case hex hash computed beforehand (`signer.createHasher()`, `hashBody`), used
   * instead of `body`.
   */
  payloadHash?: string
  /**
   * Sign `UNSIGNED-PAYLOAD` instead of the body: the signer adds and signs
   * `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`. The body is then not authenticated.
   */
  unsignedPayload?: boolean
  /** The signing time when the headers have no `X-Sdk-Date` (default: now, `Date.now()`). */
  date?: DateInput
}

/** A request whose body is a stream: hashed chunk by chunk by the core, never buffered. */
export type StreamSignRequest = Omit<SignRequest, 'body' | 'payloadHash' | 'unsignedPayload'> & { body: StreamBody }

/** What `signer.sign()` returns. */
export interface SignResult {
  /**
   * The headers to add to the request: `Host` (only when the request had none and the URL is
   * absolute), `X-Sdk-Date` (when it had none), `X-Sdk-Content-Sha256` (unsigned payloads) and
   * `Authorization`, in this order.
   */
  headers: Record<string, string>
  /** The `Authorization` header value. */
  authorization: string
  /** The lower-case hex signature. */
  signature: string
  /** The canonical request, exactly as hashed. */
  canonicalRequest: string
  /** The string to sign, exactly as fed to the HMAC. */
  stringToSign: string
  /** The `SignedHeaders` list, e.g. `content-type;host;x-sdk-date`. */
  signedHeaders: string
  /** The `X-Sdk-Date` value signed. */
  date: string
  /** V11 only: the credential scope `yyyymmdd/region/service`. */
  credentialScope?: string
}

/** An incremental body hasher (the core's): `update(chunk)` as chunks arrive, then `digest()` once. */
export declare class PayloadHasher {
  /**
   * A hasher for `algorithm`'s hash function (default `SDK-HMAC-SHA256`, i.e. SHA-256). Throws
   * `unsupported_algorithm` for an unknown algorithm name.
   */
  constructor(algorithm?: Algorithm | null)
  /** Adds a chunk: text (hashed as UTF-8) or bytes. Returns the hasher, for chaining. */
  update(chunk: string | Uint8Array | ArrayBuffer | ArrayBufferView): this
  /** The lower-case hex hash of everything added. A hasher can be digested once. */
  digest(): string
  /** Frees the engine's memory now (WebAssembly; otherwise when garbage-collected). */
  free(): void
}

/** Signs requests for one credential with one algorithm. */
export declare class Signer {
  /**
   * A signer for `options.key` / `options.secret`; throws `invalid_config` (or
   * `unsupported_algorithm`) for unusable options.
   */
  constructor(options: SignerOptions)
  /** The access key. */
  get key(): string
  /** The algorithm token, e.g. `SDK-HMAC-SHA256`. */
  get algorithm(): Algorithm
  /**
   * Signs `request` and returns the headers to add with the strings behind them. Throws an
   * `ApigError` (`invalid_request`, `malformed_date`, `duplicate_header`) for a request that cannot
   * be signed.
   */
  sign(request: SignRequest): SignResult
  /** Signs a request whose body is a stream: resolves once the core has hashed every chunk. */
  sign(request: StreamSignRequest): Promise<SignResult>
  /** A hasher for this signer's hash function: pass its `digest()` as `payloadHash`. */
  createHasher(): PayloadHasher
  /** The body hash of a stream, computed by the core chunk by chunk (pass it as `payloadHash`). */
  hashStream(source: StreamBody): Promise<string>
  /** Frees the engine's memory now (WebAssembly; otherwise when garbage-collected). */
  free(): void
}

/**
 * Options of `new Verifier(options)`. Omitted options take the core's defaults (APIG's documented
 * behaviour: 15 minutes of skew, `host` need not be signed, `UNSIGNED-PAYLOAD` accepted, all four
 * algorithms).
 */
export interface VerifierOptions {
  /**
   * The credentials: an object, `Map` or array of pairs of access key → secret (copied when the
   * verifier is made), or a function `(accessKey) => secret | undefined` called for each request.
   */
  keys:
    | Record<string, string>
    | ReadonlyMap<string, string>
    | ReadonlyArray<readonly [string, string]>
    | ((accessKey: string) => string | undefined | null)
  /** The largest accepted distance between `X-Sdk-Date` and the verifier's clock, in seconds. */
  maxSkewSeconds?: number
  /** Require `host` to be signed. */
  requireHost?: boolean
  /** Accept `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (an unauthenticated body). */
  allowUnsignedPayload?: boolean
  /** The algorithms accepted. */
  algorithms?: Algorithm[]
  /** V11: the region the credential scope must name. */
  region?: string
  /** V11: the service the credential scope must name. */
  service?: string
}

/** A received request to verify (`verifier.verify(request)`). */
export interface VerifyRequest {
  /** The HTTP method as received. */
  method: string
  /** The request target as received (`/path?query`, e.g. Node's `req.url`) or an absolute URL. */
  url: string
  /**
   * The received headers: an object (Node's `req.headers`), an array of `[name, value]` pairs
   * (e.g. from `req.rawHeaders`) or a `Headers`/`Map`.
   */
  headers?: HeaderInput
  /** The exact body received. */
  body?: BodyInput
  /** The body's lower-case hex hash, computed beforehand, used instead of `body`. */
  payloadHash?: string
  /** The body is not at hand: only requests declaring `UNSIGNED-PAYLOAD` verify. */
  unsignedPayload?: boolean
  /** The verifier's clock (default: now, `Date.now()`). */
  now?: DateInput
}

/** Who signed a request that passed verification. */
export interface Identity {
  /** The access key that signed it. */
  accessKey: string
  /** The algorithm used. */
  algorithm: Algorithm
  /** The signed header names, lower case and sorted. */
  signedHeaders: string[]
  /** The signing time (`X-Sdk-Date`) as a `Date`. */
  signedAt: Date
  /**
   * Whether the body was left out of the signature (`UNSIGNED-PAYLOAD`): it is then not
   * authenticated.
   */
  unsignedPayload: boolean
  /**
   * The signed `X-Security-Token` of temporary credentials (absent when none was signed). The
   * signature proves the temporary secret; the token itself is IAM's to validate.
   */
  securityToken?: string
}

/**
 * Verifies signed requests against a set of keys. Not in apig-wasm's browser builds (`web`,
 * `bundler`): there the constructor throws an `ApigError` with code `invalid_config`.
 */
export declare class Verifier {
  /** A verifier for `options.keys`; throws `invalid_config` for unusable options. */
  constructor(options: VerifierOptions)
  /**
   * Verifies a received request: returns who signed it, or throws an `ApigError` whose `code` says
   * why not (`signature_mismatch` errors carry the verifier's `canonicalRequest` and `stringToSign`).
   */
  verify(request: VerifyRequest): Identity
  /** Frees the engine's memory now (WebAssembly; otherwise when garbage-collected). */
  free(): void
}

/** A body of any kind `hashBody` reads. */
export type HashableBody = BodyInput | StreamBody | undefined

/**
 * Hashes a body chunk by chunk for `signer`'s algorithm; `body` is what to send (a stream becomes a
 * `Blob` of its chunks).
 */
export declare function hashBody(
  signer: Signer,
  body: HashableBody,
): Promise<{ payloadHash: string; body: BodyInput | Blob | null }>

/** A `fetch`-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * Credentials, as a credentials source gives them. Temporary credentials carry a `securityToken`
 * (sent as `X-Security-Token`, signed) and an `expiresAt`.
 */
export interface Credentials {
  /** The access key (AK). */
  accessKey: string
  /** The secret key (SK). */
  secretKey: string
  /** The security token of temporary credentials. */
  securityToken?: string | null
  /** A project id: sent as `X-Project-Id`, signed. */
  projectId?: string | null
  /** A domain (account) id: sent as `X-Domain-Id`, signed. */
  domainId?: string | null
  /** When they expire: a `Date` or milliseconds since 1970 (none: they do not). */
  expiresAt?: Date | number | null
}

/**
 * Where `signedFetch` gets credentials: a function returning (or resolving to) them, e.g. one that
 * fetches short-lived credentials from the page's own backend, or an object with `credentials()`
 * (apig-sdk's providers: `EnvironmentProvider`, `MetadataProvider`, …).
 */
export type CredentialsSource =
  | (() => Credentials | Promise<Credentials>)
  | { credentials(): Credentials | Promise<Credentials>; readonly name?: string }

/** How signers are made from a credentials source (`signedFetch(source, options)`). */
export interface CredentialsSignerOptions {
  /** The signers' algorithm (`SignerOptions.algorithm`). */
  algorithm?: Algorithm
  /** V11: the region (`SignerOptions.region`). */
  region?: string
  /** V11: the service (`SignerOptions.service`). */
  service?: string
  /** `SignerOptions.excludedHeaders`. */
  excludedHeaders?: 'hop-by-hop' | 'none'
  /** `SignerOptions.profile`, e.g. `huaweicloud-v3` for Huawei Cloud service APIs. */
  profile?: 'apig' | 'huaweicloud-v3' | 'v3'
  /**
   * Ask the source again when less than this is left of the credentials' life (default 300 s);
   * requests keep being signed with them meanwhile, while one call, shared by all, runs.
   */
  refreshMarginSeconds?: number
  /** At most one refresh call every this many seconds while the credentials are valid (default 10). */
  minRefreshIntervalSeconds?: number
}

/**
 * A function resolving to a `Signer` for the credentials `source` gives now, with `options`' signer
 * settings: the source is asked once, then only when its credentials are near expiry (in the
 * background, one call for all); a failed refresh keeps them until they expire, then rejects with
 * `expired`. A `Signer` as source resolves to itself.
 */
export declare function credentialsSigner(
  source: Signer | CredentialsSource,
  options?: CredentialsSignerOptions,
): () => Promise<Signer>

/** Whether `value` is a credentials source (a function, or an object with `credentials()`). */
export declare function isCredentialsSource(value: unknown): value is CredentialsSource

/** Options of `signedFetch`. */
export interface SignedFetchOptions extends CredentialsSignerOptions {
  /** The fetch to call (default `globalThis.fetch`). */
  fetch?: FetchLike
  /**
   * A streamed body (a `ReadableStream` or async iterable): `'unsigned'` (default) signs
   * `UNSIGNED-PAYLOAD` and streams the body unauthenticated; `'buffer'` reads it into memory and
   * signs its bytes. Other bodies (`Blob` included) are always read and signed.
   */
  streams?: 'unsigned' | 'buffer'
  /** Sign `UNSIGNED-PAYLOAD` for every body and send bodies as they are (the gateway must allow it). */
  unsignedPayload?: boolean
  /** Milliseconds to add to `Date.now()` for the signing time (default 0). */
  clockOffset?: number
  /**
   * On a 401 "signature expired … server time …", learn the clock offset and retry once (default
   * true; not for a streamed body, which cannot be sent again).
   */
  retryOnExpired?: boolean
}

/** A `fetch` that signs every request. */
export interface SignedFetch extends FetchLike {
  /** The clock offset in use (milliseconds), including what was learned from the gateway. */
  readonly clockOffset: number
}

/**
 * A `fetch` that signs every request with `signer` before handing it to `fetchImpl` (default:
 * the global `fetch`). Given a credentials source instead of a `Signer`, it signs with the
 * credentials the source gives (`credentialsSigner`): in a browser, a function fetching
 * short-lived credentials from the page's own backend, never a permanent secret shipped to the
 * page. A source's failures reject with an `ApigError` of a `CredentialsErrorCode`.
 */
export declare function signedFetch(
  signer: Signer | CredentialsSource,
  fetchImpl?: FetchLike,
  options?: Omit<SignedFetchOptions, 'fetch'>,
): SignedFetch
/** The same, with the fetch among the options. */
export declare function signedFetch(signer: Signer | CredentialsSource, options?: SignedFetchOptions): SignedFetch

/** Options of `axiosInterceptor`: with a credentials source, its signer settings too. */
export interface AxiosInterceptorOptions extends CredentialsSignerOptions {
  /** The axios module (default: `require('axios')` where there is a `require`; `signAxios`: the instance). */
  axios?: { getUri(config?: object): string }
  /** Milliseconds added to the local clock when signing (default 0). */
  clockOffset?: number
}

/**
 * An axios request interceptor that signs each request:
 * `axios.interceptors.request.use(axiosInterceptor(signer))`. `source` is a Signer, or a
 * credentials source as `signedFetch` takes (then the interceptor returns a promise). Stream
 * `data` is signed `UNSIGNED-PAYLOAD`. It never retries: `signAxios` does.
 */
export declare function axiosInterceptor<C extends object>(signer: Signer, options?: AxiosInterceptorOptions): (config: C) => C
export declare function axiosInterceptor<C extends object>(
  source: Signer | CredentialsSource,
  options?: AxiosInterceptorOptions,
): (config: C) => C | Promise<C>

/** Options of `signAxios`. */
export interface SignAxiosOptions extends AxiosInterceptorOptions {
  /**
   * Retry once a 401 "signature expired … server time …", signed again with the clock offset the
   * answer teaches (kept for later requests). Default true; stream bodies and requests whose
   * `X-Sdk-Date` the caller set are not retried.
   */
  retryOnExpired?: boolean
}

/**
 * Installs on an axios instance (`axios` or `axios.create()`) the signing request interceptor and
 * the response interceptor that retries an expired answer once; returns the instance.
 */
export declare function signAxios<I extends { request(config: any): Promise<any>; interceptors: object }>(
  instance: I,
  source: Signer | CredentialsSource,
  options?: SignAxiosOptions,
): I

/** Options of `verifyMiddleware`: the verifier's options plus the middleware's own. */
export interface VerifyMiddlewareOptions extends Partial<VerifierOptions> {
  /** An existing verifier to use instead of `keys` and the policy options. */
  verifier?: Verifier
  /** Largest body read, in bytes (default 12 MiB, APIG's own limit and every middleware's); larger requests are answered 413. */
  limit?: number
  /**
   * Called instead of the APIG-style 401 answer when verification fails (e.g. to log, or to call
   * `next(error)`).
   */
  onError?: (error: ApigError, req: any, res: any, next: (error?: unknown) => void) => void
}

/**
 * Connect/Express middleware `(req, res, next)` (Node servers) that verifies each request. On
 * success it sets `req.apig` (the `Identity`) and `req.rawBody` (the body read, a Buffer; also
 * `req.body` when no parser set one) and calls `next()`; on failure it answers 401 with APIG's JSON
 * error `{"error_code":"APIG.0303","error_msg":"Incorrect app authentication information: …","request_id":"…"}`.
 */
export declare function verifyMiddleware(
  options: VerifyMiddlewareOptions,
): (req: any, res: any, next: (error?: unknown) => void) => void

declare global {
  // Express's request (`@types/express`), as `verifyMiddleware` leaves it: `req.apig.accessKey`
  // type-checks in a handler after `app.use(verifyMiddleware(...))`.
  namespace Express {
    interface Request {
      /** Who signed the request: set by `verifyMiddleware` once the signature is verified. */
      apig?: Identity
      /** The body bytes `verifyMiddleware` read and verified (a `Buffer`). */
      rawBody?: Uint8Array
    }
  }
}

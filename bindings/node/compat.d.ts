// apig/compat: the interface of Huawei's signer.js, signing with the apig core.

/** A request to sign, as signer.js has it. */
export declare class HttpRequest {
  /** `url` may omit the scheme (`host/path?query` means https). */
  constructor(method?: string, url?: string, headers?: Record<string, string>, body?: string | Uint8Array)
  method: string
  url: string
  /** The URL's authority (host[:port]). */
  host: string
  /** The URL's path and query as given. */
  uri: string
  headers: Record<string, string>
  body: string | Uint8Array
}

/** `https.request` options for a signed request. */
export interface SignedRequestOptions {
  hostname: string
  port?: number
  path: string
  method: string
  /** `r.headers` itself, with the signing headers added. */
  headers: Record<string, string>
}

/** signer.js's Signer: set `Key` and `Secret`, then `Sign(request)`. */
export declare class Signer {
  Key: string
  Secret: string
  /** Added as `X-Security-Token` after signing (unsigned), as Open Telekom Cloud's signer.js does. */
  SecurityToken: string
  /** Signs `r`, adding `X-Sdk-Date`, `host` and `Authorization` to `r.headers`. Throws an `ApigError`. */
  Sign(r: HttpRequest): SignedRequestOptions
}

// Types of `apig-sdk/undici`.
import type { CredentialsSignerOptions, CredentialsSource, Signer } from './index'

/** Options of `signingInterceptor`: the credentials source's signer settings and the retry. */
export interface SigningInterceptorOptions extends CredentialsSignerOptions {
  /** On a 401 "signature expired … server time …", learn the clock offset and retry once (default true; not for streamed bodies). */
  retryOnExpired?: boolean
  /** Milliseconds to add to `Date.now()` for the signing time (default 0). */
  clockOffset?: number
  /** Sign `UNSIGNED-PAYLOAD` for every body (the gateway must allow it). */
  unsignedPayload?: boolean
  /**
   * A streamed body (fetch, undici's and Node's, hands every body to the dispatcher as a stream):
   * `'unsigned'` (default) signs `UNSIGNED-PAYLOAD` and streams it; `'buffer'` reads it into memory
   * and signs its bytes (and can then retry it).
   */
  streams?: 'unsigned' | 'buffer'
}

/** undici's dispatch function. */
export type Dispatch = (options: any, handler: any) => boolean

/**
 * An undici interceptor signing every request: `new Agent().compose(signingInterceptor(source))`.
 * Whole bodies (string, Buffer, Uint8Array) are signed; streams and FormData `UNSIGNED-PAYLOAD`.
 */
export declare function signingInterceptor(
  source: Signer | CredentialsSource,
  options?: SigningInterceptorOptions,
): (dispatch: Dispatch) => Dispatch

/** `new undici.Agent(options.agentOptions).compose(signingInterceptor(source, options))` (needs the undici package). */
export declare function signingAgent(
  source: Signer | CredentialsSource,
  options?: SigningInterceptorOptions & { agentOptions?: object },
): any

// Types of the apig-wasm package: the wasm exports (generated from the Rust crate) and the
// JavaScript helpers around them.
export * from "./types/apig_wasm.js";
import type { ApigError, ApigErrorCode, BodyInput, Signer } from "./types/apig_wasm.js";

/** Every error code, in the core's order. */
export declare const ERROR_CODES: readonly ApigErrorCode[];

/** Settings of `signedFetch`. */
export interface SignedFetchOptions {
  /** The fetch to call (default `globalThis.fetch`). */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** Milliseconds to add to `Date.now()` for the signing time (default 0). */
  clockOffset?: number;
  /** Sign `UNSIGNED-PAYLOAD` and send bodies as they are (the gateway must allow it). */
  unsignedPayload?: boolean;
  /** On a 401 "signature expired … server time …", learn the clock offset and retry once (default true). */
  retryOnExpired?: boolean;
}

/** A `fetch` that signs every request. */
export interface SignedFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The clock offset in use (milliseconds), including what was learned from the gateway. */
  readonly clockOffset: number;
}

/** Signs each request with `signer`, then calls `fetch` (`options.fetch`, default the global one). */
export function signedFetch(signer: Signer, options?: SignedFetchOptions): SignedFetch;
/** As the Node package: `signedFetch(signer, fetchImpl, options)`. */
export function signedFetch(
  signer: Signer,
  fetchImpl: SignedFetchOptions["fetch"],
  options?: Omit<SignedFetchOptions, "fetch">,
): SignedFetch;

/** A body of any kind `hashBody` reads. */
export type HashableBody = BodyInput | Blob | ReadableStream<Uint8Array> | null | undefined;

/** Hashes a body chunk by chunk for `signer`'s algorithm; `body` is what to send (a stream becomes a Blob). */
export function hashBody(
  signer: Signer,
  body: HashableBody,
): Promise<{ payloadHash: string; body: BodyInput | Blob | null }>;

/** Whether `value` is an `ApigError` (the same as `value instanceof ApigError`). */
export function isApigError(value: unknown): value is ApigError;

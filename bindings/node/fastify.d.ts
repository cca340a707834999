// Types of `apig-sdk/fastify`.
import type { ApigError, Identity, VerifyMiddlewareOptions } from './index'

/** Options of the plugin: `verifyMiddleware`'s, with `onError(error, request, reply)`. */
export interface ApigFastifyOptions extends Omit<VerifyMiddlewareOptions, 'onError'> {
  /** Called instead of APIG's 401 JSON answer (reply from it). */
  onError?: (error: ApigError, request: any, reply: any) => void
}

/**
 * A Fastify plugin verifying every request's signature: `app.register(apigFastify, { keys })`. Sets
 * `request.apig` (the `Identity`) and `request.rawBody`; failures get APIG's 401 JSON answer.
 */
declare function apigFastify(fastify: any, options: ApigFastifyOptions, done: (error?: Error) => void): void
declare namespace apigFastify {
  export { apigFastify, apigFastify as default }
}
export = apigFastify

declare module 'fastify' {
  interface FastifyRequest {
    /** Who signed the request (apig-sdk/fastify). */
    apig: Identity | null
    /** The body bytes verified (apig-sdk/fastify). */
    rawBody: Uint8Array | null
  }
}

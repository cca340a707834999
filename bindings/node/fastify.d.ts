// Types of `apig-sdk/fastify`. (No `declare module 'fastify'` here, which would fail to compile
// where fastify is not installed: in a Fastify app, add `apig: Identity | null` and
// `rawBody: Uint8Array | null` to `FastifyRequest` the same way if you want them typed.)
import type { ApigError, VerifyMiddlewareOptions } from './index'

/**
 * A Fastify plugin verifying every request's signature: `app.register(apigFastify, { keys })`. Sets
 * `request.apig` (the `Identity`) and `request.rawBody` (the bytes verified); failures get APIG's
 * 401 JSON answer, as from `verifyMiddleware`.
 */
declare function apigFastify(fastify: any, options: apigFastify.ApigFastifyOptions, done: (error?: Error) => void): void

declare namespace apigFastify {
  /** Options of the plugin: `verifyMiddleware`'s, with `onError(error, request, reply)`. */
  export interface ApigFastifyOptions extends Omit<VerifyMiddlewareOptions, 'onError'> {
    /** Called instead of APIG's 401 JSON answer (reply from it). */
    onError?: (error: ApigError, request: any, reply: any) => void
  }
  export { apigFastify, apigFastify as default }
}

export = apigFastify

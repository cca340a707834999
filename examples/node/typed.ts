// The package's types in use: checked with `tsc --noEmit` (strict) by `cargo xtask test node`.
import { Readable } from 'node:stream'
import {
  ApigError,
  ChainProvider,
  ERROR_CODES,
  MetadataProvider,
  Signer,
  StaticProvider,
  Verifier,
  axiosInterceptor,
  signAxios,
  signedFetch,
  verifyMiddleware,
  type ApigErrorCode,
  type Credentials,
  type CredentialsErrorCode,
  type Identity,
  type SignResult,
} from 'apig-sdk'
import * as compat from 'apig-sdk/compat'
import { signingInterceptor } from 'apig-sdk/undici'
import apigFastify = require('apig-sdk/fastify')

const signer = new Signer({ key: 'AK', secret: 'SK', algorithm: 'SDK-HMAC-SHA256' })

const result: SignResult = signer.sign({
  method: 'GET',
  url: 'https://api.example.com/v1/items?limit=2',
  headers: { 'Content-Type': 'application/json', 'X-Count': 3 },
  date: new Date(),
})
const added: Record<string, string> = result.headers
const canonical: string = result.canonicalRequest

// A stream body makes sign() asynchronous.
async function streamed(): Promise<string> {
  const out: SignResult = await signer.sign({ method: 'PUT', url: 'https://h/upload', body: Readable.from(['a', 'b']) })
  return out.signature
}

const verifier = new Verifier({ keys: (accessKey: string) => (accessKey === 'AK' ? 'SK' : undefined), maxSkewSeconds: 300 })
function check(headers: Record<string, string>): Identity | ApigErrorCode | CredentialsErrorCode {
  try {
    return verifier.verify({ method: 'GET', url: '/v1/items?limit=2', headers })
  } catch (error) {
    if (error instanceof ApigError) {
      // the core's codes, or a credentials source's (then error.provider and error.source say which)
      const code: ApigErrorCode | CredentialsErrorCode = error.code
      if (code === 'signature_mismatch') console.log(error.canonicalRequest ?? '')
      return code
    }
    throw error
  }
}

const apigFetch = signedFetch(signer)
const middleware = verifyMiddleware({ keys: { AK: 'SK' }, limit: 1 << 20 })
const interceptor = axiosInterceptor(signer)
const codes: readonly ApigErrorCode[] = ERROR_CODES

// credentials sources: a provider, or a function (e.g. short-lived credentials from a backend)
const chain = new ChainProvider([new StaticProvider({ accessKey: 'AK', secretKey: 'SK' }), new MetadataProvider({ timeoutMs: 500 })])
const fromBackend = async (): Promise<Credentials> => ({ accessKey: 'AK', secretKey: 'SK', expiresAt: Date.now() + 900_000 })
const providerFetch = signedFetch(chain, { profile: 'huaweicloud-v3', refreshMarginSeconds: 60 })
const sourceInterceptor = axiosInterceptor(chain, { profile: 'huaweicloud-v3' })
// an axios instance's shape (axios' own types are not installed here)
declare const axiosInstance: { request(config: object): Promise<unknown>; interceptors: object; defaults: object }
const signedAxios: typeof axiosInstance = signAxios(axiosInstance, fromBackend, { retryOnExpired: true, clockOffset: 0 })
const callbackFetch = signedFetch(fromBackend)
const undiciInterceptor = signingInterceptor(fromBackend, { retryOnExpired: true })
const fastifyPlugin: typeof apigFastify = apigFastify

const legacy = new compat.Signer()
legacy.Key = 'AK'
legacy.Secret = 'SK'
const options: compat.SignedRequestOptions = legacy.Sign(new compat.HttpRequest('GET', 'api.example.com/v1'))

export { added, canonical, streamed, check, apigFetch, middleware, interceptor, sourceInterceptor, signedAxios, codes, options, providerFetch, callbackFetch, undiciInterceptor, fastifyPlugin }

// The package's types in use: checked with `tsc --noEmit` (strict) by `cargo xtask test node`.
import { Readable } from 'node:stream'
import {
  ApigError,
  ERROR_CODES,
  Signer,
  Verifier,
  axiosInterceptor,
  signedFetch,
  verifyMiddleware,
  type ApigErrorCode,
  type Identity,
  type SignResult,
} from 'apig-sdk'
import * as compat from 'apig-sdk/compat'

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
function check(headers: Record<string, string>): Identity | ApigErrorCode {
  try {
    return verifier.verify({ method: 'GET', url: '/v1/items?limit=2', headers })
  } catch (error) {
    if (error instanceof ApigError) {
      const code: ApigErrorCode = error.code
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

const legacy = new compat.Signer()
legacy.Key = 'AK'
legacy.Secret = 'SK'
const options: compat.SignedRequestOptions = legacy.Sign(new compat.HttpRequest('GET', 'api.example.com/v1'))

export { added, canonical, streamed, check, apigFetch, middleware, interceptor, codes, options }

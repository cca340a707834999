// ES module entry point: the same objects as the CommonJS one (index.js).
import apig from './index.js'

export const {
  ApigError,
  ERROR_CODES,
  HOP_BY_HOP_HEADERS,
  PayloadHasher,
  Signer,
  Verifier,
  axiosInterceptor,
  clockSkewFromExpired,
  errorCodes,
  hashBody,
  isApigError,
  signedFetch,
  verifyMiddleware,
} = apig
export default apig

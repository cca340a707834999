// ES module entry point: the same objects as the CommonJS one (index.js).
import apig from './index.js'

export const {
  ApigError,
  CREDENTIALS_ERROR_CODES,
  ChainProvider,
  ERROR_CODES,
  EnvironmentProvider,
  HOP_BY_HOP_HEADERS,
  MetadataProvider,
  PayloadHasher,
  ProfileProvider,
  Signer,
  StaticProvider,
  Verifier,
  axiosInterceptor,
  clockSkewFromExpired,
  credentialsSigner,
  errorCodes,
  hashBody,
  isApigError,
  isCredentialsSource,
  signAxios,
  signedFetch,
  verifyMiddleware,
} = apig
export default apig

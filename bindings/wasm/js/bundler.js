// apig-wasm for bundlers with WebAssembly ES-module integration (webpack `asyncWebAssembly`,
// vite-plugin-wasm): the bundler loads the .wasm; the API is the one shared with apig-sdk.
import * as raw from "./apig_wasm.js";
import { makeApi } from "../lib/api.js";
import { wasmEngine } from "../lib/engine.js";

export const {
  ApigError,
  CREDENTIALS_ERROR_CODES,
  ERROR_CODES,
  HOP_BY_HOP_HEADERS,
  PayloadHasher,
  Signer,
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
} = makeApi(wasmEngine(raw));

// apig-wasm for browsers, Deno and other ES-module runtimes with fetch: loads the .wasm next to
// this file (top-level await), then exports the API shared with apig-sdk over the wasm engine.
import init, * as raw from "./apig_wasm.js";
import { makeApi } from "../lib/api.js";
import { wasmEngine } from "../lib/engine.js";

await init({ module_or_path: new URL("apig_wasm_bg.wasm", import.meta.url) });

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

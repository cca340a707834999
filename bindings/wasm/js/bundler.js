// apig-wasm for bundlers with WebAssembly ES-module integration (webpack `asyncWebAssembly`,
// vite-plugin-wasm): the bundler loads the .wasm.
import * as raw from "./apig_wasm.js";
import { makeApi } from "../lib/api.js";

export const {
  ApigError,
  ERROR_CODES,
  Signer,
  Verifier,
  PayloadHasher,
  errorCodes,
  clockSkewFromExpired,
  isApigError,
  hashBody,
  signedFetch,
} = makeApi(raw);

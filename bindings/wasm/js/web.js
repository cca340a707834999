// apig-wasm for browsers, Deno and other ES-module runtimes with fetch: loads the .wasm next to
// this file (top-level await), then exports the API.
import init, * as raw from "./apig_wasm.js";
import { makeApi } from "../lib/api.js";

await init({ module_or_path: new URL("apig_wasm_bg.wasm", import.meta.url) });

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

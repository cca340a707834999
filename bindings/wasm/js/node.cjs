// apig-wasm for Node (require and import): loads the .wasm synchronously from this folder; the API
// is the one shared with apig-sdk.
"use strict";
const { makeApi } = require("../lib/api.cjs");
const { wasmEngine } = require("../lib/engine.cjs");

// Buffer's UTF-8 writes and reads of the module's memory: faster in Node than TextEncoder's and
// TextDecoder's; faster still without write()'s and toString()'s argument checks (the package's
// own arguments are in range), through the methods they call, where Node has them.
const direct = typeof Buffer.prototype.utf8Write === "function" && typeof Buffer.prototype.utf8Slice === "function";
const api = makeApi(
  wasmEngine(require("./apig_wasm.cjs"), {
    view: (buffer) => Buffer.from(buffer),
    write: direct
      ? (bytes, text, at, room) => bytes.utf8Write(text, at, room)
      : (bytes, text, at, room) => bytes.write(text, at, room),
    read: direct
      ? (bytes, start, end) => bytes.utf8Slice(start, end)
      : (bytes, start, end) => bytes.toString("utf8", start, end),
    require,
    randomUUID: require("node:crypto").randomUUID,
  }),
);

exports.ApigError = api.ApigError;
exports.CREDENTIALS_ERROR_CODES = api.CREDENTIALS_ERROR_CODES;
exports.ERROR_CODES = api.ERROR_CODES;
exports.HOP_BY_HOP_HEADERS = api.HOP_BY_HOP_HEADERS;
exports.PayloadHasher = api.PayloadHasher;
exports.Signer = api.Signer;
exports.Verifier = api.Verifier;
exports.axiosInterceptor = api.axiosInterceptor;
exports.clockSkewFromExpired = api.clockSkewFromExpired;
exports.credentialsSigner = api.credentialsSigner;
exports.errorCodes = api.errorCodes;
exports.hashBody = api.hashBody;
exports.isApigError = api.isApigError;
exports.isCredentialsSource = api.isCredentialsSource;
exports.signAxios = api.signAxios;
exports.signedFetch = api.signedFetch;
exports.verifyMiddleware = api.verifyMiddleware;

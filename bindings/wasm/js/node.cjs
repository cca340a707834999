// apig-wasm for Node (require and import): loads the .wasm synchronously from this folder.
"use strict";
const { makeApi } = require("../lib/api.cjs");

// Buffer's UTF-8 writes and reads of the module's memory: faster in Node than TextEncoder's and
// TextDecoder's; faster still without write()'s and toString()'s argument checks (the package's
// own arguments are in range), through the methods they call, where Node has them.
const direct = typeof Buffer.prototype.utf8Write === "function" && typeof Buffer.prototype.utf8Slice === "function";
const api = makeApi(require("./apig_wasm.cjs"), {
  view: (buffer) => Buffer.from(buffer),
  write: direct
    ? (bytes, text, at, room) => bytes.utf8Write(text, at, room)
    : (bytes, text, at, room) => bytes.write(text, at, room),
  read: direct
    ? (bytes, start, end) => bytes.utf8Slice(start, end)
    : (bytes, start, end) => bytes.toString("utf8", start, end),
});

exports.ApigError = api.ApigError;
exports.ERROR_CODES = api.ERROR_CODES;
exports.Signer = api.Signer;
exports.Verifier = api.Verifier;
exports.PayloadHasher = api.PayloadHasher;
exports.errorCodes = api.errorCodes;
exports.clockSkewFromExpired = api.clockSkewFromExpired;
exports.isApigError = api.isApigError;
exports.hashBody = api.hashBody;
exports.signedFetch = api.signedFetch;

// apig-wasm for Node (require and import): loads the .wasm synchronously from this folder.
"use strict";
const { makeApi } = require("../lib/api.cjs");

const api = makeApi(require("./apig_wasm.cjs"));

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

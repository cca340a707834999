'use strict'
// The napi engine of the shared JavaScript API (lib/api.cjs, copied from bindings/js/api.js): the
// only JavaScript of apig-sdk that knows the native addon. Requests and results cross as strings in
// the layout documented in src/wire.rs, whose separator, markers and header names this file reads
// from the addon at load (`wireFormat()`) rather than restating them.

const binding = require('../binding.js')

function napiEngine({ ApigError, walkHeaders, headerPieces }) {
  binding.registerErrorClass(ApigError)
  const wire = binding.wireFormat()
  const SEP = wire.separator
  const ADDED_HEADER_NAMES = wire.addedHeaderNames
  const FIRST_INDEX = wire.firstIndex.charCodeAt(0)
  const NAMED = wire.named.charCodeAt(0)
  const SAME_AS_AUTHORIZATION = wire.sameAsAuthorization.charCodeAt(0)
  const SAME_AS_DATE = wire.sameAsDate.charCodeAt(0)
  // the fixed pieces of a result, in the order unpackResult reads them
  const RESULT_PIECES = ['authorization', 'signature', 'canonicalRequest', 'stringToSign', 'signedHeaders', 'date', 'credentialScope']
  if (wire.resultPieces.join() !== RESULT_PIECES.join()) {
    throw new Error(`apig-sdk: the addon's result layout (${wire.resultPieces}) is not this file's; reinstall apig-sdk`)
  }
  // the names of the headers the core adds, each set by its own store in unpackResult
  if (ADDED_HEADER_NAMES.join() !== ['Host', 'X-Sdk-Date', 'X-Sdk-Content-Sha256', 'Authorization'].join()) {
    throw new Error(`apig-sdk: the addon's added header names (${ADDED_HEADER_NAMES}) are not this file's; reinstall apig-sdk`)
  }
  // the fixed pieces of an identity, then the signed header names
  const IDENTITY_PIECES = ['accessKey', 'algorithm', 'signedAtSeconds', 'unsignedPayload', 'securityToken']
  if (wire.identityPieces.join() !== IDENTITY_PIECES.join()) {
    throw new Error(`apig-sdk: the addon's identity layout (${wire.identityPieces}) is not this file's; reinstall apig-sdk`)
  }

  // Headers → `name SEP value SEP …` (one string, one crossing), with the number of pieces.
  let pieces = 0
  function pack(headers, checkNul) {
    pieces = walkHeaders(headers, 'headers', checkNul)
    let out = ''
    for (let i = 0; i < pieces; i++) out += headerPieces[i] + SEP
    return out
  }

  /** The packed result (src/wire.rs, `pack_result`) → the SignResult object. */
  function unpackResult(s) {
    let start = 0
    let end = s.indexOf(SEP)
    const authorization = s.slice(start, end)
    end = s.indexOf(SEP, (start = end + 1))
    const signature = s.slice(start, end)
    end = s.indexOf(SEP, (start = end + 1))
    const canonicalRequest = s.slice(start, end)
    end = s.indexOf(SEP, (start = end + 1))
    const stringToSign = s.slice(start, end)
    end = s.indexOf(SEP, (start = end + 1))
    const signedHeaders = s.slice(start, end)
    end = s.indexOf(SEP, (start = end + 1))
    const date = s.slice(start, end)
    end = s.indexOf(SEP, (start = end + 1))
    const credentialScope = s.slice(start, end)
    start = end + 1
    const headers = {}
    while (start < s.length) {
      let name
      const code = s.charCodeAt(start)
      if (code === NAMED) {
        end = s.indexOf(SEP, start + 1)
        name = s.slice(start + 1, end)
        start = end + 1
      } else {
        start += 1
      }
      let value
      const kind = s.charCodeAt(start)
      if (kind === SAME_AS_AUTHORIZATION) {
        value = authorization
        start += 2
      } else if (kind === SAME_AS_DATE) {
        value = date
        start += 2
      } else {
        end = s.indexOf(SEP, start + 1)
        value = s.slice(start + 1, end)
        start = end + 1
      }
      // each added header by a store of its own name (a fast, named store; a variable name would
      // make one megamorphic keyed store of them all)
      switch (code - FIRST_INDEX) {
        case 0:
          headers.Host = value
          break
        case 1:
          headers['X-Sdk-Date'] = value
          break
        case 2:
          headers['X-Sdk-Content-Sha256'] = value
          break
        case 3:
          headers.Authorization = value
          break
        default:
          headers[name] = value
      }
    }
    const result = { headers, authorization, signature, canonicalRequest, stringToSign, signedHeaders, date }
    if (credentialScope !== '') result.credentialScope = credentialScope
    return result
  }

  /** The packed identity (src/wire.rs, `pack_identity`) → the Identity object. */
  function unpackIdentity(s) {
    const p = s.split(SEP)
    p.pop()
    const identity = {
      accessKey: p[0],
      algorithm: p[1],
      signedHeaders: p.slice(IDENTITY_PIECES.length),
      signedAt: new Date(Number(p[2]) * 1000),
      unsignedPayload: p[3] === '1',
    }
    if (p[4] !== '') identity.securityToken = p[4]
    return identity
  }

  // The arguments of the native sign call, reused from call to call, and the call with the first
  // k of them: direct calls for the usual counts (no array made per call).
  const args = []
  function call(f, k) {
    const a = args
    switch (k) {
      case 3:
        return f(a[0], a[1], a[2])
      case 4:
        return f(a[0], a[1], a[2], a[3])
      case 5:
        return f(a[0], a[1], a[2], a[3], a[4])
      case 6:
        return f(a[0], a[1], a[2], a[3], a[4], a[5])
      case 7:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6])
      case 8:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
      case 9:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8])
      case 10:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9])
      case 11:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10])
      case 12:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11])
      case 13:
        return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12])
      default:
        return Reflect.apply(f, undefined, a.slice(0, k))
    }
  }

  function signer(options) {
    const native = new binding.Signer(options)
    const signPacked = native.signFunction(true)
    let signParts = null // made when first needed: it only reports errors
    return {
      key: native.key,
      algorithm: native.algorithm,
      sign(method, url, headers, body, payloadHash, unsignedPayload, date) {
        // each string its own argument (src/wire.rs): the header pieces' count, the method, the
        // URL and the header pieces, then only the optional arguments up to the last one given
        // (the native side reads omitted trailing ones as undefined)
        const n = walkHeaders(headers, 'headers', false)
        args[0] = n
        args[1] = method
        args[2] = url
        let k = 3
        for (let i = 0; i < n; i++) args[k++] = headerPieces[i]
        if (payloadHash !== undefined || unsignedPayload) {
          args[k++] = body
          args[k++] = date
          args[k++] = payloadHash
          args[k++] = unsignedPayload
        } else if (date !== undefined) {
          args[k++] = body
          args[k++] = date
        } else if (body !== undefined) {
          args[k++] = body
        }
        let result
        try {
          result = call(signPacked, k)
        } finally {
          // let go of the body (the strings are small)
          for (let i = n + 3; i < k; i++) args[i] = undefined
        }
        if (result !== null) return unpackResult(result)
        // null: a separator inside the method, URL or a header; name the header here, or let the
        // native side report what is wrong with the method or URL
        walkHeaders(headers, 'headers', true)
        signParts ??= native.signFunction(false)
        return unpackResult(signParts(method, url, pack(headers, true), body, date, payloadHash, unsignedPayload))
      },
    }
  }

  function verifier(options) {
    const keys = typeof options.keys === 'function' ? options.keys : options.keys.map(([k, s]) => k + SEP + s + SEP).join('')
    const verify = new binding.Verifier({ ...options, keys }).verifyFunction()
    return {
      verify(method, url, headers, body, payloadHash, unsignedPayload, now) {
        return unpackIdentity(verify(method, url, pack(headers, true), body, payloadHash, now, unsignedPayload))
      },
    }
  }

  return {
    errorCodes: binding.errorCodes,
    apigAnswer: binding.apigAnswer,
    hopByHopHeaders: binding.hopByHopHeaders,
    bodyTooLarge: binding.bodyTooLarge,
    defaultBodyLimit: binding.defaultBodyLimit(),
    clockSkewFromExpired: (message) => binding.clockSkewFromExpired(message) ?? undefined,
    signer,
    hasher: (algorithm) => new binding.PayloadHasher(algorithm),
    verifier,
    require,
    randomUUID: require('node:crypto').randomUUID,
    /** For bench/crossing.mjs. */
    internals: { walkHeaders, unpackResult },
  }
}

module.exports = { napiEngine }

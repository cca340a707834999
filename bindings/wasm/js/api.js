// The JavaScript half of apig-wasm: what needs the event loop or the platform (fetch, Blob,
// ReadableStream) around the wasm exports. No signing logic lives here: hashing,
// canonicalisation, header handling, dates and errors are the Rust core's.
//
// `cargo xtask build wasm` copies this file into the package as lib/api.js (ES module) and
// lib/api.cjs (CommonJS, for Node's `require`); each target's entry calls makeApi with its
// wasm-bindgen module.

export function makeApi(raw) {
  const { PayloadHasher, errorCodes, clockSkewFromExpired } = raw;
  const ERROR_CODES = Object.freeze(errorCodes());

  // What every failure throws: the wasm side constructs it with the core's code and the HTTP
  // status it maps the code to.
  class ApigError extends Error {
    constructor(message, code, status) {
      super(message);
      this.name = "ApigError";
      this.code = code;
      this.status = status === undefined ? 500 : status;
    }
  }
  raw.registerErrorClass(ApigError);

  // Failures only JavaScript sees (reading a Blob or stream, bodies fetch would rewrite), with
  // the status the wasm side gives their codes.
  const STATUS = { body_read: 400, invalid_request: 400, invalid_config: 500 };
  function apigError(code, message, cause) {
    const error = new ApigError(message, code, STATUS[code]);
    if (cause !== undefined) error.cause = cause;
    return error;
  }

  function isApigError(value) {
    return value instanceof ApigError;
  }

  // Headers → `name\0value\0…`, so that the request crosses into wasm in one call (type
  // conversion only: names and values go to the core verbatim, which validates, lower-cases,
  // trims and sorts). Pairs, a plain object, or any iterable of pairs (Headers, Map).
  function packHeaders(headers) {
    if (headers === undefined || headers === null) return "";
    if (typeof headers !== "object") {
      throw apigError("invalid_request", "`headers` must be an array of [name, value] pairs or an object");
    }
    const parts = [];
    const entries =
      Array.isArray(headers) || typeof headers[Symbol.iterator] === "function" ? headers : Object.entries(headers);
    for (const entry of entries) {
      const [name, value] = Array.isArray(entry) && entry.length === 2 ? entry : [];
      if (typeof name !== "string" || typeof value !== "string") {
        throw apigError("invalid_request", "each entry of `headers` must be a [name, value] pair of strings");
      }
      if (name.includes("\0") || value.includes("\0")) {
        throw apigError("invalid_request", `NUL in header ${JSON.stringify(name)}`);
      }
      parts.push(name, value);
    }
    return parts.join("\0");
  }

  function requestObject(request) {
    if (request === null || typeof request !== "object") {
      throw apigError("invalid_request", "the request must be an object");
    }
    return request;
  }

  // The wasm classes, with sign/verify taking and returning plain objects.
  class Signer extends raw.Signer {
    sign(request) {
      const { method, url, headers, body, payloadHash, unsignedPayload, date } = requestObject(request);
      const p = this.signPacked(method, url, packHeaders(headers), body, payloadHash, unsignedPayload, date).split("\0");
      const added = {};
      for (let i = 7; i + 1 < p.length; i += 2) added[p[i]] = p[i + 1];
      const result = {
        headers: added,
        authorization: p[0],
        signature: p[1],
        canonicalRequest: p[2],
        stringToSign: p[3],
        signedHeaders: p[4],
        date: p[5],
      };
      if (p[6] !== "") result.credentialScope = p[6];
      return result;
    }
  }

  class Verifier extends raw.Verifier {
    verify(request) {
      const { method, url, headers, body, payloadHash, unsignedPayload, now } = requestObject(request);
      const p = this.verifyPacked(method, url, packHeaders(headers), body, payloadHash, unsignedPayload, now).split("\0");
      return {
        accessKey: p[0],
        algorithm: p[1],
        signedHeaders: p[2] === "" ? [] : p[2].split(";"),
        signedAt: new Date(Number(p[3])),
        unsignedPayload: p[4] === "1",
      };
    }
  }

  const isBlob = (body) => typeof Blob !== "undefined" && body instanceof Blob;
  const isStream = (body) => typeof ReadableStream !== "undefined" && body instanceof ReadableStream;

  // Feeds every chunk of `stream` to `hasher` (and to `keep`, when given).
  async function feed(hasher, stream, keep) {
    const reader = stream.getReader();
    try {
      for (;;) {
        let step;
        try {
          step = await reader.read();
        } catch (cause) {
          throw apigError("body_read", `reading the body failed: ${cause?.message ?? cause}`, cause);
        }
        if (step.done) return;
        hasher.update(step.value);
        keep?.push(step.value);
      }
    } finally {
      reader.releaseLock();
    }
  }

  // The payload hash of any body, read chunk by chunk, and a body that can be sent (and sent again).
  async function hashBody(signer, body) {
    const hasher = signer.createHasher();
    if (body === undefined || body === null) {
      return { payloadHash: hasher.digest(), body: null };
    }
    if (isBlob(body)) {
      await feed(hasher, body.stream());
      return { payloadHash: hasher.digest(), body };
    }
    if (isStream(body)) {
      if (body.locked) {
        throw apigError("body_read", "the body stream is locked (already being read)");
      }
      const chunks = [];
      await feed(hasher, body, chunks);
      return { payloadHash: hasher.digest(), body: new Blob(chunks) };
    }
    hasher.update(body); // strings and bytes; anything else is an invalid_request from the core
    return { payloadHash: hasher.digest(), body };
  }

  // A `fetch` that signs each request with `signer`: signedFetch(signer, { fetch?, ... }), or as
  // the Node package, signedFetch(signer, fetchImpl?, options?).
  function signedFetch(signer, fetchOrOptions, moreOptions) {
    const options =
      typeof fetchOrOptions === "function"
        ? { ...moreOptions, fetch: fetchOrOptions }
        : { ...fetchOrOptions };
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") {
      throw apigError("invalid_config", "no fetch available: pass { fetch }");
    }
    let clockOffset = options.clockOffset ?? 0;
    if (!Number.isFinite(clockOffset)) {
      throw apigError("invalid_config", "clockOffset must be a finite number of milliseconds");
    }
    const unsignedPayload = options.unsignedPayload === true;
    const retryOnExpired = options.retryOnExpired !== false;

    // Everything about the request that does not depend on the signing time.
    async function prepare(input, init) {
      const fromRequest = typeof Request !== "undefined" && input instanceof Request;
      let url;
      try {
        // what fetch will send: the WHATWG serialisation, relative URLs resolved against the page
        url = new URL(fromRequest ? input.url : String(input), globalThis.location?.href).href;
      } catch (cause) {
        throw apigError("invalid_request", `invalid URL ${String(input)}: ${cause.message}`, cause);
      }
      const method = init.method ?? (fromRequest ? input.method : "GET");
      // the headers as the browser sends them; Host is the browser's to set, so the core signs
      // the URL's host instead of a Host header
      const headers = new Headers(init.headers ?? (fromRequest ? input.headers : undefined));
      headers.delete("host");
      let body = init.body;
      if (body === undefined && fromRequest && input.body !== null) {
        body = await input.clone().arrayBuffer();
      }
      if (typeof URLSearchParams !== "undefined" && body instanceof URLSearchParams) {
        if (!headers.has("content-type")) {
          headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
        }
        body = body.toString();
      }
      if (typeof FormData !== "undefined" && body instanceof FormData) {
        throw apigError(
          "invalid_request",
          "a FormData body cannot be signed (the browser picks its multipart boundary): " +
            "encode it yourself, or use signedFetch(signer, { unsignedPayload: true })",
        );
      }
      const sign = { method, url, headers: [...headers] };
      if (unsignedPayload) {
        sign.unsignedPayload = true;
      } else if (isBlob(body) || isStream(body)) {
        const hashed = await hashBody(signer, body);
        sign.payloadHash = hashed.payloadHash;
        body = hashed.body;
      } else {
        sign.body = body;
      }
      return { fromRequest, url, headers, body, sign };
    }

    function send(prepared, input, init) {
      const signed = signer.sign({ ...prepared.sign, date: Date.now() + clockOffset });
      const headers = new Headers(prepared.headers);
      for (const [name, value] of Object.entries(signed.headers)) {
        if (name.toLowerCase() !== "host") headers.set(name, value);
      }
      const requestInit = { ...init, method: prepared.sign.method, headers, body: prepared.body ?? null };
      if (isStream(prepared.body)) requestInit.duplex = "half";
      return prepared.fromRequest
        ? fetchImpl(new Request(input, requestInit))
        : fetchImpl(prepared.url, requestInit);
    }

    async function fetchSigned(input, init = {}) {
      const prepared = await prepare(input, init);
      const response = await send(prepared, input, init);
      if (response.status !== 401 || !retryOnExpired || isStream(prepared.body)) {
        return response;
      }
      const skew = clockSkewFromExpired(await response.clone().text());
      if (skew === undefined) return response;
      // the gateway said how far our clock is off: learn it, sign again, retry once
      clockOffset += skew * 1000;
      return send(prepared, input, init);
    }

    Object.defineProperty(fetchSigned, "clockOffset", {
      get: () => clockOffset,
      enumerable: true,
    });
    return fetchSigned;
  }

  return {
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
  };
}

// The public JavaScript API of both npm packages, written once: `apig-sdk` (the native napi-rs
// addon) and `apig-wasm` (the same core compiled to WebAssembly) each call `makeApi` with their
// engine, the only code that knows napi or wasm-bindgen (bindings/node/lib/engine.js,
// bindings/wasm/js/engine.js). Types: bindings/js/index.d.ts, shipped by both packages.
//
// This file converts and checks JavaScript values (option objects, header forms, body kinds,
// streams) and adds what needs the event loop or the platform (fetch, axios, a Connect middleware,
// Blobs and streams). It never hashes, canonicalises, formats dates or picks defaults: the core
// does, through the engine.
//
// `cargo xtask build node|wasm` copies it into each package as lib/api.cjs (CommonJS) and, for the
// wasm package, lib/api.js (this ES module): so it exports exactly one function, makeApi, and has
// no imports.
//
// The engine: `createEngine(shared)` is called once with `{ ApigError, invalid, invalidConfig,
// walkHeaders, headerPieces }` and returns
//   errorCodes()                        every core error code, in the core's order
//   apigAnswer(code, message)           { status, apigCode, apigMessage } of the core, or null
//   hopByHopHeaders()                   the core's hop-by-hop header names (lower case)
//   clockSkewFromExpired(text)          seconds, or undefined (the core's parser)
//   signer(options)                     { key, algorithm, sign(method, url, headers, body,
//                                         payloadHash, unsignedPayload, date) → SignResult }
//   hasher(algorithm)                   { update(string | Uint8Array | ArrayBuffer), digest() }
//   verifier(options) (optional)        { verify(method, url, headers, body, payloadHash,
//                                         unsignedPayload, now) → Identity }; options.keys is an
//                                         array of [accessKey, secret] or a function
//   require, randomUUID (optional)      Node's, for axios and the middleware's request ids
// Bodies reach the engine as undefined, a string, a Uint8Array or an ArrayBuffer; times as
// undefined, a number (ms), a Date or a string; headers as the caller gave them, which the engine
// walks with `walkHeaders` (into `headerPieces`). Errors the engine throws are ApigErrors.

export function makeApi(createEngine) {
  let engine;

  // ---- errors ------------------------------------------------------------------------------

  /** The error every failure of this package is: an `Error` with the core's stable `code`. */
  class ApigError extends Error {
    constructor(message, code, status) {
      super(message);
      let answer = engine.apigAnswer(String(code), this.message);
      // a credential provider's code (CREDENTIALS_ERROR_CODES) answers as the client's bad
      // configuration: no request was signed (`expired` is also the core's, a signature's)
      if ((answer === null || answer === undefined) && CREDENTIALS_ERROR_CODES.includes(code)) answer = engine.apigAnswer("invalid_config", this.message);
      if (answer === null || answer === undefined) {
        throw new TypeError(`ApigError: unknown code ${JSON.stringify(String(code))}; see ERROR_CODES`);
      }
      this.name = "ApigError";
      this.code = code;
      this.status = status === undefined ? answer.status : status;
      this.apigCode = answer.apigCode;
      this.apigMessage = answer.apigMessage;
    }
  }

  /**
   * The codes of credential providers' failures (apig-credentials' `CredentialsErrorKind::code`, the
   * same strings in every language): an ApigError of one of them also names its `provider` and
   * `source`.
   */
  const CREDENTIALS_ERROR_CODES = Object.freeze([
    "missing",
    "malformed",
    "missing_field",
    "unreachable",
    "timeout",
    "http_status",
    "expired",
    "no_provider",
  ]);

  /** A credential provider's failure: `code` (CREDENTIALS_ERROR_CODES), the provider, what it read. */
  function credentialsError(code, provider, source, message, cause) {
    const error = new ApigError(`[${code}] ${provider} provider (${source}): ${message}`, code, undefined);
    const answer = engine.apigAnswer("invalid_config", error.message);
    error.status = answer.status;
    error.apigCode = answer.apigCode;
    error.apigMessage = answer.apigMessage;
    error.provider = provider;
    error.source = source;
    if (cause !== undefined) error.cause = cause;
    return error;
  }

  function apigError(code, message, cause) {
    const error = new ApigError(message, code);
    if (cause !== undefined) error.cause = cause;
    return error;
  }
  const invalid = (message) => apigError("invalid_request", message);
  const invalidConfig = (message) => apigError("invalid_config", message);
  const present = (value) => value !== undefined && value !== null;

  // ---- headers -----------------------------------------------------------------------------

  /** The pieces of the headers walked last: name, value, name, value… (reused from call to call). */
  const headerPieces = [];
  const hasOwn = Object.prototype.hasOwnProperty;

  /**
   * Puts the headers of `headers` into `headerPieces` and returns how many pieces (twice the
   * pairs) it holds: an object (an array value repeats the name; `undefined`/`null` are skipped),
   * an array of `[name, value]` pairs, or a `Headers`/`Map` (any object with `entries()`, or any
   * iterable of pairs). Numbers become their text; names and values otherwise reach the core
   * verbatim, which validates, lower-cases, trims and sorts. With `checkNul`, a NUL in a name or
   * value is refused here (an engine whose wire format cannot carry one asks for it, or retries
   * with it to name the culprit). One array filled in place, no callback: the hot path of sign().
   */
  function walkHeaders(headers, what, checkNul) {
    if (headers === undefined || headers === null) return 0;
    if (typeof headers !== "object") {
      throw invalid(`${what} must be an object of name → value, an array of [name, value] pairs, or a Headers/Map`);
    }
    let n = 0;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i++) {
        const pair = headers[i];
        if (!Array.isArray(pair) || pair.length !== 2 || !present(pair[1])) {
          throw invalid(`${what}[${i}] must be a [name, value] pair`);
        }
        n = put(n, pair[0], pair[1], what, checkNul);
      }
      return n;
    }
    const proto = Object.getPrototypeOf(headers);
    if (proto !== Object.prototype && proto !== null) {
      const entries =
        typeof headers.entries === "function" ? headers.entries() : typeof headers[Symbol.iterator] === "function" ? headers : null;
      if (entries !== null) {
        for (const entry of entries) {
          if (!Array.isArray(entry) || entry.length !== 2) throw invalid(`each entry of ${what} must be a [name, value] pair`);
          n = put(n, entry[0], entry[1], what, checkNul);
        }
        return n;
      }
    }
    // for-in with an own-property check walks the same names as Object.keys, in the same order,
    // without allocating their array, and reads each value through V8's enum cache rather than a
    // megamorphic keyed load (a third of the walk)
    for (const name in headers) {
      if (!hasOwn.call(headers, name)) continue;
      const value = headers[name];
      if (typeof value === "string") {
        n = put(n, name, value, what, checkNul);
      } else if (Array.isArray(value)) {
        for (let j = 0; j < value.length; j++) n = put(n, name, value[j], what, checkNul);
      } else {
        n = put(n, name, value, what, checkNul);
      }
    }
    return n;
  }

  function put(n, name, value, what, checkNul) {
    if (value === undefined || value === null) return n;
    if (typeof value === "number") value = String(value);
    if (typeof name !== "string" || typeof value !== "string") {
      throw invalid(`${what}: ${JSON.stringify(String(name))} must have a string or number value`);
    }
    if (checkNul && (name.includes("\0") || value.includes("\0"))) throw invalid(`${what}: NUL in ${JSON.stringify(name)}`);
    headerPieces[n] = name;
    headerPieces[n + 1] = value;
    return n + 2;
  }

  // ---- bodies ------------------------------------------------------------------------------

  const isBlob = (body) => typeof Blob !== "undefined" && body instanceof Blob;

  /** Whether `body` is read chunk by chunk: a stream, an async iterable or a Blob. */
  function isStreamBody(body) {
    return (
      body !== null &&
      typeof body === "object" &&
      !ArrayBuffer.isView(body) &&
      !(body instanceof ArrayBuffer) &&
      (typeof body[Symbol.asyncIterator] === "function" || typeof body.getReader === "function" || isBlob(body))
    );
  }

  /**
   * A body given in one piece, as the engine takes it: `undefined`, a string, a Uint8Array (any
   * other ArrayBufferView becomes a Uint8Array view of its bytes) or an ArrayBuffer.
   */
  function wholeBody(body, what) {
    if (body === undefined || body === null) return undefined;
    if (typeof body === "string" || body instanceof Uint8Array || body instanceof ArrayBuffer) return body;
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    throw invalid(
      `${what} must be a string, a Uint8Array/Buffer, an ArrayBuffer or another ArrayBufferView ` +
        "(streams, async iterables and Blobs: sign() hashes them and returns a Promise)",
    );
  }

  /** Iterates a web ReadableStream that lacks Symbol.asyncIterator (older runtimes). */
  async function* readerChunks(stream) {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }

  function chunksOf(source) {
    if (isBlob(source)) source = source.stream();
    if (typeof source[Symbol.asyncIterator] === "function" || typeof source[Symbol.iterator] === "function") {
      return source;
    }
    if (typeof source.getReader === "function") {
      if (source.locked) throw apigError("body_read", "the body stream is locked (already being read)");
      return readerChunks(source);
    }
    throw invalid("a stream body must be a Readable, an async iterable, a ReadableStream or a Blob");
  }

  /** Feeds every chunk of `source` to `hasher` (and to `keep`); reading failures are body_read. */
  async function feed(hasher, source, keep) {
    try {
      for await (const chunk of chunksOf(source)) {
        hasher.update(chunk);
        if (keep !== undefined) keep.push(chunk);
      }
    } catch (cause) {
      if (cause instanceof ApigError) throw cause;
      throw apigError("body_read", `reading the body failed: ${cause && cause.message}`, cause);
    }
  }

  const time = (value, name) => {
    if (value === undefined || value === null) return undefined;
    if (typeof value === "number" || typeof value === "string" || value instanceof Date) return value;
    throw invalid(`${name} must be a Date, milliseconds since 1970, or an X-Sdk-Date string`);
  };

  function notAnObject(call) {
    return invalid(`${call} needs a request object { method, url, headers, body }`);
  }

  /**
   * A request's body as the engine takes it: a stream body is left to the caller (undefined is
   * returned for none), anything else checked by `wholeBody`.
   */
  function requestBody(body) {
    if (body === undefined || body === null) return undefined;
    if (typeof body === "string" || body instanceof Uint8Array) return body;
    return wholeBody(body, "body");
  }

  /** Checks the method, URL and body options of a sign or verify request (no allocation: hot path). */
  function checkRequest(method, url, body, payloadHash, unsignedPayload) {
    if (typeof method !== "string") throw invalid(present(method) ? "method must be a string" : "method is required");
    if (typeof url !== "string") throw invalid(present(url) ? "url must be a string" : "url is required");
    if (present(payloadHash) && typeof payloadHash !== "string") throw invalid("payloadHash must be a string");
    if (present(unsignedPayload) && typeof unsignedPayload !== "boolean") throw invalid("unsignedPayload must be a boolean");
    if (unsignedPayload === true && present(payloadHash)) throw invalid("give either payloadHash or unsignedPayload, not both");
    if (body !== undefined && (present(payloadHash) || unsignedPayload === true)) {
      throw invalid("a body is signed from its bytes: drop payloadHash / unsignedPayload, or the body");
    }
  }

  // ---- options -----------------------------------------------------------------------------

  function options(value, what, required) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw invalidConfig(`${what} needs an options object ${required}`);
    }
    return value;
  }
  function optional(value, name, type) {
    if (!present(value)) return undefined;
    if (typeof value !== type) throw invalidConfig(`${name} must be a ${type}`);
    return value;
  }
  function requiredString(value, name) {
    if (!present(value)) throw invalidConfig(`${name} is required`);
    if (typeof value !== "string") throw invalidConfig(`${name} must be a string`);
    return value;
  }

  // ---- classes -----------------------------------------------------------------------------

  /** An incremental body hasher (the core's): `update(chunk)` as chunks arrive, then `digest()`. */
  class PayloadHasher {
    #inner;

    constructor(algorithm) {
      if (present(algorithm) && typeof algorithm !== "string") {
        throw apigError("unsupported_algorithm", "the algorithm must be a string");
      }
      this.#inner = engine.hasher(present(algorithm) ? algorithm : undefined);
    }

    update(chunk) {
      if (typeof chunk !== "string") {
        chunk = wholeBody(chunk, "a chunk");
        if (chunk === undefined) throw invalid("a chunk must be a string, a Uint8Array/Buffer, an ArrayBuffer or another ArrayBufferView");
      }
      this.#inner.update(chunk);
      return this;
    }

    digest() {
      return this.#inner.digest();
    }

    /** Frees the engine's memory now (WebAssembly; otherwise when garbage-collected). */
    free() {
      this.#inner.free?.();
    }
  }

  class Signer {
    #inner;
    #key;
    #algorithm;

    constructor(settings) {
      const o = options(settings, "new Signer(options)", "{ key, secret }");
      requiredString(o.key, "key");
      requiredString(o.secret, "secret");
      optional(o.algorithm, "algorithm", "string");
      optional(o.region, "region", "string");
      optional(o.service, "service", "string");
      optional(o.excludedHeaders, "excludedHeaders", "string");
      optional(o.securityToken, "securityToken", "string");
      optional(o.projectId, "projectId", "string");
      optional(o.domainId, "domainId", "string");
      optional(o.profile, "profile", "string");
      this.#inner = engine.signer(o);
      this.#key = this.#inner.key;
      this.#algorithm = this.#inner.algorithm;
    }

    get key() {
      return this.#key;
    }

    get algorithm() {
      return this.#algorithm;
    }

    /**
     * Signs a request; a Promise of the result when the body is a stream, async iterable or Blob
     * (hashed chunk by chunk by the core, never buffered).
     */
    sign(request) {
      if (request === null || typeof request !== "object") throw notAnObject("sign(request)");
      if (isStreamBody(request.body)) {
        return this.hashStream(request.body).then((payloadHash) => this.sign({ ...request, body: undefined, payloadHash }));
      }
      const body = requestBody(request.body);
      const { method, url, payloadHash, unsignedPayload } = request;
      checkRequest(method, url, body, payloadHash, unsignedPayload);
      const hash = payloadHash === null ? undefined : payloadHash;
      return this.#inner.sign(method, url, request.headers, body, hash, unsignedPayload === true, time(request.date, "date"));
    }

    /** A hasher for this signer's hash function (pass its `digest()` as `payloadHash`). */
    createHasher() {
      return new PayloadHasher(this.#algorithm);
    }

    /** The body hash of a stream, async iterable, web ReadableStream or Blob, chunk by chunk. */
    async hashStream(source) {
      const hasher = this.createHasher();
      await feed(hasher, source);
      return hasher.digest();
    }

    /** Frees the engine's memory now (WebAssembly; otherwise when garbage-collected). */
    free() {
      this.#inner.free?.();
    }
  }

  class Verifier {
    #inner;

    constructor(settings) {
      if (engine.verifier === undefined) {
        throw invalidConfig(
          "this build of apig-wasm (for browsers) has no Verifier: verify on a server, " +
            "with apig-wasm in Node or the native apig-sdk package",
        );
      }
      const o = options(settings, "new Verifier(options)", "{ keys }");
      if (!present(o.keys)) throw invalidConfig("keys is required: an object or Map of access key → secret, or a function");
      let keys = o.keys;
      if (typeof keys !== "function") {
        const entries = typeof keys !== "object" ? null : keys instanceof Map || Array.isArray(keys) ? [...keys] : Object.entries(keys);
        const pair = (e) => Array.isArray(e) && e.length === 2 && e.every((s) => typeof s === "string" && !s.includes("\0"));
        if (entries === null || !entries.every(pair)) {
          throw invalidConfig("keys must be an object, Map or array of access key → secret string, or a function");
        }
        keys = entries;
      }
      optional(o.maxSkewSeconds, "maxSkewSeconds", "number");
      optional(o.requireHost, "requireHost", "boolean");
      optional(o.allowUnsignedPayload, "allowUnsignedPayload", "boolean");
      if (present(o.algorithms) && (!Array.isArray(o.algorithms) || o.algorithms.some((a) => typeof a !== "string"))) {
        throw invalidConfig("algorithms must be an array of algorithm names");
      }
      optional(o.region, "region", "string");
      optional(o.service, "service", "string");
      this.#inner = engine.verifier({ ...o, keys });
    }

    /** Verifies a received request; returns the signer's identity or throws an ApigError. */
    verify(request) {
      if (request === null || typeof request !== "object") throw notAnObject("verify(request)");
      const body = requestBody(request.body);
      const { method, url, payloadHash, unsignedPayload } = request;
      checkRequest(method, url, body, payloadHash, unsignedPayload);
      const hash = payloadHash === null ? undefined : payloadHash;
      return this.#inner.verify(method, url, request.headers, body, hash, unsignedPayload === true, time(request.now, "now"));
    }

    free() {
      this.#inner.free?.();
    }
  }

  /** The payload hash of any body, read chunk by chunk, and a body that can be sent (and sent again). */
  async function hashBody(signer, body) {
    const hasher = signer.createHasher();
    if (!present(body)) return { payloadHash: hasher.digest(), body: null };
    if (isBlob(body)) {
      await feed(hasher, body);
      return { payloadHash: hasher.digest(), body };
    }
    if (isStreamBody(body)) {
      const chunks = [];
      await feed(hasher, body, chunks);
      return { payloadHash: hasher.digest(), body: new Blob(chunks) };
    }
    hasher.update(body);
    return { payloadHash: hasher.digest(), body };
  }

  // ---- the core's lists --------------------------------------------------------------------

  /**
   * A credentials source's refresh margin: a new call when less than this is left (5 minutes:
   * short-lived browser credentials live 15 minutes or more). The metadata provider has its own
   * (apig-credentials' DEFAULT_REFRESH_MARGIN, 40 minutes, Huawei's v3 SDKs' rule).
   */
  const DEFAULT_REFRESH_MARGIN_SECONDS = 300;
  /** At most one background refresh every 10 s (apig-credentials' DEFAULT_MIN_REFRESH_INTERVAL). */
  const DEFAULT_MIN_REFRESH_INTERVAL_SECONDS = 10;

  engine = createEngine({ ApigError, invalid, invalidConfig, walkHeaders, headerPieces });
  const ERROR_CODES = Object.freeze(engine.errorCodes());
  const errorCodes = () => ERROR_CODES.slice();
  const HOP_BY_HOP_HEADERS = Object.freeze(engine.hopByHopHeaders());
  const isApigError = (value) => value instanceof ApigError;
  const clockSkewFromExpired = (message) => engine.clockSkewFromExpired(String(message));

  /**
   * `[name, value]` pairs without Host (fetch and axios derive it from the URL, which the core
   * signs). Whether the hop-by-hop headers are signed is the core's rule, decided by the signer
   * (`excludedHeaders`, default: they are not).
   */
  function signableHeaders(pairs) {
    return pairs.filter(([name]) => String(name).toLowerCase() !== "host");
  }

  function isSigner(signer) {
    return signer !== null && typeof signer === "object" && typeof signer.sign === "function";
  }

  // ---- credential sources ------------------------------------------------------------------

  /** Whether `value` is a credentials source: a function, or an object with `credentials()`. */
  function isCredentialsSource(value) {
    return typeof value === "function" || (value !== null && typeof value === "object" && typeof value.credentials === "function");
  }

  /** The options of `new Signer` a credentials source's signers take from the caller's options. */
  const SIGNER_SETTINGS = ["algorithm", "region", "service", "excludedHeaders", "profile"];

  /**
   * A function resolving to a Signer valid now: `source` itself when it is a Signer, else signers
   * made from the credentials `source` gives ({ accessKey, secretKey, securityToken?, projectId?,
   * domainId?, expiresAt? }), one per distinct credentials, with `o`'s signer settings.
   *
   * The source is asked once, then again only when the credentials it gave are near expiry (less
   * than `refreshMarginSeconds` left): requests keep being signed with them while one call, shared
   * by every request (single flight), fetches new ones; at most one such call starts every
   * `minRefreshIntervalSeconds`. Only a request that finds no valid credentials (the first, or
   * after expiry) waits. A failed refresh keeps the credentials until they expire; then requests
   * fail with `expired` (its `cause` is the refresh's error).
   */
  function credentialsSigner(source, o = {}) {
    if (isSigner(source)) {
      const ready = Promise.resolve(source);
      return () => ready;
    }
    if (!isCredentialsSource(source)) {
      throw invalidConfig("a credentials source is a Signer, a function or an object with credentials() (a provider)");
    }
    const settings = {};
    for (const name of SIGNER_SETTINGS) {
      if (present(o[name])) settings[name] = optional(o[name], name, "string");
    }
    const seconds = (name, otherwise) => {
      const value = present(o[name]) ? o[name] : otherwise;
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw invalidConfig(`${name} must be a number of seconds ≥ 0`);
      }
      return value * 1000;
    };
    const margin = seconds("refreshMarginSeconds", DEFAULT_REFRESH_MARGIN_SECONDS);
    const minInterval = seconds("minRefreshIntervalSeconds", DEFAULT_MIN_REFRESH_INTERVAL_SECONDS);
    const provider = typeof source === "function" ? "function" : typeof source.name === "string" && source.name !== "" ? source.name : "object";
    const what = typeof source === "function" ? `${source.name || "anonymous"}()` : "credentials()";
    const ask = typeof source === "function" ? () => source() : () => source.credentials();

    let held = null; // { fields, signer, expiresAt (ms or undefined) }
    let pending = null;
    let lastAttempt = -Infinity;

    function accept(given) {
      if (given === null || typeof given !== "object") {
        throw credentialsError("malformed", provider, what, "the credentials must be an object { accessKey, secretKey, … }");
      }
      const { accessKey, secretKey, securityToken, projectId, domainId, expiresAt } = given;
      for (const [name, value] of [["accessKey", accessKey], ["secretKey", secretKey]]) {
        if (typeof value !== "string" || value === "") {
          throw credentialsError("missing_field", provider, what, `the credentials have no ${name} (a non-empty string)`);
        }
      }
      for (const [name, value] of [["securityToken", securityToken], ["projectId", projectId], ["domainId", domainId]]) {
        if (present(value) && typeof value !== "string") throw credentialsError("malformed", provider, what, `${name} must be a string`);
      }
      let expires;
      if (present(expiresAt)) {
        expires = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
        if (typeof expires !== "number" || !Number.isFinite(expires)) {
          throw credentialsError("malformed", provider, what, "expiresAt must be a Date or milliseconds since 1970");
        }
        if (expires <= Date.now()) throw credentialsError("expired", provider, what, "the credentials given have already expired");
      }
      const fields = [accessKey, secretKey, securityToken, projectId, domainId].map((f) => (present(f) ? f : "")).join("\0");
      if (held === null || held.fields !== fields) {
        const options = { ...settings, key: accessKey, secret: secretKey };
        if (present(securityToken)) options.securityToken = securityToken;
        if (present(projectId)) options.projectId = projectId;
        if (present(domainId)) options.domainId = domainId;
        held = { fields, signer: new Signer(options), expiresAt: expires };
      } else {
        held.expiresAt = expires;
      }
      return held.signer;
    }

    function refresh() {
      if (pending !== null) return pending;
      lastAttempt = Date.now();
      pending = (async () => accept(await ask()))().then(
        (signer) => {
          pending = null;
          return signer;
        },
        (cause) => {
          pending = null;
          if (cause instanceof ApigError) throw cause;
          throw credentialsError("unreachable", provider, what, `the source failed: ${cause && cause.message}`, cause);
        },
      );
      return pending;
    }

    return async function currentSigner() {
      const now = Date.now();
      if (held !== null && (held.expiresAt === undefined || now < held.expiresAt)) {
        // near expiry: one refresh in the background; this request signs with what is held
        if (held.expiresAt !== undefined && now >= held.expiresAt - margin && pending === null && now - lastAttempt >= minInterval) {
          refresh().catch(() => {});
        }
        return held.signer;
      }
      if (held === null) return refresh();
      try {
        return await refresh();
      } catch (cause) {
        throw credentialsError("expired", provider, what, `the credentials expired and the refresh failed: ${cause && cause.message}`, cause);
      }
    };
  }

  // ---- signedFetch -------------------------------------------------------------------------

  /**
   * A fetch that signs each request: `signedFetch(signer, fetchImpl?, options?)` or
   * `signedFetch(signer, { fetch?, ...options })`. fetch's own `Request` turns the arguments into
   * the method, URL (its WHATWG form, relative URLs resolved against the page), headers (with the
   * Content-Type fetch adds) and body bytes that are sent; the core signs exactly those.
   */
  function signedFetch(signer, fetchOrOptions, moreOptions) {
    if (!isSigner(signer) && !isCredentialsSource(signer)) {
      throw invalidConfig("signedFetch(signer): signer must be an apig Signer or a credentials source (a function, or a provider)");
    }
    if (present(fetchOrOptions) && typeof fetchOrOptions !== "function" && typeof fetchOrOptions !== "object") {
      throw invalidConfig("signedFetch(signer, fetchImpl, options) or signedFetch(signer, options): fetchImpl must be a function");
    }
    const o = typeof fetchOrOptions === "function" ? { ...moreOptions, fetch: fetchOrOptions } : { ...fetchOrOptions, ...moreOptions };
    const currentSigner = credentialsSigner(signer, o);
    const fetchImpl = present(o.fetch) ? o.fetch : globalThis.fetch;
    if (typeof fetchImpl !== "function") {
      throw invalidConfig("signedFetch: no fetch implementation (pass one: signedFetch(signer, fetch) or { fetch })");
    }
    const streams = present(o.streams) ? o.streams : "unsigned";
    if (streams !== "unsigned" && streams !== "buffer") {
      throw invalidConfig(`signedFetch: streams must be 'unsigned' or 'buffer', not ${String(streams)}`);
    }
    let clockOffset = present(o.clockOffset) ? o.clockOffset : 0;
    if (typeof clockOffset !== "number" || !Number.isFinite(clockOffset)) {
      throw invalidConfig("signedFetch: clockOffset must be a finite number of milliseconds");
    }
    const unsignedPayload = optionalFlag(o.unsignedPayload, "unsignedPayload", false);
    const retryOnExpired = optionalFlag(o.retryOnExpired, "retryOnExpired", true);

    // Everything about the request that does not depend on the signing time.
    async function prepare(input, init) {
      const streamed = present(init) && isStreamBody(init.body) && !isBlob(init.body);
      let request;
      try {
        request = new Request(input, streamed ? { ...init, duplex: "half" } : init);
      } catch (cause) {
        throw apigError("invalid_request", `signedFetch: ${cause && cause.message}`, cause);
      }
      const headers = [];
      for (const [name, value] of request.headers) if (name !== "host") headers.push([name, value]);
      const sign = { method: request.method, url: request.url, headers: signableHeaders(headers) };
      let body = null;
      if (request.body !== null) {
        if (unsignedPayload || (streamed && streams === "unsigned")) {
          sign.unsignedPayload = true;
          body = request.body;
        } else {
          try {
            body = new Uint8Array(await request.arrayBuffer());
          } catch (cause) {
            throw apigError("body_read", `reading the body failed: ${cause && cause.message}`, cause);
          }
          sign.body = body;
        }
      }
      return { request, headers, body, sign };
    }

    function send(prepared, init, signer) {
      const signed = signer.sign({ ...prepared.sign, date: Date.now() + clockOffset });
      const headers = prepared.headers.slice();
      for (const name of Object.keys(signed.headers)) {
        // fetch derives Host from the URL: the very value the core signed
        if (name !== "Host") headers.push([name, signed.headers[name]]);
      }
      const { request, body } = prepared;
      const forwarded = { ...init, method: request.method, headers, body, signal: request.signal, redirect: request.redirect };
      if (body !== null && !(body instanceof Uint8Array)) forwarded.duplex = "half";
      else delete forwarded.duplex;
      return fetchImpl(request.url, forwarded);
    }

    async function fetchSigned(input, init) {
      const prepared = await prepare(input, init);
      const signer = await currentSigner();
      const response = await send(prepared, init, signer);
      const resendable = prepared.body === null || prepared.body instanceof Uint8Array;
      if (response.status !== 401 || !retryOnExpired || !resendable) return response;
      const skew = clockSkewFromExpired(await response.clone().text());
      if (skew === undefined) return response;
      // the gateway said how far our clock is off: learn it, sign again, retry once
      clockOffset += skew * 1000;
      return send(prepared, init, signer);
    }

    Object.defineProperty(fetchSigned, "clockOffset", { get: () => clockOffset, enumerable: true });
    return fetchSigned;
  }

  function optionalFlag(value, name, otherwise, what = "signedFetch") {
    if (!present(value)) return otherwise;
    if (typeof value !== "boolean") throw invalidConfig(`${what}: ${name} must be a boolean`);
    return value;
  }

  // ---- axios -------------------------------------------------------------------------------

  /**
   * An axios request interceptor that signs each request with `source` (a Signer, or a credentials
   * source as `signedFetch` takes; then the interceptor is async). axios serialises `data` and
   * `params` after the interceptors run, so the interceptor does it first (as axios would) and hands
   * axios the exact bytes and URL that were signed. It does not retry: `signAxios` does.
   */
  function axiosInterceptor(source, o = {}) {
    return axiosSigning(source, o, "axiosInterceptor").request;
  }

  /**
   * Installs on an axios instance the signing request interceptor and a response interceptor that
   * retries once a 401 "signature expired … server time …" (`retryOnExpired`, default true), signed
   * again with the clock offset the answer teaches (kept for later requests), as `signedFetch` does.
   * A stream body (it cannot be sent again) or an `X-Sdk-Date` the caller set is not retried.
   * Returns the instance.
   */
  function signAxios(instance, source, o = {}) {
    if (instance === null || (typeof instance !== "object" && typeof instance !== "function") || typeof instance.request !== "function" || !instance.interceptors) {
      throw invalidConfig("signAxios(instance, source, options): instance must be axios or an axios.create() instance");
    }
    if (o === null || typeof o !== "object") throw invalidConfig("signAxios(instance, source, options): options must be an object");
    const signing = axiosSigning(source, present(o.axios) ? o : { ...o, axios: instance }, "signAxios");
    const retryOnExpired = optionalFlag(o.retryOnExpired, "retryOnExpired", true, "signAxios");

    // the retry of an expired answer, or null when the answer is not one to retry
    function retry(response) {
      if (!retryOnExpired || response === null || typeof response !== "object" || response.status !== 401) return null;
      const config = response.config;
      const mark = config && config[AXIOS_MARK];
      if (!mark || mark.retried || !mark.resendable) return null;
      const text = axiosText(response.data);
      const skew = text === undefined ? undefined : clockSkewFromExpired(text);
      if (skew === undefined) return null;
      // the gateway said how far our clock is off: learn it, sign again, send once more
      signing.clockOffset += skew * 1000;
      for (const name of mark.added) axiosDelete(config, name);
      config[AXIOS_MARK] = { retried: true };
      config.params = null; // already in the signed URL (and not the instance's defaults again)
      return instance.request(config);
    }

    instance.interceptors.request.use(signing.request);
    instance.interceptors.response.use(
      (response) => retry(response) || response,
      (error) => retry(error && error.response) || Promise.reject(error),
    );
    return instance;
  }

  /** The config key where the signing interceptor notes what `signAxios`'s retry needs. */
  const AXIOS_MARK = "apigSigning";

  /** The request interceptor of `axiosInterceptor`/`signAxios`, and its clock offset (ms). */
  function axiosSigning(source, o, what) {
    if (!isSigner(source) && !isCredentialsSource(source)) {
      throw invalidConfig(`${what}(source): source must be an apig Signer or a credentials source (a function, or a provider)`);
    }
    if (o === null || typeof o !== "object") throw invalidConfig(`${what}(source, options): options must be an object`);
    const currentSigner = credentialsSigner(source, o);
    const state = { clockOffset: present(o.clockOffset) ? o.clockOffset : 0, request: undefined };
    if (typeof state.clockOffset !== "number" || !Number.isFinite(state.clockOffset)) {
      throw invalidConfig(`${what}: clockOffset must be a finite number of milliseconds`);
    }

    function sign(config, signer) {
      const url = axiosUrl(config, o.axios);
      const method = String(config.method || "get").toUpperCase();
      const signing = { method, url, date: Date.now() + state.clockOffset };
      const previous = config[AXIOS_MARK];
      let resendable = !axiosHas(config.headers, "x-sdk-date");
      const data = config.data;
      if (data !== undefined && data !== null) {
        if (isStreamBody(data)) {
          signing.unsignedPayload = true;
          resendable = false;
        } else {
          const [bytes, contentType] = axiosBytes(data);
          if (contentType !== undefined && !axiosHas(config.headers, "content-type")) axiosSet(config, "Content-Type", contentType);
          config.data = bytes;
          signing.body = bytes;
        }
      }
      signing.headers = signableHeaders(axiosPairs(config.headers));
      const signed = signer.sign(signing);
      const added = [];
      for (const name of Object.keys(signed.headers)) {
        // axios derives Host from the URL: the very value the core signed
        if (name !== "Host" && !axiosHas(config.headers, name.toLowerCase())) added.push(name);
        if (name !== "Host") axiosSet(config, name, signed.headers[name]);
      }
      config[AXIOS_MARK] = { added, resendable, retried: Boolean(previous && previous.retried) };
      config.url = url;
      config.baseURL = undefined;
      config.params = undefined;
      return config;
    }

    state.request = isSigner(source)
      ? function apigAxiosInterceptor(config) {
          return sign(config, source);
        }
      : async function apigAxiosInterceptor(config) {
          return sign(config, await currentSigner());
        };
    return state;
  }

  /** The text of an axios response's `data` (parsed JSON, a string or bytes); undefined for a stream. */
  function axiosText(data) {
    if (typeof data === "string") return data;
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return new TextDecoder().decode(bytes);
    }
    if (data !== null && typeof data === "object" && !isStreamBody(data)) {
      try {
        return JSON.stringify(data);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  function axiosDelete(config, name) {
    const headers = config.headers;
    if (headers === undefined || headers === null) return;
    if (typeof headers.delete === "function") headers.delete(name);
    else for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
  }

  /** The URL axios will request: its own getUri() (baseURL + url + serialised params). */
  function axiosUrl(config, axios) {
    if (axios === undefined) {
      try {
        axios = engine.require("axios");
      } catch (cause) {
        throw apigError("invalid_config", "axiosInterceptor: axios cannot be loaded; pass it as { axios }", cause);
      }
    }
    return axios.getUri({ ...config, adapter: undefined });
  }

  /** axios' own serialisation of `data`, as bytes (a Buffer in Node, so axios sends them unchanged). */
  function axiosBytes(data) {
    const text = (s) => (typeof Buffer === "function" ? Buffer.from(s, "utf8") : new TextEncoder().encode(s));
    const view = (b) => (typeof Buffer === "function" ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : b);
    if (typeof data === "string") return [text(data), undefined];
    if (typeof Buffer === "function" && Buffer.isBuffer(data)) return [data, undefined];
    if (ArrayBuffer.isView(data)) return [view(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), undefined];
    if (data instanceof ArrayBuffer) return [view(new Uint8Array(data)), undefined];
    if (typeof URLSearchParams !== "undefined" && data instanceof URLSearchParams) {
      return [text(data.toString()), "application/x-www-form-urlencoded;charset=utf-8"];
    }
    if (typeof FormData !== "undefined" && data instanceof FormData) {
      throw invalid("axiosInterceptor cannot sign FormData: serialise it first, or send it with signedFetch");
    }
    if (typeof data === "object") return [text(JSON.stringify(data)), "application/json"];
    throw invalid(`axiosInterceptor cannot sign data of type ${typeof data}`);
  }

  function axiosPairs(headers) {
    if (headers === undefined || headers === null) return [];
    const plain = typeof headers.toJSON === "function" ? headers.toJSON() : headers;
    const pairs = [];
    for (const [name, value] of Object.entries(plain)) {
      if (value === undefined || value === null || value === false) continue;
      if (Array.isArray(value)) for (const v of value) pairs.push([name, String(v)]);
      else pairs.push([name, String(value)]);
    }
    return pairs;
  }

  function axiosHas(headers, name) {
    if (headers === undefined || headers === null) return false;
    if (typeof headers.has === "function") return headers.has(name);
    return Object.keys(headers).some((key) => key.toLowerCase() === name && headers[key] != null && headers[key] !== false);
  }

  function axiosSet(config, name, value) {
    if (config.headers === undefined || config.headers === null) config.headers = {};
    if (typeof config.headers.set === "function") config.headers.set(name, value);
    else config.headers[name] = value;
  }

  // ---- verifyMiddleware (Node servers) -----------------------------------------------------

  /**
   * Connect/Express `(req, res, next)` verification: reads the raw body (up to a limit), lets the
   * core verify, and answers like APIG on failure.
   */
  function verifyMiddleware(o) {
    if (o === null || typeof o !== "object") throw invalidConfig("verifyMiddleware(options) needs { keys } or { verifier }");
    if (engine.defaultBodyLimit === undefined) {
      throw invalidConfig(
        "this build of apig-wasm (for browsers) has no verifyMiddleware: verify on a server, " +
          "with apig-wasm in Node or the native apig-sdk package",
      );
    }
    // the core's default (apig::DEFAULT_BODY_LIMIT, 12 MiB: APIG's own limit), as in every middleware
    const { verifier: given, limit = engine.defaultBodyLimit, onError, ...policy } = o;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw invalidConfig(`verifyMiddleware: limit must be a whole number of bytes, not ${String(limit)}`);
    }
    const verifier = given === undefined ? new Verifier(policy) : given;

    return function apigVerify(req, res, next) {
      const fail = (error) => {
        if (!(error instanceof ApigError) || error.status >= 500) return next(error);
        if (onError !== undefined) return onError(error, req, res, next);
        return answer(res, error);
      };
      rawBody(req, limit).then((body) => {
        let identity;
        try {
          identity = verifier.verify({ method: req.method, url: req.originalUrl || req.url, headers: receivedHeaders(req), body });
        } catch (error) {
          return fail(error);
        }
        req.apig = identity;
        req.rawBody = body;
        if (req.body === undefined) req.body = body;
        return next();
      }, fail);
    };
  }

  /** The received headers as pairs, exactly as they came (`rawHeaders` keeps repeats). */
  function receivedHeaders(req) {
    const raw = req.rawHeaders;
    if (!Array.isArray(raw)) return req.headers;
    const pairs = new Array(raw.length >> 1);
    for (let i = 0; i + 1 < raw.length; i += 2) pairs[i >> 1] = [raw[i], raw[i + 1]];
    return pairs;
  }

  /** The body as a Buffer: one a previous raw parser kept, or read from the stream. */
  function rawBody(req, limit) {
    if (Buffer.isBuffer(req.rawBody)) return Promise.resolve(req.rawBody);
    if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body);
    if (typeof req.body === "string") return Promise.resolve(Buffer.from(req.body, "utf8"));
    if (req.readableEnded || req._body === true || typeof req.on !== "function") {
      return Promise.reject(
        invalidConfig("the body was consumed before verifyMiddleware; mount it before body parsers (it sets req.rawBody)"),
      );
    }
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      let settled = false;
      const done = (error, value) => {
        if (settled) return;
        settled = true;
        req.removeListener("data", onData);
        req.removeListener("end", onEnd);
        req.removeListener("error", onFailure);
        if (error) reject(error);
        else resolve(value);
      };
      const onData = (chunk) => {
        size += chunk.length;
        if (size > limit) {
          req.pause();
          done(tooLarge(limit));
          return;
        }
        chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
      };
      const onEnd = () => done(null, Buffer.concat(chunks, size));
      const onFailure = (cause) => done(apigError("body_read", `reading the body failed: ${cause.message}`, cause));
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("error", onFailure);
    });
  }

  /**
   * The middleware's own limit, not a core error: 413 with APIG's `APIG.0201` (docs/error-codes.md)
   * and the message alone as `error_msg`.
   */
  function tooLarge(limit) {
    const answer = engine.bodyTooLarge(limit);
    const error = new ApigError(answer.apigMessage, "body_read", answer.status);
    error.apigCode = answer.apigCode;
    error.apigMessage = answer.apigMessage;
    return error;
  }

  /**
   * APIG's JSON error answer to `error`: `{ status, headers, body }` with the status, code and
   * `error_msg` the error carries (the core's mapping), for every server integration.
   */
  function errorAnswer(error) {
    const uuid = engine.randomUUID ?? (() => globalThis.crypto.randomUUID());
    const requestId = uuid().replace(/-/g, "");
    const body = JSON.stringify({ error_code: error.apigCode, error_msg: error.apigMessage, request_id: requestId });
    const headers = { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), "X-Request-Id": requestId };
    if (error.status === 413) headers.Connection = "close";
    return { status: error.status, headers, body };
  }

  function answer(res, error) {
    const { status, headers, body } = errorAnswer(error);
    res.statusCode = status;
    for (const name of Object.keys(headers)) res.setHeader(name, headers[name]);
    res.end(body);
  }

  /**
   * What the server integrations (verifyMiddleware; apig-sdk's Fastify plugin) share: reading the
   * body up to a limit, the received headers, APIG's error answer, the default limit.
   */
  const server = {
    readBody: rawBody,
    receivedHeaders,
    errorAnswer,
    get defaultBodyLimit() {
      return engine.defaultBodyLimit;
    },
  };

  return {
    ApigError,
    CREDENTIALS_ERROR_CODES,
    ERROR_CODES,
    HOP_BY_HOP_HEADERS,
    PayloadHasher,
    Signer,
    Verifier,
    axiosInterceptor,
    clockSkewFromExpired,
    credentialsError,
    credentialsSigner,
    errorCodes,
    hashBody,
    isApigError,
    isCredentialsSource,
    signAxios,
    signedFetch,
    verifyMiddleware,
    __server: server,
  };
}

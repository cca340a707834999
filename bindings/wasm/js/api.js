// The JavaScript half of apig-wasm: the classes' JavaScript faces, which convert JS values
// (option objects, headers, typed arrays, dates) into what the wasm exports take and hand each
// request over in one crossing, plus what needs the event loop or the platform (fetch, Blob,
// ReadableStream). No signing logic lives here: hashing, canonicalisation, header handling,
// dates and errors are the Rust core's.
//
// `cargo xtask build wasm` copies this file into the package as lib/api.js (ES module) and
// lib/api.cjs (CommonJS, for Node's `require`); each target's entry calls makeApi with its
// wasm-bindgen module, and Node's with a `codec` using Buffer (faster there than TextEncoder and
// TextDecoder): `{ view(arrayBuffer), write(view, text, at, room), read(view, start, end) }`.

export function makeApi(raw, codec) {
  const { clockSkewFromExpired } = raw;

  // The core's error codes, in its order, and the HTTP status of each: `code\0status\0…`.
  const STATUS = {};
  const codes = [];
  const table = raw.errorTable().split("\0");
  for (let i = 0; i + 1 < table.length; i += 2) {
    codes.push(table[i]);
    STATUS[table[i]] = Number(table[i + 1]);
  }
  const ERROR_CODES = Object.freeze(codes);
  const errorCodes = () => [...codes];

  // What every failure throws: an Error with the core's code and the HTTP status it maps to.
  class ApigError extends Error {
    constructor(message, code, status) {
      super(message);
      this.name = "ApigError";
      this.code = code;
      this.status = status === undefined ? 500 : status;
    }
  }

  // Failures found while converting JS values (and reading a Blob or stream).
  function apigError(code, message, cause) {
    const error = new ApigError(message, code, STATUS[code]);
    if (cause !== undefined) error.cause = cause;
    return error;
  }
  const invalid = (message) => apigError("invalid_request", message);

  // The wasm side throws a core error as `code\0canonicalRequest\0stringToSign\0message` (the
  // two middle fields only for a signature mismatch); anything else thrown passes through.
  function fromWasm(thrown) {
    if (typeof thrown !== "string") return thrown;
    const a = thrown.indexOf("\0");
    const b = thrown.indexOf("\0", a + 1);
    const c = thrown.indexOf("\0", b + 1);
    const code = thrown.slice(0, a);
    const error = new ApigError(thrown.slice(c + 1), code, STATUS[code]);
    if (b > a + 1) {
      error.canonicalRequest = thrown.slice(a + 1, b);
      error.stringToSign = thrown.slice(b + 1, c);
    }
    return error;
  }

  function isApigError(value) {
    return value instanceof ApigError;
  }

  // A string for the packed form: it must not contain the separator.
  function text(value, name, fail = invalid) {
    if (typeof value !== "string") {
      throw fail(value === undefined || value === null ? `\`${name}\` is required` : `\`${name}\` must be a string`);
    }
    if (value.includes("\0")) throw fail(`\`${name}\` contains NUL`);
    return value;
  }

  // `[name, value]` pairs (an array of pairs, any iterable of pairs such as Headers or Map, or a
  // plain object, where with `arrays` an array value repeats the name), each name and value handed to `add`;
  // returns how many. Names and values go to the core verbatim, which validates, lower-cases,
  // trims, sorts, and refuses a name repeated with different values (`duplicate_header`).
  function pairsInto(value, what, add, fail, arrays = false) {
    if (value === undefined || value === null) return 0;
    if (typeof value !== "object") {
      throw fail(`\`${what}\` must be an array of [name, value] pairs or an object`);
    }
    if (Array.isArray(value)) {
      // the common case, without an iterator
      for (let i = 0; i < value.length; i++) pairInto(value[i], what, add, fail);
      return value.length;
    }
    const plain = typeof value[Symbol.iterator] !== "function";
    const entries = plain ? Object.entries(value) : value;
    let count = 0;
    for (const entry of entries) {
      if (arrays && plain && Array.isArray(entry[1])) {
        for (const item of entry[1]) pairInto([entry[0], item], what, add, fail);
        count += entry[1].length;
        continue;
      }
      pairInto(entry, what, add, fail);
      count++;
    }
    return count;
  }
  function pairInto(entry, what, add, fail) {
    const pair = Array.isArray(entry) && entry.length === 2;
    const name = pair ? entry[0] : undefined;
    const val = pair ? entry[1] : undefined;
    if (typeof name !== "string" || typeof val !== "string") {
      throw fail(`each entry of \`${what}\` must be a [name, value] pair of strings`);
    }
    if (name.includes("\0") || val.includes("\0")) throw fail(`NUL in ${what} entry ${JSON.stringify(name)}`);
    add(name);
    add(val);
  }

  // A body's bytes as a Uint8Array (a view, no copy), or undefined when it is not bytes.
  function bytesOf(value) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return undefined;
  }

  // The scratch memory inside the module (bindings/wasm/src/convert.rs) that requests and
  // answers cross through: views of the module's memory (remade when it grows, which detaches
  // them) and the control block, at a fixed address, saying where its areas are.
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const view = codec?.view ?? ((buffer) => new Uint8Array(buffer));
  const write = codec?.write ?? ((bytes, text, at, room) => encoder.encodeInto(text, bytes.subarray(at, at + room)).written);
  const read = codec?.read ?? ((bytes, start, end) => decoder.decode(bytes.subarray(start, end)));
  const memory = raw.wasmMemory();
  let bytes = view(memory.buffer);
  let words = new Uint32Array(memory.buffer);
  function fresh() {
    if (bytes.byteLength === 0) {
      bytes = view(memory.buffer);
      words = new Uint32Array(memory.buffer);
    }
  }
  // The control block's slots (u32 indices): input area address and size, lengths area address
  // and size (entries), answer text address and byte length, answer ranges address.
  const control = raw.scratch(0, 0) >>> 2;
  const INPUT = control;
  const INPUT_SIZE = control + 1;
  const LENGTHS = control + 2;
  const LENGTHS_SIZE = control + 3;
  const ANSWER = control + 4;
  const ANSWER_LENGTH = control + 5;
  const RANGES = control + 6;
  // An input area grown beyond this for a large body is given back after the call.
  const KEEP_INPUT = 1 << 20;

  // The request as the wasm side takes it (bindings/wasm/src/convert.rs): its strings joined
  // (method, url, the header pairs, the time if a string, the body text or payload hash last) in
  // the input area with their lengths (UTF-16 units) in the lengths area, the body bytes after
  // them; the number of header pairs, flags, the two byte counts and the time in milliseconds as
  // arguments.
  const BODY_TEXT = 1;
  const BODY_BYTES = 2;
  const BODY_HASH = 3;
  const BODY_UNSIGNED = 4;
  const TIME_TEXT = 8;
  const TIME_MILLIS = 16;
  const NO_BYTES = new Uint8Array(0);
  const present = (value) => value !== undefined && value !== null;
  let packedCount = 0;
  let packedFlags = 0;
  let packedText = 0;
  let packedBytes = 0;
  let packedMillis = 0;
  // The strings being joined, and their lengths (kept from call to call: no array per call).
  let joined = "";
  let fieldCount = 0;
  const fieldLengths = [];
  function addField(value) {
    joined += value;
    fieldLengths[fieldCount++] = value.length;
  }

  // Writes the request into the scratch; the arguments of the call are left in packedCount,
  // packedFlags, packedText, packedBytes and packedMillis (no array per call).
  function pack(request, timeKey) {
    if (request === null || typeof request !== "object") throw invalid("the request must be an object");
    const { body, payloadHash, unsignedPayload } = request;
    const time = request[timeKey];
    joined = "";
    fieldCount = 0;
    addField(text(request.method, "method"));
    addField(text(request.url, "url"));
    const count = pairsInto(request.headers, "headers", addField, invalid, true);
    let flags = 0;
    let body8 = NO_BYTES;
    let millis = 0;
    if (present(time)) {
      if (typeof time === "string") {
        addField(text(time, timeKey));
        flags = TIME_TEXT;
      } else if (typeof time === "number" || time instanceof Date) {
        millis = Number(time);
        flags = TIME_MILLIS;
      } else {
        throw invalid(`\`${timeKey}\` must be a Date, milliseconds since 1970, or an X-Sdk-Date string`);
      }
    }
    if (present(unsignedPayload) && typeof unsignedPayload !== "boolean") {
      throw invalid("`unsignedPayload` must be a boolean");
    }
    if (present(payloadHash) && typeof payloadHash !== "string") throw invalid("`payloadHash` must be a string");
    if (unsignedPayload === true) {
      if (present(payloadHash)) throw invalid("give `payloadHash` or `unsignedPayload`, not both");
      flags |= BODY_UNSIGNED;
    } else if (present(payloadHash)) {
      if (present(body)) throw invalid("give `body` or `payloadHash`, not both");
      addField(payloadHash);
      flags |= BODY_HASH;
    } else if (typeof body === "string") {
      addField(body);
      flags |= BODY_TEXT;
    } else if (present(body)) {
      body8 = bytesOf(body);
      if (body8 === undefined) {
        throw invalid(
          "`body` must be a string, Uint8Array, ArrayBuffer or ArrayBufferView; " +
            "hash a Blob or ReadableStream with hashBody() or use signedFetch()",
        );
      }
      flags |= BODY_BYTES;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit
    const need = joined.length * 3 + body8.length;
    fresh();
    if (need > words[INPUT_SIZE] || fieldCount > words[LENGTHS_SIZE]) {
      raw.scratch(Math.max(need, words[INPUT_SIZE]), Math.max(fieldCount, words[LENGTHS_SIZE]));
      fresh();
    }
    const lengths = words[LENGTHS] >>> 2;
    for (let i = 0; i < fieldCount; i++) words[lengths + i] = fieldLengths[i];
    const input = words[INPUT];
    const written = write(bytes, joined, input, words[INPUT_SIZE]);
    joined = "";
    if (body8.length > 0) bytes.set(body8, input + written);
    packedCount = count;
    packedFlags = flags;
    packedText = written;
    packedBytes = body8.length;
    packedMillis = millis;
  }

  // After a call: a grown input area is given back; the views are made fresh.
  function unpack() {
    fresh();
    if (words[INPUT_SIZE] > KEEP_INPUT) {
      raw.scratch(0, 0);
      fresh();
    }
  }

  // The answer in the scratch: its text, decoded once, and each field's byte range in it.
  let answerText = "";
  let answerAscii = true;
  let answerStart = 0;
  let answerRanges = 0;
  function answer() {
    answerStart = words[ANSWER];
    const length = words[ANSWER_LENGTH];
    answerText = read(bytes, answerStart, answerStart + length);
    // as many UTF-16 units as bytes: all ASCII, so byte ranges are string ranges
    answerAscii = answerText.length === length;
    answerRanges = words[RANGES] >>> 2;
  }
  // A header name field: an index in the module's table of names, each made a string once (and
  // then a fast property key).
  const headerNames = [];
  function headerName(i) {
    const index = words[answerRanges + 2 * i];
    return headerNames[index] ?? (headerNames[index] = raw.headerName(index));
  }
  function field(i) {
    const start = words[answerRanges + 2 * i];
    const end = start + words[answerRanges + 2 * i + 1];
    return answerAscii ? answerText.slice(start, end) : read(bytes, answerStart + start, answerStart + end);
  }

  // An options object and its typed fields: failures are invalid_config.
  const invalidConfig = (message) => apigError("invalid_config", message);
  function options(value, what) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw invalidConfig(`${what} must be an object`);
    }
    return value;
  }
  function optional(value, name, type) {
    if (!present(value)) return undefined;
    if (typeof value !== type) throw invalidConfig(`\`${name}\` must be a ${type}`);
    return value;
  }

  // The wasm classes, with their JavaScript faces.
  class Signer extends raw.Signer {
    constructor(settings) {
      const o = options(settings, "the signer options");
      const key = text(o.key, "key", invalidConfig);
      const secret = text(o.secret, "secret", invalidConfig);
      const algorithm = optional(o.algorithm, "algorithm", "string");
      const region = optional(o.region, "region", "string");
      const service = optional(o.service, "service", "string");
      try {
        super(key, secret, algorithm, region, service);
      } catch (e) {
        throw fromWasm(e);
      }
    }

    sign(request) {
      let fields;
      try {
        pack(request, "date");
        fields = this.signScratch(packedCount, packedFlags, packedText, packedBytes, packedMillis);
      } catch (e) {
        throw fromWasm(e);
      } finally {
        unpack();
      }
      answer();
      const added = {};
      for (let i = 7; i + 1 < fields; i += 2) added[headerName(i)] = field(i + 1);
      const result = {
        headers: added,
        authorization: field(0),
        signature: field(1),
        canonicalRequest: field(2),
        stringToSign: field(3),
        signedHeaders: field(4),
        date: field(5),
      };
      const scope = field(6);
      if (scope !== "") result.credentialScope = scope;
      return result;
    }

    createHasher() {
      return new PayloadHasher(this.algorithm);
    }
  }

  // The browser builds (web, bundler) leave the Verifier out to stay small: verifying needs the
  // secrets, which belong on a server.
  const RawVerifier = raw.Verifier ?? class {};

  class Verifier extends RawVerifier {
    constructor(settings) {
      if (raw.Verifier === undefined) {
        throw invalidConfig(
          "this build of apig-wasm (for browsers) has no Verifier: verify on a server, " +
            "with apig-wasm in Node or the native apig packages",
        );
      }
      const o = options(settings, "the verifier options");
      if (!present(o.keys)) throw invalidConfig("`keys` is required");
      const keys = [];
      pairsInto(o.keys, "keys", (value) => keys.push(value), invalidConfig);
      const maxSkew = optional(o.maxSkewSeconds, "maxSkewSeconds", "number");
      const requireHost = optional(o.requireHost, "requireHost", "boolean");
      const allowUnsigned = optional(o.allowUnsignedPayload, "allowUnsignedPayload", "boolean");
      let algorithms;
      if (present(o.algorithms)) {
        if (!Array.isArray(o.algorithms)) throw invalidConfig("`algorithms` must be an array of algorithm names");
        algorithms = o.algorithms.map((name) => text(name, "algorithms", () => invalidConfig("`algorithms` must hold strings")));
        algorithms = algorithms.join("\0");
      }
      const region = optional(o.region, "region", "string");
      const service = optional(o.service, "service", "string");
      try {
        super(keys.join("\0"), maxSkew, requireHost, allowUnsigned, algorithms, region, service);
      } catch (e) {
        throw fromWasm(e);
      }
    }

    verify(request) {
      let p;
      try {
        pack(request, "now");
        p = this.verifyScratch(packedCount, packedFlags, packedText, packedBytes, packedMillis).split("\0");
      } catch (e) {
        throw fromWasm(e);
      } finally {
        unpack();
      }
      return {
        accessKey: p[0],
        algorithm: p[1],
        signedHeaders: p[2] === "" ? [] : p[2].split(";"),
        signedAt: new Date(Number(p[3])),
        unsignedPayload: p[4] === "1",
      };
    }
  }

  class PayloadHasher extends raw.PayloadHasher {
    constructor(algorithm) {
      if (present(algorithm) && typeof algorithm !== "string") {
        throw apigError("unsupported_algorithm", "the algorithm must be a string");
      }
      try {
        super(algorithm ?? undefined);
      } catch (e) {
        throw fromWasm(e);
      }
    }

    update(chunk) {
      try {
        if (typeof chunk === "string") {
          this.updateText(chunk);
          return this;
        }
        const bytes = bytesOf(chunk);
        if (bytes === undefined) {
          throw invalid("a chunk must be a string, Uint8Array, ArrayBuffer or ArrayBufferView");
        }
        this.updateBytes(bytes);
        return this;
      } catch (e) {
        throw fromWasm(e);
      }
    }

    digest() {
      try {
        return super.digest();
      } catch (e) {
        throw fromWasm(e);
      }
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
    hasher.update(body); // strings and bytes; anything else is an invalid_request
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

// The wasm-bindgen engine of the shared JavaScript API (lib/api.js, copied from
// bindings/js/api.js): the only JavaScript of apig-wasm that knows the module's exports. Requests
// and answers cross through scratch memory inside the module in the layout documented in
// src/wire.rs, whose flags, control-block slots and field lists this file reads from the module at
// load (`wireLayout()`) rather than restating them.
//
// `cargo xtask build wasm` copies this file into the package as lib/engine.js (ES module) and
// lib/engine.cjs (CommonJS): it exports exactly one function, wasmEngine, and has no imports. Each
// target's entry calls `makeApi(wasmEngine(raw, codec))` with its wasm-bindgen module; Node's with
// a `codec` using Buffer (faster there than TextEncoder and TextDecoder):
// `{ view(arrayBuffer), write(view, text, at, room), read(view, start, end) }`.

export function wasmEngine(raw, codec) {
  return function createEngine({ ApigError, walkHeaders, headerPieces }) {
    // the layout (`NAME=value …`), the core's error codes, its hop-by-hop headers, the names of
    // the headers it adds, and its APIG answer to each error kind (src/wire.rs, `wire_tables`)
    const [layoutText, codesText, hopByHopText, namesText, ...answers] = raw.wireTables().split("\0");
    const layout = {};
    for (const entry of layoutText.split(" ")) {
      const [name, value] = entry.split("=");
      layout[name] = Number(value);
    }
    const { BODY_TEXT, BODY_BYTES, BODY_HASH, BODY_UNSIGNED, TIME_TEXT, TIME_MILLIS, NAME } = layout;
    // the fields of an answer, an identity and an error, in the order read below
    const RESULT_FIELDS = 7;
    if (layout.RESULT_FIELDS !== RESULT_FIELDS || layout.IDENTITY_FIELDS !== 6 || layout.ERROR_FIELDS !== 5) {
      throw new Error(`apig-wasm: the module's wire layout (${layoutText}) is not this file's`);
    }
    const ADDED_HEADER_NAMES = namesText.split(" ");
    const ERROR_CODES = codesText.split(" ");

    // A core error thrown by the module: code, then (for a verifier's signature mismatch) the
    // core's APIG message, the canonical request and the string to sign, then the message, joined
    // by NUL (src/errors.rs, ERROR_FIELDS); anything else thrown passes through.
    function fromWasm(thrown) {
      if (typeof thrown !== "string") return thrown;
      const f = thrown.split("\0");
      const error = new ApigError(f.slice(4).join("\0"), f[0]);
      if (f[2] !== "") {
        error.apigMessage = f[1];
        error.canonicalRequest = f[2];
        error.stringToSign = f[3];
      }
      return error;
    }
    function call(f) {
      try {
        return f();
      } catch (e) {
        throw fromWasm(e);
      }
    }

    // The scratch memory: views of the module's memory (remade when it grows, which detaches
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
    const control = raw.scratch(0, 0) >>> 2;
    const INPUT = control + layout.INPUT;
    const INPUT_SIZE = control + layout.INPUT_SIZE;
    const LENGTHS = control + layout.LENGTHS;
    const LENGTHS_SIZE = control + layout.LENGTHS_SIZE;
    const ANSWER = control + layout.ANSWER;
    const ANSWER_LENGTH = control + layout.ANSWER_LENGTH;
    const RANGES = control + layout.RANGES;
    // An input area grown beyond this for a large body is given back after the call.
    const KEEP_INPUT = 1 << 20;

    // The strings being joined, and their lengths (kept from call to call: no array per call).
    let joined = "";
    let fieldCount = 0;
    const fieldLengths = [];
    function addField(value) {
      joined += value;
      fieldLengths[fieldCount++] = value.length;
    }
    let packedCount = 0;
    let packedFlags = 0;
    let packedText = 0;
    let packedBytes = 0;
    let packedMillis = 0;

    // Writes the request into the scratch; the arguments of the call are left in packedCount,
    // packedFlags, packedText, packedBytes and packedMillis (no array per call).
    function pack(method, url, headers, body, payloadHash, unsignedPayload, time) {
      joined = "";
      fieldCount = 0;
      addField(method);
      addField(url);
      // a NUL would cross intact (the lengths cut the fields); refused by name as the native engine does
      const pieces = walkHeaders(headers, "headers", true);
      for (let i = 0; i < pieces; i++) addField(headerPieces[i]);
      const count = pieces >> 1;
      let flags = 0;
      let body8;
      let millis = 0;
      if (typeof time === "string") {
        addField(time);
        flags = TIME_TEXT;
      } else if (time !== undefined) {
        millis = Number(time);
        flags = TIME_MILLIS;
      }
      if (unsignedPayload) {
        flags |= BODY_UNSIGNED;
      } else if (payloadHash !== undefined) {
        addField(payloadHash);
        flags |= BODY_HASH;
      } else if (typeof body === "string") {
        addField(body);
        flags |= BODY_TEXT;
      } else if (body !== undefined) {
        body8 = body instanceof Uint8Array ? body : new Uint8Array(body);
        flags |= BODY_BYTES;
      }
      const bodyLength = body8 === undefined ? 0 : body8.length;
      // UTF-8 takes at most 3 bytes per UTF-16 unit
      const need = joined.length * 3 + bodyLength;
      fresh();
      if (need > words[INPUT_SIZE] || fieldCount > words[LENGTHS_SIZE]) {
        call(() => raw.scratch(Math.max(need, words[INPUT_SIZE]), Math.max(fieldCount, words[LENGTHS_SIZE])));
        fresh();
      }
      const lengths = words[LENGTHS] >>> 2;
      for (let i = 0; i < fieldCount; i++) words[lengths + i] = fieldLengths[i];
      const input = words[INPUT];
      const written = write(bytes, joined, input, words[INPUT_SIZE]);
      joined = "";
      if (bodyLength > 0) bytes.set(body8, input + written);
      packedCount = count;
      packedFlags = flags;
      packedText = written;
      packedBytes = bodyLength;
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
    // A header name field: one of the names the core adds, as its index (the length NAME marks
    // it), or text.
    function headerName(i) {
      return words[answerRanges + 2 * i + 1] === NAME ? ADDED_HEADER_NAMES[words[answerRanges + 2 * i]] : field(i);
    }
    function field(i) {
      const start = words[answerRanges + 2 * i];
      const end = start + words[answerRanges + 2 * i + 1];
      return answerAscii ? answerText.slice(start, end) : read(bytes, answerStart + start, answerStart + end);
    }

    function signer(o) {
      const native = call(() => new raw.Signer(o.key, o.secret, o.algorithm ?? undefined, o.region ?? undefined, o.service ?? undefined, o.excludedHeaders ?? undefined, o.securityToken ?? undefined, o.projectId ?? undefined, o.domainId ?? undefined, o.profile ?? undefined));
      return {
        key: native.key,
        algorithm: native.algorithm,
        sign(method, url, headers, body, payloadHash, unsignedPayload, date) {
          let fields;
          try {
            pack(method, url, headers, body, payloadHash, unsignedPayload, date);
            // a plain number (no Result: wasm-bindgen would return it as a new array); 0 when
            // signing failed, the error then taken from the module
            fields = native.signScratch(packedCount, packedFlags, packedText, packedBytes, packedMillis);
          } catch (e) {
            throw fromWasm(e);
          } finally {
            unpack();
          }
          if (fields === 0) throw fromWasm(raw.takeError());
          answer();
          const added = {};
          for (let i = RESULT_FIELDS; i + 1 < fields; i += 2) added[headerName(i)] = field(i + 1);
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
        },
        free: () => native.free(),
      };
    }

    function hasher(algorithm) {
      const native = call(() => new raw.PayloadHasher(algorithm));
      return {
        update(chunk) {
          call(() => (typeof chunk === "string" ? native.updateText(chunk) : native.updateBytes(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk))));
        },
        digest: () => call(() => native.digest()),
        free: () => native.free(),
      };
    }

    // The browser builds (web, bundler) leave the Verifier out to stay small: verifying needs the
    // secrets, which belong on a server.
    function verifier(o) {
      const keys = typeof o.keys === "function" ? o.keys : o.keys.map(([k, s]) => `${k}\0${s}`).join("\0");
      const algorithms = o.algorithms == null ? undefined : o.algorithms.join("\0");
      const native = call(
        () =>
          new raw.Verifier(
            keys,
            o.maxSkewSeconds ?? undefined,
            o.requireHost ?? undefined,
            o.allowUnsignedPayload ?? undefined,
            algorithms,
            o.region ?? undefined,
            o.service ?? undefined,
          ),
      );
      return {
        verify(method, url, headers, body, payloadHash, unsignedPayload, now) {
          let p;
          try {
            pack(method, url, headers, body, payloadHash, unsignedPayload, now);
            p = native.verifyScratch(packedCount, packedFlags, packedText, packedBytes, packedMillis).split("\0");
          } catch (e) {
            throw fromWasm(e);
          } finally {
            unpack();
          }
          const identity = {
            accessKey: p[0],
            algorithm: p[1],
            signedHeaders: p[2] === "" ? [] : p[2].split(";"),
            signedAt: new Date(Number(p[3])),
            unsignedPayload: p[4] === "1",
          };
          if (p[5] !== "") identity.securityToken = p[5];
          return identity;
        },
        free: () => native.free(),
      };
    }

    return {
      errorCodes: () => ERROR_CODES.slice(),
      // the core's answer to a traceless error: its kind's status and APIG code, and the lead the
      // message follows (src/errors.rs, `push_answers`, whose test checks lead + message)
      apigAnswer(code, message) {
        const index = ERROR_CODES.indexOf(code);
        if (index < 0) return null;
        return { status: Number(answers[3 * index]), apigCode: answers[3 * index + 1], apigMessage: answers[3 * index + 2] + message };
      },
      hopByHopHeaders: () => hopByHopText.split(" "),
      clockSkewFromExpired: (message) => raw.clockSkewFromExpired(message),
      signer,
      hasher,
      verifier: raw.Verifier === undefined ? undefined : verifier,
      bodyTooLarge:
        raw.bodyTooLarge === undefined
          ? undefined
          : (limit) => {
              const [status, apigCode, message] = raw.bodyTooLarge(limit).split("\0");
              return { status: Number(status), apigCode, apigMessage: message };
            },
      defaultBodyLimit: raw.defaultBodyLimit === undefined ? undefined : raw.defaultBodyLimit(),
      require: codec?.require,
      randomUUID: codec?.randomUUID,
    };
  };
}

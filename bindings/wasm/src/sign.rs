//! `Signer` and `PayloadHasher`: the core's signer with the page's clock.
//!
//! The classes' JavaScript faces (`new Signer(options)`, `sign(request)`, `update(chunk)`) are the
//! package's (`js/api.js`), which convert JS values and call these exports in one crossing each.

use apig::{Algorithm, ErrorKind};
use wasm_bindgen::prelude::*;

use crate::convert::{Unpacked, with_scratch};
use crate::errors::{js_error, to_js};
use crate::time::JsClock;

#[wasm_bindgen(typescript_custom_section)]
const TS_SIGN: &str = r#"
/** A signing algorithm token. */
export type Algorithm = "SDK-HMAC-SHA256" | "SDK-HMAC-SM3" | "V11-HMAC-SHA256" | "V11-HMAC-SM3";

/** The settings of a `Signer`. */
export interface SignerOptions {
  /** The access key (AK / AppKey). */
  key: string;
  /** The secret key (SK / AppSecret). */
  secret: string;
  /** Default `SDK-HMAC-SHA256`. */
  algorithm?: Algorithm;
  /** V11 only (required there): the region of the credential scope, e.g. `cn-north-4`. */
  region?: string;
  /** V11 only: the service of the credential scope (default `apic`). */
  service?: string;
}

/** A request to sign. */
export interface SignRequest {
  method: string;
  /** The absolute URL the request goes to (its host is signed when no `Host` header is given). */
  url: string;
  headers?: HeaderInput;
  /** The exact body (default: empty). Blobs and streams: `hashBody()` them and pass `payloadHash`. */
  body?: BodyInput | null;
  /** The body's hash from a `PayloadHasher`, instead of `body`. */
  payloadHash?: string;
  /** Sign `UNSIGNED-PAYLOAD` instead of the body (adds `X-Sdk-Content-Sha256`). */
  unsignedPayload?: boolean;
  /** The signing time when the headers carry no `X-Sdk-Date` (default: now, from `Date.now()`). */
  date?: DateInput;
}

/** Signs requests for one credential with one algorithm. */
export class Signer {
  /**
   * A signer for `{ key, secret, algorithm?, region?, service? }`. Throws an `ApigError`:
   * `invalid_config` for missing or ill-typed settings and whatever the core refuses,
   * `unsupported_algorithm` for an unknown algorithm name.
   */
  constructor(options: SignerOptions);
  /** The access key. */
  readonly key: string;
  /** The algorithm token. */
  readonly algorithm: Algorithm;
  /** Signs `request`: the headers to add and the strings behind them. Throws an `ApigError`
   *  (`invalid_request`, `malformed_date`, `duplicate_header`) for a request that cannot be signed. */
  sign(request: SignRequest): SignResult;
  /** A body hasher for this signer's algorithm: feed it chunks, then pass `digest()` as `payloadHash`. */
  createHasher(): PayloadHasher;
  /** Frees the wasm memory now (otherwise when garbage-collected). */
  free(): void;
  [Symbol.dispose](): void;
}

/** What signing produced. */
export interface SignResult {
  /** The headers to add to the request, in this order: `Host` (only when none was given and the
   *  URL is absolute), `X-Sdk-Date` (when none was given), `X-Sdk-Content-Sha256` (unsigned
   *  payloads), `Authorization`. */
  headers: Record<string, string>;
  authorization: string;
  /** Lower-case hex. */
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
  /** The `SignedHeaders` list, e.g. `content-type;host;x-sdk-date`. */
  signedHeaders: string;
  /** The `X-Sdk-Date` value signed. */
  date: string;
  /** V11 only: `yyyymmdd/region/service`. */
  credentialScope?: string;
}

/** An incremental body hasher (the core's): `update(chunk)` as chunks arrive, then `digest()`. */
export class PayloadHasher {
  /** A hasher for `algorithm`'s hash function (default `SDK-HMAC-SHA256`, i.e. SHA-256). Throws
   *  `unsupported_algorithm` for an unknown algorithm name. */
  constructor(algorithm?: Algorithm | null);
  /** Adds a chunk: text (as UTF-8) or bytes. Returns the hasher, for chaining
   *  (`hasher.update(a).update(b).digest()`). Throws `invalid_request` for a chunk of another type
   *  or after `digest()`. */
  update(chunk: BodyInput): this;
  /** The lower-case hex hash of everything added. The hasher is finished afterwards (a second
   *  call throws `invalid_request`). */
  digest(): string;
  /** Frees the wasm memory now (otherwise when garbage-collected). */
  free(): void;
  [Symbol.dispose](): void;
}
"#;

fn algorithm(name: Option<String>) -> Result<Algorithm, JsValue> {
    match name {
        Some(name) => name.parse::<Algorithm>().map_err(|e| to_js(&e)),
        None => Ok(Algorithm::default()),
    }
}

/// Signs requests for one credential with one algorithm (`Signer` in `js/api.js`).
#[wasm_bindgen(skip_typescript)]
pub struct Signer {
    inner: apig::Signer,
}

#[wasm_bindgen]
impl Signer {
    /// A signer for the settings `js/api.js` read from `{ key, secret, algorithm?, region?,
    /// service? }`.
    ///
    /// # Errors
    /// `invalid_config` for settings the core refuses; `unsupported_algorithm` for an unknown
    /// algorithm name.
    #[wasm_bindgen(constructor)]
    pub fn new(
        key: String,
        secret: String,
        algorithm: Option<String>,
        region: Option<String>,
        service: Option<String>,
    ) -> Result<Signer, JsValue> {
        let mut builder = apig::Signer::builder(key, secret).clock(JsClock).algorithm(self::algorithm(algorithm)?);
        if let Some(region) = region {
            builder = builder.region(region);
        }
        if let Some(service) = service {
            builder = builder.service(service);
        }
        Ok(Self { inner: builder.build().map_err(|e| to_js(&e))? })
    }

    /// The access key.
    #[wasm_bindgen(getter)]
    pub fn key(&self) -> String {
        self.inner.access_key().to_owned()
    }

    /// The algorithm token.
    #[wasm_bindgen(getter)]
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().as_str().to_owned()
    }

    /// Signs the request `js/api.js` wrote into the scratch memory (see [`Unpacked::new`]) and
    /// writes the answer there: the fields `authorization`, `signature`, `canonicalRequest`,
    /// `stringToSign`, `signedHeaders`, `date`, `credentialScope` (empty when none), then the
    /// added headers' names (as indexes, see [`crate::convert::header_name`]) and values.
    /// Returns the number of fields.
    ///
    /// # Errors
    /// `invalid_request` for a bad URL, method, header or body; `malformed_date` for a bad
    /// `X-Sdk-Date` header or date string; `duplicate_header` for a header given twice with
    /// different values.
    #[wasm_bindgen(js_name = signScratch)]
    pub fn sign_scratch(&self, headers: u32, flags: u32, text: u32, bytes: u32, millis: f64) -> Result<u32, JsValue> {
        with_scratch(|scratch| {
            let request = Unpacked::new(&scratch.input, &scratch.lengths, headers, flags, text, bytes, millis)
                .map_err(|e| to_js(&e))?;
            let signable = request.signable();
            let signed = match request.time {
                None => self.inner.sign(&signable),
                Some(time) => self.inner.sign_at(&signable, time),
            }
            .map_err(|e| to_js(&e))?;
            drop(request);
            let trace = &signed.trace;
            let mut answer = scratch.answer();
            let authorization = answer.push(&signed.authorization);
            answer.push(&signed.signature);
            answer.push(&trace.canonical_request);
            answer.push(&trace.string_to_sign);
            answer.push(&signed.signed_headers);
            let date = answer.push(&signed.date);
            answer.push(signed.credential_scope.as_deref().unwrap_or(""));
            // the headers' values borrow the fields above (a comparison of addresses, not text)
            let same = |value: &str, field: &str| std::ptr::eq(value, field);
            for (name, value) in signed.headers() {
                answer.name(name);
                if same(value, &signed.authorization) {
                    answer.again(authorization);
                } else if same(value, &signed.date) {
                    answer.again(date);
                } else {
                    answer.push(value);
                }
            }
            Ok(answer.finish())
        })
    }
}

/// An incremental body hasher (the core's), `PayloadHasher` in `js/api.js`.
#[wasm_bindgen(skip_typescript)]
pub struct PayloadHasher {
    inner: Option<apig::PayloadHasher>,
}

#[wasm_bindgen]
impl PayloadHasher {
    /// A hasher for `algorithm`'s hash function (default `SDK-HMAC-SHA256`, i.e. SHA-256).
    ///
    /// # Errors
    /// `unsupported_algorithm` for an unknown algorithm name.
    #[wasm_bindgen(constructor)]
    pub fn new(algorithm: Option<String>) -> Result<PayloadHasher, JsValue> {
        Ok(Self { inner: Some(apig::PayloadHasher::for_algorithm(self::algorithm(algorithm)?)) })
    }

    /// Adds text, as its UTF-8 bytes.
    ///
    /// # Errors
    /// `invalid_request` after `digest()`.
    #[wasm_bindgen(js_name = updateText)]
    pub fn update_text(&mut self, text: &str) -> Result<(), JsValue> {
        self.update_bytes(text.as_bytes())
    }

    /// Adds bytes.
    ///
    /// # Errors
    /// `invalid_request` after `digest()`.
    #[wasm_bindgen(js_name = updateBytes)]
    pub fn update_bytes(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.inner.as_mut().ok_or_else(finished)?.update(bytes);
        Ok(())
    }

    /// The lower-case hex hash of everything added. The hasher is finished afterwards.
    ///
    /// # Errors
    /// `invalid_request` when called twice.
    pub fn digest(&mut self) -> Result<String, JsValue> {
        Ok(self.inner.take().ok_or_else(finished)?.finalize_hex())
    }
}

fn finished() -> JsValue {
    js_error(ErrorKind::InvalidRequest, "this PayloadHasher is finished: digest() was already called")
}

//! `Verifier`: the core's verifier over a fixed key store, with the JS clock.
//!
//! Its JavaScript face (`new Verifier(options)`, `verify(request)`) is the package's
//! (`js/api.js`), which converts JS values and calls these exports in one crossing each.

use std::collections::HashMap;
use std::time::Duration;

use apig::{Algorithm, ErrorKind, VerifyPolicy};
use wasm_bindgen::prelude::*;

use crate::convert::{self, Packed, Unpacked, with_scratch};
use crate::errors::{js_error, to_js};
use crate::time::JsClock;

#[wasm_bindgen(typescript_custom_section)]
const TS_VERIFY: &str = r#"
/** The settings of a `Verifier`; unset fields keep the core's documented defaults. */
export interface VerifierOptions {
  /** The secrets by access key. */
  keys: Record<string, string> | Map<string, string> | Array<[string, string]>;
  /** Largest accepted distance between `X-Sdk-Date` and the verifier's clock (default 900). */
  maxSkewSeconds?: number;
  /** Require `host` to be signed (default false). */
  requireHost?: boolean;
  /** Accept `UNSIGNED-PAYLOAD` (default true). */
  allowUnsignedPayload?: boolean;
  /** The algorithms accepted (default: all four). */
  algorithms?: Algorithm[];
  /** V11: the region the credential scope must name (default: any). */
  region?: string;
  /** V11: the service the credential scope must name (default: any). */
  service?: string;
}

/** A received request: the request target (`/path?query`) or URL, the headers as received, the body. */
export interface VerifyRequest {
  method: string;
  url: string;
  headers: HeaderInput;
  body?: BodyInput | null;
  /** The body's hash from a `PayloadHasher`, instead of `body`. */
  payloadHash?: string;
  /** The body is not available: only requests declaring `UNSIGNED-PAYLOAD` (or a hash) verify. */
  unsignedPayload?: boolean;
  /** The verifier's time (default: now, from `Date.now()`). */
  now?: DateInput;
}

/** Verifies signed requests against a fixed key store. In the Node module only: in the browser
 *  builds (`web`, `bundler`) the constructor throws an `ApigError` with code `invalid_config`. */
export class Verifier {
  /**
   * A verifier for `{ keys, maxSkewSeconds?, requireHost?, allowUnsignedPayload?, algorithms?,
   * region?, service? }`. Throws an `ApigError`: `invalid_config` for missing or ill-typed
   * settings, `unsupported_algorithm` for an unknown algorithm name.
   */
  constructor(options: VerifierOptions);
  /** Verifies a received request: returns who signed it, or throws an `ApigError` whose `code` says
   *  why not (`signature_mismatch` errors carry the verifier's `canonicalRequest` and `stringToSign`). */
  verify(request: VerifyRequest): Identity;
  /** Frees the wasm memory now (otherwise when garbage-collected). */
  free(): void;
  [Symbol.dispose](): void;
}

/** Who signed a request that passed verification. */
export interface Identity {
  /** The access key that signed it. */
  accessKey: string;
  /** The algorithm used. */
  algorithm: Algorithm;
  /** The signed header names, lower case and sorted. */
  signedHeaders: string[];
  /** The signing time (`X-Sdk-Date`) as a `Date`. */
  signedAt: Date;
  /** Whether the body was left out of the signature (`UNSIGNED-PAYLOAD`): it is then not authenticated. */
  unsignedPayload: boolean;
}
"#;

/// Verifies signed requests against a fixed key store (`Verifier` in `js/api.js`).
#[wasm_bindgen(skip_typescript)]
pub struct Verifier {
    inner: apig::Verifier<HashMap<String, String>>,
}

#[wasm_bindgen]
impl Verifier {
    /// A verifier for the settings `js/api.js` read from `{ keys, maxSkewSeconds?, requireHost?,
    /// allowUnsignedPayload?, algorithms?, region?, service? }`: `keys` packed
    /// `ak\0sk\0ak\0sk…`, `algorithms` packed `name\0name…`.
    ///
    /// # Errors
    /// `invalid_config` for a bad skew or key list; `unsupported_algorithm` for an unknown
    /// algorithm name.
    #[wasm_bindgen(constructor)]
    pub fn new(
        keys: &str,
        max_skew_seconds: Option<f64>,
        require_host: Option<bool>,
        allow_unsigned_payload: Option<bool>,
        algorithms: Option<String>,
        region: Option<String>,
        service: Option<String>,
    ) -> Result<Verifier, JsValue> {
        let invalid = |message: &str| js_error(ErrorKind::InvalidConfig, message);
        let mut store = HashMap::new();
        let mut fields = convert::fields(keys);
        while let Some(key) = fields.next() {
            let secret = fields.next().ok_or_else(|| invalid("`keys`: an access key without a secret"))?;
            store.insert(key.to_owned(), secret.to_owned());
        }
        let mut policy = VerifyPolicy::default();
        if let Some(seconds) = max_skew_seconds {
            policy.max_skew = Duration::try_from_secs_f64(seconds)
                .map_err(|_| invalid("`maxSkewSeconds` must be a non-negative number"))?;
        }
        if let Some(require) = require_host {
            policy.require_host = require;
        }
        if let Some(allow) = allow_unsigned_payload {
            policy.allow_unsigned_payload = allow;
        }
        if let Some(names) = algorithms {
            policy.allowed_algorithms = convert::fields(&names)
                .map(|name| name.parse::<Algorithm>().map_err(|e| to_js(&e)))
                .collect::<Result<_, JsValue>>()?;
        }
        policy.region = region;
        policy.service = service;
        Ok(Self { inner: apig::Verifier::new(store).with_policy(policy).with_clock(JsClock) })
    }

    /// Verifies the request `js/api.js` wrote into the scratch memory (see [`Unpacked::new`]).
    /// Returns `accessKey\0algorithm\0signed;header;names\0signedAtMillis\0unsignedPayload(0|1)`.
    ///
    /// # Errors
    /// The core error whose `code` says why the request is rejected (`signature_mismatch` also
    /// carries the verifier's `canonicalRequest` and `stringToSign`).
    #[wasm_bindgen(js_name = verifyScratch)]
    pub fn verify_scratch(
        &self,
        headers: u32,
        flags: u32,
        text: u32,
        bytes: u32,
        millis: f64,
    ) -> Result<String, JsValue> {
        let verified = with_scratch(|scratch| {
            let request = Unpacked::new(&scratch.input, &scratch.lengths, headers, flags, text, bytes, millis)
                .map_err(|e| to_js(&e))?;
            let signable = request.signable();
            match request.time {
                None => self.inner.verify(&signable),
                Some(time) => self.inner.verify_at(&signable, time),
            }
            .map_err(|e| to_js(&e))
        })?;
        let mut out = Packed::with_capacity(128);
        out.push(&verified.access_key)
            .push(verified.algorithm.as_str())
            .push(&verified.signed_headers)
            .push(&verified.date.unix_seconds().saturating_mul(1000).to_string())
            .push(if verified.unsigned_payload { "1" } else { "0" });
        Ok(out.into_string())
    }
}

//! `Verifier`: the core's verifier over a JS key store, with JS option objects and the JS clock.

use std::collections::HashMap;
use std::time::Duration;

use apig::{Algorithm, SignableRequest, VerifyPolicy};
use wasm_bindgen::prelude::*;

use crate::convert::{self, Body, Context, Packed};
use crate::errors::to_js;
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

// `verify` is the package's (js/api.js): it hands the request over in one crossing.
export interface Verifier {
  /** Verifies a received request: returns who signed it, or throws an `ApigError` whose `code` says
   *  why not (`signature_mismatch` errors carry the verifier's `canonicalRequest` and `stringToSign`). */
  verify(request: VerifyRequest): Identity;
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

#[wasm_bindgen]
extern "C" {
    /// `VerifierOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "VerifierOptions")]
    pub type VerifierOptions;
}

/// Verifies signed requests against a fixed key store.
#[wasm_bindgen]
pub struct Verifier {
    inner: apig::Verifier<HashMap<String, String>>,
}

#[wasm_bindgen]
impl Verifier {
    /// A verifier for `{ keys, maxSkewSeconds?, requireHost?, allowUnsignedPayload?, algorithms?,
    /// region?, service? }`.
    ///
    /// # Errors
    /// `invalid_config` for missing or ill-typed settings; `unsupported_algorithm` for an unknown
    /// algorithm name.
    #[wasm_bindgen(constructor)]
    pub fn new(options: VerifierOptions) -> Result<Verifier, JsValue> {
        let cx = Context::Config;
        let options = convert::object(&options, "the verifier options", cx)?;
        let keys = convert::field(&options, "keys").ok_or_else(|| cx.error("`keys` is required"))?;
        let keys: HashMap<String, String> = convert::pairs(Some(keys), "keys", cx)?.into_iter().collect();
        let mut policy = VerifyPolicy::default();
        if let Some(seconds) = convert::opt_number(&options, "maxSkewSeconds", cx)? {
            policy.max_skew = Duration::try_from_secs_f64(seconds)
                .map_err(|_| cx.error("`maxSkewSeconds` must be a non-negative number"))?;
        }
        if let Some(require) = convert::opt_bool(&options, "requireHost", cx)? {
            policy.require_host = require;
        }
        if let Some(allow) = convert::opt_bool(&options, "allowUnsignedPayload", cx)? {
            policy.allow_unsigned_payload = allow;
        }
        if let Some(names) = convert::field(&options, "algorithms") {
            if !js_sys::Array::is_array(&names) {
                return Err(cx.error("`algorithms` must be an array of algorithm names"));
            }
            policy.allowed_algorithms = js_sys::Array::from(&names)
                .iter()
                .map(|name| {
                    let name = name.as_string().ok_or_else(|| cx.error("`algorithms` must hold strings"))?;
                    name.parse::<Algorithm>().map_err(|e| to_js(&e))
                })
                .collect::<Result<_, JsValue>>()?;
        }
        policy.region = convert::opt_string(&options, "region", cx)?;
        policy.service = convert::opt_string(&options, "service", cx)?;
        Ok(Self { inner: apig::Verifier::new(keys).with_policy(policy).with_clock(JsClock) })
    }

    /// Verifies a request handed over in one crossing by the package's `verify(request)` (in
    /// `js/api.js`): the request's fields as given, the headers packed `name\0value\0…`. Returns
    /// `accessKey\0algorithm\0signed;header;names\0signedAtMillis\0unsignedPayload(0|1)`.
    ///
    /// # Errors
    /// An `ApigError` whose `code` says why the request is rejected (`signature_mismatch` also
    /// carries the verifier's `canonicalRequest` and `stringToSign`).
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = verifyPacked, skip_typescript)]
    pub fn verify_packed(
        &self,
        method: JsValue,
        url: JsValue,
        headers: &str,
        body: JsValue,
        payload_hash: JsValue,
        unsigned_payload: JsValue,
        now: JsValue,
    ) -> Result<String, JsValue> {
        let (method, url) = (convert::arg_string(&method, "method")?, convert::arg_string(&url, "url")?);
        let headers = convert::unpack_pairs(headers)?;
        let body = Body::new(&body, &payload_hash, &unsigned_payload)?;
        let signable = SignableRequest::new(&method, &url, &headers, body.signable());
        let verified = if now.is_undefined() || now.is_null() {
            self.inner.verify(&signable)
        } else {
            self.inner.verify_at(&signable, convert::time(&now, "now")?)
        }
        .map_err(|e| to_js(&e))?;
        let mut out = Packed::with_capacity(128);
        out.push(&verified.access_key)
            .push(verified.algorithm.as_str())
            .push(&verified.signed_headers)
            .push(&crate::time::js_millis(verified.date).to_string())
            .push(if verified.unsigned_payload { "1" } else { "0" });
        Ok(out.into_string())
    }
}

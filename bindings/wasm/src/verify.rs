//! `Verifier`: the core's verifier over a JS key store, with JS option objects and the JS clock.

use std::collections::HashMap;
use std::time::Duration;

use apig::{Algorithm, SignableRequest, VerifyPolicy};
use wasm_bindgen::prelude::*;

use crate::convert::{self, Body, Context, ObjectBuilder};
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
    /// `VerifyRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "VerifyRequest")]
    pub type VerifyRequest;
    /// `Identity` in TypeScript.
    #[wasm_bindgen(typescript_type = "Identity")]
    pub type IdentityOutput;
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

    /// Verifies `{ method, url, headers, body? | payloadHash? | unsignedPayload?, now? }`.
    ///
    /// # Errors
    /// An `ApigError` whose `code` says why the request is rejected (`signature_mismatch` also
    /// carries the verifier's `canonicalRequest` and `stringToSign`).
    pub fn verify(&self, request: VerifyRequest) -> Result<IdentityOutput, JsValue> {
        let cx = Context::Request;
        let request = convert::object(&request, "the request", cx)?;
        let method = convert::string(&request, "method", cx)?;
        let url = convert::string(&request, "url", cx)?;
        let headers = convert::pairs(convert::field(&request, "headers"), "headers", cx)?;
        let body = Body::from_request(&request)?;
        let headers = convert::borrowed(&headers);
        let signable = SignableRequest::new(&method, &url, &headers, body.signable());
        let verified = match convert::field(&request, "now") {
            Some(now) => self.inner.verify_at(&signable, convert::time(&now, "now")?),
            None => self.inner.verify(&signable),
        }
        .map_err(|e| to_js(&e))?;
        Ok(ObjectBuilder::new()
            .set("accessKey", verified.access_key)
            .set("algorithm", verified.algorithm.as_str())
            .set("signedHeaders", convert::string_array(verified.signed_headers.iter().map(String::as_str)))
            .set("signedAt", crate::time::js_date(verified.date))
            .set("unsignedPayload", verified.unsigned_payload)
            .build())
    }
}

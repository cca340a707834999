//! `Signer` and `PayloadHasher`: the core's signer with JS option objects and the page's clock.

use apig::{Algorithm, ErrorKind, SignableRequest};
use wasm_bindgen::prelude::*;

use crate::convert::{self, Body, Context, Packed};
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

// `sign` is the package's (js/api.js): it hands the request over in one crossing.
export interface Signer {
  /** Signs `request`: the headers to add and the strings behind them. Throws an `ApigError`
   *  (`invalid_request`, `malformed_date`, `duplicate_header`) for a request that cannot be signed. */
  sign(request: SignRequest): SignResult;
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
"#;

#[wasm_bindgen]
extern "C" {
    /// `SignerOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "SignerOptions")]
    pub type SignerOptions;
    /// `Algorithm` in TypeScript.
    #[wasm_bindgen(typescript_type = "Algorithm")]
    pub type AlgorithmName;
    /// `string | Uint8Array | ArrayBuffer | ArrayBufferView` in TypeScript.
    #[wasm_bindgen(typescript_type = "BodyInput")]
    pub type BodyChunk;
}

/// Signs requests for one credential with one algorithm.
#[wasm_bindgen]
pub struct Signer {
    inner: apig::Signer,
}

#[wasm_bindgen]
impl Signer {
    /// A signer for `{ key, secret, algorithm?, region?, service? }`.
    ///
    /// # Errors
    /// `invalid_config` for missing or ill-typed settings and whatever the core refuses;
    /// `unsupported_algorithm` for an unknown algorithm name.
    #[wasm_bindgen(constructor)]
    pub fn new(options: SignerOptions) -> Result<Signer, JsValue> {
        let cx = Context::Config;
        let options = convert::object(&options, "the signer options", cx)?;
        let key = convert::string(&options, "key", cx)?;
        let secret = convert::string(&options, "secret", cx)?;
        let mut builder = apig::Signer::builder(key, secret).clock(JsClock);
        if let Some(algorithm) = convert::opt_string(&options, "algorithm", cx)? {
            builder = builder.algorithm(algorithm.parse::<Algorithm>().map_err(|e| to_js(&e))?);
        }
        if let Some(region) = convert::opt_string(&options, "region", cx)? {
            builder = builder.region(region);
        }
        if let Some(service) = convert::opt_string(&options, "service", cx)? {
            builder = builder.service(service);
        }
        let inner = builder.build().map_err(|e| to_js(&e))?;
        Ok(Self { inner })
    }

    /// The access key.
    #[wasm_bindgen(getter)]
    pub fn key(&self) -> String {
        self.inner.access_key().to_owned()
    }

    /// The algorithm token.
    #[wasm_bindgen(getter)]
    pub fn algorithm(&self) -> AlgorithmName {
        JsValue::from_str(self.inner.algorithm().as_str()).into()
    }

    /// Signs a request handed over in one crossing by the package's `sign(request)` (in
    /// `js/api.js`): the request's fields as given, the headers packed `name\0value\0…`. Returns
    /// `authorization\0signature\0canonicalRequest\0stringToSign\0signedHeaders\0date\0scope`
    /// followed by the added headers as `\0name\0value` pairs.
    ///
    /// # Errors
    /// `invalid_request` for a bad URL, method, header or body; `malformed_date` for a bad
    /// `X-Sdk-Date` header or `date` string; `duplicate_header` for a header given twice with
    /// different values.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = signPacked, skip_typescript)]
    pub fn sign_packed(
        &self,
        method: JsValue,
        url: JsValue,
        headers: &str,
        body: JsValue,
        payload_hash: JsValue,
        unsigned_payload: JsValue,
        date: JsValue,
    ) -> Result<String, JsValue> {
        let (method, url) = (convert::arg_string(&method, "method")?, convert::arg_string(&url, "url")?);
        let headers = convert::unpack_pairs(headers)?;
        let body = Body::new(&body, &payload_hash, &unsigned_payload)?;
        let signable = SignableRequest::new(&method, &url, &headers, body.signable());
        let signed = if date.is_undefined() || date.is_null() {
            self.inner.sign(&signable)
        } else {
            self.inner.sign_at(&signable, convert::time(&date, "date")?)
        }
        .map_err(|e| to_js(&e))?;
        let trace = &signed.trace;
        let mut out = Packed::with_capacity(
            signed.authorization.len() * 2 + trace.canonical_request.len() + trace.string_to_sign.len() + 256,
        );
        out.push(&signed.authorization)
            .push(&signed.signature)
            .push(&trace.canonical_request)
            .push(&trace.string_to_sign)
            .push(&signed.signed_headers)
            .push(&signed.date)
            .push(signed.credential_scope.as_deref().unwrap_or(""));
        for (name, value) in signed.headers() {
            out.push(name).push(value);
        }
        Ok(out.into_string())
    }

    /// A body hasher for this signer's algorithm: feed it chunks, then pass `digest()` as
    /// `payloadHash`.
    #[wasm_bindgen(js_name = createHasher)]
    pub fn create_hasher(&self) -> PayloadHasher {
        PayloadHasher { inner: Some(apig::PayloadHasher::for_algorithm(self.inner.algorithm())) }
    }
}

/// An incremental body hasher (the core's): `update(chunk)` as chunks arrive, then `digest()`.
#[wasm_bindgen]
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
    pub fn new(algorithm: Option<AlgorithmName>) -> Result<PayloadHasher, JsValue> {
        let algorithm = match algorithm.and_then(|a| a.as_string()) {
            Some(name) => name.parse::<Algorithm>().map_err(|e| to_js(&e))?,
            None => Algorithm::default(),
        };
        Ok(Self { inner: Some(apig::PayloadHasher::for_algorithm(algorithm)) })
    }

    /// Adds a chunk: text (as UTF-8) or bytes.
    ///
    /// # Errors
    /// `invalid_request` for a chunk of another type or after `digest()`.
    pub fn update(&mut self, chunk: BodyChunk) -> Result<(), JsValue> {
        let hasher = self.inner.as_mut().ok_or_else(finished)?;
        let bytes = convert::bytes(&chunk).ok_or_else(|| {
            js_error(ErrorKind::InvalidRequest, "a chunk must be a string, Uint8Array, ArrayBuffer or ArrayBufferView")
        })?;
        hasher.update(&bytes);
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

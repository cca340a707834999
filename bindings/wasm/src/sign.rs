//! `Signer` and `PayloadHasher`: the core's signer with the page's clock.
//!
//! The classes' JavaScript faces (`new Signer(options)`, `sign(request)`, `update(chunk)`) are the
//! package's JavaScript (the shared API over `js/engine.js`), which convert JS values and call these exports in one crossing each.

use apig::{Algorithm, ErrorKind, SigningOptions, SigningSettings};
use wasm_bindgen::prelude::*;

use crate::errors::{js_error, or_failed, to_js};
use crate::time::JsClock;
use crate::wire::{Unpacked, with_scratch};

fn algorithm(name: Option<String>) -> Result<Algorithm, JsValue> {
    match name {
        Some(name) => name.parse::<Algorithm>().map_err(|e| to_js(&e)),
        None => Ok(Algorithm::default()),
    }
}

/// Signs requests for one credential with one algorithm (`Signer` in `js/engine.js`).
#[wasm_bindgen(skip_typescript)]
pub struct Signer {
    inner: apig::Signer,
}

#[wasm_bindgen]
impl Signer {
    /// A signer for the settings `js/engine.js` read from `{ key, secret, algorithm?, region?,
    /// service?, excludedHeaders?, securityToken?, projectId?, domainId?, profile? }`, through the
    /// core's [`SigningOptions`].
    ///
    /// # Errors
    /// `invalid_config` for settings the core refuses; `unsupported_algorithm` for an unknown
    /// algorithm name.
    // the engine passes the settings one by one: decoding a JS object here would pull serde's
    // machinery into the browser module (its size budget)
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(constructor)]
    pub fn new(
        key: String,
        secret: String,
        algorithm: Option<String>,
        region: Option<String>,
        service: Option<String>,
        excluded_headers: Option<String>,
        security_token: Option<String>,
        project_id: Option<String>,
        domain_id: Option<String>,
        profile: Option<String>,
    ) -> Result<Signer, JsValue> {
        let settings = SigningSettings::try_from(SigningOptions {
            algorithm: algorithm.as_deref(),
            region: region.as_deref(),
            service: service.as_deref(),
            excluded_headers: excluded_headers.as_deref(),
            profile: profile.as_deref(),
            project_id: project_id.as_deref(),
            domain_id: domain_id.as_deref(),
            ..SigningOptions::default()
        })
        .map_err(|e| to_js(&e))?;
        let mut builder = apig::Signer::builder(key, secret).settings(settings).clock(JsClock);
        if let Some(token) = security_token {
            builder = builder.security_token(token);
        }
        let inner = builder.build();
        Ok(Self { inner: inner.map_err(|e| to_js(&e))? })
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

    /// Signs the request `js/engine.js` wrote into the scratch memory (see [`Unpacked::new`]) and
    /// writes the answer there: the fields `RESULT_FIELDS` of [`crate::wire`] (in this order), then the
    /// added headers' names (see `Answer::name` in [`crate::wire`]) and values.
    /// Returns the number of fields, or [`FAILED`](crate::errors::FAILED) when signing failed: `takeError()` then gives
    /// the error (`invalid_request` for a bad URL, method, header or body; `malformed_date` for a
    /// bad `X-Sdk-Date` header or date string; `duplicate_header` for a header given twice with
    /// different values).
    #[wasm_bindgen(js_name = signScratch)]
    pub fn sign_scratch(&self, headers: u32, flags: u32, text: u32, bytes: u32, millis: f64) -> u32 {
        or_failed(with_scratch(|scratch| {
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
        }))
    }
}

/// An incremental body hasher (the core's), `PayloadHasher` in `js/engine.js`.
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

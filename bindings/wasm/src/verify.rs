//! `Verifier`: the core's verifier over a key store or a key function, with the JS clock.
//!
//! Its JavaScript face (`new Verifier(options)`, `verify(request)`) is the shared API's, over
//! `js/engine.js`, which converts JS values and calls these exports in one crossing each.

use std::collections::HashMap;
use std::sync::Mutex;

use apig::{Authorization, ErrorKind, KeyResolver, SecretKey, SignableRequest, VerifyOptions, VerifyPolicy};
use wasm_bindgen::prelude::*;

use crate::errors::{js_error, to_js};
use crate::time::JsClock;
use crate::wire::{self, Packed, Unpacked, with_scratch};

/// Where the verifier finds secrets.
enum Keys {
    /// A copy of the keys given as an object, `Map` or pairs.
    Fixed(HashMap<String, String>),
    /// The secret the JavaScript function returned for the request being verified (the core calls
    /// resolvers synchronously and needs them `Send`, so the function is asked first).
    Asked(Mutex<Option<(String, SecretKey)>>),
}

impl KeyResolver for Keys {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        match self {
            Self::Fixed(keys) => keys.resolve(access_key),
            Self::Asked(slot) => match &*slot.lock().ok()? {
                Some((key, secret)) if key == access_key => Some(secret.clone()),
                _ => None,
            },
        }
    }
}

/// Verifies signed requests against a set of keys (`Verifier` of the shared API).
#[wasm_bindgen(skip_typescript)]
pub struct Verifier {
    inner: apig::Verifier<Keys>,
    lookup: Option<js_sys::Function>,
}

#[wasm_bindgen]
impl Verifier {
    /// A verifier for the settings `js/engine.js` read from `{ keys, maxSkewSeconds?, requireHost?,
    /// allowUnsignedPayload?, algorithms?, region?, service? }`: `keys` packed
    /// `ak\0sk\0ak\0sk…` or a function `(accessKey) => secret | undefined`, `algorithms` packed
    /// `name\0name…`.
    ///
    /// # Errors
    /// `invalid_config` for a bad skew or key list; `unsupported_algorithm` for an unknown
    /// algorithm name.
    #[wasm_bindgen(constructor)]
    pub fn new(
        keys: JsValue,
        max_skew_seconds: Option<f64>,
        require_host: Option<bool>,
        allow_unsigned_payload: Option<bool>,
        algorithms: Option<String>,
        region: Option<String>,
        service: Option<String>,
    ) -> Result<Verifier, JsValue> {
        let invalid = |message: &str| js_error(ErrorKind::InvalidConfig, message);
        let (keys, lookup) = match keys.dyn_into::<js_sys::Function>() {
            Ok(function) => (Keys::Asked(Mutex::new(None)), Some(function)),
            Err(keys) => {
                let keys = keys.as_string().ok_or_else(|| invalid("`keys` must be packed keys or a function"))?;
                let mut store = HashMap::new();
                let mut fields = wire::fields(&keys);
                while let Some(key) = fields.next() {
                    let secret = fields.next().ok_or_else(|| invalid("`keys`: an access key without a secret"))?;
                    store.insert(key.to_owned(), secret.to_owned());
                }
                (Keys::Fixed(store), None)
            }
        };
        let algorithms = algorithms.as_deref().map(|names| wire::fields(names).collect::<Vec<_>>());
        let policy = VerifyPolicy::try_from(VerifyOptions {
            max_skew_seconds,
            require_host,
            allow_unsigned_payload,
            algorithms: algorithms.as_deref(),
            region: region.as_deref(),
            service: service.as_deref(),
        })
        .map_err(|e| to_js(&e))?;
        Ok(Self { inner: apig::Verifier::new(keys).with_policy(policy).with_clock(JsClock), lookup })
    }

    /// Verifies the request `js/engine.js` wrote into the scratch memory (see [`Unpacked::new`]).
    /// Returns `IDENTITY_FIELDS` of [`crate::wire`] joined by NUL: `accessKey\0algorithm\0
    /// signed;header;names\0signedAtMillis\0unsignedPayload(0|1)\0securityToken` (the signed
    /// `X-Security-Token`, empty when none was signed).
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
            self.ask(&signable)?;
            match request.time {
                None => self.inner.verify(&signable),
                Some(time) => self.inner.verify_at(&signable, time),
            }
            .map_err(|e| to_js(&e))
        });
        if let Keys::Asked(slot) = self.inner.resolver()
            && let Ok(mut slot) = slot.lock()
        {
            *slot = None;
        }
        let verified = verified?;
        let mut out = Packed::with_capacity(128);
        out.push(&verified.access_key)
            .push(verified.algorithm.as_str())
            .push(&verified.signed_headers)
            .push(&verified.date.unix_seconds().saturating_mul(1000).to_string())
            .push(if verified.unsigned_payload { "1" } else { "0" })
            .push(verified.security_token.as_ref().map_or("", |token| token.expose()));
        Ok(out.into_string())
    }

    /// With a key function: asks it for the secret of the request's access key (when the
    /// `Authorization` header parses; otherwise the core reports why it does not). What the
    /// function throws is thrown as is.
    fn ask(&self, request: &SignableRequest<'_>) -> Result<(), JsValue> {
        let (Some(lookup), Keys::Asked(slot)) = (&self.lookup, self.inner.resolver()) else { return Ok(()) };
        let Some(Ok(auth)) = request.header("authorization").map(Authorization::parse) else { return Ok(()) };
        let answer = lookup.call1(&JsValue::NULL, &JsValue::from_str(auth.access_key))?;
        if answer.is_undefined() || answer.is_null() {
            return Ok(());
        }
        let Some(secret) = answer.as_string() else {
            let message = if answer.is_instance_of::<js_sys::Promise>() {
                "the keys function must return the secret synchronously, not a Promise"
            } else {
                "the keys function must return a string or undefined"
            };
            return Err(js_error(ErrorKind::InvalidConfig, message));
        };
        if let Ok(mut slot) = slot.lock() {
            *slot = Some((auth.access_key.to_owned(), SecretKey::new(secret)));
        }
        Ok(())
    }
}

/// Internal, for `verifyMiddleware` (Node module only): the core's answer to a body larger than
/// `limit` bytes, as `status\0APIG.0201\0message` (the gateway's and every middleware's 413).
#[wasm_bindgen(js_name = bodyTooLarge, skip_typescript)]
pub fn body_too_large(limit: f64) -> String {
    // `limit` is a safe integer (≤ 2^53), checked by the shared API
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let answer = apig::ApigErrorResponse::body_too_large(limit as u64);
    format!("{}\0{}\0{}", answer.status(), answer.error_code(apig::DEFAULT_CODE_PREFIX), answer.message())
}

/// Internal, for `verifyMiddleware` (Node module only): the core's default body limit in bytes.
#[wasm_bindgen(js_name = defaultBodyLimit, skip_typescript)]
pub fn default_body_limit() -> u32 {
    u32::try_from(apig::DEFAULT_BODY_LIMIT).unwrap_or(u32::MAX)
}

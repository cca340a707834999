//! `Signer` and `PayloadHasher`: the core's signer with JavaScript values in and out.

use std::cell::RefCell;

use apig::{Algorithm, Error, SignableBody, SignableRequest};
use napi::bindgen_prelude::{Either, FromNapiValue, Function, FunctionCallContext, Latin1String, Object, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;

use crate::convert::{self, Body};
use crate::errors::{IntoJs, invalid_config, invalid_request};

/// Options of `new Signer(options)`. Omitted options take the core's defaults.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct SignerOptions {
    /// The access key (APIG "AppKey", "AK").
    pub key: String,
    /// The secret key (APIG "AppSecret", "SK"); its UTF-8 bytes are the HMAC key.
    pub secret: String,
    /// `SDK-HMAC-SHA256` (default), `SDK-HMAC-SM3`, `V11-HMAC-SHA256` or `V11-HMAC-SM3`.
    #[napi(ts_type = "Algorithm")]
    pub algorithm: Option<String>,
    /// V11 only (and required there): the region of the credential scope, e.g. `cn-north-4`.
    pub region: Option<String>,
    /// V11 only: the service of the credential scope (default `apic`).
    pub service: Option<String>,
}

/// A request to sign.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct SignRequest {
    /// The HTTP method, e.g. `GET` (use upper case: Huawei's signers disagree on lower case).
    pub method: String,
    /// The absolute URL (`https://host/path?query`) or an origin-form target (`/path?query`, the host
    /// then comes from a `Host` header).
    pub url: String,
    /// The headers to send: an object (`{ 'Content-Type': 'application/json' }`, values may be
    /// numbers or arrays), an array of `[name, value]` pairs, or a `Headers`/`Map`. Every header
    /// given is signed.
    #[napi(ts_type = "HeaderInput")]
    pub headers: Option<Unknown<'static>>,
    /// The exact body: a string (sent as UTF-8), a `Buffer`/`Uint8Array` or an `ArrayBuffer`. (A
    /// stream or async iterable is accepted too: `sign()` then returns a Promise.)
    #[napi(ts_type = "BodyInput")]
    pub body: Option<Unknown<'static>>,
    /// The body's lower-case hex hash computed beforehand (`signer.createHasher()`), used instead of
    /// `body`.
    pub payload_hash: Option<String>,
    /// Sign `UNSIGNED-PAYLOAD` instead of the body: the signer adds and signs
    /// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`. The body is then not authenticated.
    pub unsigned_payload: Option<bool>,
    /// The signing time when the headers have no `X-Sdk-Date` (default: now): a `Date` or
    /// milliseconds since 1970.
    #[napi(ts_type = "Date | number")]
    pub date: Option<Unknown<'static>>,
}

/// What `signer.sign()` returns (built by `index.js` from the packed result).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct SignResult {
    /// The headers to add to the request: `Host` (only when the request had none and the URL is
    /// absolute), `X-Sdk-Date` (when it had none), `X-Sdk-Content-Sha256` (unsigned payloads) and
    /// `Authorization`, in this order.
    #[napi(ts_type = "Record<string, string>")]
    pub headers: Object<'static>,
    /// The `Authorization` header value.
    pub authorization: String,
    /// The lower-case hex signature.
    pub signature: String,
    /// The canonical request, exactly as hashed.
    pub canonical_request: String,
    /// The string to sign, exactly as fed to the HMAC.
    pub string_to_sign: String,
    /// The `SignedHeaders` list, e.g. `content-type;host;x-sdk-date`.
    pub signed_headers: String,
    /// The `X-Sdk-Date` value signed.
    pub date: String,
    /// V11 only: the credential scope `yyyymmdd/region/service`.
    pub credential_scope: Option<String>,
}

/// Signs requests for one credential with one algorithm.
#[napi]
pub struct Signer {
    inner: apig::Signer,
}

#[napi]
impl Signer {
    /// A signer for `options.key` / `options.secret`; throws `invalid_config` (or
    /// `unsupported_algorithm`) for unusable options.
    #[napi(constructor, ts_args_type = "options: SignerOptions")]
    pub fn new(env: Env, options: Unknown<'_>) -> napi::Result<Self> {
        Self::build(options).into_js(&env)
    }

    fn build(options: Unknown<'_>) -> Result<Self, Error> {
        let failure = |e: napi::Error| convert::napi_failure("options", &e);
        if options.get_type().map_err(failure)? != ValueType::Object {
            return Err(invalid_config("new Signer(options) needs an options object { key, secret }"));
        }
        let options = Object::from_unknown(options).map_err(failure)?;
        let key = convert::required_string(&options, "key", invalid_config)?;
        let secret = convert::required_string(&options, "secret", invalid_config)?;
        let mut builder = apig::Signer::builder(key, secret);
        if let Some(algorithm) = convert::optional_string(&options, "algorithm", invalid_config)? {
            builder = builder.algorithm(algorithm.parse::<Algorithm>()?);
        }
        if let Some(region) = convert::optional_string(&options, "region", invalid_config)? {
            builder = builder.region(region);
        }
        if let Some(service) = convert::optional_string(&options, "service", invalid_config)? {
            builder = builder.service(service);
        }
        Ok(Self { inner: builder.build()? })
    }

    /// The access key.
    #[napi(getter)]
    pub fn key(&self) -> &str {
        self.inner.access_key()
    }

    /// The algorithm token, e.g. `SDK-HMAC-SHA256`.
    #[napi(getter, ts_return_type = "Algorithm")]
    pub fn algorithm(&self) -> &'static str {
        self.inner.algorithm().as_str()
    }

    /// Internal, called once by the package's `Signer` constructor: the function its `sign()`
    /// calls, `(method, url, headers[, body, payloadHash, unsignedPayload, date])` → the packed
    /// result ([`pack_result`]), with the headers packed by `index.js` ([`convert::unpack_pairs`]).
    /// The function owns a copy of this signer, so a call reaches the core without unwrapping
    /// `this` (napi-rs's class-method glue costs more than a tenth of a signature), and the
    /// request's parts and the result cross the boundary as three strings and one.
    #[napi(skip_typescript)]
    pub fn sign_function<'env>(&self, env: &'env Env) -> napi::Result<Function<'env, (), Packed>> {
        let signer = self.inner.clone();
        let buffer = RefCell::new(String::new());
        env.create_function_from_closure("sign", move |call| sign_call(&signer, &buffer, &call).into_js(call.env))
    }

    /// A hasher for this signer's hash function: feed it the body chunk by chunk, then pass
    /// `digest()` as `payloadHash`. The package's `sign()` does this for streams.
    #[napi]
    pub fn create_hasher(&self) -> PayloadHasher {
        PayloadHasher { inner: Some(apig::PayloadHasher::for_algorithm(self.inner.algorithm())) }
    }
}

/// The packed result crosses as Latin-1 when it is ASCII (a plain copy into a JavaScript string),
/// as UTF-8 otherwise (a header value may hold any text).
type Packed = Either<Latin1String, String>;

/// One call of the function [`Signer::sign_function`] returns. Omitted trailing arguments are
/// `undefined`: `index.js` passes only the first three for a request without body, payload hash,
/// `unsignedPayload` or date, which saves reading four values.
fn sign_call(signer: &apig::Signer, buffer: &RefCell<String>, call: &FunctionCallContext<'_>) -> Result<Packed, Error> {
    let arg = |index: usize| -> Result<Option<Unknown<'_>>, Error> {
        if index >= call.length() {
            return Ok(None);
        }
        let value = call.get::<Unknown<'_>>(index).map_err(|e| convert::napi_failure("an argument", &e))?;
        convert::present(value)
    };
    let method = required(arg(0)?, "method")?;
    let url = required(arg(1)?, "url")?;
    let headers = arg(2)?.map(|headers| convert::string(headers, "headers")).transpose()?;
    let pairs = convert::unpack_pairs(headers.as_deref().unwrap_or(""))?;
    let body = convert::body(arg(3)?, "body")?;
    let payload_hash = arg(4)?.map(|v| convert::string(v, "payloadHash")).transpose()?;
    let unsigned = match arg(5)? {
        None => false,
        Some(value) => bool::from_unknown(value).map_err(|e| convert::napi_failure("unsignedPayload", &e))?,
    };
    let date = convert::time(arg(6)?, "date")?;
    let signable = match (&payload_hash, unsigned) {
        (Some(_), true) => {
            return Err(invalid_request("give either payloadHash or unsignedPayload, not both"));
        }
        (Some(hash), false) => SignableBody::Precomputed(hash),
        (None, true) => SignableBody::Unsigned,
        (None, false) => body.signable(),
    };
    if !matches!(body, Body::Empty) && !matches!(signable, SignableBody::Bytes(_)) {
        return Err(invalid_request(
            "a body is signed from its bytes: drop payloadHash / unsignedPayload, or the body",
        ));
    }
    let request = SignableRequest::new(&method, &url, &pairs, signable);
    let output = match date {
        Some(time) => signer.sign_at(&request, time)?,
        None => signer.sign(&request)?,
    };
    // the buffer is reused from call to call; a (theoretical) reentrant call packs into its own
    let packed = match buffer.try_borrow_mut() {
        Ok(mut buffer) => {
            pack_result(&output, &mut buffer)?;
            buffer.clone()
        }
        Err(_) => {
            let mut own = String::new();
            pack_result(&output, &mut own)?;
            own
        }
    };
    Ok(if packed.is_ascii() { Either::A(Latin1String::from(packed)) } else { Either::B(packed) })
}

/// The names of the headers the core adds, as `index.js` gets them once (`addedHeaderNames()`):
/// in the packed result an added header names itself by its index here, so that `index.js` sets
/// it with a name it already holds. A name missing from this list crosses as text.
const ADDED_HEADER_NAMES: [&str; 4] = ["Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"];

/// Internal: [`ADDED_HEADER_NAMES`], for `index.js`.
#[napi(skip_typescript)]
pub fn added_header_names() -> Vec<&'static str> {
    ADDED_HEADER_NAMES.to_vec()
}

/// Writes `output` into `out` for `index.js` (`unpackResult`) to slice: `authorization`,
/// `signature`, canonical request, string to sign, signed headers, date and credential scope
/// (empty when there is none), each followed by NUL; then each added header in the core's order:
/// its name as the digit of its index in [`ADDED_HEADER_NAMES`] (or `*`, the name and NUL), then
/// its value as `a` (the same string as `authorization`), `d` (the same as the date) or `=` and
/// the value, and NUL. A piece holding NUL is refused: it would shift every piece after it.
fn pack_result(output: &apig::SigningOutput, out: &mut String) -> Result<(), Error> {
    out.clear();
    for text in [
        output.authorization.as_str(),
        output.signature.as_str(),
        output.trace.canonical_request.as_str(),
        output.trace.string_to_sign.as_str(),
        output.signed_headers.as_str(),
        output.date.as_str(),
        output.credential_scope.as_deref().unwrap_or(""),
    ] {
        push_piece(out, text)?;
    }
    for (name, value) in output.headers() {
        match ADDED_HEADER_NAMES.iter().zip('0'..='9').find(|(known, _)| **known == name) {
            Some((_, code)) => out.push(code),
            None => {
                out.push('*');
                push_piece(out, name)?;
            }
        }
        if std::ptr::eq(value, output.authorization.as_str()) {
            out.push('a');
            out.push(convert::SEPARATOR);
        } else if std::ptr::eq(value, output.date.as_str()) {
            out.push('d');
            out.push(convert::SEPARATOR);
        } else {
            out.push('=');
            push_piece(out, value)?;
        }
    }
    Ok(())
}

/// `text` and NUL; refused when `text` holds NUL.
fn push_piece(out: &mut String, text: &str) -> Result<(), Error> {
    if text.contains(convert::SEPARATOR) {
        return Err(invalid_request("a signed value contains NUL"));
    }
    out.push_str(text);
    out.push(convert::SEPARATOR);
    Ok(())
}

/// A required string argument.
fn required(value: Option<Unknown<'_>>, name: &str) -> Result<String, Error> {
    match value {
        Some(value) => convert::string(value, name),
        None => Err(invalid_request(format!("{name} is required"))),
    }
}

/// An incremental body hasher (the core's `PayloadHasher`): `update(chunk)` as chunks arrive, then
/// `digest()` once.
#[napi]
pub struct PayloadHasher {
    inner: Option<apig::PayloadHasher>,
}

#[napi]
impl PayloadHasher {
    /// Adds a chunk: a string (hashed as UTF-8), a `Buffer`/`Uint8Array` or an `ArrayBuffer`.
    /// Returns the hasher, for chaining.
    #[napi(ts_args_type = "chunk: string | Uint8Array | ArrayBuffer", ts_return_type = "this")]
    pub fn update<'env>(
        &mut self,
        env: &'env Env,
        this: napi::bindgen_prelude::This<'env>,
        chunk: Unknown<'env>,
    ) -> napi::Result<Object<'env>> {
        let hasher = self.inner.as_mut().ok_or_else(|| invalid_request("update() after digest()")).into_js(env)?;
        let chunk = convert::body(Some(chunk), "a chunk").into_js(env)?;
        hasher.update(chunk.bytes());
        Ok(this.object)
    }

    /// The lower-case hex hash of everything added. A hasher can be digested once.
    #[napi]
    pub fn digest(&mut self, env: &Env) -> napi::Result<String> {
        self.inner
            .take()
            .map(apig::PayloadHasher::finalize_hex)
            .ok_or_else(|| invalid_request("digest() was already called on this hasher"))
            .into_js(env)
    }
}

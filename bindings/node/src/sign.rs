//! `Signer` and `PayloadHasher`: the core's signer with JavaScript values in and out.

use std::cell::RefCell;
use std::rc::Rc;

use apig::{Algorithm, Error, SignableBody, SignableRequest};
use napi::bindgen_prelude::{FromNapiValue, Function, FunctionCallContext, Object, Unknown};
use napi::{Env, JsValue, ValueType};
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
    /// Shared with the functions [`Signer::sign_function`] returns.
    inner: Rc<apig::Signer>,
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
        Ok(Self { inner: Rc::new(builder.build()?) })
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

    /// Internal, for the package's `Signer` (its constructor makes the packed one, its first
    /// error the other): the functions its `sign()` calls, which return the packed result
    /// ([`pack_result`]). With `packed_request`, `(request, separators[, body, payloadHash,
    /// unsignedPayload, date])` where `request` is `method\0url\0` and the headers packed by
    /// `index.js` ([`convert::unpack_pairs`]), and `separators` the number of NULs it holds when no
    /// piece holds one (`null` is returned when that differs: `index.js` then finds and reports the
    /// culprit). Otherwise `(method, url, headers, body, payloadHash, unsignedPayload, date)`, each
    /// read and type-checked here. A function shares this signer, so a call reaches the core
    /// without unwrapping `this` (napi-rs's class-method glue costs more than a tenth of a
    /// signature); the request and the result cross the boundary as one string each.
    #[napi(skip_typescript)]
    pub fn sign_function<'env>(
        &self,
        env: &'env Env,
        packed_request: bool,
    ) -> napi::Result<Function<'env, (), Packed>> {
        let signer = Rc::clone(&self.inner);
        let buffer = RefCell::new(String::new());
        let form = if packed_request { Form::Packed } else { Form::Parts };
        env.create_function_from_closure("sign", move |call| {
            sign_call(&signer, &buffer, form, call.env, &call).into_js(call.env)
        })
    }

    /// A hasher for this signer's hash function: feed it the body chunk by chunk, then pass
    /// `digest()` as `payloadHash`. The package's `sign()` does this for streams.
    #[napi]
    pub fn create_hasher(&self) -> PayloadHasher {
        PayloadHasher { inner: Some(apig::PayloadHasher::for_algorithm(self.inner.algorithm())) }
    }
}

/// The packed result (a JavaScript string, returned as is), or `null` for a packed request whose
/// pieces hold NUL.
type Packed = Option<napi::sys::napi_value>;

/// How a signing function takes the method, URL and headers (see [`Signer::sign_function`]).
#[derive(Clone, Copy)]
enum Form {
    /// One string `method\0url\0` + the packed headers, the number of NULs it holds, then the
    /// optional arguments.
    Packed,
    /// Three arguments, then the optional ones.
    Parts,
}

/// One call of a function [`Signer::sign_function`] returns. Omitted trailing arguments are
/// `undefined`: `index.js` passes only the request and its NUL count for one without body,
/// payload hash, `unsignedPayload` or date, which saves reading four values.
fn sign_call(
    signer: &apig::Signer,
    buffer: &RefCell<String>,
    form: Form,
    env: &Env,
    call: &FunctionCallContext<'_>,
) -> Result<Packed, Error> {
    let arg = |index: usize| -> Result<Option<Unknown<'_>>, Error> {
        if index >= call.length() {
            return Ok(None);
        }
        let value = call.get::<Unknown<'_>>(index).map_err(|e| convert::napi_failure("an argument", &e))?;
        convert::present(value)
    };
    let (packed, method, url, headers);
    let (method, url, pairs, optional) = match form {
        Form::Packed => {
            packed = required(arg(0)?, "the request")?;
            let separators = call.get::<u32>(1).map_err(|e| convert::napi_failure("the request", &e))?;
            match convert::unpack_request(&packed, separators as usize) {
                Some((method, url, pairs)) => (method, url, pairs, 2),
                None => return Ok(None),
            }
        }
        Form::Parts => {
            method = required(arg(0)?, "method")?;
            url = required(arg(1)?, "url")?;
            headers = arg(2)?.map(|headers| convert::string(headers, "headers")).transpose()?;
            let pairs = convert::unpack_pairs(headers.as_deref().unwrap_or(""))?;
            (method.as_str(), url.as_str(), pairs, 3)
        }
    };
    let body = convert::body(arg(optional)?, "body")?;
    let payload_hash = arg(optional + 1)?.map(|v| convert::string(v, "payloadHash")).transpose()?;
    let unsigned = match arg(optional + 2)? {
        None => false,
        Some(value) => bool::from_unknown(value).map_err(|e| convert::napi_failure("unsignedPayload", &e))?,
    };
    let date = convert::time(arg(optional + 3)?, "date")?;
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
    let request = SignableRequest::new(method, url, pairs.as_slice(), signable);
    let output = match date {
        Some(time) => signer.sign_at(&request, time)?,
        None => signer.sign(&request)?,
    };
    // the buffer is reused from call to call; a (theoretical) reentrant call packs into its own
    let mut own = String::new();
    let mut reused = buffer.try_borrow_mut();
    let packed = match reused.as_deref_mut() {
        Ok(buffer) => buffer,
        Err(_) => &mut own,
    };
    let ascii = pack_result(&output, packed)?;
    // Latin-1 when ASCII: a plain copy into a JavaScript string; UTF-8 otherwise (a header value
    // may hold any text)
    let created = if ascii { env.create_string_latin1(packed.as_bytes()) } else { env.create_string(&packed) };
    created.map(|string| Some(string.raw())).map_err(|e| convert::napi_failure("the result", &e))
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
/// Returns whether `out` is ASCII.
fn pack_result(output: &apig::SigningOutput, out: &mut String) -> Result<bool, Error> {
    out.clear();
    let mut pieces = 0;
    let mut piece = |out: &mut String, text: &str| {
        out.push_str(text);
        out.push(convert::SEPARATOR);
        pieces += 1;
    };
    for text in [
        output.authorization.as_str(),
        output.signature.as_str(),
        output.trace.canonical_request.as_str(),
        output.trace.string_to_sign.as_str(),
        output.signed_headers.as_str(),
        output.date.as_str(),
        output.credential_scope.as_deref().unwrap_or(""),
    ] {
        piece(out, text);
    }
    for (name, value) in output.headers() {
        match ADDED_HEADER_NAMES.iter().zip('0'..='9').find(|(known, _)| **known == name) {
            Some((_, code)) => out.push(code),
            None => {
                out.push('*');
                piece(out, name);
            }
        }
        if std::ptr::eq(value, output.authorization.as_str()) {
            piece(out, "a");
        } else if std::ptr::eq(value, output.date.as_str()) {
            piece(out, "d");
        } else {
            out.push('=');
            piece(out, value);
        }
    }
    // one pass over the result rather than one per piece: a NUL inside a piece would shift
    // every piece after it
    let (separators, ascii) = convert::scan(out);
    if separators != pieces {
        return Err(invalid_request("a signed value contains NUL"));
    }
    Ok(ascii)
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

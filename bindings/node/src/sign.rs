//! `Signer` and `PayloadHasher`: the core's signer with JavaScript values in and out.

use std::cell::RefCell;
use std::rc::Rc;

use apig::{Algorithm, Error, SignableBody, SignableRequest, SigningOptions, SigningSettings};
use napi::bindgen_prelude::{FromNapiValue, Function, FunctionCallContext, Object, Unknown};
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

use crate::convert::{self, Body, StringBuffers};
use crate::errors::{IntoJs, invalid_config, invalid_request};
use crate::wire::{self, pack_result};

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
        let text = |name| convert::optional_string(&options, name, invalid_config);
        let (algorithm, region, service) = (text("algorithm")?, text("region")?, text("service")?);
        let excluded_headers = text("excludedHeaders")?;
        let (profile, project_id, domain_id) = (text("profile")?, text("projectId")?, text("domainId")?);
        let settings = SigningSettings::try_from(SigningOptions {
            algorithm: algorithm.as_deref(),
            region: region.as_deref(),
            service: service.as_deref(),
            excluded_headers: excluded_headers.as_deref(),
            profile: profile.as_deref(),
            project_id: project_id.as_deref(),
            domain_id: domain_id.as_deref(),
            ..SigningOptions::default()
        })?;
        let mut builder = apig::Signer::builder(key, secret).settings(settings);
        if let Some(token) = text("securityToken")? {
            builder = builder.security_token(token);
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

    /// Internal, for `lib/engine.js` (which makes the fast one with the signer, the other at its
    /// first error): the functions its `sign()` calls, which return the packed result
    /// ([`pack_result`], the layout of [`crate::wire`]). With `packed_request`, `(pieces, method,
    /// url, name, value, …[, body, date, payloadHash, unsignedPayload])` where `pieces` is the
    /// number of header names and values that follow the URL, each string its own argument
    /// (`null` is returned when one holds NUL: `lib/engine.js` then finds and reports the
    /// culprit). Otherwise `(method, url, headers, body, date, payloadHash, unsignedPayload)` with
    /// the headers packed ([`wire::unpack_pairs`]), each read and type-checked here. Omitted
    /// trailing arguments are `undefined`. A function shares this signer, so a call reaches the
    /// core without unwrapping `this` (napi-rs's class-method glue costs more than a tenth of a
    /// signature); the result crosses the boundary as one string.
    #[napi(skip_typescript)]
    pub fn sign_function<'env>(
        &self,
        env: &'env Env,
        packed_request: bool,
    ) -> napi::Result<Function<'env, (), Packed>> {
        let signer = Rc::clone(&self.inner);
        let buffer = RefCell::new(Buffers::default());
        let form = if packed_request { Form::Pieces } else { Form::Parts };
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

/// What a signing function keeps from call to call: the request's read buffers and the result.
#[derive(Default)]
struct Buffers {
    request: StringBuffers,
    result: String,
}

/// How a signing function takes the method, URL and headers (see [`Signer::sign_function`]).
#[derive(Clone, Copy)]
enum Form {
    /// The number of header pieces, the method, the URL, the header pieces (name, value, name,
    /// value, …), then the optional arguments: each string its own argument, read without
    /// joining them first (which made JavaScript concatenate and V8 flatten a string per call).
    Pieces,
    /// Three arguments, then the optional ones.
    Parts,
}

/// One call of a function [`Signer::sign_function`] returns. Omitted trailing arguments are
/// `undefined`: `lib/engine.js` passes only the arguments up to the last one a request has (the
/// request and its NUL count for the usual GET, then the body, then the date), which saves
/// reading absent values and keeps the usual calls within the four arguments napi-rs reads in
/// one step.
fn sign_call(
    signer: &apig::Signer,
    buffers: &RefCell<Buffers>,
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
    // the buffers are reused from call to call; a (theoretical) reentrant call reads and packs
    // into its own
    let mut own = Buffers::default();
    let mut reused = buffers.try_borrow_mut();
    let Buffers { request: read_buffers, result: packed } = match reused.as_deref_mut() {
        Ok(buffers) => buffers,
        Err(_) => &mut own,
    };
    let (method, url, headers, strings);
    let (method, url, pairs, optional) = match form {
        Form::Pieces => {
            let count = call.get::<u32>(0).map_err(|e| convert::napi_failure("the header count", &e))? as usize;
            read_buffers.clear();
            for index in 1..count + 3 {
                let piece = call.get::<Unknown<'_>>(index).map_err(|e| convert::napi_failure("the request", &e))?;
                read_buffers.append(env, piece, "the request")?;
            }
            match read_buffers.strings("the request")? {
                Some(read) => strings = read,
                None => return Ok(None),
            }
            let mut pairs = wire::Pairs::new();
            for index in (2..strings.len()).step_by(2) {
                pairs.push((strings.get(index), strings.get(index + 1)));
            }
            (strings.get(0), strings.get(1), pairs, count + 3)
        }
        Form::Parts => {
            method = required(arg(0)?, "method")?;
            url = required(arg(1)?, "url")?;
            headers = arg(2)?.map(|headers| convert::string(headers, "headers")).transpose()?;
            let pairs = wire::unpack_pairs(headers.as_deref().unwrap_or(""))?;
            (method.as_str(), url.as_str(), pairs, 3)
        }
    };
    // body and date first: the usual signs pass at most those two, and napi-rs reads up to four
    // arguments in one step (a fifth costs a second read and an allocation)
    let body = convert::body(arg(optional)?, "body")?;
    let payload_hash = arg(optional + 2)?.map(|v| convert::string(v, "payloadHash")).transpose()?;
    let unsigned = match arg(optional + 3)? {
        None => false,
        Some(value) => bool::from_unknown(value).map_err(|e| convert::napi_failure("unsignedPayload", &e))?,
    };
    let date = convert::time(arg(optional + 1)?, "date")?;
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
    let ascii = pack_result(&output, packed)?;
    // Latin-1 when ASCII: a plain copy into a JavaScript string; UTF-8 otherwise (a header value
    // may hold any text)
    let created = if ascii { env.create_string_latin1(packed.as_bytes()) } else { env.create_string(packed) };
    created.map(|string| Some(string.raw())).map_err(|e| convert::napi_failure("the result", &e))
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
    /// A hasher for `algorithm`'s hash function (default: the core's default algorithm's);
    /// throws `unsupported_algorithm` for an unknown name.
    #[napi(constructor)]
    pub fn new(env: Env, algorithm: Option<String>) -> napi::Result<Self> {
        let algorithm = match algorithm {
            Some(name) => name.parse::<Algorithm>().into_js(&env)?,
            None => Algorithm::default(),
        };
        Ok(Self { inner: Some(apig::PayloadHasher::for_algorithm(algorithm)) })
    }

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

//! `Verifier`: the core's verifier with JavaScript values in and out.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Mutex;

use apig::{Authorization, Error, KeyResolver, SecretKey, SignableBody, SignableRequest, VerifyOptions, VerifyPolicy};
use napi::bindgen_prelude::{
    FromNapiValue, Function, FunctionCallContext, FunctionRef, JsObjectValue, Object, Unknown,
};
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

use crate::convert;
use crate::errors::{IntoJs, invalid_config, invalid_request};
use crate::wire::{self, pack_identity};

/// Where the verifier finds secrets.
enum Keys {
    /// A copy of the keys given as an object or `Map`.
    Fixed(HashMap<String, SecretKey>),
    /// The secret the JavaScript function returned for the request being verified (the core calls
    /// resolvers synchronously and off the JavaScript value graph, so the function is asked first).
    Asked(Mutex<Option<(String, SecretKey)>>),
}

impl KeyResolver for Keys {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        match self {
            Self::Fixed(keys) => keys.get(access_key).cloned(),
            Self::Asked(slot) => match &*slot.lock().ok()? {
                Some((key, secret)) if key == access_key => Some(secret.clone()),
                _ => None,
            },
        }
    }
}

type Lookup = FunctionRef<String, Unknown<'static>>;

/// Verifies signed requests against a set of keys.
#[napi]
pub struct Verifier {
    shared: Rc<Shared>,
}

/// The verifier, shared by the class instance and the function its `verify()` calls.
struct Shared {
    inner: apig::Verifier<Keys>,
    lookup: Option<Lookup>,
}

#[napi]
impl Verifier {
    /// A verifier for `options.keys`; throws `invalid_config` for unusable options.
    #[napi(constructor, ts_args_type = "options: VerifierOptions")]
    pub fn new(env: Env, options: Unknown<'_>) -> napi::Result<Self> {
        Self::build(options).into_js(&env)
    }

    fn build(options: Unknown<'_>) -> Result<Self, Error> {
        let failure = |e: napi::Error| convert::napi_failure("options", &e);
        if options.get_type().map_err(failure)? != ValueType::Object {
            return Err(invalid_config("new Verifier(options) needs an options object { keys }"));
        }
        let options = Object::from_unknown(options).map_err(failure)?;
        let keys = convert::property(&options, "keys")?
            .ok_or_else(|| invalid_config("keys is required: an object of access key → secret, or a function"))?;
        let (keys, lookup) = if keys.get_type().map_err(failure)? == ValueType::Function {
            let function = Function::<String, Unknown<'static>>::from_unknown(keys).map_err(failure)?;
            (Keys::Asked(Mutex::new(None)), Some(function.create_ref().map_err(failure)?))
        } else {
            (Keys::Fixed(fixed_keys(keys)?), None)
        };

        let max_skew = convert::optional_seconds(&options, "maxSkewSeconds", invalid_config)?;
        let algorithms = match convert::property(&options, "algorithms")? {
            Some(list) => Some(algorithms(list)?),
            None => None,
        };
        let region = convert::optional_string(&options, "region", invalid_config)?;
        let service = convert::optional_string(&options, "service", invalid_config)?;
        let policy = VerifyPolicy::try_from(VerifyOptions {
            max_skew_seconds: max_skew.map(|skew| skew.as_secs_f64()),
            require_host: convert::optional_bool(&options, "requireHost", invalid_config)?,
            allow_unsigned_payload: convert::optional_bool(&options, "allowUnsignedPayload", invalid_config)?,
            algorithms: algorithms.as_deref(),
            region: region.as_deref(),
            service: service.as_deref(),
        })?;
        Ok(Self { shared: Rc::new(Shared { inner: apig::Verifier::new(keys).with_policy(policy), lookup }) })
    }

    /// Internal, called once by `lib/engine.js` for each verifier: the function its `verify()`
    /// calls, `(method, url, headers, body, payloadHash, now, unsignedPayload)` with the headers
    /// packed ([`crate::wire`]), which returns the identity packed ([`pack_identity`]) or throws an
    /// `ApigError` whose `code` says why not (`signature_mismatch` errors carry the verifier's
    /// `canonicalRequest` and `stringToSign`). Like the signer's, the function shares this
    /// verifier, so a call does not go through napi-rs's class-method glue.
    #[napi(skip_typescript)]
    pub fn verify_function<'env>(&self, env: &'env Env) -> napi::Result<Function<'env, (), napi::sys::napi_value>> {
        let shared = Rc::clone(&self.shared);
        env.create_function_from_closure("verify", move |call| shared.verify_call(call.env, &call))
    }
}

impl Shared {
    /// One call of the function [`Verifier::verify_function`] returns.
    fn verify_call(&self, env: &Env, call: &FunctionCallContext<'_>) -> napi::Result<napi::sys::napi_value> {
        let result = self.verify_parts(env, call);
        if let Keys::Asked(slot) = self.inner.resolver()
            && let Ok(mut slot) = slot.lock()
        {
            *slot = None;
        }
        match result {
            Ok(Ok(identity)) => Ok(identity),
            Ok(Err(error)) => Err(error),
            Err(error) => Err(crate::errors::to_js(env, &error)),
        }
    }

    /// The outer error is the core's; the inner one a JavaScript exception (from the key function)
    /// to rethrow as is.
    fn verify_parts(
        &self,
        env: &Env,
        call: &FunctionCallContext<'_>,
    ) -> Result<napi::Result<napi::sys::napi_value>, Error> {
        let arg = |index: usize| -> Result<Option<Unknown<'_>>, Error> {
            if index >= call.length() {
                return Ok(None);
            }
            let value = call.get::<Unknown<'_>>(index).map_err(|e| convert::napi_failure("an argument", &e))?;
            convert::present(value)
        };
        let required = |value: Option<Unknown<'_>>, name: &str| match value {
            Some(value) => convert::string(value, name),
            None => Err(invalid_request(format!("{name} is required"))),
        };
        let method = required(arg(0)?, "method")?;
        let url = required(arg(1)?, "url")?;
        let headers = arg(2)?.map(|headers| convert::string(headers, "headers")).transpose()?;
        let pairs = wire::unpack_pairs(headers.as_deref().unwrap_or(""))?;
        let body = convert::body(arg(3)?, "body")?;
        let payload_hash = arg(4)?.map(|v| convert::string(v, "payloadHash")).transpose()?;
        let now = convert::time(arg(5)?, "now")?;
        let unsigned = match arg(6)? {
            None => false,
            Some(value) => bool::from_unknown(value).map_err(|e| convert::napi_failure("unsignedPayload", &e))?,
        };
        let signable = match &payload_hash {
            Some(hash) => SignableBody::Precomputed(hash),
            None if unsigned => SignableBody::Unsigned,
            None => body.signable(),
        };
        let request = SignableRequest::new(&method, &url, pairs.as_slice(), signable);
        if let Err(thrown) = self.ask(env, &request)? {
            return Ok(Err(thrown));
        }
        let verified = match now {
            Some(now) => self.inner.verify_at(&request, now)?,
            None => self.inner.verify(&request)?,
        };
        let mut packed = String::with_capacity(128);
        let ascii = pack_identity(&verified, &mut packed)?;
        let created = if ascii { env.create_string_latin1(packed.as_bytes()) } else { env.create_string(&packed) };
        Ok(created.map(|string| string.raw()))
    }

    /// With a key function: asks it for the secret of the request's access key (when the
    /// `Authorization` header parses; otherwise the core reports why it does not).
    fn ask(&self, env: &Env, request: &SignableRequest<'_>) -> Result<napi::Result<()>, Error> {
        let (Some(lookup), Keys::Asked(slot)) = (&self.lookup, self.inner.resolver()) else { return Ok(Ok(())) };
        let Some(Ok(auth)) = request.header("authorization").map(Authorization::parse) else { return Ok(Ok(())) };
        let function = match lookup.borrow_back(env) {
            Ok(function) => function,
            Err(e) => return Ok(Err(e)),
        };
        let answer = match function.call(auth.access_key.to_owned()) {
            Ok(answer) => answer,
            Err(thrown) => return Ok(Err(thrown)),
        };
        let secret = match answer.get_type() {
            Ok(ValueType::Undefined | ValueType::Null) => return Ok(Ok(())),
            Ok(ValueType::String) => String::from_unknown(answer).map_err(|e| convert::napi_failure("the key", &e))?,
            _ if answer.is_promise().unwrap_or(false) => {
                return Err(invalid_config("the keys function must return the secret synchronously, not a Promise"));
            }
            _ => return Err(invalid_config("the keys function must return a string or undefined")),
        };
        if let Ok(mut slot) = slot.lock() {
            *slot = Some((auth.access_key.to_owned(), SecretKey::new(secret)));
        }
        Ok(Ok(()))
    }
}

/// The key store packed by `lib/engine.js` (`accessKey\0secret\0…`, [`wire::unpack_pairs`]).
fn fixed_keys(keys: Unknown<'_>) -> Result<HashMap<String, SecretKey>, Error> {
    let packed = convert::string(keys, "keys")
        .map_err(|_| invalid_config("keys must be an object or Map of access key → secret string, or a function"))?;
    let pairs = wire::unpack_pairs(&packed).map_err(|e| invalid_config(e.message().to_owned()))?;
    Ok(pairs.as_slice().iter().map(|&(key, secret)| (key.to_owned(), SecretKey::new(secret))).collect())
}

fn algorithms(list: Unknown<'_>) -> Result<Vec<String>, Error> {
    let failure = |e: napi::Error| convert::napi_failure("algorithms", &e);
    if !list.is_array().map_err(failure)? {
        return Err(invalid_config("algorithms must be an array of algorithm names"));
    }
    let list = Object::from_unknown(list).map_err(failure)?;
    (0..list.get_array_length().map_err(failure)?)
        .map(|i| {
            convert::string(list.get_element(i).map_err(failure)?, "an algorithm")
                .map_err(|e| invalid_config(e.message().to_owned()))
        })
        .collect()
}

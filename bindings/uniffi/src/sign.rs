//! The client side: a [`Signer`] turns a [`Request`] into the headers to add.

use std::time::SystemTime;

use apig::SignableRequest;

use crate::convert::{Algorithm, Header, Request, SignerOptions};
use crate::errors::ApigError;

/// What signing produced: the headers to add to the request and the strings behind them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedRequest {
    /// Headers to add, in order: `X-Project-Id`, `X-Domain-Id`, `X-Security-Token` (the signer's,
    /// when the request had none), `Host` (only when the request had none and the URL is absolute),
    /// `X-Sdk-Date` (when the request had none), `X-Sdk-Content-Sha256` (unsigned payload),
    /// `Authorization`.
    pub headers: Vec<Header>,
    /// The `Authorization` header value.
    pub authorization: String,
    /// The lower-case hex signature.
    pub signature: String,
    /// The `SignedHeaders` list, e.g. `host;x-sdk-date`.
    pub signed_headers: String,
    /// The `X-Sdk-Date` value signed.
    pub date: String,
    /// V11 only: the credential scope `yyyymmdd/region/service`.
    pub credential_scope: Option<String>,
    /// The canonical request, exactly as hashed.
    pub canonical_request: String,
    /// The string to sign, exactly as fed to the HMAC.
    pub string_to_sign: String,
}

impl From<apig::SigningOutput> for SignedRequest {
    fn from(out: apig::SigningOutput) -> Self {
        Self {
            headers: out
                .headers()
                .map(|(name, value)| Header { name: name.to_owned(), value: value.to_owned() })
                .collect(),
            authorization: out.authorization,
            signature: out.signature,
            signed_headers: out.signed_headers,
            date: out.date,
            credential_scope: out.credential_scope,
            canonical_request: out.trace.canonical_request,
            string_to_sign: out.trace.string_to_sign,
        }
    }
}

/// Signs requests for one credential with one algorithm. Thread-safe; build it once and share it.
#[derive(Debug, uniffi::Object)]
pub struct Signer(apig::Signer);

#[uniffi::export]
impl Signer {
    /// A signer for `key` / `secret`. Options left `null`/`nil` keep the core's defaults
    /// (`apig::SigningSettings::default`): `algorithm` `SDK-HMAC-SHA256`; `region` is required by V11
    /// algorithms; `service` `apic` (V11 only). The hop-by-hop headers are not signed (the core's rule).
    ///
    /// `options` carries temporary credentials' security token, a project or domain id and the
    /// profile ([`SignerOptions`]).
    ///
    /// # Errors
    /// `InvalidConfig` for an empty key or secret, a V11 algorithm without a region, an empty
    /// token or id, …
    #[uniffi::constructor(default(algorithm = None, region = None, service = None, options = None))]
    pub fn new(
        key: String,
        secret: String,
        algorithm: Option<Algorithm>,
        region: Option<String>,
        service: Option<String>,
        options: Option<SignerOptions>,
    ) -> Result<Self, ApigError> {
        let extra = options.unwrap_or_default();
        let options = apig::SigningOptions {
            algorithm: algorithm.map(|a| apig::Algorithm::from(a).as_str()),
            region: region.as_deref(),
            service: service.as_deref(),
            project_id: extra.project_id.as_deref(),
            domain_id: extra.domain_id.as_deref(),
            ..apig::SigningOptions::default()
        };
        let mut settings = apig::SigningSettings::try_from(options)?;
        settings.profile = extra.profile.unwrap_or_default().into();
        let mut builder = apig::Signer::builder(key, secret).settings(settings);
        if let Some(token) = extra.security_token {
            builder = builder.security_token(token);
        }
        Ok(Self(builder.build()?))
    }

    /// Signs `request`. The signing time is its `X-Sdk-Date` header if it has one, else `at`, else now.
    ///
    /// # Errors
    /// `InvalidRequest` (bad URL, method, header), `MalformedDate` (also for an `at` outside the
    /// years 0001 to 9999, which no `X-Sdk-Date` can carry), `DuplicateHeader`.
    #[uniffi::method(default(at = None))]
    pub fn sign(&self, request: &Request, at: Option<SystemTime>) -> Result<SignedRequest, ApigError> {
        Ok(request.with_signable(|r| self.sign_signable(r, at))?.into())
    }

    /// The access key.
    pub fn access_key(&self) -> String {
        self.0.access_key().to_owned()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.0.algorithm().into()
    }
}

impl Signer {
    /// [`Signer::sign`] of the core's view of a request.
    pub(crate) fn sign_signable(
        &self,
        request: &SignableRequest<'_>,
        at: Option<SystemTime>,
    ) -> Result<apig::SigningOutput, apig::Error> {
        match at {
            Some(at) => self.0.sign_at(request, at),
            None => self.0.sign(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn a_time_without_an_x_sdk_date_form_is_malformed_date() {
        let signer = Signer::new("AK".into(), "secret".into(), None, None, None, None).unwrap();
        let request = Request {
            method: "GET".into(),
            url: "https://h/".into(),
            headers: Vec::new(),
            body: Vec::new(),
            unsigned_payload: false,
        };
        let far = UNIX_EPOCH + Duration::from_secs(1_000_000_000_000_000);
        let err = signer.sign(&request, Some(far)).unwrap_err();
        assert!(matches!(err, ApigError::MalformedDate { .. }), "{err:?}");
        assert_eq!(err.code(), "malformed_date");
    }
}

"""Huawei Cloud API Gateway (APIG) App authentication: sign and verify requests.

The signing work is done by the project's Rust core (``apig._apig``); this package adds the
Python idioms around it:

* :class:`Signer` / :class:`SignedRequest` – sign a request, get the headers to add.
* :class:`Verifier` / :class:`Verified` – verify a received request.
* :class:`Credentials` and the providers :class:`StaticProvider`, :class:`EnvironmentProvider`,
  :class:`ProfileProvider`, :class:`MetadataProvider`, :class:`ChainProvider` (the Rust crate
  ``apig-credentials``: refresh before expiry, single-flight), raising :class:`CredentialsError`.
* :class:`ApigError` and one subclass per error kind, each with the core's stable ``code`` and
  what APIG answers for it (``status``, ``apig_code``, ``apig_message``).
* ``apig.requests.AppAuth``, ``apig.httpx.AppAuth`` and ``apig.aiohttp.AppAuthMiddleware`` –
  client integrations (a key pair, a signer or a credentials provider; ``retry_on_expired``).
* ``apig.asgi.VerifyMiddleware`` and ``apig.wsgi.VerifyMiddleware`` – server integrations.
* ``apig.compat.signer`` – a drop-in for Huawei's ``apig_sdk.signer``.
"""

from apig._apig import (
    ALGORITHMS,
    CREDENTIALS_ERROR_CODES,
    ERROR_CODES,
    HOP_BY_HOP_HEADERS,
    UNSIGNED_PAYLOAD,
    ApigError,
    BodyReadError,
    ChainProvider,
    CredentialScopeMismatchError,
    Credentials,
    CredentialsError,
    CredentialsProvider,
    DateNotSignedError,
    DuplicateHeaderError,
    EnvironmentProvider,
    ExpiredError,
    HostNotSignedError,
    InvalidConfigError,
    InvalidRequestError,
    MalformedAuthorizationError,
    MalformedDateError,
    MetadataProvider,
    MissingAuthorizationError,
    MissingDateError,
    PayloadHashMismatchError,
    ProfileProvider,
    SignatureMismatchError,
    SignedHeaderMissingError,
    SignedRequest,
    Signer,
    StaticProvider,
    UnknownAccessKeyError,
    UnsignedPayloadNotAllowedError,
    UnsupportedAlgorithmError,
    Verified,
    Verifier,
    __version__,
)

__all__ = [
    "ALGORITHMS",
    "CREDENTIALS_ERROR_CODES",
    "ERROR_CODES",
    "HOP_BY_HOP_HEADERS",
    "UNSIGNED_PAYLOAD",
    "ApigError",
    "BodyReadError",
    "ChainProvider",
    "CredentialScopeMismatchError",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "DateNotSignedError",
    "DuplicateHeaderError",
    "EnvironmentProvider",
    "ExpiredError",
    "HostNotSignedError",
    "InvalidConfigError",
    "InvalidRequestError",
    "MalformedAuthorizationError",
    "MalformedDateError",
    "MetadataProvider",
    "MissingAuthorizationError",
    "MissingDateError",
    "PayloadHashMismatchError",
    "ProfileProvider",
    "SignatureMismatchError",
    "SignedHeaderMissingError",
    "SignedRequest",
    "Signer",
    "StaticProvider",
    "UnknownAccessKeyError",
    "UnsignedPayloadNotAllowedError",
    "UnsupportedAlgorithmError",
    "Verified",
    "Verifier",
    "__version__",
    "error_class",
]


def error_class(code: str) -> "type[ApigError]":
    """The exception class whose ``code`` is ``code`` (one of :data:`ERROR_CODES`).

    Raises :class:`KeyError` for an unknown code.
    """
    for cls in ApigError.__subclasses__():
        if cls.code == code:
            return cls
    raise KeyError(code)

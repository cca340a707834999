"""Type stubs of the native module ``apig._apig`` (checked by ``mypy.stubtest``)."""

import datetime
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Protocol, Union, final

from typing_extensions import disjoint_base

__all__ = [
    "ALGORITHMS",
    "CREDENTIALS_ERROR_CODES",
    "DEFAULT_BODY_LIMIT",
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
    "_ClientSigner",
    "_body_too_large",
]

__version__: Final[str]
ALGORITHMS: Final[tuple[str, ...]]
ERROR_CODES: Final[tuple[str, ...]]
CREDENTIALS_ERROR_CODES: Final[tuple[str, ...]]
UNSIGNED_PAYLOAD: Final[str]
HOP_BY_HOP_HEADERS: Final[tuple[str, ...]]
DEFAULT_BODY_LIMIT: Final[int]

def _body_too_large(limit: int) -> tuple[int, str, str]: ...

class _Readable(Protocol):
    def read(self, size: int = ..., /) -> Union[bytes, str]: ...

_Text = Union[str, bytes]
_Headers = Union[Mapping[str, str], Mapping[bytes, bytes], Iterable[tuple[_Text, _Text]], Iterable[list[_Text]]]
_Body = Union[bytes, bytearray, memoryview, str, _Readable]
_Time = Union[str, datetime.datetime, int, float]
_Secret = Union[str, bytes]
_KeyStore = Union[Mapping[str, _Secret], Callable[[str], Union[_Secret, None]]]

@final
class Signer:
    """Signs requests for one credential with one algorithm. Thread-safe; create it once."""

    def __new__(
        cls,
        key: str,
        secret: _Secret,
        *,
        algorithm: Union[str, None] = None,
        region: Union[str, None] = None,
        service: Union[str, None] = None,
        excluded_headers: Union[str, None] = None,
        security_token: Union[str, None] = None,
        project_id: Union[str, None] = None,
        domain_id: Union[str, None] = None,
        profile: Union[str, None] = None,
    ) -> Signer: ...
    @property
    def key(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def excluded_headers(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def project_id(self) -> Union[str, None]: ...
    @property
    def domain_id(self) -> Union[str, None]: ...
    def sign(
        self,
        method: _Text,
        url: _Text,
        headers: Union[_Headers, None] = None,
        body: Union[_Body, None] = None,
        *,
        unsigned_payload: bool = False,
        date: Union[_Time, None] = None,
    ) -> SignedRequest: ...

@final
class SignedRequest:
    """What signing produced: the headers to add and the strings behind the signature."""

    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def authorization(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def signed_headers(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def credential_scope(self) -> Union[str, None]: ...
    @property
    def canonical_request(self) -> str: ...
    @property
    def string_to_sign(self) -> str: ...

@final
class Verifier:
    """Verifies signed requests against a key store (a mapping or a callable)."""

    def __new__(
        cls,
        keys: _KeyStore,
        *,
        max_skew: Union[float, datetime.timedelta, None] = None,
        require_host: Union[bool, None] = None,
        allow_unsigned_payload: Union[bool, None] = None,
        algorithms: Union[Iterable[str], None] = None,
        region: Union[str, None] = None,
        service: Union[str, None] = None,
    ) -> Verifier: ...
    @property
    def max_skew(self) -> float: ...
    @property
    def require_host(self) -> bool: ...
    @property
    def allow_unsigned_payload(self) -> bool: ...
    @property
    def algorithms(self) -> list[str]: ...
    def verify(
        self,
        method: _Text,
        url: _Text,
        headers: _Headers,
        body: Union[_Body, None] = ...,
        *,
        now: Union[_Time, None] = None,
    ) -> Verified: ...

@final
class Verified:
    """A request that passed verification."""

    @property
    def access_key(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def signed_headers(self) -> list[str]: ...
    @property
    def date(self) -> str: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def unsigned_payload(self) -> bool: ...
    @property
    def security_token(self) -> Union[str, None]: ...

class ApigError(Exception):
    """Base class of every apig error; ``code`` is the core's stable code. ``status``,
    ``apig_code`` and ``apig_message`` are what APIG answers for it (the core's mapping)."""

    code: str
    message: str
    status: int
    apig_code: str
    canonical_request: Union[str, None]
    string_to_sign: Union[str, None]
    authentication_failure: bool
    apig_message: str

class MissingAuthorizationError(ApigError): ...
class MalformedAuthorizationError(ApigError): ...
class UnsupportedAlgorithmError(ApigError): ...
class UnknownAccessKeyError(ApigError): ...
class MissingDateError(ApigError): ...
class MalformedDateError(ApigError): ...
class DateNotSignedError(ApigError): ...
class ExpiredError(ApigError): ...
class SignedHeaderMissingError(ApigError): ...
class HostNotSignedError(ApigError): ...
class DuplicateHeaderError(ApigError): ...
class CredentialScopeMismatchError(ApigError): ...
class UnsignedPayloadNotAllowedError(ApigError): ...
class PayloadHashMismatchError(ApigError): ...
class SignatureMismatchError(ApigError): ...
class InvalidRequestError(ApigError): ...
class InvalidConfigError(ApigError): ...
class BodyReadError(ApigError): ...

class CredentialsError(ApigError):
    """A credential provider failed: ``code`` (one of ``CREDENTIALS_ERROR_CODES``), the
    ``provider`` that failed and the ``source`` it read (a variable, a file, a URL)."""

    code: str
    provider: str
    source: str

@final
class Credentials:
    """An access key and its secret (never shown), for temporary credentials a security token and
    an expiry, optionally the project or domain id."""

    def __new__(
        cls,
        access_key: str,
        secret_key: _Secret,
        *,
        security_token: Union[str, None] = None,
        project_id: Union[str, None] = None,
        domain_id: Union[str, None] = None,
        expires_at: Union[_Time, None] = None,
    ) -> Credentials: ...
    @property
    def access_key(self) -> str: ...
    @property
    def security_token(self) -> Union[str, None]: ...
    @property
    def project_id(self) -> Union[str, None]: ...
    @property
    def domain_id(self) -> Union[str, None]: ...
    @property
    def expires_at(self) -> Union[datetime.datetime, None]: ...
    def __eq__(self, value: object, /) -> bool: ...

class _ProvidesCredentials(Protocol):
    def credentials(self) -> Credentials: ...

_Seconds = Union[float, datetime.timedelta]

@disjoint_base
class CredentialsProvider:
    """The base class of the providers: ``credentials()`` and ``name``."""

    def credentials(self) -> Credentials: ...
    @property
    def name(self) -> str: ...

@final
class StaticProvider(CredentialsProvider):
    def __new__(
        cls,
        access_key: str,
        secret_key: _Secret,
        *,
        security_token: Union[str, None] = None,
        project_id: Union[str, None] = None,
        domain_id: Union[str, None] = None,
    ) -> StaticProvider: ...

@final
class EnvironmentProvider(CredentialsProvider):
    def __new__(cls) -> EnvironmentProvider: ...

@final
class ProfileProvider(CredentialsProvider):
    def __new__(
        cls, path: Union[str, os.PathLike[str], None] = None, profile: Union[str, None] = None
    ) -> ProfileProvider: ...

@final
class MetadataProvider(CredentialsProvider):
    def __new__(
        cls,
        endpoint: Union[str, None] = None,
        *,
        refresh_margin: Union[_Seconds, None] = None,
        timeout: Union[_Seconds, None] = None,
        min_refresh_interval: Union[_Seconds, None] = None,
    ) -> MetadataProvider: ...

@final
class ChainProvider(CredentialsProvider):
    def __new__(cls, providers: Union[Iterable[_ProvidesCredentials], None] = None) -> ChainProvider: ...
    def resolve(self) -> tuple[Credentials, str]: ...

@final
class _ClientSigner:
    def __new__(
        cls,
        credentials: Union[_ProvidesCredentials, Signer],
        *,
        algorithm: Union[str, None] = None,
        region: Union[str, None] = None,
        service: Union[str, None] = None,
        excluded_headers: Union[str, None] = None,
        project_id: Union[str, None] = None,
        domain_id: Union[str, None] = None,
        profile: Union[str, None] = None,
    ) -> _ClientSigner: ...
    def may_block(self) -> bool: ...
    def prefetch(self) -> None: ...
    def sign(
        self,
        method: _Text,
        url: _Text,
        headers: Union[_Headers, None] = None,
        body: Union[_Body, None] = None,
        *,
        unsigned_payload: bool = False,
    ) -> SignedRequest: ...
    def learn(self, text: str) -> bool: ...
    @property
    def clock_offset(self) -> int: ...
    @clock_offset.setter
    def clock_offset(self, seconds: int) -> None: ...

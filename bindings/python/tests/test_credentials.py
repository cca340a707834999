"""The credential providers (the Rust crate apig-credentials through the binding) against real
files, the process environment and a local metadata service on 127.0.0.1: documented JSON,
credentials that expire and are refreshed, a slow or unreachable endpoint and bad answers as typed
errors naming the provider and the source, and a chain saying which provider answered."""

from __future__ import annotations

import datetime
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import apig

from .metadata_server import MetadataService

ENV = ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN",
       "HUAWEICLOUD_SDK_PROJECT_ID", "HUAWEICLOUD_SDK_DOMAIN_ID", "HUAWEICLOUD_SDK_CREDENTIALS_FILE")


@pytest.fixture
def metadata() -> Iterator[MetadataService]:
    service = MetadataService()
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.huaweicloud/credentials
    return monkeypatch


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_static_provider_and_credentials() -> None:
    provider = apig.StaticProvider("AK1", "SK-secret", security_token="TOKEN-VALUE", project_id="p1", domain_id="d1")
    assert isinstance(provider, apig.CredentialsProvider) and provider.name == "static"
    c = provider.credentials()
    assert (c.access_key, c.security_token, c.project_id, c.domain_id, c.expires_at) == ("AK1", "TOKEN-VALUE", "p1", "d1", None)
    assert "SK-secret" not in repr(c) and "TOKEN-VALUE" not in repr(c) and "SK-secret" not in str(c)
    assert not hasattr(c, "secret_key") and not hasattr(c, "secret")
    assert c == provider.credentials() and c != apig.Credentials("AK1", "other")
    made = apig.Credentials("AK", b"SK", expires_at=datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
    assert made.expires_at == datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert made.expires_at is not None and made.expires_at.tzinfo is not None
    with pytest.raises(AttributeError):
        c.access_key = "other"  # type: ignore[misc]


def test_environment_provider(clean_env: pytest.MonkeyPatch) -> None:
    provider = apig.EnvironmentProvider()
    with pytest.raises(apig.CredentialsError) as missing:
        provider.credentials()
    e = missing.value
    assert (e.code, e.provider, e.source) == ("missing", "environment", "HUAWEICLOUD_SDK_AK")
    assert isinstance(e, apig.ApigError) and e.code in apig.CREDENTIALS_ERROR_CODES
    clean_env.setenv("HUAWEICLOUD_SDK_AK", "ENVAK")
    clean_env.setenv("HUAWEICLOUD_SDK_SK", "")  # empty counts as unset
    with pytest.raises(apig.CredentialsError) as empty:
        provider.credentials()
    assert empty.value.source == "HUAWEICLOUD_SDK_SK"
    clean_env.setenv("HUAWEICLOUD_SDK_SK", "ENVSK")
    clean_env.setenv("HUAWEICLOUD_SDK_SECURITY_TOKEN", "envtoken")
    clean_env.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "proj")
    c = provider.credentials()  # read at each call
    assert (c.access_key, c.security_token, c.project_id, c.domain_id) == ("ENVAK", "envtoken", "proj", None)


def test_profile_provider(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "# Huawei Cloud credentials\n[basic]\nak = BASICAK\nsk = BASICSK\nproject_id = p-1\n"
        "[global]\nAK = GLOBALAK\nSK = GLOBALSK\ndomain_id = d-1\nsecurity_token = gt\n",
        encoding="utf-8",
    )
    basic = apig.ProfileProvider(path).credentials()
    assert (basic.access_key, basic.project_id, basic.security_token) == ("BASICAK", "p-1", None)
    glob = apig.ProfileProvider(str(path), profile="global").credentials()
    assert (glob.access_key, glob.domain_id, glob.security_token) == ("GLOBALAK", "d-1", "gt")
    # the default path: HUAWEICLOUD_SDK_CREDENTIALS_FILE
    clean_env.setenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", str(path))
    assert apig.ProfileProvider().credentials().access_key == "BASICAK"
    assert apig.ProfileProvider(profile="global").name == "profile"

    with pytest.raises(apig.CredentialsError) as nofile:
        apig.ProfileProvider(tmp_path / "absent").credentials()
    assert (nofile.value.code, nofile.value.provider) == ("missing", "profile")
    assert str(tmp_path / "absent") in nofile.value.source
    bad = tmp_path / "bad"
    bad.write_text("[basic\nak = X\n", encoding="utf-8")
    with pytest.raises(apig.CredentialsError) as malformed:
        apig.ProfileProvider(bad).credentials()
    assert malformed.value.code == "malformed" and str(bad) in malformed.value.source
    with pytest.raises(apig.CredentialsError) as section:
        apig.ProfileProvider(path, profile="nope").credentials()
    assert section.value.code == "missing" and "[nope]" in section.value.source


def test_metadata_provider_documented_json(metadata: MetadataService) -> None:
    provider = apig.MetadataProvider(metadata.endpoint)
    assert provider.name == "metadata"
    c = provider.credentials()
    assert (c.access_key, c.security_token) == ("TMPAK1", "token-1+/=")
    assert c.expires_at is not None and c.expires_at.tzinfo is not None
    assert abs(c.expires_at.timestamp() - metadata.expires_at) < 1
    # cached: no second fetch while far from expiry
    assert provider.credentials() == c and metadata.gets == 1


def test_metadata_provider_refreshes_expiring_credentials(metadata: MetadataService) -> None:
    metadata.lifetime = 3.0
    metadata.rotate()  # TMPAK2, expiring in 3 s: inside any refresh margin of more than 3 s
    provider = apig.MetadataProvider(metadata.endpoint, refresh_margin=60, min_refresh_interval=0.0)
    assert provider.credentials().access_key == "TMPAK2"
    metadata.lifetime = 3600.0
    metadata.rotate()  # the service now hands out TMPAK3
    # the cached TMPAK2 is answered at once while a background refresh fetches TMPAK3
    deadline = time.monotonic() + 5
    seen = set()
    while time.monotonic() < deadline:
        key = provider.credentials().access_key
        seen.add(key)
        if key == "TMPAK3":
            break
        time.sleep(0.02)
    assert "TMPAK3" in seen, seen


def test_metadata_provider_releases_the_gil_while_fetching(metadata: MetadataService) -> None:
    metadata.delay = 0.4
    provider = apig.MetadataProvider(metadata.endpoint)
    got: list[apig.Credentials] = []
    worker = threading.Thread(target=lambda: got.append(provider.credentials()))
    worker.start()
    spins = 0
    while worker.is_alive():
        spins += 1  # this thread keeps running Python while the other waits on the socket
    worker.join()
    assert got and got[0].access_key == "TMPAK1"
    assert spins > 1000


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 200, "malformed"),
        ('{"credential": {"access": "A", "secret": "S", "expires_at": "2030-01-01T00:00:00Z"}}', 200, "missing_field"),
        ("{}", 200, "missing_field"),
        ('{"credential": {"access": "A", "secret": "S", "securitytoken": "T", "expires_at": "soon"}}', 200, "malformed"),
        ('{"error": "boom"}', 500, "http_status"),
    ],
)
def test_metadata_provider_bad_answers(metadata: MetadataService, body: str, status: int, code: str) -> None:
    metadata.body, metadata.status = body, status
    with pytest.raises(apig.CredentialsError) as caught:
        apig.MetadataProvider(metadata.endpoint).credentials()
    e = caught.value
    assert (e.code, e.provider) == (code, "metadata"), str(e)
    assert e.source == f"{metadata.endpoint}/openstack/latest/securitykey"
    assert "TMPSK" not in str(e)
    # the error pickles with its class (an exception crossing processes)
    assert type(pickle.loads(pickle.dumps(e))) is apig.CredentialsError


def test_metadata_provider_slow_and_unreachable(metadata: MetadataService) -> None:
    metadata.delay = 2.0
    started = time.monotonic()
    with pytest.raises(apig.CredentialsError) as slow:
        apig.MetadataProvider(metadata.endpoint, timeout=0.3).credentials()
    assert (slow.value.code, slow.value.provider) == ("timeout", "metadata")
    assert time.monotonic() - started < 1.8
    endpoint = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(apig.CredentialsError) as unreachable:
        apig.MetadataProvider(endpoint, timeout=datetime.timedelta(seconds=1)).credentials()
    assert unreachable.value.code == "unreachable" and unreachable.value.source.startswith(endpoint)
    with pytest.raises(ValueError):
        apig.MetadataProvider(endpoint, timeout=-1)


class Vault:
    """A provider written in Python (duck typing): anything with credentials()."""

    name = "vault"

    def __init__(self) -> None:
        self.calls = 0

    def credentials(self) -> apig.Credentials:
        self.calls += 1
        return apig.Credentials("VAULTAK", "VAULTSK", security_token="vt")


class Broken:
    def credentials(self) -> apig.Credentials:
        raise ConnectionError("vault is down")


def test_chain_says_which_provider_answered(clean_env: pytest.MonkeyPatch, metadata: MetadataService, tmp_path: Path) -> None:
    env, profile = apig.EnvironmentProvider(), apig.ProfileProvider(tmp_path / "absent")
    chain = apig.ChainProvider([env, profile, apig.MetadataProvider(metadata.endpoint)])
    assert chain.name == "chain"
    credentials, answered = chain.resolve()
    assert (credentials.access_key, answered) == ("TMPAK1", "metadata")
    assert chain.credentials().access_key == "TMPAK1"

    custom = apig.ChainProvider([Broken(), env, Vault()])
    credentials, answered = custom.resolve()
    assert (credentials.access_key, answered) == ("VAULTAK", "vault")

    none = apig.ChainProvider([Broken(), env, profile])
    with pytest.raises(apig.CredentialsError) as failed:
        none.resolve()
    e = failed.value
    assert (e.code, e.provider) == ("no_provider", "chain")
    assert "[unreachable] Broken provider" in str(e) and "HUAWEICLOUD_SDK_AK" in str(e) and "[missing] profile" in str(e)
    with pytest.raises(TypeError):
        apig.ChainProvider([object()])


def test_default_chain_reads_the_environment_first(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("HUAWEICLOUD_SDK_AK", "ENVAK")
    clean_env.setenv("HUAWEICLOUD_SDK_SK", "ENVSK")
    credentials, answered = apig.ChainProvider().resolve()
    assert (credentials.access_key, answered) == ("ENVAK", "environment")

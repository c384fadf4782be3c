"""The ACR keychain: Entra ID's token endpoint and ACR's /oauth2/exchange played by a small fake
(nothing real can answer them here), in front of a real registry whose htpasswd holds the
ACR user and the refresh token the exchange hands out."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from executor.registry import CredentialsError, DockerConfig, RegistryClient
from executor.registry.keychain import DockerKeychain
from executor.registry.keychains.acr import (
    ACR_USERNAME,
    ACRCredentials,
    AzureIdentity,
    default_exchange_url,
    is_acr_registry,
)
from tests.registry.keychains.conftest import empty_bin, push_small_blob
from tests.registry.servers import read_body, reply, serve
from tests.support.registry import RunningRegistry, run_registry

TENANT, CLIENT_ID, CLIENT_SECRET = "lamina-tenant", "lamina-app", "Cl1ent-s3cret-value"
FEDERATED_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6a2FuaWtvIn0.sig"
REFRESH_TOKEN = "acr-refresh-" + secrets.token_hex(8)
ARM_SCOPE = "https://management.azure.com/.default"


@dataclass
class FakeEntraAndExchange:
    """Entra ID's v2 token endpoint for one app (secret or federated assertion) and an ACR
    exchange endpoint that trades the access tokens it issued for :data:`REFRESH_TOKEN`."""

    services: set[str] = field(default_factory=set)
    issued: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request) -> None:  # type: ignore[no-untyped-def]
        form = dict(parse_qsl(read_body(request).decode()))
        path = urlsplit(request.path).path
        with self.lock:
            self.calls.append((path, form))
        if request.command == "POST" and path == f"/{TENANT}/oauth2/v2.0/token":
            self._token(request, form)
        elif request.command == "POST" and path == "/oauth2/exchange":
            self._exchange(request, form)
        else:
            reply(request, 404)

    def _token(self, request, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
        proof = form.get("client_secret") == CLIENT_SECRET or (
            form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            and form.get("client_assertion") == FEDERATED_JWT)
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != CLIENT_ID \
                or form.get("scope") != ARM_SCOPE or not proof:
            _json(request, 401, {"error": "invalid_client", "error_description":
                                 "AADSTS7000215: Invalid client secret provided.\r\n"
                                 "Trace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: now"})
            return
        token = "aad-" + secrets.token_hex(8)
        with self.lock:
            self.issued.add(token)
        _json(request, 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def _exchange(self, request, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
        if form.get("grant_type") != "access_token" or form.get("tenant") != TENANT \
                or form.get("service") not in self.services or form.get("access_token") not in self.issued:
            _json(request, 401, {"errors": [{"code": "UNAUTHORIZED",
                                             "message": "authentication required"}]})
            return
        _json(request, 200, {"refresh_token": REFRESH_TOKEN})

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.calls]


def _json(request, status: int, document: dict) -> None:  # type: ignore[no-untyped-def]
    reply(request, status, json.dumps(document).encode(), {"Content-Type": "application/json"})


@dataclass(frozen=True)
class ACRUnderTest:
    registry: RunningRegistry
    fake: FakeEntraAndExchange
    fake_host: str  # 127.0.0.1:PORT of the fake

    def exchange_url(self, registry: str) -> str:
        return f"http://{self.fake_host}/oauth2/exchange"

    def keychain(self, env: dict[str, str]) -> ACRCredentials:
        """The keychain as built in, but serving this loopback registry, exchanging at the fake."""
        return ACRCredentials(env=env, applies_to=lambda registry: registry == self.registry.host,
                              exchange_url=self.exchange_url)

    def env(self, **extra: str) -> dict[str, str]:
        return {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID,
                "AZURE_AUTHORITY_HOST": f"http://{self.fake_host}/", **extra}


@pytest.fixture(scope="module")
def acr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ACRUnderTest]:
    fake = FakeEntraAndExchange()
    with serve(fake.handle) as fake_host, \
            run_registry(tmp_path_factory.mktemp("acr-registry"), tls=True, username=ACR_USERNAME,
                         password=REFRESH_TOKEN) as registry:
        fake.services.add(registry.host)
        yield ACRUnderTest(registry, fake, fake_host)


def _push(acr: ACRUnderTest, source: object, repository: str) -> None:
    assert acr.registry.tls is not None
    with RegistryClient(acr.registry.host, credentials=source,  # type: ignore[arg-type]
                        ca_bundle=acr.registry.tls.ca_cert) as client:
        push_small_blob(client, repository)


def test_service_principal_secret_is_exchanged_for_a_refresh_token(acr: ACRUnderTest) -> None:
    keychain = acr.keychain(acr.env(AZURE_CLIENT_SECRET=CLIENT_SECRET))
    before = len(acr.fake.paths())
    _push(acr, keychain, "acr/secret")
    assert acr.fake.paths()[before:] == [f"/{TENANT}/oauth2/v2.0/token", "/oauth2/exchange"]
    _push(acr, keychain, "acr/secret")  # a second client: the refresh token is reused
    assert len(acr.fake.paths()) == before + 2
    assert keychain.credentials_for("other.example") is None  # not a registry it serves


def test_workload_identity_federated_token_file(tmp_path: Path, acr: ACRUnderTest) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(FEDERATED_JWT + "\n")
    keychain = acr.keychain(acr.env(AZURE_FEDERATED_TOKEN_FILE=str(token_file)))
    before = len(acr.fake.calls)
    _push(acr, keychain, "acr/workload")
    path, form = acr.fake.calls[before]
    assert path.endswith("/oauth2/v2.0/token") and form["client_assertion"] == FEDERATED_JWT
    assert "client_secret" not in form


def test_cred_helpers_acr_env_with_no_helper_on_path(tmp_path: Path, acr: ACRUnderTest) -> None:
    """config.json names acr-env for the registry and no docker-credential-acr-env exists."""
    keychain = ACRCredentials(env=acr.env(AZURE_CLIENT_SECRET=CLIENT_SECRET),
                              exchange_url=acr.exchange_url)
    assert not keychain.serves(acr.registry.host)  # chained, it answers for *.azurecr.io only
    docker = DockerKeychain(DockerConfig(cred_helpers={acr.registry.host: "acr-env"}),
                            path=empty_bin(tmp_path), stand_ins={"acr-env": keychain})
    _push(acr, docker, "acr/helper")


def test_refused_secret_is_one_line_without_secrets(acr: ACRUnderTest) -> None:
    keychain = acr.keychain(acr.env(AZURE_CLIENT_SECRET="wrong-" + CLIENT_SECRET))
    with pytest.raises(CredentialsError) as raised:
        _push(acr, keychain, "acr/refused")
    message = str(raised.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"get credentials for {acr.registry.host}: acr keychain: "), message
    assert "invalid_client: AADSTS7000215: Invalid client secret provided." in message
    assert "Trace ID" not in message and CLIENT_SECRET not in message


def test_exchange_refused_says_the_registry_diagnostics(acr: ACRUnderTest) -> None:
    keychain = ACRCredentials(env=acr.env(AZURE_CLIENT_SECRET=CLIENT_SECRET),
                              exchange_url=acr.exchange_url)
    with pytest.raises(CredentialsError, match="ACR token exchange .* answered 401: "
                       "UNAUTHORIZED: authentication required"):
        keychain.get("unknown.azurecr.io")


def test_nothing_configured_is_anonymous(acr: ACRUnderTest) -> None:
    before = len(acr.fake.calls)
    keychain = acr.keychain({"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID})
    assert keychain.credentials_for(acr.registry.host) is None
    assert len(acr.fake.calls) == before
    with pytest.raises(CredentialsError, match="acr keychain: AZURE_TENANT_ID not set"):
        acr.keychain({"AZURE_CLIENT_SECRET": "x", "AZURE_CLIENT_ID": "y"}).get(acr.registry.host)


def test_acr_hosts_endpoints_and_clouds() -> None:
    assert is_acr_registry("myregistry.azurecr.io") and is_acr_registry("r.azurecr.cn:443")
    assert not is_acr_registry("azurecr.io.example.com") and not is_acr_registry("mcr.microsoft.com")
    assert default_exchange_url("r.azurecr.io") == "https://r.azurecr.io/oauth2/exchange"
    base = {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": CLIENT_SECRET}
    public = AzureIdentity.from_env(base)
    assert public is not None and public.scope == ARM_SCOPE
    assert public.token_url == "https://login.microsoftonline.com/t/oauth2/v2.0/token"
    assert CLIENT_SECRET not in repr(public)
    china = AzureIdentity.from_env({**base, "AZURE_ENVIRONMENT": "AzureChinaCloud"})
    assert china is not None and china.token_url.startswith("https://login.chinacloudapi.cn/t/")
    assert china.scope == "https://management.chinacloudapi.cn/.default"
    assert AzureIdentity.from_env({"AZURE_TENANT_ID": "t"}) is None

"""Azure Container Registry credentials from Microsoft Entra ID (AAD), as docker-credential-acr-env
(built into kaniko) gets them, over plain HTTPS:

1. an AAD access token for Azure Resource Manager, by the client-credentials grant at
   ``$AZURE_AUTHORITY_HOST/<tenant>/oauth2/v2.0/token`` with ``AZURE_CLIENT_ID`` and either
   ``AZURE_CLIENT_SECRET`` (a service principal) or the federated token in
   ``AZURE_FEDERATED_TOKEN_FILE`` (workload identity: the assertion is that file's JWT);
2. ``POST https://<registry>/oauth2/exchange`` (``grant_type=access_token``, ``service``,
   ``tenant``, ``access_token``) trades it for an ACR refresh token;
3. that refresh token is the password of ``00000000-0000-0000-0000-000000000000``, as
   ``az acr login --expose-token`` documents it.

With none of those variables set the keychain has nothing to say (anonymous pulls, as kaniko).
Managed identity through the instance metadata service is not done here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import requests

from executor.http import RequestRetry, make_session

from ..credentials import Credentials
from ..errors import parse_diagnostics
from ..streams import describe_network_error
from .base import BuiltinKeychain, KeychainFailure, hostname

__all__ = ["ACR_USERNAME", "ACRCredentials", "AzureIdentity", "default_exchange_url", "is_acr_registry"]

ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
_ACR_DOMAINS = (".azurecr.io", ".azurecr.cn", ".azurecr.de", ".azurecr.us")
# AZURE_ENVIRONMENT (go-autorest's names, as the acr-env helper reads them) -> (authority, ARM)
_CLOUDS = {
    "azurepubliccloud": ("https://login.microsoftonline.com", "https://management.azure.com"),
    "azurechinacloud": ("https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn"),
    "azureusgovernmentcloud": ("https://login.microsoftonline.us",
                               "https://management.usgovcloudapi.net"),
}
_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Both endpoints are POSTs that mint a fresh token each time: repeating one after a dropped
# connection, a 429 or a 5xx is harmless, so they are retried like downloads.
TOKEN_RETRY = RequestRetry(attempts=3, methods=frozenset({"POST"}), connect=2, read=2, status=2,
                           backoff=0.5)
_TIMEOUT = (10.0, 30.0)
_MAX_REASON = 200
_TOKEN_MARGIN = 300.0  # seconds before the AAD token's expiry to ask for a new one
# ACR refresh tokens live three hours; keep one at most an hour (and never past the AAD token).
_REFRESH_TOKEN_KEPT = 3600.0


def is_acr_registry(registry: str) -> bool:
    return hostname(registry).endswith(_ACR_DOMAINS)


def default_exchange_url(registry: str) -> str:
    return f"https://{registry}/oauth2/exchange"


@dataclass(frozen=True)
class AzureIdentity:
    """Who the executor is in Entra ID, from the environment (azure-identity's variables)."""

    tenant_id: str
    client_id: str
    token_url: str
    scope: str
    client_secret: str | None = field(default=None, repr=False)
    federated_token_file: Path | None = None
    federated_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AzureIdentity | None:
        secret = env.get("AZURE_CLIENT_SECRET") or None
        token_file = env.get("AZURE_FEDERATED_TOKEN_FILE") or None
        token = env.get("AZURE_FEDERATED_TOKEN") or None
        if not (secret or token_file or token):
            return None
        missing = [name for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID") if not env.get(name)]
        if missing:
            raise KeychainFailure(f"{' and '.join(missing)} not set (needed with "
                                  f"{'AZURE_CLIENT_SECRET' if secret else 'a federated token'})")
        cloud = (env.get("AZURE_ENVIRONMENT") or "AzurePublicCloud").lower()
        if cloud not in _CLOUDS:
            raise KeychainFailure(f"unknown AZURE_ENVIRONMENT {env['AZURE_ENVIRONMENT']!r}")
        authority, resource_manager = _CLOUDS[cloud]
        authority = (env.get("AZURE_AUTHORITY_HOST") or authority).rstrip("/")
        tenant = env["AZURE_TENANT_ID"]
        return cls(tenant_id=tenant, client_id=env["AZURE_CLIENT_ID"],
                   token_url=f"{authority}/{tenant}/oauth2/v2.0/token",
                   scope=f"{resource_manager}/.default", client_secret=secret,
                   federated_token_file=Path(token_file) if token_file else None,
                   federated_token=token)

    def token_form(self) -> dict[str, str]:
        """The client-credentials grant: with the secret, or the federated token (read anew each
        time: a projected service-account token is rotated on disk)."""
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "scope": self.scope}
        if self.client_secret:
            form["client_secret"] = self.client_secret
            return form
        assertion = self.federated_token
        if self.federated_token_file is not None:
            try:
                assertion = self.federated_token_file.read_text().strip()
            except OSError as e:
                raise KeychainFailure(f"cannot read AZURE_FEDERATED_TOKEN_FILE "
                                      f"{self.federated_token_file}: {e.strerror or e}") from None
        if not assertion:
            raise KeychainFailure("the federated token (AZURE_FEDERATED_TOKEN_FILE) is empty")
        form.update(client_assertion_type=_JWT_BEARER, client_assertion=assertion)
        return form


@dataclass
class ACRCredentials(BuiltinKeychain):
    """ACR refresh tokens by AAD token exchange; the AAD token is kept until shortly before it
    expires, each registry's refresh token for an hour at most. ``exchange_url`` says where a registry's
    exchange endpoint is; ``session`` is made with :data:`TOKEN_RETRY` when not given."""

    name: ClassVar[str] = "acr"
    helper_names: ClassVar[frozenset[str]] = frozenset({"acr-env", "acr"})

    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    applies_to: Callable[[str], bool] = is_acr_registry
    exchange_url: Callable[[str], str] = default_exchange_url
    session: requests.Session | None = field(default=None, repr=False)
    clock: Callable[[], float] = time.monotonic
    _aad: tuple[str, float] | None = field(default=None, repr=False)
    _refresh: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def serves(self, registry: str) -> bool:
        return self.applies_to(registry)

    def lookup(self, registry: str) -> Credentials | None:
        identity = AzureIdentity.from_env(self.env)
        if identity is None:
            return None
        with self._lock:
            now = self.clock()
            held = self._refresh.get(registry)
            if held is None or now >= held[1]:
                access_token, valid_until = self._access_token(identity, now)
                held = (self._exchange(registry, identity, access_token),
                        min(valid_until, now + _REFRESH_TOKEN_KEPT))
                self._refresh[registry] = held
        return Credentials(username=ACR_USERNAME, password=held[0])

    def _access_token(self, identity: AzureIdentity, now: float) -> tuple[str, float]:
        if self._aad is not None and now < self._aad[1]:
            return self._aad
        document = self._post(identity.token_url, identity.token_form(), "Entra ID token endpoint")
        token, lifetime = document.get("access_token"), document.get("expires_in")
        if not isinstance(token, str) or not token:
            raise KeychainFailure(f"Entra ID token endpoint {identity.token_url} answered "
                                  "without an access_token")
        try:
            seconds = float(lifetime) if lifetime is not None else 3600.0  # v1 sends a string
        except (TypeError, ValueError):
            seconds = 3600.0
        self._aad = (token, now + max(seconds - _TOKEN_MARGIN, seconds / 2))
        return self._aad

    def _exchange(self, registry: str, identity: AzureIdentity, access_token: str) -> str:
        form = {"grant_type": "access_token", "service": registry, "tenant": identity.tenant_id,
                "access_token": access_token}
        document = self._post(self.exchange_url(registry), form, "ACR token exchange")
        refresh = document.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            raise KeychainFailure(f"ACR token exchange {self.exchange_url(registry)} answered "
                                  "without a refresh_token")
        return refresh

    def _post(self, url: str, form: Mapping[str, str], what: str) -> dict[str, Any]:
        if self.session is None:
            self.session = make_session(TOKEN_RETRY)
        try:
            response = self.session.post(url, data=dict(form), timeout=_TIMEOUT)
        except requests.RequestException as e:
            raise KeychainFailure(f"{what} {url} unreachable: {describe_network_error(e)}") from None
        with response:
            body = response.content[:64 * 1024]
        if response.status_code != 200:
            raise KeychainFailure(f"{what} {url} answered {response.status_code}: "
                                  f"{_reason(body, response.reason)}")
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            raise KeychainFailure(f"{what} {url} did not answer a JSON object")
        return document


def _reason(body: bytes, fallback: str | None) -> str:
    """The server's own words: Entra ID's ``error: error_description`` (its first line: the rest
    is trace and correlation ids), or a registry's ``errors[]``; cut short, on one line."""
    diagnostics = parse_diagnostics(body)
    if diagnostics:
        return "; ".join(str(d) for d in diagnostics[:3])
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict) and document.get("error"):
        description = str(document.get("error_description") or "").strip().splitlines()
        text = f"{document['error']}: {description[0]}" if description else str(document["error"])
    else:
        text = fallback or "no reason given"
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON] + "..."

"""One ``requests.Session`` per registry: retries, TLS trust and User-Agent configured once here."""

from __future__ import annotations

import importlib.metadata
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# Statuses worth another try: 429 (rate limited; Retry-After is honoured), 500 (transient
# server fault), 502/503/504 (a proxy or load balancer in front of the registry is restarting or
# timing out). 4xx other than 429 are answers, not faults, and are never retried.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Every method the registry API uses is safe to repeat: GET/HEAD read; a manifest PUT and a
# blob PUT ?digest= are addressed by content, so repeating them stores the same thing; a POST
# opens a fresh upload session (an abandoned one is garbage-collected by the registry); PATCH
# is only sent within an upload whose whole sequence the client restarts on failure.
RETRY_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"})
BACKOFF_FACTOR = 0.5


@dataclass(frozen=True)
class TLSOptions:
    """``skip_verify`` wins; else the system trust store, plus ``ca_bundle`` if given (as kaniko's
    --registry-certificate adds to, rather than replaces, the system roots)."""

    skip_verify: bool = False
    ca_bundle: Path | None = None
    # (certificate, key) PEM files presented to registries that ask for one (mutual TLS)
    client_cert: tuple[Path, Path] | None = None


def user_agent() -> str:
    try:
        version = importlib.metadata.version("lamina")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    return f"lamina/{version}"


def retry_policy(retries: int) -> Retry:
    return Retry(
        total=retries, connect=retries, read=retries, status=retries,
        # TLS failures and other non-network errors are not transient: fail at once.
        other=0,
        redirect=5,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        backoff_factor=BACKOFF_FACTOR,
        respect_retry_after_header=True,
        # After the last try hand back the response so its error body reaches the user.
        raise_on_status=False,
    )


class _TrustAdapter(HTTPAdapter):
    """An adapter whose TLS context trusts the system roots plus an extra CA bundle."""

    def __init__(self, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(*args, **kwargs)


class _RegistrySession(requests.Session):
    """A session whose ``verify=False`` survives $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE, which
    plain requests lets override it (psf/requests#3829)."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is False:
            settings["verify"] = False
        return settings


def make_session(tls: TLSOptions, retries: int) -> requests.Session:
    """A session for one registry. ``retries`` counts extra attempts after the first."""
    session = _RegistrySession()
    session.headers["User-Agent"] = user_agent()
    policy = retry_policy(retries)
    if tls.skip_verify:
        session.verify = False
        https_adapter = HTTPAdapter(max_retries=policy)
    elif tls.ca_bundle is not None:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(tls.ca_bundle))
        https_adapter = _TrustAdapter(context, max_retries=policy)
    else:
        https_adapter = HTTPAdapter(max_retries=policy)
    if tls.client_cert is not None:
        certificate, key = tls.client_cert
        for path in (certificate, key):
            if not path.is_file():
                raise ValueError(f"{path} is not a file")
        session.cert = (str(certificate), str(key))
    session.mount("https://", https_adapter)
    session.mount("http://", HTTPAdapter(max_retries=policy))
    return session

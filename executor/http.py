"""The one factory of ``requests`` sessions: registries, web contexts and ``ADD <url>`` downloads.

Every session gets lamina's User-Agent, its retries configured once on the adapters (a
:class:`RequestRetry`, turned into a ``urllib3.Retry``) and, when asked, TLS trust options. Proxies
come from the environment (``$HTTPS_PROXY``, ``$NO_PROXY``...) as requests always takes them, and
redirects are followed by requests, which drops ``Authorization`` when the host changes.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from executor import __version__

if TYPE_CHECKING:
    from requests.sessions import _Settings  # the stubs' TypedDict; not at run time

__all__ = ["DOWNLOAD_RETRY", "SYSTEM_TLS", "TRANSIENT_STATUSES", "RequestRetry", "TLSOptions",
           "make_session", "user_agent"]

# Statuses worth another try: 429 (rate limited; Retry-After is honoured), 500 (transient
# server fault), 502/503/504 (a proxy or load balancer in front of the server is restarting or
# timing out). 4xx other than 429 are answers, not faults, and are never retried.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RequestRetry:
    """How urllib3 retries one request: ``attempts`` extra tries in all, of which at most
    ``connect``/``read``/``status``/``other`` for each kind of fault (None: only ``attempts``
    bounds them), with exponential ``backoff`` (seconds, doubled per try) between them."""

    attempts: int
    statuses: frozenset[int] = TRANSIENT_STATUSES
    methods: frozenset[str] = frozenset({"GET"})
    backoff: float = 0.5
    connect: int | None = None
    read: int | None = None
    status: int | None = None
    other: int | None = None
    redirect: int | None = None

    def to_urllib3(self) -> Retry:
        return Retry(
            total=self.attempts, connect=self.connect, read=self.read, status=self.status,
            other=self.other, redirect=self.redirect,
            status_forcelist=self.statuses, allowed_methods=self.methods,
            backoff_factor=self.backoff, respect_retry_after_header=True,
            # After the last try hand back the response, so the caller reports the server's
            # own answer (a registry's error body, a web server's status line).
            raise_on_status=False,
        )


# Downloads of one file by GET (web contexts, remote Dockerfiles, ADD <url>): connection failures
# and the statuses a busy or restarting server answers with are retried with backoff; a 403 or
# 404 is final at once.
DOWNLOAD_RETRY = RequestRetry(attempts=4, connect=2, read=2, status=3, backoff=0.3)


@dataclass(frozen=True)
class TLSOptions:
    """``skip_verify`` wins; else the system trust store, plus ``ca_bundle`` if given (as kaniko's
    --registry-certificate adds to, rather than replaces, the system roots)."""

    skip_verify: bool = False
    ca_bundle: Path | None = None
    # (certificate, key) PEM files presented to servers that ask for one (mutual TLS)
    client_cert: tuple[Path, Path] | None = None


def user_agent() -> str:
    return f"lamina/{__version__}"


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


class _Session(requests.Session):
    """A session whose ``verify=False`` survives $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE, which
    plain requests lets override it (psf/requests#3829)."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> _Settings:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is False:
            settings["verify"] = False
        return settings


SYSTEM_TLS = TLSOptions()  # verify against the system trust store, no client certificate


def make_session(retry: RequestRetry | None, tls: TLSOptions = SYSTEM_TLS) -> requests.Session:
    """A session with lamina's User-Agent, ``retry`` on every request (None: no retries) and the
    ``tls`` trust options. Raises OSError/ValueError for an unreadable CA bundle or client
    certificate."""
    session = _Session()
    session.headers["User-Agent"] = user_agent()
    policy = retry.to_urllib3() if retry is not None else Retry(0, read=False)
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

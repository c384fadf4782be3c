"""HTTP to one registry: the retry policy, the session, the scheme chosen by ping, and auth
applied to every request (the :class:`~executor.registry.auth.AuthFlow` says what to send)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import requests

from executor.http import SYSTEM_TLS, TRANSIENT_STATUSES, RequestRetry, TLSOptions, make_session

from .auth import PING_PATH, AuthFlow, Challenge, TokenRequest
from .errors import (
    NotFoundError,
    RegistryError,
    RegistryUnreachable,
    TLSVerificationFailed,
    error_from_response,
)
from .streams import ReopeningBody, describe_network_error, read_bounded

__all__ = ["DEFAULT_RETRY", "DEFAULT_TIMEOUT", "RETRY_METHODS", "RetryPolicy", "TLSOptions",
           "Transport", "is_loopback", "unreachable"]

# Every method the registry API uses is safe to repeat: GET/HEAD read; a manifest PUT and a
# blob PUT ?digest= are addressed by content, so repeating them stores the same thing; a POST
# opens a fresh upload session (an abandoned one is garbage-collected by the registry); PATCH
# is only sent within an upload whose whole sequence the client restarts on failure.
RETRY_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"})
DEFAULT_TIMEOUT = (30.0, 300.0)  # (connect, read) seconds
MAX_TOKEN_RESPONSE = 1024 * 1024

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Every retry of a registry client, configured once and passed in.

    ``attempts`` extra tries of each request (by urllib3, on the session) for connection
    failures, cut reads and ``statuses``, ``backoff`` seconds doubling between them; a blob
    download cut mid-body continues from where it stopped at most ``resumes`` times; a whole
    upload (POST, then PUT or PATCHes) whose failure is :attr:`RegistryError.temporary` starts
    over at most ``restarts`` times.
    """

    attempts: int = 3
    statuses: frozenset[int] = TRANSIENT_STATUSES
    backoff: float = 0.5
    resumes: int = 3
    restarts: int = 3

    @classmethod
    def uniform(cls, retries: int) -> RetryPolicy:
        """``retries`` for each knob (``--retries``-style counts)."""
        return cls(attempts=retries, resumes=retries, restarts=retries)

    def plus(self, extra: int) -> RetryPolicy:
        """``extra`` more of each (``--push-retry`` for pushes, ``--image-download-retry`` for
        pulls)."""
        return replace(self, attempts=self.attempts + extra, resumes=self.resumes + extra,
                       restarts=self.restarts + extra)

    def request_retry(self) -> RequestRetry:
        """The urllib3 part, for the session's adapters."""
        return RequestRetry(
            attempts=self.attempts, connect=self.attempts, read=self.attempts,
            status=self.attempts,
            # TLS failures and other non-network errors are not transient: fail at once.
            other=0, redirect=5, statuses=self.statuses, methods=RETRY_METHODS,
            backoff=self.backoff)


DEFAULT_RETRY = RetryPolicy()


class Transport:
    """Sends requests to one registry (``host[:port]``) with auth, re-authenticating once on a
    401; a status not wanted becomes the typed :class:`RegistryError`."""

    def __init__(self, registry: str, auth: AuthFlow, *, retry: RetryPolicy = DEFAULT_RETRY,
                 tls: TLSOptions = SYSTEM_TLS, insecure: bool = False,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.registry = registry
        self.auth = auth
        self.retry = retry
        self._timeout = timeout
        self._schemes = ("https", "http") if insecure or is_loopback(registry) else ("https",)
        try:
            self._session = make_session(retry.request_retry(), tls)
        except (OSError, ValueError) as e:
            raise TLSVerificationFailed(f"cannot load CA bundle {tls.ca_bundle} or client "
                                        f"certificate {tls.client_cert}: {e}",
                                        action=f"connect to {registry}") from e
        self._base: str | None = None

    def close(self) -> None:
        self._session.close()

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]`` as chosen by :meth:`ping`."""
        if self._base is None:
            self.ping()
        assert self._base is not None
        return self._base

    def ping(self) -> Challenge | None:
        """GET /v2/ over https (then http when allowed); remember the scheme and hand the
        answer to the auth flow. A 401 is the registry saying how to authenticate."""
        action = f"ping {self.registry}"
        failures: list[tuple[str, Exception]] = []
        for scheme in self._schemes:
            url = f"{scheme}://{self.registry}{PING_PATH}"
            try:
                response = self._session.get(url, stream=True, timeout=self._timeout)
            except requests.RequestException as e:
                failures.append((url, e))
                continue
            tls_failed = any(isinstance(e, requests.exceptions.SSLError) for _, e in failures)
            if response.status_code not in (200, 401) and tls_failed:
                response.close()  # plain HTTP to a TLS port: the https failure is the story
                break
            if response.status_code not in (200, 401):
                raise error_from_response(response, action, registry=self.registry)
            response.close()
            challenge = self.auth.on_ping(response.status_code,
                                          response.headers.get("WWW-Authenticate"))
            self._base = f"{scheme}://{self.registry}"
            return challenge
        raise unreachable(action, failures)

    def request(self, method: str, path_or_url: str, *, action: str, scopes: Sequence[str],
                ok: Sequence[int] = (200,), not_found: type[NotFoundError] = NotFoundError,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                body: bytes | ReopeningBody | None = None) -> requests.Response:
        """Send with auth (re-authenticating once on 401); a response with status in ``ok``
        is returned unread (``stream=True``), anything else raises the typed error."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        fresh = False
        for attempt in (1, 2):
            sent_headers = dict(headers or {})
            authorization = self._authorization(scopes, fresh=fresh, action=action)
            if authorization:
                sent_headers["Authorization"] = authorization
            if isinstance(body, ReopeningBody):
                body.seek(0)
            response = self._send(method, url, action, headers=sent_headers, params=params,
                                  body=body)
            if response.status_code != 401 or attempt == 2:
                break
            if not self.auth.on_unauthorized(response.headers.get("WWW-Authenticate")):
                break  # nothing better to offer: report the 401 as it is
            response.close()
            fresh = True
        if response.status_code in ok:
            return response
        raise error_from_response(response, action, registry=self.registry, not_found=not_found,
                                  auth_hint=self.auth.auth_hint)

    def _send(self, method: str, url: str, action: str, *, headers: Mapping[str, str],
              params: Mapping[str, str] | None = None,
              body: bytes | ReopeningBody | None = None) -> requests.Response:
        try:
            response = self._session.request(method, url, headers=headers, params=params,
                                             data=body, stream=True, timeout=self._timeout)
        except requests.RequestException as e:
            raise unreachable(action, [(url, e)]) from e
        # the URL only: headers carry credentials
        _log.debug("%s %s -> %s", method, response.url, response.status_code)
        return response

    def _authorization(self, scopes: Sequence[str], *, fresh: bool, action: str) -> str | None:
        """Run the auth flow, sending the token requests it asks for."""
        if self._base is None:
            self.ping()
        flow = self.auth.authorize(scopes, fresh=fresh)
        try:
            request = next(flow)
            while True:
                request = flow.send(self._fetch_token(request, action))
        except StopIteration as done:
            header: str | None = done.value
            return header

    def _fetch_token(self, request: TokenRequest, action: str) -> bytes:
        headers = {"Authorization": request.authorization} if request.authorization else {}
        _log.debug("token for %s from %s (%s credentials)", self.registry, request.url,
                   "with" if request.authorization or request.form else "without")
        try:
            response = self._session.request(request.method, request.url,
                                             params=list(request.params), data=request.form,
                                             headers=headers, stream=True,
                                             timeout=self._timeout)
        except requests.RequestException as e:
            raise unreachable(f"{action} (token server)", [(request.url, e)]) from e
        if response.status_code != 200:
            raise error_from_response(response, f"{action}: token server refused",
                                      registry=self.registry)
        with response:
            return read_bounded(response, MAX_TOKEN_RESPONSE, action)


def is_loopback(registry: str) -> bool:
    """``localhost``, ``127.x.x.x`` or ``::1``, with or without a port."""
    host = registry
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host == "localhost" or host == "::1" or host.startswith("127.")


def unreachable(action: str, failures: list[tuple[str, Exception]]) -> RegistryError:
    """The error for requests that never got an answer: TLS failures are told apart."""
    details = "; ".join(f"{url}: {describe_network_error(e)}" for url, e in failures)
    tls = [e for _, e in failures if isinstance(e, requests.exceptions.SSLError)]
    if tls:
        return TLSVerificationFailed(
            f"TLS handshake failed: {describe_network_error(tls[0])}", action=action,
            url=failures[0][0],
            hint="trust the registry's CA (--registry-certificate) or pass --skip-tls-verify")
    return RegistryUnreachable(f"registry unreachable: {details}", action=action)

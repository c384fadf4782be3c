"""The registry auth handshake as plain data and one flow object, testable without I/O.

Challenge in (``WWW-Authenticate``), token request out (:func:`token_request`), token response in,
``Authorization`` header out (:func:`authorization_from_token_response`). :class:`AuthFlow` holds
what one registry said at ping, the credentials and the token cache, and drives that exchange as
httpx's auth flows do: a generator that yields the token requests to send and is sent their
answers; the transport does the I/O.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .credentials import Credentials, CredentialSource
from .errors import CREDENTIALS_WHERE, AuthenticationError

PULL = "pull"
PUSH = "push"
# docker/distribution's token clients identify themselves; the refresh-token grant requires one.
CLIENT_ID = "lamina"


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge; ``scheme`` is lower-case (``basic``, ``bearer``)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


@dataclass(frozen=True)
class Scope:
    """``repository:foo/bar:pull,push`` as (type, name, actions)."""

    resource_type: str
    name: str
    actions: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scope:
        resource_type, _, rest = text.partition(":")
        name, _, actions = rest.rpartition(":")
        return cls(resource_type, name, frozenset(a for a in actions.split(",") if a))

    def covers(self, other: Scope) -> bool:
        return ((self.resource_type, self.name) == (other.resource_type, other.name)
                and other.actions <= self.actions)

    def __str__(self) -> str:
        order = {PULL: 0, PUSH: 1}
        actions = ",".join(sorted(self.actions, key=lambda a: (order.get(a, 2), a)))
        return f"{self.resource_type}:{self.name}:{actions}"


def repository_scope(repository: str, *actions: str) -> str:
    """``repository_scope("foo/bar", "pull", "push") == "repository:foo/bar:pull,push"``."""
    return str(Scope("repository", repository, frozenset(actions or (PULL,))))


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (RFC 7235): several challenges, each a scheme followed
    by comma-separated ``name=value`` or ``name="quoted, \\"value\\""`` parameters."""
    challenges: list[Challenge] = []
    scanner = _Scanner(header)
    while True:
        scanner.skip(" \t,")
        scheme = scanner.token()
        if not scheme:
            if scanner.pos >= len(scanner.text):
                break
            scanner.pos += 1  # stray character (e.g. a token68's "=" padding): resynchronize
            continue
        params: dict[str, str] = {}
        while True:
            scanner.skip(" \t")
            mark = scanner.pos
            name = scanner.token()
            scanner.skip(" \t")
            if not name or not scanner.take("="):
                # not a parameter: the next challenge's scheme (a token68 after a scheme also
                # lands here and becomes a parameterless challenge nobody picks)
                scanner.pos = mark
                break
            scanner.skip(" \t")
            params[name.lower()] = scanner.quoted() if scanner.peek() == '"' else scanner.token()
            scanner.skip(" \t")
            if not scanner.take(","):
                break
        challenges.append(Challenge(scheme.lower(), params))
    return challenges


def pick_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """Prefer Bearer over Basic, as docker does; ignore schemes we do not speak."""
    by_scheme = {c.scheme: c for c in challenges}
    return by_scheme.get("bearer") or by_scheme.get("basic")


def basic_authorization(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class TokenRequest:
    """The request to send to the token realm. GET with ``params`` (and Basic auth if any), or for
    an identity token the OAuth2 refresh-token grant as a POSTed form in ``form``."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()  # a list of pairs: "scope" may repeat
    form: Mapping[str, str] | None = None
    authorization: str | None = field(default=None, repr=False)


def token_request(challenge: Challenge, credentials: Credentials | None,
                  scopes: Iterable[str], registry: str) -> TokenRequest:
    """What to ask the Bearer realm for: ``scopes`` (or the challenge's own scope if none)."""
    if challenge.scheme != "bearer" or not challenge.realm:
        raise AuthenticationError(f"registry sent an unusable challenge {challenge.scheme!r} "
                                  "without a realm", action=f"authenticate to {registry}")
    wanted = list(dict.fromkeys(scopes)) or ([challenge.scope] if challenge.scope else [])
    if credentials is not None and credentials.identity_token:
        form = {"grant_type": "refresh_token", "refresh_token": credentials.identity_token,
                "client_id": CLIENT_ID}
        if challenge.service:
            form["service"] = challenge.service
        if wanted:
            form["scope"] = " ".join(wanted)
        return TokenRequest("POST", challenge.realm, form=form)
    params: list[tuple[str, str]] = []
    if challenge.service:
        params.append(("service", challenge.service))
    # one "scope" parameter per scope, as docker and go-containerregistry send them
    params.extend(("scope", scope) for scope in wanted)
    auth = basic_authorization(credentials) if credentials is not None else None
    return TokenRequest("GET", challenge.realm, params=tuple(params), authorization=auth)


# The token spec's default lifetime when the realm does not say (``expires_in`` absent).
DEFAULT_TOKEN_LIFETIME = 60.0


def authorization_from_token_response(body: bytes, registry: str) -> str:
    """``Bearer <token>`` from the realm's JSON answer (``token`` or ``access_token``)."""
    return _parse_token_response(body, registry)[0]


def token_from_response(body: bytes, registry: str) -> tuple[str, float]:
    """``(Bearer <token>, lifetime in seconds)``; the lifetime is ``expires_in`` or 60 s."""
    return _parse_token_response(body, registry)


def _parse_token_response(body: bytes, registry: str) -> tuple[str, float]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise AuthenticationError(f"token server for {registry} did not answer JSON: {e}",
                                  action=f"authenticate to {registry}") from e
    token = None
    if isinstance(document, dict):
        token = document.get("token") or document.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthenticationError(f"token server for {registry} answered without a token",
                                  action=f"authenticate to {registry}")
    lifetime = document.get("expires_in")
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
        lifetime = DEFAULT_TOKEN_LIFETIME
    return f"Bearer {token}", float(lifetime)


# The path a client GETs first: its answer says whether and how to authenticate.
PING_PATH = "/v2/"
# Refresh a token this long before the realm said it expires (clock skew, slow requests).
TOKEN_MARGIN = 30.0
# What AuthFlow.authorize yields (a token request) and is sent back (the realm's answer body).
Authorization = Generator[TokenRequest, bytes, str | None]


class AuthFlow:
    """How to authenticate to one registry, without I/O.

    :meth:`on_ping` takes the answer to ``GET /v2/`` (the challenge in), :meth:`authorize` gives
    the ``Authorization`` header for a set of scopes (a token request out, when no cached token
    covers them), :meth:`on_unauthorized` takes the challenge of a 401 to a request sent.
    Credentials are looked up once, on first use. ``push=True`` asks for ``pull,push`` on every
    scope, so a push session gets one token per repository instead of two.
    """

    def __init__(self, registry: str, credentials: CredentialSource | None = None, *,
                 push: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry
        self._source = credentials
        self._credentials: Credentials | None = None
        self._looked_up = False
        self._push = push
        self._clock = clock
        self.challenge: Challenge | None = None
        # scopes -> (Authorization header, clock time after which to fetch a new one)
        self._tokens: dict[frozenset[Scope], tuple[str, float]] = {}

    def scopes(self, repository: str, *, write: bool = False) -> list[str]:
        """The scope a request on ``repository`` needs: ``pull``, or ``pull,push`` to write."""
        actions = (PULL, PUSH) if write or self._push else (PULL,)
        return [repository_scope(repository, *actions)]

    def credentials(self) -> Credentials | None:
        if not self._looked_up and self._source is not None:
            self._credentials = self._source.credentials_for(self.registry)
        self._looked_up = True
        return self._credentials

    @property
    def auth_hint(self) -> str | None:
        """What to tell the user with a 401/403 when we had nothing to offer."""
        return None if self.credentials() else (f"no credentials configured for {self.registry}: "
                                                f"put them in {CREDENTIALS_WHERE}")

    def on_ping(self, status: int, www_authenticate: str | None) -> Challenge | None:
        """Record the answer to ``GET /v2/``: a 401 is the registry saying how to authenticate
        (its challenge), a 200 that it wants nothing. Other statuses are errors, not answers."""
        if status not in (200, 401):
            raise ValueError(f"a ping answered {status} says nothing about auth")
        self.challenge = (pick_challenge(parse_challenges(www_authenticate or ""))
                          if status == 401 else None)
        return self.challenge

    def on_unauthorized(self, www_authenticate: str | None) -> bool:
        """A request was answered 401: adopt its challenge and return True if authenticating
        again (with a fresh token) may help; False to report the 401 as it is."""
        challenge = pick_challenge(parse_challenges(www_authenticate or ""))
        if challenge is None or (challenge.scheme == "basic" and self.credentials() is None):
            return False  # nothing better to offer
        self.challenge = challenge
        return True

    def authorize(self, scopes: Sequence[str], *, fresh: bool = False) -> Authorization:
        """The ``Authorization`` header (or None) for a request needing ``scopes``. For Bearer
        auth without a cached token covering them (or with ``fresh``), yields the
        :class:`TokenRequest` to send and expects the realm's answer body sent back."""
        challenge = self.challenge
        if challenge is None:
            return None
        credentials = self.credentials()
        if challenge.scheme == "basic":
            return basic_authorization(credentials) if credentials is not None else None
        wanted = frozenset(Scope.parse(s) for s in scopes)
        now = self._clock()
        if not fresh:
            for held, (header, refresh_after) in list(self._tokens.items()):
                if now >= refresh_after:
                    del self._tokens[held]  # expired (or about to): never send it again
                elif all(any(h.covers(w) for h in held) for w in wanted):
                    return header
        body = yield token_request(challenge, credentials, scopes, self.registry)
        header, lifetime = token_from_response(body, self.registry)
        self._tokens[wanted] = (header, now + lifetime - min(TOKEN_MARGIN, lifetime / 10))
        return header


class _Scanner:
    _TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ/")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in self._TOKEN_CHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def quoted(self) -> str:
        self.pos += 1  # opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)

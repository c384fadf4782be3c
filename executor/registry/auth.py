"""The registry auth handshake as plain data, testable without I/O.

Challenge in (``WWW-Authenticate``), token request out (:func:`token_request`), token response in,
``Authorization`` header out (:func:`authorization_from_token_response`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .credentials import Credentials
from .errors import AuthenticationError

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

"""The auth handshake as data: challenges in, token requests and headers out (no I/O)."""

from __future__ import annotations

import base64

import pytest

from executor.registry import (
    AuthenticationError,
    AuthFlow,
    Challenge,
    Credentials,
    Scope,
    TokenRequest,
    authorization_from_token_response,
    basic_authorization,
    parse_challenges,
    pick_challenge,
    repository_scope,
    token_request,
)
from executor.registry.auth import Authorization


def test_parse_bearer_with_quoted_commas_and_several_challenges() -> None:
    header = ('Bearer realm="https://auth.example/token?x=1,2",service="registry.example",'
              'scope="repository:a/b:pull,push" , Basic realm="say \\"hi\\", please"')
    bearer, basic = parse_challenges(header)
    assert bearer == Challenge("bearer", {"realm": "https://auth.example/token?x=1,2",
                                          "service": "registry.example",
                                          "scope": "repository:a/b:pull,push"})
    assert basic == Challenge("basic", {"realm": 'say "hi", please'})
    assert pick_challenge([basic, bearer]) is bearer


@pytest.mark.parametrize("header, expected", [
    ('Basic realm="Registry Realm"', [Challenge("basic", {"realm": "Registry Realm"})]),
    ("basic realm=unquoted", [Challenge("basic", {"realm": "unquoted"})]),
    ('BEARER Realm="r", error="insufficient_scope"',
     [Challenge("bearer", {"realm": "r", "error": "insufficient_scope"})]),
    ("", []),
    ('Negotiate abc==, Basic realm="x"',
     [Challenge("negotiate", {"abc": ""}), Challenge("basic", {"realm": "x"})]),
])
def test_parse_variants(header: str, expected: list[Challenge]) -> None:
    assert parse_challenges(header) == expected


def test_pick_ignores_unknown_schemes() -> None:
    assert pick_challenge(parse_challenges('Negotiate x, NTLM')) is None


def test_scopes() -> None:
    assert repository_scope("a/b") == "repository:a/b:pull"
    assert repository_scope("a/b", "push", "pull") == "repository:a/b:pull,push"
    held = Scope.parse("repository:a/b:pull,push")
    assert held.covers(Scope.parse("repository:a/b:pull"))
    assert not Scope.parse("repository:a/b:pull").covers(held)
    assert not held.covers(Scope.parse("repository:a/c:pull"))


def test_bearer_token_request_with_basic_credentials() -> None:
    challenge = Challenge("bearer", {"realm": "https://auth.example/token",
                                     "service": "registry.example",
                                     "scope": "repository:a/b:pull"})
    request = token_request(challenge, Credentials("user", "pw"),
                            ["repository:a/b:pull,push", "repository:c:pull"], "registry.example")
    assert (request.method, request.url) == ("GET", "https://auth.example/token")
    assert request.params == (("service", "registry.example"),
                              ("scope", "repository:a/b:pull,push"),
                              ("scope", "repository:c:pull"))
    assert request.authorization == "Basic " + base64.b64encode(b"user:pw").decode()
    assert "pw" not in repr(request) and "dXNlcjpwdw" not in repr(request)


def test_bearer_anonymous_uses_the_challenge_scope_when_none_wanted() -> None:
    challenge = Challenge("bearer", {"realm": "https://auth.example/token",
                                     "scope": "repository:a/b:pull"})
    request = token_request(challenge, None, [], "r")
    assert request.params == (("scope", "repository:a/b:pull"),)
    assert request.authorization is None


def test_identity_token_uses_the_refresh_token_grant() -> None:
    challenge = Challenge("bearer", {"realm": "https://auth.example/token", "service": "svc"})
    request = token_request(challenge, Credentials("<token>", "rt", identity_token="rt"),
                            ["repository:a:pull"], "r")
    assert request.method == "POST" and request.authorization is None
    assert request.form == {"grant_type": "refresh_token", "refresh_token": "rt",
                            "client_id": "lamina", "service": "svc",
                            "scope": "repository:a:pull"}


def test_token_request_needs_a_realm() -> None:
    with pytest.raises(AuthenticationError, match="realm"):
        token_request(Challenge("bearer", {}), None, [], "r.example")


@pytest.mark.parametrize("body", [b'{"token": "T"}', b'{"access_token": "T", "expires_in": 60}',
                                  b'{"token": "T", "access_token": "T"}'])
def test_token_response(body: bytes) -> None:
    assert authorization_from_token_response(body, "r") == "Bearer T"


@pytest.mark.parametrize("body", [b"<html>", b"{}", b'{"token": ""}', b"[]"])
def test_bad_token_response(body: bytes) -> None:
    with pytest.raises(AuthenticationError, match="token server for r.example"):
        authorization_from_token_response(body, "r.example")


def test_basic_header() -> None:
    assert basic_authorization(Credentials("u", "p")) == "Basic dTpw"


# -- AuthFlow: the state of one registry's auth, driven without I/O --------------------------

BEARER = 'Bearer realm="https://auth.example/token",service="registry.example"'


class _CountingSource:
    def __init__(self, credentials: Credentials | None) -> None:
        self.credentials = credentials
        self.asked: list[str] = []

    def credentials_for(self, registry: str) -> Credentials | None:
        self.asked.append(registry)
        return self.credentials


def _run(flow: Authorization, answers: list[bytes]) -> tuple[str | None, list[TokenRequest]]:
    """Drive ``flow`` as the transport does: send each token request's answer back in."""
    sent: list[TokenRequest] = []
    try:
        request = next(flow)
        while True:
            sent.append(request)
            request = flow.send(answers.pop(0))
    except StopIteration as done:
        return done.value, sent


def test_flow_without_auth() -> None:
    flow = AuthFlow("registry.example")
    assert flow.on_ping(200, None) is None
    assert _run(flow.authorize(flow.scopes("a/b")), []) == (None, [])
    assert flow.auth_hint == ("no credentials configured for registry.example: put them in "
                              "$DOCKER_CONFIG/config.json (/kaniko/.docker/config.json in the "
                              "executor's image) or the registry's --credential-helpers helper")


def test_flow_basic_sends_credentials_without_a_token_request() -> None:
    source = _CountingSource(Credentials("u", "p"))
    flow = AuthFlow("registry.example", source)
    challenge = flow.on_ping(401, 'Basic realm="Registry Realm"')
    assert challenge == Challenge("basic", {"realm": "Registry Realm"})
    for _ in range(2):
        assert _run(flow.authorize(["repository:a:pull"]), []) == ("Basic dTpw", [])
    assert source.asked == ["registry.example"]  # looked up once
    assert flow.auth_hint is None


def test_flow_bearer_caches_tokens_by_scope_until_they_expire() -> None:
    now = [1000.0]
    flow = AuthFlow("registry.example", _CountingSource(Credentials("u", "p")), push=True,
                    clock=lambda: now[0])
    flow.on_ping(401, BEARER)
    scopes = flow.scopes("a/b")
    assert scopes == ["repository:a/b:pull,push"]
    header, sent = _run(flow.authorize(scopes), [b'{"token": "T1", "expires_in": 300}'])
    assert header == "Bearer T1"
    assert [(r.method, r.url, r.params) for r in sent] == [
        ("GET", "https://auth.example/token",
         (("service", "registry.example"), ("scope", "repository:a/b:pull,push")))]
    # a narrower scope is covered by the held token: no request
    assert _run(flow.authorize(["repository:a/b:pull"]), []) == ("Bearer T1", [])
    # another repository is not
    header, sent = _run(flow.authorize(["repository:c:pull"]), [b'{"token": "T2"}'])
    assert header == "Bearer T2" and len(sent) == 1
    # fresh: asked again even though cached
    header, sent = _run(flow.authorize(scopes, fresh=True),
                        [b'{"token": "T3", "expires_in": 300}'])
    assert header == "Bearer T3" and len(sent) == 1
    # 300 s lifetime, refreshed 30 s early
    now[0] += 269
    assert _run(flow.authorize(scopes), []) == ("Bearer T3", [])
    now[0] += 2
    header, sent = _run(flow.authorize(scopes), [b'{"token": "T4"}'])
    assert header == "Bearer T4" and len(sent) == 1


def test_flow_bad_token_answer_is_an_authentication_error() -> None:
    flow = AuthFlow("r.example")
    flow.on_ping(401, BEARER)
    with pytest.raises(AuthenticationError, match="token server for r.example"):
        _run(flow.authorize(["repository:a:pull"]), [b"<html>"])


def test_flow_on_unauthorized() -> None:
    anonymous = AuthFlow("r.example")
    anonymous.on_ping(200, None)
    assert not anonymous.on_unauthorized('Basic realm="x"')  # nothing to offer
    assert not anonymous.on_unauthorized("Negotiate abc")
    assert not anonymous.on_unauthorized(None)
    assert anonymous.challenge is None
    assert anonymous.on_unauthorized(BEARER)  # an anonymous token may do
    assert anonymous.challenge is not None and anonymous.challenge.scheme == "bearer"
    with_credentials = AuthFlow("r.example", _CountingSource(Credentials("u", "p")))
    assert with_credentials.on_unauthorized('Basic realm="x"')


def test_flow_ping_statuses() -> None:
    flow = AuthFlow("r.example")
    with pytest.raises(ValueError):
        flow.on_ping(500, None)
    assert flow.scopes("a") == ["repository:a:pull"]
    assert flow.scopes("a", write=True) == ["repository:a:pull,push"]

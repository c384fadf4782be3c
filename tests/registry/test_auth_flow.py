"""The auth handshake as data: challenges in, token requests and headers out (no I/O)."""

from __future__ import annotations

import base64

import pytest

from executor.registry import (AuthenticationError, Challenge, Credentials, Scope,
                               authorization_from_token_response, basic_authorization,
                               parse_challenges, pick_challenge, repository_scope, token_request)


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

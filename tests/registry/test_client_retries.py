"""The session's retry policy against a fake that fails on purpose (429/503 with Retry-After)."""

from __future__ import annotations

import http.server
import json

import pytest

from executor.image.digest import sha256_digest
from executor.registry import OCI_MANIFEST, RegistryClient, RegistryError, RetryPolicy
from tests.registry.servers import reply, serve

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "c", "digest": sha256_digest(b"c"), "size": 1},
                       "layers": []}).encode()
BUSY = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'


@pytest.mark.parametrize("failures, status", [(1, 503), (2, 429), (1, 502)])
def test_transient_statuses_are_retried(failures: int, status: int) -> None:
    seen: list[str] = []

    def fake(request: http.server.BaseHTTPRequestHandler) -> None:
        seen.append(request.path)
        if request.path.startswith("/v2/app/manifests/") and seen.count(request.path) <= failures:
            reply(request, status, BUSY, {"Retry-After": "0"})
        else:
            reply(request, 200, MANIFEST if request.path != "/v2/" else b"{}",
                  {"Content-Type": OCI_MANIFEST})

    with serve(fake) as host, RegistryClient(host, retry=RetryPolicy.uniform(2)) as client:
        assert client.get_manifest("app", "v1").raw == MANIFEST
    assert seen.count("/v2/app/manifests/v1") == failures + 1


def test_persistent_failure_reports_the_registry_error() -> None:
    def fake(request: http.server.BaseHTTPRequestHandler) -> None:
        if request.path == "/v2/":
            reply(request, 200, b"{}")
        else:
            reply(request, 429, BUSY, {"Retry-After": "0", "Content-Type": "application/json"})

    with serve(fake) as host, RegistryClient(host, retry=RetryPolicy.uniform(1)) as client:
        with pytest.raises(RegistryError) as caught:
            client.get_manifest("app", "v1")
    assert str(caught.value) == (f"pull {host}/app:v1: 429 TOOMANYREQUESTS: slow down "
                                 f"(GET http://{host}/v2/app/manifests/v1)")


def test_client_errors_are_not_retried() -> None:
    seen: list[str] = []

    def fake(request: http.server.BaseHTTPRequestHandler) -> None:
        seen.append(request.path)
        reply(request, 200 if request.path == "/v2/" else 400,
              b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid",'
              b'"detail":{"reason":"bad"}}]}')

    with serve(fake) as host, RegistryClient(host, retry=RetryPolicy.uniform(3)) as client:
        with pytest.raises(RegistryError, match='400 MANIFEST_INVALID: manifest invalid '
                                                r'\({"reason":"bad"}\)'):
            client.put_manifest("app", "v1", MANIFEST, OCI_MANIFEST)
    assert seen.count("/v2/app/manifests/v1") == 1

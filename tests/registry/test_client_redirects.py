"""Blob GETs redirected to storage on another host: followed, verified, and never given the
registry's Authorization header. docker-registry only redirects with a cloud storage driver, so
a fake registry stands in for this fault-free but unusual path."""

from __future__ import annotations

import http.server

import pytest

from executor.image.digest import sha256_digest
from executor.registry import Credentials, DigestMismatch, RegistryClient, RetryPolicy, StaticCredentials
from tests.registry.servers import reply, serve

BLOB = b"layer bytes served by the storage host " * 100
DIGEST = sha256_digest(BLOB)


def _run(storage_body: bytes) -> tuple[bytes, list[str | None], list[str | None]]:
    registry_auth: list[str | None] = []
    storage_auth: list[str | None] = []

    def storage(request: http.server.BaseHTTPRequestHandler) -> None:
        storage_auth.append(request.headers.get("Authorization"))
        reply(request, 200, storage_body, {"Content-Type": "application/octet-stream"})

    with serve(storage, host="localhost") as storage_host:
        def fake_registry(request: http.server.BaseHTTPRequestHandler) -> None:
            authorization = request.headers.get("Authorization")
            if authorization != "Basic dTpw":  # u:p
                reply(request, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"login"}]}',
                      {"WWW-Authenticate": 'Basic realm="fake"'})
                return
            if request.path.startswith("/v2/app/blobs/"):
                registry_auth.append(authorization)
                reply(request, 307, b"", {"Location": f"http://{storage_host}/bucket/blob?sig=1"})
                return
            reply(request, 200, b"{}")

        with serve(fake_registry) as registry_host:
            credentials = StaticCredentials({registry_host: Credentials("u", "p")})
            client = RegistryClient(registry_host, retry=RetryPolicy.uniform(0),
                                    credentials=credentials)
            with client.open_blob("app", DIGEST, len(BLOB)) as stream:
                data = stream.read()
    return data, registry_auth, storage_auth


def test_redirect_to_another_host_drops_authorization() -> None:
    data, registry_auth, storage_auth = _run(BLOB)
    assert data == BLOB
    assert registry_auth == ["Basic dTpw"]
    assert storage_auth == [None]


def test_redirected_blob_is_still_verified() -> None:
    with pytest.raises(DigestMismatch, match=DIGEST):
        _run(BLOB.upper())

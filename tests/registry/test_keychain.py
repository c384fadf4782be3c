"""Credentials from docker credential helpers and Google ADC, token expiry, against real servers."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from executor.registry import DockerConfig, RegistryClient
from executor.registry.keychain import DockerKeychain
from executor.registry.keychains.google import GoogleCredentials
from tests.registry.servers import TokenServer, read_body, reply, serve
from tests.support.registry import RunningRegistry, run_registry


def write_helper(bin_dir: Path, name: str, answers: dict[str, tuple[str, str]]) -> Path:
    """``docker-credential-NAME``: answers ``get`` for the hosts in ``answers`` and logs calls."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    helper = bin_dir / f"docker-credential-{name}"
    table = {host: {"ServerURL": host, "Username": u, "Secret": p}
             for host, (u, p) in answers.items()}
    helper.write_text(f"""#!/usr/bin/env python3
import json, sys
server = sys.stdin.read().strip()
open({str(bin_dir / "calls")!r}, "a").write(sys.argv[1] + " " + server + "\\n")
table = {json.dumps(table)}
if server not in table:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps(table[server]))
""")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    return helper


def _push_small_blob(client: RegistryClient, repository: str) -> None:
    data = f"keychain {time.time_ns()}".encode()
    import hashlib
    import io
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.upload_blob(repository, digest, len(data), lambda: io.BytesIO(data))
    assert client.blob_exists(repository, digest)


def test_cred_helper_for_the_registry_is_run(tmp_path: Path, auth_registry: RunningRegistry) -> None:
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "lamina", {auth_registry.host: ("u", "p")})
    config = DockerConfig(cred_helpers={auth_registry.host: "lamina"})
    keychain = DockerKeychain(config, path=str(bin_dir))
    assert auth_registry.tls is not None
    with RegistryClient(auth_registry.host, credentials=keychain,
                        ca_bundle=auth_registry.tls.ca_cert) as client:
        _push_small_blob(client, "keychain/helper")
    assert (bin_dir / "calls").read_text().splitlines() == [f"get {auth_registry.host}"]


def test_creds_store_answers_every_registry_and_falls_back_to_auths(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "store", {"known.example": ("alice", "s3cret")})
    config = DockerConfig(creds_store="store",
                          auths={"other.example": {"username": "bob", "password": "pw"}})
    keychain = DockerKeychain(config, path=str(bin_dir))
    found = keychain.credentials_for("known.example")
    assert found is not None and (found.username, found.password) == ("alice", "s3cret")
    fallback = keychain.credentials_for("other.example")
    assert fallback is not None and fallback.username == "bob"
    assert keychain.credentials_for("nobody.example") is None
    assert "s3cret" not in repr(found)


def test_identity_token_from_helper_and_missing_helper(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "tok", {"reg.example": ("<token>", "refresh-me")})
    keychain = DockerKeychain(DockerConfig(cred_helpers={"reg.example": "tok",
                                                         "gone.example": "absent"}),
                              path=str(bin_dir))
    found = keychain.credentials_for("reg.example")
    assert found is not None and found.identity_token == "refresh-me"
    from executor.registry import CredentialsError
    with pytest.raises(CredentialsError, match="docker-credential-absent not found"):
        keychain.credentials_for("gone.example")


def test_google_adc_token_is_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service-account ADC file whose token_uri is a loopback endpoint (google-auth honours it
    for service accounts): the access token handed out for the signed JWT assertion is the
    password of oauth2accesstoken at the registry (htpasswd checks it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    calls: list[bytes] = []

    def token_endpoint(request) -> None:  # type: ignore[no-untyped-def]
        calls.append(read_body(request))
        reply(request, 200, json.dumps({"access_token": "ya29.lamina-test",
                                        "expires_in": 3600}).encode(),
              {"Content-Type": "application/json"})

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    with serve(token_endpoint) as token_host, \
            run_registry(tmp_path / "gcr", tls=True, username="oauth2accesstoken",
                         password="ya29.lamina-test") as gcr:
        adc = tmp_path / "adc.json"
        adc.write_text(json.dumps({"type": "service_account", "project_id": "p",
                                   "private_key_id": "k1", "private_key": pem,
                                   "client_email": "builder@p.iam.gserviceaccount.com",
                                   "client_id": "1",
                                   "token_uri": f"http://{token_host}/token"}))
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
        source = GoogleCredentials(applies_to=lambda registry: registry == gcr.host)
        assert source.credentials_for("registry.example") is None
        assert gcr.tls is not None
        with RegistryClient(gcr.host, credentials=source, ca_bundle=gcr.tls.ca_cert) as client:
            _push_small_blob(client, "project/app")
    assert len(calls) == 1 and b"grant_type=urn" in calls[0]


def test_google_hosts() -> None:
    from executor.registry.keychains.google import is_google_registry
    assert is_google_registry("gcr.io") and is_google_registry("eu.gcr.io")
    assert is_google_registry("europe-west1-docker.pkg.dev")
    assert not is_google_registry("127.0.0.1:5000") and not is_google_registry("ghcr.io")


def test_token_refreshed_when_it_expires(tmp_path: Path) -> None:
    tokens = TokenServer(tmp_path / "keys", users={"u": "p"}, expires_in=1)
    with serve(tokens.handle) as token_host:
        auth = tokens.registry_auth(f"http://{token_host}/token", "svc")
        with run_registry(tmp_path / "registry", extra_auth=auth) as running:
            from executor.registry import Credentials, StaticCredentials
            creds = StaticCredentials({running.host: Credentials("u", "p")})
            with RegistryClient(running.host, credentials=creds) as client:
                _push_small_blob(client, "expiry/a")
                fetched = len(tokens.requests)
                _push_small_blob(client, "expiry/a")  # token still fresh: reused
                assert len(tokens.requests) == fetched
                time.sleep(1.1)
                _push_small_blob(client, "expiry/a")
                assert len(tokens.requests) == fetched + 1

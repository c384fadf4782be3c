"""The executor against registries as they are in the wild: TLS with a private CA, htpasswd and
token auth, credential helpers, mutual TLS, mirrors and registry maps."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.registry import Credentials, Manifest, RegistryClient, StaticCredentials
from tests.registry.conftest import basic_entry
from tests.registry.servers import TokenServer
from tests.registry.test_keychain import write_helper
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry, make_tls_files, run_registry

PASSWORD = "Sup3r-s3cret-pw"


@pytest.fixture(scope="module")
def secret_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("secret-registry"), tls=True, username="builder",
                      password=PASSWORD) as running:
        yield running


def _manifest(registry: RunningRegistry, repository: str, tag: str = "latest",
              credentials: Credentials | None = None) -> Manifest:
    source = StaticCredentials({registry.host: credentials}) if credentials else None
    with RegistryClient(registry.host, credentials=source,
                        ca_bundle=registry.tls.ca_cert if registry.tls else None) as client:
        found = client.fetch_manifest(repository, tag)
    assert isinstance(found, Manifest)
    return found


def _context(tmp_path: Path, base: str) -> Path:
    return write_context(tmp_path / "context", f"FROM {base}\nRUN echo built > /built\n")


def test_push_over_tls_with_credential_helper(tmp_path: Path, secret_registry: RunningRegistry,
                                              busybox_image: str) -> None:
    assert secret_registry.tls is not None
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "lamina", {secret_registry.host: ("builder", PASSWORD)})
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"credHelpers": {secret_registry.host: "lamina"}}))
    import os
    run = run_executor(tmp_path, _context(tmp_path, busybox_image),
                       "--destination", secret_registry.ref("app/helper"),
                       "--registry-certificate", f"{secret_registry.host}={secret_registry.tls.ca_cert}",
                       "--verbosity", "debug",
                       env={"DOCKER_CONFIG": str(docker_config),
                            "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert run.returncode == 0, run.stderr
    manifest = _manifest(secret_registry, "app/helper", credentials=Credentials("builder", PASSWORD))
    assert len(manifest.layers) == 3
    encoded = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    assert PASSWORD not in run.stderr and encoded not in run.stderr  # never logged


def test_without_the_ca_the_push_fails_on_one_line(tmp_path: Path, secret_registry: RunningRegistry,
                                                   busybox_image: str) -> None:
    run = run_executor(tmp_path, _context(tmp_path, busybox_image),
                       "--destination", secret_registry.ref("app/noca"))
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and "TLS" in run.error_lines[0], run.stderr
    assert "RUN echo" not in run.stderr  # the push permission check failed before the build


def test_skip_tls_verify_registry(tmp_path: Path, secret_registry: RunningRegistry,
                                  busybox_image: str) -> None:
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {secret_registry.host: basic_entry("builder", PASSWORD)}}))
    run = run_executor(tmp_path, _context(tmp_path, busybox_image),
                       "--destination", secret_registry.ref("app/skipverify"),
                       "--skip-tls-verify-registry", secret_registry.host,
                       env={"DOCKER_CONFIG": str(docker_config)})
    assert run.returncode == 0, run.stderr
    assert _manifest(secret_registry, "app/skipverify", credentials=Credentials("builder", PASSWORD))


def test_wrong_password_fails_before_building(tmp_path: Path, secret_registry: RunningRegistry,
                                              busybox_image: str) -> None:
    assert secret_registry.tls is not None
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {secret_registry.host: basic_entry("builder", "wrong")}}))
    args = ["--destination", secret_registry.ref("app/denied"),
            "--registry-certificate", f"{secret_registry.host}={secret_registry.tls.ca_cert}"]
    run = run_executor(tmp_path / "a", _context(tmp_path, busybox_image), *args,
                       env={"DOCKER_CONFIG": str(docker_config)})
    assert run.returncode != 0
    assert "check push permission" in run.error_lines[0] and "401" in run.error_lines[0]
    assert "RUN echo" not in run.stderr
    skipped = run_executor(tmp_path / "b", _context(tmp_path, busybox_image), *args,
                           "--skip-push-permission-check", env={"DOCKER_CONFIG": str(docker_config)})
    assert skipped.returncode != 0 and "RUN echo" in skipped.stderr  # built, then refused


def test_push_with_token_auth(tmp_path: Path, token_registry: tuple[RunningRegistry, TokenServer],
                              busybox_image: str) -> None:
    registry, tokens = token_registry
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {registry.host: basic_entry("u", "p")}}))
    run = run_executor(tmp_path, _context(tmp_path, busybox_image),
                       "--destination", registry.ref("app/token"),
                       env={"DOCKER_CONFIG": str(docker_config)})
    assert run.returncode == 0, run.stderr
    assert any(r["subject"] == "u" and any("push" in s for s in r["query"].get("scope", []))
               for r in tokens.requests)
    assert len(_manifest(registry, "app/token", credentials=Credentials("u", "p")).layers) == 3


def test_mutual_tls(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    client = make_tls_files(tmp_path / "client-pki")  # its own CA and a cert signed by it
    with run_registry(tmp_path / "mtls", tls=True, client_ca=client.ca_cert,
                      client_cert=(client.cert, client.key)) as mtls:
        assert mtls.tls is not None
        args = ["--destination", mtls.ref("app/mtls"),
                "--registry-certificate", f"{mtls.host}={mtls.tls.ca_cert}"]
        refused = run_executor(tmp_path / "a", _context(tmp_path, busybox_image), *args)
        assert refused.returncode != 0 and len(refused.error_lines) == 1
        run = run_executor(tmp_path / "b", _context(tmp_path, busybox_image), *args,
                           "--registry-client-cert", f"{mtls.host}={client.cert},{client.key}")
        assert run.returncode == 0, run.stderr
        inspect = subprocess.run(
            ["skopeo", "inspect", "--raw", "--cert-dir", str(_cert_dir(tmp_path, mtls, client)),
             f"docker://{mtls.ref('app/mtls')}"], capture_output=True, text=True)
        assert inspect.returncode == 0, inspect.stderr
        assert len(json.loads(inspect.stdout)["layers"]) == 3


def _cert_dir(tmp_path: Path, server: RunningRegistry, client) -> Path:  # type: ignore[no-untyped-def]
    directory = tmp_path / "skopeo-certs"
    directory.mkdir()
    assert server.tls is not None
    (directory / "ca.crt").write_bytes(server.tls.ca_cert.read_bytes())
    (directory / "client.cert").write_bytes(client.cert.read_bytes())
    (directory / "client.key").write_bytes(client.key.read_bytes())
    return directory


def test_registry_map_falls_back_when_the_mirror_lacks_the_image(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    with run_registry(tmp_path / "empty-mirror") as mirror:
        args = ["--destination", registry.ref("app/mapped"),
                "--registry-map", f"{registry.host}={mirror.host}"]
        run = run_executor(tmp_path / "a", _context(tmp_path, busybox_image), *args)
        assert run.returncode == 0, run.stderr
        assert "trying the next registry" in run.stderr
        strict = run_executor(tmp_path / "b", _context(tmp_path, busybox_image), *args,
                              "--skip-default-registry-fallback")
        assert strict.returncode != 0
        assert len(strict.error_lines) == 1 and mirror.host in strict.error_lines[0]


def test_registry_mirror_serves_docker_hub_names(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str) -> None:
    """FROM busybox (Docker Hub) is pulled from the mirror: no network is needed."""
    with run_registry(tmp_path / "mirror") as mirror:
        subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                        "--dest-tls-verify=false", f"docker://{busybox_image}",
                        f"docker://{mirror.host}/library/busybox:1.36"],
                       check=True, capture_output=True)
        run = run_executor(tmp_path, _context(tmp_path, "busybox:1.36"),
                           "--destination", registry.ref("app/mirrored"),
                           "--registry-mirror", mirror.host)
        assert run.returncode == 0, run.stderr
        assert f"from {mirror.host}/library/busybox:1.36" in run.stderr
        assert len(_manifest(registry, "app/mirrored").layers) == 3

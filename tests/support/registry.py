"""A real registry (Debian's ``docker-registry``, distribution v2) run on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

REGISTRY_BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class RunningRegistry:
    host: str  # "127.0.0.1:PORT"
    storage: Path
    tls: TLSFiles | None = None
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def ref(self, repository: str, tag: str = "latest") -> str:
        return f"{self.host}/{repository}:{tag}"


def make_tls_files(directory: Path) -> TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(ca_key), "-out", str(ca_cert), "-subj", "/CN=lamina test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
        "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return TLSFiles(ca_cert=ca_cert, cert=cert, key=key)


def _htpasswd(path: Path, username: str, password: str) -> None:
    subprocess.run(["htpasswd", "-Bbc", str(path), username, password], check=True,
                   capture_output=True)


@contextlib.contextmanager
def run_registry(workdir: Path, *, tls: bool = False, username: str | None = None,
                 password: str | None = None, extra_auth: dict | None = None,
                 client_ca: Path | None = None,
                 client_cert: tuple[Path, Path] | None = None) -> Iterator[RunningRegistry]:
    """Start docker-registry with filesystem storage under ``workdir``; stop it on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    port = free_port()
    config: dict = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "lamina-tests"},
    }
    tls_files = None
    if tls:
        tls_files = make_tls_files(workdir / "tls")
        config["http"]["tls"] = {"certificate": str(tls_files.cert), "key": str(tls_files.key)}
        if client_ca is not None:  # mutual TLS: clients must present a cert signed by client_ca
            config["http"]["tls"]["clientcas"] = [str(client_ca)]
    if username is not None:
        htpasswd = workdir / "htpasswd"
        _htpasswd(htpasswd, username, password or "")
        config["auth"] = {"htpasswd": {"realm": "lamina-tests", "path": str(htpasswd)}}
    if extra_auth is not None:
        config["auth"] = extra_auth
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = open(workdir / "registry.log", "wb")
    proc = subprocess.Popen([REGISTRY_BINARY, "serve", str(config_path)], stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "OTEL_TRACES_EXPORTER": "none"})
    registry = RunningRegistry(host=f"127.0.0.1:{port}", storage=storage, tls=tls_files,
                               username=username, password=password)
    try:
        _wait_until_up(registry, proc, workdir / "registry.log", client_cert)
        yield registry
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_until_up(registry: RunningRegistry, proc: subprocess.Popen, log: Path,
                   client_cert: tuple[Path, Path] | None = None) -> None:
    context = None
    if registry.tls:
        context = ssl.create_default_context(cafile=str(registry.tls.ca_cert))
        if client_cert is not None:
            context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{registry.url}/v2/", timeout=1, context=context)
            return
        except urllib.error.HTTPError:
            return  # 401 means it is up and asking for credentials
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("docker-registry did not start within 20 s")

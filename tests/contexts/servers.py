"""Real servers on loopback for context tests: static files over http, a git http-backend
(over http, or https with a self-signed certificate), the Cloud Storage emulator, moto's S3 server
and Azurite's blob service, each started and stopped by a fixture."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tests.support.registry import free_port


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def serve_process(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **(env or {})})
    try:
        wait_for_port(port, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- static files (python -m http.server, in a thread) ------------------------------------

@dataclass(frozen=True)
class FileServer:
    url: str  # http://127.0.0.1:PORT
    directory: Path


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_files(directory: Path) -> Iterator[FileServer]:
    handler = lambda *a, **k: _QuietFiles(*a, directory=str(directory), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FileServer(f"http://127.0.0.1:{server.server_address[1]}", directory)
    finally:
        server.shutdown()
        server.server_close()


# --- git over smart http: git http-backend as CGI behind wsgiref ---------------------------

@dataclass(frozen=True)
class GitServer:
    host: str  # 127.0.0.1:PORT; repositories below /private/ need basic auth; https with tls
    root: Path
    username: str
    password: str
    token: str  # also accepted as a user name with an empty password, or as x-access-token's password (GitHub)
    seen_authorization: list[str]  # Authorization headers received, to prove how creds travel

    def context(self, repo: str, fragment: str = "") -> str:
        return f"git://{self.host}/{repo}" + (f"#{fragment}" if fragment else "")


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietWSGI(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _git_backend(root: Path, accepted: set[str], seen: list[str]):

    def app(environ: dict, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if authorization:
            seen.append(authorization)
        if path.startswith("/private/") and authorization not in accepted:
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"'),
                                                ("Content-Type", "text/plain")])
            return [b"authentication required\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi = {"GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": environ.get("QUERY_STRING", ""),
               "REQUEST_METHOD": environ["REQUEST_METHOD"],
               "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""), "CONTENT_LENGTH": str(len(body)),
               "HTTP_CONTENT_ENCODING": environ.get("HTTP_CONTENT_ENCODING", ""),
               "GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""), "REMOTE_ADDR": "127.0.0.1",
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        out = subprocess.run(["git", "http-backend"], input=body, env=cgi, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = "200 OK", []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            elif name:
                headers.append((name, value.strip()))
        start_response(status, headers)
        return [payload]

    return app


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (no CA anyone trusts): (cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "self-signed.crt", directory / "self-signed.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def serve_git(root: Path, username: str = "ci", password: str = "s3cret-pass",
              token: str = "t0ken-value", tls: tuple[Path, Path] | None = None) -> Iterator[GitServer]:
    """git http-backend for the repositories under ``root``; over https with ``tls`` (cert, key)."""
    seen: list[str] = []
    accepted = {_basic(username, password), _basic(token, ""), _basic("x-access-token", token)}
    server = make_server("127.0.0.1", 0, _git_backend(root, accepted, seen),
                         server_class=_ThreadingWSGIServer, handler_class=_QuietWSGI)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        # A client refusing the certificate fails the handshake in accept(): socketserver
        # takes that OSError as a dropped connection and serves on.
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield GitServer(f"127.0.0.1:{server.server_address[1]}", root, username, password, token, seen)
    finally:
        server.shutdown()
        server.server_close()


# --- buckets ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BucketServer:
    endpoint: str  # http://127.0.0.1:PORT


@contextlib.contextmanager
def serve_gcs() -> Iterator[BucketServer]:
    """gcp-storage-emulator, in memory."""
    port = free_port()
    with serve_process([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
                        "--port", str(port), "--in-memory", "--quiet"], port):
        yield BucketServer(f"http://127.0.0.1:{port}")


@contextlib.contextmanager
def serve_s3(*, check_credentials: bool = False) -> Iterator[BucketServer]:
    """moto in server mode; with ``check_credentials`` it refuses unknown access keys."""
    port = free_port()
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": "0"} if check_credentials else {}
    with serve_process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                       port, env):
        yield BucketServer(f"http://127.0.0.1:{port}")


# Azurite's well-known development account (Microsoft's documented emulator credentials).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class AzuriteServer:
    endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1, the account's blob endpoint
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.endpoint};")


@contextlib.contextmanager
def serve_azurite(workdir: Path) -> Iterator[AzuriteServer]:
    """Azurite's blob service (npm's ``azurite``, installed by scripts/setup.sh), storing under
    ``workdir``; no telemetry, and any API version the SDK speaks."""
    binary = shutil.which("azurite-blob")
    if binary is None:
        raise RuntimeError("azurite-blob is not installed; run scripts/setup.sh (npm install -g azurite)")
    port = free_port()
    with serve_process([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
                        str(workdir), "--silent", "--disableTelemetry", "--skipApiVersionCheck"], port):
        yield AzuriteServer(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}")

"""Small HTTP servers for the registry tests: a JWT token server that docker-registry trusts,
and fakes for faults a healthy registry will not make on demand (dropped connections, redirects
to another host)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def serve(handler: Handler, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``handler(request)`` for every request on a free port; yields ``host:port``."""

    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = (
            lambda self: handler(self))  # noqa: E731

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def reply(request: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"",
          headers: dict[str, str] | None = None) -> None:
    request.send_response(status)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(body)


def read_body(request: http.server.BaseHTTPRequestHandler) -> bytes:
    return request.rfile.read(int(request.headers.get("Content-Length") or 0))


# -- a token server for docker-registry's `token` auth ---------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """Issues RS256 JWTs with an x5c chain of one self-signed cert (the registry's root bundle).

    ``users`` get what they ask for; anonymous callers get pull only; ``refresh_tokens`` map an
    identity token to a user for the OAuth2 refresh-token grant."""

    key_dir: Path
    users: dict[str, str]
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    issuer: str = "lamina-test-issuer"
    requests: list[dict] = field(default_factory=list)
    expires_in: int = 300  # what the token responses announce

    def __post_init__(self) -> None:
        self.key_dir.mkdir(parents=True, exist_ok=True)
        self.cert_path = self.key_dir / "token.crt"
        key_path = self.key_dir / "token.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", str(key_path), "-out", str(self.cert_path),
                        "-subj", "/CN=lamina token issuer"], check=True, capture_output=True)
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self._key = key
        pem = self.cert_path.read_text()
        self._x5c = "".join(pem.split("-----")[2].split())  # the DER, base64: x5c's format

    def jwt(self, subject: str, service: str, access: list[dict]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {"iss": self.issuer, "sub": subject, "aud": service, "iat": now,
                  "nbf": now - 10, "exp": now + 300, "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}." \
                        f"{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(request.path).query)
        if request.command == "POST":
            query = parse_qs(read_body(request).decode())
        subject = self._subject(request, query)
        self.requests.append({"method": request.command, "query": query, "subject": subject})
        if subject is None:
            reply(request, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad login"}]}',
                  {"Content-Type": "application/json"})
            return
        access = []
        for scope in query.get("scope", []):
            for one in scope.split(" "):
                kind, _, rest = one.partition(":")
                name, _, wanted = rest.rpartition(":")
                actions = wanted.split(",")
                allowed = actions if subject != "anonymous" else [a for a in actions if a == "pull"]
                access.append({"type": kind, "name": name, "actions": allowed})
        token = self.jwt(subject, query["service"][0], access)
        reply(request, 200, json.dumps({"access_token": token,
                                        "expires_in": self.expires_in}).encode(),
              {"Content-Type": "application/json"})

    def _subject(self, request: http.server.BaseHTTPRequestHandler,
                 query: dict[str, list[str]]) -> str | None:
        if query.get("grant_type") == ["refresh_token"]:
            return self.refresh_tokens.get(query.get("refresh_token", [""])[0])
        header = request.headers.get("Authorization")
        if not header:
            return "anonymous"
        username, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
        return username if self.users.get(username) == password else None

    def registry_auth(self, realm: str, service: str) -> dict:
        """The ``auth`` section of a docker-registry config trusting this server."""
        return {"token": {"realm": realm, "service": service, "issuer": self.issuer,
                          "rootcertbundle": str(self.cert_path)}}


# -- a forwarding proxy that can misbehave ---------------------------------------------------

@dataclass
class Fault:
    """Misbehave ``times`` times (-1: always) on requests whose method is ``method`` and whose
    path contains ``path``. ``action``: an HTTP status ("503"), "429" (with Retry-After: 1),
    "cut-response" (half the upstream body, then close), "cut-request" (read half the request
    body, then close), "refuse-monolithic" (413 for a PUT with a body)."""

    method: str
    path: str
    action: str
    times: int = 1

    def matches(self, request: http.server.BaseHTTPRequestHandler) -> bool:
        if self.times == 0 or request.command != self.method or self.path not in request.path:
            return False
        if self.action == "refuse-monolithic" and not int(request.headers.get("Content-Length")
                                                          or 0):
            return False
        return True


@dataclass
class FlakyProxy:
    """Forwards to ``upstream`` (``host:port``, plain HTTP) keeping the Host header, so the
    registry's Location headers point back at the proxy. ``faults`` lists what to do to the
    next blob-upload PUTs: "drop" closes the connection without answering, "stale" answers as
    a registry does for a consumed upload session."""

    upstream: str
    faults: list[str] = field(default_factory=list)
    relative_locations: bool = False  # rewrite Location headers to host-relative paths
    seen: list[str] = field(default_factory=list)
    plan: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _planned(self, request: http.server.BaseHTTPRequestHandler) -> str | None:
        with self._lock:
            for fault in self.plan:
                if fault.matches(request):
                    fault.times -= 1 if fault.times > 0 else 0
                    return fault.action
        return None

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        action = self._planned(request)
        self.seen.append(f"{request.command} {urlsplit(request.path).path}")
        if action == "cut-request":
            request.rfile.read(int(request.headers.get("Content-Length") or 0) // 2)
            request.close_connection = True
            request.connection.shutdown(2)
            return
        body = read_body(request)
        if action is not None and action.isdigit():
            headers = {"Content-Type": "application/json"}
            if action == "429":
                headers["Retry-After"] = "1"
            reply(request, int(action), b'{"errors":[{"code":"UNAVAILABLE","message":"planned"}]}',
                  headers)
            return
        if action == "refuse-monolithic":
            reply(request, 413, b"", {})
            return
        if request.command == "PUT" and "/blobs/uploads/" in request.path and self.faults:
            fault = self.faults.pop(0)
            if fault == "drop":
                request.close_connection = True
                request.connection.shutdown(2)
                return
            reply(request, 404, b'{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN",'
                                b'"message":"blob upload unknown to registry"}]}',
                  {"Content-Type": "application/json"})
            return
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
        connection.request(request.command, request.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        request.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() == "location" and self.relative_locations and "://" in value:
                value = "/" + value.split("://", 1)[1].split("/", 1)[1]
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if action == "cut-response":
            request.wfile.write(payload[:len(payload) // 2])
            request.wfile.flush()
            request.close_connection = True
            request.connection.shutdown(2)
        elif request.command != "HEAD":
            request.wfile.write(payload)
        connection.close()

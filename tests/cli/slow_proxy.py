"""A registry behind a slow line: an HTTP proxy on loopback that forwards every request to the
test registry and caps the bytes per second both ways, so a pull or a push of a few tens of
megabytes lasts seconds and its progress can be watched. The Host header goes through as sent,
so the registry's upload Locations point back at the proxy."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_CHUNK = 64 * 1024


class _Throttle:
    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def wait(self, count: int) -> None:
        """Sleep so that the line as a whole carries no more than ``rate`` bytes a second."""
        with self._lock:
            now = time.monotonic()
            self._next = max(self._next, now) + count / self.rate
            delay = self._next - now
        if delay > 0:
            time.sleep(delay)


def _handler(upstream: tuple[str, int], throttle: _Throttle) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def _body(self) -> Iterator[bytes]:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    yield self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                data = self.rfile.read(min(left, _CHUNK))
                if not data:
                    return
                left -= len(data)
                throttle.wait(len(data))
                yield data

        def _forward(self) -> None:
            connection = http.client.HTTPConnection(*upstream, timeout=120)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("transfer-encoding", "connection")}
            chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
            body = self._body()
            connection.request(self.command, self.path, body=body if (chunked or "Content-Length" in headers)
                               else None, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            self.send_response_only(response.status, response.reason)
            length = response.getheader("Content-Length")
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection"):
                    self.send_header(key, value)
            if length is None and self.command != "HEAD":
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                while data := response.read(_CHUNK):
                    throttle.wait(len(data))
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n"
                                     if length is None else data)
                if length is None:
                    self.wfile.write(b"0\r\n\r\n")
            connection.close()

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    return Forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the executor's TLS probe of a loopback registry, a connection closed mid-blob


@contextlib.contextmanager
def slow_registry(registry_host: str, bytes_per_second: float) -> Iterator[str]:
    """``127.0.0.1:PORT``, the registry at ``registry_host`` reached at ``bytes_per_second``."""
    host, _, port = registry_host.partition(":")
    server = _Server(("127.0.0.1", 0), _handler((host, int(port)), _Throttle(bytes_per_second)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

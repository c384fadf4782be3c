"""RUN --mount=type=ssh: Unix sockets the executor listens on for one command, each connection
served in a thread of its own (relayed to an ssh-agent, or answered by lamina's agent).

A socket cannot be copied or moved into the root as a file can, so the command always reaches a
socket of the executor's: made in the kaniko dir and bind-mounted at the target where the command
has a mount namespace, or bound at the target itself where it has none (placement.py), which
also gives it the mount's owner and mode without touching the agent's own socket.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from executor.sandbox.ssh_agent import FAILURE_MESSAGE, REQUEST_IDENTITIES, SIGN_REQUEST, read_message

__all__ = ["ConnectionHandler", "SocketService", "relay_to"]

# Serves one accepted connection until either side closes it.
ConnectionHandler = Callable[[socket.socket], None]
ACCEPT_POLL_SECONDS = 0.2  # how soon an accepting thread sees close(); accept() cannot be woken
# A RUN's ssh clients need a few at once; each is a thread of the executor's holding up to a whole
# message, so a command opening thousands cannot grow the executor: one more is closed at once.
MAX_CONNECTIONS = 64


class SocketService:
    """Listening sockets that hand each connection to ``handler``, until ``close``."""

    def __init__(self, handler: ConnectionHandler, name: str) -> None:
        self._handler = handler
        self._name = name
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._connections = 0
        self._lock = threading.Lock()

    def listen(self, path: str, *, mode: int, uid: int, gid: int) -> None:
        """Bind a new socket at ``path`` (which must not exist) with owner and mode, and serve it.
        A long ``path`` is reached through its directory's descriptor: AF_UNIX takes 107 bytes."""
        directory, name = os.path.split(path)
        fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            short = f"/proc/self/fd/{fd}/{name}"
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.bind(short)
                os.chown(short, uid, gid, follow_symlinks=False)
                os.chmod(short, mode)  # after chown; nothing runs in the root meanwhile
                server.listen(16)
                server.settimeout(ACCEPT_POLL_SECONDS)
            except BaseException:
                server.close()
                raise
        finally:
            os.close(fd)
        self._start(self._accept, server)
        with self._lock:
            self._sockets.append(server)

    def close(self) -> None:
        """Stop accepting and end every connection; the socket files are their owners' to remove."""
        self._closed.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in list(self._threads):
            thread.join(timeout=5)
        for sock in sockets:
            sock.close()

    def _start(self, target: Callable[[socket.socket], None], sock: socket.socket) -> None:
        thread = threading.Thread(target=target, args=(sock,), name=self._name, daemon=True)
        with self._lock:
            self._threads = [*(t for t in self._threads if t.is_alive()), thread]
        thread.start()

    def _accept(self, server: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            connection.settimeout(None)
            with self._lock:
                if self._connections >= MAX_CONNECTIONS:
                    connection.close()
                    continue
                self._connections += 1
                self._sockets.append(connection)
            self._start(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        try:
            self._handler(connection)
        except OSError:
            pass  # the command (or the agent) went away mid-message: nothing to report
        finally:
            with self._lock:
                self._connections -= 1
                self._sockets.remove(connection)
            connection.close()


def relay_to(agent: Path) -> ConnectionHandler:
    """A handler passing a connection's requests to a new connection to ``agent``, one message
    at a time: only listing keys and signing, as BuildKit's readOnlyAgent. Anything else (adding,
    removing or locking the keys of the caller's own agent, extensions) is refused here."""
    def relay(connection: socket.socket) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
            upstream.connect(str(agent))
            while (request := read_message(connection)) is not None:
                if request[0] not in (REQUEST_IDENTITIES, SIGN_REQUEST):
                    connection.sendall(FAILURE_MESSAGE)
                    continue
                upstream.sendall(struct.pack(">I", len(request)) + request)
                answer = read_message(upstream)
                if answer is None:
                    return
                connection.sendall(struct.pack(">I", len(answer)) + answer)
    return relay

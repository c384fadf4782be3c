"""lamina's own ssh-agent, for ``--ssh ID=KEY[,KEY...]``: the keys are read into memory and the
agent protocol's read-only subset (draft-miller-ssh-agent: REQUEST_IDENTITIES and SIGN_REQUEST,
for ed25519, RSA and ECDSA keys) is answered on the socket a RUN's ssh mount shows.

Why not ``ssh-agent -a SOCK`` and ``ssh-add``: the executor image carries no openssh-client, and
ssh-add would put the keys into a second process for the build's time. ``cryptography`` (a
dependency of the Azure and Google clients lamina has already) parses OpenSSH and PEM keys and
signs; the key bytes never leave this process nor reach the root, a layer or a log.
"""

from __future__ import annotations

import base64
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from executor.errors import UsageError

__all__ = ["FAILURE_MESSAGE", "AgentKey", "KeyAgent", "load_keys", "read_message"]

# Message numbers (draft-miller-ssh-agent section 6.1) and the RSA signature flags (6.2.1).
FAILURE, IDENTITIES_ANSWER, SIGN_RESPONSE = 5, 12, 14
REQUEST_IDENTITIES, SIGN_REQUEST = 11, 13
RSA_SHA2_256, RSA_SHA2_512 = 2, 4
MAX_MESSAGE = 256 * 1024  # the draft's limit; a longer length is a broken or hostile client
FAILURE_MESSAGE = struct.pack(">IB", 1, FAILURE)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(number: int) -> bytes:
    return _string(number.to_bytes(number.bit_length() // 8 + 1, "big") if number else b"")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError("truncated agent message")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def string(self) -> bytes:
        return self.take(struct.unpack(">I", self.take(4))[0])

    def uint32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])


@dataclass(frozen=True)
class AgentKey:
    """One private key: its public blob (the wire form ssh clients compare) and a comment."""

    blob: bytes
    comment: str
    private: Any = field(repr=False)  # a cryptography private key object

    def sign(self, data: bytes, flags: int) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

        key = self.private
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return _string(b"ssh-ed25519") + _string(key.sign(data))
        if isinstance(key, rsa.RSAPrivateKey):
            name, digest = ((b"rsa-sha2-512", hashes.SHA512()) if flags & RSA_SHA2_512 else
                            (b"rsa-sha2-256", hashes.SHA256()) if flags & RSA_SHA2_256 else
                            (b"ssh-rsa", hashes.SHA1()))
            return _string(name) + _string(key.sign(data, padding.PKCS1v15(), digest))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            bits = key.curve.key_size
            chosen = hashes.SHA256() if bits <= 256 else hashes.SHA384() if bits <= 384 else hashes.SHA512()
            r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(chosen)))
            name = _Reader(self.blob).string()
            return _string(name) + _string(_mpint(r) + _mpint(s))
        raise ValueError(f"unsupported key type {type(key).__name__}")


def load_keys(source_id: str, paths: Sequence[Path]) -> tuple[AgentKey, ...]:
    """The private keys in ``paths`` (OpenSSH or PEM, unencrypted), for ``--ssh source_id=...``."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    keys = []
    for path in paths:
        where = f"--ssh {source_id}={path}"
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UsageError(f"{where}: cannot read the key: {error.strerror}") from None
        private: Any
        try:
            if b"BEGIN OPENSSH PRIVATE KEY" in data:
                private = serialization.load_ssh_private_key(data, password=None)
            else:
                private = serialization.load_pem_private_key(data, password=None)
        except TypeError:  # what cryptography raises for an encrypted key without a password
            raise UsageError(f"{where}: the key is protected by a passphrase; add it to an ssh-agent "
                             f"(ssh-add) and pass --ssh {source_id}=$SSH_AUTH_SOCK instead") from None
        except (ValueError, UnsupportedAlgorithm):
            raise UsageError(f"{where}: not a private key lamina can read (OpenSSH or PEM format)") from None
        if not isinstance(private, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise UsageError(f"{where}: only ed25519, RSA and ECDSA keys are supported")
        public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH)
        keys.append(AgentKey(blob=base64.b64decode(public.split()[1]), comment=str(path), private=private))
    return tuple(keys)


@dataclass(frozen=True)
class KeyAgent:
    """Answers the read-only part of the agent protocol with ``keys``; every other request
    (adding, removing, locking keys, extensions) fails, as for a locked agent."""

    keys: tuple[AgentKey, ...] = field(repr=False)

    def serve(self, connection: socket.socket) -> None:
        """Answer requests on ``connection`` until the client closes it."""
        while (message := read_message(connection)) is not None:
            connection.sendall(_string(self.answer(message)))

    def answer(self, message: bytes) -> bytes:
        kind, body = message[0], _Reader(message[1:])
        try:
            if kind == REQUEST_IDENTITIES:
                return (bytes([IDENTITIES_ANSWER]) + struct.pack(">I", len(self.keys))
                        + b"".join(_string(k.blob) + _string(k.comment.encode()) for k in self.keys))
            if kind == SIGN_REQUEST:
                blob, data, flags = body.string(), body.string(), body.uint32()
                for key in self.keys:
                    if key.blob == blob:
                        return bytes([SIGN_RESPONSE]) + _string(key.sign(data, flags))
        except ValueError:
            pass
        return bytes([FAILURE])


def read_message(connection: socket.socket) -> bytes | None:
    """One length-prefixed agent message (without its length); None at the end of the connection
    or for an empty or over-long one, which ends it."""
    header = _receive(connection, 4)
    if header is None:
        return None
    size = struct.unpack(">I", header)[0]
    if not 0 < size <= MAX_MESSAGE:
        return None
    return _receive(connection, size)


def _receive(connection: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = connection.recv(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

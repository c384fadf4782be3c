"""The registry package's exception hierarchy: each error names the registry URL, the HTTP
status and the registry's own ``errors[].code/message``, so one line says what went wrong where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from executor.errors import LaminaError

# Error bodies are small JSON documents; never read more than this from a failed response.
_MAX_ERROR_BODY = 64 * 1024
_MAX_DETAIL_CHARS = 160
_MAX_DIAGNOSTICS_SHOWN = 3
# Codes a registry answers when an upload session was consumed by a half-done attempt.
_STALE_UPLOAD_CODES = frozenset({"BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"})


@dataclass(frozen=True)
class RegistryDiagnostic:
    """One entry of the registry's ``{"errors": [{"code", "message", "detail"}]}`` body."""

    code: str
    message: str
    detail: Any = None

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.message else self.code
        if self.detail not in (None, "", {}, []):
            detail = self.detail if isinstance(self.detail, str) else json.dumps(
                self.detail, separators=(",", ":"), sort_keys=True)
            if len(detail) > _MAX_DETAIL_CHARS:
                detail = detail[:_MAX_DETAIL_CHARS] + "..."
            text += f" ({detail})"
        return text


class RegistryError(LaminaError):
    """A registry operation failed. ``str()`` is one line:

    ``push to 127.0.0.1:5000/foo: 401 UNAUTHORIZED: authentication required (PUT http://...)``
    """

    def __init__(self, message: str = "", *, action: str | None = None, url: str | None = None,
                 method: str | None = None, status: int | None = None,
                 diagnostics: tuple[RegistryDiagnostic, ...] = (), hint: str | None = None) -> None:
        self.message = message
        self.action = action
        self.url = url
        self.method = method
        self.status = status
        self.diagnostics = diagnostics
        self.hint = hint
        super().__init__(self._one_line())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.diagnostics)

    @property
    def temporary(self) -> bool:
        """Whether doing the whole operation again may succeed: the registry said the upload
        session it was given is gone (a half-done attempt consumed it). Transient faults of one
        request were already retried by the session; what is left is an answer."""
        return bool(_STALE_UPLOAD_CODES & set(self.codes))

    def _one_line(self) -> str:
        parts: list[str] = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.diagnostics:
            shown = "; ".join(str(d) for d in self.diagnostics[:_MAX_DIAGNOSTICS_SHOWN])
            hidden = len(self.diagnostics) - _MAX_DIAGNOSTICS_SHOWN
            parts.append(shown + (f" (and {hidden} more)" if hidden > 0 else ""))
        elif self.message:
            parts.append(self.message)
        body = " ".join(parts)
        if self.diagnostics and self.message:
            body = f"{self.message}: {body}"
        line = f"{self.action}: {body}" if self.action else body
        if self.method and self.url:
            line += f" ({self.method} {self.url})"
        elif self.url:
            line += f" ({self.url})"
        if self.hint:
            line += f"; {self.hint}"
        return " ".join(line.split())  # one line, whatever the registry put in its messages


class InvalidReference(RegistryError):
    """An image reference that does not follow Docker's naming rules."""


class CredentialsError(RegistryError):
    """A docker config.json that cannot be read or holds a malformed entry."""


# where a 401/403's one line tells the user to look
CREDENTIALS_WHERE = ("$DOCKER_CONFIG/config.json (/kaniko/.docker/config.json in the executor's "
                     "image) or the registry's --credential-helpers helper")


class AuthenticationError(RegistryError):
    """The registry refused our credentials (401/403), or we had none to offer."""


class NotFoundError(RegistryError):
    """The registry answered 404 (or a *_UNKNOWN code) for what we asked."""


class ManifestNotFound(NotFoundError):
    """No such repository or tag/digest (MANIFEST_UNKNOWN / NAME_UNKNOWN)."""


class BlobNotFound(NotFoundError):
    """No such blob in the repository (BLOB_UNKNOWN / NAME_UNKNOWN)."""


class RegistryUnreachable(RegistryError):
    """Connection refused, DNS failure or timeouts after the configured retries."""

    @property
    def temporary(self) -> bool:
        # The registry was not reached (or the connection broke mid-request, or a handshake was
        # cut, which is reported as TLS too): a fresh attempt may find it again.
        return True


class TLSVerificationFailed(RegistryUnreachable):
    """The TLS handshake failed (unknown CA, wrong host name, plain HTTP on the port...)."""


class DigestMismatch(RegistryError):
    """What the registry sent does not hash to (or is not the size of) the digest asked for."""


class UnsupportedManifest(RegistryError):
    """A manifest lamina cannot use: Docker schema 1, or an unknown media type."""


class PlatformNotFound(RegistryError):
    """A manifest list / OCI index has no entry for the wanted platform."""


def parse_diagnostics(body: bytes) -> tuple[RegistryDiagnostic, ...]:
    """The ``errors`` array of a registry error body; empty if the body is not that JSON."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ()
    entries = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return ()
    found: list[RegistryDiagnostic] = []
    for entry in entries:
        if isinstance(entry, dict):
            found.append(RegistryDiagnostic(code=str(entry.get("code") or "UNKNOWN"),
                                            message=str(entry.get("message") or ""),
                                            detail=entry.get("detail")))
    return tuple(found)


def error_from_response(response: requests.Response, action: str, *, registry: str,
                        not_found: type[NotFoundError] = NotFoundError,
                        auth_hint: str | None = None) -> RegistryError:
    """The typed error for a failed response, its body read (bounded) and parsed for diagnostics."""
    try:
        body = response.raw.read(_MAX_ERROR_BODY, decode_content=True) if response.raw else b""
    except Exception:  # noqa: BLE001 - a broken error body must not hide the status
        body = b""
    finally:
        response.close()
    diagnostics = parse_diagnostics(body or b"")
    status = response.status_code
    method = response.request.method if response.request is not None else None
    message = "" if diagnostics else (response.reason or "").upper()
    common: dict[str, Any] = dict(action=action, url=response.url, method=method, status=status,
                                  diagnostics=diagnostics)
    if status in (401, 403):
        return AuthenticationError(message, hint=auth_hint or f"check credentials for {registry} in "
                                   f"{CREDENTIALS_WHERE}", **common)
    codes = {d.code for d in diagnostics}
    if status == 404 or codes & {"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"}:
        return not_found(message, **common)
    return RegistryError(message, **common)

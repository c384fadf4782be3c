"""``https://.../ctx.tar.gz`` contexts (presigned bucket URLs) and Dockerfiles given as URLs."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlsplit

import requests
import urllib3

from executor.http import DOWNLOAD_RETRY, make_session

from .base import ArchiveSource, Download
from .errors import ContextError

__all__ = ["HttpArchive", "download_dockerfile", "redact_url"]

TIMEOUT = (10, 60)  # connect, read (seconds): a stalled server fails the build, not hangs it
CHUNK = 1 << 20


def redact_url(url: str) -> str:
    """The URL without user info or query: presigned URLs carry their signature in the query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" + ("?..." if parts.query else "")


def http_session() -> requests.Session:
    """A session from the one factory, with the download retry policy (connection failures and
    429/500/502/503/504 retried with backoff; a 403 or 404 is final at once), and urllib3's
    retry warnings kept free of presigned queries."""
    _redact_retry_warnings()
    return make_session(DOWNLOAD_RETRY)


# What reading a response body may raise once the headers are in.
TRANSFER_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


def _get(session: requests.Session, url: str, name: str, kind: str) -> requests.Response:
    try:
        response = session.get(url, stream=True, timeout=TIMEOUT)
    except requests.ConnectionError as error:
        raise ContextError(name, f"cannot reach the server: {_root_cause(error)}", kind=kind) from None
    except requests.RequestException as error:
        raise ContextError(name, f"download failed: {_root_cause(error)}", kind=kind) from None
    if response.status_code != 200:
        response.close()
        raise ContextError(name, f"the server answered HTTP {response.status_code} {response.reason}",
                           kind=kind)
    # Undo a transfer Content-Encoding; a .tar.gz body itself is sniffed and gunzipped later.
    response.raw.decode_content = True
    return response


def _root_cause(error: BaseException) -> str:
    """The innermost reason ("[Errno 111] Connection refused"), without the URL that requests
    and urllib3 wrap around it (a presigned URL's query is a credential)."""
    for _ in range(10):
        reason = getattr(error, "reason", None)
        if not isinstance(reason, BaseException):
            wrapped = error.args[0] if error.args else None
            reason = wrapped if isinstance(wrapped, BaseException) else error.__cause__ or error.__context__
        if reason is None:
            break
        error = reason
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return _QUERY.sub("?...", (text.strip().splitlines() or [type(error).__name__])[0])


_QUERY = re.compile(r"\?[^\s'\")]+")


class _RedactQueries(logging.Filter):
    """urllib3 logs each retry with the request's URL; a presigned URL's query must not reach
    the build log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _QUERY.sub("?...", record.getMessage())
        record.args = ()
        return True


def _redact_retry_warnings() -> None:
    pool_log = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQueries) for f in pool_log.filters):
        pool_log.addFilter(_RedactQueries())


@dataclass(frozen=True)
class HttpArchive(ArchiveSource):
    """A tarball at an http(s) URL; plain http is allowed (kaniko allows only https)."""

    url: str

    def describe(self) -> str:
        return redact_url(self.url)

    def open(self, env: Mapping[str, str]) -> Download:
        session = http_session()
        response = _get(session, self.url, self.describe(), "build context")
        length = response.headers.get("Content-Length")

        def close() -> None:
            response.close()
            session.close()

        body = cast(BinaryIO, response.raw)  # urllib3's HTTPResponse reads like a binary file
        return Download(body, int(length) if length and length.isdigit() else None, close,
                        errors=TRANSFER_ERRORS)


def download_dockerfile(url: str, into: Path) -> None:
    """Stream the Dockerfile at ``url`` to ``into`` (under the kaniko dir)."""
    name = redact_url(url)
    with http_session() as session:
        response = _get(session, url, name, "Dockerfile")
        with response, open(into, "wb") as out:
            try:
                shutil.copyfileobj(response.raw, out, CHUNK)
            except TRANSFER_ERRORS as error:
                raise ContextError(name, f"download failed: {_root_cause(error)}",
                                   kind="Dockerfile") from None

"""ADD <URL>: download a file into a scratch directory, streaming, with Docker's rules for the file
name (the URL path's last part), mode (0600) and mtime (the ``Last-Modified`` header), and
BuildKit's ``--checksum=<algorithm>:<hex>`` verification."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import tempfile
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

__all__ = ["Checksum", "DownloadError", "download", "is_url"]

CHUNK = 1 << 20
TIMEOUT = (30, 300)  # connect, read: a slow mirror is fine, a dead one is not
_CHECKSUM = re.compile(r"^(sha256|sha384|sha512):([0-9a-f]+)\Z")
_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


class DownloadError(Exception):
    """The download failed or did not match its checksum; ADD reports it with its line."""


def is_url(word: str) -> bool:
    return word.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Checksum:
        match = _CHECKSUM.match(text.strip().lower())
        if match is None or len(match.group(2)) != _HEX_LENGTH[match.group(1)]:
            raise ValueError(f"invalid checksum {text!r}: expected sha256:<64 hex digits> "
                             "(or sha384:, sha512:)")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def file_name(url: str) -> str:
    """The downloaded file's name: the last part of the URL's path, as Docker names it."""
    name = posixpath.basename(unquote(urlsplit(url).path).rstrip("/"))
    return name if name not in ("", ".", "..") else "__unnamed__"


def download(session: requests.Session, url: str, directory: Path, checksum: Checksum | None) -> Path:
    """Stream ``url`` into a new file below ``directory``; mode 0600, mtime from Last-Modified."""
    folder = Path(tempfile.mkdtemp(dir=directory))
    target = folder / file_name(url)
    digest = hashlib.new(checksum.algorithm if checksum else "sha256")
    try:
        with session.get(url, stream=True, timeout=TIMEOUT) as response:
            if response.status_code >= 400:
                raise DownloadError(f"GET {url}: {response.status_code} {response.reason}")
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            last_modified = response.headers.get("Last-Modified")
    except requests.RequestException as error:
        raise DownloadError(f"GET {url}: {error}") from None
    if checksum is not None and digest.hexdigest() != checksum.hex:
        raise DownloadError(f"checksum mismatch for {url}: expected {checksum}, "
                            f"got {checksum.algorithm}:{digest.hexdigest()}")
    os.chmod(target, 0o600)
    if last_modified:
        try:
            stamp = parsedate_to_datetime(last_modified).timestamp()
            os.utime(target, (stamp, stamp))
        except (TypeError, ValueError, OverflowError):
            pass  # an unparseable header: Docker keeps the download time too
    return target

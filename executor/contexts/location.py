"""Where the build reads its context and Dockerfile from, decided once the flags are parsed, and
the fetching that puts them there before the build starts."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from executor.errors import UsageError

from .azure import parse_azblob, parse_azure_url
from .base import ContextSource
from .errors import ContextError
from .gcs import GcsArchive
from .git import GitOptions, parse_git_context
from .local import StdinArchive, TarFileArchive
from .s3 import S3Archive
from .web import HttpArchive, download_dockerfile

__all__ = ["ContextFetch", "ContextLocation", "fetch_context", "locate_context"]

log = logging.getLogger("lamina")

BUILD_CONTEXT_DIR = "buildcontext"  # under the kaniko dir, where kaniko unpacks remote contexts
REMOTE_DOCKERFILE = "Dockerfile"  # under the kaniko dir, a Dockerfile given as a URL
SCHEMES = ("dir://", "tar://", "gs://", "s3://", "azblob://", "git://", "https://", "http://")


@dataclass(frozen=True)
class ContextFetch:
    """What must be fetched before the build: a remote context into ``directory`` (emptied
    first), and a Dockerfile URL into ``dockerfile``."""

    source: ContextSource | None
    directory: Path
    sub_path: str = ""
    dockerfile_url: str | None = None
    dockerfile: Path | None = None


@dataclass(frozen=True)
class ContextLocation:
    context: Path  # the directory the build reads (after fetching, with the sub-path)
    dockerfile: Path
    fetch: ContextFetch | None = None  # None: both are local already


def parse_context(spec: str, git: GitOptions) -> Path | ContextSource:
    """kaniko's ``--context`` forms: a local directory, or a source to fetch it from."""
    scheme, sep, rest = spec.partition("://")
    if not sep:
        return Path(spec).absolute()
    try:
        match scheme:
            case "dir":
                return Path(rest).absolute()
            case "tar":
                return StdinArchive() if rest == "stdin" else TarFileArchive(Path(rest).absolute())
            case "gs" | "s3":
                bucket, _, key = rest.partition("/")
                if not bucket or not key or key.endswith("/"):
                    raise ValueError(f"expected {scheme}://BUCKET/PATH/TO/CONTEXT.tar.gz")
                return GcsArchive(bucket, key) if scheme == "gs" else S3Archive(bucket, key)
            case "azblob":
                return parse_azblob(rest)
            case "git":
                return parse_git_context(rest, git)
            case "http" | "https":
                if not rest.split("/", 1)[0]:
                    raise ValueError("expected a host after the scheme")
                # kaniko reads an https URL on a blob storage host with the Azure client
                return parse_azure_url(spec) or HttpArchive(spec)
    except ValueError as error:
        raise UsageError(f"--context {spec!r}: {error}") from None
    raise UsageError(f"--context {spec!r}: unknown scheme {scheme}://; use one of "
                     f"{', '.join(SCHEMES)} or a plain path")


def _clean_sub_path(sub_path: str) -> str:
    parts = [p for p in sub_path.split("/") if p not in ("", ".")]
    if sub_path.startswith("/") or ".." in parts:
        raise UsageError(f"--context-sub-path {sub_path!r} must be a relative path inside the context")
    return "/".join(parts)


def locate_context(spec: str, dockerfile: str, sub_path: str, git: GitOptions,
                   kaniko_dir: Path) -> ContextLocation:
    """Decide where the context and the Dockerfile will be; nothing is fetched yet."""
    sub = _clean_sub_path(sub_path)
    parsed = parse_context(spec, git)
    source: ContextSource | None = None
    if isinstance(parsed, Path):
        base = parsed  # a local directory is read in place, as kaniko does
    else:
        source, base = parsed, kaniko_dir / BUILD_CONTEXT_DIR
    context = base / sub if sub else base
    dockerfile_url = dockerfile if dockerfile.startswith(("https://", "http://")) else None
    if dockerfile_url:
        dockerfile_path = kaniko_dir / REMOTE_DOCKERFILE
    else:
        dockerfile_path = Path(dockerfile)
        if not dockerfile_path.is_absolute():
            dockerfile_path = context / dockerfile_path  # relative to the (fetched) context
    fetch = None
    if source is not None or dockerfile_url:
        fetch = ContextFetch(source=source, directory=base, sub_path=sub, dockerfile_url=dockerfile_url,
                             dockerfile=dockerfile_path if dockerfile_url else None)
    return ContextLocation(context=context, dockerfile=dockerfile_path, fetch=fetch)


def fetch_context(fetch: ContextFetch | None, env: Mapping[str, str]) -> None:
    """Fetch what ``locate_context`` said is remote. Errors name the source and say why."""
    if fetch is None:
        return
    if fetch.source is not None:
        # Leftovers of an earlier build would mix into this context.
        shutil.rmtree(fetch.directory, ignore_errors=True)
        fetch.directory.mkdir(parents=True)
        fetch.source.fetch(fetch.directory, env)
        if fetch.sub_path and not (fetch.directory / fetch.sub_path).is_dir():
            raise ContextError(fetch.source.describe(),
                               f"--context-sub-path {fetch.sub_path!r} is not a directory in it")
    if fetch.dockerfile_url and fetch.dockerfile is not None:
        fetch.dockerfile.parent.mkdir(parents=True, exist_ok=True)
        download_dockerfile(fetch.dockerfile_url, fetch.dockerfile)

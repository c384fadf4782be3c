"""kaniko's ``--cache-dir``: base images the warmer keeps on disk, named by manifest digest.

``<dir>/<digest>`` is a ``docker save``-style tarball as go-containerregistry's ``tarball.Write``
makes it (``manifest.json``, the config blob, every layer blob exactly as the registry serves it)
and ``<dir>/<digest>.json`` is the raw manifest; ``<digest>`` is the image manifest's digest for
the platform pulled. Writers put each file under a temporary name in the directory and rename it
into place, the tarball first, so a reader only ever sees complete files, and warmers and executors
sharing the directory cannot corrupt it (every writer of a name writes the same content).

A reader trusts nothing but the file name: the manifest must hash to it, the config to the
manifest's config digest, and every layer is hashed as it streams. Anything wrong found before
the layers are read makes the entry a miss (the caller pulls from the registry); a layer whose
bytes turn out wrong while it is read fails with an error naming the cache file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from executor.atomic import sweep_abandoned, write_text_atomically
from executor.errors import BuildError
from executor.image import Image, Layer, ManifestBytes
from executor.image.digest import DigestCheckingReader, sha256_digest
from executor.image.media_types import MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE
from executor.image.tarball import write_tarball
from executor.options import CacheOptions
from executor.registry import Manifest, RegistryError, parse_manifest
from executor.registry.pull import LayerOpener

log = logging.getLogger("lamina")

_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")  # also what keeps a file name inside the directory
_CHUNK = 1024 * 1024



class CorruptCacheEntry(BuildError):
    """A cached layer's bytes are not what its digest says (found while reading it)."""


class _Unusable(Exception):
    """Why an entry cannot be used; it is then a miss, not an error."""


@dataclass(frozen=True)
class CachedImage:
    """An entry checked up to its layers, which are hashed as they are read. The tarball stays
    open, so a warmer renaming a new entry over it meanwhile changes nothing for this reader."""

    path: Path
    manifest: Manifest
    config: bytes
    file: BinaryIO = field(repr=False)
    spans: tuple[tuple[int, int], ...]  # (offset, size) of each layer's bytes in the tarball

    def layer_openers(self) -> list[LayerOpener]:
        return [_opener(self.file, offset, size, layer.digest, self.path)
                for (offset, size), layer in zip(self.spans, self.manifest.layers)]


@dataclass(frozen=True)
class BaseImageCache:
    directory: Path
    ttl_seconds: float
    now: Callable[[], float] = time.time

    def entry(self, digest: str) -> Path:
        if not _SHA256.fullmatch(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.directory / digest

    def is_fresh(self, digest: str) -> bool:
        """Whether both files of the entry are there and the tarball is younger than the TTL
        (their content is checked when the entry is read, not here)."""
        path = self.entry(digest)
        try:
            return (self._fresh(os.stat(path).st_mtime)
                    and path.with_name(path.name + ".json").is_file())
        except FileNotFoundError:
            return False

    def lookup(self, digest: str) -> CachedImage | None:
        """The entry for the image manifest ``digest``, or None if it is missing, expired or
        damaged (the reason is logged)."""
        if not _SHA256.fullmatch(digest):
            return None
        path = self.entry(digest)
        try:
            file = open(path, "rb")
        except FileNotFoundError:
            log.info("base image %s is not in the cache dir %s", digest, self.directory)
            return None
        except OSError as error:
            log.warning("cannot read cache entry %s, pulling instead: %s", path, error)
            return None
        try:
            mtime = os.fstat(file.fileno()).st_mtime
            if not self._fresh(mtime):
                log.info("cache entry %s expired (written %s)", path, time.ctime(mtime))
                file.close()
                return None
            cached = _read_entry(path, file, digest)
        except (_Unusable, OSError) as error:
            log.warning("cache entry %s is unusable, pulling from the registry instead: %s",
                        path, error)
            file.close()
            return None
        return cached

    def store(self, manifest: Manifest, config: bytes, layers: Sequence[Layer],
              tags: list[str]) -> Path:
        """Write the entry for ``manifest`` (its config bytes and layers, streamed from their
        openers); the tarball is renamed into place first, then the manifest."""
        path = self.entry(manifest.digest)
        sweep_abandoned(self.directory)
        try:
            manifest_text = manifest.raw.decode()
        except UnicodeDecodeError:
            raise BuildError(f"the manifest of {manifest.digest} is not UTF-8 JSON") from None
        # write_tarball takes the config bytes from ``serialized``, the layers from the image
        serialized = ManifestBytes(manifest.raw, manifest.media_type, config,
                                   manifest.config.digest)
        write_tarball(Image(config={}, layers=tuple(layers)), serialized, path, tags)
        write_text_atomically(path.with_name(path.name + ".json"), manifest_text)
        return path

    def _fresh(self, mtime: float) -> bool:
        return mtime + self.ttl_seconds > self.now()


def base_image_cache(options: CacheOptions) -> BaseImageCache | None:
    """The executor's ``--cache-dir`` (with ``--cache-ttl``), or None without it."""
    return BaseImageCache(options.dir, options.ttl_seconds) if options.dir else None


def _read_entry(path: Path, file: BinaryIO, digest: str) -> CachedImage:
    manifest_path = path.with_name(path.name + ".json")
    try:
        with open(manifest_path, "rb") as stream:
            raw = stream.read(MAX_MANIFEST_SIZE + 1)
    except FileNotFoundError:
        raise _Unusable(f"{manifest_path.name} is missing") from None
    if sha256_digest(raw) != digest:
        raise _Unusable(f"{manifest_path.name} does not hash to {digest}")
    try:
        manifest = parse_manifest(raw, None, str(manifest_path))
    except RegistryError as error:
        raise _Unusable(str(error)) from None
    if not isinstance(manifest, Manifest):
        raise _Unusable(f"{manifest_path.name} is an index, not an image manifest")
    members, file_size = _members(file), os.fstat(file.fileno()).st_size
    described = _read_member(file, members, "manifest.json", MAX_MANIFEST_SIZE)
    config_name, layer_names = _tarball_manifest(described)
    config = _read_member(file, members, config_name, MAX_CONFIG_SIZE)
    if sha256_digest(config) != manifest.config.digest:
        raise _Unusable(f"its config {config_name} does not hash to {manifest.config.digest}")
    if len(layer_names) != len(manifest.layers):
        raise _Unusable(f"it holds {len(layer_names)} layers, the manifest lists "
                        f"{len(manifest.layers)}")
    spans = []
    for name, layer in zip(layer_names, manifest.layers):
        if not _SHA256.fullmatch(layer.digest):
            raise _Unusable(f"layer digest {layer.digest} is not sha256")
        offset, size = _span(members, name)
        if size != layer.size or offset + size > file_size:
            raise _Unusable(f"layer {name} has {min(size, file_size - offset)} bytes, the "
                            f"manifest says {layer.size} (truncated?)")
        spans.append((offset, size))
    return CachedImage(path=path, manifest=manifest, config=config, file=file,
                       spans=tuple(spans))


def _members(file: BinaryIO) -> dict[str, tuple[int, int]]:
    """Each regular member's (data offset, size); the data itself is skipped, not read."""
    try:
        with tarfile.open(fileobj=file, mode="r:") as tar:
            return {member.name: (member.offset_data, member.size) for member in tar
                    if member.isreg()}
    except tarfile.TarError as error:
        raise _Unusable(f"not a readable tarball: {error}") from None


def _span(members: dict[str, tuple[int, int]], name: str) -> tuple[int, int]:
    try:
        return members[name]
    except KeyError:
        raise _Unusable(f"it has no member {name!r}") from None


def _read_member(file: BinaryIO, members: dict[str, tuple[int, int]], name: str,
                 limit: int) -> bytes:
    offset, size = _span(members, name)
    if size > limit:
        raise _Unusable(f"its {name} is larger than {limit} bytes")
    data = os.pread(file.fileno(), size, offset)
    if len(data) != size:
        raise _Unusable(f"its {name} is truncated")
    return data


def _tarball_manifest(data: bytes) -> tuple[str, list[str]]:
    """``manifest.json``'s one image: its config member and layer members, in order."""
    try:
        described: Any = json.loads(data)
        image = described[0]
        config, layers = image["Config"], image["Layers"]
    except (ValueError, LookupError, TypeError) as error:
        raise _Unusable(f"unexpected manifest.json: {error!r}") from None
    if not isinstance(config, str) or not isinstance(layers, list) or not all(
            isinstance(name, str) for name in layers):
        raise _Unusable("unexpected manifest.json: Config and Layers are not names")
    return config, layers


def _opener(file: BinaryIO, offset: int, size: int, digest: str, path: Path) -> LayerOpener:
    @contextlib.contextmanager
    def open_layer() -> Iterator[BinaryIO]:
        reader = io.BufferedReader(_LayerReader(file, offset, size, digest, path), _CHUNK)
        try:
            yield reader  # a BufferedReader is a BinaryIO
            # like a registry blob: leaving the block verifies what the caller did not read
            while reader.read(_CHUNK):
                pass
        finally:
            reader.close()

    return open_layer


class _LayerReader(DigestCheckingReader):
    """``size`` bytes at ``offset`` of the tarball, read with pread (readers of several layers
    share the file) and hashed on the way; the read reaching the end raises CorruptCacheEntry if
    they are not ``digest`` (a file that ends early is short of ``size``)."""

    def __init__(self, file: BinaryIO, offset: int, size: int, digest: str, path: Path) -> None:
        super().__init__(digest, size, hashlib.sha256())
        self._file, self._offset, self._path = file, offset, path

    def read_some(self, view: memoryview) -> int:
        view = view[:self.size - self.count]  # type: ignore[operator]  # size is never None
        if not view:
            return 0
        return os.preadv(self._file.fileno(), [view], self._offset + self.count)

    def mismatch(self, why: str) -> CorruptCacheEntry:
        return CorruptCacheEntry(
            f"cache entry {self._path}: layer {self.digest} is damaged ({why}); delete the entry "
            "or run the warmer again with --force")


__all__ = ["BaseImageCache", "CachedImage", "CorruptCacheEntry", "base_image_cache"]

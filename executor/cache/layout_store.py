"""Cached steps in a local directory (``--cache-repo oci:/path``), kept as kaniko keeps them: one
OCI image layout per key, ``<path>/<key>/``, holding the entry image of executor/cache/entry.py.

Several builders may share the directory. A new entry is written in a temporary directory beside
the others and renamed to ``<path>/<key>`` in one step; a builder that loses that race discards
its own (both are equally good). An expired or broken entry is updated in place: blobs first,
then ``index.json`` in one rename, and no blob is ever deleted under a reader. Every blob read
is checked against its digest before it is used (a corrupt entry is a miss), and the layer once
more as it streams.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from executor.atomic import sweep_abandoned
from executor.cache.entry import CachedStep, entry_diff_ids, entry_expired, entry_image
from executor.cache.key import file_sha256
from executor.errors import BuildError
from executor.image import FileLayer, Layer, serialize, sha256_digest
from executor.image.digest import DigestCheckingReader
from executor.image.layout import fill_oci_layout

log = logging.getLogger("lamina")

MAX_DOCUMENT_SIZE = 1024 * 1024  # index, manifest and config of an entry are far smaller
REF_NAME = "latest"  # so that umoci and skopeo can name the entry's image: oci:<path>/<key>:latest
_KEY = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_CHUNK = 1024 * 1024


class CorruptCacheEntry(BuildError):
    """A cached layer's bytes do not hash to its digest."""


class _Unusable(Exception):
    """An entry that cannot be used; the reason is logged and the lookup is a miss."""


@dataclass(frozen=True)
class LayoutLayer(FileLayer):
    """A layer blob in a cache entry, verified against its digest and size as it is read: the read
    that reaches the end (or closing the stream early, which reads the rest) raises
    CorruptCacheEntry if the bytes are wrong."""

    # a writable cache unlinks a corrupt blob, so the next build misses and rewrites the entry
    discard_if_corrupt: bool = False

    def open(self) -> BinaryIO:
        return io.BufferedReader(_VerifyingFile(self), _CHUNK)


class _VerifyingFile(DigestCheckingReader):
    def __init__(self, layer: LayoutLayer) -> None:
        try:
            self._file = open(layer.path, "rb")
        except OSError as error:
            raise BuildError(f"cached layer {layer.path}: {error.strerror} (removed while this "
                             "build used it?); build again") from None
        super().__init__(layer.digest, layer.size, hashlib.sha256())
        self._layer = layer

    def read_some(self, view: memoryview) -> int:
        return self._file.readinto(view)

    def close(self) -> None:
        if self.closed or not hasattr(self, "_layer"):  # closed, or the file never opened
            return
        try:
            rest = bytearray(_CHUNK)
            while not self.verified and self.readinto(rest):
                pass
        finally:
            self._file.close()
            super().close()

    def mismatch(self, why: str) -> CorruptCacheEntry:
        layer = self._layer
        entry = layer.path.parent.parent.parent
        if layer.discard_if_corrupt:
            try:
                os.unlink(layer.path)
                action = "it was removed, so the next build runs the step and caches it again"
            except OSError as error:
                action = f"remove {entry} ({error.strerror})"
        else:
            action = f"remove {entry} (the cache is read-only in this build)"
        return CorruptCacheEntry(f"cached layer {layer.path} is corrupt ({why}); {action}")


@dataclass
class LayoutLayerCache:
    directory: Path  # <directory>/<key>/ is one OCI image layout
    ttl_seconds: float
    writable: bool  # False: --no-push-cache, the directory is never touched
    now: Callable[[], datetime.datetime]

    def lookup(self, key: str) -> CachedStep | None:
        entry = self._entry(key)
        try:
            found = self._read(entry)
        except _Unusable as why:
            log.warning("cache entry %s is unusable, running the step: %s", entry, why)
            return None
        if found is None:
            return None
        config, step = found
        if step is None:
            log.info("cache entry %s expired (created %s)", key[:12], config.get("created"))
        return step

    def store(self, key: str, layer: Layer | None) -> None:
        if not self.writable:
            return
        entry = self._entry(key)
        try:
            # a lookup of this key hashed the layer already (and removed it if corrupt)
            found = self._read(entry, hash_layer=False)
        except _Unusable:
            found = None  # broken: rewritten in place below
        if found is not None and found[1] is not None:
            log.info("cache entry %s is there already (another builder's)", key[:12])
            return
        image = entry_image(key, layer, self.now())
        serialized = serialize(image, "oci")
        what = f"layer {layer.digest[:19]}" if layer else "a step that changed no files"
        if os.path.lexists(entry):
            fill_oci_layout(entry, image, serialized, [REF_NAME])
            log.info("cached %s in %s (replacing an expired or broken entry)", what, entry)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        sweep_abandoned(self.directory)
        temp = self.directory / f".{key}.partial-{os.getpid()}-{secrets.token_hex(4)}"
        temp.mkdir()
        try:
            fill_oci_layout(temp, image, serialized, [REF_NAME])
            os.rename(temp, entry)
        except OSError as error:
            shutil.rmtree(temp, ignore_errors=True)
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            log.info("cache entry %s was written by another builder first; keeping theirs",
                     key[:12])
            return
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        log.info("cached %s in %s", what, entry)

    def _entry(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # keys are sha256 hex: never a path of their own
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / key

    def _read(self, entry: Path, hash_layer: bool = True
              ) -> tuple[dict[str, Any], CachedStep | None] | None:
        """The entry's config and what it caches (None once expired; an expired layer is not
        hashed); None if there is no entry."""
        try:
            index = _json(_read_bounded(entry / "index.json"), "index.json")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise _Unusable(f"index.json: {error.strerror}") from None
        manifests = index.get("manifests")
        if not isinstance(manifests, list) or len(manifests) != 1:
            raise _Unusable("index.json does not name exactly one image")
        manifest = _json(_blob_bytes(entry, manifests[0]), "the manifest")
        layers = manifest.get("layers")
        if not isinstance(layers, list):
            raise _Unusable("the manifest lists no layers")
        config = _json(_blob_bytes(entry, manifest.get("config")), "the config")
        diff_ids = entry_diff_ids(config, len(layers))
        if diff_ids is None:
            raise _Unusable("the manifest and the config do not agree on zero or one layer")
        if entry_expired(config, self.ttl_seconds, self.now()):
            return config, None
        if not layers:
            return config, CachedStep(None)
        digest, size, media_type = _descriptor(layers[0])
        path = _blob_path(entry, digest)
        try:
            actual = path.stat().st_size
        except OSError as error:
            raise _Unusable(f"layer blob {digest}: {error.strerror}") from None
        if actual != size:
            raise _Unusable(f"layer blob {digest} has {actual} bytes, the manifest says {size}")
        # Hashed before use (a local read, cheap beside extracting it): a corrupt entry is a miss
        # that the step's run rewrites, never a failed build. The stream is checked again as it is
        # extracted, for a blob changed in between.
        if hash_layer and "sha256:" + file_sha256(path) != digest:
            if self.writable:  # of no use to any reader: gone, so the rewritten entry is whole
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise _Unusable(f"layer blob {digest} does not hash to its digest")
        return config, CachedStep(LayoutLayer(path, digest, diff_ids[0], size, media_type,
                                              discard_if_corrupt=self.writable))


def _descriptor(value: object) -> tuple[str, int, str]:
    if not isinstance(value, dict):
        raise _Unusable(f"not a descriptor: {value!r}")
    digest, size, media_type = value.get("digest"), value.get("size"), value.get("mediaType")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise _Unusable(f"unsupported digest {digest!r}")
    if not isinstance(size, int) or size < 0 or not isinstance(media_type, str):
        raise _Unusable(f"bad descriptor for {digest}")
    return digest, size, media_type


def _blob_path(entry: Path, digest: str) -> Path:
    return entry / "blobs" / "sha256" / digest.split(":", 1)[1]


def _blob_bytes(entry: Path, descriptor: object) -> bytes:
    """A small blob (manifest or config), read whole and verified against its descriptor."""
    digest, size, _ = _descriptor(descriptor)
    if size > MAX_DOCUMENT_SIZE:
        raise _Unusable(f"blob {digest} is larger than {MAX_DOCUMENT_SIZE} bytes")
    try:
        data = _read_bounded(_blob_path(entry, digest))
    except OSError as error:
        raise _Unusable(f"blob {digest}: {error.strerror}") from None
    if len(data) != size or sha256_digest(data) != digest:
        raise _Unusable(f"blob {digest} does not match its digest")
    return data


def _read_bounded(path: Path) -> bytes:
    with open(path, "rb") as stream:
        data = stream.read(MAX_DOCUMENT_SIZE + 1)
    if len(data) > MAX_DOCUMENT_SIZE:
        raise _Unusable(f"{path.name} is larger than {MAX_DOCUMENT_SIZE} bytes")
    return data


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise _Unusable(f"{what} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise _Unusable(f"{what} is not a JSON object")
    return value

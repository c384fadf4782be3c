"""Images as values: a config plus layers; transformations return new images.

A ``Layer`` is a small interface over an *opener* that reopens the compressed bytes from the start,
so digesting, uploading and retrying each read from the beginning without holding a layer in memory.
``Image.empty()`` is ``FROM scratch``: no special case anywhere else.
"""

from __future__ import annotations

import copy
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from executor.image.digest import sha256_digest
from executor.image.media_types import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_MANIFEST,
    TO_DOCKER,
    TO_OCI,
)
from snapshot.compression import open_layer_stream

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Layer(ABC):
    """A layer blob: what a manifest describes, and a way to reopen its compressed bytes."""

    media_type: str
    digest: str
    diff_id: str
    size: int

    @abstractmethod
    def open(self) -> BinaryIO:
        """The compressed bytes, from the start, as a stream (close it, or use ``with``)."""

    def uncompressed(self) -> BinaryIO:
        """The layer tar, from the start (gzip, zstd or plain, sniffed from the bytes); closing
        it closes the compressed stream too."""
        return _ManagedStream(self._uncompressed())  # type: ignore[return-value]

    @contextmanager
    def _uncompressed(self) -> Iterator[BinaryIO]:
        with self.open() as compressed, open_layer_stream(compressed) as stream:
            yield stream

    @property
    def mount_source(self) -> tuple[str, str] | None:
        """(registry, repository) that already holds the blob, for cross-repository mounts."""
        return None

    def descriptor(self, media_type: str | None = None) -> dict[str, Any]:
        return {"mediaType": media_type or self.media_type, "size": self.size, "digest": self.digest}


@dataclass(frozen=True)
class FileLayer(Layer):
    """A layer spooled to a file (under the kaniko dir) by the layer writer."""

    path: Path
    digest: str
    diff_id: str
    size: int
    media_type: str = DOCKER_LAYER_GZIP

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


class _ManagedStream(io.RawIOBase):
    """A stream that also leaves the context it was opened in when it is closed."""

    def __init__(self, manager: AbstractContextManager[BinaryIO]) -> None:
        super().__init__()
        self._manager = manager
        self._stream = manager.__enter__()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        return self._stream.read(-1 if size is None else size)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._manager.__exit__(None, None, None)


@dataclass(frozen=True)
class RemoteLayer(Layer):
    """A layer that lives in a registry repository (a base image's layer)."""

    registry: str
    repository: str
    digest: str
    diff_id: str
    size: int
    media_type: str
    opener: Callable[[], AbstractContextManager[BinaryIO]] = field(compare=False, repr=False)

    def open(self) -> BinaryIO:
        return _ManagedStream(self.opener())  # type: ignore[return-value]

    @property
    def mount_source(self) -> tuple[str, str] | None:
        return (self.registry, self.repository)


@dataclass(frozen=True)
class ImageOrigin:
    """The registry image an image's layers start with: its name as FROM gave it (ARGs
    expanded) and the digest of the manifest pulled. Transformations keep it, so a built image
    still names the base it was built on."""

    name: str
    digest: str


@dataclass(frozen=True)
class Image:
    """An image config (the whole JSON object) and its layers, in order; ``origin`` None for an
    image that starts from nothing (scratch)."""

    config: dict[str, Any]
    layers: tuple[Layer, ...] = ()
    origin: ImageOrigin | None = None

    @classmethod
    def empty(cls) -> Image:
        return cls(config={
            "architecture": "amd64",
            "os": "linux",
            # as BuildKit's empty image (dockerfile2llb emptyImage): the default PATH, WorkingDir "/"
            "config": {"Env": [f"PATH={DEFAULT_PATH}"], "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        })

    @property
    def run_config(self) -> dict[str, Any]:
        """A copy of the runtime config (Env, Cmd, ...): change it and pass it to ``with_run_config``."""
        return copy.deepcopy(self.config.get("config") or {})

    def with_run_config(self, run_config: dict[str, Any]) -> Image:
        config = copy.deepcopy(self.config)
        config["config"] = copy.deepcopy(run_config)
        return replace(self, config=config)

    def with_config_values(self, **values: Any) -> Image:
        config = copy.deepcopy(self.config)
        config.update(values)
        return replace(self, config=config)

    def with_layer(self, layer: Layer | None, history: dict[str, Any]) -> Image:
        """Append a layer (or, with ``None``, only an ``empty_layer`` history entry)."""
        config = copy.deepcopy(self.config)
        config.setdefault("history", [])
        entry = dict(history)
        if layer is None:
            entry["empty_layer"] = True
            config["history"].append(entry)
            return replace(self, config=config)
        config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        config["rootfs"]["diff_ids"].append(layer.diff_id)
        config["history"].append(entry)
        return replace(self, config=config, layers=(*self.layers, layer))


@dataclass(frozen=True)
class ManifestBytes:
    """A serialized manifest and its config blob, exactly as they are pushed or written."""

    manifest: bytes
    media_type: str
    config: bytes
    config_digest: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


def serialize(image: Image, image_format: str = "docker",
              annotations: Mapping[str, str] | None = None) -> ManifestBytes:
    """The config and manifest bytes for ``image`` in Docker schema2 (kaniko's default) or OCI;
    ``annotations`` (``--annotation``) go on the manifest, in either format, as the kaniko fork's
    go-containerregistry puts them."""
    config_bytes = json.dumps(image.config, separators=(",", ":"), sort_keys=True).encode()
    config_digest = sha256_digest(config_bytes)
    if image_format == "oci":
        manifest_type, config_type, names = OCI_MANIFEST, OCI_CONFIG, TO_OCI
    else:
        manifest_type, config_type, names = DOCKER_MANIFEST, DOCKER_CONFIG, TO_DOCKER
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "size": len(config_bytes), "digest": config_digest},
        "layers": [layer.descriptor(names.get(layer.media_type, layer.media_type)) for layer in image.layers],
    }
    if annotations:
        manifest["annotations"] = dict(sorted(annotations.items()))
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    return ManifestBytes(manifest_bytes, manifest_type, config_bytes, config_digest)

"""Where a finished image goes: registries (all blobs first, then manifests), a tarball, an OCI
layout, and the digest files. Every file output is written under a temporary name and renamed
into place complete, so a failed build never leaves half an output behind."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from executor.build.registries import RegistryClients
from executor.image import Image, ManifestBytes, RemoteLayer
from executor.options import OutputOptions
from executor.registry import ImageReference, parse_reference

log = logging.getLogger("lamina")

OCI_LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
OCI_INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True)
class PushTarget:
    reference: ImageReference

    @property
    def tag_or_digest(self) -> str:
        return self.reference.digest or self.reference.tag or "latest"


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    opener: Callable[[], BinaryIO]
    source: tuple[str, str] | None = None  # (registry, repository) it already lives in


def _blobs(image: Image, serialized: ManifestBytes) -> list[Blob]:
    config = serialized.config
    blobs = [Blob(layer.digest, layer.size, layer.open,
                  (layer.registry, layer.repository) if isinstance(layer, RemoteLayer) else None)
             for layer in image.layers]
    blobs.append(Blob(serialized.config_digest, len(config), lambda: io.BytesIO(config)))
    return blobs


def check_push_permissions(destinations: list[str], clients: RegistryClients) -> None:
    """Before building, as kaniko does: a push token and an upload session (cancelled at once)
    for every destination repository, so a 20-minute build does not end in a 401."""
    seen: set[tuple[str, str]] = set()
    for destination in destinations:
        ref = parse_reference(destination)
        if (ref.registry, ref.repository) in seen:
            continue
        seen.add((ref.registry, ref.repository))
        clients.for_push(ref.registry).check_push(ref.repository)


def push_blobs(blobs: list[Blob], targets: list[ImageReference], clients: RegistryClients) -> None:
    """Every blob into every target repository, each uploaded at most once per registry: other
    repositories of that registry (other destinations, the base image's) mount it."""
    # registry -> digest -> a repository of that registry known to hold it
    held: dict[str, dict[str, str]] = {}
    for blob in blobs:
        if blob.source is not None:
            held.setdefault(blob.source[0], {})[blob.digest] = blob.source[1]
    for ref in targets:
        client = clients.for_push(ref.registry)
        known = held.setdefault(ref.registry, {})
        for blob in blobs:
            short = blob.digest[:19]
            if known.get(blob.digest) == ref.repository or client.blob_exists(ref.repository,
                                                                               blob.digest):
                log.debug("%s: blob %s already there", ref, short)
            elif (blob.digest in known
                  and client.mount_blob(ref.repository, blob.digest, known[blob.digest])):
                log.info("%s: mounted blob %s from %s", ref, short, known[blob.digest])
            else:
                log.info("%s: uploading blob %s (%d bytes)", ref, short, blob.size)
                client.upload_blob(ref.repository, blob.digest, blob.size, blob.opener)
            known[blob.digest] = ref.repository


def push_image(image: Image, serialized: ManifestBytes, destinations: list[str],
               clients: RegistryClients) -> None:
    """Upload every blob to every destination, and only then put the manifests.

    A failure anywhere before the manifests leaves no manifest pointing at a missing blob.
    """
    targets = [PushTarget(parse_reference(d)) for d in destinations]
    push_blobs(_blobs(image, serialized), [t.reference for t in targets], clients)
    for target in targets:
        ref = target.reference
        clients.for_push(ref.registry).put_manifest(ref.repository, target.tag_or_digest,
                                                    serialized.manifest, serialized.media_type)
        log.info("pushed %s@%s", ref, serialized.digest)


def write_tarball(image: Image, serialized: ManifestBytes, path: Path, tags: list[str]) -> None:
    """A ``docker save``-style tarball (``docker load``/``podman load``/``skopeo`` read it)."""
    with _atomic_file(path, durable=True) as out, tarfile.open(fileobj=out, mode="w|",
                                                 format=tarfile.PAX_FORMAT) as tar:
        config_name = serialized.config_digest.split(":", 1)[1] + ".json"
        _add_bytes(tar, config_name, serialized.config)
        layer_names = []
        for layer in image.layers:
            name = layer.digest.split(":", 1)[1] + ".tar.gz"
            _add_stream(tar, name, layer.size, layer.open)
            layer_names.append(name)
        manifest = [{"Config": config_name, "RepoTags": tags, "Layers": layer_names}]
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
    log.info("wrote image tarball %s", path)


def write_oci_layout(image: Image, serialized: ManifestBytes, path: Path,
                     ref_names: list[str]) -> None:
    """An OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/...``) at ``path``.

    Built in a sibling temporary directory and renamed over ``path`` when complete; a previous
    layout there is replaced, never merged half-way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.partial-"))
    try:
        fill_oci_layout(temp, image, serialized, ref_names)
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            os.replace(path, old / "layout")
            os.replace(temp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, path)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    log.info("wrote OCI layout %s", path)


def fill_oci_layout(directory: Path, image: Image, serialized: ManifestBytes,
                    ref_names: list[str]) -> None:
    """Write the image into the OCI layout at ``directory`` (empty, or a layout to update): its
    blobs, ``oci-layout``, then ``index.json`` naming only this image.

    Every file appears under its final name complete (written aside, then renamed), and the index
    last, so a reader of a layout being updated sees the old image or the new one, never a part.
    Blobs already there are left for such readers; nothing is deleted."""
    blobs_dir = directory / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)
    for blob in _blobs(image, serialized):
        with blob.opener() as source, _atomic_file(blobs_dir / _hex(blob.digest)) as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
    with _atomic_file(blobs_dir / _hex(serialized.digest)) as out:
        out.write(serialized.manifest)
    descriptor = {"mediaType": serialized.media_type, "digest": serialized.digest,
                  "size": len(serialized.manifest)}
    manifests = [{**descriptor, "annotations": {"org.opencontainers.image.ref.name": name}}
                 for name in ref_names] or [descriptor]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX_TYPE, "manifests": manifests}
    with _atomic_file(directory / "oci-layout") as out:
        out.write(json.dumps(OCI_LAYOUT_VERSION).encode())
    with _atomic_file(directory / "index.json") as out:
        out.write(json.dumps(index).encode())


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]


@contextlib.contextmanager
def _atomic_file(path: Path, durable: bool = False) -> Iterator[BinaryIO]:
    """A new file beside ``path`` (mode from the umask, as ``open`` makes it), renamed over
    ``path`` only if the block completes, so a reader sees the old file or the whole new one;
    ``durable`` syncs it to disk first (final outputs, not blobs that a rewrite can repair)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(temp, "xb") as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _add_stream(tar: tarfile.TarFile, name: str, size: int,
                opener: Callable[[], BinaryIO]) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    with opener() as stream:
        tar.addfile(info, stream)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    _add_stream(tar, name, len(data), lambda: io.BytesIO(data))


def write_text_atomically(path: Path, text: str) -> None:
    with _atomic_file(path, durable=True) as out:
        out.write(text.encode())


def image_names_with_digest(destinations: list[str], digest: str) -> str:
    """kaniko's --image-name-with-digest-file: ``registry/repository@digest`` per destination."""
    return "".join(f"{parse_reference(d).context_name}@{digest}\n" for d in destinations)


def image_names_tag_with_digest(destinations: list[str], digest: str) -> str:
    """kaniko's --image-name-tag-with-digest-file: ``destination@digest`` per destination, the
    destination as given on the command line."""
    return "".join(f"{d}@{digest}\n" for d in destinations)


def tarball_tags(destinations: list[str]) -> list[str]:
    tags = []
    for destination in destinations:
        ref = parse_reference(destination)
        if ref.tag and not ref.digest:
            tags.append(f"{ref.registry}/{ref.repository}:{ref.tag}")
    return tags


__all__ = ["Blob", "check_before_build", "check_push_permissions", "write_outputs", "image_names_tag_with_digest",
           "image_names_with_digest", "push_blobs", "push_image", "tarball_tags",
           "fill_oci_layout", "write_oci_layout", "write_tarball", "write_text_atomically"]


def check_before_build(options: OutputOptions, clients: RegistryClients) -> None:
    """What to verify before spending time on a build: push permission (unless skipped)."""
    if options.destinations and not options.no_push and not options.skip_push_permission_check:
        check_push_permissions(list(options.destinations), clients)


def write_outputs(image: Image, serialized: ManifestBytes, options: OutputOptions,
                  clients: RegistryClients) -> None:
    """Every output asked for: files first (a push failure then still leaves them), then the
    push, then the digest files, which say what was pushed."""
    destinations = list(options.destinations)
    if options.tar_path:
        write_tarball(image, serialized, options.tar_path, tarball_tags(destinations))
    if options.oci_layout_path:
        write_oci_layout(image, serialized, options.oci_layout_path, tarball_tags(destinations))
    if destinations and not options.no_push:
        push_image(image, serialized, destinations, clients)
    if options.digest_file:
        write_text_atomically(options.digest_file, serialized.digest)
    if options.image_name_with_digest_file:
        write_text_atomically(options.image_name_with_digest_file,
                              image_names_with_digest(destinations, serialized.digest))
    if options.image_name_tag_with_digest_file:
        write_text_atomically(options.image_name_tag_with_digest_file,
                              image_names_tag_with_digest(destinations, serialized.digest))

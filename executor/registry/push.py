"""Writing one image, or one image index, to registry repositories, as go-containerregistry's
``remote.Write`` and ``remote.WriteIndex``: every blob first (uploaded once per registry, mounted
elsewhere), then the manifests; an index's images by digest before the index at its tag."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from executor.events import Progress, ProgressReader, event
from executor.image import Image, ImageIndex, ManifestBytes, sha256_digest

from .client import RegistryClient
from .errors import RegistryError
from .reference import ImageReference, parse_reference

__all__ = ["Blob", "PushClients", "check_push_permissions", "image_blobs", "immutable_tag_refusal",
           "push_blobs", "push_image", "push_index", "put_tagged_manifest"]

log = logging.getLogger("lamina")

# What registries say when a tag may not be moved to another manifest: kaniko's list (its
# errTagImmutable, pkg/executor/push.go), matched on the registry's own messages as kaniko does.
# ECR answers 400 TAG_INVALID "The image tag 'T' already exists in the 'R' repository and cannot
# be overwritten because the repository is immutable."; Artifact Registry says the second.
_IMMUTABLE_TAG_MESSAGES = ("cannot be overwritten because the repository is immutable",
                           "the repository has enabled tag immutability")


class PushClients(Protocol):
    """Where pushes to a registry go (``RegistryClients``, or the one client of a cache)."""

    def for_push(self, registry: str) -> RegistryClient: ...


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    opener: Callable[[], BinaryIO]
    source: tuple[str, str] | None = None  # (registry, repository) it already lives in


def image_blobs(image: Image, serialized: ManifestBytes) -> list[Blob]:
    """The image's layers, then its config."""
    config = serialized.config
    blobs = [Blob(layer.digest, layer.size, layer.open, layer.mount_source)
             for layer in image.layers]
    blobs.append(Blob(serialized.config_digest, len(config), lambda: io.BytesIO(config)))
    return blobs


def check_push_permissions(destinations: Sequence[str], clients: PushClients) -> None:
    """Before building, as kaniko does: a push token and an upload session (cancelled at once)
    for every destination repository, so a 20-minute build does not end in a 401."""
    seen: set[tuple[str, str]] = set()
    for destination in destinations:
        ref = parse_reference(destination)
        if (ref.registry, ref.repository) in seen:
            continue
        seen.add((ref.registry, ref.repository))
        clients.for_push(ref.registry).check_push(ref.repository)


def push_blobs(blobs: list[Blob], targets: list[ImageReference], clients: PushClients) -> None:
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
                log.debug("%s: blob %s already there", ref, short,
                          extra=_blob_event(ref, blob, "present"))
            elif (blob.digest in known
                  and client.mount_blob(ref.repository, blob.digest, known[blob.digest])):
                log.info("%s: mounted blob %s from %s", ref, short, known[blob.digest],
                         extra=_blob_event(ref, blob, "mounted"))
            else:
                log.info("%s: uploading blob %s (%d bytes)", ref, short, blob.size)
                with Progress("push", f"{ref.context_name} {short}", blob.size) as progress:
                    client.upload_blob(ref.repository, blob.digest, blob.size,
                                       _counted(blob.opener, progress))
                log.debug("%s: uploaded blob %s", ref, short, extra=_blob_event(ref, blob, "uploaded"))
            known[blob.digest] = ref.repository


def immutable_tag_refusal(error: RegistryError) -> bool:
    """Whether the registry refused a manifest because its tag is immutable (ECR, Artifact
    Registry), as opposed to any other failure."""
    said = " ".join([error.message, *(d.message for d in error.diagnostics)]).lower()
    return any(message in said for message in _IMMUTABLE_TAG_MESSAGES)


def push_image(image: Image, serialized: ManifestBytes, destinations: Sequence[str],
               clients: PushClients, *, ignore_immutable_tags: bool = False) -> None:
    """Upload every blob to every destination, and only then put the manifests.

    A failure anywhere before the manifests leaves no manifest pointing at a missing blob. With
    ``ignore_immutable_tags`` (kaniko's --push-ignore-immutable-tag-errors) a tag the registry
    keeps as it is is a warning and the other destinations are still pushed: parallel builds of
    one tag, where any of them may win.
    """
    targets = [parse_reference(d) for d in destinations]
    log.info("pushing %s", ", ".join(destinations),
             extra=event("push.start", destinations=list(destinations), digest=serialized.digest))
    push_blobs(image_blobs(image, serialized), targets, clients)
    for ref in targets:
        put_tagged_manifest(ref, serialized.manifest, serialized.media_type, clients,
                            ignore_immutable_tags=ignore_immutable_tags)


def push_index(index: ImageIndex, destinations: Sequence[str], clients: PushClients, *,
               ignore_immutable_tags: bool = False) -> None:
    """Every image's blobs to every destination, then each image's manifest by its digest, and
    only then the index at the destination's tag: a reader of the tag never finds an index naming
    a manifest that is not there yet. Blobs the images share (a base layer) go once."""
    targets = [parse_reference(d) for d in destinations]
    log.info("pushing %s", ", ".join(destinations),
             extra=event("push.start", destinations=list(destinations), digest=index.serialized.digest))
    blobs: dict[str, Blob] = {}
    for child in index.images:
        for blob in image_blobs(child.image, child.serialized):
            blobs.setdefault(blob.digest, blob)
    push_blobs(list(blobs.values()), targets, clients)
    for ref in targets:
        client = clients.for_push(ref.registry)
        for child in index.images:
            serialized = child.serialized
            client.put_manifest(ref.repository, serialized.digest, serialized.manifest,
                                serialized.media_type)
            log.info("%s: pushed the %s image %s", ref.context_name, child.platform,
                     serialized.digest,
                     extra=event("manifest.pushed", destination=f"{ref.context_name}@{serialized.digest}",
                                 digest=serialized.digest, platform=str(child.platform)))
        put_tagged_manifest(ref, index.serialized.manifest, index.serialized.media_type, clients,
                            ignore_immutable_tags=ignore_immutable_tags)


def put_tagged_manifest(ref: ImageReference, data: bytes, media_type: str, clients: PushClients, *,
                        ignore_immutable_tags: bool = False) -> None:
    """PUT a manifest (or index) at ``ref``'s tag (or digest). With ``ignore_immutable_tags`` a
    registry keeping an immutable tag as it is is a warning, not an error."""
    digest = sha256_digest(data)
    try:
        clients.for_push(ref.registry).put_manifest(ref.repository, ref.digest or ref.tag or "latest",
                                                    data, media_type)
    except RegistryError as error:
        if not (ignore_immutable_tags and immutable_tag_refusal(error)):
            raise
        log.warning("%s: not pushed, the tag is immutable and the registry keeps it as it is "
                    "(--push-ignore-immutable-tag-errors): %s", ref, error,
                    extra=event("manifest.kept", destination=str(ref), digest=digest))
        return
    log.info("pushed %s@%s", ref, digest,
             extra=event("manifest.pushed", destination=str(ref), digest=digest))


def _counted(opener: Callable[[], BinaryIO], progress: Progress) -> Callable[[], BinaryIO]:
    """``opener`` whose streams count into ``progress``; each reopening (a retry) starts over."""
    def reopen() -> BinaryIO:
        progress.restart()
        return ProgressReader(opener(), progress)  # type: ignore[return-value]
    return reopen


def _blob_event(ref: ImageReference, blob: Blob, how: str) -> dict[str, object]:
    return event("blob.pushed", destination=str(ref), digest=blob.digest, size=blob.size, how=how)

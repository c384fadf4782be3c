"""Pushing artifacts about an image (SBOM, provenance) beside it, as OCI 1.1 referrers: each
artifact manifest by its digest, its ``subject`` the image manifest. A registry with the
referrers API indexes them itself; for one without (docker-registry 2.8) the referrers index
under the ``sha256-<hex>`` tag is read, extended and put back, as the distribution spec's
"Referrers Tag Schema" says clients must."""

from __future__ import annotations

import functools
import io
import json
import logging
from collections.abc import Sequence

from executor.events import event
from executor.image.attestation import EMPTY_CONFIG, Artifact, referrers_index, referrers_tag
from executor.image.digest import sha256_digest
from executor.image.media_types import OCI_INDEX, OCI_MANIFEST

from .errors import ManifestNotFound
from .push import Blob, PushClients, push_blobs
from .reference import parse_reference

__all__ = ["push_referrers"]

log = logging.getLogger("lamina")


def push_referrers(artifacts: Sequence[Artifact], subject_digest: str, destinations: Sequence[str],
                   clients: PushClients) -> None:
    """The artifacts' blobs, then their manifests, into every destination repository; then,
    where the registry has no referrers API, the referrers index at the subject's tag."""
    targets = [parse_reference(d) for d in destinations]
    blobs = {sha256_digest(EMPTY_CONFIG): Blob(sha256_digest(EMPTY_CONFIG), len(EMPTY_CONFIG),
                                               functools.partial(io.BytesIO, EMPTY_CONFIG))}
    for item in artifacts:
        blobs[item.document_digest] = Blob(item.document_digest, len(item.document),
                                           functools.partial(io.BytesIO, item.document))
    push_blobs(list(blobs.values()), targets, clients)
    for ref in {(t.registry, t.repository): t for t in targets}.values():
        client = clients.for_push(ref.registry)
        for item in artifacts:
            client.put_manifest(ref.repository, item.digest, item.manifest, OCI_MANIFEST)
            log.info("%s: pushed the %s about %s as %s", ref.context_name, item.artifact_type,
                     subject_digest, item.digest,
                     extra=event("referrer.pushed", destination=f"{ref.context_name}@{item.digest}",
                                 digest=item.digest, artifact_type=item.artifact_type))
        if client.has_referrers_api(ref.repository, subject_digest):
            continue
        tag = referrers_tag(subject_digest)
        try:
            existing = list(json.loads(client.fetch_manifest(ref.repository, tag).raw)
                            .get("manifests") or [])
        except ManifestNotFound:
            existing = []
        client.put_manifest(ref.repository, tag, referrers_index(existing, list(artifacts)), OCI_INDEX)
        log.info("%s: referrers of %s listed under the tag %s", ref.context_name, subject_digest, tag)

"""Documents about an image (an SBOM, a provenance statement) as OCI 1.1 artifacts: a manifest
whose ``artifactType`` says what the one layer is, its config the empty descriptor, and whose
``subject`` is the image manifest it describes; and the referrers index that lists them, which
a registry without the referrers API keeps under the ``sha256-<hex>`` tag (OCI distribution
spec 1.1, "Referrers Tag Schema")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from executor.atomic import atomic_file
from executor.image.digest import sha256_digest
from executor.image.media_types import OCI_INDEX, OCI_MANIFEST

__all__ = ["EMPTY_CONFIG", "EMPTY_MEDIA_TYPE", "Artifact", "add_layout_artifacts", "artifact",
           "referrers_index", "referrers_tag"]

EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"


@dataclass(frozen=True)
class Artifact:
    """An artifact manifest and the one document it carries, each with its digest."""

    artifact_type: str
    document: bytes
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def document_digest(self) -> str:
        return sha256_digest(self.document)

    @property
    def descriptor(self) -> dict[str, Any]:
        """As a referrers index lists it."""
        return {"mediaType": OCI_MANIFEST, "digest": self.digest, "size": len(self.manifest),
                "artifactType": self.artifact_type}


def artifact(document: bytes, artifact_type: str, subject: dict[str, Any]) -> Artifact:
    """``document`` (of media type ``artifact_type``) about the manifest ``subject`` (a
    descriptor: mediaType, digest, size)."""
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": sha256_digest(EMPTY_CONFIG),
                   "size": len(EMPTY_CONFIG), "data": "e30="},
        "layers": [{"mediaType": artifact_type, "digest": sha256_digest(document),
                    "size": len(document)}],
        "subject": {key: subject[key] for key in ("mediaType", "digest", "size")},
    }
    return Artifact(artifact_type, document, json.dumps(manifest, separators=(",", ":")).encode())


def referrers_tag(digest: str) -> str:
    """``sha256:<hex>`` -> ``sha256-<hex>``: the tag a referrers index goes under."""
    algorithm, _, hex_digest = digest.partition(":")
    return f"{algorithm}-{hex_digest}"


def referrers_index(existing: list[dict[str, Any]], added: list[Artifact]) -> bytes:
    """The referrers index: what it listed already (another tool's signature, say), then the
    artifacts added, each digest once."""
    manifests = [entry for entry in existing
                 if entry.get("digest") not in {a.digest for a in added}]
    manifests.extend(a.descriptor for a in added)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return json.dumps(index, separators=(",", ":")).encode()


def add_layout_artifacts(directory: Path, artifacts: Sequence[Artifact]) -> None:
    """Put the artifacts into the OCI layout at ``directory`` (the image already written
    there): their blobs, then ``index.json`` listing them after what it lists, each by its
    descriptor with ``subject`` in the manifest, as ``oras`` and BuildKit lay them out."""
    blobs_dir = directory / "blobs" / "sha256"
    for data in (EMPTY_CONFIG, *(a.document for a in artifacts), *(a.manifest for a in artifacts)):
        with atomic_file(blobs_dir / sha256_digest(data).partition(":")[2]) as out:
            out.write(data)
    index = json.loads((directory / "index.json").read_bytes())
    added = {a.digest for a in artifacts}
    index["manifests"] = [entry for entry in index.get("manifests") or []
                          if entry.get("digest") not in added]
    index["manifests"].extend(a.descriptor for a in artifacts)
    with atomic_file(directory / "index.json") as out:
        out.write(json.dumps(index).encode())

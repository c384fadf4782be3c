"""The SBOM and provenance as OCI 1.1 artifacts: pushed beside the image and found from its
digest through the referrers tag schema (docker-registry 2.8 has no referrers API), and put in
an OCI layout; every digest checked, every ``subject`` the image manifest."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from executor.image.attestation import artifact, referrers_index, referrers_tag
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TYPES = {"application/spdx+json", "application/vnd.in-toto+json"}


def _get(url: str, accept: str = "") -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request) as response:
        return response.read(), response.headers.get("Content-Type", "")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _check_artifact(manifest: bytes, subject: dict[str, object], blob: bytes) -> dict[str, object]:
    parsed = json.loads(manifest)
    assert parsed["mediaType"] == OCI_MANIFEST and parsed["artifactType"] in TYPES
    assert parsed["subject"] == subject
    assert parsed["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    (layer,) = parsed["layers"]
    assert layer["mediaType"] == parsed["artifactType"]
    assert layer["digest"] == _sha256(blob) and layer["size"] == len(blob)
    loaded: dict[str, object] = json.loads(blob)
    return loaded


def test_attestations_found_through_the_referrers_tag(tmp_path: Path, registry: RunningRegistry,
                                                      busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN true\n")
    run = run_executor(tmp_path, context, "--destination", registry.ref("att/image", "v1"),
                       "--digest-file", str(tmp_path / "digest"), "--sbom", "--provenance")
    assert run.returncode == 0, run.stderr
    digest = (tmp_path / "digest").read_text()
    base = f"{registry.url}/v2/att/image"
    image_manifest, media_type = _get(f"{base}/manifests/{digest}",
                                      "application/vnd.docker.distribution.manifest.v2+json")
    subject = {"mediaType": media_type, "digest": digest, "size": len(image_manifest)}
    with pytest.raises(urllib.error.HTTPError):  # no referrers API: the tag schema it is
        _get(f"{base}/referrers/{digest}")
    index_bytes, index_type = _get(f"{base}/manifests/{digest.replace(':', '-')}", OCI_INDEX)
    assert index_type == OCI_INDEX
    entries = json.loads(index_bytes)["manifests"]
    assert {entry["artifactType"] for entry in entries} == TYPES
    found = {}
    for entry in entries:
        manifest, _ = _get(f"{base}/manifests/{entry['digest']}", OCI_MANIFEST)
        assert _sha256(manifest) == entry["digest"] and len(manifest) == entry["size"]
        layer = json.loads(manifest)["layers"][0]
        blob, _ = _get(f"{base}/blobs/{layer['digest']}")
        found[entry["artifactType"]] = _check_artifact(manifest, subject, blob)
    statement = found["application/vnd.in-toto+json"]
    assert statement["subject"][0]["digest"]["sha256"] == digest.partition(":")[2]  # type: ignore[index]
    assert found["application/spdx+json"]["spdxVersion"] == "SPDX-2.3"


def test_attestations_in_the_oci_layout(tmp_path: Path, registry: RunningRegistry,
                                        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN true\n")
    layout = tmp_path / "layout"
    run = run_executor(tmp_path, context, "--no-push", "--oci-layout-path", str(layout),
                       "--destination", registry.ref("att/layout"), "--sbom", "--provenance")
    assert run.returncode == 0, run.stderr
    blobs = layout / "blobs" / "sha256"
    image, *artifacts = json.loads((layout / "index.json").read_text())["manifests"]
    image_manifest = (blobs / image["digest"].partition(":")[2]).read_bytes()
    subject = {"mediaType": image["mediaType"], "digest": image["digest"], "size": len(image_manifest)}
    assert {entry["artifactType"] for entry in artifacts} == TYPES
    for entry in artifacts:
        manifest = (blobs / entry["digest"].partition(":")[2]).read_bytes()
        assert _sha256(manifest) == entry["digest"]
        layer = json.loads(manifest)["layers"][0]
        _check_artifact(manifest, subject, (blobs / layer["digest"].partition(":")[2]).read_bytes())


def test_referrers_index_keeps_what_others_listed() -> None:
    subject = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 10}
    sbom = artifact(b"{}", "application/spdx+json", subject)
    signature = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "b" * 64, "size": 5,
                 "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json"}
    index = json.loads(referrers_index([signature, sbom.descriptor], [sbom]))
    assert index["mediaType"] == OCI_INDEX
    assert index["manifests"] == [signature, sbom.descriptor]
    assert referrers_tag(subject["digest"]) == "sha256-" + "a" * 64  # type: ignore[operator]

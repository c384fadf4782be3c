"""Where a finished image (or, from a multi-platform build, image index) goes, by the options:
registries, a tarball, an OCI layout, and the digest files. The writers themselves each take one
image or one index (``executor.image.tarball``, ``executor.image.layout``,
``executor.registry.push``); files are written aside and renamed into place, so a failed build
never leaves half an output behind.

An index's ``--tar-path`` is an OCI archive (an OCI layout in a tar): ``docker save``'s format
has one config per tag and so no room for an index. Its digest files name the index."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from executor import __version__
from executor.atomic import write_text_atomically
from executor.contexts.git import GitRepository
from executor.contexts.named import context_name
from executor.dockerfile.parser import Stage
from executor.image import Image, ImageIndex, ManifestBytes
from executor.image.attestation import add_layout_artifacts, artifact
from executor.image.layout import write_index_layout, write_oci_layout
from executor.image.provenance import IN_TOTO_MEDIA_TYPE, BuildFacts, provenance_statement
from executor.image.sbom import SPDX_MEDIA_TYPE, find_packages, sbom_document
from executor.image.tarball import write_index_archive, write_tarball
from executor.options import ExecutorOptions, OutputOptions
from executor.registry import parse_reference
from executor.registry.errors import RegistryError
from executor.registry.index import PullClients
from executor.registry.push import PushClients, check_push_permissions, push_image, push_index
from executor.registry.referrers import push_referrers
from snapshot.ignore import IgnoreList

__all__ = ["attestation_files", "base_image_digests", "build_facts", "check_before_build",
           "image_names_tag_with_digest", "image_names_with_digest", "tarball_tags",
           "write_attestations", "write_digest_files", "write_index_outputs", "write_outputs"]

log = logging.getLogger("lamina")

LAMINA_VERSION = __version__


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


def check_before_build(options: OutputOptions, clients: PushClients) -> None:
    """What to verify before spending time on a build: push permission (unless skipped)."""
    if options.destinations and not options.no_push and not options.skip_push_permission_check:
        check_push_permissions(list(options.destinations), clients)


def write_outputs(image: Image, serialized: ManifestBytes, options: OutputOptions,
                  clients: PushClients) -> None:
    """Every output asked for: files first (a push failure then still leaves them), then the
    push, then the digest files, which say what was pushed."""
    destinations = list(options.destinations)
    if options.tar_path:
        write_tarball(image, serialized, options.tar_path, tarball_tags(destinations))
    if options.oci_layout_path:
        write_oci_layout(image, serialized, options.oci_layout_path, tarball_tags(destinations))
    if destinations and not options.no_push:
        push_image(image, serialized, destinations, clients,
                   ignore_immutable_tags=options.push_ignore_immutable_tag_errors)
    write_digest_files(options, serialized.digest)


def write_index_outputs(index: ImageIndex, options: OutputOptions, clients: PushClients) -> None:
    """``write_outputs`` for a multi-platform build: the tarball is an OCI archive and the layout
    holds the index; the push puts each image by digest, then the index at each destination; the
    digest files name the index."""
    destinations = list(options.destinations)
    if options.tar_path:
        write_index_archive(index, options.tar_path, tarball_tags(destinations))
    if options.oci_layout_path:
        write_index_layout(index, options.oci_layout_path, tarball_tags(destinations))
    if destinations and not options.no_push:
        push_index(index, destinations, clients,
                   ignore_immutable_tags=options.push_ignore_immutable_tag_errors)
    write_digest_files(options, index.digest)


def write_digest_files(options: OutputOptions, digest: str) -> None:
    """--digest-file, --image-name-with-digest-file, --image-name-tag-with-digest-file."""
    destinations = list(options.destinations)
    if options.digest_file:
        write_text_atomically(options.digest_file, digest)
    if options.image_name_with_digest_file:
        write_text_atomically(options.image_name_with_digest_file,
                              image_names_with_digest(destinations, digest))
    if options.image_name_tag_with_digest_file:
        write_text_atomically(options.image_name_tag_with_digest_file,
                              image_names_tag_with_digest(destinations, digest))


def attestation_files(options: OutputOptions) -> dict[str, Path]:
    """Where --sbom and --provenance documents go as files (by artifact type): beside the
    --tar-path tarball (or the --digest-file), ``<name>.spdx.json`` and
    ``<name>.provenance.json``."""
    beside = options.tar_path or options.digest_file
    if beside is None:
        return {}
    wanted = {SPDX_MEDIA_TYPE: ".spdx.json" if options.sbom else "",
              IN_TOTO_MEDIA_TYPE: ".provenance.json" if options.provenance else ""}
    return {kind: beside.with_name(beside.name + suffix) for kind, suffix in wanted.items() if suffix}


def write_attestations(root: Path, ignore: IgnoreList, serialized: ManifestBytes,
                       options: ExecutorOptions, stages: Sequence[Stage], platform: str,
                       clients: PullClients, created: str) -> None:
    """The --sbom document, read from ``root`` (the final stage's files, still in place; not
    what ``ignore`` lists, the executor's own files), and the --provenance statement about the
    image manifest: as files, as OCI 1.1 artifacts in the --oci-layout-path layout, and pushed
    as referrers of the image."""
    output = options.output
    if not (output.sbom or output.provenance):
        return
    name = output.destinations[0] if output.destinations else "image"
    documents: dict[str, dict[str, object]] = {}
    if output.sbom:
        documents[SPDX_MEDIA_TYPE] = sbom_document(find_packages(root, ignore), name, created,
                                                   f"lamina-{LAMINA_VERSION}")
    if output.provenance:
        facts = build_facts(options, stages, platform, clients)
        documents[IN_TOTO_MEDIA_TYPE] = provenance_statement(
            facts, name, serialized.digest, LAMINA_VERSION, max_mode=output.provenance == "max")
    encoded = {kind: json.dumps(document, indent=2, sort_keys=True).encode()
               for kind, document in documents.items()}
    for kind, path in attestation_files(output).items():
        write_text_atomically(path, encoded[kind].decode())
    subject = {"mediaType": serialized.media_type, "digest": serialized.digest,
               "size": len(serialized.manifest)}
    artifacts = [artifact(data, kind, subject) for kind, data in encoded.items()]
    if output.oci_layout_path:
        add_layout_artifacts(output.oci_layout_path, artifacts)
    if output.destinations and not output.no_push:
        push_referrers(artifacts, serialized.digest, list(output.destinations), clients)


def build_facts(options: ExecutorOptions, stages: Sequence[Stage], platform: str,
                clients: PullClients) -> BuildFacts:
    """What the provenance records of this build; ``stages`` are the Dockerfile's, their
    literal FROM images recorded with their digests."""
    source = options.source
    aliases = {stage.name for stage in stages if stage.name}  # FROM an earlier stage: no image
    # FROM a --build-context name: not an image of that name in a registry
    named = {context.name for context in source.named_contexts}
    literal = sorted({stage.base for stage in stages if "$" not in stage.base
                      and stage.base != "scratch" and stage.base.lower() not in aliases
                      and context_name(stage.base) not in named})
    git = source.fetch.source if source.fetch else None
    return BuildFacts(
        dockerfile=source.dockerfile.read_bytes(), build_args=source.build_args,
        target=source.target, platform=platform, base_images=base_image_digests(literal, clients),
        git_uri=f"git://{git.location}" if isinstance(git, GitRepository) else "",
        git_commit=git.commit if isinstance(git, GitRepository) else "")


def base_image_digests(bases: list[str], clients: PullClients) -> dict[str, str]:
    """Each base image as written in a FROM (ARG-free ones), with the digest of the manifest
    (or index) it names now: a pinned ``@sha256:`` as it is, a tag asked of its registry."""
    digests = {}
    for base in bases:
        ref = parse_reference(base)
        try:
            digests[base] = ref.digest or clients.for_pull(ref.registry).fetch_manifest(
                ref.repository, ref.tag or "latest").digest
        except RegistryError as error:  # the image is built: a provenance without it, not a failure
            log.warning("provenance: the digest of the base image %s is left out: %s", base, error)
    return digests

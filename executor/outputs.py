"""Where a finished image goes, by the options: registries, a tarball, an OCI layout, and the
digest files. The writers themselves each take one image (``executor.image.tarball``,
``executor.image.layout``, ``executor.registry.push``); files are written aside and renamed into
place, so a failed build never leaves half an output behind."""

from __future__ import annotations

from executor.atomic import write_text_atomically
from executor.image import Image, ManifestBytes
from executor.image.layout import write_oci_layout
from executor.image.tarball import write_tarball
from executor.options import OutputOptions
from executor.registry import parse_reference
from executor.registry.push import PushClients, check_push_permissions, push_image

__all__ = ["check_before_build", "image_names_tag_with_digest", "image_names_with_digest",
           "tarball_tags", "write_outputs"]


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
    if options.digest_file:
        write_text_atomically(options.digest_file, serialized.digest)
    if options.image_name_with_digest_file:
        write_text_atomically(options.image_name_with_digest_file,
                              image_names_with_digest(destinations, serialized.digest))
    if options.image_name_tag_with_digest_file:
        write_text_atomically(options.image_name_tag_with_digest_file,
                              image_names_tag_with_digest(destinations, serialized.digest))

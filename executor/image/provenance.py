"""A SLSA v1 provenance in-toto statement for a built image (https://slsa.dev/provenance/v1).

What it records is chosen so the statement can be published: build arg *names* only (values
with ``mode=max``: they may hold tokens), never a secret's id or contents, the Dockerfile by
digest rather than by text."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["BUILD_TYPE", "IN_TOTO_MEDIA_TYPE", "BuildFacts", "provenance_statement"]

IN_TOTO_MEDIA_TYPE = "application/vnd.in-toto+json"
BUILD_TYPE = "https://lamina.dev/provenance/dockerfile/v1"
_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"


@dataclass(frozen=True)
class BuildFacts:
    """What the build was: its Dockerfile's bytes, build args, target, platform, the base
    images it resolved (reference -> manifest digest) and, for a git context, its repository
    and commit."""

    dockerfile: bytes
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str = ""
    base_images: Mapping[str, str] = field(default_factory=dict)
    git_uri: str = ""
    git_commit: str = ""
    started: str = ""
    finished: str = ""


def provenance_statement(facts: BuildFacts, subject_name: str, subject_digest: str,
                         builder_version: str, *, max_mode: bool = False) -> dict[str, object]:
    """The statement about the image manifest ``subject_digest`` (``sha256:<hex>``)."""
    algorithm, _, hex_digest = subject_digest.partition(":")
    args: dict[str, object] = ({"buildArgs": dict(sorted(facts.build_args.items()))} if max_mode
                               else {"buildArgNames": sorted(facts.build_args)})
    external: dict[str, object] = {
        "dockerfile": {"digest": {"sha256": hashlib.sha256(facts.dockerfile).hexdigest()}},
        **args,
        "target": facts.target or "",
        "platform": facts.platform,
    }
    if facts.git_uri:
        external["context"] = facts.git_uri
    dependencies: list[dict[str, object]] = [
        {"uri": f"docker://{name}", "digest": {"sha256": digest.partition(":")[2]}}
        for name, digest in sorted(facts.base_images.items())
    ]
    if facts.git_commit:
        dependencies.append({"uri": f"git+{facts.git_uri}" if facts.git_uri else "git",
                             "digest": {"gitCommit": facts.git_commit}})
    metadata = {key: value for key, value in
                (("startedOn", facts.started), ("finishedOn", facts.finished)) if value}
    return {
        "_type": _STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {algorithm: hex_digest}}],
        "predicateType": _PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {"buildType": BUILD_TYPE, "externalParameters": external,
                                "internalParameters": {"mode": "max" if max_mode else "min"},
                                "resolvedDependencies": dependencies},
            "runDetails": {"builder": {"id": f"https://lamina.dev/builder@v{builder_version}",
                                       "version": {"lamina": builder_version}},
                           "metadata": metadata},
        },
    }

"""What lamina built against what a reference builder built: file by file, config key by key."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tests.differential.model import Case
from tests.support.executor import write_context
from tests.support.readback import FileFacts, PulledImage

# Kernel filesystems are empty directories whoever builds.
KERNEL_DIRS = ("/dev", "/proc", "/sys")
CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
               "Labels", "Healthcheck", "Shell", "StopSignal", "OnBuild")
# Labels a builder stamps on every image it makes
BUILDER_LABELS = ("io.buildah.version",)


def case_context(case: Case, directory: Path, bases: dict[str, str]) -> Path:
    """The case's build context on disk, its Dockerfile naming the session's base images."""
    dockerfile = case.dockerfile
    for placeholder, ref in bases.items():
        dockerfile = dockerfile.replace("{" + placeholder + "}", ref)
    context = write_context(directory, dockerfile, case.files)
    for name, target in case.symlinks.items():
        os.symlink(target, context / name)
    for name, mode in case.modes.items():
        os.chmod(context / name, mode)
    return context


def run_config(image: PulledImage) -> dict:
    # Docker omits empty maps ("omitempty"); other builders write them out, and label themselves.
    config = {key: image.run_config.get(key) or None for key in CONFIG_KEYS}
    if config["Labels"]:
        config["Labels"] = {k: v for k, v in config["Labels"].items() if k not in BUILDER_LABELS} or None
    return config


def differences(ours: PulledImage, theirs: PulledImage, skip: Iterable[str] = (),
                their_stubs: Iterable[str] = ()) -> dict[str, tuple[object, object]]:
    """Every image path and ``config:Key`` where the two differ, minus ``skip``; ``their_stubs`` are
    paths the reference leaves behind for its own mounts (compared as absent)."""
    skipped, stubs = set(skip), set(their_stubs)
    our_tree = _tree(ours, ())
    their_tree = _tree(theirs, stubs)
    found: dict[str, tuple[object, object]] = {}
    for path in sorted(set(our_tree) | set(their_tree)):
        mine, reference = our_tree.get(path), their_tree.get(path)
        if path not in skipped and mine != reference:
            found[path] = (mine, reference)
    if "author" not in skipped and ours.config.get("author") != theirs.config.get("author"):
        found["author"] = (ours.config.get("author"), theirs.config.get("author"))
    our_config, their_config = run_config(ours), run_config(theirs)
    for key in CONFIG_KEYS:
        where = f"config:{key}"
        if where not in skipped and our_config[key] != their_config[key]:
            found[where] = (our_config[key], their_config[key])
    return found


def describe(found: dict[str, tuple[object, object]], reference: str) -> str:
    return "\n".join(f"{where}:\n  lamina: {mine}\n  {reference}: {theirs}"
                     for where, (mine, theirs) in found.items())


def _tree(image: PulledImage, stubs: set[str]) -> dict[str, FileFacts]:
    return {path: facts for path, facts in image.tree().items()
            if path not in stubs and path not in KERNEL_DIRS}

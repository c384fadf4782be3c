"""Each case built by lamina and by buildah (--isolation chroot, vfs): same files, same config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.differential.cases import CASES, Case
from tests.support.buildah import buildah_build_and_push
from tests.support.executor import run_executor, write_context
from tests.support.readback import FileFacts, pull_image
from tests.support.registry import RunningRegistry

# buildah leaves mount-point stubs of what it bind-mounts into RUN; lamina, like kaniko and
# BuildKit, keeps them out of the image. Kernel filesystems are empty directories either way.
BUILDAH_STUBS = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/run/.containerenv", "/run")
KERNEL_DIRS = ("/dev", "/proc", "/sys")
CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
               "Labels", "Healthcheck", "Shell", "StopSignal", "OnBuild")


def _normalize(tree: dict[str, FileFacts], stubs: tuple[str, ...]) -> dict[str, FileFacts]:
    return {path: facts for path, facts in tree.items() if path not in stubs and path not in KERNEL_DIRS}


def _config(run_config: dict) -> dict:
    # Docker omits empty maps ("omitempty"); buildah writes them out, and labels itself.
    config = {key: run_config.get(key) or None for key in CONFIG_KEYS}
    if config["Labels"]:
        config["Labels"] = {k: v for k, v in config["Labels"].items() if k != "io.buildah.version"} or None
    return config


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_same_as_buildah(case: Case, tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", case.dockerfile.replace("{base}", busybox_image), case.files)
    for name, target in case.symlinks.items():
        os.symlink(target, context / name)
    for name, mode in case.modes.items():
        os.chmod(context / name, mode)
    ours_ref, theirs_ref = registry.ref(f"diff/{case.name}-lamina"), registry.ref(f"diff/{case.name}-buildah")
    build_args = [arg for key, value in case.build_args.items() for arg in ("--build-arg", f"{key}={value}")]
    run = run_executor(tmp_path / "lamina", context, "--destination", ours_ref, *build_args)
    assert run.returncode == 0, run.stderr
    buildah_build_and_push(tmp_path / "buildah", context, registry, theirs_ref, case.build_args)
    ours = pull_image(registry, ours_ref, tmp_path / "pull-lamina")
    theirs = pull_image(registry, theirs_ref, tmp_path / "pull-buildah")

    our_tree = _normalize(ours.tree(), ())
    their_tree = _normalize(theirs.tree(), BUILDAH_STUBS)
    for stub in BUILDAH_STUBS:
        assert stub not in our_tree or stub == "/run", f"lamina leaked the mount stub {stub}"
    differences = {}
    for path in sorted(set(our_tree) | set(their_tree)):
        if path in case.known:
            continue
        mine, reference = our_tree.get(path), their_tree.get(path)
        if mine != reference:
            differences[path] = (mine, reference)
    assert differences == {}, "\n".join(f"{p}:\n  lamina: {m}\n  buildah: {r}" for p, (m, r) in differences.items())
    our_config, their_config = _config(ours.run_config), _config(theirs.run_config)
    for key in CONFIG_KEYS:
        if f"config:{key}" in case.known:
            continue
        assert our_config[key] == their_config[key], key

"""The standard ``org.opencontainers.image.*`` annotations on what lamina pushes, read back with
``skopeo inspect --raw`` and plain HTTP: created, the base's name and digest, the source and
revision of a git context or of the user's labels; the user's --annotation wins, and buildx's
``manifest:``/``index:`` prefixes say where each goes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.cli import parse_options
from executor.errors import UsageError
from tests.contexts.helpers import commit_files, git, publish
from tests.contexts.servers import GitServer, serve_git
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
PREFIX = "org.opencontainers.image."


def _raw(ref: str) -> bytes:
    return subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          check=True, capture_output=True).stdout


def _get(url: str, accept: str) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept})) as response:
        data: bytes = response.read()
        return data


def _config(registry: RunningRegistry, repository: str, manifest: dict) -> dict:  # type: ignore[type-arg]
    url = f"{registry.url}/v2/{repository}/blobs/{manifest['config']['digest']}"
    loaded: dict = json.loads(_get(url, "*/*"))  # type: ignore[type-arg]
    return loaded


def test_manifest_annotations(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", "ARG BASE\nFROM ${BASE}\nRUN true > /made\n")
    destination = registry.ref("annotations/labels")
    run = run_executor(tmp_path, context, "--destination", destination,
                       "--build-arg", f"BASE={busybox_image}",
                       "--label", f"{PREFIX}source=https://example.com/app.git",
                       "--label", f"{PREFIX}revision=0123abcd",
                       "--annotation", "org.example.plain=1",
                       "--annotation", "manifest:org.example.prefixed=2",
                       "--annotation", f"{PREFIX}created=by the user")
    assert run.returncode == 0, run.stderr
    manifest = json.loads(_raw(destination))
    base_digest = "sha256:" + hashlib.sha256(_raw(busybox_image)).hexdigest()
    config = _config(registry, "annotations/labels", manifest)
    assert manifest["annotations"] == {
        f"{PREFIX}created": "by the user",  # the user's --annotation wins over lamina's
        f"{PREFIX}base.name": busybox_image,  # the FROM as written, its ARG expanded
        f"{PREFIX}base.digest": base_digest,
        f"{PREFIX}source": "https://example.com/app.git",  # from the user's --label, not guessed
        f"{PREFIX}revision": "0123abcd",
        "org.example.plain": "1",
        "org.example.prefixed": "2",
    }
    assert config["created"] != "by the user"


def test_created_is_the_configs_and_scratch_has_no_base(tmp_path: Path,
                                                        registry: RunningRegistry) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY a /a\n", {"a": "a\n"})
    destination = registry.ref("annotations/scratch")
    run = run_executor(tmp_path, context, "--destination", destination)
    assert run.returncode == 0, run.stderr
    manifest = json.loads(_raw(destination))
    config = _config(registry, "annotations/scratch", manifest)
    # nothing of a base, nor a source lamina does not know: only created, the config's own
    assert manifest["annotations"] == {f"{PREFIX}created": config["created"]}


def test_the_final_stage_base_through_earlier_stages(tmp_path: Path, registry: RunningRegistry,
                                                     busybox_image: str) -> None:
    dockerfile = (f"FROM {busybox_image} AS one\nRUN true > /one\nFROM scratch AS two\n"
                  "COPY --from=one /one /one\nFROM one\nRUN true > /final\n")
    context = write_context(tmp_path / "context", dockerfile)
    destination = registry.ref("annotations/stages")
    run = run_executor(tmp_path, context, "--destination", destination)
    assert run.returncode == 0, run.stderr
    annotations = json.loads(_raw(destination))["annotations"]
    assert annotations[f"{PREFIX}base.name"] == busybox_image
    assert annotations[f"{PREFIX}base.digest"] == "sha256:" + hashlib.sha256(_raw(busybox_image)).hexdigest()


@pytest.fixture(scope="module")
def git_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitServer, str, str]]:
    """A private repository served over http: (server, first commit, tip of main)."""
    root = tmp_path_factory.mktemp("git-served")
    work = tmp_path_factory.mktemp("git-work") / "app"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    first = commit_files(work, "first", {"Dockerfile": "FROM scratch\nCOPY marker /marker\n",
                                         ".dockerignore": ".git\n", "marker": "first\n"})
    tip = commit_files(work, "tip", {"marker": "tip\n"})
    with serve_git(root) as server:
        publish(work, server.root / "private/app.git")
        yield server, first, tip


def test_source_and_revision_of_a_git_context(tmp_path: Path, registry: RunningRegistry,
                                              git_repository: tuple[GitServer, str, str]) -> None:
    server, first, _ = git_repository
    context = f"git://{server.username}:{server.password}@{server.host}/private/app.git#refs/heads/main#{first}"
    destination = registry.ref("annotations/git")
    run = run_executor(tmp_path, context, "--destination", destination,  # type: ignore[arg-type]
                       env={"GIT_PULL_METHOD": "http"})
    assert run.returncode == 0, run.stderr
    raw = _raw(destination)
    annotations = json.loads(raw)["annotations"]
    # the repository without the URL's credentials, and the commit checked out (not main's tip)
    assert annotations[f"{PREFIX}source"] == f"http://{server.host}/private/app.git"
    assert annotations[f"{PREFIX}revision"] == first
    assert server.password.encode() not in raw


def test_index_annotations(tmp_path: Path, registry: RunningRegistry) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY a /a\n", {"a": "a\n"})
    destination = registry.ref("annotations/index")
    run = run_executor(tmp_path, context, "--destination", destination, "--image-format", "oci",
                       "--custom-platform", "linux/amd64,linux/arm64",
                       "--annotation", "index:org.example.on-index=i",
                       "--annotation", "index,manifest:org.example.both=b",
                       "--annotation", "org.example.on-manifest=m")
    assert run.returncode == 0, run.stderr
    index = json.loads(_get(f"{registry.url}/v2/annotations/index/manifests/latest", OCI_INDEX))
    assert index["mediaType"] == OCI_INDEX
    created = []
    for entry in index["manifests"]:
        manifest = json.loads(_get(f"{registry.url}/v2/annotations/index/manifests/{entry['digest']}",
                                   entry["mediaType"]))
        created.append(_config(registry, "annotations/index", manifest)["created"])
        assert manifest["annotations"] == {f"{PREFIX}created": created[-1], "org.example.both": "b",
                                           "org.example.on-manifest": "m"}
    # the index was made when its last image was
    assert index["annotations"] == {f"{PREFIX}created": created[-1], "org.example.on-index": "i",
                                    "org.example.both": "b"}


@pytest.mark.parametrize(("flags", "fragment"), [
    (("--annotation", "manifest-descriptor:a=b"), "'manifest-descriptor' is not supported"),
    (("--annotation", "manifest[linux/amd64]:a=b"), "is not supported"),
    (("--annotation", "index:=b"), "needs a key"),
    (("--annotation", "novalue"), "expected KEY=VALUE"),
])
def test_bad_annotations_are_usage_errors(tmp_path: Path, flags: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_options(["--context", str(tmp_path), "--no-push", *flags], env={})


def test_a_key_with_a_colon_is_a_key(tmp_path: Path) -> None:
    options = parse_options(["--context", str(tmp_path), "--no-push", "--annotation", "com.example:x=1"],
                            env={})
    assert dict(options.output.annotations) == {"com.example:x": "1"}
    assert not options.output.index_annotations


@pytest.mark.parametrize(("flags", "fragment"), [
    ((), "one platform makes no index"),
    (("--custom-platform", "linux/amd64,linux/arm64"), "add --image-format oci"),
])
def test_index_annotations_need_an_oci_index(tmp_path: Path, flags: tuple[str, ...], fragment: str) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY a /a\n", {"a": "a\n"})
    run = run_executor(tmp_path, context, "--no-push", "--annotation", "index:a=b", *flags)
    assert run.returncode != 0 and fragment in run.stderr, run.stderr
    assert "Traceback" not in run.stderr

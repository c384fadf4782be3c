"""--provenance: a SLSA v1 statement naming the Dockerfile by digest, the base image by its
manifest digest, and build arg names (values only with mode=max), never a secret."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

from executor.image.provenance import BuildFacts, provenance_statement
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

SECRET = "s3cr3t-value-never-recorded"


def _manifest_digest(registry: RunningRegistry, reference: str) -> str:
    repository, _, tag = reference.removeprefix(registry.host + "/").partition(":")
    request = urllib.request.Request(f"{registry.url}/v2/{repository}/manifests/{tag}", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request) as response:
        return "sha256:" + hashlib.sha256(response.read()).hexdigest()


def _build(tmp_path: Path, base: str, *flags: str) -> tuple[dict, str, bytes]:  # type: ignore[type-arg]
    dockerfile = (f"FROM {base}\nARG TOKEN\nARG GREETING=hi\n"
                  "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null\n")
    context = write_context(tmp_path / "context", dockerfile)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    tarball = tmp_path / "image.tar"
    run = run_executor(tmp_path, context, "--no-push", "--tar-path", str(tarball),
                       "--digest-file", str(tmp_path / "digest"),
                       "--build-arg", "TOKEN=tok-value-42", "--build-arg", "GREETING=hello",
                       "--secret", f"id=tok,src={secret}", *flags)
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "image.tar.provenance.json").read_text()
    assert SECRET not in text
    return json.loads(text), (tmp_path / "digest").read_text(), dockerfile.encode()


def test_provenance_names_dockerfile_base_and_arg_names(tmp_path: Path, registry: RunningRegistry,
                                                        busybox_image: str) -> None:
    statement, digest, dockerfile = _build(tmp_path, busybox_image, "--provenance")
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"][0]["digest"] == {"sha256": digest.removeprefix("sha256:")}
    definition = statement["predicate"]["buildDefinition"]
    external = definition["externalParameters"]
    assert external["dockerfile"]["digest"]["sha256"] == hashlib.sha256(dockerfile).hexdigest()
    assert external["buildArgNames"] == ["GREETING", "TOKEN"]
    assert external["platform"].startswith("linux/")
    assert "tok-value-42" not in json.dumps(statement)
    base = _manifest_digest(registry, busybox_image)
    assert definition["resolvedDependencies"] == [
        {"uri": f"docker://{busybox_image}", "digest": {"sha256": base.removeprefix("sha256:")}}]
    assert statement["predicate"]["runDetails"]["builder"]["id"].startswith("https://lamina.dev/builder@v")


def test_provenance_max_mode_records_values_but_never_secrets(tmp_path: Path, registry: RunningRegistry,
                                                              busybox_image: str) -> None:
    statement, _, _ = _build(tmp_path, busybox_image, "--provenance=mode=max")
    external = statement["predicate"]["buildDefinition"]["externalParameters"]
    assert external["buildArgs"] == {"GREETING": "hello", "TOKEN": "tok-value-42"}
    assert "tok" not in json.dumps(statement["predicate"]["buildDefinition"]["internalParameters"])


def test_git_context_commit_is_a_resolved_dependency() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    facts = BuildFacts(dockerfile=b"FROM scratch\n", git_uri="git://example.com/repo.git",
                       git_commit=commit, platform="linux/amd64")
    statement = provenance_statement(facts, "image", "sha256:" + "0" * 64, "1.0")
    assert statement["predicate"]["buildDefinition"]["resolvedDependencies"] == [  # type: ignore[index]
        {"uri": "git+git://example.com/repo.git", "digest": {"gitCommit": commit}}]

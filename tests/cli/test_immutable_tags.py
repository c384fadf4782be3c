"""--push-ignore-immutable-tag-errors: a registry that refuses to move an immutable tag (ECR's
answer, which kaniko matches on) is a warning with the flag and a failure without it.

No registry here has immutable tags, so a small proxy in front of the session's real registry
refuses a manifest PUT to a tag that exists, exactly as ECR answers (400, TAG_INVALID, its
message); everything else reaches the real registry."""

from __future__ import annotations

import http.client
import http.server
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from executor.registry.errors import RegistryDiagnostic, RegistryError
from executor.registry.push import immutable_tag_refusal
from tests.registry.servers import FlakyProxy, read_body, reply, serve
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

MANIFEST_TYPES = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.oci.image.manifest.v1+json"))


class ImmutableTagsProxy:
    """Forwards to ``upstream``; a PUT of a manifest by tag where the tag exists is refused."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.forward = FlakyProxy(upstream)
        self.refused: list[str] = []

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        found = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if request.command == "PUT" and found and not found[2].startswith("sha256:") \
                and self._exists(path):
            read_body(request)
            repository, tag = found[1], found[2]
            self.refused.append(f"{repository}:{tag}")
            body = {"errors": [{"code": "TAG_INVALID", "message": (
                f"The image tag '{tag}' already exists in the '{repository}' repository and cannot "
                "be overwritten because the repository is immutable.")}]}
            reply(request, 400, json.dumps(body).encode(), {"Content-Type": "application/json"})
            return
        self.forward.handle(request)

    def _exists(self, path: str) -> bool:
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            connection.request("HEAD", path, headers={"Accept": MANIFEST_TYPES})
            return connection.getresponse().status == 200
        finally:
            connection.close()


def _build(workdir: Path, content: str, *args: str) -> tuple[int, str]:
    context = write_context(workdir / "context", "FROM scratch\nCOPY which.txt /which.txt\n",
                            {"which.txt": content})
    run = run_executor(workdir, context, *args)
    return run.returncode, run.stderr


def _which(registry: RunningRegistry, ref: str, workdir: Path) -> bytes | None:
    return pull_image(registry, ref, workdir).tree()["/which.txt"].content


def test_an_immutable_tag_fails_the_push_unless_the_flag_makes_it_a_warning(
        tmp_path: Path, registry: RunningRegistry) -> None:
    proxy = ImmutableTagsProxy(registry.host)
    repository = "tags/" + re.sub(r"[^a-z0-9]+", "-", tmp_path.name.lower()).strip("-")
    with serve(proxy.handle) as host:
        first, second = f"{host}/{repository}:1", f"{host}/{repository}:2"
        code, stderr = _build(tmp_path / "first", "first\n", "--destination", first)
        assert code == 0, stderr

        code, stderr = _build(tmp_path / "refused", "second\n", "--destination", first,
                              "--destination", second)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert code != 0 and len(errors) == 1, stderr
        assert "TAG_INVALID" in errors[0] and "immutable" in errors[0]

        code, stderr = _build(tmp_path / "ignored", "second\n", "--destination", first,
                              "--destination", second, "--push-ignore-immutable-tag-errors")
        assert code == 0, stderr
        warnings = [line for line in stderr.splitlines() if line.startswith("WARNING")]
        assert len(warnings) == 1 and "immutable" in warnings[0], stderr
        assert "--push-ignore-immutable-tag-errors" in warnings[0]
    assert proxy.refused == [f"{repository}:1", f"{repository}:1"]
    # the immutable tag kept the first image; the other destination got the new one
    assert _which(registry, f"{registry.host}/{repository}:1", tmp_path / "pull1") == b"first\n"
    assert _which(registry, f"{registry.host}/{repository}:2", tmp_path / "pull2") == b"second\n"


def test_other_push_failures_still_fail_with_the_flag(tmp_path: Path, registry: RunningRegistry) -> None:
    def refuse_manifests(request: http.server.BaseHTTPRequestHandler) -> None:
        if request.command == "PUT" and "/manifests/" in request.path:
            read_body(request)
            reply(request, 400, b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}',
                  {"Content-Type": "application/json"})
            return
        forward.handle(request)

    forward = FlakyProxy(registry.host)
    with serve(refuse_manifests) as host:
        code, stderr = _build(tmp_path, "x\n", "--destination", f"{host}/tags/other:1",
                              "--push-ignore-immutable-tag-errors")
    assert code != 0 and "MANIFEST_INVALID" in stderr


def test_the_refusals_kaniko_knows_and_no_others() -> None:
    def refusal(code: str, message: str, status: int = 400) -> RegistryError:
        return RegistryError(status=status, diagnostics=(RegistryDiagnostic(code, message),))

    assert immutable_tag_refusal(refusal(
        "TAG_INVALID", "The image tag 'v1' already exists in the 'app' repository and cannot be "
        "overwritten because the repository is immutable."))
    # Artifact Registry (its troubleshooting page, which kaniko cites)
    assert immutable_tag_refusal(refusal("DENIED", "Failed: The repository has enabled tag immutability.",
                                         403))
    assert not immutable_tag_refusal(refusal("TAG_INVALID", "manifest tag did not match URI"))
    assert not immutable_tag_refusal(refusal("DENIED", "requested access to the resource is denied", 403))

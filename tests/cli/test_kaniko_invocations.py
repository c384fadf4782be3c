"""kaniko as CI systems run it: the flags the public docs of GitLab CI, Tekton's kaniko task,
Cloud Build, a GitHub Action and Skaffold's kaniko builder pass, spelled as they spell them, with
only the registry retargeted at the loopback one and the base at the session's busybox. Each runs
in sandbox mode (--root), pushes, and the pushed image is pulled back and its files checked.

Sources (the argv of each case follows them; paths and names are the systems' own):
- GitLab: docs.gitlab.com/ci/docker/using_kaniko/ (the ``build`` job's script, and its "behind a
  proxy" variant with --build-arg http_proxy=...), and its common --cache/--cache-repo form.
- Tekton: tektoncd/catalog task/kaniko/0.7/kaniko.yaml (workingDir the source workspace,
  --dockerfile=./Dockerfile, --context=$(workspaces.source.path)/./, --digest-file=$(results...)),
  with --skip-tls-verify as EXTRA_ARGS.
- Cloud Build: kaniko's README "Running kaniko in Google Cloud Build" and Cloud Build's
  "Using Kaniko cache" page (--cache=true --cache-ttl=XXh), /workspace as the working directory.
- GitHub Actions: aevea/action-kaniko entrypoint.sh (--context $GITHUB_WORKSPACE/$path
  --dockerfile $path/Dockerfile, relative to the workspace it runs in, --target, two destinations,
  --reproducible --force, the cache flags).
- Skaffold: pkg/skaffold/build/kaniko/args.go (separate values, bare booleans, the deprecated
  --snapshotMode and --whitelist-var-run, --use-new-run) with the context it copies to
  dir:///kaniko/buildcontext.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

pytestmark = pytest.mark.slow  # six builds on busybox with RUN steps: 3-5 s each

BASIC = "FROM {busybox}\nRUN echo built > /built.txt\nCOPY app.txt /app/app.txt\n"
MULTISTAGE = ("FROM {busybox} AS build\nRUN echo compiled > /out.txt\n"
              "FROM {busybox} AS release\nCOPY --from=build /out.txt /app/out.txt\n"
              "COPY app.txt /app/app.txt\n"
              "FROM release AS debug\nRUN echo debug > /debug.txt\n")
APP = {"app.txt": "hello from the repository\n"}
BUILT = {"/built.txt": "built\n", "/app/app.txt": "hello from the repository\n"}


@dataclass(frozen=True)
class Invocation:
    name: str
    argv: tuple[str, ...]  # {ws}: the workspace, {reg}: the registry host, {kaniko}: the kaniko dir
    files: Mapping[str, str]  # the workspace; {busybox} in a Dockerfile is the base
    cwd: str = ""  # the job's working directory, inside the workspace
    pushed: tuple[str, ...] = ()  # references to pull back (templates as ``argv``)
    # path in the image -> its content, or None: not in the image
    expect: Mapping[str, str | None] = field(default_factory=dict)


INVOCATIONS = (
    Invocation(
        "gitlab-ci",
        ("--context", "{ws}/builds/group/project",
         "--dockerfile", "{ws}/builds/group/project/Dockerfile",
         "--destination", "{reg}/group/project:v1.0.0"),
        {"builds/group/project/Dockerfile": BASIC,
         **{f"builds/group/project/{k}": v for k, v in APP.items()}},
        cwd="builds/group/project", pushed=("{reg}/group/project:v1.0.0",), expect=BUILT),
    Invocation(
        "gitlab-ci-proxy-and-cache",
        ("--context", "{ws}/builds/group/project",
         "--build-arg", "http_proxy=http://proxy.example:3128",
         "--build-arg", "no_proxy=.internal.example",
         "--dockerfile", "{ws}/builds/group/project/Dockerfile",
         "--destination={reg}/group/project:abc1234", "--destination={reg}/group/project:latest",
         "--cache=true", "--cache-repo={reg}/group/project/cache"),
        {"builds/group/project/Dockerfile":
             "FROM {busybox}\nRUN echo \"$http_proxy $no_proxy\" > /proxy.txt\nCOPY app.txt /app.txt\n",
         **{f"builds/group/project/{k}": v for k, v in APP.items()}},
        cwd="builds/group/project",
        pushed=("{reg}/group/project:abc1234", "{reg}/group/project:latest"),
        expect={"/proxy.txt": "http://proxy.example:3128 .internal.example\n",
                "/app.txt": "hello from the repository\n"}),
    Invocation(
        "tekton-kaniko-task",
        ("--skip-tls-verify", "--dockerfile=./Dockerfile", "--context={ws}/workspace/source/./",
         "--destination={reg}/tekton/app:0.7", "--digest-file={ws}/tekton/results/IMAGE_DIGEST"),
        {"workspace/source/Dockerfile": BASIC, **{f"workspace/source/{k}": v for k, v in APP.items()},
         "tekton/results/.keep": ""},
        cwd="workspace/source", pushed=("{reg}/tekton/app:0.7",), expect=BUILT),
    Invocation(
        "cloud-build",
        ("--dockerfile=Dockerfile", "--context=dir://{ws}/workspace",
         "--destination={reg}/my-project/app:build-42", "--cache=true", "--cache-ttl=6h"),
        {"workspace/Dockerfile": BASIC, **{f"workspace/{k}": v for k, v in APP.items()}},
        cwd="workspace", pushed=("{reg}/my-project/app:build-42",), expect=BUILT),
    Invocation(
        "github-action-kaniko",
        ("--cache=true", "--cache-ttl=24h", "--cache-repo={reg}/owner/repo/cache",
         "--context", "{ws}/github/workspace/app", "--dockerfile", "app/Dockerfile",
         "--target=release", "--destination", "{reg}/owner/repo/app:main",
         "--destination", "{reg}/owner/repo/app:latest", "--reproducible", "--force"),
        {"github/workspace/app/Dockerfile": MULTISTAGE,
         **{f"github/workspace/app/{k}": v for k, v in APP.items()}},
        cwd="github/workspace", pushed=("{reg}/owner/repo/app:main", "{reg}/owner/repo/app:latest"),
        expect={"/app/out.txt": "compiled\n", "/app/app.txt": "hello from the repository\n",
                "/out.txt": None, "/debug.txt": None}),
    Invocation(
        "skaffold-kaniko-builder",
        ("--destination", "{reg}/skaffold/leeroy-web:v1", "--dockerfile", "Dockerfile",
         "--context", "dir://{kaniko}/buildcontext", "--build-arg", "GREETING=leeroy",
         "--target", "web", "--snapshotMode", "redo", "--use-new-run", "--verbosity", "info",
         "--whitelist-var-run", "--skip-tls-verify", "--skip-tls-verify-registry", "{reg}",
         "--label", "app=leeroy-web"),
        {"kaniko/buildcontext/Dockerfile":
             "FROM {busybox} AS web\nARG GREETING\nRUN echo \"$GREETING\" > /greeting.txt\n"
             "COPY app.txt /app.txt\n",
         **{f"kaniko/buildcontext/{k}": v for k, v in APP.items()}},
        pushed=("{reg}/skaffold/leeroy-web:v1",),
        expect={"/greeting.txt": "leeroy\n", "/app.txt": "hello from the repository\n"}),
)


def _run(invocation: Invocation, workdir: Path, values: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """The invocation as the CI system starts it, in its working directory, in a --root sandbox."""
    argv = [arg.format(**values) for arg in invocation.argv]
    env = {**os.environ, "DOCKER_CONFIG": str(workdir / "no-docker-config"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "executor", *argv, "--root", str(workdir / "root"),
         "--kaniko-dir", values["kaniko"]],
        cwd=Path(values["ws"], invocation.cwd), capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("invocation", INVOCATIONS, ids=[i.name for i in INVOCATIONS])
def test_kaniko_invocation(invocation: Invocation, tmp_path: Path, registry: RunningRegistry,
                           busybox_image: str) -> None:
    workspace = tmp_path / "ws"
    values = {"ws": str(workspace), "reg": registry.host, "kaniko": str(workspace / "kaniko")}
    for name, content in invocation.files.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content.replace("{busybox}", busybox_image))
    result = _run(invocation, tmp_path, values)
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr
    for number, template in enumerate(invocation.pushed):
        image = pull_image(registry, template.format(**values), tmp_path / f"pull{number}")
        tree = image.tree()
        found = {path: tree[path].content.decode() if path in tree and tree[path].content is not None
                 else None for path in invocation.expect}
        assert found == dict(invocation.expect), template
        if invocation.name == "tekton-kaniko-task":
            digest = (workspace / "tekton/results/IMAGE_DIGEST").read_text()
            assert digest == image.manifest_digest
        if invocation.name == "skaffold-kaniko-builder":
            assert image.run_config["Labels"] == {"app": "leeroy-web"}

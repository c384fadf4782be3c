"""The same Dockerfile built by lamina and by buildah gives the same filesystem and config."""

from __future__ import annotations

from pathlib import Path

from tests.support.buildah import buildah_build_and_push
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG VERSION=2
ENV A=1 B="two words"
WORKDIR /app
COPY . /app/
COPY --chown=app:app sub/ /home/app/sub/
COPY --chmod=0700 run.sh /usr/local/bin/
RUN echo $VERSION > /app/version && mkdir -p /var/lib/thing && chmod 700 /var/lib/thing \\
    && rm /etc/os-release && ln -s /app/version /app/current && ln /app/file.txt /app/file-link
USER app
RUN touch /tmp/by-app && mkdir /home/app/made
USER root
EXPOSE 80 443/tcp
LABEL a=b c="d e"
STOPSIGNAL SIGINT
HEALTHCHECK --interval=10s CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/version"]
"""

# What buildah adds that lamina (like kaniko and BuildKit) leaves out, each with the reason
# (plus the "io.buildah.version" label, dropped below):
# - buildah bind-mounts stub /etc/hosts, /etc/resolv.conf, /etc/hostname and /run/.containerenv
#   into RUN and leaves empty mount-point files of them in the image; lamina keeps them out.
BUILDAH_ONLY = {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/run", "/run/.containerenv",
                "/dev", "/proc", "/sys"}

CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
               "Labels", "Healthcheck", "Shell", "StopSignal", "OnBuild")


def test_lamina_and_buildah_agree(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE, {
        "file.txt": "file\n", "sub/inner.txt": "inner\n", "sub/deeper/x.txt": "x\n",
        "run.sh": "#!/bin/sh\necho run\n",
    })
    lamina_ref, buildah_ref = registry.ref("diff/lamina"), registry.ref("diff/buildah")
    run = run_executor(tmp_path / "lamina", context, "--destination", lamina_ref,
                       "--build-arg", f"BASE={busybox_image}")
    assert run.returncode == 0, run.stderr
    buildah_build_and_push(tmp_path / "buildah", context, registry, buildah_ref, {"BASE": busybox_image})

    ours = pull_image(registry, lamina_ref, tmp_path / "pull-lamina")
    theirs = pull_image(registry, buildah_ref, tmp_path / "pull-buildah")
    our_tree, their_tree = ours.tree(), theirs.tree()
    for path in BUILDAH_ONLY:
        their_tree.pop(path, None)
        assert path not in our_tree or path in ("/dev", "/proc", "/sys"), path
    for path in ("/dev", "/proc", "/sys"):
        our_tree.pop(path, None)
    only_ours = sorted(set(our_tree) - set(their_tree))
    only_theirs = sorted(set(their_tree) - set(our_tree))
    assert only_ours == [] and only_theirs == []
    different = {path: (our_tree[path], their_tree[path]) for path in our_tree
                 if our_tree[path] != their_tree[path]}
    assert different == {}
    # buildah writes empty maps ("Volumes": {}) where Docker's omitempty leaves the key out.
    ours_config = {key: ours.run_config.get(key) or None for key in CONFIG_KEYS}
    theirs_config = {key: theirs.run_config.get(key) or None for key in CONFIG_KEYS}
    # buildah labels every image with its own version.
    theirs_config["Labels"].pop("io.buildah.version")
    assert ours_config == theirs_config

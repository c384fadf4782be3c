"""Build in sandbox mode, push to the real registry, read back with skopeo + umoci, check everything."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest

from tests.support.executor import run_executor, write_context
from tests.support.readback import PulledImage, pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG VERSION=1.0
ARG FROM_CLI
LABEL org.example.version="$VERSION" description="a test image"
ENV APP=/srv/app PLAIN=value
ENV LEGACY legacy value
WORKDIR $APP
COPY hello.txt ./
COPY --chown=app:staff --chmod=0640 secret.conf /etc/app/
COPY tree/ /opt/tree/
COPY *.md /docs/
ADD archive.tar.gz /opt/unpacked/
RUN echo "$VERSION $FROM_CLI $PLAIN" > version && cp /etc/passwd /usr/bin/suid \\
    && chmod 4755 /usr/bin/suid && mkdir -p /var/shared && chmod 1777 /var/shared
RUN ["/bin/sh", "-c", "ln -s /srv/app/version /srv/app/link && rm /etc/os-release"]
RUN rm -rf /home/app && ln /srv/app/hello.txt /srv/app/hello-link
USER app
RUN id > /tmp/whoami
EXPOSE 8080 53/udp
VOLUME ["/data"]
SHELL ["/bin/sh", "-ec"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1
ONBUILD RUN echo triggered
MAINTAINER someone@example.com
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat /srv/app/version"]
"""


def _archive() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, mode in (("bin/tool", b"#!/bin/sh\necho tool\n", 0o755), ("README", b"readme\n", 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, 1000, 1000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def built(registry: RunningRegistry, busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> PulledImage:
    work = tmp_path_factory.mktemp("e2e")
    context = write_context(work / "context", DOCKERFILE, {
        "hello.txt": "hello\n",
        "secret.conf": "key=value\n",
        "tree/a.txt": "a\n",
        "tree/sub/b.txt": "b\n",
        "tree/skip/hidden.txt": "hidden\n",
        "one.md": "# one\n",
        "two.md": "# two\n",
        "ignored.md": "ignored\n",
        "archive.tar.gz": _archive(),
        ".dockerignore": "ignored.md\ntree/skip\n",
    })
    (context / "tree/sub/b.txt").chmod(0o600)
    destination = registry.ref("e2e/full", "v1")
    run = run_executor(work, context, "--destination", destination,
                       "--build-arg", f"BASE={busybox_image}", "--build-arg", "FROM_CLI=from-cli",
                       "--label", "extra=yes", "--digest-file", str(work / "digest"))
    assert run.returncode == 0, run.stderr
    image = pull_image(registry, destination, work / "pulled")
    assert (work / "digest").read_text().strip() == image.manifest_digest
    return image


def test_files_copied_with_docker_rules(built: PulledImage) -> None:
    tree = built.tree()
    assert tree["/srv/app"].kind == "dir"
    assert tree["/srv/app/hello.txt"].content == b"hello\n"
    assert (tree["/srv/app/hello.txt"].uid, tree["/srv/app/hello.txt"].gid) == (0, 0)
    secret = tree["/etc/app/secret.conf"]
    assert (secret.uid, secret.gid, secret.mode, secret.content) == (1000, 50, 0o640, b"key=value\n")
    assert tree["/opt/tree/a.txt"].content == b"a\n"
    assert tree["/opt/tree/sub/b.txt"].mode == 0o600
    assert "/opt/tree/skip" not in tree and "/opt/tree/skip/hidden.txt" not in tree
    assert tree["/docs/one.md"].content == b"# one\n" and tree["/docs/two.md"].content == b"# two\n"
    assert "/docs/ignored.md" not in tree
    assert tree["/opt/unpacked/bin/tool"].content == b"#!/bin/sh\necho tool\n"
    assert tree["/opt/unpacked/bin/tool"].mode == 0o755
    assert tree["/opt/unpacked/README"].uid == 1000


def test_run_changes_captured(built: PulledImage) -> None:
    tree = built.tree()
    assert tree["/srv/app/version"].content == b"1.0 from-cli value\n"
    assert tree["/usr/bin/suid"].mode == 0o4755
    assert tree["/var/shared"].mode == 0o1777
    assert tree["/tmp"].mode == 0o1777
    assert tree["/srv/app/link"] == tree["/srv/app/link"].__class__("symlink", 0o777, 0, 0,
                                                                     target="/srv/app/version")
    assert "/etc/os-release" not in tree  # deleted from a base layer: whiteout applied
    assert "/home/app" not in tree
    assert (built.rootfs / "srv/app/hello-link").stat().st_ino == (built.rootfs / "srv/app/hello.txt").stat().st_ino
    whoami = tree["/tmp/whoami"]
    # as docker (runc): the groups /etc/group lists app in, not app's primary group unless listed
    assert whoami.content == b"uid=1000(app) gid=1000(app) groups=50(staff)\n"
    assert (whoami.uid, whoami.gid) == (1000, 1000)
    assert "/proc/1" not in tree and not any(p.startswith("/dev/") for p in tree)
    assert tree["/bin/busybox"].kind == "file"


def test_config_keys(built: PulledImage) -> None:
    cfg = built.run_config
    env = dict(item.split("=", 1) for item in cfg["Env"])
    assert env["APP"] == "/srv/app" and env["PLAIN"] == "value" and env["LEGACY"] == "legacy value"
    assert env["PATH"].startswith("/usr/local/sbin")
    assert "VERSION" not in env and "FROM_CLI" not in env  # ARGs stay out of the image
    assert cfg["WorkingDir"] == "/srv/app"
    assert cfg["User"] == "app"
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/data": {}}
    assert cfg["Labels"] == {"org.example.version": "1.0", "description": "a test image", "extra": "yes"}
    assert cfg["Shell"] == ["/bin/sh", "-ec"]
    assert cfg["StopSignal"] == "SIGTERM"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://localhost:8080/ || exit 1"],
                                  "Interval": 30_000_000_000, "Timeout": 5_000_000_000, "Retries": 3}
    assert cfg["OnBuild"] == ["RUN echo triggered"]
    assert cfg["Entrypoint"] == ["/bin/sh"]
    assert cfg["Cmd"] == ["-c", "cat /srv/app/version"]
    assert built.config["author"] == "someone@example.com"
    assert built.config["os"] == "linux" and built.config["architecture"] == "amd64"


def test_manifest_layers_history_and_diff_ids(built: PulledImage) -> None:
    manifest = built.manifest
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert {layer["mediaType"] for layer in manifest["layers"]} == {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"}
    history = built.config["history"]
    non_empty = [h for h in history if not h.get("empty_layer")]
    assert len(non_empty) == len(manifest["layers"]) == len(built.config["rootfs"]["diff_ids"])
    # base (2) + WORKDIR + 5 COPY/ADD + 4 RUN
    assert len(manifest["layers"]) == 2 + 1 + 5 + 4
    created_by = [h["created_by"] for h in history]
    assert "ENV APP=/srv/app PLAIN=value" in created_by
    assert any(c.startswith("RUN echo \"$VERSION") for c in created_by)
    assert all(h.get("empty_layer") for h in history if h["created_by"].startswith(("ENV", "LABEL", "USER", "CMD")))
    # Each diff id is the sha256 of the uncompressed layer, each digest of the compressed blob.
    blobs = built.layout / "blobs" / "sha256"
    for layer, diff_id in zip(manifest["layers"], built.config["rootfs"]["diff_ids"]):
        blob = (blobs / layer["digest"].split(":")[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
        assert len(blob) == layer["size"]
        assert "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest() == diff_id


def test_run_layer_holds_exactly_the_changes(built: PulledImage) -> None:
    """The layer of `RUN rm -rf /home/app && ln ...`: a whiteout, the new link, their parents."""
    manifest, blobs = built.manifest, built.layout / "blobs" / "sha256"
    layer = manifest["layers"][-2]  # the second-to-last RUN
    data = gzip.decompress((blobs / layer["digest"].split(":")[1]).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = [m.name.rstrip("/") for m in tar.getmembers()]
    assert "home/.wh.app" in names
    assert "srv/app/hello-link" in names
    assert not any(n.startswith(("proc", "dev", "sys", "etc/hosts", "etc/resolv.conf")) for n in names)
    assert "etc" not in names  # placing resolv.conf/hosts for the RUN leaves /etc untouched
    assert names == sorted(names, key=lambda n: n.split("/"))

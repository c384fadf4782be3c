"""RUN --mount (BuildKit): secrets, caches, binds and tmpfs are seen by the command only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull, every_blob, layer_paths, pushed
from tests.support.registry import RunningRegistry

SECRET = b"s3cr3t-value-7f2c9a1b"
ENV_SECRET = "env-secret-55d0e4aa"


def _assert_error(run, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    for fragment in fragments:
        assert fragment in run.error_lines[0], run.error_lines[0]
    assert "Traceback" not in run.stderr


def test_secrets_reach_the_command_and_no_blob(tmp_path: Path, registry: RunningRegistry,
                                              busybox_image: str) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_bytes(SECRET)
    dockerfile = f"""\
FROM {busybox_image}
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -c1-64 > /file-hash \\
    && stat -c '%a %u' /run/secrets/token > /file-mode
RUN --mount=type=secret,id=token,target=/etc/app/token,mode=0440,uid=1,gid=2 \\
    stat -c '%a %u %g' /etc/app/token > /target-mode && wc -c < /etc/app/token > /target-size
RUN --mount=type=secret,id=api,env=API_TOKEN printf %s "$API_TOKEN" | sha256sum | cut -c1-64 > /env-hash \\
    && [ ! -e /run/secrets/api ]
RUN --mount=type=secret,id=absent,required=false [ ! -e /run/secrets/absent ] && echo skipped > /optional
RUN env > /env-after
"""
    import hashlib

    run, image = build_and_pull(tmp_path, registry, dockerfile, "--secret", f"id=token,src={secret_file}",
                                "--secret", "id=api,env=LAMINA_TEST_API", env={"LAMINA_TEST_API": ENV_SECRET})
    tree = image.tree()
    assert tree["/file-hash"].content.decode().strip() == hashlib.sha256(SECRET).hexdigest()
    assert tree["/file-mode"].content == b"400 0\n"
    assert tree["/target-mode"].content == b"440 1 2\n"
    assert tree["/target-size"].content.strip() == str(len(SECRET)).encode()
    assert tree["/env-hash"].content.decode().strip() == hashlib.sha256(ENV_SECRET.encode()).hexdigest()
    assert tree["/optional"].content == b"skipped\n"
    assert b"API_TOKEN" not in tree["/env-after"].content
    # Neither the secret files nor their mount points are in any layer.
    paths = layer_paths(image)
    assert not [p for p in paths if p.startswith(("run", "etc/app"))], paths
    for blob in every_blob(image):
        assert SECRET not in blob and ENV_SECRET.encode() not in blob
    assert SECRET.decode() not in run.stderr + run.stdout and ENV_SECRET not in run.stderr + run.stdout


def test_missing_secret_is_an_error(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    run, destination = build(tmp_path, registry,
                             f"FROM {busybox_image}\nRUN true\nRUN --mount=type=secret,id=nope cat /run/secrets/nope\n")
    _assert_error(run, "Dockerfile:3:", "secret 'nope' not found")
    assert not pushed(registry, destination)


@pytest.mark.parametrize("mount, message", [
    ("type=volume,target=/x", "unsupported mount type 'volume'"),
    ("type=cache", "needs a target"),
    ("type=cache,target=/x,sharing=sometimes", "unsupported sharing value"),
    ("type=bind,target=/x,colour=blue", "unexpected key 'colour'"),
    ("type=cache,target=/x,mode=rwx", "invalid value for mode"),
    ("type=bind,source=missing,target=/x", "bind source 'missing' not found"),
])
def test_bad_mount_spec_is_an_error(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                    mount: str, message: str) -> None:
    run, destination = build(tmp_path, registry, f"FROM {busybox_image}\nRUN --mount={mount} true\n")
    _assert_error(run, "Dockerfile:2:", message)
    assert not pushed(registry, destination)


@pytest.mark.slow
def test_cache_persists_across_builds_and_stays_out_of_layers(tmp_path: Path, registry: RunningRegistry,
                                                              busybox_image: str) -> None:
    kaniko = tmp_path / "shared-kaniko"
    dockerfile = f"""\
FROM {busybox_image}
RUN --mount=type=cache,target=/var/cache/app,uid=1,gid=2,mode=0750 \\
    ls /var/cache/app > /seen && stat -c '%a %u %g' /var/cache/app > /cache-mode \\
    && echo "from build $BUILD" > /var/cache/app/build-$BUILD
RUN --mount=type=cache,id=shared,target=/c1 --mount=type=cache,id=shared,target=/c2,sharing=locked \\
    echo x > /c1/x && cat /c2/x > /both
"""
    seen = []
    for number in ("1", "2"):
        _, image = build_and_pull(tmp_path / f"b{number}", registry, dockerfile.replace("$BUILD", number),
                                  "--kaniko-dir", str(kaniko), workdir=tmp_path / f"work{number}")
        tree = image.tree()
        seen.append(tree["/seen"].content)
        assert tree["/cache-mode"].content == b"750 1 2\n"
        assert tree["/both"].content == b"x\n"
        assert not [p for p in layer_paths(image) if p.startswith(("var/cache", "c1", "c2"))]
    assert seen == [b"", b"build-1\n"]


def test_bind_mounts_of_the_context(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    dockerfile = f"""\
FROM {busybox_image}
RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/a.txt > /from-bind \\
    && ls -a /mnt/src > /listing && ! touch /mnt/src/new 2>/dev/null
RUN --mount=target=/ctx ls /ctx > /whole-context
RUN --mount=type=bind,source=src,target=/work,rw echo changed > /work/a.txt && cat /work/a.txt > /rw-saw
RUN --mount=type=bind,source=src/a.txt,target=/single.txt cat /single.txt > /single
RUN --mount=type=tmpfs,target=/scratch,size=1m echo t > /scratch/t && df -k /scratch | tail -1 > /tmpfs
RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/a.txt > /after-rw
"""
    _, image = build_and_pull(tmp_path, registry, dockerfile, files={
        "src/a.txt": "from the context\n", "src/ignored.log": "no\n", "other.txt": "o\n",
        ".dockerignore": "src/*.log\n"})
    tree = image.tree()
    assert tree["/from-bind"].content == b"from the context\n"
    assert tree["/listing"].content.split() == [b".", b"..", b"a.txt"]  # .dockerignore applies
    assert b"other.txt" in tree["/whole-context"].content
    assert tree["/rw-saw"].content == b"changed\n"
    assert tree["/after-rw"].content == b"from the context\n"  # rw writes are thrown away
    assert tree["/single"].content == b"from the context\n"
    assert tree["/tmpfs"].content.split()[1] == b"1024"
    assert (tmp_path / "context/src/a.txt").read_text() == "from the context\n"
    paths = layer_paths(image)
    assert not [p for p in paths if p.startswith(("mnt", "ctx", "work", "single.txt", "scratch"))], paths


def test_bind_mount_of_an_image(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    dockerfile = """\
FROM scratch
COPY payload.txt /data/payload.txt
"""
    payload_run, payload_ref = build(tmp_path / "payload", registry, dockerfile,
                                     files={"payload.txt": "in another image\n"})
    assert payload_run.returncode == 0, payload_run.stderr
    _, image = build_and_pull(tmp_path, registry, f"""\
FROM {busybox_image}
RUN --mount=type=bind,from={payload_ref},source=/data,target=/other cat /other/payload.txt > /got
""")
    assert image.tree()["/got"].content == b"in another image\n"
    assert not [p for p in layer_paths(image) if p.startswith("other")]

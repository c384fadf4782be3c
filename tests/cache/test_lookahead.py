"""--cache looks every step up before it touches the base: a build whose steps all hit downloads
and extracts no base layer (its image is the base's manifest and config and the cached layers,
pushed by mounting blobs it never read), a miss builds the root just in time (the base, then the
hits' layers, then the rest runs), and a stage read by ``COPY --from`` is extracted only then."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

from tests.cache.cache_builds import JSON_LOG, cache_hits, ran
from tests.cache.test_warmer import run_warmer
from tests.registry.servers import FlakyProxy, serve
from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.readback import describe_tree, pull_image
from tests.support.registry import RunningRegistry

# Every kind of step the lookahead passes: metadata, WORKDIR (a directory made for a named USER),
# COPY --chown by name (the key needs no /etc/passwd), RUN.
DOCKERFILE = """FROM {base}
ARG GREETING=hello
ENV APP_HOME=/home/app/work
USER app
WORKDIR /home/app/work
COPY --chown=app:app a.txt ./
RUN echo "$GREETING" > greeting && id -u > uid
USER root
RUN cat /proc/sys/kernel/random/uuid > /uuid
COPY b.txt /b.txt
CMD ["cat", "/b.txt"]
"""
FILES = {"a.txt": "a\n", "b.txt": "b1\n"}
CACHED_STEPS = 5  # WORKDIR, COPY a.txt, two RUNs, COPY b.txt


def _build(workdir: Path, context: Path, cache_repo: str, destination: str,
           *flags: str) -> ExecutorRun:
    run = run_executor(workdir, context, "--destination", destination, "--cache",
                       "--cache-repo", cache_repo, "--cache-copy-layers", "--reproducible",
                       "--digest-file", str(workdir / "digest"), JSON_LOG, *flags)
    assert run.returncode == 0, run.stderr
    return run


def _digest(run: ExecutorRun) -> str:
    return (run.kaniko_dir.parent / "digest").read_text()


def _layer_digests(ref: str) -> list[str]:
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True).stdout
    return [layer["digest"] for layer in json.loads(raw)["layers"]]


def _blob_gets(proxy: FlakyProxy, digests: list[str]) -> list[str]:
    return [seen for seen in proxy.seen if seen.startswith("GET") and "/blobs/" in seen
            and seen.rsplit("/", 1)[1] in digests]


def test_a_build_whose_steps_all_hit_downloads_no_base_layer(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    base_layers = _layer_digests(busybox_image)
    proxy = FlakyProxy(registry.host)  # counts what the builds ask of the registry
    with serve(proxy.handle) as host:
        base = busybox_image.replace(registry.host, host)
        context = write_context(tmp_path / "context", DOCKERFILE.format(base=base), FILES)
        cache_repo = f"{host}/lookahead/cache"
        first = _build(tmp_path / "one", context, cache_repo, f"{host}/lookahead/app-one:1")
        assert len(_blob_gets(proxy, base_layers)) == len(base_layers)  # the cold build reads them
        proxy.seen.clear()

        second = _build(tmp_path / "two", context, cache_repo, f"{host}/lookahead/app-two:1")
        assert _blob_gets(proxy, base_layers) == []

    assert len(ran(first)) == 2 and ran(second) == []
    assert cache_hits(second) == CACHED_STEPS
    assert not [hit for hit in second.named("step.cached") if hit["extracted"]]
    assert second.named("root.built") == []  # the base was never extracted
    [cached] = second.named("stage.cached")
    assert cached["index"] == 0 and cached["base_layers"] == len(base_layers)
    assert _digest(second) == _digest(first)  # the very same image
    # the base layers were mounted into the new repository, never uploaded
    pushed = {e["digest"]: e["how"] for e in second.named("blob.pushed")}
    assert [pushed.get(digest) for digest in base_layers] == ["mounted"] * len(base_layers)

    pulled = pull_image(registry, registry.ref("lookahead/app-two", "1"), tmp_path / "pulled")
    assert (pulled.rootfs / "home/app/work/greeting").read_text() == "hello\n"
    assert (pulled.rootfs / "home/app/work/uid").read_text() == "1000\n"
    assert (pulled.rootfs / "home/app/work").stat().st_uid == 1000
    assert (pulled.rootfs / "home/app/work/a.txt").stat().st_uid == 1000
    assert pulled.run_config["WorkingDir"] == "/home/app/work"
    assert (pulled.rootfs / "etc/os-release").read_text() == "NAME=lamina-busybox\n"


def test_to_another_registry_the_base_layers_stream_through(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    """The base comes from one registry (the proxy's name) and the image goes to another: a
    fully cached build reads each base layer once, to upload it, and extracts nothing."""
    base_layers = _layer_digests(busybox_image)
    context_text = "FROM {base}\nRUN cat /proc/sys/kernel/random/uuid > /uuid\n"
    proxy = FlakyProxy(registry.host)
    with serve(proxy.handle) as host:
        base = busybox_image.replace(registry.host, host)
        context = write_context(tmp_path / "context", context_text.format(base=base))
        cache_repo = f"{registry.host}/lookahead/cross-cache"
        first = _build(tmp_path / "one", context, cache_repo, registry.ref("lookahead/cross-one"))
        proxy.seen.clear()
        second = _build(tmp_path / "two", context, cache_repo, registry.ref("lookahead/cross-two"))
        gets = _blob_gets(proxy, base_layers)

    assert ran(second) == [] and second.named("root.built") == []
    assert sorted(get.rsplit("/", 1)[1] for get in gets) == sorted(base_layers)  # once each
    assert _digest(second) == _digest(first)
    pulled = pull_image(registry, registry.ref("lookahead/cross-two"), tmp_path / "pulled")
    assert (pulled.rootfs / "bin/busybox").is_file()
    assert (pulled.rootfs / "uuid").read_text() == (
        pull_image(registry, registry.ref("lookahead/cross-one"), tmp_path / "first")
        .rootfs / "uuid").read_text()


def test_a_miss_at_the_last_step_builds_the_root_then_and_makes_the_uncached_image(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image)
                            .replace("cat /proc/sys/kernel/random/uuid", "echo fixed"), FILES)
    cache_repo = f"{registry.host}/lookahead/miss-cache"
    _build(tmp_path / "one", context, cache_repo, registry.ref("lookahead/miss", "one"))
    (context / "b.txt").write_text("b2\n")
    second = _build(tmp_path / "two", context, cache_repo, registry.ref("lookahead/miss", "two"))

    assert ran(second) == [] and cache_hits(second) == CACHED_STEPS - 1
    copy_b = DOCKERFILE.splitlines().index("COPY b.txt /b.txt") + 1
    [built] = second.named("root.built")
    assert built["line"] == copy_b and built["keyword"] == "COPY"
    # the layers of the hits before it were extracted then, in place of running those steps
    assert built["cached_layers"] == cache_hits(second, with_layer=True) == CACHED_STEPS - 1
    names = [e["event"] for e in second.events]
    assert names.index("root.built") > max(i for i, n in enumerate(names) if n == "step.cached")

    uncached = run_executor(tmp_path / "plain", context, "--reproducible", JSON_LOG,
                            "--destination", registry.ref("lookahead/miss", "plain"))
    assert uncached.returncode == 0, uncached.stderr
    cached_image = pull_image(registry, registry.ref("lookahead/miss", "two"), tmp_path / "c")
    plain_image = pull_image(registry, registry.ref("lookahead/miss", "plain"), tmp_path / "p")
    assert cached_image.tree() == plain_image.tree()  # file by file: kinds, modes, owners, bytes
    assert (cached_image.rootfs / "b.txt").read_text() == "b2\n"
    assert cached_image.config == plain_image.config


MULTISTAGE = """FROM {base} AS build
RUN mkdir /out && cat /proc/sys/kernel/random/uuid > /out/uuid
FROM {base} AS unused
RUN echo never > /never
FROM {base}
COPY --from=build /out /out
RUN cp /out/uuid /copied
"""


def test_copy_from_a_fully_cached_stage_extracts_that_stage_only_then(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", MULTISTAGE.format(base=busybox_image))
    cache_repo = f"{registry.host}/lookahead/stages-cache"
    first = _build(tmp_path / "one", context, cache_repo, registry.ref("lookahead/stages", "one"))
    assert len(ran(first)) == 2 and first.named("stage.extracted") == []  # kept as it was built

    second = _build(tmp_path / "two", context, cache_repo, registry.ref("lookahead/stages", "two"))
    assert ran(second) == [] and cache_hits(second) == 2
    assert [e["index"] for e in second.named("stage.cached")] == [0]
    [extracted] = second.named("stage.extracted")  # its files, read by COPY --from
    assert extracted["index"] == 0
    [built] = second.named("root.built")  # the final stage's COPY --from needs its root
    assert built["stage"] == 2 and built["keyword"] == "COPY"
    assert _digest(second) == _digest(first)

    pulled = pull_image(registry, registry.ref("lookahead/stages", "two"), tmp_path / "pulled")
    uuid = (pulled.rootfs / "out/uuid").read_text()
    assert (pulled.rootfs / "copied").read_text() == uuid and len(uuid) == 37


def test_the_cold_build_is_the_uncached_build(tmp_path: Path, registry: RunningRegistry,
                                               busybox_image: str) -> None:
    """With --cache and an empty cache the root is built at the first step that changes files;
    without --cache at once, as before; the image is the same."""
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image)
                            .replace("cat /proc/sys/kernel/random/uuid", "echo fixed"), FILES)
    cold = _build(tmp_path / "cold", context, f"{registry.host}/lookahead/cold-cache",
                  registry.ref("lookahead/cold", "cached"))
    plain = run_executor(tmp_path / "plain", context, "--reproducible", JSON_LOG,
                         "--digest-file", str(tmp_path / "plain" / "digest"),
                         "--destination", registry.ref("lookahead/cold", "plain"))
    assert plain.returncode == 0, plain.stderr
    assert _digest(cold) == _digest(plain)
    [at_once] = plain.named("root.built")
    assert at_once["line"] is None and plain.events.index(at_once) < min(
        plain.events.index(e) for e in plain.named("step.start"))
    [just_in_time] = cold.named("root.built")
    assert just_in_time["keyword"] == "WORKDIR" and just_in_time["cached_layers"] == 0


def test_a_stage_with_no_step_that_changes_files_needs_no_base_layer(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    proxy = FlakyProxy(registry.host)
    with serve(proxy.handle) as host:
        base = busybox_image.replace(registry.host, host)
        context = write_context(tmp_path / "context", f"FROM {base}\nLABEL a=b\nENV X=1\n")
        run = _build(tmp_path / "one", context, f"{host}/lookahead/meta-cache",
                     f"{host}/lookahead/meta:1")
        assert _blob_gets(proxy, _layer_digests(busybox_image)) == []
    assert run.named("root.built") == [] and len(run.named("stage.cached")) == 1
    tree = describe_tree(pull_image(registry, registry.ref("lookahead/meta", "1"),
                                    tmp_path / "pulled").rootfs)
    assert tree["/bin/busybox"].kind == "file"


def test_a_damaged_cache_dir_copy_met_when_the_root_is_built_leaves_the_image_whole(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    """The base comes from a --cache-dir entry whose first layer is damaged: building the root
    (at the RUN, which misses) finds it and pulls the registry's copy, and the image written
    afterwards reads the registry's layers, not the damaged ones."""
    cache_dir = tmp_path / "base-cache"
    warm = run_warmer(tmp_path, "--cache-dir", str(cache_dir), "--image", busybox_image)
    assert warm.returncode == 0, warm.stderr
    [entry] = [p for p in cache_dir.iterdir() if not p.name.endswith(".json")]
    with tarfile.open(entry) as tar:
        [described] = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        member = tar.getmember(described["Layers"][0])
    with open(entry, "r+b") as file:  # flip bytes in the middle of the first layer
        file.seek(member.offset_data + member.size // 2)
        data = file.read(16)
        file.seek(member.offset_data + member.size // 2)
        file.write(bytes(b ^ 0xFF for b in data))
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN echo ok > /ok\n")
    image_tar = tmp_path / "image.tar"
    run = run_executor(tmp_path / "w", context, "--cache", "--cache-dir", str(cache_dir),
                       "--cache-repo", f"{registry.host}/lookahead/damaged-cache", "--no-push",
                       "--tar-path", str(image_tar), JSON_LOG)
    assert run.returncode == 0, run.stderr
    assert "pulling" in run.stderr and "from the registry instead" in run.stderr
    with tarfile.open(image_tar) as tar:
        hashes = {"sha256:" + hashlib.sha256(tar.extractfile(m).read()).hexdigest()  # type: ignore[union-attr]
                  for m in tar.getmembers() if m.isreg()}
    assert set(_layer_digests(busybox_image)) <= hashes

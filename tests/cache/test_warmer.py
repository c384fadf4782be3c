"""kaniko's warmer and ``--cache-dir``: base images cached on disk as go-containerregistry
tarballs named by manifest digest, read back here with tarfile and checked against the registry's
blobs; builds that take their base from the cache download no base blob."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.registry.servers import Fault, FlakyProxy, reply, serve
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry, free_port


def run_warmer(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``warmer ARGS...`` as a process, with no docker config of the machine's."""
    env = {**os.environ, "DOCKER_CONFIG": str(workdir / "no-docker-config"),
           "KANIKO_DIR": str(workdir / "kaniko")}
    return subprocess.run([sys.executable, "-m", "executor.warmer", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _raw_manifest(ref: str) -> bytes:
    return subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          check=True, capture_output=True).stdout


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _member_digest(tar: tarfile.TarFile, name: str) -> str:
    stream = tar.extractfile(name)
    assert stream is not None
    hasher = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def check_entry(cache_dir: Path, raw_manifest: bytes) -> Path:
    """The entry of ``raw_manifest`` is complete and exactly the registry's blobs."""
    digest = _sha256(raw_manifest)
    entry = cache_dir / digest
    assert (cache_dir / f"{digest}.json").read_bytes() == raw_manifest
    manifest = json.loads(raw_manifest)
    with tarfile.open(entry) as tar:
        [image] = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert _member_digest(tar, image["Config"]) == manifest["config"]["digest"]
        assert [_member_digest(tar, name) for name in image["Layers"]] == [
            layer["digest"] for layer in manifest["layers"]]
        assert [tar.getmember(name).size for name in image["Layers"]] == [
            layer["size"] for layer in manifest["layers"]]
    return entry


def _entries(cache_dir: Path) -> set[str]:
    """Every file in the cache dir: only complete entries, no temporary files left."""
    return {p.name for p in cache_dir.iterdir()} if cache_dir.exists() else set()


@pytest.fixture(scope="module")
def oci_image(registry: RunningRegistry, busybox_image: str) -> str:
    """The busybox base again, as an OCI manifest: another manifest digest, the same blobs."""
    ref = registry.ref("warmer/busybox-oci")
    subprocess.run(["skopeo", "copy", "--quiet", "--format", "oci", "--src-tls-verify=false",
                    "--dest-tls-verify=false", f"docker://{busybox_image}", f"docker://{ref}"],
                   check=True, capture_output=True)
    return ref


def test_warmer_caches_an_image_skips_it_then_rewrites_it_with_force(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    cache_dir = tmp_path / "cache"
    first = run_warmer(tmp_path, "--cache-dir", str(cache_dir), "--image", busybox_image)
    assert first.returncode == 0, first.stderr
    raw = _raw_manifest(busybox_image)
    entry = check_entry(cache_dir, raw)
    assert _entries(cache_dir) == {entry.name, entry.name + ".json"}
    written = entry.stat().st_ino

    again = run_warmer(tmp_path, "-c", str(cache_dir), "-i", busybox_image)
    assert again.returncode == 0, again.stderr
    assert "already in the cache" in again.stderr
    assert entry.stat().st_ino == written

    forced = run_warmer(tmp_path, "-c", str(cache_dir), "-i", busybox_image, "--force")
    assert forced.returncode == 0, forced.stderr
    assert entry.stat().st_ino != written  # a new file, renamed over the old one
    check_entry(cache_dir, raw)
    assert _entries(cache_dir) == {entry.name, entry.name + ".json"}


def test_warmer_caches_every_base_image_of_a_dockerfile(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, oci_image: str) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"ARG BASE=example.invalid/not-this:1\n"
        f"FROM ${{BASE}} AS first\nRUN true\n"
        f"FROM first AS second\n"
        f"FROM scratch\nCOPY --from=first /bin/busybox /\n"
        f"FROM {oci_image}\n")
    cache_dir = tmp_path / "cache"
    run = run_warmer(tmp_path, "--cache-dir", str(cache_dir), "--dockerfile", str(dockerfile),
                     "--build-arg", f"BASE={busybox_image}")
    assert run.returncode == 0, run.stderr
    entries = {check_entry(cache_dir, _raw_manifest(ref)).name
               for ref in (busybox_image, oci_image)}
    assert _entries(cache_dir) == entries | {name + ".json" for name in entries}


def test_warmer_reads_a_dockerfile_from_a_url(tmp_path: Path, registry: RunningRegistry,
                                              busybox_image: str) -> None:
    def handler(request):  # type: ignore[no-untyped-def]
        reply(request, 200, f"FROM {busybox_image}\n".encode())

    with serve(handler) as host:
        run = run_warmer(tmp_path, "--cache-dir", str(tmp_path / "cache"),
                         "--dockerfile", f"http://{host}/Dockerfile")
    assert run.returncode == 0, run.stderr
    check_entry(tmp_path / "cache", _raw_manifest(busybox_image))


def test_two_warmers_at_once_leave_one_valid_entry(tmp_path: Path, registry: RunningRegistry,
                                                   busybox_image: str) -> None:
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "none"), "KANIKO_DIR": str(tmp_path)}
    warmers = [subprocess.Popen([sys.executable, "-m", "executor.warmer", "--cache-dir",
                                 str(cache_dir), "--image", busybox_image, "--force"],
                                stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for warmer in warmers:
        _, stderr = warmer.communicate(timeout=300)
        assert warmer.returncode == 0, stderr
    entry = check_entry(cache_dir, _raw_manifest(busybox_image))
    assert _entries(cache_dir) == {entry.name, entry.name + ".json"}


def _warm(tmp_path: Path, image: str) -> tuple[Path, Path]:
    cache_dir = tmp_path / "cache"
    run = run_warmer(tmp_path, "--cache-dir", str(cache_dir), "--image", image)
    assert run.returncode == 0, run.stderr
    [entry] = [p for p in cache_dir.iterdir() if not p.name.endswith(".json")]
    return cache_dir, entry


def _all_base_blobs_fetched(proxy: FlakyProxy, registry: RunningRegistry, image: str) -> bool:
    manifest = json.loads(_raw_manifest(image))
    digests = {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])}
    fetched = {seen.rsplit("/", 1)[1] for seen in proxy.seen
               if seen.startswith("GET") and "/blobs/" in seen}
    return digests <= fetched


def _rename_as_kaniko(entry: Path) -> None:
    """Rewrite the tarball with the member names and order of go-containerregistry's
    ``tarball.Write`` (what kaniko's warmer makes): config ``sha256:<hex>`` first, then the
    layers ``<hex>.tar.gz``, then ``manifest.json``."""
    rewritten = entry.with_name("rewritten")
    with tarfile.open(entry) as source, tarfile.open(rewritten, "w") as target:
        [image] = json.loads(source.extractfile("manifest.json").read())  # type: ignore[union-attr]
        config = "sha256:" + image["Config"].removesuffix(".json")
        names = [(image["Config"], config), *((name, name) for name in image["Layers"])]
        for old, new in names:
            member = source.getmember(old)
            data = source.extractfile(member)
            member.name = new
            target.addfile(member, data)
        manifest = json.dumps([{**image, "Config": config}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        target.addfile(info, io.BytesIO(manifest))
    rewritten.rename(entry)


@pytest.mark.parametrize("writer", ["lamina", "kaniko"])
def test_build_takes_the_base_from_the_cache_dir(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str, writer: str) -> None:
    cache_dir, entry = _warm(tmp_path, busybox_image)
    if writer == "kaniko":
        _rename_as_kaniko(entry)
    # every blob download fails for good: only the cache can provide the base
    proxy = FlakyProxy(registry.host, plan=[Fault("GET", "/blobs/", "404", -1)])
    with serve(proxy.handle) as host:
        base = busybox_image.replace(registry.host, host)
        context = write_context(tmp_path / "context", f"FROM {base}\nRUN echo built > /built\n")
        run = run_executor(tmp_path, context, "--cache-dir", str(cache_dir),
                           "--destination", f"{host}/warmer/built-{writer}:1")
    assert run.returncode == 0, run.stderr
    assert f"from {entry}" in run.stderr
    assert any(seen.startswith("GET") and "/manifests/" in seen for seen in proxy.seen)
    assert not [seen for seen in proxy.seen if seen.startswith("GET") and "/blobs/" in seen]

    base_manifest = json.loads(_raw_manifest(busybox_image))
    pulled = pull_image(registry, registry.ref(f"warmer/built-{writer}", "1"),
                        tmp_path / "pulled")
    base_layers = [layer["digest"] for layer in base_manifest["layers"]]
    assert [layer["digest"] for layer in pulled.manifest["layers"]][:-1] == base_layers
    assert (pulled.rootfs / "built").read_text() == "built\n"
    assert (pulled.rootfs / "etc/os-release").read_text() == "NAME=lamina-busybox\n"


def test_a_pinned_base_in_the_cache_needs_no_registry(tmp_path: Path, registry: RunningRegistry,
                                                      busybox_image: str) -> None:
    cache_dir, entry = _warm(tmp_path, busybox_image)
    proxy = FlakyProxy(registry.host, plan=[Fault("GET", "/", "503", -1)])
    with serve(proxy.handle) as host:
        base = f"{host}/busybox@{entry.name}"
        context = write_context(tmp_path / "context", f"FROM {base}\nRUN echo pinned > /pinned\n")
        run = run_executor(tmp_path, context, "--cache-dir", str(cache_dir), "--no-push",
                           "--tar-path", str(tmp_path / "image.tar"))
    assert run.returncode == 0, run.stderr
    assert proxy.seen == []


def test_an_expired_entry_is_not_used(tmp_path: Path, registry: RunningRegistry,
                                      busybox_image: str) -> None:
    cache_dir, entry = _warm(tmp_path, busybox_image)
    two_hours_ago = time.time() - 7200
    os.utime(entry, (two_hours_ago, two_hours_ago))
    proxy = FlakyProxy(registry.host)
    with serve(proxy.handle) as host:
        context = write_context(tmp_path / "context",
                                f"FROM {busybox_image.replace(registry.host, host)}\n")
        run = run_executor(tmp_path, context, "--cache-dir", str(cache_dir), "--cache-ttl", "1h",
                           "--no-push")
    assert run.returncode == 0, run.stderr
    assert "expired" in run.stderr
    assert _all_base_blobs_fetched(proxy, registry, busybox_image)  # config and layers


def _layer_span(entry: Path, index: int) -> tuple[int, int]:
    with tarfile.open(entry) as tar:
        [image] = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        member = tar.getmember(image["Layers"][index])
        return member.offset_data, member.size


def test_a_damaged_layer_in_the_cache_is_pulled_from_the_registry_instead(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    cache_dir, entry = _warm(tmp_path, busybox_image)
    offset, size = _layer_span(entry, 0)
    with open(entry, "r+b") as file:  # flip bytes in the middle of the first layer
        file.seek(offset + size // 2)
        data = file.read(16)
        file.seek(offset + size // 2)
        file.write(bytes(b ^ 0xFF for b in data))
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN echo ok > /ok\n")
    destination = registry.ref("warmer/damaged", "1")
    run = run_executor(tmp_path, context, "--cache-dir", str(cache_dir),
                       "--destination", destination)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "from the registry instead" in line]
    assert len(warnings) == 1 and str(entry) in warnings[0], run.stderr
    # the image is the base's layers as the registry has them, and the RUN's
    pushed = json.loads(_raw_manifest(destination))
    base = json.loads(_raw_manifest(busybox_image))
    assert [layer["digest"] for layer in pushed["layers"][:-1]] == [
        layer["digest"] for layer in base["layers"]]
    pulled = pull_image(registry, destination, tmp_path / "pulled")
    last = pulled.layout / "blobs" / "sha256" / pushed["layers"][-1]["digest"].split(":", 1)[1]
    with tarfile.open(last) as run_layer:  # nothing of the damaged extraction leaked into it
        assert run_layer.getnames() == ["ok"]
    assert (pulled.rootfs / "bin" / "busybox").is_file()


def test_a_truncated_entry_is_a_miss(tmp_path: Path, registry: RunningRegistry,
                                     busybox_image: str) -> None:
    cache_dir, entry = _warm(tmp_path, busybox_image)
    offset, size = _layer_span(entry, 1)
    os.truncate(entry, offset + size // 2)
    proxy = FlakyProxy(registry.host)
    with serve(proxy.handle) as host:
        context = write_context(tmp_path / "context",
                                f"FROM {busybox_image.replace(registry.host, host)}\n")
        run = run_executor(tmp_path, context, "--cache-dir", str(cache_dir), "--no-push")
    assert run.returncode == 0, run.stderr
    assert "unusable, pulling from the registry instead" in run.stderr
    assert _all_base_blobs_fetched(proxy, registry, busybox_image)


@pytest.mark.parametrize("case", ["no-image", "unreachable", "unknown", "blob-fails"])
def test_bad_input_is_one_error_line_and_no_file(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str, case: str) -> None:
    cache_dir = tmp_path / "cache"
    proxy = FlakyProxy(registry.host, plan=[Fault("GET", "/blobs/sha256", "500", -1)])
    with serve(proxy.handle) as host:
        image = {"no-image": None,
                 "unreachable": f"127.0.0.1:{free_port()}/nothing/here:1",
                 "unknown": registry.ref("warmer/no-such-image"),
                 "blob-fails": busybox_image.replace(registry.host, host)}[case]
        run = run_warmer(tmp_path, "--cache-dir", str(cache_dir),
                         *(["--image", image] if image else []))
    assert run.returncode != 0
    assert len(_errors(run.stderr)) == 1, run.stderr
    assert _entries(cache_dir) == set()


def test_like_kanikos_warmer_it_fails_only_when_no_image_could_be_warmed(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    unknown = registry.ref("warmer/no-such-image")
    some = run_warmer(tmp_path, "--cache-dir", str(tmp_path / "some"), "-i", unknown,
                      "-i", busybox_image)
    assert some.returncode == 0, some.stderr
    assert f"could not warm {unknown}" in some.stderr
    check_entry(tmp_path / "some", _raw_manifest(busybox_image))

    none = run_warmer(tmp_path, "--cache-dir", str(tmp_path / "none"), "-i", unknown,
                      "-i", registry.ref("warmer/nor-this"))
    assert none.returncode != 0
    [error] = _errors(none.stderr)
    assert "none of the 2 images could be warmed" in error
    assert _entries(tmp_path / "none") == set()


def test_kaniko_style_flags_of_the_warmer_and_the_executor(tmp_path: Path) -> None:
    from executor import cli, warmer

    options = warmer.parse_options(["-i", "a.example/x:1", "--image=a.example/x:1", "-f",
                                    "--insecure", "--cache-ttl", "6h30m",
                                    "--custom-platform", "linux/arm64"], env={})
    assert options.images == ("a.example/x:1",) and options.force
    assert options.cache.directory == Path("/cache") and options.cache.ttl_seconds == 23400
    assert options.registry.insecure_pull and options.registry.platform == ("linux", "arm64")
    other = warmer.parse_options(["-c", str(tmp_path), "-i", "a.example/x:1", "--force=false"],
                                 env={})
    assert other.cache.directory == tmp_path and not other.force

    built = cli.parse_options(["--no-push", "--cache-dir", str(tmp_path)], env={})
    assert built.cache.dir == tmp_path and not built.cache.enabled


def test_what_a_killed_writer_left_is_swept_and_live_writers_are_not(
        tmp_path: Path, busybox_image: str) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    stale_file = cache_dir / ".sha256:0123.partial-4242-abcd"
    stale_file.write_bytes(b"half a tarball")
    stale_dir = cache_dir / f".{'0' * 64}.partial-4242-abcd"  # an oci: cache entry being written
    (stale_dir / "blobs").mkdir(parents=True)
    live = cache_dir / ".sha256:4567.partial-4343-ef01"
    live.write_bytes(b"still being written")
    an_hour_ago = time.time() - 3600
    for path in (stale_file, stale_dir):
        os.utime(path, (an_hour_ago, an_hour_ago))
    run = run_warmer(tmp_path, "--cache-dir", str(cache_dir), "--image", busybox_image)
    assert run.returncode == 0, run.stderr
    assert not stale_file.exists() and not stale_dir.exists()
    assert live.read_bytes() == b"still being written"
    assert len([p for p in cache_dir.iterdir() if not p.name.startswith(".")]) == 2  # the entry

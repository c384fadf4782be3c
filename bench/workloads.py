"""The benchmark's workloads (issue 4): base images, Dockerfiles and contexts, made reproducibly.

Every input is generated here from a fixed seed, so lamina and buildah build exactly the same thing
and two machines measure the same work.
"""

from __future__ import annotations

import dataclasses
import fcntl
import io
import os
import random
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.debian import cache_dir, push_debian
from tests.support.images import (
    make_busybox_rootfs,
    push_busybox,
    push_busybox_index,
    skopeo_push,
    write_oci_layout,
)
from tests.support.registry import RunningRegistry

__all__ = ["BaseImages", "DEFAULT_WORKLOADS", "HOST_CA_BUNDLE", "PLATFORMS", "WORKLOADS", "Workload",
           "push_bases"]

# What the image of a workload that reaches PyPI must trust: this machine's bundle, which holds the
# CA of a TLS-inspecting proxy where there is one.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PLATFORMS = ("linux/amd64", "linux/arm64")  # the multiplatform workload's


@dataclass(frozen=True)
class BaseImages:
    busybox: str
    debian: str
    bigbase: str
    hugebase: str = ""
    busybox_multi: str = ""  # an index of busybox for linux/amd64 and linux/arm64


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    dockerfile: str  # format() fields: the fields of BaseImages
    needs: tuple[str, ...]  # which base images (fields of BaseImages)
    make_context: str | None = None  # name of a context generator below
    # "once": one timed build; "cached": built twice with each builder's cache, the second timed;
    # "platforms": one build for PLATFORMS against one build per platform (bench/plans.py)
    plan: str = "once"
    network: bool = False  # reaches Debian's mirror and PyPI: gets the machine's proxy variables
    default: bool = True  # in run.py's default --workloads
    # why buildah is not run on this workload (said in the report), or "" when it is
    buildah_left_out: str = ""
    runs: int | None = None  # rounds for this workload, where --runs would take too long

    def write_context(self, directory: Path, bases: BaseImages) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        if self.make_context:
            _CONTEXTS[self.make_context](directory)
        (directory / "Dockerfile").write_text(self.dockerfile.format(**dataclasses.asdict(bases)))
        return directory


SMALL = """\
FROM {busybox}
ARG GREETING=hello
RUN echo "$GREETING" > /greeting
RUN mkdir -p /app/data && echo data > /app/data/file
RUN adduser -D -H -u 1234 bench || echo "no adduser"
ENV APP_HOME=/app
WORKDIR /app
COPY config.txt /app/config.txt
USER 1234
CMD ["cat", "/greeting"]
"""

MANYFILES = """\
FROM {debian}
RUN for d in $(seq 1 30); do mkdir -p /data/d$d && cd /data/d$d && \\
      for f in $(seq 1 1000); do echo "file $d $f" > f$f; done; done
RUN echo changed > /data/d1/f1 && rm -rf /data/d2 /usr/share/doc
RUN touch /data/d3/f3
"""

BIGCOPY = """\
FROM {busybox}
COPY data /data
RUN du -s /data > /data-size
"""

MULTISTAGE = """\
FROM {debian} AS build
RUN mkdir -p /out && cp -a /usr/bin /out/bin
FROM {debian} AS unused
RUN echo never used > /unused
FROM {busybox}
COPY --from=build /out /out
RUN ls /out/bin | wc -l > /count
"""

BIGBASE = """\
FROM {bigbase}
RUN echo one > /etc/bench-one
RUN echo two > /gen/d0/f0
"""

HUGEBASE = """\
FROM {hugebase}
RUN echo one > /etc/bench-one
RUN echo two > /huge/l1/d00/s00/f000
"""

UNUSED_STAGE = """\
FROM {busybox} AS heavy
RUN sleep 5 && dd if=/dev/urandom of=/heavy bs=1M count=200 && echo heavy stage ran
FROM {busybox}
COPY config.txt /app/config.txt
RUN echo light > /app/light
"""

# A compiler and Python wheels from the network, then the application's sources. apt reaches
# Debian's mirror over plain http (the base's sources.list); pip reaches PyPI over https, through
# this machine's proxy where it has one, so it trusts the host's CA bundle.
APP = """\
FROM {debian}
COPY host-ca.crt /usr/local/share/bench/host-ca.crt
ENV PIP_CERT=/usr/local/share/bench/host-ca.crt
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \\
      --no-install-recommends gcc libc6-dev python3-pip && rm -rf /var/lib/apt/lists/*
RUN pip install --quiet --no-cache-dir --disable-pip-version-check --break-system-packages \\
      six idna certifi
WORKDIR /app
COPY src /app/src
RUN gcc -O2 -o /usr/local/bin/app src/c/main.c && /usr/local/bin/app > /app/built.txt
"""

# The cross-compiling pattern: the first stage runs natively for every target; the final stage is
# per platform, its RUN under QEMU for arm64.
MULTIPLATFORM = """\
FROM --platform=$BUILDPLATFORM {busybox_multi} AS build
RUN mkdir /out && i=0 && while [ $i -lt 2000 ]; do echo "module $i" > /out/m$i.txt; i=$((i+1)); \\
    done && echo "built on $(uname -m)" > /out/info
FROM {busybox_multi}
ARG TARGETARCH
COPY --from=build /out /app
RUN uname -m > /arch && echo "$TARGETARCH" > /target && ls /app | wc -l > /count
"""

WORKLOADS = {
    w.name: w
    for w in (
        Workload("small", "busybox; ARG, 3 RUN, ENV, WORKDIR, COPY one file, USER, CMD", SMALL,
                 ("busybox",), "small"),
        Workload("manyfiles", "Debian minbase; RUN making 30,000 files in 30 dirs; RUN changing one "
                 "file and deleting a dir and /usr/share/doc; RUN touching one file", MANYFILES,
                 ("debian",)),
        Workload("bigcopy", "busybox; COPY 20,000 files (~300 MB, 200 dirs x 100, 200 B-60 KB, "
                 "half random half zeros); one RUN", BIGCOPY, ("busybox",), "bigcopy"),
        Workload("multistage", "Debian stage copying /usr/bin to /out, an unused stage, busybox "
                 "final stage COPY --from the first, one RUN", MULTISTAGE, ("debian", "busybox")),
        Workload("bigbase", "Debian + 250,000 small files in one layer; two RUNs changing one file "
                 "each", BIGBASE, ("bigbase",)),
        Workload("hugebase", "busybox + 1,000,000 small files in four layers of 250,000 (100 files a "
                 "directory); two RUNs changing one file each", HUGEBASE, ("hugebase",), default=False,
                 runs=1, buildah_left_out="vfs storage copies the 1,000,000-file root for every step"),
        Workload("cached", "the bigbase Dockerfile built a second time with each builder's cache "
                 "(lamina --cache with a cache repo, docker's BuildKit cache on the same daemon, "
                 "buildah --layers on the same storage); the second build is timed", BIGBASE,
                 ("bigbase",), plan="cached",
                 buildah_left_out="its cached rebuild on vfs storage took 407 s in a smoke run (its "
                 "first build 173 s), longer than the rest of the bench together"),
        Workload("unused-stage", "a stage the target does not need (RUN sleep 5, 200 MB written), "
                 "then a busybox target: COPY one file, one RUN", UNUSED_STAGE, ("busybox",), "small"),
        Workload("app", "Debian minbase; apt-get install gcc libc6-dev python3-pip; pip install "
                 "six idna certifi from PyPI; COPY of 2,000 small .py and .c files; gcc of one",
                 APP, ("debian",), "app", network=True,
                 buildah_left_out="151 s a run in a smoke run (lamina 88 s, docker 91 s); left out "
                 "to keep the bench within its time"),
        Workload("multiplatform", f"{' and '.join(PLATFORMS)}: a FROM --platform=$BUILDPLATFORM "
                 "stage making 2,000 files, a per-platform stage COPY --from it and one RUN (QEMU "
                 "for arm64); one build for both (docker 20.10: two, one a platform)", MULTIPLATFORM,
                 ("busybox_multi",), plan="platforms"),
    )
}
DEFAULT_WORKLOADS = tuple(name for name, workload in WORKLOADS.items() if workload.default)


# --- contexts -------------------------------------------------------------------------------------

def _small_context(directory: Path) -> None:
    (directory / "config.txt").write_text("answer = 42\n")


def _bigcopy_context(directory: Path) -> None:
    """20,000 files in 200 directories; sizes from 200 B to 60 KB skewed small (mean about 15 KB,
    about 300 MB in all), each file half random bytes, half zeros. Made once, then hard-linked."""
    cached = cache_dir() / "bench-bigcopy"
    if not (cached / ".complete").exists():
        rng = random.Random(4)
        for d in range(200):
            sub = cached / f"d{d:03}"
            sub.mkdir(parents=True, exist_ok=True)
            for f in range(100):
                size = 200 + int((60 * 1024 - 200) * rng.random() ** 3)
                half = size // 2
                (sub / f"f{f:03}.bin").write_bytes(rng.randbytes(half) + bytes(size - half))
        (cached / ".complete").write_text("")
    data = directory / "data"
    for dirpath, _, filenames in os.walk(cached):
        rel = os.path.relpath(dirpath, cached)
        (data / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if name != ".complete":
                os.link(os.path.join(dirpath, name), data / rel / name)


def _app_context(directory: Path) -> None:
    """The host's CA bundle and an application's sources: 1,600 Python modules in 20 packages and
    400 C files beside a main.c, 200 B to 4 KB each, from a fixed seed."""
    shutil.copyfile(HOST_CA_BUNDLE, directory / "host-ca.crt")
    rng = random.Random(2000)
    for package in range(20):
        sub = directory / "src" / f"pkg{package:02}"
        sub.mkdir(parents=True)
        (sub / "__init__.py").write_text("")
        for module in range(80):
            body = "".join(f"def f{n}(x):\n    return x * {rng.randint(1, 99)} + {n}\n\n"
                           for n in range(rng.randint(2, 60)))
            (sub / f"mod{module:03}.py").write_text(body)
    c_dir = directory / "src" / "c"
    c_dir.mkdir()
    for unit in range(399):
        body = "".join(f"int u{unit}_f{n}(int x) {{ return x * {rng.randint(1, 99)} + {n}; }}\n"
                       for n in range(rng.randint(2, 60)))
        (c_dir / f"unit{unit:03}.c").write_text(body)
    (c_dir / "main.c").write_text('#include <stdio.h>\nint main(void) { puts("app built"); return 0; }\n')


_CONTEXTS = {"small": _small_context, "bigcopy": _bigcopy_context, "app": _app_context}


# --- base images ----------------------------------------------------------------------------------

BIGBASE_FILES = 250_000


def bigbase_layer() -> Path:
    """A tar of 250,000 small files (250 dirs of 1,000, 10-200 bytes) under /gen, cached."""
    target = cache_dir() / "bench-bigbase-layer.tar"
    if target.exists():
        return target
    partial = target.with_suffix(".partial")
    rng = random.Random(250)
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tar.addfile(info)

        add_dir("gen")
        for d in range(BIGBASE_FILES // 1000):
            add_dir(f"gen/d{d}")
            for f in range(1000):
                body = rng.randbytes(rng.randint(10, 200))
                info = tarfile.TarInfo(f"gen/d{d}/f{f}")
                info.size, info.mode, info.mtime = len(body), 0o644, 1_700_000_000
                tar.addfile(info, io.BytesIO(body))
                tar.members.clear()
    partial.rename(target)
    return target


HUGEBASE_LAYERS = 4
HUGEBASE_DIRS = 50  # huge/l<layer>/d<NN>/s<NN>/f<NNN>: 50 x 50 directories of 100 files a layer
HUGEBASE_FILES_PER_DIR = 100


def _busybox_layer(path: Path, root: Path) -> None:
    """The busybox root as a layer (for the RUNs' shell), names sorted, numeric owners."""
    def numeric(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uname = info.gname = ""
        return info

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(root)):
            tar.add(root / name, arcname=name, filter=numeric)


def _hugebase_layer(path: Path, layer: int) -> None:
    """One layer of 250,000 files (10-200 random bytes) under /huge/l<layer>, written with tarfile."""
    rng = random.Random(1_000_000 + layer)
    with open(path, "wb") as out, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tar.addfile(info)

        top = f"huge/l{layer}"
        if layer == 1:
            add_dir("huge")
        add_dir(top)
        for d in range(HUGEBASE_DIRS):
            add_dir(f"{top}/d{d:02}")
            for s in range(HUGEBASE_DIRS):
                directory = f"{top}/d{d:02}/s{s:02}"
                add_dir(directory)
                for f in range(HUGEBASE_FILES_PER_DIR):
                    body = rng.randbytes(rng.randint(10, 200))
                    info = tarfile.TarInfo(f"{directory}/f{f:03}")
                    info.size, info.mode, info.mtime = len(body), 0o644, 1_700_000_000
                    tar.addfile(info, io.BytesIO(body))
                    tar.members.clear()


def hugebase_layout() -> Path:
    """An OCI layout (tag "latest") of busybox plus four layers of 250,000 small files, made once
    per machine under the cache dir (about a minute: tarfile, then gzip) and reused after."""
    layout = cache_dir() / "bench-hugebase-layout"
    if (layout / ".complete").exists():
        return layout
    with open(cache_dir() / ".hugebase.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (layout / ".complete").exists():
            return layout
        shutil.rmtree(layout, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="hugebase-", dir=cache_dir()))
        try:
            layers: list[bytes | Path] = [work / "busybox.tar"]
            _busybox_layer(work / "busybox.tar", make_busybox_rootfs(work / "busybox"))
            for layer in range(1, HUGEBASE_LAYERS + 1):
                layers.append(work / f"layer{layer}.tar")
                _hugebase_layer(work / f"layer{layer}.tar", layer)
            write_oci_layout(layout, "latest", layers, {})
            (layout / ".complete").write_text("")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return layout


def push_bases(registry: RunningRegistry, workdir: Path, needed: set[str]) -> BaseImages:
    """Push the base images the chosen workloads need (skopeo, not lamina) to ``registry``."""
    busybox = debian = bigbase = hugebase = busybox_multi = ""
    if "busybox" in needed:
        busybox = push_busybox(registry, workdir / "busybox")
    if "debian" in needed:
        debian = push_debian(registry, workdir / "debian")
    if "bigbase" in needed:
        bigbase = push_debian(registry, workdir / "bigbase", repository="bigbase",
                              extra_layers=[bigbase_layer()])
    if "hugebase" in needed:
        hugebase = skopeo_push(f"oci:{hugebase_layout()}:latest", registry, "hugebase", "latest")
    if "busybox_multi" in needed:
        busybox_multi = push_busybox_index(registry, workdir / "busybox-multi")
    return BaseImages(busybox=busybox, debian=debian, bigbase=bigbase, hugebase=hugebase,
                      busybox_multi=busybox_multi)

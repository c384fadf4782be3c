"""COPY/ADD --chmod with a symbolic mode (BuildKit's dockerfile 1.14+): applied to each copied file
and directory relative to the source's own mode, ``X`` on directories and already-executable files.
docker 20.10 cannot build this, so the expectations are BuildKit's own (``testChmodNonOctal`` in
frontend/dockerfile/dockerfile_copy_test.go: its RUN ``chmod`` in alpine gives the modes compared),
read back from the pushed image."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull
from tests.support.readback import PulledImage
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
FROM {base} AS base
COPY --chmod=go-w input/file /f1
COPY --chmod=u=rw,g=r,o=r input/file /f2
COPY --chmod=a+X input/file /f3
COPY --chmod=go-w input/dirs/d1 /
COPY --chmod=u+rw,g+r,o-x,o+w input/dirs/d2 /
COPY --chmod=a+X input/dirs/d3 /
COPY --chmod=+x input/script.sh input/file /bin-all/
ADD --chmod=u+x,g-w input/file /added
ARG MODE=a=rX
COPY --chmod=$MODE input/tree /tree/
COPY --chmod=o+rwx <<EOF /heredoc
hello
EOF
FROM {base}
COPY --from=base --chmod=u-w,go= /f2 /from-stage
"""

FILES = {"input/file": "file\n", "input/script.sh": "#!/bin/sh\n", "input/tree/sub/leaf": "leaf\n",
         "input/tree/exec": "x\n", **{f"input/dirs/{d}/{d}/inner": "in\n" for d in ("d1", "d2", "d3")}}
MODES = {"input/file": 0o666, "input/script.sh": 0o700, "input/tree/exec": 0o750, "input/tree/sub/leaf": 0o640,
         "input/tree/sub": 0o700, **{f"input/dirs/{d}/{d}": 0o124 for d in ("d1", "d2", "d3")}}


def _context_with_modes(workdir: Path) -> None:
    """The context ``build_and_pull`` fills, made first with the modes BuildKit's test gives."""
    context = workdir / "context"
    for name, content in FILES.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(content)
    for name, mode in sorted(MODES.items(), key=lambda item: -item[0].count("/")):
        (context / name).chmod(mode)


@pytest.fixture(scope="module")
def images(registry: RunningRegistry, busybox_image: str,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[PulledImage, PulledImage]:
    dockerfile = DOCKERFILE.format(base=busybox_image)
    pulled = []
    for name, flags in (("base", ("--target", "base")), ("last", ())):
        workdir = tmp_path_factory.mktemp(f"chmod-{name}")
        _context_with_modes(workdir)
        pulled.append(build_and_pull(workdir, registry, dockerfile, *flags, files=FILES)[1])
    return pulled[0], pulled[1]


def test_symbolic_modes_on_files_and_directories(images: tuple[PulledImage, PulledImage]) -> None:
    tree = images[0].tree()
    # BuildKit's testChmodNonOctal: a 0666 file, a 0124 directory
    assert tree["/f1"].mode == 0o644
    assert tree["/f2"].mode == 0o644
    assert tree["/f3"].mode == 0o666  # X: the file is executable by no one
    assert tree["/d1"].mode == 0o104
    assert tree["/d2"].mode == 0o766
    assert tree["/d3"].mode == 0o135  # X: a directory
    assert tree["/d1/inner"].mode == 0o644


def test_each_file_from_its_own_mode(images: tuple[PulledImage, PulledImage]) -> None:
    tree = images[0].tree()
    assert (tree["/bin-all/script.sh"].mode, tree["/bin-all/file"].mode) == (0o711, 0o777)
    assert tree["/added"].mode == 0o746
    assert tree["/tree/exec"].mode == 0o555  # a=rX with $MODE: the file was executable
    assert tree["/tree/sub/leaf"].mode == 0o444
    assert tree["/tree/sub"].mode == 0o555
    assert tree["/tree"].mode == 0o755  # the destination directory is made, not copied: 0755
    assert tree["/heredoc"].mode == 0o647  # a heredoc is a 0644 file
    assert tree["/heredoc"].content == b"hello\n"


def test_from_a_stage(images: tuple[PulledImage, PulledImage]) -> None:
    assert images[1].tree()["/from-stage"].mode == 0o400


def test_bad_symbolic_chmod_fails_before_the_build(tmp_path: Path, registry: RunningRegistry) -> None:
    run, _ = build(tmp_path, registry, "FROM nonexistent.invalid/x\nCOPY --chmod=u+q a /a\n", files={"a": "a"})
    assert run.returncode != 0
    assert run.error_lines == ["error: Dockerfile:2: invalid chmod parameter: 'u+q': invalid syntax (an octal "
                               "mode up to 07777, or a symbolic one such as u+x,g-w or a=rX)"]

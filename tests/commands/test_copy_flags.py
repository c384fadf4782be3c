"""COPY --parents, --exclude and --link (BuildKit), read back from the registry."""

from __future__ import annotations

import pytest

from tests.commands.support import build_and_pull
from tests.support.readback import PulledImage
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
FROM {base}
COPY --parents x/a.txt y/a.txt /parents/
COPY --parents x/*.txt /wild/
COPY --parents ./src/./lib/deep/ /pivot/
COPY --parents src/lib /dirs/
COPY --exclude=*.log --exclude=**/*.tmp src /excluded/
COPY --exclude=x/b.* x/* /top/
COPY --link x/a.txt /linked/
COPY --link --chmod=0600 src/ /linked-dir/
"""

FILES = {
    "x/a.txt": "xa\n", "x/b.txt": "xb\n", "x/c.md": "xc\n", "y/a.txt": "ya\n",
    "src/keep.txt": "keep\n", "src/drop.log": "drop\n", "src/lib/one.py": "one\n",
    "src/lib/deep/two.py": "two\n", "src/lib/deep/junk.tmp": "junk\n",
}


@pytest.fixture(scope="module")
def image(registry: RunningRegistry, busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> PulledImage:
    tmp = tmp_path_factory.mktemp("copyflags")
    for name in ("x", "src/lib"):
        (tmp / "context" / name).mkdir(parents=True, exist_ok=True)
    (tmp / "context/src/lib").chmod(0o700)
    _, pulled = build_and_pull(tmp, registry, DOCKERFILE.format(base=busybox_image), files=FILES)
    return pulled


def _files_under(image: PulledImage, prefix: str) -> dict[str, bytes | None]:
    return {path[len(prefix):]: facts.content for path, facts in image.tree().items()
            if path.startswith(prefix + "/")}


def test_parents_keeps_the_source_paths(image: PulledImage) -> None:
    assert _files_under(image, "/parents") == {"/x": None, "/x/a.txt": b"xa\n", "/y": None, "/y/a.txt": b"ya\n"}
    assert _files_under(image, "/wild") == {"/x": None, "/x/a.txt": b"xa\n", "/x/b.txt": b"xb\n"}


def test_parents_pivot_and_directories(image: PulledImage) -> None:
    assert _files_under(image, "/pivot") == {"/lib": None, "/lib/deep": None, "/lib/deep/two.py": b"two\n",
                                             "/lib/deep/junk.tmp": b"junk\n"}
    tree = image.tree()
    assert _files_under(image, "/dirs")["/src/lib/one.py"] == b"one\n"
    assert tree["/dirs/src/lib"].mode == 0o700  # the kept directory keeps its own mode
    assert tree["/pivot/lib"].mode == 0o700


def test_exclude(image: PulledImage) -> None:
    assert _files_under(image, "/excluded") == {"/keep.txt": b"keep\n", "/lib": None, "/lib/one.py": b"one\n",
                                                "/lib/deep": None, "/lib/deep/two.py": b"two\n"}
    assert _files_under(image, "/top") == {"/a.txt": b"xa\n", "/c.md": b"xc\n"}


def test_link_gives_the_same_files(image: PulledImage) -> None:
    tree = image.tree()
    assert tree["/linked/a.txt"].content == b"xa\n"
    assert tree["/linked-dir/keep.txt"].mode == 0o600
    assert _files_under(image, "/linked-dir").keys() == {
        "/keep.txt", "/drop.log", "/lib", "/lib/one.py", "/lib/deep", "/lib/deep/two.py", "/lib/deep/junk.tmp"}

"""What COPY's sources name, run as commands over a temp root (docker 20.10 cannot build --parents,
so these are BuildKit's and fsutil's own tests, ported):

- ``COPY --parents``: BuildKit's dockerfile_parents_test.go and the include-pattern table of fsutil's
  TestCopyIncludeExclude (copy/copy_test.go), matched with moby/patternmatcher, ``**`` included.
- Sources that name nothing: BuildKit copies with AllowEmptyWildcard (a wildcard may match nothing),
  fsutil's ResolveWildcards needs the directory before the wildcard, a plain path must exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from executor.commands import StageState, StepContext, command_for
from executor.commands.copy_sources import ParentsPattern
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import ShellLexer, parse_dockerfile
from executor.errors import DockerfileError


def _copy(tmp_path: Path, files: dict[str, str], lines: str, workdir: str = "/") -> Path:
    """Run the COPY lines with ``files`` as the build context; the root they copied into."""
    context, root = tmp_path / "context", tmp_path / "root"
    for name, content in files.items():
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        else:
            path.write_text(content)
    context.mkdir(exist_ok=True)
    root.mkdir(exist_ok=True)
    state = StageState(run_config={"WorkingDir": workdir})
    ctx = StepContext(root=root, files=BuildContextFiles.load(context),
                      runner=None,  # type: ignore[arg-type]  # COPY runs nothing
                      state=state, lexer=ShellLexer())
    for instruction in parse_dockerfile("FROM scratch\n" + lines).stages[0].instructions:
        command_for(instruction).execute(ctx)
    return root


def _tree(root: Path, below: str = "") -> list[str]:
    top = root / below if below else root
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            found.append(os.path.relpath(os.path.join(dirpath, name), top))
    return sorted(found)


# fsutil's TestCopyIncludeExclude, the cases with one include pattern: what Copy(src "/") leaves
FSUTIL_TREE = {"bar/foo": "foo-contents", "bar/baz/foo3": "foo3-contents", "foo2": "foo2-contents"}
FSUTIL_INCLUDES = [
    ("bar", ["bar", "bar/baz", "bar/baz/foo3", "bar/foo"]),
    ("*", ["bar", "bar/baz", "bar/baz/foo3", "bar/foo", "foo2"]),
    ("bar/foo", ["bar", "bar/foo"]),
    ("b*", ["bar", "bar/baz", "bar/baz/foo3", "bar/foo"]),
    ("bar/f*", ["bar", "bar/foo"]),
    ("bar/g*", []),
    ("b*/f*", ["bar", "bar/foo"]),
    ("b*/foo", ["bar", "bar/foo"]),
    ("b*/", ["bar", "bar/baz", "bar/baz/foo3", "bar/foo"]),
    ("bar/*/foo3", ["bar", "bar/baz", "bar/baz/foo3"]),
    ("**/foo3", ["bar", "bar/baz", "bar/baz/foo3"]),
    ("**/baz", ["bar", "bar/baz", "bar/baz/foo3"]),
    ("**/bar", ["bar", "bar/baz", "bar/baz/foo3", "bar/foo"]),
]


@pytest.mark.parametrize(("pattern", "expected"), FSUTIL_INCLUDES, ids=[p for p, _ in FSUTIL_INCLUDES])
def test_parents_match_as_fsutil_include_patterns(tmp_path: Path, pattern: str, expected: list[str]) -> None:
    root = _copy(tmp_path, FSUTIL_TREE, f"COPY --parents {pattern} /out/\n")
    assert _tree(root, "out") == expected


def test_double_star_spans_any_number_of_directories(tmp_path: Path) -> None:
    root = _copy(tmp_path, {"src/keep.txt": "", "src/a/keep.txt": "", "src/a/d/keep.txt": "",
                            "src/a/b/c/keep.txt": "", "src/a/b/c/other.txt": ""},
                 "COPY --parents src/a/**/keep.txt /dst/\n")
    assert _tree(root, "dst") == ["src", "src/a", "src/a/b", "src/a/b/c", "src/a/b/c/keep.txt",
                                  "src/a/d", "src/a/d/keep.txt", "src/a/keep.txt"]


def test_buildkit_copy_parents(tmp_path: Path) -> None:
    """testCopyParents: a path and a wildcard below WORKDIR keep their directories."""
    root = _copy(tmp_path, {"foo1/foo2/bar": "testing", "foo1/foo2/baz": "testing2"},
                 "COPY --parents foo1/foo2/bar /\nCOPY --parents foo1/foo2/ba* .\n", workdir="/test")
    assert (root / "foo1/foo2/bar").read_text() == "testing"
    assert (root / "test/foo1/foo2/bar").read_text() == "testing"
    assert (root / "test/foo1/foo2/baz").read_text() == "testing2"


# testCopyRelativeParents' tree (made there by a RUN in the base stage)
RELATIVE_TREE = {"test/a/b/c/d/e/": "", "test/a/b2/c/d/e/": "", "test/a/b/c2/d/e/": "", "test/a/b/c2/d/e2/": "",
                 "test/a/b/c/d/foo": "", "test/a/b/c/d/e/bay": "", "test/a/b2/c/d/e/bar": "",
                 "test/a/b/c2/d/e/baz": "", "test/a/b/c2/d/e2/baz": ""}
RELATIVE_CASES = {
    "middle": ("/test/a/b/./c/d", ["c/d/e", "c/d/foo"], ["a", "e"]),
    "end": ("/test/a/b/c/d/.", ["test/a/b/c/d/e", "test/a/b/c/d/foo"], []),
    "start": ("./test/a/b/c/d", ["test/a/b/c/d/e", "test/a/b/c/d/foo"], []),
    "double": ("/test/a/./b/./c", ["b/c/d/e", "b/c/d/foo"], []),
    "wildcard": ("/test/a/./*/c", ["b/c/d/e", "b2/c/d/e/bar"], []),
    "doublewildcard": ("/test/a/b*/./c/**/e", ["c/d/e", "c/d/e/bay", "c/d/e/bar"], []),
    "doubleinputs": ("/test/a/b/c*/./d/**/baz /test/a/b*/./c/**/bar",
                     ["d/e/baz", "d/e2/baz", "c/d/e/bar"], ["d/e/bay"]),
}


@pytest.mark.parametrize("target", list(RELATIVE_CASES))
def test_buildkit_copy_relative_parents(tmp_path: Path, target: str) -> None:
    """testCopyRelativeParents: ``/./`` pivots, wildcards before and after them, ``**``."""
    sources, present, absent = RELATIVE_CASES[target]
    root = _copy(tmp_path, RELATIVE_TREE, f"COPY --parents {sources} /out/\n")
    for path in present:
        assert (root / "out" / path).exists(), path
    for path in absent:
        assert not (root / "out" / path).exists(), path


@pytest.mark.parametrize(("sources", "present", "absent"), [
    ("/test/a/b/c/d", ["test/a/b/c/d/e", "test/a/b/c/d/e/bay"], ["e", "a"]),  # normal
    ("/test/a/b/./c/d", ["c/d/e", "c/d/foo"], ["a", "e"]),  # withpivot
    ("/test/a/b2*/c", [""], ["a"]),  # wildcard-nonexistent: /out is made all the same
    ("/test/a/b/./c2*", [""], ["a", "c"]),  # wildcard-afterpivot
])
def test_buildkit_copy_parents_missing_directory(tmp_path: Path, sources: str, present: list[str],
                                                 absent: list[str]) -> None:
    """testCopyParentsMissingDirectory: a wildcard may match nothing, the destination is made."""
    tree = {"test/a/b/c/d/e/bay": "", "test/a/b/c/d/foo": ""}
    root = _copy(tmp_path, tree, f"COPY --parents {sources} /out/\n")
    for path in present:
        assert (root / "out" / path).exists(), path
    for path in absent:
        assert not (root / "out" / path).exists(), path


def test_parents_path_without_wildcard_must_exist(tmp_path: Path) -> None:
    """testCopyParentsMissingDirectory's nonexistentfile: BuildKit's RequiredPaths."""
    with pytest.raises(DockerfileError, match="'/test/nonexistent-file' not found"):
        _copy(tmp_path, {"test/a.txt": ""}, "COPY --parents /test/nonexistent-file /out/\n")


def test_parents_keeps_links_found_below_the_pivot_as_links(tmp_path: Path) -> None:
    context = tmp_path / "context"
    (context / "d").mkdir(parents=True)
    os.symlink("/etc", context / "d" / "link")
    root = _copy(tmp_path, {}, "COPY --parents d/* /out/\n")
    assert os.readlink(root / "out/d/link") == "/etc"


def test_parents_cache_covers_what_the_pattern_can_match() -> None:
    assert ParentsPattern.parse("src/a/**/keep.txt").searched() == "src/a"
    assert ParentsPattern.parse("/test/a/b*/./c/**/e").searched() == "test/a/b*/c"
    assert ParentsPattern.parse("**/x").searched() == ""
    assert ParentsPattern.parse("x/a.txt").searched() == "x/a.txt"


def test_wildcard_matching_nothing_copies_nothing(tmp_path: Path) -> None:
    root = _copy(tmp_path, {"context/foo/f.txt": "f", "context/bar/x.txt": "x", "a.txt": "a"},
                 "COPY context/bar/none* context/foo hello\nCOPY context/none* /nothing/\n"
                 "COPY a.txt/* /below-a-file/\n")
    assert _tree(root) == ["hello", "hello/f.txt"]


@pytest.mark.parametrize("sources", ["context/doesnotexist context/foo", "context/nodir/* context/foo"])
def test_missing_path_or_wildcard_directory_is_an_error(tmp_path: Path, sources: str) -> None:
    with pytest.raises(DockerfileError, match="not found in the build context"):
        _copy(tmp_path, {"context/foo/f.txt": "f"}, f"COPY {sources} /dst/\n")

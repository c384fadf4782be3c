""".dockerignore matching against moby's patternmatcher / ignorefile tests, and the context walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.dockerfile import DockerIgnore, DockerignoreError
from executor.dockerfile.dockerignore import go_clean_path

EXACT, INEXACT, FAIL = "exact", "inexact", "fail"

# patternmatcher_test.go TestMatches: (pattern, path, result). "inexact" matches only through a parent.
MATCHES = [
    ("**", "file", EXACT),
    ("**", "file/", EXACT),
    ("**/", "file", EXACT),
    ("**/", "file/", EXACT),
    ("**", "/", EXACT),
    ("**/", "/", EXACT),
    ("**", "dir/file", EXACT),
    ("**/", "dir/file", EXACT),
    ("**", "dir/file/", EXACT),
    ("**/", "dir/file/", EXACT),
    ("**/**", "dir/file", EXACT),
    ("**/**", "dir/file/", EXACT),
    ("dir/**", "dir/file", EXACT),
    ("dir/**", "dir/file/", EXACT),
    ("dir/**", "dir/dir2/file", EXACT),
    ("dir/**", "dir/dir2/file/", EXACT),
    ("**/dir", "dir", EXACT),
    ("**/dir", "dir/file", INEXACT),
    ("**/dir2/*", "dir/dir2/file", EXACT),
    ("**/dir2/*", "dir/dir2/file/", INEXACT),
    ("**/dir2/**", "dir/dir2/dir3/file", EXACT),
    ("**/dir2/**", "dir/dir2/dir3/file/", EXACT),
    ("**file", "file", EXACT),
    ("**file", "dir/file", EXACT),
    ("**/file", "dir/file", EXACT),
    ("**file", "dir/dir/file", EXACT),
    ("**/file", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file.txt", EXACT),
    ("**/file*txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt*", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt2", "dir/dir/file.txt", FAIL),
    ("**/*.txt", "file.txt", EXACT),
    ("**/**/*.txt", "file.txt", EXACT),
    ("a**/*.txt", "a/file.txt", EXACT),
    ("a**/*.txt", "a/dir/file.txt", EXACT),
    ("a**/*.txt", "a/dir/dir/file.txt", EXACT),
    ("a/*.txt", "a/dir/file.txt", FAIL),
    ("a/*.txt", "a/file.txt", EXACT),
    ("a/*.txt**", "a/file.txt", EXACT),
    ("a[b-d]e", "ae", FAIL),
    ("a[b-d]e", "ace", EXACT),
    ("a[b-d]e", "aae", FAIL),
    ("a[^b-d]e", "aze", EXACT),
    (".*", ".foo", EXACT),
    (".*", "foo", FAIL),
    ("abc.def", "abcdef", FAIL),
    ("abc.def", "abc.def", EXACT),
    ("abc.def", "abcZdef", FAIL),
    ("abc?def", "abcZdef", EXACT),
    ("abc?def", "abcdef", FAIL),
    ("**/foo/bar", "foo/bar", EXACT),
    ("**/foo/bar", "dir/foo/bar", EXACT),
    ("**/foo/bar", "dir/dir2/foo/bar", EXACT),
    ("abc/**", "abc", FAIL),
    ("abc/**", "abc/def", EXACT),
    ("abc/**", "abc/def/ghi", EXACT),
    ("**/.foo", ".foo", EXACT),
    ("**/.foo", "bar.foo", FAIL),
    ("a(b)c/def", "a(b)c/def", EXACT),
    ("a(b)c/def", "a(b)c/xyz", FAIL),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", EXACT),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("a\\\\", "a\\", EXACT),
    ("a\\*b", "a*b", EXACT),
]

MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", FAIL),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", EXACT),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
]  # fmt: skip


def ignore(*lines: str) -> DockerIgnore:
    return DockerIgnore.parse("\n".join(lines))


@pytest.mark.parametrize(("pattern", "path", "result"), MATCHES)
def test_moby_matches_table(pattern: str, path: str, result: str) -> None:
    matcher = ignore(pattern)
    # moby runs these on the raw path (trailing slash kept); excludes() cleans it first, which is
    # what the context walk hands it, so compare the pattern primitive directly as well.
    (compiled,) = matcher.patterns
    assert compiled.matches(path) is (result == EXACT)
    assert compiled.matches_or_parent_matches(path) is (result != FAIL)


@pytest.mark.parametrize(("patterns", "path", "result"), MULTI)
def test_moby_multi_pattern_table(patterns: list[str], path: str, result: str) -> None:
    assert ignore(*patterns).excludes(path) is (result != FAIL)


# Go's filepath.Match tests as run by patternmatcher's TestMatch (Matches(file, [pattern])).
GO_MATCH = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", True),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
]
GO_BAD_PATTERNS = ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "["]


@pytest.mark.parametrize(("pattern", "path", "matched"), GO_MATCH)
def test_go_filepath_match_table(pattern: str, path: str, matched: bool) -> None:
    # Matches() is the deprecated single-parent variant; for these one- and two-level paths it
    # agrees with MatchesOrParentMatches, which is what excludes() implements.
    assert ignore(pattern).excludes(path) is matched


@pytest.mark.parametrize("pattern", GO_BAD_PATTERNS)
def test_bad_patterns_are_errors_with_the_line(pattern: str) -> None:
    with pytest.raises(DockerignoreError) as excinfo:
        DockerIgnore.parse(f"ok\n# comment\n{pattern}\n")
    assert excinfo.value.line == 3
    assert str(excinfo.value).startswith(".dockerignore:3: ")


def test_lone_exclamation_is_an_error() -> None:
    for text in ("!", "! ", "a\n!"):
        with pytest.raises(DockerignoreError, match="illegal exclusion pattern"):
            DockerIgnore.parse(text)


def test_read_all_cleaning() -> None:
    # ignorefile_test.go TestReadAll, minus the "!" lines that New() rejects.
    text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n"
    matcher = DockerIgnore.parse("\ufeff" + text)
    assert [(p.text, p.exception) for p in matcher.patterns] == [
        ("test1", False),
        ("test2", False),
        ("a/file/here", False),
        ("lastfile", False),
        ("inverted/abs/path", True),
    ]
    assert [p.line for p in matcher.patterns] == [1, 2, 3, 5, 7]
    assert [p.text for p in DockerIgnore.parse("./a/../b/\n  c//d/.  \r\n #notacomment\n").patterns] == [
        "b",
        "c/d",
        "#notacomment",
    ]


def test_exceptions_and_order() -> None:
    assert ignore("*.go", "!fileutils.go").excludes("fileutils.go") is False
    assert ignore("!fileutils.go", "*.go").excludes("fileutils.go") is True
    for patterns in (("docs", "!docs/README.md"), ("docs/", "!docs/README.md"), ("docs/*", "!docs/README.md")):
        matcher = ignore(*patterns)
        assert matcher.excludes("docs/README.md") is False
        assert matcher.excludes("docs/other.md") is True
    assert ignore("*").excludes(".") is False  # the context root is never excluded
    assert ignore().excludes("anything") is False
    assert ignore("docs").excludes("docs/a/b/c") is True
    assert ignore("docs", "!docs/a").excludes("docs/a/b/c") is False


def test_may_descend_only_where_an_exception_can_match() -> None:
    matcher = ignore("node_modules", "build", "!build/keep", "!**/*.keep", "vendor", "!vendor/*/LICENSE")
    assert matcher.may_descend("src") is True  # not excluded
    assert matcher.may_descend("build") is True
    assert matcher.may_descend("node_modules") is True  # **/*.keep could match below it
    plain = ignore("node_modules", "build", "!build/keep", "vendor", "!vendor/*/LICENSE")
    assert plain.may_descend("node_modules") is False
    assert plain.may_descend("build") is True
    assert plain.may_descend("build/other") is False
    assert plain.may_descend("vendor/x") is True
    assert plain.may_descend("vendor/x/y") is False


def make_tree(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rel)


def test_walk_context_yields_included_entries_and_needed_parents(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        ["Dockerfile", "src/main.go", "src/main_test.go", "build/out.bin", "build/keep/a.txt", "build/keep/sub/b.txt",
         "node_modules/x/index.js", "docs/", ".git/HEAD", ".dockerignore"],
    )  # fmt: skip
    (tmp_path / ".dockerignore").write_text("**/*_test.go\nbuild\n!build/keep\nnode_modules\n.git\ndocs\n")
    matcher = DockerIgnore.load(tmp_path)
    assert list(matcher.walk_context(tmp_path)) == [
        ".dockerignore",
        "Dockerfile",
        "build",  # excluded itself, sent as the parent of build/keep
        "build/keep",
        "build/keep/a.txt",
        "build/keep/sub",
        "build/keep/sub/b.txt",
        "src",
        "src/main.go",
    ]


def test_walk_context_without_dockerignore(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a/b/c", "d"])
    matcher = DockerIgnore.load(tmp_path)
    assert matcher.patterns == ()
    assert list(matcher.walk_context(tmp_path)) == ["a", "a/b", "a/b/c", "d"]


def test_walk_context_does_not_follow_symlinks(tmp_path: Path) -> None:
    make_tree(tmp_path, ["real/file"])
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert list(DockerIgnore().walk_context(tmp_path)) == ["link", "real", "real/file"]


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [("", "."), ("/", "/"), ("//a//b/", "/a/b"), ("a/./b/../c", "a/c"), ("../a", "../a"), ("/../a", "/a"), ("a/..", ".")],
)
def test_go_clean_path(path: str, cleaned: str) -> None:
    assert go_clean_path(path) == cleaned

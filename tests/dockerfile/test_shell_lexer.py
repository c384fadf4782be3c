"""ShellLexer against BuildKit's own tables (envVarTest, wordsTest, lex_test.go) and Docker's docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.dockerfile import DockerfileError, ShellExpansionError, ShellLexer
from executor.dockerfile.shell_lexer import _reverse_pattern, _shell_pattern_to_regex

DATA = Path(__file__).parent / "data"
ENV_VAR_TEST_ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _env_var_cases() -> list[tuple[int, str, str]]:
    cases = []
    for number, raw in enumerate((DATA / "envVarTest").read_text(encoding="utf-8").splitlines(), start=1):
        if raw.startswith("#") or not raw.strip():
            continue
        platform, source, expected = (part.strip() for part in raw.strip().split("|"))
        if platform in ("A", "U"):  # W rows are Windows-only (case-insensitive env)
            cases.append((number, source, expected))
    return cases


@pytest.mark.parametrize(("number", "source", "expected"), _env_var_cases())
def test_buildkit_env_var_table(number: int, source: str, expected: str) -> None:
    lexer = ShellLexer("\\")
    if expected == "error":
        with pytest.raises(ShellExpansionError):
            lexer.process_word(source, ENV_VAR_TEST_ENV)
    else:
        assert lexer.process_word(source, ENV_VAR_TEST_ENV) == expected, f"envVarTest line {number}"


# BuildKit's wordsTest: ENV lines accumulate into the environment for the rows below them.
WORDS_TABLE: list[tuple[dict[str, str], str, list[str] | None]] = [
    ({}, "hello", ["hello"]),
    ({}, "hello${hi}bye", ["hellobye"]),
    ({"hi": "hi"}, "hello${hi}bye", ["hellohibye"]),
    ({"space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]),
    ({"space": "abc  def"}, 'hello"${space}"bye', ["helloabc  defbye"]),
    ({"space": "abc  def"}, 'hello "${space}"bye', ["hello", "abc  defbye"]),
    ({"leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]),
    ({"leading": "  ab c"}, 'hello"${leading}" def', ["hello  ab c", "def"]),
    ({"leading": "  ab c"}, 'hello"${leading}"', ["hello  ab c"]),
    ({"leading": "  ab c"}, "hello${leading}", ["hello", "ab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}", ["helloab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]),
    ({"trailing": "ab c   "}, 'hello"${trailing}"d', ["helloab c   d"]),
    ({"trailing": "ab c   "}, 'hel"lo${trailing}"', ["helloab c   "]),
    ({}, 'hello" there  "', ["hello there  "]),
    ({}, "hello there     ", ["hello", "there"]),
    ({}, "hello\\ there", ["hello there"]),
    ({}, 'hello" there', None),
    ({}, 'hello\\" there', ['hello"', "there"]),
    ({}, 'hello"\\" there"', ['hello" there']),
    ({}, "hello > there", ["hello", ">", "there"]),
    ({}, '""', []),
    ({}, "a '' b", ["a", "b"]),
]


@pytest.mark.parametrize(("env", "text", "expected"), WORDS_TABLE)
def test_buildkit_words_table(env: dict[str, str], text: str, expected: list[str] | None) -> None:
    lexer = ShellLexer()
    if expected is None:
        with pytest.raises(ShellExpansionError):
            lexer.process_words(text, env)
    else:
        assert lexer.process_words(text, env) == expected


# lex_test.go TestProcessWithMatches: (input, env, expected or None for an error)
MATCHES_TABLE: list[tuple[str, dict[str, str], str | None]] = [
    ("x", {"DUMMY": "dummy"}, "x"),
    ("x ${UNUSED}", {"DUMMY": "dummy"}, "x "),
    ("x ${FOO}", {"FOO": "y"}, "x y"),
    ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc"),
    ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc"),
    ("${FOO:-}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${FOO:-}", {}, ""),
    ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa bbb "),
    ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  "),
    ("${FOO?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${BAR?bbb}", {"FOO": "xxx", "BAR": ""}, ""),
    ("${BAZ?ccc}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO:?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${BAR:?bbb}", {"FOO": "xxx", "BAR": ""}, None),
    ("${BAZ:?ccc}", {"FOO": "xxx", "BAR": ""}, None),
    ("${BAZ:?}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO=aaa}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO=:aaa}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO=}", {}, None),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x"),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx"),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y"),
    ("${FOO#*}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO#}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy"),
    ("${FOO##}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y"),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy."),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a"),
    ("${FOO%}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO%%$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"}, "/foo.*/*.txt - /foo..*.txt"),
    ("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"}, "/tmp/bar.txt - /bar.txt"),
    (
        "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
        {"FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"},
        "/foo/b/c.txt - /foo/c.txt",
    ),
    (
        "${FOO/$NEEDLE/$REPLACEMENT}",
        {"FOO": "http://google.de", "NEEDLE": "http://", "REPLACEMENT": "https://"},
        "https://google.de",
    ),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt"),
    ("${FOO/$BAR/ww}", {"FOO": "xxyy", "BAR": ""}, "wwxxyy"),
    ("${FOO//ww}", {"FOO": "xxyy"}, None),
    ("${FOO//}", {"FOO": "xxyy"}, None),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO///}", {}, ""),
]


@pytest.mark.parametrize(("text", "env", "expected"), MATCHES_TABLE)
def test_buildkit_process_with_matches_table(text: str, env: dict[str, str], expected: str | None) -> None:
    lexer = ShellLexer()
    if expected is None:
        with pytest.raises(ShellExpansionError):
            lexer.process_word(text, env)
    else:
        assert lexer.process_word(text, env) == expected


def test_mandatory_variables_carry_the_message() -> None:
    lexer = ShellLexer()
    no_empty, no_unset = "${VAR:?message here$ARG}", "${VAR?message here$ARG}"
    assert lexer.process_word(no_empty, {"VAR": "plain", "ARG": "x"}) == "plain"
    for env in ({"VAR": "", "ARG": "x"}, {"ARG": "x"}):
        with pytest.raises(ShellExpansionError, match="message herex"):
            lexer.process_word(no_empty, env)
    assert lexer.process_word(no_unset, {"VAR": "plain", "ARG": "x"}) == "plain"
    assert lexer.process_word(no_unset, {"VAR": "", "ARG": "x"}) == ""
    with pytest.raises(ShellExpansionError, match="message herex"):
        lexer.process_word(no_unset, {"ARG": "x"})
    with pytest.raises(ShellExpansionError, match="VAR: is not allowed to be unset"):
        lexer.process_word("${VAR?}", {})
    with pytest.raises(ShellExpansionError, match="VAR: is not allowed to be empty"):
        lexer.process_word("${VAR:?}", {"VAR": ""})


def test_release_file_name_with_optional_variant() -> None:
    lexer = ShellLexer()
    word = "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz"
    base = {"VERSION": "v1.2.3", "TARGETOS": "linux"}
    assert lexer.process_word(word, base | {"TARGETARCH": "arm", "TARGETVARIANT": "v7"}) == (
        "something-v1.2.3.linux-arm-v7.tar.gz"
    )
    assert lexer.process_word(word, base | {"TARGETARCH": "arm64", "TARGETVARIANT": ""}) == (
        "something-v1.2.3.linux-arm64.tar.gz"
    )
    assert lexer.process_word(word, base | {"TARGETARCH": "arm64"}) == "something-v1.2.3.linux-arm64.tar.gz"


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("*", "^.*"),
        ("?", "^."),
        ("\\*", "^\\*"),
    ],
)
def test_shell_pattern_to_regex(pattern: str, regex: str) -> None:
    assert _shell_pattern_to_regex(pattern, greedy=True, anchored=True).pattern == regex


def test_shell_pattern_escapes_regex_specials_and_rejects_bad_escapes() -> None:
    regex = _shell_pattern_to_regex("(()[]{\\}^$.\\*\\?|\\\\", greedy=True, anchored=True)
    assert regex.fullmatch("(()[]{}^$.*?|\\")
    for bad in ("\\", "\\x", "\\\\\\"):
        with pytest.raises(ShellExpansionError):
            _shell_pattern_to_regex(bad, greedy=True, anchored=True)


@pytest.mark.parametrize(
    ("pattern", "reversed_"),
    [("a\\*c", "c\\*a"), ("\\\\\\ab", "b\\a\\\\"), ("ab\\", "\\ba"), ("👽\\🚀🖖", "🖖\\🚀👽"), ("\\\\b", "b\\\\")],
)
def test_reverse_pattern(pattern: str, reversed_: str) -> None:
    assert _reverse_pattern(pattern) == reversed_


@pytest.mark.parametrize(
    ("word", "env", "expected"),
    [
        # docs.docker.com "Environment replacement"
        ("${variable:-word}", {}, "word"),
        ("${variable:-word}", {"variable": "set"}, "set"),
        ("${variable:+word}", {"variable": "set"}, "word"),
        ("${variable:+word}", {}, ""),
        ("\\$foo", {"foo": "bar"}, "$foo"),
        ("\\${foo}", {"foo": "bar"}, "${foo}"),
        ("${foo}_bar", {"foo": "/bar"}, "/bar_bar"),
        ("$foo_bar", {"foo": "/bar", "foo_bar": "x"}, "x"),
        ("${foo#/}", {"foo": "/bar/baz"}, "bar/baz"),
        ("${foo##*/}", {"foo": "/usr/local/bin/app"}, "app"),
        ("${foo%/*}", {"foo": "/usr/local/bin/app"}, "/usr/local/bin"),
        ("${foo%%/*}", {"foo": "usr/local/bin/app"}, "usr"),
        ("${foo/a/b}", {"foo": "aaa"}, "baa"),
        ("${foo//a/b}", {"foo": "aaa"}, "bbb"),
        ("${foo//a/<$0>}", {"foo": "aXa", "0": ""}, "<>X<>"),  # $0 is expanded by the lexer first
        ("${foo//a/<\\$0>}", {"foo": "aXa"}, "<\\a>X<\\a>"),  # then Go's ReplaceAllString sees $0
        ("${foo//x*/-}", {"foo": "axxb"}, "a-"),
        ("$$", {}, ""),
        ("$", {}, "$"),
        ("a$", {}, "a$"),
        ("${1}x", {"1": "one"}, "onex"),
    ],
)
def test_documented_and_extra_substitutions(word: str, env: dict[str, str], expected: str) -> None:
    assert ShellLexer().process_word(word, env) == expected


def test_backtick_escape_token() -> None:
    lexer = ShellLexer("`")
    assert lexer.process_word("`$foo", {"foo": "x"}) == "$foo"
    assert lexer.process_word("c:\\path\\$foo", {"foo": "x"}) == "c:\\path\\x"
    assert lexer.process_word('"a`"b"', {}) == 'a"b'
    assert lexer.process_words("a` b c", {}) == ["a b", "c"]


def test_empty_match_replacement_follows_go_not_python() -> None:
    # re.sub(".*", "-", "axb") gives "--"; Go skips the empty match right after a match.
    assert ShellLexer().process_word("${v//*/-}", {"v": "axb"}) == "-"
    assert ShellLexer().process_word("${v//?/-}", {"v": "axb"}) == "---"


def test_errors_are_dockerfile_errors_located_by_the_caller() -> None:
    lexer = ShellLexer()
    with pytest.raises(DockerfileError) as excinfo:
        lexer.process_word("${FOO", {}, line=7)
    assert str(excinfo.value).startswith("Dockerfile:7: failed to process")
    assert "missing '}'" in str(excinfo.value)
    assert excinfo.value.line == 7
    with pytest.raises(ShellExpansionError) as again:
        lexer.process_word("'abc", {})
    moved = again.value.at(3, "Containerfile")
    assert str(moved).startswith("Containerfile:3: ")
    assert moved.line == 3


def test_bad_substitutions_are_errors() -> None:
    lexer = ShellLexer()
    for word in ("${}", "${VAR", "${VAR:x}", "${VAR:=x}", "\"abc", "'abc", "${:-a}", "${VAR#\\x}"):
        with pytest.raises(ShellExpansionError):
            lexer.process_word(word, {"VAR": "v"})


def test_raw_modes_used_for_heredoc_detection() -> None:
    raw = ShellLexer(raw_quotes=True, skip_unset_env=True)
    assert raw.process_words('<<"EOF" $UNSET ${X:-y}', {}) == ['<<"EOF"', "$UNSET", "${X:-y}"]


def test_unknown_escape_token_is_rejected() -> None:
    with pytest.raises(ValueError):
        ShellLexer("^")

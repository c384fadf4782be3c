"""ENV / LABEL / ARG pairs: forms, quoting, substitution with the environment before the instruction."""

from __future__ import annotations

import pytest

from executor.dockerfile import (
    DockerfileError,
    ShellExpansionError,
    parse_arg,
    parse_chmod,
    parse_chown,
    parse_env,
    parse_label,
    split_key_values,
)
from executor.dockerfile.keyvalue import split_words


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("A=1", [("A", "1")]),
        ('A="two words" B=three', [("A", "two words"), ("B", "three")]),
        ("A=two\\ words", [("A", "two words")]),
        ("A='$NOT' B=\"$HOME\"", [("A", "$NOT"), ("B", "/root")]),
        ("A=", [("A", "")]),
        ('A=""', [("A", "")]),
        ("KEY value with  spaces", [("KEY", "value with  spaces")]),  # the legacy form
        ('KEY "quoted  value" tail', [("KEY", "quoted  value tail")]),
        ("KEY $HOME/bin", [("KEY", "/root/bin")]),
        ("PATH=$PATH:/opt/bin", [("PATH", "/usr/bin:/opt/bin")]),
        ("${NAME}=x", [("app", "x")]),
        ('A=a\\"b', [("A", 'a"b')]),
        ("A=1 \\\n B=2".replace(" \\\n", ""), [("A", "1"), ("B", "2")]),
    ],
)
def test_env_forms(args: str, expected: list[tuple[str, str]]) -> None:
    env = {"HOME": "/root", "PATH": "/usr/bin", "NAME": "app"}
    assert parse_env(args, env) == expected


def test_env_uses_the_environment_before_the_instruction() -> None:
    # docs.docker.com: "ENV abc=bye def=$abc" gives def=hello when abc was hello before.
    assert parse_env("abc=bye def=$abc", {"abc": "hello"}) == [("abc", "bye"), ("def", "hello")]
    assert parse_env("a=1 b=$a", {}) == [("a", "1"), ("b", "")]


def test_label_with_quotes_spaces_and_legacy_form() -> None:
    assert parse_label('"com.example.vendor"="ACME Inc" version=1.0 desc="a \\"quoted\\" word"', {}) == [
        ("com.example.vendor", "ACME Inc"),
        ("version", "1.0"),
        ("desc", 'a "quoted" word'),
    ]
    assert parse_label("maintainer Jane Doe <j@d.example>", {}) == [("maintainer", "Jane Doe <j@d.example>")]
    assert parse_label("multi.label1=\"value1\" multi.label2='value 2'", {}) == [
        ("multi.label1", "value1"),
        ("multi.label2", "value 2"),
    ]


def test_arg_forms() -> None:
    assert parse_arg("NAME", {}) == [("NAME", None)]
    assert parse_arg("NAME=default", {}) == [("NAME", "default")]
    assert parse_arg('A B=2 C="x y" D=', {}) == [("A", None), ("B", "2"), ("C", "x y"), ("D", "")]
    assert parse_arg("V=${BASE:-1}.0", {"BASE": "3"}) == [("V", "3.0")]


def test_backtick_escape_in_pairs() -> None:
    assert parse_env("A=x` y B=`$z", {"z": "Z"}, escape="`") == [("A", "x y"), ("B", "$z")]


def test_errors_carry_the_line() -> None:
    with pytest.raises(DockerfileError, match=r"^Dockerfile:4: ENV must have two arguments"):
        parse_env("ONLYKEY", {}, line=4)
    with pytest.raises(DockerfileError, match="can't find ="):
        parse_env("A=1 B", {}, line=4)
    with pytest.raises(DockerfileError, match="LABEL names can not be blank"):
        parse_label("=v", {}, line=4)
    with pytest.raises(ShellExpansionError) as excinfo:
        parse_env('A="unterminated', {}, line=9)
    assert excinfo.value.line == 9
    with pytest.raises(ShellExpansionError, match="REQUIRED: set it"):
        parse_arg('X="${REQUIRED:?set it}"', {}, line=2)
    with pytest.raises(ShellExpansionError, match="missing '}'"):
        parse_arg("X=${REQUIRED:?set it}", {}, line=2)  # unquoted, the space splits the pair (as in Docker)


def test_raw_split_keeps_quotes_for_later_expansion() -> None:
    assert split_key_values('A="x y" B=$C', "ENV") == [("A", '"x y"'), ("B", "$C")]
    assert split_words("a 'b c' d\\ e \"f\\\" g\"") == ["a", "'b c'", "d\\ e", '"f\\" g"']


def test_chown_and_chmod() -> None:
    chown = parse_chown("app:staff")
    assert (chown.user, chown.group, chown.uid, chown.gid) == ("app", "staff", None, None)
    numeric = parse_chown("1000")
    assert (numeric.uid, numeric.group, numeric.gid) == (1000, None, None)
    assert parse_chown("10:20").gid == 20
    for bad in ("", ":grp", "user:"):
        with pytest.raises(DockerfileError):
            parse_chown(bad, line=3)
    assert parse_chmod("0755").mode_for(0o644, is_dir=False) == 0o755
    assert parse_chmod("4755").octal == 0o4755
    assert parse_chmod("u+x").mode_for(0o644, is_dir=False) == 0o744  # symbolic: see test_chmod.py
    for bad in ("u+q", "0888", "", "17777", "0o755"):
        with pytest.raises(DockerfileError, match="invalid chmod parameter"):
            parse_chmod(bad, line=3)

"""parse_dockerfile: instructions, flags, forms, continuations, directives and located errors."""

from __future__ import annotations

import io

import pytest
from dockerfile_parse import DockerfileParser

from executor.dockerfile import (
    DockerfileError,
    Instruction,
    health_config,
    parse_dockerfile,
    parse_instruction,
)


def only_stage(text: str) -> list[Instruction]:
    df = parse_dockerfile(text)
    assert len(df.stages) == 1
    return df.stages[0].instructions


def error_of(text: str, name: str = "Dockerfile") -> DockerfileError:
    with pytest.raises(DockerfileError) as excinfo:
        parse_dockerfile(text, name)
    return excinfo.value


# -- every instruction kind --------------------------------------------------------------------


def test_every_instruction_kind() -> None:
    text = """\
FROM alpine:3.19
MAINTAINER someone
RUN apk add curl
CMD ["sh", "-c", "echo hi"]
LABEL a=b
EXPOSE 80/tcp 443
ENV A=1
ADD https://example.com/x /x
COPY a b /dst/
ENTRYPOINT ["/entry"]
VOLUME /data /logs
USER app:app
WORKDIR /app
ARG V=1
ONBUILD RUN make
STOPSIGNAL SIGTERM
HEALTHCHECK NONE
SHELL ["/bin/bash", "-c"]
"""
    instructions = only_stage(text)
    assert [i.keyword for i in instructions] == [
        "MAINTAINER", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
        "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    ]  # fmt: skip
    assert [i.line for i in instructions] == list(range(2, 19))
    by_keyword = {i.keyword: i for i in instructions}
    assert by_keyword["EXPOSE"].words == ["80/tcp", "443"]
    assert by_keyword["COPY"].words == ["a", "b", "/dst/"]
    assert by_keyword["VOLUME"].words == ["/data", "/logs"]
    assert by_keyword["USER"].words == ["app:app"]
    assert by_keyword["SHELL"].json == ["/bin/bash", "-c"]
    assert by_keyword["ONBUILD"].args == "RUN make"
    trigger = by_keyword["ONBUILD"].trigger
    assert trigger is not None and trigger.keyword == "RUN" and trigger.args == "make"
    assert by_keyword["RUN"].original == "RUN apk add curl"


def test_keywords_are_case_insensitive() -> None:
    (run, copy) = only_stage("from alpine as Builder\nrun echo hi\nCoPy --FROM=x a b\n".replace("--FROM", "--from"))
    assert run.keyword == "RUN" and run.args == "echo hi"
    assert copy.keyword == "COPY" and copy.flag("from") == "x"
    assert parse_dockerfile("from alpine AS Builder\n").stages[0].name == "builder"


# -- exec (JSON) form versus shell form -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "json"),
    [
        ('CMD ["echo", "hi"]', ["echo", "hi"]),
        ("CMD []", []),
        ('CMD  [ "a" ]  ', ["a"]),
        ('RUN ["sh", "-c", "echo \\"q\\""]', ["sh", "-c", 'echo "q"']),
        ("CMD ['single', 'quotes']", None),  # not JSON: the shell form
        ('CMD ["unterminated"', None),
        ('CMD echo ["x"]', None),
        ('ENTRYPOINT ["a"] extra', None),
        ("CMD [NaN]", None),
        ('VOLUME ["/a b"]', ["/a b"]),
        ('COPY ["a b", "c"]', ["a b", "c"]),
    ],
)
def test_json_form_detection(line: str, json: list[str] | None) -> None:
    (instruction,) = only_stage(f"FROM scratch\n{line}\n")
    assert instruction.json == json
    assert instruction.is_exec_form is (json is not None)
    if json is None:
        assert instruction.words == ([instruction.args] if instruction.keyword != "COPY" else instruction.words)


def test_json_array_of_non_strings_is_an_error() -> None:
    err = error_of('FROM scratch\n\nCMD ["a", 1]\n')
    assert err.line == 3
    assert "arrays must be comprised of strings only" in str(err)


def test_json_form_keeps_shell_form_for_other_instructions() -> None:
    (env,) = only_stage('FROM scratch\nENV ["a", "b"]\n'.replace('["a", "b"]', 'X=["a","b"]'))
    assert env.json is None


# -- flags -------------------------------------------------------------------------------------


def test_flags_repeatable_boolean_and_quoted() -> None:
    run, copy, add = only_stage(
        "FROM scratch\n"
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=x --network=none make\n"
        'COPY --link --chown="app user:grp" --exclude=*.md --exclude=*.txt src/ /dst/\n'
        "ADD --keep-git-dir=false --checksum=sha256:abc https://x/y /y\n"
    )
    assert run.flag_values("mount") == ["type=cache,target=/root/.cache", "type=secret,id=x"]
    assert run.flag("network") == "none"
    assert run.args == "make"
    assert copy.flags == {"link": ["true"], "chown": ["app user:grp"], "exclude": ["*.md", "*.txt"]}
    assert copy.flag_is_true("link")
    assert copy.words == ["src/", "/dst/"]
    assert add.flag("keep-git-dir") == "false" and not add.flag_is_true("keep-git-dir")
    assert add.flag("checksum") == "sha256:abc"


def test_double_dash_ends_flags() -> None:
    (run,) = only_stage("FROM scratch\nRUN -- --not-a-flag\n")
    assert run.flags == {}
    assert run.args == "--not-a-flag"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("COPY --frm=x a b", "unknown flag: --frm"),
        ("ADD --from=x a b", "unknown flag: --from"),
        ("RUN --platform=linux/amd64 true", "unknown flag: --platform"),
        ("ENV --x=1 A=1", "unknown flag: --x"),
        ("COPY --from=a --from=b a b", "duplicate flag specified: --from"),
        ("COPY --from a b", "missing a value on flag: --from"),
        ("COPY --link=maybe a b", "expecting boolean value for flag --link"),
        ("COPY --link= a b", "missing a value on flag: --link"),
        ("HEALTHCHECK --interval=1 CMD true", "--interval"),
        ("HEALTHCHECK --interval=10us CMD true", "cannot be less than 1ms"),
        ("HEALTHCHECK --retries=-1 CMD true", "--retries cannot be negative"),
        ("HEALTHCHECK --bogus=1 CMD true", "unknown flag: --bogus"),
    ],
)
def test_bad_flags_are_errors_on_their_line(line: str, message: str) -> None:
    err = error_of(f"FROM scratch\n# a comment\n{line}\n")
    assert err.line == 3
    assert message in str(err)
    assert str(err).startswith("Dockerfile:3: ")


def test_from_platform_flag() -> None:
    stage = parse_dockerfile("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n").stages[0]
    assert stage.platform == "$BUILDPLATFORM"
    assert stage.base == "golang:1.22"
    assert stage.name == "build"


# -- continuations, comments, directives -------------------------------------------------------


def test_continuations_and_comments_inside_them() -> None:
    text = "FROM scratch\nRUN apt-get update \\\n  # install curl\n    && apt-get install -y curl \\\n\n  && true\nUSER x\n"
    run, user = only_stage(text)
    assert (run.line, run.end_line) == (2, 6)
    assert run.original == "RUN apt-get update     && apt-get install -y curl   && true"
    assert run.args == "apt-get update     && apt-get install -y curl   && true"
    assert user.line == 7


def test_trailing_continuation_at_end_of_file_ends_the_instruction() -> None:
    (run,) = only_stage("FROM scratch\nRUN echo hi \\")
    assert run.args == "echo hi"


def test_escaped_escape_at_end_of_line_does_not_continue() -> None:
    run, user = only_stage("FROM scratch\nRUN echo a\\\\\nUSER x\n")
    assert run.args == "echo a\\\\"
    assert user.line == 3


def test_windows_line_endings_and_bom() -> None:
    run, user = only_stage("\ufeffFROM scratch\r\nRUN echo a \\\r\n b\r\nUSER x\r\n")
    assert run.args == "echo a  b"
    assert user.args == "x"
    assert user.line == 4


def test_escape_directive_backtick() -> None:
    text = "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir c:\\ `\n  && echo done\n"
    df = parse_dockerfile(text)
    assert df.escape == "`"
    (run,) = df.stages[0].instructions
    assert run.args == "dir c:\\   && echo done"
    assert (run.line, run.end_line) == (3, 4)


def test_directives_only_count_at_the_very_top() -> None:
    # After an instruction, "# escape=`" is a comment: the backslash still continues lines.
    df = parse_dockerfile("FROM scratch\n# escape=`\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.stages[0].instructions[0].args == "a  b"
    # A blank line or another comment before it ends the directives too.
    assert parse_dockerfile("\n# escape=`\nFROM scratch\n").escape == "\\"
    assert parse_dockerfile("# hello\n# escape=`\nFROM scratch\n").escape == "\\"
    assert parse_dockerfile("# unknown=x\n# escape=`\nFROM scratch\n").escape == "\\"


def test_syntax_and_check_directives_are_recorded_not_used() -> None:
    df = parse_dockerfile("# syntax=docker/dockerfile:1.7\n#check=skip=all\n# ESCAPE = `\nFROM scratch\n")
    assert df.directives.syntax == "docker/dockerfile:1.7"
    assert df.directives.check == "skip=all"
    assert df.escape == "`"


def test_directive_errors() -> None:
    err = error_of("# escape=`\n# escape=\\\nFROM scratch\n")
    assert err.line == 2 and "only one escape parser directive" in str(err)
    err = error_of("# escape=x\nFROM scratch\n")
    assert err.line == 1 and "invalid escape token" in str(err)


def test_agrees_with_dockerfile_parse_on_well_formed_files() -> None:
    text = (
        "FROM alpine AS base\n"
        "RUN echo a \\\n"
        "  # note\n"
        "  && echo b\n"
        "COPY x /y\n"
        "\n"
        "ENV A=1 \\\n"
        "    B=2\n"
        "CMD [\"sh\"]\n"
    )
    ours = [(i.keyword, i.line - 1, i.end_line - 1) for i in parse_dockerfile(text).stages[0].instructions]
    theirs = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False).structure
    expected = [(s["instruction"], s["startline"], s["endline"]) for s in theirs if s["instruction"] not in ("FROM", "COMMENT")]
    assert ours == expected


# -- stages and global ARGs --------------------------------------------------------------------


def test_multi_stage_with_global_args() -> None:
    text = """\
ARG GO=1.22
ARG BASE
FROM golang:${GO} AS build
RUN go build
FROM build AS test
FROM ${BASE:-alpine}
COPY --from=build /out /out
"""
    df = parse_dockerfile(text)
    assert [a.args for a in df.global_args] == ["GO=1.22", "BASE"]
    assert [(s.index, s.name, s.base, s.line) for s in df.stages] == [
        (0, "build", "golang:${GO}", 3),
        (1, "test", "build", 5),
        (2, None, "${BASE:-alpine}", 6),
    ]
    assert df.find_stage("BUILD") is df.stages[0]
    assert df.find_stage("2") is df.stages[2]
    assert df.find_stage("alpine") is None
    assert df.stages[2].instructions[0].flag("from") == "build"


def test_a_stage_name_used_twice_is_a_check_warning_and_the_last_one_wins() -> None:
    """BuildKit builds it (DuplicateStageName is a warning): a FROM or --from means the latest
    stage of that name before it, --target the last one."""
    df = parse_dockerfile("FROM a AS x\nFROM b AS X\nFROM x AS y\nFROM c\n")
    assert [s.name for s in df.stages] == ["x", "x", "y", None]
    assert df.find_stage("x") is df.stages[1]
    assert df.earlier_stage("x", 1) is df.stages[0]
    assert df.earlier_stage("X", 2) is df.stages[1]
    assert df.earlier_stage("y", 2) is None and df.earlier_stage("1", 2) is df.stages[1]
    assert df.earlier_stage("3", 2) is None


def test_instruction_before_first_from_is_an_error() -> None:
    err = error_of("ARG X\n\nRUN echo\nFROM scratch\n")
    assert err.line == 3
    assert "RUN" in str(err)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file with no instructions"),
        ("# only a comment\n\n", 2, "file with no instructions"),
        ("ARG A\nARG B\n", 2, "no FROM"),
        ("FROM\n", 1, "FROM requires either one or three arguments"),
        ("FROM a AS\n", 1, "FROM requires either one or three arguments"),
        ("FROM a b c\n", 1, "FROM requires either one or three arguments"),
        ("FROM a AS 1abc\n", 1, "invalid name for build stage"),
        ("FROM a\nFOO bar\n", 2, "unknown instruction: FOO"),
        ("FROM a\nRUNN x\n", 2, "did you mean RUN?"),
        ("FROM a\nCOPY onlyone\n", 2, "COPY requires at least two arguments"),
        ("FROM a\nADD\n", 2, "ADD requires at least two arguments"),
        ("FROM a\nCOPY [\"x\"]\n", 2, "COPY requires at least two arguments"),
        ("FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
        ("FROM a\nVOLUME\n", 2, "VOLUME requires at least one argument"),
        ("FROM a\nVOLUME [\"\"]\n", 2, "VOLUME specified can not be an empty string"),
        ("FROM a\nUSER\n", 2, "USER requires exactly one argument"),
        ("FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
        ("FROM a\nSTOPSIGNAL\n", 2, "STOPSIGNAL requires exactly one argument"),
        ("FROM a\nENV\n", 2, "ENV requires at least one argument"),
        ("FROM a\nENV ONLYKEY\n", 2, "ENV must have two arguments"),
        ("FROM a\nENV a=1 b\n", 2, "can't find = in 'b'"),
        ("FROM a\nLABEL =x\n", 2, "LABEL names can not be blank"),
        ("FROM a\nARG\n", 2, "ARG requires at least one argument"),
        ("FROM a\nARG =x\n", 2, "ARG names can not be blank"),
        ("FROM a\nSHELL /bin/sh -c\n", 2, "SHELL requires the arguments to be in JSON form"),
        ("FROM a\nSHELL []\n", 2, "SHELL requires at least one argument"),
        ("FROM a\nONBUILD\n", 2, "ONBUILD requires at least one argument"),
        ("FROM a\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD"),
        ("FROM a\nONBUILD FROM x\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
        ("FROM a\nONBUILD maintainer x\n", 2, "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("FROM a\nONBUILD FOO x\n", 2, "unknown instruction: FOO"),
        ("FROM a\nONBUILD COPY x\n", 2, "COPY requires at least two arguments"),
        ("FROM a\nHEALTHCHECK\n", 2, "HEALTHCHECK requires at least one argument"),
        ("FROM a\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK: NONE takes no arguments"),
        ("FROM a\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"),
        ("FROM a\nHEALTHCHECK RUN x\n", 2, "Unknown type"),
        ("FROM a\nRUN a \\\n b \\\n c\nBAD\n", 5, "unknown instruction: BAD"),
    ],
)
def test_errors_carry_the_line(text: str, line: int, message: str) -> None:
    err = error_of(text, "ci/Dockerfile")
    assert err.line == line, str(err)
    assert message in str(err)
    assert str(err).startswith(f"ci/Dockerfile:{line}: ")


# -- HEALTHCHECK, ONBUILD, parse_instruction ---------------------------------------------------


def test_healthcheck_forms_and_config() -> None:
    shell, exec_, none = only_stage(
        "FROM a\n"
        "HEALTHCHECK --interval=1m30s --timeout=5s --start-period=0 --retries=3 CMD curl -f http://x/ || exit 1\n"
        'HEALTHCHECK CMD ["curl", "-f", "http://x/"]\n'
        "HEALTHCHECK --whatever NONE\n"
    )
    config = health_config(shell)
    assert config.test == ["CMD-SHELL", "curl -f http://x/ || exit 1"]
    assert (config.interval, config.timeout, config.start_period, config.retries) == (90 * 10**9, 5 * 10**9, 0, 3)
    assert exec_.json == ["curl", "-f", "http://x/"]
    assert health_config(exec_).test == ["CMD", "curl", "-f", "http://x/"]
    assert health_config(none).test == ["NONE"]


def test_onbuild_trigger_keeps_its_own_flags_and_forms() -> None:
    (onbuild,) = only_stage('FROM a\nonbuild   COPY --chown=1:1 ["a", "b"]\n')
    assert onbuild.args == 'COPY --chown=1:1 ["a", "b"]'
    assert onbuild.trigger is not None
    assert onbuild.trigger.flag("chown") == "1:1"
    assert onbuild.trigger.json == ["a", "b"]
    assert onbuild.words == ["COPY", "a", "b"]


def test_parse_instruction_for_a_base_image_trigger() -> None:
    ins = parse_instruction("RUN echo from base", line=4)
    assert (ins.keyword, ins.args, ins.line) == ("RUN", "echo from base", 4)


def test_shell_form_keeps_the_text_as_written() -> None:
    (run,) = only_stage("FROM a\nRUN   echo  'a  b'   \"$HOME\"  \n")
    assert run.json is None
    assert run.args == "echo  'a  b'   \"$HOME\""
    assert run.words == [run.args]


def test_env_label_arg_words_are_raw_pairs() -> None:
    env, label, arg = only_stage('FROM a\nENV A="x y" B=$A\nLABEL "k 1"=v\nARG X Y=2 "Z=3 4"\n')
    assert env.words == ["A", '"x y"', "B", "$A"]
    assert label.words == ['"k 1"', "v"]
    assert arg.words == ["X", "Y=2", '"Z=3 4"']


def test_comments_before_an_instruction_are_kept_for_the_checks() -> None:
    """BuildKit's PrevComment: the comment lines since the last instruction; a bare "#" starts
    afresh, blank lines do not, directives are not comments, comments inside a continuation
    belong to no one."""
    text = ("# syntax=docker/dockerfile:1\n# check=skip=all\n# about base\nFROM scratch AS base\n\n"
            "# one\n\n# two\nCOPY a b\n# gone\n#\n  # indented\nRUN a \\\n # inside\n b\nUSER x\n")
    df = parse_dockerfile(text)
    assert df.stages[0].from_instruction.comments == ("about base",)
    copy, run, user = df.stages[0].instructions
    assert copy.comments == ("one", "two")
    assert run.comments == ("# indented",)  # BuildKit drops the line's first byte, not its indentation
    assert user.comments == ()
    assert df.directives.lines == {"syntax": 1, "check": 2} and df.directives.count == 2


def test_empty_continuation_lines_are_recorded_at_the_instruction_end() -> None:
    df = parse_dockerfile("FROM scratch\nRUN a \\\n\n  b \\\n\n c\nRUN d \\\n e\n")
    assert df.empty_continuation_lines == (6,)
    assert df.text.startswith("FROM scratch\n")


def test_written_keyword_keeps_its_casing() -> None:
    df = parse_dockerfile("from scratch\nCopy a b\nonbuild Run x\n")
    copy, onbuild = df.stages[0].instructions
    assert (df.stages[0].from_instruction.written_keyword, copy.written_keyword) == ("from", "Copy")
    assert onbuild.trigger is not None and onbuild.trigger.written_keyword == "Run"

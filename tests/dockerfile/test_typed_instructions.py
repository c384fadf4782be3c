"""Typed instructions: flags read once by the parser, malformed values rejected with their line."""

from __future__ import annotations

import time

import pytest

from executor.dockerfile import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    DockerfileError,
    ExposeInstruction,
    FromInstruction,
    HealthcheckInstruction,
    Instruction,
    KeyValueInstruction,
    MountSpec,
    RunInstruction,
    ShellInstruction,
    ShellLexer,
    ValueInstruction,
    VolumeInstruction,
    parse_arg,
    parse_dockerfile,
    parse_instruction,
    typed_instruction,
)
from executor.dockerfile.words import extract_flag_words, split_words


def _stage(text: str) -> list[Instruction]:
    return parse_dockerfile(text).stages[0].instructions


def _error(text: str) -> DockerfileError:
    with pytest.raises(DockerfileError) as caught:
        parse_dockerfile(text)
    return caught.value


def test_run_mounts_network_and_security() -> None:
    (run,) = _stage("FROM a\nRUN --mount=type=cache,dst=/c,id=$ID --mount=from=build,src=/out,target=/in "
                    "--network=host --security=insecure make\n")
    assert isinstance(run, RunInstruction)
    assert [m.spec for m in run.mounts] == ["type=cache,dst=/c,id=$ID", "from=build,src=/out,target=/in"]
    assert run.mounts[0].fields == (("type", "cache"), ("target", "/c"), ("id", "$ID"))
    assert run.mounts[1].from_ == "build"
    assert (run.network, run.security, run.args) == ("host", "insecure", "make")
    # the raw flags stay, for the cache key
    assert run.flag_values("mount") == ["type=cache,dst=/c,id=$ID", "from=build,src=/out,target=/in"]


def test_copy_and_add_fields_stay_unexpanded() -> None:
    copy, add = _stage("FROM a\n"
                       "COPY --from=$STAGE --chown=$U:g --chmod=0640 --link --parents --exclude=*.md a $B /d/\n"
                       "ADD --chmod=$MODE --checksum=sha256:$SUM --keep-git-dir https://x/y /y\n")
    assert isinstance(copy, CopyInstruction) and not isinstance(copy, AddInstruction)
    assert (copy.sources, copy.dest, copy.from_) == (("a", "$B"), "/d/", "$STAGE")
    assert (copy.chown, copy.chmod, copy.link, copy.parents, copy.exclude) == ("$U:g", "0640", True, True, ("*.md",))
    assert isinstance(add, AddInstruction)
    assert (add.sources, add.dest, add.from_, add.chmod) == (("https://x/y",), "/y", None, "$MODE")
    assert (add.checksum, add.keep_git_dir) == ("sha256:$SUM", True)


def test_empty_from_is_still_a_from() -> None:
    (copy,) = _stage("FROM a\nCOPY --from= a /b\n")
    assert isinstance(copy, CopyInstruction) and copy.from_ == ""


def test_metadata_instructions() -> None:
    arg, env, label, shell, expose, volume, user, workdir, health, cmd = _stage(
        'FROM --platform=linux/arm64 a\nARG A=1 B\nENV X="a b" Y=$X\nLABEL k=v\nSHELL ["/bin/bash", "-c"]\n'
        'EXPOSE 80 $P\nVOLUME /v /w\nUSER  app \nWORKDIR /src\nHEALTHCHECK --retries=2 CMD true\nCMD ["x"]\n')
    assert isinstance(arg, ArgInstruction) and arg.pairs == (("A", "1"), ("B", None))
    assert isinstance(env, KeyValueInstruction) and env.pairs == (("X", '"a b"'), ("Y", "$X"))
    assert isinstance(label, KeyValueInstruction) and label.pairs == (("k", "v"),)
    assert isinstance(shell, ShellInstruction) and shell.shell == ("/bin/bash", "-c")
    assert isinstance(expose, ExposeInstruction) and expose.ports == ("80", "$P")
    assert isinstance(volume, VolumeInstruction) and volume.paths == ("/v", "/w")
    assert isinstance(user, ValueInstruction) and user.value == "app"
    assert isinstance(workdir, ValueInstruction) and workdir.value == "/src"
    assert isinstance(health, HealthcheckInstruction)
    assert health.config.test == ["CMD-SHELL", "true"] and health.config.retries == 2
    assert type(cmd) is Instruction and cmd.json == ["x"]
    stage = parse_dockerfile("FROM --platform=linux/arm64 a AS b\n").stages[0]
    assert isinstance(stage.from_instruction, FromInstruction)
    assert (stage.from_instruction.image, stage.from_instruction.platform) == ("a", "linux/arm64")


def test_onbuild_trigger_and_base_image_triggers_are_typed() -> None:
    (onbuild,) = _stage("FROM a\nONBUILD RUN --mount=type=tmpfs,target=/t true\n")
    assert isinstance(onbuild.trigger, RunInstruction) and onbuild.trigger.mounts[0].fields[0] == ("type", "tmpfs")
    trigger = parse_instruction("COPY --chown=1:1 a /b", line=7)
    assert isinstance(trigger, CopyInstruction) and trigger.chown == "1:1"


def test_typed_instruction_types_a_hand_built_instruction() -> None:
    plain = Instruction(keyword="COPY", line=3, end_line=3, original="COPY --from=x a b",
                        flags={"from": ["x"]}, args="a b", json=None, words=["a", "b"])
    typed = typed_instruction(plain)
    assert isinstance(typed, CopyInstruction) and typed.from_ == "x" and typed.original == plain.original
    assert typed_instruction(typed) is typed


@pytest.mark.parametrize(("flag", "message"), [
    ("--mount=type=volume,target=/x", "RUN --mount: unsupported mount type 'volume'"),
    ("--mount=type=cache", "needs a target"),
    ("--mount=type=cache,target=/x,sharing=sometimes", "unsupported sharing value"),
    ("--mount=type=bind,target=/x,colour=blue", "unexpected key 'colour'"),
    ("--mount=type=cache,target=/x,mode=rwx", "invalid value for mode"),
    ("--mount=type=cache,target=$T,uid=root", "invalid value for uid"),  # checked though $T waits
    ("--mount=type=tmpfs,target=/t,size=lots", "invalid value for size"),
    ("--mount=type=secret", "secret mount needs an id"),
    ("--mount=type=ssh,env=SOCK", "env is only valid for secret mounts"),
    ("--mount=type=ssh,mode=u+rw", "invalid value for mode"),
    ("--mount=target", "target needs a value"),
    ("--network=bridge", "unsupported network mode 'bridge'"),
    ("--security=privileged", "unsupported security mode 'privileged'"),
])
def test_bad_run_flags_fail_at_parse_time_on_their_line(flag: str, message: str) -> None:
    err = _error(f"FROM a\n\nRUN {flag} true\n")
    assert err.line == 3 and message in str(err)
    assert str(err).startswith("Dockerfile:3: ")


def test_mount_values_with_variables_wait_for_the_build() -> None:
    (run,) = _stage("FROM a\nRUN --mount=type=$KIND,target=$T,mode=$M true\n")
    assert isinstance(run, RunInstruction)
    request = run.mounts[0].request(lambda word: {"$KIND": "cache", "$T": "/c", "$M": "0700"}[word])
    assert (request.type, request.target, request.mode) == ("cache", "/c", 0o700)


def test_mount_literal_values_lose_their_quotes_when_checked() -> None:
    # quotes of a flag word go with the flag scanner; escaped ones stay for the lexer
    (run,) = _stage("FROM a\nRUN --mount=type=cache,target=/c,mode=\\'0755\\' true\n")
    assert isinstance(run, RunInstruction)
    spec = run.mounts[0]
    assert isinstance(spec, MountSpec) and spec.fields[-1] == ("mode", "'0755'")
    assert spec.request(lambda word: ShellLexer().process_word(word, {})).mode == 0o755


def test_chmod_is_checked_at_parse_time_unless_it_needs_an_arg() -> None:
    err = _error("FROM a\nCOPY --chmod=999 a /b\n")
    assert err.line == 2 and "invalid chmod parameter: '999'. it should be octal string" in str(err)
    err = _error("FROM a\n\nADD --chmod=u+rwz a /b\n")
    assert err.line == 3 and "invalid chmod parameter: 'u+rwz': invalid syntax" in str(err)
    (copy,) = _stage("FROM a\nCOPY --chmod=u+x,g-w a /b\n")
    assert isinstance(copy, CopyInstruction) and copy.chmod == "u+x,g-w"
    (copy,) = _stage("FROM a\nCOPY --chmod=$MODE a /b\n")
    assert isinstance(copy, CopyInstruction) and copy.chmod == "$MODE"


# One unknown flag for every instruction: BuildKit's BFlags refuses it when the line is parsed.
@pytest.mark.parametrize("line", [
    "ADD --from=x a /b", "ARG --x=1 A", "CMD --x=1 true", "COPY --checksum=sha256:00 a /b", "ENTRYPOINT --x true",
    "ENV --x=1 A=1", "EXPOSE --x=1 80", "HEALTHCHECK --x=1 CMD true", "LABEL --x=1 a=b", "MAINTAINER --x=1 me",
    "ONBUILD --x=1 RUN true", "ONBUILD RUN --x=1 true", "RUN --device=x true", "SHELL --x=1 [\"sh\"]",
    "STOPSIGNAL --x=1 TERM", "USER --x=1 app", "VOLUME --x=1 /v", "WORKDIR --x=1 /w",
])
def test_every_instruction_refuses_an_unknown_flag_on_its_line(line: str) -> None:
    err = _error(f"FROM a\n# comment\n{line}\n")
    assert err.line == 3 and "unknown flag: --" in str(err), str(err)


def test_from_refuses_an_unknown_flag_on_its_line() -> None:
    err = _error("ARG X\n\nFROM --pull=always a\n")
    assert err.line == 3 and "unknown flag: --pull" in str(err)


@pytest.mark.parametrize(("line", "message"), [
    ("COPY --chown=:staff a /b", "invalid --chown value ':staff'"),
    ("ADD --chown=app: a /b", "invalid --chown value 'app:'"),
    ("COPY --chmod=0o755 a /b", "invalid chmod parameter: '0o755'"),
    ("ADD --chmod=u+y a /b", "invalid chmod parameter: 'u+y': invalid syntax"),
    ("ADD --checksum=sha256:0 a.tar /b", "ADD --checksum needs exactly one source, an http(s) URL"),
    ("ADD --checksum=sha256:0 https://x/a https://x/b /c/", "exactly one source"),
    ("COPY --link=yes a /b", "expecting boolean value for flag --link"),
    ("ADD --keep-git-dir=2 a /b", "expecting boolean value for flag --keep-git-dir"),
    ("COPY --parents=no a /b", "expecting boolean value for flag --parents"),
    ("COPY --exclude a /b", "missing a value on flag: --exclude"),
    ("COPY --chmod=600 --chmod=644 a /b", "duplicate flag specified: --chmod"),
    ("RUN --network=bridge true", "unsupported network mode 'bridge'"),
    ("RUN --security=privileged true", "unsupported security mode 'privileged'"),
    ("RUN --mount=type=bind,target true", "target needs a value"),
    ("HEALTHCHECK --start-interval=soon CMD true", "--start-interval"),
])
def test_malformed_flag_values_fail_at_parse_time(line: str, message: str) -> None:
    err = _error(f"FROM a\n\n{line}\n")
    assert err.line == 3 and message in str(err), str(err)


def test_flag_values_that_wait_for_their_args() -> None:
    copy, add = _stage("FROM a\nCOPY --chown=$U: --chmod=$M a /b\nADD --checksum=sha256:$S $URL /c\n")
    assert isinstance(copy, CopyInstruction) and (copy.chown, copy.chmod) == ("$U:", "$M")
    assert isinstance(add, AddInstruction) and add.checksum == "sha256:$S"


def test_run_security_and_network_values() -> None:
    runs = _stage("FROM a\nRUN --security=sandbox a\nRUN --security=insecure b\nRUN --network=none c\n"
                  "RUN --network=default d\nRUN --network=host e\nRUN f\n")
    assert [(r.security, r.network) for r in runs if isinstance(r, RunInstruction)] == [
        ("sandbox", None), ("insecure", None), (None, "none"), (None, "default"), (None, "host"), (None, None)]


def test_healthcheck_durations_fail_at_parse_time() -> None:
    err = _error("FROM a\nHEALTHCHECK --timeout=5parsecs CMD true\n")
    assert err.line == 2 and "--timeout" in str(err)


# -- the one word splitter ---------------------------------------------------------------------


def test_one_splitter_in_its_two_modes() -> None:
    assert split_words("a 'b c' d\\ e \"f\\\" g\"") == ["a", "'b c'", "d\\ e", '"f\\" g"']
    assert split_words("a`  b 'c` d'", "`") == ["a` ", "b", "'c` d'"]
    assert extract_flag_words("--a='x y' --b=\\\"q --c= -- --d rest") == (" --d rest", ["--a=x y", "--b=\"q", "--c="])
    assert extract_flag_words("--x='a\\'b' cmd") == ("cmd", ["--x=a'b"])
    assert extract_flag_words("--x=\"\" y\\") == ("y\\", ["--x="])
    assert extract_flag_words("--x=a\\") == ("", ["--x=a"])
    assert split_words("a\\") == ["a"]
    assert split_words("'a\\") == ["'a\\"]  # in single quotes the escape is a character
    assert split_words('"a\\') == ['"a']


# -- expansion stays linear --------------------------------------------------------------------


def test_arg_doubled_twenty_times_expands_quickly() -> None:
    """Each ARG doubles the previous value: 2**20 characters after 20 doublings. Building words by
    string concatenation made this take half a minute."""
    text = "FROM a\nARG A=x\n" + "ARG A=$A$A\n" * 20
    env: dict[str, str] = {}
    started = time.monotonic()
    for arg in _stage(text):
        assert isinstance(arg, ArgInstruction)
        for name, value in parse_arg(arg.args, env, line=arg.line):
            env[name] = value or ""
    words = ShellLexer().process_words("$A $A", env)
    assert len(env["A"]) == 2**20 and set(env["A"]) == {"x"}
    assert [len(word) for word in words] == [2**20, 2**20]
    assert time.monotonic() - started < 10  # seconds; well under one on any machine

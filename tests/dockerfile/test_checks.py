"""Build checks: BuildKit's own lint tests, ported.

The corpus below is ``frontend/dockerfile/dockerfile_check_test.go`` of moby/buildkit at commit
73ed6825c4b7569379ef89df0aedcdbe64473d31: each bad Dockerfile with the rule names, messages
(BuildKit's ``Detail``) and lines BuildKit expects. BuildKit runs each case twice: as a build,
which warns about the stages it builds (``Warnings``), and as ``--check``, which dispatches every
stage (``UnmarshalWarnings`` where they differ); so does this module. The descriptions and URLs
are ``linter/ruleset.go``'s.

Where lamina differs, the case says so: BuildKit resolves base images' configs, lamina's checks
pull nothing, so these cases give busybox's and alpine's (PATH only) through ``base_config``;
BuildKit reports warnings found before a parse error, lamina's parser stops at the error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from executor.builder.plan import make_expander, plan_stages
from executor.dockerfile import DockerfileError, DockerIgnore, ShellLexer, parse_dockerfile
from executor.dockerfile.args import global_arg_values
from executor.dockerfile.checks import (
    ALL_RULES,
    BaseImageConfig,
    CheckConfig,
    CheckInputs,
    CheckResult,
    build_notices,
    check_dockerfile,
    check_report,
    is_dockerfile_frontend,
)

PATH_ONLY = BaseImageConfig(env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",))


def busybox_and_alpine(name: str) -> BaseImageConfig | None:
    """The configs BuildKit's test images have (their Env is PATH alone)."""
    return PATH_ONLY if name.split(":")[0] in ("busybox", "alpine") else None


@dataclass(frozen=True)
class Lint:
    name: str
    dockerfile: str
    warnings: tuple[tuple[str, str, int], ...] = ()  # (rule, message, line) a build reports
    check_warnings: tuple[tuple[str, str, int], ...] | None = None  # --check's, where different
    dockerignore: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # what stops the checks (BuildKit's BuildErr), in part


def w(rule: str, message: str, line: int) -> tuple[str, str, int]:
    return (rule, message, line)


def secret(instruction: str, key: str, line: int) -> tuple[str, str, int]:
    return w("SecretsUsedInArgOrEnv",
             f'Do not use ARG or ENV instructions for sensitive data ({instruction} "{key}")', line)


def casing(command: str, majority: str, line: int) -> tuple[str, str, int]:
    return w("ConsistentInstructionCasing",
             f"Command '{command}' should match the case of the command majority ({majority})", line)


def multiple(instruction: str, line: int) -> tuple[str, str, int]:
    return w("MultipleInstructionsDisallowed", f"Multiple {instruction} instructions should not be used in the "
             "same stage because only the last one will be used", line)


def undefined(name: str, line: int, hint: str = "") -> tuple[str, str, int]:
    return w("UndefinedVar", f"Usage of undefined variable '${name}'" + (f" (did you mean ${hint}?)" if hint else ""),
             line)


def undeclared(name: str, line: int, hint: str = "") -> tuple[str, str, int]:
    return w("UndefinedArgInFrom", f"FROM argument '{name}' is not declared" + (f" (did you mean {hint}?)" if hint
                                                                                  else ""), line)


FROM_AS = "'as' and 'FROM' keywords' casing do not match"
MAINTAINER = "Maintainer instruction is deprecated in favor of using label"
DESCRIPTION = "InvalidDefinitionDescription"

CASES = [
    # -- testDefinitionDescription
    Lint("definition_description_good", """# check=skip=all;experimental=InvalidDefinitionDescription
# foo this is the foo
ARG foo=bar

# base this is the base image
FROM scratch AS base

# version this is the version number
ARG version=latest

# baz this is the baz
ARG foo=baz bar=qux baz=quux
#
ARG bit=bat

# comment for something other than ARG or FROM
COPY Dockerfile .
"""),
    Lint("definition_description_bad", """# check=experimental=InvalidDefinitionDescription
# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM scratch AS base
# definitely a bad comment
ARG version=latest
# definitely a bad comment
ARG foo=baz bar=qux baz=quux
""", (w(DESCRIPTION, "Comment for ARG should follow the format: `# foo <description>`", 3),
      w(DESCRIPTION, "Comment for FROM should follow the format: `# base <description>`", 5),
      w(DESCRIPTION, "Comment for ARG should follow the format: `# version <description>`", 7),
      w(DESCRIPTION, "Comment for ARG should follow the format: `# <arg_key> <description>`", 9))),
    # -- testCopyIgnoredFiles
    Lint("copy_ignored_file", "\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n",
         (w("CopyIgnoredFile", 'Attempting to Copy file "Dockerfile" that is excluded by .dockerignore', 3),
          w("CopyIgnoredFile", 'Attempting to Add file "Dockerfile" that is excluded by .dockerignore', 4)),
         dockerignore="\nDockerfile\n"),
    Lint("copy_ignored_file_skipped", "# check=skip=CopyIgnoredFile\n\nFROM scratch\nCOPY Dockerfile .\n"
         "ADD Dockerfile /windy\n", dockerignore="\nDockerfile\n"),
    Lint("copy_from_stage_is_not_the_context", "\nFROM scratch AS base\nCOPY Dockerfile /foobar\n"
         "ADD Dockerfile /windy\n\nFROM base\nCOPY --from=base /foobar /Dockerfile\n", dockerignore="\nfoobar\n"),
    Lint("copy_ignored_with_exceptions_is_not_checked", "\nFROM scratch\nCOPY ./Dockerfile .\n",
         dockerignore="\n**\n!Dockerfile\n"),
    Lint("copy_directory_with_exceptions", "\nFROM scratch\nCOPY . .\n\t", dockerignore="\n**\n!Dockerfile\n"),
    # -- testCopyIgnoredFileContextRoot
    Lint("copy_context_root_dotfiles", "\nFROM scratch\nCOPY . .\n", dockerignore="\n.*\n"),
    Lint("copy_context_root_wildcard", "\nFROM scratch\nCOPY . .\n",
         (w("CopyIgnoredFile", 'Attempting to Copy file "." that is excluded by .dockerignore', 3),),
         dockerignore="\n*\n"),
    # -- testSecretsUsedInArgOrEnv
    Lint("secrets_used_in_arg_or_env", """# check=skip=InvalidDefinitionDescription

FROM scratch
ARG SECRET_PASSPHRASE
ENV SUPER_Secret=foo
ENV password=bar secret=baz
ARG super_duper_secret_token=foo auth=bar
ENV apikey=bar sunflower=foo
ENV git_key=
ENV PUBLIC_KEY=
ARG public_token
ARG SECRET_PASSPHRASE_FILE
ENV password_file=bar secret_File=baz
ARG AUTH_MODULE_VERSION
# check=skip=SecretsUsedInArgOrEnv // allow secret in environment
ENV password=bar
# check=skip=SecretsUsedInArgOrEnv // allow secret in arg
ARG password
# check=skip=all // is local to only this instruction
ENV alternate_password=bar
# check=skip=all // is local to only this instruction
ARG alternate_password
""", (secret("ARG", "SECRET_PASSPHRASE", 4), secret("ENV", "SUPER_Secret", 5), secret("ENV", "password", 6),
      secret("ENV", "secret", 6), secret("ARG", "auth", 7), secret("ARG", "super_duper_secret_token", 7),
      secret("ENV", "apikey", 8), secret("ENV", "git_key", 9))),
    # -- testAllTargetUnmarshal: a build warns about the stages it builds, --check about all
    Lint("all_targets_in_check_only", "\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n",
         (undefined("bar", 6),), check_warnings=(undefined("foo", 3), undefined("bar", 6))),
    # -- testRuleCheckOption
    Lint("check_skip_all", "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n"),
    Lint("check_skip_all_error", "#check=skip=all;error=true\nFROM scratch as base\ncopy Dockerfile .\n"),
    Lint("check_skip_two", "#check=skip=ConsistentInstructionCasing,FromAsCasing\nFROM scratch as base\n"
         "copy Dockerfile .\n"),
    Lint("check_skip_two_error", "#check=skip=ConsistentInstructionCasing,FromAsCasing;error=true\n"
         "FROM scratch as base\ncopy Dockerfile .\n"),
    Lint("check_skip_one", "#check=skip=ConsistentInstructionCasing\nFROM scratch as base\ncopy Dockerfile .\n",
         (w("FromAsCasing", FROM_AS, 2),)),
    Lint("check_skip_one_error", "#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as base\n"
         "copy Dockerfile .\n", (w("FromAsCasing", FROM_AS, 2),),
         error="lint violation found for rules: FromAsCasing"),
    Lint("check_build_arg_replaces_the_directive", "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n",
         (w("FromAsCasing", FROM_AS, 2),), error="lint violation found for rules: FromAsCasing",
         build_args={"BUILDKIT_DOCKERFILE_CHECK": "skip=ConsistentInstructionCasing;error=true"}),
    Lint("check_build_arg_skips_all", "#check=error=true\nFROM scratch as base\ncopy Dockerfile .\n",
         build_args={"BUILDKIT_DOCKERFILE_CHECK": "skip=all"}),
    # -- testStageName
    Lint("stage_name_casing", """
# warning: stage name should be lowercase
#
FROM scratch AS BadStageName

# warning: 'as' should match 'FROM' cmd casing.
#
FROM scratch as base2

FROM scratch AS base3
""", (w("StageNameCasing", "Stage name 'BadStageName' should be lowercase", 4), w("FromAsCasing", FROM_AS, 8))),
    Lint("from_as_casing_lower_from", """
# warning: 'AS' should match 'from' cmd casing.
#
from scratch AS base

from scratch as base2
""", (w("FromAsCasing", "'AS' and 'from' keywords' casing do not match", 4),)),
    # -- testNoEmptyContinuation
    Lint("no_empty_continuation", "\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\n"
         "COPY Dockerfile \\\n.\n", (w("NoEmptyContinuation", "Empty continuation line", 6),)),
    # -- testConsistentInstructionCasing
    Lint("casing_mixed_from", "\n# warning: 'FROM' should be either lowercased or uppercased\n#\n"
         "From scratch as base\nFROM scratch AS base2\n", (casing("From", "uppercase", 4),)),
    Lint("casing_lower_copy", "\nFROM scratch\n# warning: 'copy' should match command majority's casing (uppercase)\n"
         "copy Dockerfile /foo\nCOPY Dockerfile /bar\n", (casing("copy", "uppercase", 4),)),
    Lint("casing_mixed_lower_majority", "\n# warning: 'frOM' should be either lowercased or uppercased\n#\n"
         "frOM scratch as base\nfrom scratch as base2\n", (casing("frOM", "lowercase", 4),)),
    Lint("casing_upper_copy", "\nfrom scratch\n# warning: 'COPY' should match command majority's casing "
         "(lowercase)\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n", (casing("COPY", "lowercase", 4),)),
    Lint("casing_lower_from", "\n# warning: 'from' should match command majority's casing (uppercase)\n#\n"
         "from scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\nCOPY Dockerfile /baz\n",
         (casing("from", "uppercase", 4),)),
    Lint("casing_upper_from", "\n# warning: 'FROM' should match command majority's casing (lowercase)\n#\n"
         "FROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n",
         (casing("FROM", "lowercase", 4),)),
    Lint("casing_all_lower", "\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n"),
    Lint("casing_all_upper", "\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n"),
    Lint("casing_heredoc_body_is_not_an_instruction", "\nFROM alpine\nRUN <<'EOT'\nenv\nEOT\n"),
    # -- testDuplicateStageName
    Lint("duplicate_stage_name", "\nFROM scratch AS b\nFROM scratch AS b\n",
         (w("DuplicateStageName", 'Duplicate stage name "b", stage names should be unique', 3),)),
    Lint("distinct_stage_names", "\nFROM scratch AS b1\nFROM scratch AS b2\n"),
    # -- testReservedStageName
    Lint("reserved_stage_name", "\nFROM scratch AS scratch\nFROM scratch AS context\n",
         (w("ReservedStageName", 'Stage name should not use the same name as reserved stage "scratch"', 2),
          w("ReservedStageName", 'Stage name should not use the same name as reserved stage "context"', 3))),
    Lint("reserved_name_as_base_only", "\nFROM scratch\nFROM scratch AS a\n"),
    # -- testJSONArgsRecommended
    Lint("json_args_cmd", "\nFROM scratch\nCMD mycommand\n", (w("JSONArgsRecommended", "JSON arguments recommended "
         "for CMD to prevent unintended behavior related to OS signals", 3),)),
    Lint("json_args_entrypoint", "\nFROM scratch\nENTRYPOINT mycommand\n", (w("JSONArgsRecommended",
         "JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals", 3),)),
    Lint("json_args_cmd_custom_shell", '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n'),
    Lint("json_args_entrypoint_custom_shell", '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n'),
    Lint("json_args_cmd_shell_of_base_stage", '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\n'
         "FROM base\nCMD mycommand\n"),
    Lint("json_args_entrypoint_shell_of_base_stage", '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\n'
         "FROM base\nENTRYPOINT mycommand\n"),
    # -- testMaintainerDeprecated
    Lint("maintainer_deprecated", "\nFROM scratch\nMAINTAINER me@example.org\n",
         (w("MaintainerDeprecated", MAINTAINER, 3),)),
    Lint("maintainer_as_label", '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n'),
    Lint("skip_comment_cmd", "\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n"),
    Lint("skip_comment_entrypoint", "\nFROM scratch\n# check=skip=JSONArgsRecommended\nENTRYPOINT mycommand\n"),
    Lint("skip_comment_maintainer", "\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n"),
    # -- testUndeclaredArg
    Lint("arg_declared_for_from", "\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n"),
    Lint("automatic_arg_redeclared", "\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\n"
         "COPY Dockerfile .\n"),
    Lint("automatic_arg", "\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n"),
    Lint("declared_arg_without_value", "\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n"),
    Lint("declared_arg_with_default_expansion", "\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n"),
    Lint("declared_empty_arg", '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n'),
    Lint("undeclared_platform_arg", "\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n",
         (undeclared("BULIDPLATFORM", 2, "BUILDPLATFORM"),),
         error="empty platform value from expression $BULIDPLATFORM (did you mean BUILDPLATFORM?)"),
    # BuildKit then fails to parse the platform "linux/" (the build's error, not the checks')
    Lint("undeclared_arg_in_platform", "\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} "
         "busybox\nCOPY Dockerfile .\n\t", (undeclared("MYARCH", 4, "MY_ARCH"),)),
    Lint("undeclared_arg_in_image", "\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n",
         (undeclared("version", 3),)),
    # -- testWorkdirRelativePath
    Lint("workdir_relative", "\nFROM scratch\nWORKDIR app/\n", (w("WorkdirRelativePath", 'Relative workdir "app/" '
         "can have unexpected results if the base image changes", 3),)),
    Lint("workdir_relative_after_absolute_in_base_stage", "\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\n"
         "WORKDIR subdir/\n"),
    Lint("workdir_relative_skipped", "\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n"),
    # -- testUnmatchedVars
    Lint("arg_without_value_is_defined", "\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n"),
    Lint("arg_of_base_stage", "\nFROM alpine AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n"),
    Lint("path_of_the_image", "\nFROM alpine\nRUN echo $PATH\n"),
    Lint("used_before_declared", "\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n", (undefined("foo", 3),)),
    Lint("undefined_near_miss", "\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\n"
         "ARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n\t", (undefined("DIR_ASSET", 6, "DIR_ASSETS"),)),
    Lint("undefined_near_miss_of_path", "\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n\t\t",
         (undefined("PAHT", 3, "PATH"),)),
    # -- testMultipleInstructionsDisallowed: the earlier instruction is the one reported
    Lint("multiple_instructions", '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\n'
         'CMD ["/myapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
         (multiple("ENTRYPOINT", 3), multiple("CMD", 5), multiple("HEALTHCHECK", 7))),
    Lint("multiple_instructions_apart", '\nFROM scratch\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\n'
         'HEALTHCHECK CMD ["/myapp"]\nCOPY <<EOF /a.txt\nHello, World!\nEOF\nENTRYPOINT ["/myotherapp"]\n'
         'CMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
         (multiple("ENTRYPOINT", 3), multiple("CMD", 4), multiple("HEALTHCHECK", 5))),
    Lint("multiple_instructions_in_two_stages", '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\n'
         'HEALTHCHECK CMD ["/myapp"]\n\nFROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\n'
         'HEALTHCHECK CMD ["/myotherapp"]\n'),
    # -- testLegacyKeyValueFormat
    Lint("legacy_key_value", "\nFROM scratch\nENV testkey value\nLABEL key value\n",
         (w("LegacyKeyValueFormat", '"ENV key=value" should be used instead of legacy "ENV key value" format', 3),
          w("LegacyKeyValueFormat", '"LABEL key=value" should be used instead of legacy "LABEL key value" format',
            4))),
    Lint("key_value", "\nFROM scratch\nENV testkey=value\nLABEL key=value\n"),
    # BuildKit's test gives lines 3 and 4, which its --check comparison does not look at; they are 5 and 6
    Lint("legacy_key_value_in_unbuilt_stage", "\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\n"
         "LABEL key value\n\nFROM a AS c\n", check_warnings=(
             w("LegacyKeyValueFormat", '"ENV key=value" should be used instead of legacy "ENV key value" format', 5),
             w("LegacyKeyValueFormat", '"LABEL key=value" should be used instead of legacy "LABEL key value" format',
               6))),
    Lint("legacy_key_value_skipped", "\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n"
         "# check=skip=LegacyKeyValueFormat\nLABEL key value\n"),
    # -- testRedundantTargetPlatform
    Lint("redundant_target_platform", "\nFROM --platform=$TARGETPLATFORM scratch\n", (w("RedundantTargetPlatform",
         "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior", 2),)),
    Lint("redundant_target_platform_braces", "\nFROM --platform=${TARGETPLATFORM} scratch\n",
         (w("RedundantTargetPlatform", "Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as "
            "this is the default behavior", 2),)),
    Lint("redundant_target_platform_skipped", "\n# check=skip=RedundantTargetPlatform\n"
         "FROM --platform=$TARGETPLATFORM scratch\n"),
    # -- testInvalidDefaultArgInFrom (the --build-arg makes the build work; the default does not)
    Lint("invalid_default_arg_tag", "\nARG VERSION\nFROM busybox:$VERSION\n",
         (w("InvalidDefaultArgInFrom", "Default value for ARG busybox:$VERSION results in empty or invalid base "
            "image name", 3),), build_args={"VERSION": "latest"}),
    Lint("invalid_default_arg_image", "\nARG IMAGE\nFROM $IMAGE\n", (w("InvalidDefaultArgInFrom",
         "Default value for ARG $IMAGE results in empty or invalid base image name", 3),),
         build_args={"IMAGE": "busybox:latest"}),
    Lint("invalid_default_arg_suffix", '\nARG SFX="box:"\nFROM busy${SFX}\n', (w("InvalidDefaultArgInFrom",
         "Default value for ARG busy${SFX} results in empty or invalid base image name", 3),),
         build_args={"SFX": "box:latest"}),
    Lint("valid_default_arg", '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n', build_args={"VERSION": "latest"}),
    Lint("valid_empty_default_arg", '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n',
         build_args={"BUSYBOX_VARIANT": "-musl"}),
    Lint("valid_unset_default_arg", "\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t",
         build_args={"BUSYBOX_VARIANT": "-musl"}),
    # -- testFromPlatformFlagConstDisallowed
    Lint("const_platform", "\nFROM --platform=linux/amd64 scratch\n", (w("FromPlatformFlagConstDisallowed",
         'FROM --platform flag should not use constant value "linux/amd64"', 2),)),
    Lint("const_platform_named_for_its_arch", "\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n"),
    Lint("const_platform_named_for_its_os", "\nFROM --platform=linux/amd64 scratch AS linux\n"),
    # -- testExposeProtoCasing, testExposeInvalidFormat
    Lint("expose_proto_casing", "\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n", (
        w("ExposeProtoCasing", "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase", 3),
        w("ExposeProtoCasing", "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase", 3))),
    Lint("expose_invalid_format", "\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n", tuple(
        w("ExposeInvalidFormat", "EXPOSE instruction should not define an IP address or host-port mapping, "
          f"found '{port}'", 3) for port in ("127.0.0.1:80:80", "[::1]:8080:8080", "5000:5000"))),
]


def _check(case: Lint, *, build: bool) -> CheckResult:
    dockerfile = parse_dockerfile(case.dockerfile)
    stages = None
    if build:
        expand = make_expander(ShellLexer(dockerfile.escape), global_arg_values(dockerfile, case.build_args),
                               dockerfile)
        stages = plan_stages(dockerfile, None, True, expand).order
    ignore = DockerIgnore.parse(case.dockerignore) if case.dockerignore is not None else None
    return check_dockerfile(dockerfile, CheckInputs(build_args=case.build_args, ignore=ignore, stages=stages,
                                                    base_config=busybox_and_alpine))


def _found(result: CheckResult) -> list[tuple[str, str, int]]:
    # BuildKit's tests sort by line, then message
    return sorted(((w.rule.name, w.message, w.line) for w in result.warnings), key=lambda x: (x[2], x[1]))


def _expected(warnings: tuple[tuple[str, str, int], ...]) -> list[tuple[str, str, int]]:
    return sorted(warnings, key=lambda x: (x[2], x[1]))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_build_warnings(case: Lint) -> None:
    result = _check(case, build=True)
    assert _found(result) == _expected(case.warnings)
    failure = result.error or result.violation
    if case.error is None:
        assert failure is None, str(failure)
    else:
        assert failure is not None and case.error in str(failure)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_check_warnings(case: Lint) -> None:
    result = _check(case, build=False)
    wanted = case.warnings if case.check_warnings is None else case.check_warnings
    assert _found(result) == _expected(wanted)


# BuildKit's ruleset.go: (description, URL) of every rule lamina runs
RULESET = {
    "StageNameCasing": ("Stage names should be lowercase", "stage-name-casing"),
    "FromAsCasing": ("The 'as' keyword should match the case of the 'from' keyword", "from-as-casing"),
    "NoEmptyContinuation": ("Empty continuation lines will become errors in a future release",
                            "no-empty-continuation"),
    "ConsistentInstructionCasing": ("All commands within the Dockerfile should use the same casing (either upper "
                                    "or lower)", "consistent-instruction-casing"),
    "DuplicateStageName": ("Stage names should be unique", "duplicate-stage-name"),
    "ReservedStageName": ("Reserved words should not be used as stage names", "reserved-stage-name"),
    "JSONArgsRecommended": ("JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related "
                            "to OS signals", "json-args-recommended"),
    "MaintainerDeprecated": ("The MAINTAINER instruction is deprecated, use a label instead to define an image "
                             "author", "maintainer-deprecated"),
    "UndefinedArgInFrom": ("FROM command must use declared ARGs", "undefined-arg-in-from"),
    "WorkdirRelativePath": ("Relative workdir without an absolute workdir declared within the build can have "
                            "unexpected results if the base image changes", "workdir-relative-path"),
    "UndefinedVar": ("Variables should be defined before their use", "undefined-var"),
    "MultipleInstructionsDisallowed": ("Multiple instructions of the same type should not be used in the same "
                                       "stage", "multiple-instructions-disallowed"),
    "LegacyKeyValueFormat": ("Legacy key/value format with whitespace separator should not be used",
                             "legacy-key-value-format"),
    "RedundantTargetPlatform": ("Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is "
                                "the default behavior", "redundant-target-platform"),
    "SecretsUsedInArgOrEnv": ("Sensitive data should not be used in the ARG or ENV commands",
                              "secrets-used-in-arg-or-env"),
    "InvalidDefaultArgInFrom": ("Default value for global ARG results in an empty or invalid base image name",
                                "invalid-default-arg-in-from"),
    "FromPlatformFlagConstDisallowed": ("FROM --platform flag should not use a constant value",
                                        "from-platform-flag-const-disallowed"),
    "CopyIgnoredFile": ("Attempting to Copy file that is excluded by .dockerignore", "copy-ignored-file"),
    "InvalidDefinitionDescription": (
        "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If "
        "this is not intended to be a description comment, add an empty line or comment between the instruction "
        "and the comment.", "invalid-definition-description"),
    "ExposeProtoCasing": ("Protocol in EXPOSE instruction should be lowercase", "expose-proto-casing"),
    "ExposeInvalidFormat": ("IP address and host-port mapping should not be used in EXPOSE instruction. This will "
                            "become an error in a future release", "expose-invalid-format"),
}


def test_rules_are_buildkits() -> None:
    assert {rule.name: (rule.description, rule.url) for rule in ALL_RULES} == {
        name: (description, f"https://docs.docker.com/go/dockerfile/rule/{slug}/")
        for name, (description, slug) in RULESET.items()}
    assert [rule.name for rule in ALL_RULES if rule.experimental] == ["InvalidDefinitionDescription"]


# -- where lamina's checks differ, and what they add ------------------------------------------


def test_a_parse_error_stops_before_any_check() -> None:
    """testWarningsBeforeError: BuildKit also reports the two warnings before BADCMD; lamina's
    parser stops at the first error, so the error is all there is."""
    with pytest.raises(DockerfileError) as caught:
        parse_dockerfile("\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n")
    assert caught.value.line == 4 and "unknown instruction: BADCMD" in str(caught.value)


def test_unknown_base_image_reports_only_certain_undefined_variables() -> None:
    """Without the image's config (nothing is pulled), a variable it may define is not reported;
    one defined later in the stage, or a near miss of a defined name, still is."""
    text = ("FROM golang:1.22\nWORKDIR $GOPATH/src\nCOPY $SRC_DIR .\nARG SRC_DIR=src\nARG VERSION=1\n"
            "ENV APP_VERSION=$VERSON\n")
    result = check_dockerfile(parse_dockerfile(text))
    assert _found(result) == [undefined("SRC_DIR", 3), undefined("VERSON", 6, "VERSION")]
    config = BaseImageConfig(env=("GOPATH=/go", "PATH=/go/bin:/usr/bin"))
    known = check_dockerfile(parse_dockerfile(text), CheckInputs(base_config=lambda name: config))
    assert _found(known) == _found(result)
    bare = check_dockerfile(parse_dockerfile(text), CheckInputs(base_config=lambda name: BaseImageConfig()))
    assert undefined("GOPATH", 2, "PATH") in _found(bare)  # an image known to have no GOPATH


def test_image_shell_silences_json_args() -> None:
    text = "FROM mcr.example/windows\nCMD dir\n"
    assert [w.rule.name for w in check_dockerfile(parse_dockerfile(text)).warnings] == ["JSONArgsRecommended"]
    windows = BaseImageConfig(shell=("cmd", "/S", "/C"))
    assert check_dockerfile(parse_dockerfile(text), CheckInputs(base_config=lambda name: windows)).warnings == ()


def test_heredoc_bodies_and_mounts_are_expanded_like_buildkit() -> None:
    text = ("FROM scratch\nARG ID=x\nRUN --mount=type=cache,id=$ID,target=/c$CACHE true\n"
            "COPY <<EOF /a\n$BODY\nEOF\nCOPY <<'EOF' /b\n$LITERAL\nEOF\nUSER $WHO\nVOLUME /v/$VOL\nSTOPSIGNAL $STOP_SIGNAL\n")
    found = _found(check_dockerfile(parse_dockerfile(text)))
    assert [(name, line) for _, name, line in found] == [
        ("Usage of undefined variable '$CACHE'", 3), ("Usage of undefined variable '$BODY'", 4),
        ("Usage of undefined variable '$WHO'", 10), ("Usage of undefined variable '$VOL'", 11),
        ("Usage of undefined variable '$STOP_SIGNAL'", 12)]


def test_env_expands_with_the_scope_before_it() -> None:
    found = _found(check_dockerfile(parse_dockerfile("FROM scratch\nENV A=1 B=$A\nENV C=$A\n")))
    assert found == [undefined("A", 2)]


def test_build_args_define_args_and_global_args_reach_a_stage_arg() -> None:
    text = "ARG G=1\nFROM scratch\nARG G\nARG B\nARG C=$B\nCOPY $G$B$C /\nCOPY $G2 /\n"
    found = _found(check_dockerfile(parse_dockerfile(text), CheckInputs(build_args={"B": "2"})))
    assert found == [undefined("G2", 7, "G")]


def test_experimental_rules_run_only_when_named() -> None:
    text = "# a comment\nFROM scratch AS base\n"
    assert check_dockerfile(parse_dockerfile(text)).warnings == ()
    named = check_dockerfile(parse_dockerfile("# check=experimental=all\n" + text))
    assert [w.rule.name for w in named.warnings] == ["InvalidDefinitionDescription"]


@pytest.mark.parametrize(("value", "message"), [
    ("skip", 'invalid check option "skip"'),
    ("error=maybe", 'failed to parse check option "error=maybe": strconv.ParseBool: parsing "maybe": invalid syntax'),
    ("colour=red", 'invalid check option "colour"'),
])
def test_bad_check_directive_is_an_error_on_its_line(value: str, message: str) -> None:
    dockerfile = parse_dockerfile(f"# syntax=docker/dockerfile:1\n# check={value}\nFROM scratch\n")
    with pytest.raises(DockerfileError) as caught:
        check_dockerfile(dockerfile)
    assert caught.value.line == 2 and str(caught.value) == f"Dockerfile:2: failed to parse check options: {message}"


def test_check_options() -> None:
    assert CheckConfig.parse(" skip = A , B ; error = 1 ") == CheckConfig(skip=frozenset({"A", "B"}), error=True)
    assert CheckConfig.parse("skip=all;experimental=all").skip_all
    # a comment's check= counts up to its first space; the first such comment wins
    config = CheckConfig().with_comments(["check=skip=A // why", "check=skip=B"])
    assert config.skip == {"A"}
    assert CheckConfig(error=True).with_comments(["check=error=false"]).error  # comments only skip


def test_report_is_docker_build_check_output() -> None:
    dockerfile = parse_dockerfile("FROM scratch as base\nCOPY a b\n")
    report = check_report(check_dockerfile(dockerfile), dockerfile)
    assert report == (
        "Check complete, 1 warning has been found!\n"
        "\n"
        "WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/\n"
        "'as' and 'FROM' keywords' casing do not match\n"
        "Dockerfile:1\n"
        "--------------------\n"
        "   1 | >>> FROM scratch as base\n"
        "   2 |     COPY a b\n"
        "   3 |     \n"
        "--------------------\n")
    clean = parse_dockerfile("FROM scratch\n")
    assert check_report(check_dockerfile(clean), clean) == "Check complete, no warnings found.\n"


def test_report_of_a_violation_and_of_a_stopping_error() -> None:
    dockerfile = parse_dockerfile("# check=error=true\nFROM scratch\nMAINTAINER me\n")
    result = check_dockerfile(dockerfile)
    assert result.violation is not None and result.violation.line == 3
    assert check_report(result, dockerfile).endswith("\n\nlint violation found for rules: MaintainerDeprecated\n"
                                                     "Dockerfile:3\n--------------------\n"
                                                     "   1 |     # check=error=true\n   2 |     FROM scratch\n"
                                                     "   3 | >>> MAINTAINER me\n   4 |     \n"
                                                     "--------------------\n")
    blank = parse_dockerfile("ARG IMAGE\nFROM $IMAGE\n")
    stopped = check_dockerfile(blank)
    assert stopped.error is not None and "base name ($IMAGE) should not be blank" in str(stopped.error)
    assert "\nbase name ($IMAGE) should not be blank\nDockerfile:2\n" in check_report(stopped, blank)


def test_warning_short_line_is_buildkits() -> None:
    (warning,) = check_dockerfile(parse_dockerfile("FROM scratch\nWORKDIR app\n")).warnings
    assert warning.short == ('WorkdirRelativePath: Relative workdir "app" can have unexpected results if the base '
                             "image changes (line 2)")


# -- # syntax= and RUN --security=insecure ------------------------------------------------------


@pytest.mark.parametrize("syntax", [
    "docker/dockerfile:1", "docker/dockerfile:1.7", "docker/dockerfile:1.7.1", "docker/dockerfile:1.7-labs",
    "docker/dockerfile:1-labs", "docker/dockerfile:labs", "docker/dockerfile", "docker.io/docker/dockerfile:1",
    "docker.io/docker/dockerfile:1.4@sha256:" + "a" * 64, "docker/dockerfile@sha256:" + "0" * 64,
    "docker/dockerfile-upstream:master", "docker/dockerfile:1.0-experimental", "docker/dockerfile:experimental",
])
def test_known_dockerfile_frontends(syntax: str) -> None:
    assert is_dockerfile_frontend(syntax)
    assert build_notices(parse_dockerfile(f"# syntax={syntax}\nFROM scratch\n")) == []


@pytest.mark.parametrize("syntax", ["tonistiigi/dockerfile:runmount", "docker/dockerfile:2", "example.com/x:1",
                                    "docker/dockerfile:1.7@sha256:short", "docker/dockerfile:0.9"])
def test_unknown_syntax_is_one_notice_naming_it(syntax: str) -> None:
    (notice,) = build_notices(parse_dockerfile(f"# escape=\\\n# syntax={syntax}\nFROM scratch\n"))
    assert notice.startswith("Dockerfile:2: ") and f"# syntax={syntax} " in notice and "\n" not in notice


def test_run_security_insecure_is_one_notice() -> None:
    text = "FROM scratch\nRUN --security=insecure a\nRUN --security=sandbox b\nRUN --security=insecure c\n"
    (notice,) = build_notices(parse_dockerfile(text))
    assert "RUN --security=insecure (lines 2, 4)" in notice

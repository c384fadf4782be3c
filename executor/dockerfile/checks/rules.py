"""BuildKit's build-check rules, as ``frontend/dockerfile/linter/ruleset.go`` defines them: each
rule's name, description and documentation URL, and the message it formats. The messages are
BuildKit's, word for word, so that ``--check`` output and build warnings read as docker's."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_RULES", "Rule", "COPY_IGNORED_FILE", "CONSISTENT_INSTRUCTION_CASING", "DUPLICATE_STAGE_NAME",
    "EXPOSE_INVALID_FORMAT", "EXPOSE_PROTO_CASING", "FROM_AS_CASING", "FROM_PLATFORM_FLAG_CONST_DISALLOWED",
    "INVALID_DEFAULT_ARG_IN_FROM", "INVALID_DEFINITION_DESCRIPTION", "JSON_ARGS_RECOMMENDED",
    "LEGACY_KEY_VALUE_FORMAT", "MAINTAINER_DEPRECATED", "MULTIPLE_INSTRUCTIONS_DISALLOWED",
    "NO_EMPTY_CONTINUATION", "REDUNDANT_TARGET_PLATFORM", "RESERVED_STAGE_NAME", "SECRETS_USED_IN_ARG_OR_ENV",
    "STAGE_NAME_CASING", "UNDEFINED_ARG_IN_FROM", "UNDEFINED_VAR", "WORKDIR_RELATIVE_PATH",
]

_DOCS = "https://docs.docker.com/go/dockerfile/rule/"


@dataclass(frozen=True)
class Rule:
    """One check. An ``experimental`` rule runs only when ``# check=experimental=...`` names it
    (or says ``all``), and ``skip=`` does not apply to it (BuildKit's ``Linter.Run``)."""

    name: str
    description: str
    slug: str
    experimental: bool = False

    @property
    def url(self) -> str:
        return _DOCS + self.slug + "/"


STAGE_NAME_CASING = Rule("StageNameCasing", "Stage names should be lowercase", "stage-name-casing")
FROM_AS_CASING = Rule("FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword",
                      "from-as-casing")
NO_EMPTY_CONTINUATION = Rule("NoEmptyContinuation",
                             "Empty continuation lines will become errors in a future release",
                             "no-empty-continuation")
CONSISTENT_INSTRUCTION_CASING = Rule(
    "ConsistentInstructionCasing",
    "All commands within the Dockerfile should use the same casing (either upper or lower)",
    "consistent-instruction-casing")
DUPLICATE_STAGE_NAME = Rule("DuplicateStageName", "Stage names should be unique", "duplicate-stage-name")
RESERVED_STAGE_NAME = Rule("ReservedStageName", "Reserved words should not be used as stage names",
                           "reserved-stage-name")
JSON_ARGS_RECOMMENDED = Rule(
    "JSONArgsRecommended",
    "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
    "json-args-recommended")
MAINTAINER_DEPRECATED = Rule(
    "MaintainerDeprecated",
    "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
    "maintainer-deprecated")
UNDEFINED_ARG_IN_FROM = Rule("UndefinedArgInFrom", "FROM command must use declared ARGs", "undefined-arg-in-from")
WORKDIR_RELATIVE_PATH = Rule(
    "WorkdirRelativePath",
    "Relative workdir without an absolute workdir declared within the build can have unexpected "
    "results if the base image changes",
    "workdir-relative-path")
UNDEFINED_VAR = Rule("UndefinedVar", "Variables should be defined before their use", "undefined-var")
MULTIPLE_INSTRUCTIONS_DISALLOWED = Rule(
    "MultipleInstructionsDisallowed",
    "Multiple instructions of the same type should not be used in the same stage",
    "multiple-instructions-disallowed")
LEGACY_KEY_VALUE_FORMAT = Rule("LegacyKeyValueFormat",
                               "Legacy key/value format with whitespace separator should not be used",
                               "legacy-key-value-format")
REDUNDANT_TARGET_PLATFORM = Rule(
    "RedundantTargetPlatform",
    "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
    "redundant-target-platform")
SECRETS_USED_IN_ARG_OR_ENV = Rule("SecretsUsedInArgOrEnv",
                                  "Sensitive data should not be used in the ARG or ENV commands",
                                  "secrets-used-in-arg-or-env")
INVALID_DEFAULT_ARG_IN_FROM = Rule(
    "InvalidDefaultArgInFrom",
    "Default value for global ARG results in an empty or invalid base image name",
    "invalid-default-arg-in-from")
FROM_PLATFORM_FLAG_CONST_DISALLOWED = Rule("FromPlatformFlagConstDisallowed",
                                           "FROM --platform flag should not use a constant value",
                                           "from-platform-flag-const-disallowed")
COPY_IGNORED_FILE = Rule("CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore",
                         "copy-ignored-file")
INVALID_DEFINITION_DESCRIPTION = Rule(
    "InvalidDefinitionDescription",
    "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. "
    "If this is not intended to be a description comment, add an empty line or comment between the "
    "instruction and the comment.",
    "invalid-definition-description", experimental=True)
EXPOSE_PROTO_CASING = Rule("ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
                           "expose-proto-casing")
EXPOSE_INVALID_FORMAT = Rule(
    "ExposeInvalidFormat",
    "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an "
    "error in a future release",
    "expose-invalid-format")

ALL_RULES = (
    STAGE_NAME_CASING, FROM_AS_CASING, NO_EMPTY_CONTINUATION, CONSISTENT_INSTRUCTION_CASING,
    DUPLICATE_STAGE_NAME, RESERVED_STAGE_NAME, JSON_ARGS_RECOMMENDED, MAINTAINER_DEPRECATED,
    UNDEFINED_ARG_IN_FROM, WORKDIR_RELATIVE_PATH, UNDEFINED_VAR, MULTIPLE_INSTRUCTIONS_DISALLOWED,
    LEGACY_KEY_VALUE_FORMAT, REDUNDANT_TARGET_PLATFORM, SECRETS_USED_IN_ARG_OR_ENV,
    INVALID_DEFAULT_ARG_IN_FROM, FROM_PLATFORM_FLAG_CONST_DISALLOWED, COPY_IGNORED_FILE,
    INVALID_DEFINITION_DESCRIPTION, EXPOSE_PROTO_CASING, EXPOSE_INVALID_FORMAT,
)


# -- the messages (ruleset.go's Format functions) ---------------------------------------------

def stage_name_casing(name: str) -> str:
    return f"Stage name '{name}' should be lowercase"


def from_as_casing(from_: str, as_: str) -> str:
    return f"'{as_}' and '{from_}' keywords' casing do not match"


def consistent_instruction_casing(command: str, casing: str) -> str:
    return f"Command '{command}' should match the case of the command majority ({casing})"


def duplicate_stage_name(name: str) -> str:
    return f"Duplicate stage name {go_quote(name)}, stage names should be unique"


def reserved_stage_name(name: str) -> str:
    return f"Stage name should not use the same name as reserved stage {go_quote(name)}"


def json_args_recommended(instruction: str) -> str:
    return f"JSON arguments recommended for {instruction} to prevent unintended behavior related to OS signals"


def undefined_arg_in_from(arg: str, suggestion: str) -> str:
    return f"FROM argument '{arg}' is not declared" + (f" (did you mean {suggestion}?)" if suggestion else "")


def workdir_relative_path(workdir: str) -> str:
    return f"Relative workdir {go_quote(workdir)} can have unexpected results if the base image changes"


def undefined_var(name: str, suggestion: str) -> str:
    return f"Usage of undefined variable '${name}'" + (f" (did you mean ${suggestion}?)" if suggestion else "")


def multiple_instructions_disallowed(instruction: str) -> str:
    return (f"Multiple {instruction} instructions should not be used in the same stage because only the last "
            "one will be used")


def legacy_key_value_format(instruction: str) -> str:
    return f'"{instruction} key=value" should be used instead of legacy "{instruction} key value" format'


def redundant_target_platform(platform: str) -> str:
    return f"Setting platform to predefined {platform} in FROM is redundant as this is the default behavior"


def secrets_used_in_arg_or_env(instruction: str, key: str) -> str:
    return f"Do not use ARG or ENV instructions for sensitive data ({instruction} {go_quote(key)})"


def invalid_default_arg_in_from(base: str) -> str:
    return f"Default value for ARG {base} results in empty or invalid base image name"


def from_platform_flag_const_disallowed(platform: str) -> str:
    return f"FROM --platform flag should not use constant value {go_quote(platform)}"


def copy_ignored_file(command: str, path: str) -> str:
    return f"Attempting to {command} file {go_quote(path)} that is excluded by .dockerignore"


def invalid_definition_description(instruction: str, name: str) -> str:
    return f"Comment for {instruction} should follow the format: `# {name} <description>`"


def expose_proto_casing(port: str) -> str:
    return f"Defined protocol '{port}' in EXPOSE instruction should be lowercase"


def expose_invalid_format(port: str) -> str:
    return f"EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'"


def go_quote(text: str) -> str:
    """Go's ``%q`` for the printable text these messages quote."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x80 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'

"""Which checks run, and whether a warning fails the build: the ``# check=`` directive (or the
``BUILDKIT_DOCKERFILE_CHECK`` build arg, which replaces it), and the ``# check=skip=...`` comments
right before one instruction, which skip rules for that instruction only. BuildKit's
``linter.ParseLintOptions`` and ``Linter.WithMergedConfigFromComments``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from executor.dockerfile.checks.rules import Rule, go_quote

__all__ = ["CheckConfig", "CheckOptionError"]

# A directive written as a comment's text (the "#" already gone): BuildKit's directiveRegexp.
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_DIRECTIVE_NAMES = frozenset({"syntax", "escape", "check"})
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class CheckOptionError(ValueError):
    """A ``check=`` value BuildKit refuses; the message is BuildKit's."""


@dataclass(frozen=True)
class CheckConfig:
    skip_all: bool = False
    skip: frozenset[str] = frozenset()
    experimental_all: bool = False
    experimental: frozenset[str] = frozenset()
    error: bool = False  # a warning fails the build ("lint violation found for rules: ...")

    @classmethod
    def parse(cls, text: str) -> CheckConfig:
        """``skip=A,B|all;error=true;experimental=C|all``; raises ``CheckOptionError``."""
        text = text.strip()
        if not text:
            return cls()
        config = cls()
        for part in text.split(";", 2):
            key, eq, value = part.partition("=")
            if not eq:
                raise CheckOptionError(f"invalid check option {go_quote(part)}")
            key, value = key.strip(), value.strip()
            if key in ("skip", "experimental"):
                names = frozenset(name.strip() for name in value.split(","))
                if key == "skip":
                    config = replace(config, skip_all=True) if value == "all" else replace(config, skip=names)
                else:
                    config = (replace(config, experimental_all=True) if value == "all"
                              else replace(config, experimental=names))
            elif key == "error":
                if value not in _GO_TRUE | _GO_FALSE:
                    raise CheckOptionError(f"failed to parse check option {go_quote(part)}: strconv.ParseBool: "
                                           f"parsing {go_quote(value)}: invalid syntax")
                config = replace(config, error=value in _GO_TRUE)
            else:
                raise CheckOptionError(f"invalid check option {go_quote(key)}")
        return config

    def merged(self, other: CheckConfig) -> CheckConfig:
        """``other`` adds skips and experimental rules; whether warnings are errors stays ours."""
        return replace(self, skip_all=self.skip_all or other.skip_all, skip=self.skip | other.skip,
                       experimental_all=self.experimental_all or other.experimental_all,
                       experimental=self.experimental | other.experimental)

    def with_comments(self, comments: Iterable[str]) -> CheckConfig:
        """The config for one instruction: the first ``check=`` among the comments before it (a
        comment's text up to its first space), merged in; a malformed one is ignored."""
        for comment in comments:
            match = _DIRECTIVE.match(comment.lstrip())
            if match is None or match.group(1).lower() not in _DIRECTIVE_NAMES:
                continue
            if match.group(1).lower() != "check":
                continue
            try:
                return self.merged(CheckConfig.parse(match.group(2).split(" ", 1)[0]))
            except CheckOptionError:
                return self
        return self

    def runs(self, rule: Rule) -> bool:
        if rule.experimental:
            return self.experimental_all or rule.name in self.experimental
        return not (self.skip_all or rule.name in self.skip)

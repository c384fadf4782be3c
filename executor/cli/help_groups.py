"""``executor --help`` in the groups kaniko's README sorts its flags into: build, registry, cache,
output, snapshot, logging, and the kaniko spellings accepted without effect.

Flags are added by several modules (registry_flags, snapshot_flags, context_flags, ...); the
groups are assigned here, by flag, after the parser is built, so a module adding a flag changes
nothing here to keep working. A flag missing from :data:`GROUPS` still shows, in the group its
name suggests (:func:`guess_group`), and tests/cli/test_help.py lists it as a failure so it gets
its group."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

__all__ = ["GROUPS", "group_of", "grouped_actions", "grouped_help", "guess_group", "long_name"]

GROUPS: dict[str, tuple[str, ...]] = {
    "build": ("--dockerfile", "--context", "--context-sub-path", "--git", "--build-context",
              "--build-arg", "--secret", "--ssh", "--target", "--skip-unused-stages", "--check",
              "--dryrun", "--kaniko-dir", "--root", "--network", "--force", "--cleanup",
              "--pre-cleanup", "--materialize", "--require-confinement", "--confine-run",
              "--custom-platform", "--platform"),
    "registry": ("--insecure", "--insecure-pull", "--skip-tls-verify", "--skip-tls-verify-pull",
                 "--registry-certificate", "--registry-client-cert", "--skip-tls-verify-registry",
                 "--insecure-registry", "--credential-helpers", "--registry-mirror", "--registry-map",
                 "--image-download-retry", "--skip-default-registry-fallback", "--push-retry",
                 "--image-fs-extract-retry", "--skip-push-permission-check",
                 "--push-ignore-immutable-tag-errors"),
    "cache": ("--cache", "--cache-repo", "--cache-ttl", "--cache-dir", "--cache-run-layers",
              "--cache-copy-layers", "--no-push-cache"),
    "output": ("--destination", "--no-push", "--label", "--annotation", "--tar-path", "--digest-file",
               "--image-format", "--oci-layout-path", "--image-name-with-digest-file",
               "--image-name-tag-with-digest-file", "--sbom", "--provenance"),
    "snapshot": ("--snapshot-mode", "--compression", "--compression-level", "--single-snapshot",
                 "--reproducible", "--source-date-epoch", "--ignore-path", "--ignore-var-run"),
    "logging": ("--help", "--log-format", "--verbosity", "--log-timestamp", "--build-report"),
    "kaniko compatibility (accepted, no effect in lamina)": (
        "--compressed-caching", "--use-new-run", "--force-build-metadata", "--preserve-context",
        "--whitelist-var-run", "--snapshotMode", "--customPlatform", "--tarPath"),
}
_GUESSES = (("cache", "cache"), ("log", "logging"), ("verbos", "logging"), ("report", "logging"),
            ("registry", "registry"), ("tls", "registry"), ("insecure", "registry"),
            ("retry", "registry"), ("snapshot", "snapshot"), ("compress", "snapshot"),
            ("timestamp", "snapshot"), ("digest", "output"), ("image", "output"),
            ("push", "output"), ("tar", "output"))
_BY_FLAG = {flag: group for group, flags in GROUPS.items() for flag in flags}


def long_name(action: argparse.Action) -> str:
    """``--dockerfile`` for ``-f/--dockerfile``: the name a group lists."""
    return next((name for name in action.option_strings if name.startswith("--")),
                action.option_strings[0] if action.option_strings else action.dest)


def guess_group(flag: str) -> str:
    """The group a flag not in GROUPS lands in: the first word of its name that says one."""
    return next((group for word, group in _GUESSES if word in flag.lower()), "build")


def group_of(action: argparse.Action) -> str | None:
    """The group the flag is listed in, or None if it is not (it then shows in its guess)."""
    return _BY_FLAG.get(long_name(action))


def grouped_actions(actions: Iterable[argparse.Action]) -> list[tuple[str, list[argparse.Action]]]:
    """The visible flags by group, in GROUPS' order, each group in the order flags were added."""
    groups: dict[str, list[argparse.Action]] = {title: [] for title in GROUPS}
    for action in actions:
        if action.help == argparse.SUPPRESS:
            continue
        groups[group_of(action) or guess_group(long_name(action))].append(action)
    return [(f"{title} flags", members) for title, members in groups.items() if members]


def grouped_help(parser: argparse.ArgumentParser) -> str:
    """``parser``'s --help text with its flags in the groups above."""
    formatter = parser._get_formatter()
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    formatter.add_text(parser.description)
    for title, actions in grouped_actions(parser._actions):
        formatter.start_section(title)
        formatter.add_arguments(actions)
        formatter.end_section()
    formatter.add_text(parser.epilog)
    return formatter.format_help()

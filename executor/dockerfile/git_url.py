"""Which source words name a git repository, as BuildKit decides for ``ADD <src>`` and
``--build-context NAME=<value>`` (frontend/dockerfile/dfgitutil/git_ref.go ``ParseGitRef``,
util/gitutil/git_url.go ``ParseURL``, util/sshutil/scpurl.go): ``ssh://``, ``git://``, scp-like
``user@host:path``, and ``http(s)://`` only when the path ends in ``.git``. The fragment is
``#ref[:subdir]``; the query form ``?ref=|tag=|branch=|subdir=|checksum=|keep-git-dir=|submodules=``
is read too.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

__all__ = ["GitURL", "parse_git_url"]

_PROTOCOL = re.compile(r"^([a-zA-Z0-9]+)://")
_SCP = re.compile(r"^([a-zA-Z0-9\-_]+)@([a-zA-Z0-9\-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$")
_GIT_SCHEMES = ("http", "https", "ssh", "git")
_TRUE, _FALSE = ("1", "t", "true"), ("0", "f", "false")  # Go's strconv.ParseBool


@dataclass(frozen=True)
class GitURL:
    """A git source: the remote git is given (fragment and query removed; credentials in it are
    split off by the cloner) and what to take from it."""

    remote: str
    ref: str = ""  # branch, tag, full ref name or commit; "" for the default branch
    subdir: str = ""  # cleaned, relative; "" for the whole tree
    checksum: str = ""  # ?checksum= / ?commit=: a hex prefix of the commit
    keep_git_dir: bool | None = None  # ?keep-git-dir=
    submodules: bool = True  # ?submodules=false skips them

    def shown(self) -> str:
        """The remote for logs and errors: a password or token in it is left out (over http(s)
        a user name alone may be a token; an ssh user name is kept)."""
        parts = urlsplit(self.remote)
        if "@" not in parts.netloc or not parts.scheme:
            return self.remote
        userinfo, _, host = parts.netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if parts.scheme in ("http", "https"):
            shown = "xxxxx@"
        else:
            shown = f"{user}:xxxxx@" if colon else f"{user}@"
        return urlunsplit(parts._replace(netloc=shown + host))


def parse_git_url(word: str) -> GitURL | None:
    """The git source ``word`` names, or None when it is no git URL (a path, an http(s) URL of a
    file, an unknown scheme). A git URL with a malformed query raises ``ValueError``."""
    if word.startswith(("./", "../")):
        return None
    protocol = _PROTOCOL.match(word)
    if protocol is not None:
        scheme = protocol.group(1).lower()
        if scheme not in _GIT_SCHEMES:
            return None
        parts = urlsplit(word)
        if scheme in ("http", "https") and not parts.path.endswith(".git"):
            return None  # BuildKit: an http(s) URL is a git source only with the .git suffix
        remote = urlunsplit(parts._replace(query="", fragment=""))
        return _with_options(GitURL(remote=remote), parts.fragment, parts.query)
    scp = _SCP.match(word)
    if scp is None:
        return None
    user, host, path, query, fragment = scp.groups()
    return _with_options(GitURL(remote=f"{user}@{host}:{path}"), fragment or "", query or "")


def _with_options(url: GitURL, fragment: str, query: str) -> GitURL:
    ref, _, subdir = fragment.partition(":")
    fields: dict[str, Any] = {"ref": ref, "subdir": _clean(subdir)}
    values = parse_qs(query, keep_blank_values=True) if query else {}
    tag = branch = ""
    for key, found in values.items():
        if len(found) > 1:
            raise ValueError(f"query {key!r} has multiple values")
        value = found[0]
        match key:
            case "ref" | "subdir":
                cleaned = value if key == "ref" else _clean(value)
                if fields[key] and fields[key] != cleaned:
                    raise ValueError(f"{key} conflicts: {fields[key]!r} vs {cleaned!r}")
                fields[key] = cleaned
            case "tag":
                tag = value if value.startswith("refs/tags/") else f"refs/tags/{value}"
            case "branch":
                branch = value if value.startswith("refs/heads/") else f"refs/heads/{value}"
            case "checksum" | "commit":
                fields["checksum"] = value
            case "keep-git-dir" | "submodules":
                fields[key.replace("-", "_")] = _bool(key, value)
            case _:
                raise ValueError(f"unexpected query {key!r}")
    if tag and branch:
        raise ValueError("branch conflicts with tag")
    for named in (tag, branch):
        if named and fields["ref"] and fields["ref"] != named:
            raise ValueError(f"ref conflicts: {fields['ref']!r} vs {named!r}")
        fields["ref"] = named or fields["ref"]
    return GitURL(remote=url.remote, **fields)


def _clean(subdir: str) -> str:
    return posixpath.normpath("/" + subdir).lstrip("/") if subdir else ""


def _bool(key: str, value: str) -> bool:
    if value == "" or value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"invalid {key} value: {value!r}")

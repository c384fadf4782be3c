"""ADD <git URL>: a repository cloned at a ref and its tree (or a subdirectory) copied, as
BuildKit's dockerfile2llb dispatchCopy does with ``llb.Git`` (frontend/dockerfile/dockerfile2llb/
convert_copy.go) and its git source checks out (source/git/source.go).

- The ref (``#ref``, ``?ref=``/``?tag=``/``?branch=``) is resolved with ``ls-remote`` before the
  step runs, a branch winning over a tag of the name; that commit is what the cache key holds and
  what is checked out. A full commit id as the ref is taken as it is.
- ``--checksum=<hex>`` must be a prefix of that commit (or of the annotated tag's object id);
  otherwise the step fails with BuildKit's "expected checksum to match ..., got ...".
- ``.git`` is left out unless ``--keep-git-dir=true`` (or ``?keep-git-dir=true``), and only the
  whole tree keeps it (BuildKit: KeepGitDir with subdir "."). Files have the modes git records
  (0644/0755), the checkout's mtimes (BuildKit's default ``mtime=checkout``) and root's ownership
  unless ``--chown``. Submodules are checked out too unless ``?submodules=false``.
- Credentials: ``https://user:token@host/...`` or BuildKit's ``GIT_AUTH_TOKEN[.host]`` secret (see
  ``executor.commands.add``) go to git as a header scoped to the host, as for git:// contexts
  (executor/contexts/git.py, whose clone this is); an ssh URL uses the ssh of the machine.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from executor.contexts.errors import ContextError
from executor.contexts.git import GitOptions, GitRepository
from executor.dockerfile.git_url import GitURL
from snapshot.rootfs import SymlinkLoop, resolve_in_root

__all__ = ["GitSource", "check_git_checksum"]

_FULL_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-fA-F]+")


def check_git_checksum(value: str) -> str:
    """``--checksum`` for a git source: a commit id or a prefix of one (source/git: "expected hex
    commit hash")."""
    if not _HEX.fullmatch(value):
        raise ValueError(f"invalid checksum {value} for Git URL, expected hex commit hash")
    return value


def _split_credentials(remote: str) -> tuple[str, str]:
    """An http(s) URL without its ``user:password@`` (which then travels as a header, never on
    git's command line or in the kept ``.git/config``), and those credentials."""
    parts = urlsplit(remote)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return remote, ""
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)), unquote(userinfo)


@dataclass(frozen=True)
class GitSource:
    url: GitURL
    repository: GitRepository

    @classmethod
    def of(cls, url: GitURL) -> GitSource:
        remote, credentials = _split_credentials(url.remote)
        ref, commit = url.ref, ""
        if _FULL_COMMIT.fullmatch(ref):
            ref, commit = "", ref
        # a branch or tag: only its tip is needed; a commit may be anywhere in the history
        options = GitOptions(depth=0 if commit else 1, single_branch=not commit,
                             recurse_submodules=url.submodules)
        return cls(url, GitRepository(location="", ref=ref, commit=commit, options=options,
                                      url_credentials=credentials, remote=remote))

    def describe(self) -> str:
        return self.url.shown() + (f"#{self.url.ref}" if self.url.ref else "")

    def resolve(self, env: Mapping[str, str], checksum: str) -> str:
        """The commit to check out; ``checksum`` (if any) must be a prefix of it or of the
        annotated tag's id."""
        commit, tag = self.repository.resolve(env)
        checksum = checksum or self.url.checksum
        if checksum and not (commit.startswith(checksum) or (tag and tag.startswith(checksum))):
            raise ContextError(self.describe(), f"expected checksum to match {checksum}, got {commit}"
                               + (f" or {tag}" if tag else ""), kind="ADD git source")
        return commit

    def checkout(self, directory: Path, commit: str, env: Mapping[str, str],
                 keep_git_dir: bool | None) -> Path:
        """Clone at ``commit`` below ``directory``; the directory to copy (the tree, or the
        subdirectory, resolved inside the clone so a link in the repository cannot lead out)."""
        into = Path(tempfile.mkdtemp(dir=directory, prefix="git-"))
        replace(self.repository, commit=commit).checkout(into, env)
        keep = keep_git_dir if keep_git_dir is not None else bool(self.url.keep_git_dir)
        if not keep or self.url.subdir:
            shutil.rmtree(into / ".git", ignore_errors=True)
        if not self.url.subdir:
            return into
        try:
            found = resolve_in_root(into, self.url.subdir)
        except SymlinkLoop as error:
            raise ContextError(self.describe(), str(error), kind="ADD git source") from None
        if not found.is_dir():
            raise ContextError(self.describe(), f"subdirectory {self.url.subdir!r} is not a directory "
                               f"in the repository at {commit}", kind="ADD git source")
        return found

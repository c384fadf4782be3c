"""``git://host/repo.git#ref[#commit]`` contexts, cloned over https (http with
``GIT_PULL_METHOD=http``) by the system ``git``, as kaniko does with go-git; ``--git``'s
options (``GitOptions.parse``) say which branch, how deep and whether to check TLS.

Credentials (``GIT_USERNAME``/``GIT_PASSWORD``, or ``GIT_TOKEN``) go to git as an
``Authorization`` header in environment-only configuration scoped to the repository's host:
never in a URL, a command line (``ps``) or a log line.
"""

from __future__ import annotations

import base64
import logging
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from executor.errors import UsageError

from .errors import ContextError

__all__ = ["GitOptions", "GitRepository", "parse_git_context"]

log = logging.getLogger("lamina")

GIT_TIMEOUT = 30 * 60  # seconds for one git command: big repositories are slow, hung ones stop
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_FULL_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def parse_git_context(rest: str, options: GitOptions) -> GitRepository:
    """``host/repo.git#ref#commit`` (after ``git://``) into a repository to clone."""
    location, _, fragment = rest.partition("#")
    ref, _, commit = fragment.partition("#")
    userinfo, at, host_path = location.partition("@")
    if at and "/" not in userinfo:
        # git://TOKEN@host/repo.git: the credentials leave the URL (and so every log line and
        # the git command line) and travel like GIT_USERNAME/GIT_PASSWORD.
        location = host_path
    else:
        userinfo = ""
    if not location or "/" not in location.strip("/"):
        raise ValueError("expected git://HOST/PATH/REPO.git[#REF[#COMMIT]]")
    if commit and not _COMMIT.fullmatch(commit):
        raise ValueError(f"{commit!r} is not a commit id (hexadecimal)")
    if not commit and _FULL_COMMIT.fullmatch(ref):
        ref, commit = "", ref  # "#<sha>" alone: a commit on the default branch's history
    return GitRepository(location=location, ref=ref, commit=commit, options=options,
                         url_credentials=unquote(userinfo))


_TRUE = ("1", "t", "true")  # Go's strconv.ParseBool, which kaniko uses, case-insensitively
_FALSE = ("0", "f", "false")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class GitOptions:
    """kaniko's ``--git branch=,single-branch=,recurse-submodules=,insecure-skip-tls=`` (and
    ``depth=`` of the osscontainertools fork) for git:// contexts."""

    branch: str = ""  # a branch or tag name; overrides the #ref of the context URL
    single_branch: bool = False
    recurse_submodules: bool = False
    depth: int = 0  # commits of history to fetch; 0: all of it
    insecure_skip_tls: bool = False  # accept any certificate from the repository's host

    @classmethod
    def parse(cls, values: Sequence[str]) -> GitOptions:
        """The repeated ``--git KEY=VALUE`` flags, each checked as it comes (as kaniko's flag
        value does), a later one winning; an unknown key or a malformed value is a usage error."""
        options = cls()
        for item in values:
            key, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"--git {item!r}: expected KEY=VALUE")
            match key:
                case "branch":
                    options = replace(options, branch=value)
                case "single-branch":
                    options = replace(options, single_branch=_bool(key, value))
                case "recurse-submodules":
                    options = replace(options, recurse_submodules=_bool(key, value))
                case "depth":
                    if not _DIGITS.fullmatch(value):
                        raise UsageError(f"--git depth={value}: expected a number of commits "
                                         "(0: the whole history)")
                    options = replace(options, depth=int(value))
                case "insecure-skip-tls":
                    options = replace(options, insecure_skip_tls=_bool(key, value))
                case _:
                    raise UsageError(f"--git {item!r}: unknown key {key!r}; use branch, single-branch, "
                                     "depth, recurse-submodules or insecure-skip-tls")
        return options


def _bool(key: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise UsageError(f"--git {key}={value}: expected true or false")


@dataclass(frozen=True)
class GitRepository:
    location: str  # host[:port]/path/repo.git
    ref: str = ""  # refs/heads/x, refs/tags/v1, refs/pull/1/head, or a short branch/tag name
    commit: str = ""
    options: GitOptions = field(default_factory=GitOptions)
    url_credentials: str = field(default="", repr=False)  # "user:password" or "token" from the URL
    # A URL git takes as it is (ADD <git URL>, --build-context): https, http, ssh, git or scp-like;
    # "" for a git:// context, cloned from https://location.
    remote: str = ""

    def describe(self) -> str:
        if self.remote:
            return self.remote + (f"#{self.ref or self.commit}" if self.ref or self.commit else "")
        text = f"git://{self.location}"
        if self.ref or self.commit:
            text += f"#{self.ref}"
        return text + (f"#{self.commit}" if self.commit else "")

    def url(self, env: Mapping[str, str]) -> str:
        if self.remote:
            return self.remote
        method = env.get("GIT_PULL_METHOD", "https")
        return f"{method if method in ('http', 'https') else 'https'}://{self.location}"

    def _git(self, env: Mapping[str, str]) -> _Git:
        return _Git(self.describe(), _git_environment(self.url(env), env, self.url_credentials,
                                                       skip_tls=self.options.insecure_skip_tls))

    def resolve(self, env: Mapping[str, str]) -> tuple[str, str]:
        """(the commit the ref names now, the annotated tag object's id or ""), asked of the
        remote with ``ls-remote`` and nothing cloned; a commit given is taken as it is."""
        if self.commit:
            return self.commit, ""
        git = self._git(env)
        refs = _remote_refs(git, self.url(env))
        ref = self._pick_ref(refs) or "HEAD"
        if ref not in refs:
            raise ContextError(self.describe(), "the repository has no default branch (HEAD)")
        peeled = refs.get(ref + "^{}")  # an annotated tag: the commit it points to
        return (peeled, refs[ref]) if peeled else (refs[ref], "")

    def fetch(self, into: Path, env: Mapping[str, str]) -> None:
        self.checkout(into, env)

    def checkout(self, into: Path, env: Mapping[str, str]) -> str:
        """Clone into ``into`` and check out the ref (or commit); the commit checked out."""
        url = self.url(env)
        git = self._git(env)
        ref = self._pick_ref(_remote_refs(git, url))
        log.info("cloning build context %s (%s)", self.describe(), ref or "default branch")
        # A branch or tag is cloned directly; any other ref (refs/pull/1/head) or a commit is
        # fetched into the clone and checked out detached, as kaniko's go-git clone does.
        short = _short_name(ref)
        later_checkout = bool(self.commit) or bool(ref and not short)
        clone = ["clone", "--quiet"]
        if later_checkout:
            clone.append("--no-checkout")
        if self.options.single_branch:
            clone.append("--single-branch")
        if self.options.depth:
            # go-git's Depth leaves SingleBranch alone; git's --depth would imply it.
            clone += self._depth()
            if not self.options.single_branch:
                clone.append("--no-single-branch")
        if short:
            clone += ["--branch", short]
        git.run(*clone, "--", url, str(into))
        target = "HEAD"
        if ref and not short:
            git.run("-C", str(into), "fetch", "--quiet", *self._depth(), "origin", ref)
            target = "FETCH_HEAD"
        if self.commit:
            target = self._find_commit(git, into)
        if later_checkout:
            git.run("-C", str(into), "checkout", "--quiet", "--detach", target)
        if self.options.recurse_submodules:
            git.run("-C", str(into), "submodule", "update", "--quiet", "--init", "--recursive")
        head = git.run("-C", str(into), "rev-parse", "HEAD").strip()
        log.info("%s is at commit %s", self.describe(), head)
        return head

    def _depth(self) -> list[str]:
        return [f"--depth={self.options.depth}"] if self.options.depth else []

    def _pick_ref(self, refs: Mapping[str, str]) -> str:
        """The full name of the ref to check out ("" for the remote's default branch); a branch
        wins over a tag of the same name, as in BuildKit's git source and git checkout."""
        wanted = self.options.branch or self.ref
        if not wanted or wanted == "HEAD":
            return ""
        # --git branch= names a branch or tag (as kaniko); a #ref may also be a full ref name.
        candidates = [f"refs/heads/{wanted}", f"refs/tags/{wanted}"]
        if not self.options.branch and wanted.startswith("refs/"):
            candidates.insert(0, wanted)
        for candidate in candidates:
            if candidate in refs:
                return candidate
        what = "branch or tag" if self.options.branch else "ref"
        raise ContextError(self.describe(), f"unknown {what} {wanted!r} in the repository")

    def _find_commit(self, git: _Git, into: Path) -> str:
        found = git.try_run("-C", str(into), "rev-parse", "--verify", "--quiet",
                            f"{self.commit}^{{commit}}")
        if found is None:
            # Not in the fetched history: servers may still hand out a reachable commit by id.
            git.try_run("-C", str(into), "fetch", "--quiet", *self._depth(), "origin", self.commit)
            found = git.try_run("-C", str(into), "rev-parse", "--verify", "--quiet",
                                f"{self.commit}^{{commit}}")
        if found is None:
            raise ContextError(self.describe(), f"unknown commit {self.commit!r} in the repository")
        return found.strip()


def _remote_refs(git: _Git, url: str) -> dict[str, str]:
    """ref name -> object id, as ``git ls-remote`` lists them (peeled tags as ``name^{}``)."""
    refs = {}
    for line in git.run("ls-remote", "--", url).splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    return refs


def _short_name(ref: str) -> str:
    """The name ``git clone --branch`` takes for a branch or tag ref; "" for other refs."""
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ""


def _git_environment(url: str, env: Mapping[str, str], url_credentials: str = "", *,
                     skip_tls: bool = False) -> dict[str, str]:
    result = dict(env)
    result["GIT_TERMINAL_PROMPT"] = "0"  # fail on missing credentials instead of waiting for input
    parts = urlsplit(url)
    scope = f"{parts.scheme}://{parts.netloc}/"  # this host only, also for its submodules
    username, _, password = url_credentials.partition(":")
    if env.get("GIT_USERNAME") or env.get("GIT_PASSWORD"):
        username, password = env.get("GIT_USERNAME", ""), env.get("GIT_PASSWORD", "")
    if env.get("GIT_TOKEN"):
        username, password = env["GIT_TOKEN"], ""  # kaniko sends a token as the user name
    if username or password:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        _add_config(result, f"http.{scope}.extraHeader", f"Authorization: Basic {token}")
    if skip_tls:
        # --git insecure-skip-tls=true: like go-git's InsecureSkipTLS, but for the context's
        # host only, so a submodule elsewhere is still verified.
        _add_config(result, f"http.{scope}.sslVerify", "false")
    return result


def _add_config(env: dict[str, str], key: str, value: str) -> None:
    """Add one git setting through the environment (``GIT_CONFIG_KEY_n``): never on a command
    line, where ``ps`` shows it, and after any the caller's environment already had."""
    index = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    env[f"GIT_CONFIG_KEY_{index}"] = key
    env[f"GIT_CONFIG_VALUE_{index}"] = value
    env["GIT_CONFIG_COUNT"] = str(index + 1)


class _Git:
    """Runs the system git with the prepared environment; failures become one-line errors."""

    def __init__(self, source: str, env: dict[str, str]) -> None:
        self._source = source
        self._env = env

    def try_run(self, *args: str) -> str | None:
        result = self._call(args)
        return result.stdout if result.returncode == 0 else None

    def run(self, *args: str) -> str:
        result = self._call(args)
        if result.returncode != 0:
            raise ContextError(self._source, f"git {args[0] if args[0] != '-C' else args[2]} "
                               f"failed: {_explain(result.stderr)}")
        return result.stdout

    def _call(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        log.debug("git %s", " ".join(args))
        try:
            # umask 022: checked-out files are 0644/0755 as git records them, whatever ours is
            return subprocess.run(["git", *args], env=self._env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=GIT_TIMEOUT, umask=0o022)
        except FileNotFoundError:
            raise ContextError(self._source, "git is not installed") from None
        except subprocess.TimeoutExpired:
            raise ContextError(self._source, f"git {args[0]} took more than {GIT_TIMEOUT} s") from None


def _explain(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " ".join(lines)
    if "could not read Username" in text or "Authentication failed" in text:
        return "authentication failed (set GIT_USERNAME and GIT_PASSWORD, or GIT_TOKEN)"
    said = lines[-1] if lines else "no output"
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:")):
            said = line.split(":", 1)[1].strip()
            break
    if "certificate" in said and ("verif" in said or "SSL" in said):
        said += " (a private CA: GIT_SSL_CAINFO; or --git insecure-skip-tls=true to skip the check)"
    return said

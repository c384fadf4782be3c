"""RUN --mount: preparing what the mounts of one command mount (the specs are parsed and checked
with the Dockerfile, see ``executor.dockerfile.mounts``).

Every mount lives only in the command's private mount namespace (see ``executor.sandbox``), so its
contents never reach the root the snapshotter walks; where no namespace can be had (the executor's
container under Docker's default capabilities) the runner places each mount's content in the root
for the command's time and takes it away before the snapshot (``executor.sandbox.placement``).
What would otherwise leave a trace is the mount point itself: ``MountPoints`` creates missing ones
before the command and removes them (and puts their parent's mtime back) after it, as BuildKit's
mount-stub cleaner does.
"""

from __future__ import annotations

import fcntl
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from executor.contexts.files import BuildContextFiles, ContextSource
from executor.dockerfile.mounts import MountError, MountRequest
from executor.errors import LaminaError, UsageError
from executor.options import SecretSource, SshSource
from executor.rootfs.paths import image_path, resolve_in_root
from executor.sandbox.runner import BindMount, InlineFile, Mount, SocketMount, TmpfsMount
from executor.sandbox.ssh_agent import KeyAgent, load_keys
from executor.sandbox.ssh_forward import SocketService, relay_to

__all__ = ["MountEnvironment", "MountError", "MountRequest", "PreparedMounts", "RootLookup",
           "prepare_mounts"]

SECRETS_DIR = "/run/secrets"
# BuildKit's documented default is required=false (a missing secret is silently not mounted);
# lamina fails the build instead, so that a typo in an id cannot produce an image built without
# its secret. ``required=false`` restores BuildKit's behaviour for one mount.
SECRET_REQUIRED_BY_DEFAULT = True
# The same for ssh mounts: BuildKit skips an id no --ssh forwards unless the mount says required.
SSH_REQUIRED_BY_DEFAULT = True
SSH_AGENT_TARGET = "/run/buildkit/ssh_agent.{}"  # BuildKit's default target (client/llb/exec.go)

# Resolves a --mount from= value (a stage name or index, or an image reference) to a directory.
RootLookup = Callable[[str], Path]


@dataclass(frozen=True)
class MountEnvironment:
    """What RUN mounts need from the build: the --secret sources (and the environment that
    ``env=`` secrets come from), the cache store and a scratch directory, both in the kaniko dir."""

    caches: Path
    scratch: Path
    secrets: Mapping[str, SecretSource] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    ssh: Mapping[str, SshSource] = field(default_factory=dict)  # --ssh, by id

    def read_secret(self, secret_id: str) -> bytes | None:
        source = self.secrets.get(secret_id)
        if source is None:
            return None
        if source.env is not None:
            value = self.environ.get(source.env)
            return None if value is None else os.fsencode(value)
        assert source.path is not None
        try:
            return source.path.read_bytes()
        except OSError as error:
            raise MountError(f"secret {secret_id!r}: cannot read {source.path}: {error.strerror}") from None


@dataclass
class PreparedMounts:
    """The mounts of one RUN, ready for ``ProcessSpec.mounts``, and environment variables to add
    (``default_env``: only where the command's environment has no such variable)."""

    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    default_env: dict[str, str] = field(default_factory=dict)


class MountPoints:
    """Creates missing mount points in the root and removes them again after the command."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._created: list[Path] = []
        self._parent_times: list[tuple[Path, int, int]] = []

    def create(self, path: str, *, is_dir: bool) -> str:
        """Resolve image path ``path`` inside the root, creating what is missing; the root-relative
        result (symlinks resolved, so the launcher never follows one out of the root)."""
        host = resolve_in_root(self.root, path)
        missing = []
        current = host
        while not os.path.lexists(current) and current != self.root:
            missing.append(current)
            current = current.parent
        if missing:
            st = current.stat()
            self._parent_times.append((current, st.st_atime_ns, st.st_mtime_ns))
        for number, entry in enumerate(reversed(missing), 1):
            if number == len(missing) and not is_dir:
                entry.touch(mode=0o644)
            else:
                entry.mkdir(mode=0o755)
            self._created.append(entry)
        return "/" + str(host.relative_to(self.root)) if host != self.root else "/"

    def remove(self) -> None:
        # After the command the root is hostile: it may have swapped a parent of a mount point for
        # a symlink out of the root. Every step is taken through O_NOFOLLOW directory descriptors.
        root_fd = os.open(self.root, _DIRECTORY_FLAGS)
        try:
            for entry in reversed(self._created):
                _remove_if_untouched(root_fd, entry.relative_to(self.root).parts)
            for parent, atime, mtime in reversed(self._parent_times):
                fd = _open_inside(root_fd, parent.relative_to(self.root).parts)
                if fd is not None:
                    try:
                        os.utime(fd, ns=(atime, mtime))
                    finally:
                        os.close(fd)
        finally:
            os.close(root_fd)
        self._created.clear()
        self._parent_times.clear()


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_inside(root_fd: int, parts: tuple[str, ...]) -> int | None:
    """A descriptor of the directory at ``parts`` under ``root_fd``, or None when any component
    is missing or is not a real directory (a symlink is never followed)."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            inner = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
    except OSError:
        os.close(fd)
        return None
    return fd


def _remove_if_untouched(root_fd: int, parts: tuple[str, ...]) -> None:
    """Remove a mount point the command left as it was made: an empty directory or file."""
    parent = _open_inside(root_fd, parts[:-1])
    if parent is None:
        return
    name = parts[-1]
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            os.rmdir(name, dir_fd=parent)  # only if the command left it empty
        elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
            os.unlink(name, dir_fd=parent)
    except OSError:
        pass  # the command put something there: it belongs to the layer
    finally:
        os.close(parent)


def _cache_name(cache_id: str) -> str:
    return "id-" + quote(cache_id, safe="")


@contextmanager
def _locked(path: Path, *, wait: bool) -> Iterator[bool]:
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)


class _Preparer:
    def __init__(self, root: Path, workdir: str, environment: MountEnvironment | None, files: BuildContextFiles,
                 root_for: RootLookup | None, stack: ExitStack) -> None:
        self.root = root
        self.workdir = workdir
        self._environment = environment
        self.files = files
        self.root_for = root_for
        self.stack = stack
        self.points = MountPoints(root)
        stack.callback(self.points.remove)
        self.prepared = PreparedMounts()
        self.ssh_mounts = 0  # numbers BuildKit's default ssh targets

    @property
    def environment(self) -> MountEnvironment:
        if self._environment is None:
            raise MountError("secret and cache mounts need the build's kaniko dir, which is not set up here")
        return self._environment

    def target(self, request: MountRequest, *, is_dir: bool, default: str | None = None) -> str:
        path = image_path(self.workdir, request.target or default or "")
        return self.points.create(path, is_dir=is_dir)

    def scratch_dir(self) -> Path:
        self.environment.scratch.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(dir=self.environment.scratch))
        self.stack.callback(shutil.rmtree, path, True)
        return path

    def source_root(self, from_: str) -> Path:
        if self.root_for is None:
            raise MountError(f"from={from_}: no stages or images available here")
        try:
            return self.root_for(from_)
        except (OSError, ValueError, LaminaError) as error:
            raise MountError(f"from={from_}: {error}") from None

    def add(self, request: MountRequest) -> None:
        getattr(self, "_" + request.type)(request)

    def _secret(self, request: MountRequest) -> None:
        secret_id = request.id or posixpath.basename(request.target or "")
        content = self.environment.read_secret(secret_id)
        required = SECRET_REQUIRED_BY_DEFAULT if request.required is None else request.required
        if content is None:
            if required:
                raise MountError(f"secret {secret_id!r} not found: pass it with --secret id={secret_id},"
                                 "src=FILE or --secret id=" + secret_id + ",env=VAR (or mark the mount "
                                 "required=false)")
            return
        if request.env is not None:
            self.prepared.env[request.env] = os.fsdecode(content)
            if request.target is None:
                return
        target = self.target(request, is_dir=False, default=f"{SECRETS_DIR}/{secret_id}")
        self.prepared.mounts.append(InlineFile(target=target, content=content,
                                               mode=0o400 if request.mode is None else request.mode,
                                               uid=request.uid, gid=request.gid))

    def _cache(self, request: MountRequest) -> None:
        cache_id = request.id or image_path(self.workdir, request.target or "")
        self.environment.caches.mkdir(parents=True, exist_ok=True)
        directory = self.environment.caches / _cache_name(cache_id)
        lock = self.environment.caches / (_cache_name(cache_id) + ".lock")
        if request.sharing != "shared":
            got = self.stack.enter_context(_locked(lock, wait=request.sharing == "locked"))
            if not got:  # private, and another build is using it: a fresh cache of its own
                directory = self.scratch_dir() / "cache"
        if not directory.exists():
            partial = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".partial-"))
            if request.from_ is not None:
                seed = resolve_in_root(self.source_root(request.from_), request.source or "/")
                if seed.exists():
                    _copy_tree(seed, partial)
            os.chown(partial, request.uid, request.gid)
            os.chmod(partial, 0o755 if request.mode is None else request.mode)
            try:
                os.rename(partial, directory)
            except OSError:
                shutil.rmtree(partial, ignore_errors=True)  # another build created it meanwhile
        # Placed instead of mounted, the cache itself is moved into place (so writes persist; a
        # read-only one is copied), and a shared one is then locked: it can be in one place only.
        self.prepared.mounts.append(BindMount(source=directory, target=self.target(request, is_dir=True),
                                              readonly=bool(request.readonly), movable=not request.readonly,
                                              lock=lock if request.sharing == "shared" else None))

    def _bind(self, request: MountRequest) -> None:
        source = self._bind_source(request)
        readonly = request.readonly is not False
        if not readonly:
            # rw: the command may write, but what it writes is thrown away (BuildKit's rule).
            copy = self.scratch_dir() / "rw"
            _copy_tree(source, copy)
            source = copy
        target = self.target(request, is_dir=source.is_dir())
        # the rw copy is the command's own: placed instead of mounted, it is moved, not copied again
        self.prepared.mounts.append(BindMount(source=source, target=target, readonly=readonly,
                                              movable=not readonly))

    def _bind_source(self, request: MountRequest) -> Path:
        if request.from_ is not None:
            path = resolve_in_root(self.source_root(request.from_), request.source or "/")
            if not os.path.lexists(path):
                raise MountError(f"bind source {request.source!r} not found in {request.from_}")
            return path
        rel = posixpath.normpath("/" + (request.source or "")).lstrip("/")
        # inside the context, as COPY's sources: a link out of the context is not found
        path = resolve_in_root(self.files.root, rel)
        if not os.path.lexists(path) or self.files.excluded(rel):
            raise MountError(f"bind source {request.source or '/'!r} not found in the build context "
                             "or excluded by .dockerignore")
        if not self.files.ignore.patterns or not path.is_dir():
            return path
        # The context as BuildKit sends it: without what .dockerignore excludes.
        view = self.scratch_dir() / "context"
        view.mkdir()
        shutil.copystat(path, view)
        for child in self.files.children(ContextSource(path=path, rel=rel)):
            inner = view / (child.rel[len(rel) + 1:] if rel else child.rel)
            if child.path.is_dir() and not child.path.is_symlink():
                inner.mkdir(exist_ok=True)
                shutil.copystat(child.path, inner)
            else:
                inner.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(child.path, inner, follow_symlinks=False)
        return view

    def _ssh(self, request: MountRequest) -> None:
        """An agent socket of the executor's (relaying to the --ssh socket, or lamina's agent
        serving its keys) at the target; as BuildKit, SSH_AUTH_SOCK names the first one."""
        ssh_id = request.id or "default"
        path = image_path(self.workdir, request.target or SSH_AGENT_TARGET.format(self.ssh_mounts))
        self.ssh_mounts += 1
        self.prepared.default_env.setdefault("SSH_AUTH_SOCK", path)
        source = self.environment.ssh.get(ssh_id)
        if source is None:
            if SSH_REQUIRED_BY_DEFAULT if request.required is None else request.required:
                raise MountError(f"ssh agent {ssh_id!r} not forwarded: pass it with --ssh {ssh_id} "
                                 f"($SSH_AUTH_SOCK), --ssh {ssh_id}=SOCKET or --ssh {ssh_id}=KEYFILE "
                                 "(or mark the mount required=false)")
            return
        if source.socket is not None:
            handler = relay_to(source.socket)
        else:
            try:
                handler = KeyAgent(load_keys(ssh_id, source.keys)).serve
            except UsageError as error:
                raise MountError(str(error)) from None
        service = SocketService(handler, name=f"ssh-agent-{ssh_id}")
        self.stack.callback(service.close)
        options = {"mode": 0o600 if request.mode is None else request.mode, "uid": request.uid,
                   "gid": request.gid}
        socket_path = self.scratch_dir() / "agent.sock"
        service.listen(str(socket_path), **options)
        self.prepared.mounts.append(SocketMount(target=self.target(request, is_dir=False, default=path),
                                                source=socket_path,
                                                listen=lambda at: service.listen(at, **options)))

    def _tmpfs(self, request: MountRequest) -> None:
        self.prepared.mounts.append(TmpfsMount(target=self.target(request, is_dir=True), size=request.size))


@contextmanager
def prepare_mounts(requests: list[MountRequest], *, root: Path, workdir: str, environment: MountEnvironment | None,
                   files: BuildContextFiles, root_for: RootLookup | None,
                   extra: tuple[tuple[str, bytes, int], ...] = ()) -> Iterator[PreparedMounts]:
    """Prepare ``requests`` for one command; on exit remove mount points, copies and locks.

    ``extra`` are inline files (image path, bytes, mode) the command needs, such as a heredoc
    script, mounted the same way."""
    with ExitStack() as stack:
        preparer = _Preparer(root, workdir, environment, files, root_for, stack)
        for request in requests:
            preparer.add(request)
        for path, content, mode in extra:
            target = preparer.points.create(path, is_dir=False)
            preparer.prepared.mounts.append(InlineFile(target=target, content=content, mode=mode))
        yield preparer.prepared

"""ADD: COPY, plus local tar archives unpacked into the destination (``--unpack`` says otherwise),
files downloaded from http(s) URLs (``--checksum`` verified) and git repositories
(``git_source.py``)."""

from __future__ import annotations

import bz2
import gzip
import logging
import lzma
import os
import tarfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlsplit

from executor.commands.base import CacheInputs, StepContext
from executor.commands.copy import CopyCommand
from executor.commands.copying import CopyEngine
from executor.commands.git_source import GitSource, check_git_checksum
from executor.commands.remote_source import Checksum, DownloadError, download, is_url
from executor.contexts.errors import ContextError
from executor.contexts.files import BuildContextFiles, ContextSource
from executor.dockerfile import AddInstruction
from executor.dockerfile.git_url import GitURL, parse_git_url
from executor.http import DOWNLOAD_RETRY, make_session
from snapshot.errors import SnapshotError
from snapshot.extract import extract_layer
from snapshot.ignore import IgnoreList

log = logging.getLogger("lamina")

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


def _open_archive(path: Path) -> BinaryIO | None:
    """The uncompressed stream of a tar archive (plain, gzip, bzip2, xz), or None if not one."""
    with open(path, "rb") as f:
        head = f.read(512)
    opener = next((open_ for magic, open_ in _MAGIC if head.startswith(magic)), None)
    stream = cast(BinaryIO, opener(path, "rb") if opener else open(path, "rb"))
    try:
        header = stream.read(512)
        if len(header) == 512 and header[257:262] == b"ustar":
            stream.seek(0)
            return stream
        if opener is None and len(header) == 512 and tarfile.is_tarfile(path):
            stream.seek(0)
            return stream
    except (OSError, EOFError, lzma.LZMAError):
        pass
    stream.close()
    return None


class AddCommand(CopyCommand):
    keyword = "ADD"
    instruction: AddInstruction

    def __init__(self, instruction: AddInstruction) -> None:
        super().__init__(instruction)
        self._downloaded: set[Path] = set()
        self._checksum: Checksum | None = None
        self._git_checksum = ""
        self._git_trees: set[Path] = set()
        self._commits: dict[str, str] = {}  # git source word -> the commit it resolved to
        self._session = make_session(DOWNLOAD_RETRY)  # one connection pool for every URL of this ADD

    def cache_inputs(self, ctx: StepContext) -> CacheInputs:
        inputs = super().cache_inputs(ctx)
        sources, _dest = self.arguments(ctx)
        gits = [(word, self._git_url(ctx, word)) for word in sources]
        if not any(url for _word, url in gits):
            return inputs
        self._parse_checksum(ctx)
        remote = tuple(f"git {url.shown()} {self._commit(ctx, word, url)}" for word, url in gits if url)
        local = tuple(word for word, url in gits if url is None)
        return replace(inputs, context_sources=local, remote_sources=remote)

    def execute(self, ctx: StepContext) -> None:
        self._parse_checksum(ctx)
        with self._session:
            try:
                self.copy(ctx, file_hook=self._unpack_archive)
            except SnapshotError as error:  # a hostile or damaged archive
                raise self.error(ctx, f"ADD: {error}") from None

    def _parse_checksum(self, ctx: StepContext) -> None:
        value = self.instruction.checksum
        if value is None:
            return
        sources = [self.expand(ctx, word) for word in self.instruction.sources]
        git = len(sources) == 1 and self._git_url(ctx, sources[0]) is not None
        if len(sources) != 1 or not (is_url(sources[0]) or git):
            raise self.error(ctx, "ADD --checksum needs exactly one source, an http(s) URL or a git URL")
        try:
            if git:
                self._git_checksum = check_git_checksum(self.expand(ctx, value))
            else:
                self._checksum = Checksum.parse(self.expand(ctx, value))
        except ValueError as error:
            raise self.error(ctx, f"ADD --checksum: {error}") from None

    def _git_url(self, ctx: StepContext, word: str) -> GitURL | None:
        try:
            url = parse_git_url(word)
        except ValueError as error:
            raise self.error(ctx, f"ADD {word}: {error}") from None
        flag = self.instruction.keep_git_dir
        if url is not None and None not in (flag, url.keep_git_dir) and flag != url.keep_git_dir:
            raise self.error(ctx, f"ADD {word}: inconsistent keep-git-dir configuration")
        return url

    def _commit(self, ctx: StepContext, word: str, url: GitURL) -> str:
        """The commit a git source names (asked of the remote once per step)."""
        if word not in self._commits:
            try:
                self._commits[word] = GitSource.of(url).resolve(_git_credentials(ctx, url), self._git_checksum)
            except ContextError as error:
                raise self.error(ctx, f"ADD failed: {error}") from None
        return self._commits[word]

    def files_for(self, source: ContextSource, files: BuildContextFiles) -> BuildContextFiles:
        if source.path in self._git_trees:
            return BuildContextFiles.of_image_root(source.path)  # the checkout, no .dockerignore
        return files

    def inline_source(self, ctx: StepContext, raw: str, word: str, directory: Path) -> ContextSource | None:
        git = self._git_url(ctx, word)
        if git is not None:
            commit = self._commit(ctx, word, git)
            log.info("ADD: cloning %s at %s", git.shown(), commit)
            try:
                tree = GitSource.of(git).checkout(directory, commit, _git_credentials(ctx, git),
                                                  self.instruction.keep_git_dir)
            except ContextError as error:
                raise self.error(ctx, f"ADD failed: {error}") from None
            self._git_trees.add(tree)
            return ContextSource(path=tree, rel="")
        if not is_url(word):
            if "://" in word:
                raise self.error(ctx, f"ADD {word}: only http(s) URLs and git repositories are supported")
            return super().inline_source(ctx, raw, word, directory)
        log.info("ADD: downloading %s", word)
        try:
            path = download(self._session, word, directory, self._checksum)
        except DownloadError as error:
            raise self.error(ctx, f"ADD failed: {error}") from None
        self._downloaded.add(path)
        return ContextSource(path=path, rel=path.name)

    def _unpack_archive(self, source: ContextSource, dest: str, engine: CopyEngine) -> bool:
        # BuildKit (dockerfile2llb dispatchCopy): AttemptUnpack is --unpack if given, else true
        # for context files and false for downloads; a download is unpacked after its checksum
        # was verified, which download() did already.
        unpack = self.instruction.unpack
        if unpack is False or (unpack is None and source.path in self._downloaded):
            return False
        archive = _open_archive(source.path)
        if archive is None:
            return False
        with archive:
            target = engine.parents(dest)
            try:
                extract_layer(archive, target, IgnoreList())
            except SnapshotError as error:
                raise SnapshotError(f"the archive {source.rel}: {error}") from None
        return True


# BuildKit's secret names for a git source's token (source/git: the host's own, then any host's)
GIT_AUTH_TOKEN = "GIT_AUTH_TOKEN"
_CONTEXT_CREDENTIALS = ("GIT_TOKEN", "GIT_USERNAME", "GIT_PASSWORD")


def _git_credentials(ctx: StepContext, url: GitURL) -> Mapping[str, str]:
    """git's environment for the server an ADD names. The Dockerfile picks that server, so the
    executor's own GIT_TOKEN/GIT_USERNAME/GIT_PASSWORD (the git build context's) never go to it;
    only a token the invoker gave for it, as BuildKit: ``--secret id=GIT_AUTH_TOKEN.<host>`` or
    ``--secret id=GIT_AUTH_TOKEN`` (any host), sent as ``x-access-token:<token>``."""
    if ctx.mounts is None:
        return {}
    env = {key: value for key, value in ctx.mounts.environ.items() if key not in _CONTEXT_CREDENTIALS}
    host = urlsplit(url.remote).hostname or ""
    for secret_id in (f"{GIT_AUTH_TOKEN}.{host}", GIT_AUTH_TOKEN):
        token = ctx.mounts.read_secret(secret_id)
        if token is not None:
            env.update(GIT_USERNAME="x-access-token", GIT_PASSWORD=os.fsdecode(token).strip())
            break
    return env

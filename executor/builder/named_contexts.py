"""What a ``--build-context NAME=VALUE`` is while the build runs (see contexts/named.py for the
forms): an image (docker-image://, oci-layout://) or files (a directory, a git checkout, a
downloaded file), each fetched once and kept under ``<kaniko-dir>/named``.

As BuildKit's dockerfile2llb: ``FROM NAME`` starts from the image, or from the files in one
layer over the empty image; ``COPY --from=NAME`` / ``RUN --mount=from=NAME`` read the image's
files or the context's own; a stage named NAME is replaced by the context, its instructions
never run. Cache keys hold what a context is: an image's layer diff ids, a directory's or a
download's file digests, a checkout's commit.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from executor.atomic import DirectoryExists, atomic_directory
from executor.builder.extract import extract_image
from executor.builder.spool import LayerSpool
from executor.cache.key import context_files, digest_json
from executor.commands.copying import CopyEngine, CopyOwnership
from executor.commands.git_source import GitSource
from executor.commands.remote_source import DownloadError, download
from executor.contexts.files import BuildContextFiles, ContextSource
from executor.contexts.named import NamedContext, context_name
from executor.errors import BuildError, LaminaError
from executor.http import DOWNLOAD_RETRY, make_session
from executor.image import Image, Platform
from executor.registry.layout_image import load_layout_image
from executor.registry.pull import LocalImages, load_base_image
from executor.registry.routing import RegistryClients
from snapshot.ignore import IgnoreList

__all__ = ["NamedContexts", "image_root"]

log = logging.getLogger("lamina")


def image_root(image: Image, images_dir: Path) -> Path:
    """The image's files, extracted once below ``images_dir`` (named by its layers' diff ids)."""
    key = image.config.get("rootfs", {}).get("diff_ids", [])
    name = (key[-1].replace(":", "-") if key else "empty") + f"-{len(key)}"
    target = images_dir / name
    if not target.exists():
        try:
            with atomic_directory(target, replace=False) as partial:
                extract_image(image, partial, IgnoreList(frozenset()))
        except DirectoryExists:
            pass  # another reader of the same image put it there first
    return target


def image_identity(image: Image) -> str:
    """What an image's files are, for cache keys: its layers' diff ids (not the config, whose
    timestamps change each time a stage is rebuilt)."""
    return ",".join(image.config.get("rootfs", {}).get("diff_ids", [])) or "empty"


@dataclass
class NamedContexts:
    """The build's named contexts by (normalized) name, fetched when first read."""

    contexts: Mapping[str, NamedContext]
    directory: Path  # <kaniko-dir>/named
    images_dir: Path  # where images read by --from are extracted
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)  # git credentials
    _images: dict[tuple[str, str], Image] = field(default_factory=dict)
    _files: dict[str, tuple[Path, str]] = field(default_factory=dict)  # name -> (root, identity)

    @classmethod
    def of(cls, contexts: Iterable[NamedContext], kaniko_dir: Path, environ: Mapping[str, str]
           ) -> NamedContexts:
        return cls({c.name: c for c in contexts}, kaniko_dir / "named", kaniko_dir / "images", environ)

    def lookup(self, ref: str) -> NamedContext | None:
        return self.contexts.get(context_name(ref)) if self.contexts else None

    def covers(self, ref: str) -> bool:
        return self.lookup(ref) is not None

    def image(self, context: NamedContext, clients: RegistryClients, base_images: LocalImages | None,
              platform: Platform | None = None) -> Image | None:
        """The image of a docker-image:// or oci-layout:// context; None for files."""
        if context.kind not in ("image", "oci-layout"):
            return None
        wanted = platform or Platform.of(clients.options.platform)
        key = (context.name, str(wanted))
        if key not in self._images:
            try:
                if context.kind == "image":
                    log.info("%s: the image %s", context.describe(), context.value)
                    image = load_base_image(context.value, clients, base_images, platform)
                else:
                    log.info("%s: the OCI layout %s", context.describe(), context.value)
                    image = load_layout_image(Path(context.value), context.tag, context.digest, wanted)
            except LaminaError as error:
                raise BuildError(f"{context.describe()}: {error}") from None
            self._images[key] = image
        return self._images[key]

    def base_image(self, context: NamedContext, clients: RegistryClients, base_images: LocalImages | None,
                   spool: LayerSpool, platform: Platform | None) -> Image:
        """What ``FROM NAME`` starts from: the context's image, or the empty image with the
        context's files as its one layer (BuildKit: emptyImage, the context as the state)."""
        image = self.image(context, clients, base_images, platform)
        if image is not None:
            return image
        root = self.root(context, clients, base_images)
        snapshotter = spool.snapshotter(root, IgnoreList(frozenset()))
        changes, _seconds = spool.take(snapshotter, full=True)
        layer = spool.write(root, snapshotter, changes)
        wanted = platform or Platform.of(clients.options.platform)
        extra = {"variant": wanted.variant} if wanted.variant else {}
        empty = Image.empty().with_config_values(os=wanted.os, architecture=wanted.architecture, **extra)
        return empty.with_layer(layer, {"created_by": f"{context.describe()}={context.value}"})

    def root(self, context: NamedContext, clients: RegistryClients, base_images: LocalImages | None) -> Path:
        """The context's files, for ``COPY --from`` and ``RUN --mount=from``."""
        image = self.image(context, clients, base_images)
        if image is not None:
            return image_root(image, self.images_dir)
        return self._fetched(context)[0]

    def identity(self, context: NamedContext, clients: RegistryClients, base_images: LocalImages | None) -> str:
        image = self.image(context, clients, base_images)
        if image is not None:
            return image_identity(image)
        return self._fetched(context)[1]

    def _fetched(self, context: NamedContext) -> tuple[Path, str]:
        if context.name not in self._files:
            target = self.directory / context.name.replace("/", "_").replace(":", "_").replace("@", "_")
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            try:
                self._files[context.name] = self._fetch(context, target)
            except LaminaError as error:
                raise BuildError(f"{context.describe()}: {error}") from None
        return self._files[context.name]

    def _fetch(self, context: NamedContext, target: Path) -> tuple[Path, str]:
        if context.kind == "git":
            assert context.git is not None
            source = GitSource.of(context.git)
            commit = source.resolve(self.environ, "")
            log.info("%s: cloning %s at %s", context.describe(), context.git.shown(), commit)
            root = source.checkout(target, commit, self.environ, None)
            return root, f"git {context.git.shown()} {commit}"
        if context.kind == "http":
            with make_session(DOWNLOAD_RETRY) as session:
                try:
                    path = download(session, context.value, target, None)
                except DownloadError as error:
                    raise BuildError(str(error)) from None
            root = path.parent
            os.rename(path, root / "context")  # BuildKit names the download "context"
        else:
            log.info("%s: the directory %s", context.describe(), context.value)
            root = target / "files"
            _copy_directory(BuildContextFiles.load(Path(context.value)), root)
        files = BuildContextFiles.of_image_root(root)
        return root, digest_json(context_files(files, [""]))


def _copy_directory(files: BuildContextFiles, target: Path) -> None:
    """The directory as its own ``.dockerignore`` leaves it, owned by root (as the files a client
    sends to BuildKit are), modes, times and links kept."""
    engine = CopyEngine(target, CopyOwnership(identity=None, chmod=None))
    target.mkdir()
    top = ContextSource(path=files.root, rel="")
    engine.copy_tree_contents(list(files.children(top)), top, target)
    engine.finish()

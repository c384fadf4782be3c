"""What a build sets on the finished image rather than any one step: the labels of --label, the
``created`` times (--reproducible, SOURCE_DATE_EPOCH), and the manifest's standard annotations."""

from __future__ import annotations

import datetime
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import replace

from executor.clock import SOURCE_DATE_EPOCH, Clock, epoch, fixed
from executor.contexts.git import GitRepository
from executor.image import Image
from executor.image.annotations import REVISION, SOURCE, ImageFacts
from executor.options import ExecutorOptions

__all__ = ["build_clock", "finish_image", "image_facts", "source_facts", "with_source_date_arg"]

log = logging.getLogger("lamina")


def build_clock(options: ExecutorOptions, clock: Clock) -> Clock:
    """The clock of history entries and ``created``: kaniko's epoch with --reproducible, the
    SOURCE_DATE_EPOCH when one is given, else ``clock``."""
    if options.snapshot.reproducible:
        return epoch
    if options.snapshot.source_date_epoch is not None:
        return fixed(options.snapshot.source_date_epoch)
    return clock


def with_source_date_arg(options: ExecutorOptions) -> ExecutorOptions:
    """BuildKit passes SOURCE_DATE_EPOCH to the Dockerfile as a build arg (an ``ARG
    SOURCE_DATE_EPOCH`` takes it) unless --build-arg sets it already."""
    seconds = options.snapshot.source_date_epoch
    source = options.source
    if seconds is None or SOURCE_DATE_EPOCH in source.build_args:
        return options
    return replace(options, source=replace(
        source, build_args={**source.build_args, SOURCE_DATE_EPOCH: str(seconds)}))


def finish_image(image: Image, options: ExecutorOptions, clock: Clock) -> Image:
    """--label's labels on the config, ``created`` now (by ``clock``); with SOURCE_DATE_EPOCH,
    the base's history entries dated after it are dated it, as BuildKit does."""
    run_config = image.run_config
    if options.source.labels:
        run_config["Labels"] = {**(run_config.get("Labels") or {}), **options.source.labels}
    created = clock()
    values: dict[str, object] = {"created": created}
    if options.snapshot.source_date_epoch is not None:
        values["history"] = [_clamped(entry, created, options.snapshot.source_date_epoch)
                             for entry in image.config.get("history") or []]
    return image.with_run_config(run_config).with_config_values(**values)


def _clamped(entry: dict[str, object], created: str, seconds: int) -> dict[str, object]:
    when = entry.get("created")
    if not isinstance(when, str):
        return entry
    try:
        moment = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return entry  # not RFC 3339: left as the base has it
    if moment.tzinfo is None or moment.timestamp() <= seconds:
        return entry
    return {**entry, "created": created}


def source_facts(options: ExecutorOptions, environ: Mapping[str, str]) -> ImageFacts:
    """What the annotations may say of the build's source: a git context's repository and the
    commit checked out, or the user's --labels saying so (which win); nothing guessed."""
    source = revision = ""
    fetch = options.source.fetch
    git = fetch.source if fetch is not None else None
    if isinstance(git, GitRepository) and fetch is not None:
        source = git.url(environ)  # the URL's credentials are held apart, never in it
        revision = _checked_out(fetch.directory)
    labels = options.source.labels
    return ImageFacts(source=labels.get(SOURCE, source), revision=labels.get(REVISION, revision))


def image_facts(image: Image, source: ImageFacts) -> ImageFacts:
    """``source`` and the image's base: the registry image the final stage's files start from
    (none for scratch)."""
    base = image.origin
    if base is None:
        return source
    return replace(source, base_name=base.name, base_digest=base.digest)


def _checked_out(clone: os.PathLike[str]) -> str:
    """The commit the git context's clone has checked out ("" if git cannot say)."""
    try:
        result = subprocess.run(["git", "-c", "safe.directory=*", "-C", os.fspath(clone),
                                 "rev-parse", "--verify", "HEAD"],
                                capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("the revision of the git context is left out of the annotations: %s", error)
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""

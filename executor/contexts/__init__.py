"""Build contexts from wherever CI keeps them: a directory, a tarball (file, stdin, http(s)),
a bucket (gs://, s3://, Azure Blob Storage) or a git repository, fetched under ``<kaniko-dir>/buildcontext``.

Each kind of source is one module behind the small ``ContextSource`` protocol; archives share
``ArchiveSource``, which streams and unpacks them with the layer extractor's path safety.
"""

from __future__ import annotations

from .base import ArchiveSource, ContextSource, Download
from .errors import ContextError
from .git import GitOptions
from .location import ContextFetch, ContextLocation, fetch_context, locate_context, parse_context

__all__ = [
    "ArchiveSource",
    "ContextError",
    "ContextFetch",
    "ContextLocation",
    "ContextSource",
    "Download",
    "GitOptions",
    "fetch_context",
    "locate_context",
    "parse_context",
]

"""kaniko's layer cache: step keys, and cached steps stored in a registry repository or a local
OCI layout directory."""

from __future__ import annotations

from .entry import CachedStep
from .key import base_key, context_files, digest_json, step_key
from .steps import LayerCache, StepCache, step_cache

__all__ = ["CachedStep", "LayerCache", "StepCache", "base_key", "context_files", "digest_json",
           "step_cache", "step_key"]

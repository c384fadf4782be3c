"""kaniko's layer cache: step keys, and cached layers stored in a registry repository."""

from __future__ import annotations

from .key import base_key, context_files, digest_json, step_key
from .steps import LayerCache, StepCache, step_cache

__all__ = ["LayerCache", "StepCache", "base_key", "context_files", "digest_json", "step_cache",
           "step_key"]

"""Fixtures for running the bundled executor the way a container runtime does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.container.images import executor_image
from tests.container.runtime import make_bundle

__all__ = ["executor_image", "kaniko_bundle"]


@pytest.fixture(scope="session")
def kaniko_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``/kaniko`` as scripts/bundle-kaniko-dir assembles it from the Python running the tests."""
    return make_bundle(tmp_path_factory.mktemp("bundle"))

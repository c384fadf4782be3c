"""Fixtures for running the executor the way a container runtime does: its bundle, and images of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.container.images import built_executor_image, executor_image, make_bundle

__all__ = ["built_executor_image", "executor_image", "kaniko_bundle"]


@pytest.fixture(scope="session")
def kaniko_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``/kaniko`` as scripts/bundle-kaniko-dir assembles it from the Python running the tests."""
    return make_bundle(tmp_path_factory.mktemp("bundle"))

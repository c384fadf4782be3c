"""The base images the differential cases name: ``{base}`` and ``{bare}``."""

from __future__ import annotations

import pytest

from tests.support.images import push_busybox
from tests.support.registry import RunningRegistry


@pytest.fixture(scope="session")
def bare_busybox_image(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The busybox root whose config has no Env (so no PATH) and no Cmd."""
    return push_busybox(registry, tmp_path_factory.mktemp("bare-busybox"), repository="busybox-bare",
                        config={"Env": None, "Cmd": None})


@pytest.fixture(scope="session")
def bases(busybox_image: str, bare_busybox_image: str) -> dict[str, str]:
    return {"base": busybox_image, "bare": bare_busybox_image}

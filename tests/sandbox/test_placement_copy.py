"""A cache moved between filesystems (the kaniko dir on a volume, the root on the container's own)
is copied: killed half-way, the copy must never stand under the cache's name as if it were whole."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SHM = Path("/dev/shm")

MOVER = """
import sys
from pathlib import Path
from executor.sandbox.placement import _move
_move(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.skipif(not SHM.is_dir() or os.stat(SHM).st_dev == os.stat("/tmp").st_dev,
                    reason="needs /dev/shm on a filesystem of its own")
def test_a_move_killed_half_way_leaves_no_cache_under_its_name(tmp_path: Path) -> None:
    source = Path(SHM / f"lamina-test-cache-{os.getpid()}")
    shutil.rmtree(source, ignore_errors=True)
    try:
        for d in range(40):
            (source / f"d{d}").mkdir(parents=True)
            for f in range(250):
                (source / f"d{d}" / f"f{f}").write_bytes(b"x" * 2048)
        target = tmp_path / "placed"
        mover = subprocess.Popen([sys.executable, "-c", MOVER, str(source), str(target)],
                                 cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + 30
        partial = []
        while not partial and time.monotonic() < deadline and mover.poll() is None:
            partial = [p for p in tmp_path.iterdir() if p.name.startswith(".partial-")]
            time.sleep(0.005)
        assert partial, "the copy never started under a temporary name (or finished at once)"
        time.sleep(0.05)
        mover.send_signal(signal.SIGKILL)
        mover.wait()
        # the cache is still whole where it was, and nothing stands under the target's name
        assert not target.exists()
        assert sum(1 for _ in source.rglob("f*")) == 40 * 250
    finally:
        shutil.rmtree(source, ignore_errors=True)

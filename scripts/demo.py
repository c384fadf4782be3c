"""The README's demo: a registry on loopback, a busybox base, one sandboxed build, its digest."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.images import push_busybox  # noqa: E402
from tests.support.registry import run_registry  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lamina-demo-") as temp:
        work = Path(temp)
        with run_registry(work / "registry") as registry:
            base = push_busybox(registry, work / "busybox")
            destination = registry.ref("demo", "latest")
            digest_file = work / "digest"
            print(f"registry at {registry.url}; base image {base}", flush=True)
            result = subprocess.run([
                sys.executable, "-m", "executor",
                "--context", f"dir://{EXAMPLE}", "--dockerfile", "Dockerfile",
                "--build-arg", f"BASE={base}", "--destination", destination,
                "--root", str(work / "root"), "--kaniko-dir", str(work / "kaniko"),
                "--digest-file", str(digest_file)])
            if result.returncode != 0:
                return result.returncode
            digest = digest_file.read_text().strip()
            print(f"pushed {destination}@{digest}")
            print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())

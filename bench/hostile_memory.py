"""Peak memory of the executor's process tree on hostile base layers (the issue on hostile input):
a GNU long-name header of 128 MiB (refused at 1 MiB, so never buffered)
and a layer of 200,000 entries (extracted and snapshotted).

    python3 bench/hostile_memory.py

Prints one line a case: what the build did, its exit status, wall time and peak RSS."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import measure  # noqa: E402
from tests.support.images import skopeo_push, write_oci_layout  # noqa: E402
from tests.support.registry import run_registry  # noqa: E402


def _header(name: bytes, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo("././@LongLink" if kind == b"L" else "pax")
    info.type, info.size = kind, size
    return info.tobuf(format=tarfile.USTAR_FORMAT if kind != b"L" else tarfile.GNU_FORMAT)


def long_name_layer(path: Path, size: int) -> Path:
    """A GNU long-name header announcing ``size`` bytes of name, written streaming to a file."""
    with open(path, "wb") as out:
        out.write(_header(b"", b"L", size))
        chunk = b"n" * (1 << 20)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(b"\0" * (-size % 512))
        member = tarfile.TarInfo("x")
        out.write(member.tobuf(format=tarfile.GNU_FORMAT))
        out.write(b"\0" * 1024)
    return path


def many_entries_layer(path: Path, count: int) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for directory in range(count // 1000):
            info = tarfile.TarInfo(f"d{directory}")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
            for number in range(1000):
                member = tarfile.TarInfo(f"d{directory}/f{number}")
                data = f"{directory}/{number}\n".encode()
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
    return path


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lamina-hostile-memory-"))
    with run_registry(work / "registry") as registry:
        cases = {
            "GNU long name of 128 MiB": long_name_layer(work / "longname.tar", 128 << 20),
            "200,000 entries": many_entries_layer(work / "many.tar", 200_000),
        }
        for label, layer in cases.items():
            layout = work / f"layout-{layer.stem}"
            write_oci_layout(layout, "latest", [layer], {})
            base = skopeo_push(f"oci:{layout}:latest", registry, f"hostile/{layer.stem}", "latest")
            context = work / f"context-{layer.stem}"
            context.mkdir()
            (context / "Dockerfile").write_text(f"FROM {base}\nCOPY Dockerfile /built\n")
            result = measure([sys.executable, "-m", "executor", "--context", str(context),
                              "--root", str(work / f"root-{layer.stem}"),
                              "--kaniko-dir", str(work / f"kaniko-{layer.stem}"), "--no-push"])
            error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            print(f"{label}: exit {result.returncode}, {result.seconds:.1f} s, peak RSS "
                  f"{result.peak_rss / 2**20:.0f} MiB{'; ' + error[0][:120] if error else ''}")
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()

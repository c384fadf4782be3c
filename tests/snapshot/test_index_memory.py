"""The snapshot index of a 1,000,000-file root fits well inside the executor's memory budget.

A subprocess (so that nothing else this test session holds counts) imports the executor, as a
build would, then goes through what a build of a 1,000,000-file base does to memory: the
extractor's digest hints for every file, the baseline index built while they are consumed, and
an incremental snapshot's new index beside the old one. Its peak RSS (VmHWM) must stay under
``BOUND``; the old index (a bytes record and a dict slot per path) needed about 230 MB for the
index alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOUND_MIB = 100  # the executor's whole budget is 150 MiB; this measured 67 MiB

SCRIPT = textwrap.dedent("""
    import json, os, random, resource, time

    import executor.cli.main  # noqa: F401  (what the executor process has loaded anyway)
    from snapshot.hints import directory_hints, record_hint
    from snapshot.index import STAT_RECORD, ListingCodec, SnapshotIndex, listing_key

    def peak_mib():
        # VmHWM, this process's own high-water mark: ru_maxrss survives execve, so it would
        # carry the peak of the pytest process that started this one
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc/self/status")

    started = peak_mib()
    DIRS, FILES = 10_000, 100  # huge/dNN/sNN/fNNN as the bench's hugebase
    names = tuple(f"f{f:03}" for f in range(FILES))
    prefixes = [f"huge/d{d // 100:02}/s{d % 100:02}/" for d in range(DIRS)]

    def directory(d):
        # directory d's rows and digests, made again the same from its number
        rng = random.Random(d)
        ctime = 1_700_000_000_000_000_000 + d * 10**7
        rows, digests = [], []
        for f in range(FILES):
            ctime += rng.randrange(3000, 60000)
            rows.append(STAT_RECORD.pack(0o100644, 0, 0, 1, rng.randrange(10, 200),
                                         1_700_000_000 * 10**9, ctime, 1000 + d * FILES + f, 0, 2049))
            digests.append(rng.randbytes(16))
        return rows, digests

    # Extraction: a hint per file, packed per directory.
    hints = {}
    for d, prefix in enumerate(prefixes):
        rows, digests = directory(d)
        for f, (row, digest) in enumerate(zip(rows, digests)):
            st = os.stat_result((0o100644, 1000 + d * FILES + f, 2049, 1, 0, 0, 10, 0, 0, 0))
            record_hint(hints, prefix, st, row, digest)
    after_hints = peak_mib()

    # The baseline snapshot: each directory's hints taken out as its listing is packed.
    codec = ListingCodec()
    dirs = {}
    for d, prefix in enumerate(prefixes):
        found = directory_hints(hints, prefix)
        assert found is not None and len(found) == FILES
        rows, digests = directory(d)
        joined = b"".join(rows)
        dirs[prefix] = codec.pack(listing_key(names, joined), names, joined, digests, {})
    index = SnapshotIndex._adopt(dirs, DIRS * FILES, codec)
    assert not hints and len(index) == 1_000_000
    after_index = peak_mib()

    # An incremental snapshot: a new index sharing all listings but one with the old one.
    listing, _ = index.listing(prefixes[7])
    changed = dict(dirs)
    rows = bytearray(listing.rows)
    rows[16:24] = (999).to_bytes(8, "little")
    changed[prefixes[7]] = codec.pack(listing_key(names, bytes(rows)), names, bytes(rows),
                                      listing.digests, {})
    second = SnapshotIndex._adopt(changed, DIRS * FILES, codec)
    assert second[prefixes[7] + "f000"].size == 999 and index[prefixes[7] + "f000"].size != 999
    assert second[prefixes[9999] + "f099"] == index[prefixes[9999] + "f099"]
    t = time.monotonic()
    assert sum(1 for _ in second) == 1_000_000
    iterate = time.monotonic() - t
    print(json.dumps({"start": started, "hints": after_hints, "index": after_index,
                      "peak": peak_mib(), "iterate_s": iterate,
                      "packed_mb": sum(map(len, dirs.values())) / 2**20}))
""")


@pytest.mark.slow
def test_a_million_paths_stay_under_the_memory_bound() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    print(facts)
    assert facts["packed_mb"] < 40, facts  # about 25 MB: 16 bytes of digest and ~9 of the rest a path
    assert facts["peak"] < BOUND_MIB, facts

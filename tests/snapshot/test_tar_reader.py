"""The streaming tar reader reads what tarfile reads, from tarfile's and GNU tar's archives, and
refuses damaged ones."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from decimal import Decimal
from pathlib import Path

import pytest

from snapshot import IgnoreList, LayerFormatError, extract_layer
from snapshot.hints import DigestHints, directory_hints, stat_check
from snapshot.index import pack_stat
from snapshot.tar_reader import TarReader

from .helpers import entry, tar_bytes, xattrs_supported

_TYPES = {tarfile.AREGTYPE: b"0"[0], tarfile.CONTTYPE: b"7"[0]}
LONG = "/".join(["a-rather-long-directory-name-" + str(i) for i in range(12)])  # > 255 chars


def reader_view(data: bytes, chunk_size: int = 1 << 20) -> list[tuple]:
    reader = TarReader(io.BytesIO(data), chunk_size=chunk_size)
    view = []
    for m in reader:
        body = b"".join(bytes(v) for v in reader.body()) if m.isreg() else None
        view.append((m.name.rstrip("/"), m.type, m.mode, m.uid, m.gid, m.size if m.isreg() else 0,
                     m.mtime_ns, m.linkname, m.devmajor, m.devminor, m.xattrs, body))
    return view


def tarfile_view(data: bytes) -> list[tuple]:
    view = []
    with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8", errors="surrogateescape") as tar:
        for m in tar:
            exact = m.pax_headers.get("mtime")
            ns = int(Decimal(exact) * 10**9) if exact else int(m.mtime) * 10**9
            xattrs = {k[len("SCHILY.xattr."):]: v.encode("utf-8", "surrogateescape")
                      for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            body = tar.extractfile(m).read() if m.isreg() else None  # type: ignore[union-attr]
            view.append((m.name.rstrip("/"), _TYPES.get(m.type, m.type[0]), m.mode, m.uid, m.gid,
                         m.size if m.isreg() else 0, ns, m.linkname,
                         m.devmajor if m.ischr() or m.isblk() else 0,
                         m.devminor if m.ischr() or m.isblk() else 0, xattrs, body))
    return view


def python_archive(fmt: int) -> bytes:
    members: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (entry("dir", tarfile.DIRTYPE), None),
        (entry("dir/file"), b"hello"),
        (entry("dir/empty"), b""),
        (entry("dir/big"), bytes(range(256)) * 4000),  # spans reads of a small chunk size
        (entry("sym", tarfile.SYMTYPE, linkname="dir/file"), None),
        (entry("hard", tarfile.LNKTYPE, linkname="dir/file"), None),
        (entry("fifo", tarfile.FIFOTYPE), None),
    ]
    dev = entry("dev/null", tarfile.CHRTYPE, mode=0o666)
    dev.devmajor, dev.devminor = 1, 3
    members.append((dev, None))
    if fmt == tarfile.USTAR_FORMAT:
        members.append((entry(LONG[:150] + "/name-in-the-prefix"), b"p"))  # prefix field
    else:
        members.append((entry(LONG + "/long-file"), b"long"))
        members.append((entry("longlink", tarfile.SYMTYPE, linkname=LONG), None))
        big = entry("bigids")
        big.uid, big.gid = 2**22, 2**21 + 5  # base-256 in GNU, PAX records in PAX
        members.append((big, b"ids"))
    if fmt == tarfile.PAX_FORMAT:
        frac = entry("fractional")
        frac.mtime = 1_600_000_000.25
        members.append((frac, b"f"))
        xattr = entry("xattrs")
        xattr.pax_headers = {"SCHILY.xattr.user.one": "1", "SCHILY.xattr.user.bin": "\udcff\x00x"}
        members.append((xattr, b"x"))
        members.append((entry("caf\u00e9/\u65e5\u672c"), b"utf8"))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as tar:
        for info, body in members:
            if body is not None:
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return out.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
                         ids=["ustar", "gnu", "pax"])
def test_python_tarfile_archives_read_as_tarfile_reads_them(fmt: int) -> None:
    data = python_archive(fmt)
    expected = tarfile_view(data)
    assert reader_view(data) == expected
    assert reader_view(data, chunk_size=700) == expected  # headers and bodies across reads
    assert len(expected) >= 9


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar")
@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_gnu_tar_archives_read_as_tarfile_reads_them(tmp_path: Path, fmt: int) -> None:
    src = tmp_path / "src"
    (src / LONG).mkdir(parents=True)
    (src / LONG / "file-with-a-long-path").write_bytes(b"deep")
    (src / "plain").write_bytes(b"plain" * 1000)
    os.utime(src / "plain", ns=(1_600_000_000_123_456_789,) * 2)
    (src / "link").symlink_to(LONG + "/file-with-a-long-path")
    os.link(src / "plain", src / "hardlink")
    os.mkfifo(src / "fifo")
    (src / os.fsdecode(b"latin-\xe9")).write_bytes(b"not utf-8")
    if xattrs_supported(tmp_path):
        os.setxattr(src / "plain", "user.note", b"\xffbinary\x00")
    out = tmp_path / "out.tar"
    subprocess.run(["tar", f"--format={fmt}", "--xattrs", "--xattrs-include=user.*",
                    "--owner=someone:2200000", "--group=:7", "-cf", out, "-C", src, "."],
                   check=True, capture_output=True)
    data = out.read_bytes()
    view = reader_view(data)
    assert view == tarfile_view(data)
    by_name = {v[0]: v for v in view}
    assert by_name["./plain"][3] == 2200000
    if fmt == "posix":
        assert by_name["./plain"][6] == 1_600_000_000_123_456_789


def test_global_pax_headers_apply_to_what_follows() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"uid": "4242", "SCHILY.xattr.user.g": "global"}) as tar:
        info = entry("a")
        tar.addfile(info, io.BytesIO())
    [a] = reader_view(out.getvalue())
    assert a[3] == 4242 and a[10] == {"user.g": b"global"}


def _with_checksum(header: bytearray) -> bytes:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def test_damaged_archives_are_format_errors(tmp_path: Path) -> None:
    data = tar_bytes((entry("one"), b"1" * 600), (entry("two"), b"2"))
    second = 512 * 3  # one's header and two blocks of body
    corrupt = bytearray(data)
    corrupt[second + 10] ^= 0x55
    cases = {
        "checksum": bytes(corrupt),
        "body": data[:512 + 300],
        "padding": data[:512 + 700],
        "header": data[:second + 100],
    }
    bad_size = bytearray(data[:512])
    bad_size[124:136] = b"12x4567\0\0\0\0\0"
    cases["size field"] = _with_checksum(bad_size) + data[512:]
    for what, damaged in cases.items():
        root = tmp_path / what
        root.mkdir()
        with pytest.raises(LayerFormatError):
            extract_layer(io.BytesIO(damaged), root, IgnoreList())


def test_end_without_zero_blocks_and_unknown_types() -> None:
    data = tar_bytes((entry("one"), b"1"), (entry("two"), b"2"))
    without_end = data[: 512 * 4]
    assert [v[0] for v in reader_view(without_end)] == ["one", "two"]
    label = bytearray(data[:512])
    label[156] = ord("V")  # a volume label: skipped, its body too
    data = _with_checksum(label) + data[512:]
    assert [v[0] for v in reader_view(data)] == ["two"]


def test_unread_bodies_are_skipped() -> None:
    data = tar_bytes((entry("one"), b"1" * 5000), (entry("two"), b"2" * 3))
    reader = TarReader(io.BytesIO(data), chunk_size=1000)
    names = []
    for m in reader:
        names.append(m.name)
        if m.name == "one":
            next(iter(reader.body()))  # read a little of it only
        else:
            assert b"".join(reader.body()) == b"222"
    assert names == ["one", "two"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_extraction_with_hints_sets_owner_and_mode_exactly(tmp_path: Path) -> None:
    """Files created with their final mode skip fchown/fchmod; a setgid parent directory (new
    files take its group) or special bits must still come out as the layer says."""
    shared = entry("shared", tarfile.DIRTYPE)
    shared.mode, shared.gid = 0o2775, 50
    plain, setuid, other = entry("shared/plain"), entry("suid", mode=0o4755), entry("owned")
    other.uid, other.gid = 1000, 1000
    layer = tar_bytes((shared, None), (plain, b"p"), (setuid, b"s"), (other, b"o"))
    hints: DigestHints = {}
    extract_layer(io.BytesIO(layer), tmp_path, IgnoreList(), hints=hints)
    expected = {"shared/plain": (0o100644, 0, 0), "suid": (0o104755, 0, 0),
                "owned": (0o100644, 1000, 1000)}
    for rel, (mode, uid, gid) in expected.items():
        st = os.lstat(tmp_path / rel)
        assert (st.st_mode, st.st_uid, st.st_gid) == (mode, uid, gid), rel
        assert st.st_mtime_ns == 1_600_000_000 * 10**9
        found = directory_hints(dict(hints), rel[:rel.rfind("/") + 1])
        assert found is not None and found[st.st_ino].check == stat_check(pack_stat(st)), rel

"""Mutation fuzzing, bounded in count and time: the layer tar reader and extractor meet damaged
and hostile archives and may only ever raise the snapshot package's own errors, never write
outside the root, and never echo more than a short prefix of what they read."""

from __future__ import annotations

import io
import os
import random
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from executor.dockerfile import DockerfileError, ShellLexer, parse_dockerfile
from snapshot import IgnoreList, SnapshotError, extract_layer
from snapshot.rootfs import Escape

SEED_MUTATIONS = 1500  # per escape policy; a few seconds
TIME_LIMIT_S = 20.0


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = None, **fields: object
            ) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    return info, data


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def seed_corpus() -> list[bytes]:
    long = "d/" + "n" * 300
    members = [
        _member("d", tarfile.DIRTYPE, mode=0o755),
        _member("d/file", data=b"hello\n", mode=0o644, uid=1000, gid=1000),
        _member("d/link", tarfile.SYMTYPE, linkname="../outside"),
        _member("d/hard", tarfile.LNKTYPE, linkname="d/file"),
        _member("d/.wh.gone"),
        _member("d/.wh..wh..opq"),
        _member("fifo", tarfile.FIFOTYPE),
        _member("char", tarfile.CHRTYPE, devmajor=1, devminor=3),
        _member(long, data=b"x"),
    ]
    pax_info, pax_data = _member("p", data=b"pax\n")
    pax_info.pax_headers = {"path": "d/pax-name", "mtime": "1.5", "SCHILY.xattr.user.k": "v"}
    return [_tar(members, tarfile.PAX_FORMAT), _tar(members, tarfile.GNU_FORMAT),
            _tar([(pax_info, pax_data), *members[:3]], tarfile.PAX_FORMAT)]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        position = rng.randrange(len(buffer)) if buffer else 0
        if choice < 0.5 and buffer:
            buffer[position] = rng.randrange(256)
        elif choice < 0.65 and buffer:
            # a header field: name, mode, size, mtime, type, linkname, magic, prefix
            block = position - position % 512
            offset = block + rng.choice((0, 100, 124, 136, 156, 157, 257, 345))
            buffer[offset:offset + 12] = rng.choice(
                (b"\x00" * 12, b"777777777777", b"\xff" * 12, b"/etc/passwd\x00", b"../../../x\x00",
                 b"\x80" + b"\xff" * 11))
        elif choice < 0.8:
            del buffer[position:position + rng.randint(1, 1024)]  # truncation inside an entry
        else:
            buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(buffer)


@pytest.mark.parametrize("escape", [Escape.REFUSE, Escape.CLAMP])
def test_mutated_layers_only_ever_raise_snapshot_errors(tmp_path: Path, escape: Escape) -> None:
    rng = random.Random(f"lamina-{escape.value}")  # reproducible: a failure names its case
    corpus = seed_corpus()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary").write_text("host\n")
    started, tried, refused = time.monotonic(), 0, 0
    for case in range(SEED_MUTATIONS):
        if time.monotonic() - started > TIME_LIMIT_S:
            break
        data = _mutate(rng.choice(corpus), rng)
        root = tmp_path / "root"
        root.mkdir()
        try:
            extract_layer(io.BytesIO(data), root, IgnoreList(), escape=escape)
        except SnapshotError as error:
            refused += 1
            assert len(str(error)) < 600, f"case {case}: {len(str(error))} characters"
        except Exception as error:  # noqa: BLE001 - the point: nothing else may come out
            pytest.fail(f"case {case}: {type(error).__name__}: {error}")
        finally:
            shutil.rmtree(root)
        tried += 1
        assert sorted(os.listdir(outside)) == ["canary"], f"case {case} wrote outside the root"
        assert sorted(os.listdir(tmp_path)) == ["outside"], f"case {case} wrote beside the root"
    assert tried >= 200 and 0 < refused < tried  # the mutations reach both outcomes


DOCKERFILE_SEED = """# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE:-busybox} AS build
ARG NAME="a b" OTHER=${NAME}-x
ENV PATH=/usr/bin:$PATH K="v w" \
    J='q'
LABEL a=b "c d"="e f"
RUN --mount=type=cache,target=/root/.cache,id=c --mount=type=secret,id=s,required=false \
    echo "${NAME//a/b}" ${OTHER:+set} '${literal}' && \
    true
RUN <<EOT
echo heredoc $NAME
EOT
COPY --chown=1000:1000 --chmod=755 --from=build ["a", "b c", "/dst/"]
ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://x/y /z
HEALTHCHECK --interval=5s --retries=3 CMD ["curl", "-f", "http://localhost/"]
EXPOSE 80/tcp 8000-8002
USER ${NAME%% *}:0
WORKDIR /w/${NAME#a}
ONBUILD RUN echo later
SHELL ["/bin/sh", "-c"]
CMD echo done
"""
TOKENS = ["$", "${", "}", "${X:-", ":+", "//", "\\", '"', "'", "<<EOT\n", "EOT", "--mount=", "--", "=",
          "[", "]", ",", "\n", "\x00", "#", "--chown=", "--from=", " ", "\t", "\u00e9", "\udcff", "`",
          "ONBUILD ", "FROM ", "AS ", "RUN ", "HEALTHCHECK ", "99999999999999999999", "# escape=`\n"]


def _mutate_text(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(text) + 1)
        if rng.random() < 0.7:
            text = text[:position] + rng.choice(TOKENS) + text[position:]
        else:
            text = text[:position] + text[position + rng.randint(1, 40):]
    return text


def test_mutated_dockerfiles_only_ever_raise_dockerfile_errors() -> None:
    rng = random.Random("lamina-dockerfile")
    env = {"NAME": "a b", "X": "x", "PATH": "/bin"}
    started, tried, refused = time.monotonic(), 0, 0
    for case in range(4000):
        if time.monotonic() - started > TIME_LIMIT_S:
            break
        text = _mutate_text(DOCKERFILE_SEED, rng)
        tried += 1
        try:
            dockerfile = parse_dockerfile(text)
            lexer = ShellLexer(dockerfile.escape)
            for stage in dockerfile.stages:
                lexer.process_word(stage.base, env)
                for instruction in stage.instructions:
                    for word in instruction.words:
                        lexer.process_words(word, env)
        except DockerfileError as error:
            refused += 1
            assert len(str(error)) < 2000, f"case {case}: {len(str(error))} characters"
        except Exception as error:  # noqa: BLE001 - the point: nothing else may come out
            pytest.fail(f"case {case}: {type(error).__name__}: {error!r:.300}\n{text!r:.2000}")
    assert tried >= 500 and 0 < refused < tried

"""Heredocs (BuildKit): RUN <<EOF, RUN cmd <<EOF, <<-EOF, quoted delimiters, COPY <<EOF."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull, layer_paths, pushed
from tests.support.readback import PulledImage
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
FROM {base}
ENV GREETING=hello
RUN <<EOF
echo "$GREETING from a script" > /script.txt
echo second line >> /script.txt
EOF
RUN <<-EOT sh
	mkdir -p /tabs
	echo "tabs stripped" > /tabs/out
	EOT
RUN cat > /expanded.txt <<EOF && cat > /literal.txt <<'RAW'
$GREETING expanded
EOF
$GREETING kept
RAW
RUN <<EOF
#!/bin/sh
echo "run as $0" > /shebang.txt
EOF
COPY <<EOF /etc/app.conf
greeting=$GREETING
quoted='$GREETING'
EOF
COPY <<one.txt <<"two.txt" /dir/
first $GREETING
one.txt
second $GREETING
two.txt
COPY --chmod=0755 <<-EOF /usr/local/bin/tool
	#!/bin/sh
	echo tool
	EOF
RUN echo done > /done
"""


@pytest.fixture(scope="module")
def image(registry: RunningRegistry, busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> PulledImage:
    tmp = tmp_path_factory.mktemp("heredocs")
    _, pulled = build_and_pull(tmp, registry, DOCKERFILE.format(base=busybox_image))
    return pulled


def test_run_heredoc_runs_the_body_as_a_script(image: PulledImage) -> None:
    assert image.tree()["/script.txt"].content == b"hello from a script\nsecond line\n"


def test_run_heredoc_with_command_and_chomp(image: PulledImage) -> None:
    assert image.tree()["/tabs/out"].content == b"tabs stripped\n"


def test_several_heredocs_quoted_delimiter_is_not_expanded(image: PulledImage) -> None:
    tree = image.tree()
    assert tree["/expanded.txt"].content == b"hello expanded\n"
    assert tree["/literal.txt"].content == b"$GREETING kept\n"


def test_shebang_heredoc_runs_as_a_file_and_leaves_no_trace(image: PulledImage) -> None:
    assert image.tree()["/shebang.txt"].content == b"run as /dev/pipes/EOF\n"
    assert not [path for path in layer_paths(image) if path.startswith("dev/pipes")]


def test_copy_heredoc_files(image: PulledImage) -> None:
    tree = image.tree()
    # Expanded as BuildKit does: quotes are plain characters in a heredoc body.
    conf = tree["/etc/app.conf"]
    assert conf.content == b"greeting=hello\nquoted='hello'\n"
    assert (conf.kind, conf.mode, conf.uid, conf.gid) == ("file", 0o644, 0, 0)
    assert tree["/dir/one.txt"].content == b"first hello\n"
    assert tree["/dir/two.txt"].content == b"second $GREETING\n"
    tool = tree["/usr/local/bin/tool"]
    assert tool.content == b"#!/bin/sh\necho tool\n" and tool.mode == 0o755


def test_history_records_the_heredoc_bodies(image: PulledImage) -> None:
    created = [entry["created_by"] for entry in image.config["history"]]
    assert ('RUN <<EOF\necho "$GREETING from a script" > /script.txt\necho second line >> /script.txt\nEOF'
            in created)
    assert 'COPY <<one.txt <<"two.txt" /dir/\nfirst $GREETING\none.txt\nsecond $GREETING\ntwo.txt' in created
    assert created[-1] == "RUN echo done > /done"


def test_heredoc_without_terminator_is_an_error(tmp_path: Path, registry: RunningRegistry,
                                                busybox_image: str) -> None:
    run, destination = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\nRUN <<EOF\necho hi\nEOT\n")
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    assert "Dockerfile:3:" in run.error_lines[0] and "unterminated heredoc <<EOF" in run.error_lines[0]
    assert not pushed(registry, destination)

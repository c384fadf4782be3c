"""Files in the image: WORKDIR's directories, COPY/ADD ownership and modes, archives ADD unpacks,
.dockerignore, RUN's mounts, and what RUN leaves in a layer (deletions, metadata-only changes, kinds
swapped, hard links, odd names, deep paths)."""

from __future__ import annotations

import io
import tarfile

from tests.differential.model import FILES, Case, Disagreement


def tar_of(entries: dict[str, bytes | None], compression: str = "", uid: int = 2000) -> bytes:
    """A tar archive (``compression`` "", "gz", "xz" or "bz2") of ``entries``: a None value is a
    directory; entries owned by ``uid``, so that an ADD --chown shows whether it reaches them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid = 1_600_000_000, uid, uid
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o750
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o640
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def mount_stub(path: str) -> Disagreement:
    return Disagreement("docker", path, "lamina",
                        "docker 20.10's BuildKit (0.8) leaves the empty directory it made to mount on; "
                        "BuildKit 0.11 removes mount stubs and the parents made for them "
                        "(moby/buildkit#3307, #3314), as lamina does")


ARCHIVE = {"top/": None, "top/inner.txt": b"inner\n", "loose.txt": b"loose\n"}
DEEP = "/".join(f"level{n}" for n in range(1, 41))

CASES = [
    # WORKDIR
    Case("workdir_under_user_owns_created_dirs", """FROM {base}
USER app
WORKDIR /srv/deep/appdir
RUN touch made-by-app 2>/dev/null; id -u > /tmp/uid
"""),
    Case("workdir_expands_env_and_arg", """FROM {base}
ARG SUB=sub
ENV ROOT=/opt/root
WORKDIR $ROOT/${SUB}
RUN pwd > /tmp/pwd.txt
""", build_args={"SUB": "overridden"}),
    Case("workdir_relative_without_absolute_starts_at_root", """FROM {base}
WORKDIR rel
WORKDIR ./x/../y
RUN pwd > /pwd.txt
"""),
    Case("workdir_over_existing_dirs_keeps_them", """FROM {base}
USER app
WORKDIR /tmp
WORKDIR /etc
USER root
WORKDIR /root
RUN pwd > /pwd.txt
"""),
    # COPY and ADD: owners and modes of what they create and of what already exists
    Case("add_archive_chown_destination_dir", "FROM {base}\nADD --chown=1000:1000 archive.tar.gz /opt/t/\n",
         {"archive.tar.gz": tar_of(ARCHIVE, "gz")}),
    Case("copy_chown_destination_dir_and_implied_parents",
         "FROM {base}\nCOPY --chown=1000:1000 dir /p/q/newdir\nCOPY --chown=app a.txt /r/s/t.txt\n", FILES),
    Case("copy_chown_into_existing_dir_keeps_its_owner",
         "FROM {base}\nCOPY --chown=app:app a.txt /etc/\nCOPY --chown=app:app dir /home/\n", FILES),
    Case("copy_chmod_directory_source_new_and_existing_dest",
         "FROM {base}\nCOPY --chmod=640 dir /cm\nCOPY --chmod=700 dir /tmp/\n", FILES),
    Case("copy_onto_existing_dir_without_slash", "FROM {base}\nCOPY a.txt /tmp\nCOPY dir /home\n", FILES),
    Case("copy_ignores_user_instruction", "FROM {base}\nUSER app\nCOPY a.txt dir /home/app/\n", FILES),
    # ADD's archives
    Case("add_uncompressed_tar_extracts", "FROM {base}\nADD plain.tar /plain/\n",
         {"plain.tar": tar_of(ARCHIVE)}),
    Case("add_tar_xz_and_bz2_extract", "FROM {base}\nADD a.tar.xz /xz/\nADD a.tar.bz2 /bz2/\n",
         {"a.tar.xz": tar_of(ARCHIVE, "xz"), "a.tar.bz2": tar_of(ARCHIVE, "bz2")}),
    Case("add_non_gzip_named_tar_gz_is_copied", "FROM {base}\nADD fake.tar.gz /fake/\n",
         {"fake.tar.gz": "not a gzip stream\n"}),
    Case("add_archive_to_new_path_without_slash", "FROM {base}\nADD plain.tar /unpacked\n",
         {"plain.tar": tar_of(ARCHIVE)}),
    Case("add_archive_merges_into_existing_tree", "FROM {base}\nADD merge.tar /\n",
         {"merge.tar": tar_of({"etc/added.conf": b"added\n", "home/app/from-tar": b"t\n"}, uid=0)}),
    # .dockerignore
    Case("dockerignore_leading_slash_and_doublestar", "FROM {base}\nCOPY . /ctx/\n",
         {**FILES, "top.tmp": "t\n", "deep/a/b/c.tmp": "c\n", "deep/a/keep.txt": "k\n",
          "dir/a.txt": "nested a\n", ".dockerignore": "/a.txt\n**/*.tmp\n"}),
    Case("dockerignore_negation_inside_excluded_dir", "FROM {base}\nCOPY . /ctx/\n",
         {**FILES, "logs/x.log": "x\n", "logs/keep/k.log": "k\n", "logs/keep/other.log": "o\n",
          ".dockerignore": "logs\n!logs/keep/k.log\ndir/sub\n!dir/sub/two.txt\n"}),
    # RUN's mounts leave nothing behind
    Case("run_mount_cache_leaves_nothing", """FROM {base}
RUN --mount=type=cache,target=/cache echo cached > /cache/f && ls /cache > /listing
RUN --mount=type=cache,target=/var/cache/thing,id=thing echo x > /var/cache/thing/x
""", disagreements=(mount_stub("/cache"), mount_stub("/var/cache"), mount_stub("/var/cache/thing"),
                    Disagreement("buildah", "/var/cache", "lamina",
                                 "buildah 1.28 removes the mount point but keeps the parent it made for "
                                 "it; BuildKit 0.11 removes both (moby/buildkit#3314)"))),
    Case("run_mount_tmpfs_leaves_nothing", """FROM {base}
RUN --mount=type=tmpfs,target=/scratch echo gone > /scratch/f && cat /scratch/f > /kept
""", disagreements=(mount_stub("/scratch"),)),
    # buildah 1.28 (chroot isolation) commits a layer that whites out every top-level directory
    Case("run_mount_tmpfs_over_existing_dir", """FROM {base}
RUN --mount=type=tmpfs,target=/tmp echo hidden > /tmp/hidden && ls /tmp > /listing
""", buildah=False),
    Case("run_mount_bind_from_context_read_only", """FROM {base}
RUN --mount=type=bind,source=dir,target=/src cat /src/one.txt > /one.copy \\
    && (touch /src/new 2>/dev/null && echo writable || echo read-only) > /bind-mode
RUN --mount=type=bind,target=/ctx,rw touch /ctx/discarded && ls /ctx > /ctx-listing
""", FILES, disagreements=(mount_stub("/src"), mount_stub("/ctx"))),
    Case("run_mount_bind_from_stage", """FROM {base} AS build
RUN mkdir /out && echo built > /out/artifact
FROM {base}
RUN --mount=type=bind,from=build,source=/out,target=/in cat /in/artifact > /artifact.copy
""", disagreements=(mount_stub("/in"),)),
    # what RUN leaves in a layer
    Case("run_deletes_files_of_the_base_top_layer", "FROM {base}\nRUN rm /etc/os-release && rm -r /home/app\n"),
    Case("run_changes_only_mode_and_owner", """FROM {base}
RUN chmod 600 /etc/os-release && chown 1000:50 /etc/group && chmod 2775 /home/app
"""),
    Case("symlink_and_directory_swapped", """FROM {base}
RUN mkdir /d1 && echo x > /d1/f && ln -s /etc /l1
RUN rm -rf /d1 /l1 && ln -s /tmp /d1 && mkdir /l1 && echo y > /l1/f \\
    && rm /usr/bin/env && mkdir /usr/bin/env
"""),
    Case("hardlinks_across_layers", """FROM {base}
RUN mkdir /h && echo one > /h/a
RUN ln /h/a /h/b && echo two >> /h/b
RUN ln /bin/busybox /h/bb && chmod 700 /h/bb
"""),
    Case("empty_files_and_dirs", "FROM {base}\nCOPY empty /copied-empty\nRUN : > /empty-run && mkdir /empty-dir\n",
         {"empty": ""}),
    Case("names_with_spaces_and_unicode", """FROM {base}
COPY ["with space.txt", "/dst dir/"]
COPY ünï /unicode/
RUN touch "/run made ✓" && mkdir "/dir with space"
""", {"with space.txt": "s\n", "ünï/файл ✓.txt": "u\n"}),
    Case("deep_paths_and_long_names", f"""FROM {{base}}
COPY d /copied/
RUN mkdir -p /deep/{DEEP} && echo deep > /deep/{DEEP}/f \\
    && touch /deep/{"n" * 200}
""", {f"d/{DEEP}/f.txt": "deep\n"}),
]

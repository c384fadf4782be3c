"""The first corpus: ENV/ARG forms, COPY and ADD basics, WORKDIR, USER, config instructions, RUN's
file kinds, multi-stage."""

from __future__ import annotations

from tests.differential.model import FILES, Case, buildah_wrong, tar_gz

# busybox id prints groups= only when getgroups() is not empty.
BUILDAH_GROUPS = ("buildah 1.28 adds the primary gid to the supplementary groups; BuildKit v0.8 (docker "
                  "20.10) gives runc's GetExecUser Sgids: the groups /etc/group lists the user in, none for "
                  "USER user:group or a uid without a passwd entry")

CASES = [
    Case("env_substitution_forms", """FROM {base}
ENV A=1 B="two words"
ENV C=${A}x D="${UNSET:-default}" E=${A:+alt} F=\\$A G='$A' H="$B"
ENV A=3 I=$A
RUN echo "$A|$B|$C|$D|$E|$F|$G|$H|$I" > /env.txt
"""),
    Case("arg_env_scoping", """FROM {base}
ARG X=from-arg
ARG Y=from-arg
ENV X=from-env
RUN echo "$X $Y" > /scope.txt
"""),
    Case("global_args_in_from_and_stage", """ARG IMAGE={base}
ARG V=global
FROM ${IMAGE}
ARG V
ARG W=${V}-derived
RUN echo "$V $W" > /v.txt
"""),
    Case("build_arg_overrides_default", """FROM {base}
ARG FLAVOR=plain
RUN echo $FLAVOR > /flavor.txt
""", build_args={"FLAVOR": "spicy"}),
    Case("copy_file_into_dir_trailing_slash", "FROM {base}\nCOPY a.txt /dest/\n", FILES),
    Case("copy_file_renamed", "FROM {base}\nCOPY a.txt /dest/renamed.txt\n", FILES),
    Case("copy_directory_contents_not_directory", "FROM {base}\nCOPY dir /copied\n", FILES),
    Case("copy_several_sources", "FROM {base}\nCOPY a.txt b.txt dir /multi/\n", FILES),
    Case("copy_wildcards", "FROM {base}\nCOPY *.txt /wild/\nCOPY di? /wild2/\n", FILES),
    # Go's filepath.Match, not fnmatch: [^b] negates, ! in a class is a plain character
    Case("copy_wildcard_classes_as_go", "FROM {base}\nCOPY [^b]?.txt /negated/\nCOPY [!b]x.txt /bang/\n",
         {"!x.txt": "bang\n", "ax.txt": "a\n", "bx.txt": "b\n", "cy.txt": "c\n"}),
    Case("copy_relative_to_workdir", "FROM {base}\nWORKDIR /work\nCOPY a.txt rel/\nCOPY b.txt .\n", FILES),
    Case("copy_chown_by_name", "FROM {base}\nCOPY --chown=app:staff dir /owned/\n", FILES),
    Case("copy_chown_numeric_unknown_ids", "FROM {base}\nCOPY --chown=4321:8765 a.txt /numeric/\n", FILES),
    Case("copy_chown_user_only", "FROM {base}\nCOPY --chown=app a.txt /useronly/\n", FILES),
    Case("copy_chown_creates_parents", "FROM {base}\nCOPY --chown=app:app a.txt /new/deep/dir/\n", FILES),
    Case("copy_chmod", "FROM {base}\nCOPY --chmod=0751 dir /modes/\nCOPY --chmod=600 a.txt /modes/a\n", FILES),
    Case("existing_directories_keep_mode_and_owner",
         "FROM {base}\nCOPY a.txt /tmp/\nCOPY b.txt /home/app/\nCOPY dir /root/\n", FILES),
    Case("copy_keeps_modes_and_symlinks", "FROM {base}\nCOPY . /ctx/\n", FILES,
         symlinks={"dir/link": "one.txt", "abs-link": "/etc/passwd"}, modes={"script.sh": 0o755}),
    Case("copy_over_existing_file", "FROM {base}\nCOPY a.txt /etc/os-release\n", FILES),
    Case("add_local_archive_extracts",
         "FROM {base}\nADD archive.tar.gz /unpacked/\nADD a.txt /added/\n",
         {**FILES, "archive.tar.gz": tar_gz({"x/y.txt": b"y\n", "z.txt": b"z\n"})}),
    Case("dockerignore_with_exceptions", "FROM {base}\nCOPY . /ctx/\n",
         {**FILES, "app.log": "log\n", "keep.log": "keep\n", "dir/sub/skip.tmp": "tmp\n",
          ".dockerignore": "*.log\n!keep.log\n**/*.tmp\nb.txt\n"}),
    Case("workdir_creates_chain", """FROM {base}
WORKDIR /a/b
WORKDIR c
WORKDIR ../d
RUN pwd > /pwd.txt
"""),
    Case("workdir_as_user", "FROM {base}\nUSER app\nWORKDIR /home/app/work\nRUN touch made-by-app\n"),
    Case("user_uid_without_group", "FROM {base}\nUSER 4321\nRUN id > /tmp/id.txt\n",
         disagreements=(buildah_wrong("/tmp/id.txt", BUILDAH_GROUPS),)),
    Case("user_groups_as_runc", """FROM {base}
RUN id > /tmp/root-id
USER app
RUN id > /tmp/app-id
USER 1000
RUN id > /tmp/1000-id
USER app:1000
RUN id > /tmp/appgrp-id
""", disagreements=tuple(buildah_wrong(f"/tmp/{name}-id", BUILDAH_GROUPS)
                         for name in ("root", "app", "1000", "appgrp"))),
    Case("user_name_and_group", "FROM {base}\nUSER app:staff\nRUN id > /tmp/id.txt\nUSER root\n",
         disagreements=(buildah_wrong("/tmp/id.txt", BUILDAH_GROUPS),)),
    Case("volume_and_expose", """FROM {base}
VOLUME /data /logs
VOLUME ["/json-vol"]
EXPOSE 80/tcp 53/udp 8000-8002
EXPOSE 443
""", disagreements=(buildah_wrong("config:ExposedPorts",
                                "BuildKit expands a port range into one key per port (nat.ParsePortSpecs); "
                                "buildah 1.28 keeps the key \"8000-8002/tcp\""),)),
    Case("shell_instruction_and_shell_form_cmd", """FROM {base}
SHELL ["/bin/sh", "-ec"]
RUN echo "$0" > /shell.txt
CMD echo hello
""", disagreements=(buildah_wrong("config:Cmd",
                                "the shell form of CMD uses the SHELL instruction's shell (Dockerfile reference); "
                                "buildah 1.28 keeps /bin/sh -c"),)),
    Case("entrypoint_resets_inherited_cmd", "FROM {base}\nENTRYPOINT [\"/bin/echo\"]\n"),
    Case("cmd_before_entrypoint_is_kept", "FROM {base}\nCMD [\"arg\"]\nENTRYPOINT [\"/bin/echo\"]\n"),
    Case("healthcheck_stopsignal_labels", """FROM {base}
HEALTHCHECK --interval=5s --timeout=3s --start-period=2s --retries=4 CMD ["true"]
STOPSIGNAL SIGKILL
LABEL "key with space"="v 1" multi=one \\
      other="two"
LABEL version=${VERSION:-unset}
"""),
    Case("run_deletes_and_recreates_directory", """FROM {base}
RUN rm -rf /home && mkdir /home && echo recreated > /home/only
RUN rm /bin/ls && mkdir -p /var/empty
"""),
    Case("run_exec_form_and_env", """FROM {base}
ENV GREETING=hello
RUN ["/bin/sh", "-c", "echo $GREETING $HOME > /exec.txt"]
"""),
    Case("run_hardlinks_setuid_sticky", """FROM {base}
RUN echo data > /data && ln /data /data-link && chmod 4755 /data \\
    && mkdir /shared && chmod 1777 /shared && chmod 2755 /shared
"""),
    Case("multistage_copy_from_preserves_bits", """FROM {base} AS build
RUN mkdir -p /out && echo x > /out/x && chmod 4750 /out/x && chown 1000:50 /out/x \\
    && ln /out/x /out/x-link && ln -s x /out/x-sym
FROM {base}
COPY --from=build /out /copied
COPY --from=0 /out/x /single
"""),
    Case("multistage_from_stage_and_args", """ARG BASE={base}
FROM $BASE AS first
ENV FROM_FIRST=1
RUN echo first > /first
FROM first
ARG LATE=late
RUN echo "$FROM_FIRST $LATE" > /second
"""),
    Case("everyday_dockerfile", """ARG BASE={base}
FROM ${BASE}
ARG VERSION=2
ENV A=1 B="two words"
WORKDIR /app
COPY . /app/
COPY --chown=app:app sub/ /home/app/sub/
COPY --chmod=0700 run.sh /usr/local/bin/
RUN echo $VERSION > /app/version && mkdir -p /var/lib/thing && chmod 700 /var/lib/thing \\
    && rm /etc/os-release && ln -s /app/version /app/current && ln /app/file.txt /app/file-link
USER app
RUN touch /tmp/by-app && mkdir /home/app/made
USER root
EXPOSE 80 443/tcp
LABEL a=b c="d e"
STOPSIGNAL SIGINT
HEALTHCHECK --interval=10s CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/version"]
""", {"file.txt": "file\n", "sub/inner.txt": "inner\n", "sub/deeper/x.txt": "x\n", "run.sh": "#!/bin/sh\necho run\n"}),
]

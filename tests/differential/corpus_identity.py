"""Who a step runs as and with what: RUN's PATH when the image sets none, USER's uid, gid and
supplementary groups, and USER, WORKDIR and COPY --chown in a stage with no /etc/passwd."""

from __future__ import annotations

from tests.differential.model import FILES, Case, buildah_wrong

BUILDAH_GROUPS = ("buildah 1.28 adds the primary gid to the supplementary groups (for no USER too); "
                  "BuildKit v0.8 (docker 20.10) gives runc's GetExecUser Sgids: only the groups /etc/group "
                  "lists the user in, and none for no USER or USER uid:gid / user:group")

CASES = [
    Case("exec_form_run_without_path", """FROM {bare}
RUN ["sh", "-c", "echo $PATH > /tmp/path"]
RUN ["ls", "/bin/busybox"]
RUN env | sort > /tmp/env
""", disagreements=(buildah_wrong("/tmp/env", "buildah 1.28 sets HOSTNAME in RUN's environment; BuildKit "
                                               "sets no HOSTNAME variable"),)),
    Case("user_groups_listed_in_group_file", """FROM {base}
RUN echo 'wheel:x:10:root,app' >> /etc/group && sed -i 's/^app:x:1000:$/app:x:1000:app/' /etc/group
RUN id > /tmp/default-id
USER root
RUN id > /tmp/root-id
USER 0
RUN id > /tmp/0-id
USER 0:0
RUN id > /tmp/0-0-id
USER app
RUN id > /tmp/app-id
USER app:app
RUN id > /tmp/app-app-id
USER 1000:50
RUN id > /tmp/1000-50-id
""", disagreements=tuple(buildah_wrong(f"/tmp/{name}-id", BUILDAH_GROUPS)
                         for name in ("default", "root", "0", "0-0", "app-app", "1000-50"))),
    Case("scratch_user_root_by_name", """FROM {base} AS tools
FROM scratch
COPY --from=tools /bin/busybox /busybox
USER root
WORKDIR /work
COPY a.txt /work/
""", FILES),
    Case("scratch_numeric_user_workdir_and_chown", """FROM scratch
USER 0
WORKDIR /x
COPY --chown=0:0 a.txt /x/
COPY --chown=1234 b.txt /x/
""", FILES),
    # BuildKit's file operations read "root" as id 0 (llb.WithUser): no /etc/passwd needed.
    Case("scratch_chown_root_by_name", """FROM scratch
WORKDIR /x
COPY --chown=root:root a.txt /x/
COPY --chown=root dir /x/dir/
""", FILES, buildah=False),  # buildah 1.28: "unknown user error looking up user root"
    Case("workdir_and_chown_for_uid_without_passwd_entry", """FROM {base}
USER 4321
WORKDIR /by-uid
COPY --chown=4321 a.txt /by-uid/
USER app
WORKDIR /by-name
COPY --chown=1000 b.txt /by-name/
""", FILES),
    # BuildKit's empty image: Docker's default PATH and WorkingDir "/" (dockerfile2llb's emptyImage)
    Case("scratch_config_defaults", "FROM scratch\nCOPY a.txt b.txt /\n", FILES,
         disagreements=(buildah_wrong("config:WorkingDir", "BuildKit's empty image has WorkingDir \"/\" "
                                      "(dockerfile2llb emptyImage); buildah 1.28 leaves it unset"),)),
]

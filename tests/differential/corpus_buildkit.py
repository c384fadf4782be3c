"""The rest of BuildKit's Dockerfile: build checks that warn without changing the image, a stage name
used twice (a DuplicateStageName warning, not an error), ``# check=error=true``, symbolic
``--chmod`` (dockerfile 1.14+) and ``RUN --network``.

docker 20.10's built-in BuildKit (v0.8) predates the checks and symbolic modes; where that makes it
refuse or accept what a newer BuildKit does not, the case records it, and the expectations are
BuildKit's own (tests/dockerfile/test_checks.py, tests/commands/test_copy_chmod.py)."""

from __future__ import annotations

from tests.differential.model import FILES, Case, Disagreement, buildah_wrong

CHMOD_FILES = {"file": "file\n", "dir/dir/inner": "in\n", "tree/exec": "x\n", "tree/sub/leaf": "leaf\n"}
CHMOD_MODES = {"file": 0o666, "dir/dir": 0o124, "tree/exec": 0o750, "tree/sub/leaf": 0o640, "tree/sub": 0o700}

CASES = [
    # Every rule here warns (FromAsCasing, MaintainerDeprecated, LegacyKeyValueFormat,
    # WorkdirRelativePath, UndefinedVar, JSONArgsRecommended, MultipleInstructionsDisallowed,
    # SecretsUsedInArgOrEnv, ExposeProtoCasing); the image is what docker builds.
    Case("check_warnings_leave_the_image_alone", """FROM {base} as build
MAINTAINER someone@example.com
ENV legacy value with spaces
LABEL key value
WORKDIR relative/dir
ARG API_TOKEN
COPY a.txt $NOWHERE/copied.txt
EXPOSE 8080/TCP
CMD echo first
CMD echo second
""", FILES, disagreements=(buildah_wrong(
        "config:ExposedPorts", "buildah 1.28 keeps EXPOSE's protocol as written (8080/TCP); docker "
        "lowercases it (8080/tcp)"),)),
    # BuildKit warns (DuplicateStageName) and builds: FROM b is the latest b before it, --from=b and
    # --target the last one (dockerfile2llb's statesByName)
    Case("duplicate_stage_name_is_a_warning", """FROM {base} AS b
RUN echo one > /one
FROM {base} AS b
RUN echo two > /two
FROM b AS c
RUN test -f /two && test ! -e /one && echo c > /c
FROM {base}
COPY --from=b /two /from-b
COPY --from=c /c /from-c
"""),
    Case("check_error_true_fails_the_build",
         "# check=error=true\nFROM {base} as base\nRUN echo built > /built\n", buildah=False,
         disagreements=(Disagreement(
             "docker", "build", "lamina",
             "docker 20.10's built-in BuildKit (v0.8) has no build checks and ignores # check=; BuildKit "
             "0.15 (dockerfile 1.8) and later fail the build: lint violation found for rules: "
             "FromAsCasing (tests/dockerfile/test_checks.py)"),)),
    # BuildKit's testChmodNonOctal: a 0666 file and a 0124 directory, each mode relative to the source
    Case("copy_chmod_symbolic", """FROM {base}
COPY --chmod=go-w file /f1
COPY --chmod=u=rw,g=r,o=r file /f2
COPY --chmod=a+X file /f3
COPY --chmod=u+rw,g+r,o-x,o+w dir /
ADD --chmod=a=rX tree /tree/
RUN test "$(stat -c %a /f1 /f2 /f3 /dir /tree/exec /tree/sub /tree/sub/leaf)" = \\
    "$(printf '644\\n644\\n666\\n766\\n555\\n555\\n444')"
""", CHMOD_FILES, modes=CHMOD_MODES, buildah=False, disagreements=(Disagreement(
        "docker", "build", "lamina",
        "docker 20.10's built-in BuildKit (v0.8) takes only octal --chmod (\"invalid chmod parameter "
        "go-w\"); symbolic modes came with dockerfile 1.14. The RUN checks BuildKit's own expectations "
        "(tests/commands/test_copy_chmod.py)"),)),
    # RUN --network (dockerfile 1.3+): none is a namespace of the command's own with only lo, where
    # nothing outside answers (the registry on the host's loopback); host is the host's network,
    # loopback included (refused at once on none: no wget timeout needed, and busybox-static's
    # wget -T crashes). The last RUN checks what BuildKit's runc executor gives.
    Case("run_network_none_and_host", """FROM {base}
RUN --network=none tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort > /none-interfaces
RUN --network=none R="{base}"; if wget -q -O /dev/null "http://${R%%/*}/v2/"; then echo reached; \\
    else echo unreachable; fi > /none-registry
RUN --network=host R="{base}"; if wget -q -O /dev/null "http://${R%%/*}/v2/"; then echo reached; \\
    else echo unreachable; fi > /host-registry
RUN test "$(cat /none-interfaces /none-registry /host-registry)" = "$(printf 'lo\\nunreachable\\nreached')"
""", buildah=False, disagreements=(Disagreement(
        "docker", "build", "lamina",
        "docker 20.10's built-in frontend (dockerfile 1.2) has RUN --network only in its labs channel "
        "(\"Unknown flag: network\"); dockerfile 1.3 made it stable. The last RUN checks what BuildKit "
        "gives: lo alone and no route out under none, the host's loopback under host"),)),
]

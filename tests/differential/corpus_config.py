"""The image config and the build's variables: bases with no Env, SHELL against CMD and ENTRYPOINT,
ARG and ENV together, predefined ARGs, ONBUILD, LABEL, EXPOSE, STOPSIGNAL, HEALTHCHECK, VOLUME,
MAINTAINER, the legacy ENV form, and multi-stage builds (--target, COPY --from, unused stages)."""

from __future__ import annotations

from tests.differential.model import Case, buildah_wrong

CASES = [
    # a base whose config has no Env and no Cmd
    Case("bare_base_env_instruction_sets_path", """FROM {bare}
ENV PATH=/bin:/usr/bin A=1 B=${A}-2
RUN echo "$PATH $A $B" > /env.txt
"""),
    # SHELL, CMD and ENTRYPOINT
    Case("shell_leaves_exec_form_cmd_and_entrypoint", """FROM {base}
SHELL ["/bin/sh", "-xc"]
CMD ["a", "b"]
ENTRYPOINT ["/bin/echo"]
"""),
    Case("shell_form_entrypoint_resets_cmd", "FROM {base}\nCMD [\"kept?\"]\nENTRYPOINT echo hi \"$HOME\"\n"),
    Case("shell_form_entrypoint_uses_shell_instruction",
         "FROM {base}\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nENTRYPOINT exec top\n",
         disagreements=(buildah_wrong("config:Entrypoint",
                                      "the shell form of ENTRYPOINT uses the SHELL instruction's shell "
                                      "(Dockerfile reference); buildah 1.28 keeps /bin/sh -c"),)),
    Case("cmd_invalid_json_is_shell_form", "FROM {base}\nCMD [\"echo\", 'single']\n"),
    Case("cmd_entrypoint_inherited_from_stage", """FROM {base} AS one
ENTRYPOINT ["/bin/echo"]
CMD ["from-one"]
FROM one AS two
RUN true
FROM two
CMD ["from-final"]
"""),
    # ARG and ENV
    Case("env_from_arg_of_same_name_takes_build_arg", """FROM {base}
ARG V=arg
ENV V=env-$V
RUN echo "$V" > /v.txt
""", build_args={"V": "cli"}),
    Case("arg_after_env_wins_in_run_not_in_config", """FROM {base}
ENV V=env W=env
ARG V=arg
ARG W
RUN echo "$V $W" > /v.txt
LABEL v=$V w=$W
""", build_args={"W": "cli"}, disagreements=(
        buildah_wrong("/v.txt", "BuildKit adds ENV and ARG values to one environment in Dockerfile order "
                                "(dockerfile2llb dispatchArg: d.state.AddEnv), so an ARG after an ENV "
                                "wins in RUN; buildah 1.28 lets ENV win wherever it stands"),
        buildah_wrong("config:Labels", "the same order rule in $VAR substitution"))),
    Case("arg_redeclared_without_value_keeps_value", """FROM {base}
ARG V=first
ARG V
RUN echo "$V" > /v.txt
"""),
    Case("arg_without_default_and_no_build_arg_is_unset", """FROM {base}
ARG NODEF
RUN if [ -z "${NODEF+set}" ]; then echo absent; else echo "present [$NODEF]"; fi > /nodef.txt
ENV SEEN="[${NODEF}]" ALT=${NODEF:-fallback}
"""),
    Case("arg_in_run_env_not_in_image_env", """FROM {base}
ARG BUILD_ONLY=yes
ARG EMPTY=
RUN echo "$BUILD_ONLY [${EMPTY+set}]" > /build-only.txt
"""),
    Case("predefined_platform_args", """FROM {base}
RUN echo "before: [$TARGETPLATFORM] [$TARGETARCH]" > /before.txt
ARG TARGETPLATFORM
ARG TARGETARCH
ARG TARGETOS
ARG BUILDPLATFORM
RUN echo "$TARGETPLATFORM $TARGETOS $TARGETARCH $BUILDPLATFORM" > /platform.txt
"""),
    Case("proxy_build_args_reach_run_not_config", """FROM {base}
RUN echo "$HTTP_PROXY $https_proxy $NO_PROXY" > /proxy.txt
""", build_args={"HTTP_PROXY": "http://proxy.invalid:3128", "https_proxy": "http://s.invalid:3128",
                 "NO_PROXY": "localhost"}),
    Case("user_and_label_expand_args", """FROM {base}
ARG WHO=app
ARG TAG=v1
USER $WHO
LABEL tag=$TAG who="${WHO}"
"""),
    Case("escape_directive_backtick", """# escape=`
FROM {base}
RUN echo one `
    two > /joined.txt
ENV WIN=C:\\path
""", disagreements=(buildah_wrong("config:Env",
                                "with escape=` a backslash is an ordinary character, in ENV values too; "
                                "buildah 1.28 still removes it"),)),
    Case("env_legacy_form_without_equals", """FROM {base}
ENV GREETING hello world  spaced
ENV QUOTED "in quotes" $GREETING
RUN echo "$GREETING|$QUOTED" > /legacy.txt
"""),
    # ONBUILD
    Case("onbuild_triggers_run_in_child_stage", """FROM {base} AS parent
ONBUILD RUN echo triggered > /triggered
ONBUILD ENV FROM_TRIGGER=1
RUN test ! -e /triggered
FROM parent
RUN cat /triggered > /seen && echo "$FROM_TRIGGER" >> /seen
"""),
    Case("onbuild_recorded_in_target_stage", """FROM {base} AS parent
ONBUILD RUN echo never > /never
ONBUILD LABEL from=trigger
FROM parent
RUN true
""", target="parent"),
    # LABEL, EXPOSE, STOPSIGNAL, HEALTHCHECK, VOLUME, MAINTAINER
    Case("label_override_and_inheritance", """FROM {base} AS one
LABEL a=1 b=2 "with space"=x
FROM one
ENV X=expanded
LABEL b=3 c=$X
LABEL a=
"""),
    Case("expose_forms_and_expansion", """FROM {base}
ARG P=7000
EXPOSE 80 80/tcp 8080/UDP 9000/sctp
EXPOSE $P ${P}/udp
""", disagreements=(buildah_wrong("config:ExposedPorts",
                                "BuildKit lowercases the protocol (nat.ParsePortSpecs); buildah 1.28 keeps "
                                "\"8080/UDP\""),)),
    Case("stopsignal_numeric", "FROM {base}\nSTOPSIGNAL 9\n"),
    Case("healthcheck_none_disables_inherited", """FROM {base} AS one
HEALTHCHECK --interval=10s CMD ["true"]
FROM one
HEALTHCHECK NONE
"""),
    Case("healthcheck_shell_form_defaults", "FROM {base}\nHEALTHCHECK CMD wget -q localhost || exit 1\n"),
    Case("volume_then_run_writes_into_it", """FROM {base}
VOLUME /data
RUN mkdir -p /data && echo written > /data/file
""", disagreements=(buildah_wrong("/data/file",
                                "BuildKit treats a VOLUME path like any other in later RUNs and keeps what "
                                "they write there; buildah 1.28 (like the classic builder) discards it"),)),
    Case("volume_directory_not_created", "FROM {base}\nVOLUME /never-made /also/never\n",
         disagreements=tuple(buildah_wrong(path, "VOLUME only records the path in the config in BuildKit; "
                                                 "buildah 1.28 creates the directory")
                             for path in ("/never-made", "/also", "/also/never"))),
    Case("maintainer_legacy", "FROM {base}\nMAINTAINER Jane Doe <jane@example.invalid>\nRUN true\n"),
    # multi-stage
    Case("target_stops_at_named_stage", """FROM {base} AS first
RUN echo first > /first
FROM first AS middle
ENV STAGE=middle
RUN echo middle > /middle
FROM middle
RUN echo last > /last
""", target="middle"),
    Case("copy_from_stage_index_counts_named_stages", """FROM {base} AS named
RUN echo zero > /zero
FROM {base}
RUN echo one > /one
FROM {base}
COPY --from=1 /one /from-index
COPY --from=named /zero /from-name
COPY --from=0 /zero /from-index-of-named
"""),
    Case("copy_from_external_image", "FROM {base}\nCOPY --from={bare} /etc/os-release /from-image/\n"),
    Case("unused_stage_leaves_no_trace", """FROM {base} AS unused
RUN echo unused > /unused && echo changed > /etc/os-release && rm /bin/ls
FROM {base} AS used
RUN echo used > /used
FROM {base}
COPY --from=used /used /used
"""),
    Case("from_stage_inherits_env_workdir_user", """FROM {base} AS one
ENV INHERITED=yes
WORKDIR /w
USER app
FROM one
RUN echo "$INHERITED $(pwd) $(id -u)" > /tmp/inherited.txt
"""),
]

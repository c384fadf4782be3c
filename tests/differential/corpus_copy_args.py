"""COPY's sources and ARGs across stages: a wildcard that matches nothing, a source that is missing,
what ``**`` matches in COPY --parents, the ARG values a stage built FROM another stage starts with,
and COPY --from naming a stage defined later."""

from __future__ import annotations

from tests.differential.model import Case, Disagreement, buildah_wrong

NESTED = {"context/foo/f.txt": "foo\n", "context/bar/x.txt": "x\n"}

PARENTS_TREE = {
    "src/keep.txt": "outside\n", "src/a/keep.txt": "a\n", "src/a/d/keep.txt": "d\n",
    "src/a/b/c/keep.txt": "c\n", "src/a/b/c/other.txt": "other\n",
    "src/a/b/c/d/e/bay": "bay\n", "src/a/b2/c/d/e/bar": "bar\n", "src/a/b/c/d/foo": "foo\n",
}

BUILDAH_NO_INHERITED_ARGS = "buildah 1.28 starts a stage built FROM another stage without that stage's ARGs"

CASES = [
    # BuildKit copies every source with AllowEmptyWildcard (dockerfile2llb dispatchCopy): a wildcard
    # that matches nothing copies nothing, not even the destination directory.
    Case("copy_empty_wildcard_beside_other_sources", """FROM {base}
COPY context/bar/doesnotexist* context/foo hello
ADD context/bar/none* context/foo/f.txt /added/
COPY context/*/nomatch* context/bar/x.txt /x-only/
""", NESTED),
    # buildah 1.28 refuses it ("copier: stat: ... no such file or directory")
    Case("copy_lone_empty_wildcard_copies_nothing", "FROM {base}\nCOPY context/bar/none* /nothing/\n", NESTED,
         buildah=False),
    # ...but a plain path must exist, and so must the directory a wildcard is matched in (fsutil's
    # ResolveWildcards walks it).
    Case("copy_missing_source_beside_others_refused",
         "FROM {base}\nCOPY context/bar/doesnotexist context/foo /dst/\n", NESTED, refused=True, buildah=False),
    Case("copy_wildcard_below_missing_directory_refused",
         "FROM {base}\nCOPY context/nodir/* context/foo /dst/\n", NESTED, refused=True, buildah=False),
    # The RUN checks what BuildKit's own tests (dockerfile_parents_test.go) expect, since docker
    # 20.10 cannot build it.
    Case("copy_parents_double_star", """FROM {base}
COPY --parents src/a/**/keep.txt /dst/
COPY --parents src/a/b*/./c/**/e /pivot/
RUN test -f /dst/src/a/keep.txt && test -f /dst/src/a/d/keep.txt && test -f /dst/src/a/b/c/keep.txt \\
    && test ! -e /dst/src/a/b/c/other.txt && test ! -e /dst/src/keep.txt \\
    && test -f /pivot/c/d/e/bay && test -f /pivot/c/d/e/bar && test ! -e /pivot/c/d/foo
""", PARENTS_TREE, buildah=False, disagreements=(Disagreement(
        "docker", "build", "lamina",
        "docker 20.10's built-in BuildKit (v0.8) has no COPY --parents (\"Unknown flag: parents\"); it "
        "came with the dockerfile:1.7-labs frontend, an image on Docker Hub. lamina matches the "
        "pattern as BuildKit's IncludePatterns do (tests/commands/test_copy_parents.py)"),)),
    # A stage FROM another stage starts from that stage's build state, its ARG values included
    # (dockerfile2llb dispatchState.init); a bare ARG keeps the inherited value.
    Case("arg_values_pass_to_stage_built_from_stage", """FROM {base} AS base
ARG NAME="base"
ARG UNSET
RUN echo "$NAME" > /A.txt
FROM base AS dev
RUN echo "inherited: $NAME ${UNSET-unset}" > /B0.txt && (env | grep ^NAME= > /B0.env || true)
ARG NAME="$NAME-dev"
RUN echo "$NAME" > /B.txt
FROM dev
ARG NAME
RUN echo "$NAME" > /C.txt
""", disagreements=tuple(buildah_wrong(path, BUILDAH_NO_INHERITED_ARGS)
                         for path in ("/B0.txt", "/B0.env", "/B.txt", "/C.txt"))),
    # --build-arg applies where the parent declares the ARG; a bare ARG naming a global ARG takes the
    # global value again (dispatchArg).
    Case("arg_inheritance_with_build_args_and_globals", """ARG GLOBAL=global
FROM {base} AS base
ARG GLOBAL=local
ARG NAME=base
ARG OVER=default
FROM base AS dev
RUN echo "$GLOBAL $NAME $OVER" > /inherited.txt
ARG GLOBAL
ARG NAME
ARG OVER="$OVER-dev"
RUN echo "$GLOBAL $NAME $OVER" > /redeclared.txt
""", build_args={"NAME": "cli"}, disagreements=tuple(buildah_wrong(path, BUILDAH_NO_INHERITED_ARGS)
                                                      for path in ("/inherited.txt", "/redeclared.txt"))),
    Case("copy_from_later_stage", """FROM {base} AS first
COPY --from=later / /out/
FROM {base} AS later
RUN echo later > /x
FROM first
""", disagreements=(Disagreement(
        "docker", "build", "lamina",
        "docker 20.10 copies the later stage's base image without any of its instructions (its state "
        "before dispatch); BuildKit calls that undefined and since dockerfile 1.7.0 refuses it: "
        "\"cannot copy from stage ..., it needs to be defined before current stage\" "
        "(dockerfile2llb/convert.go, commit 0615bb4b9)"),)),
]

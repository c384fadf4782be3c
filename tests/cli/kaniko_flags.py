"""Every flag of kaniko's executor as test data: its name, a use as pipelines write it, and what
lamina does with it (docs/MIGRATING.md says why, flag by flag).

Sources, each read with ``git show <tag>:cmd/executor/cmd/root.go``:

- GoogleContainerTools/kaniko, tag v1.24.0 (commit 1d2bff595903b1887220a522a5a43c67db2da553),
  cmd/executor/cmd/root.go: the 60 flags of ``init`` and ``addKanikoOptionsFlags``, hidden
  (``--bucket``) and deprecated (``--snapshotMode``, ``--customPlatform``, ``--tarPath``,
  ``--whitelist-var-run``) ones included; README.md "Additional Flags" documents the same.
- osscontainertools/kaniko, tag v1.28.3 (commit e0092dbc17e6aad98efc244c88c2c6d11d5a829a),
  cmd/executor/cmd/root.go (``AddKanikoOptionsFlags``, ``AddRegistryOptionsFlags``): all of the
  above and the 8 flags below in ``FORK_FLAGS``; README.md "Additional Flags" documents them.
"""

from __future__ import annotations

from dataclasses import dataclass

WORKS = "works"
NO_EFFECT = "no effect"  # accepted; one notice line says why
DEPRECATED = "deprecated"  # works as its new name; one notice line says so
DIFFERS = "differs"  # works, with a difference docs/MIGRATING.md describes


@dataclass(frozen=True)
class KanikoFlag:
    name: str
    use: tuple[str, ...]  # argv, as a pipeline writes it
    status: str = WORKS
    short: str | None = None


KANIKO_FLAGS: tuple[KanikoFlag, ...] = (
    KanikoFlag("--verbosity", ("--verbosity=debug",), short="-v"),
    KanikoFlag("--log-format", ("--log-format=json",)),
    KanikoFlag("--log-timestamp", ("--log-timestamp=true",)),
    KanikoFlag("--force", ("--force",)),
    KanikoFlag("--dockerfile", ("--dockerfile", "sub/Dockerfile"), DIFFERS, short="-f"),
    KanikoFlag("--context", ("--context=dir:///workspace/",), short="-c"),
    KanikoFlag("--context-sub-path", ("--context-sub-path", "app"),),
    KanikoFlag("--bucket", ("-b", "my-bucket", "--context="), DIFFERS, short="-b"),
    KanikoFlag("--destination", ("--destination", "registry.example/app:2"), short="-d"),
    KanikoFlag("--snapshot-mode", ("--snapshot-mode=redo",)),
    KanikoFlag("--custom-platform", ("--custom-platform=linux/arm64",)),
    KanikoFlag("--build-arg", ("--build-arg", "VERSION=1.2"),),
    KanikoFlag("--insecure", ("--insecure",)),
    KanikoFlag("--skip-tls-verify", ("--skip-tls-verify",)),
    KanikoFlag("--insecure-pull", ("--insecure-pull",)),
    KanikoFlag("--skip-tls-verify-pull", ("--skip-tls-verify-pull",)),
    KanikoFlag("--push-retry", ("--push-retry", "3")),
    KanikoFlag("--push-ignore-immutable-tag-errors", ("--push-ignore-immutable-tag-errors=true",)),
    KanikoFlag("--image-fs-extract-retry", ("--image-fs-extract-retry=2",)),
    KanikoFlag("--image-download-retry", ("--image-download-retry=2",)),
    KanikoFlag("--kaniko-dir", ("--kaniko-dir", "/kaniko2")),
    KanikoFlag("--tar-path", ("--tar-path=/workspace/image.tar",)),
    KanikoFlag("--single-snapshot", ("--single-snapshot",)),
    KanikoFlag("--reproducible", ("--reproducible",)),
    KanikoFlag("--target", ("--target", "release"), DIFFERS),
    KanikoFlag("--no-push", ("--no-push",)),
    KanikoFlag("--no-push-cache", ("--no-push-cache",)),
    KanikoFlag("--cache-repo", ("--cache-repo=registry.example/app/cache",)),
    KanikoFlag("--cache-dir", ("--cache-dir=/cache",)),
    KanikoFlag("--digest-file", ("--digest-file=/dev/termination-log",)),
    KanikoFlag("--image-name-with-digest-file", ("--image-name-with-digest-file=/workspace/name",)),
    KanikoFlag("--image-name-tag-with-digest-file", ("--image-name-tag-with-digest-file=/workspace/tag",)),
    KanikoFlag("--oci-layout-path", ("--oci-layout-path=/workspace/oci",)),
    KanikoFlag("--compression", ("--compression=zstd",)),
    KanikoFlag("--compression-level", ("--compression-level=9",)),
    KanikoFlag("--cache", ("--cache=true",)),
    KanikoFlag("--compressed-caching", ("--compressed-caching=false",), NO_EFFECT),
    KanikoFlag("--cleanup", ("--cleanup",)),
    KanikoFlag("--cache-ttl", ("--cache-ttl=6h",)),
    KanikoFlag("--insecure-registry", ("--insecure-registry", "registry.example:5000")),
    KanikoFlag("--skip-tls-verify-registry", ("--skip-tls-verify-registry=registry.example",)),
    KanikoFlag("--registry-certificate", ("--registry-certificate", "registry.example=/certs/ca.crt")),
    KanikoFlag("--registry-client-cert",
               ("--registry-client-cert=registry.example=/certs/client.crt,/certs/client.key",)),
    KanikoFlag("--registry-map", ("--registry-map=index.docker.io=mirror.example;quay.io=q.example",)),
    KanikoFlag("--registry-mirror", ("--registry-mirror=mirror.gcr.io",)),
    KanikoFlag("--skip-default-registry-fallback", ("--skip-default-registry-fallback",)),
    KanikoFlag("--ignore-var-run", ("--ignore-var-run=false",)),
    KanikoFlag("--label", ("--label", "org.opencontainers.image.source=https://git.example/app")),
    KanikoFlag("--skip-unused-stages", ("--skip-unused-stages=true",), DIFFERS),
    KanikoFlag("--use-new-run", ("--use-new-run",), NO_EFFECT),
    KanikoFlag("--git", ("--git", "branch=main", "--git=single-branch=true",
                         "--git=recurse-submodules=false", "--git=insecure-skip-tls=true")),
    KanikoFlag("--cache-copy-layers", ("--cache-copy-layers",)),
    KanikoFlag("--cache-run-layers", ("--cache-run-layers=false",)),
    KanikoFlag("--ignore-path", ("--ignore-path=/var/cache",)),
    KanikoFlag("--force-build-metadata", ("--force-build-metadata",), NO_EFFECT),
    KanikoFlag("--skip-push-permission-check", ("--skip-push-permission-check",)),
    KanikoFlag("--snapshotMode", ("--snapshotMode=time",), DEPRECATED),
    KanikoFlag("--customPlatform", ("--customPlatform=linux/arm64",), DEPRECATED),
    KanikoFlag("--tarPath", ("--tarPath", "/workspace/image.tar"), DEPRECATED),
    KanikoFlag("--whitelist-var-run", ("--whitelist-var-run=false",), DEPRECATED),
)

FORK_FLAGS: tuple[KanikoFlag, ...] = (
    KanikoFlag("--image-format", ("--image-format=oci",), DIFFERS),
    KanikoFlag("--pre-cleanup", ("--pre-cleanup",)),
    KanikoFlag("--annotation", ("--annotation", "org.opencontainers.image.revision=abc123")),
    KanikoFlag("--preserve-context", ("--preserve-context",), NO_EFFECT),
    KanikoFlag("--materialize", ("--materialize=true",)),
    KanikoFlag("--secret", ("--secret", "id=npmrc,env=NPM_TOKEN"), DIFFERS),
    KanikoFlag("--dryrun", ("--dryrun",)),
    KanikoFlag("--credential-helpers", ("--credential-helpers=ecr", "--credential-helpers", "gitlab")),
    # the fork's forms of flags kaniko has: several targets, a shallow clone
    KanikoFlag("--target", ("--target=release,tests",), DIFFERS),
    KanikoFlag("--git", ("--git", "depth=1")),
)

ALL_FLAGS = KANIKO_FLAGS + FORK_FLAGS

#!/usr/bin/env bash
# Installs everything lamina, its demo and its tests need on a fresh Debian bookworm machine (as root):
# the registry, buildah, skopeo, umoci, docker and the base-image makers from Debian, and lamina itself
# with its Python dependencies into .venv. Starts no daemon: the tests run their own registry and
# dockerd under temporary directories. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry skopeo buildah umoci podman busybox-static debootstrap apache2-utils openssl
          python3 python3-venv python3-pip git tar gzip ca-certificates
          patchelf  # scripts/bundle-kaniko-dir
          docker.io  # the reference builder the differential tests measure against (pulls containerd, runc)
          slirp4netns  # the network of RUN in sandbox mode
          openssh-server openssh-client  # sshd and ssh-agent on loopback for RUN --mount=type=ssh tests
          qemu-user-static binfmt-support  # RUN for a foreign platform (multi-platform builds)
          tmux  # the progress bars as a terminal shows them (tests/cli/test_progress.py)
          chromium  # the HTML build report rendered headless (tests/cli/test_html_report.py)
          gcc libc6-dev)  # static attack programs the hostile tests compile
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' services (docker, containerd, docker-registry) from starting on install: on a
    # systemd machine their postinst would start them; a policy-rc.d answering 101 forbids it.
    own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        own_policy=1
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
fi

# Azurite, the Azure Blob Storage emulator the azblob:// context tests run, comes from npm. A
# machine that has node and npm already (Debian's or NodeSource's) keeps them.
if ! command -v azurite-blob >/dev/null; then
    if ! command -v npm >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    npm install -g --silent --no-fund --no-audit azurite@3 >/dev/null
fi

# Multi-platform builds (tests/platforms): arm64's RUN steps run under QEMU user emulation, which
# Debian's qemu-user-static registers with binfmt_misc as qemu-aarch64 with the F flag (the
# interpreter is opened now, so RUN finds it inside a chroot); the arm64 half of the tests' base
# index is Debian's busybox-static for arm64, unpacked under the tests' cache.
if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
    update-binfmts --enable qemu-aarch64 ||
        echo "setup.sh: could not register qemu-aarch64 with binfmt_misc; arm64 RUN steps will not run" >&2
fi
lamina_cache=${LAMINA_CACHE:-$HOME/.cache/lamina}
if [ ! -x "$lamina_cache/busybox-arm64/bin/busybox" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    download=$(mktemp -d)
    (cd "$download" && apt-get download -qq busybox-static:arm64)
    mkdir -p "$lamina_cache/busybox-arm64"
    dpkg-deb -x "$download"/busybox-static_*_arm64.deb "$lamina_cache/busybox-arm64"
    rm -rf "$download"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# Bytecode, as a regular install has it: the tests start the executor hundreds of times, and where
# PYTHONDONTWRITEBYTECODE is set each start would compile every module again.
.venv/bin/python -m compileall -q executor snapshot >/dev/null

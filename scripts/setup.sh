#!/usr/bin/env bash
# Installs everything lamina, its demo and its tests need on a fresh Debian bookworm machine (as root):
# the registry, buildah, skopeo, umoci and the base-image makers from Debian, and lamina itself with its
# Python dependencies into .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry skopeo buildah umoci podman busybox-static debootstrap apache2-utils openssl
          python3 python3-venv python3-pip git tar gzip ca-certificates
          patchelf)  # patchelf: scripts/bundle-kaniko-dir
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

#!/usr/bin/env bash
# Starts a local registry on loopback, builds examples/demo in sandbox mode, pushes it, prints the digest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/demo.py "$@"

#!/usr/bin/env bash
# Install anvil (Ethereum test node) from its npm package into .tools/anvil and print the binary.
# Idempotent and quiet when the pinned version is present; nothing but the npm package is fetched.
set -euo pipefail

VERSION="1.5.1"
PACKAGE="@foundry-rs/anvil-linux-amd64"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.tools/anvil"
BINARY="$PREFIX/node_modules/$PACKAGE/bin/anvil"

installed_version() {
  "$BINARY" --version 2>/dev/null | sed -n 's/^anvil Version: \([0-9.]*\).*/\1/p'
}

if [ "$(installed_version)" != "$VERSION" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup-anvil: npm is missing (install Node.js 20+ and npm)" >&2
    exit 1
  fi
  mkdir -p "$PREFIX"
  # --prefix keeps the package (and its lock file) inside the project; the binary ships in it.
  npm install --prefix "$PREFIX" --no-audit --no-fund --silent --save-exact "$PACKAGE@$VERSION" >&2
  if [ "$(installed_version)" != "$VERSION" ]; then
    echo "setup-anvil: $BINARY is not anvil $VERSION after npm install" >&2
    exit 1
  fi
fi
echo "$BINARY"

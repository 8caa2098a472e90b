#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, the Rust test suites (against real MCP, OAuth
# and Node peers installed under tests/peers), and the appliance checks (Nix, Kubernetes manifests).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers: the npm packages and a Python virtualenv, installed once from the pinned lists and
# again only when a list's content changes (a stamp holds the digest of the list installed).
stamp_matches() { [ -f "$2" ] && [ "$(sha256sum < "$1")" = "$(cat "$2")" ]; }
if [ ! -x tests/peers/node_modules/.bin/mcp-server-everything ] \
   || ! stamp_matches tests/peers/package-lock.json tests/peers/node_modules/.installed-lock; then
  (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
  sha256sum < tests/peers/package-lock.json > tests/peers/node_modules/.installed-lock
fi
if [ ! -x tests/peers/.venv/bin/python ] \
   || ! stamp_matches tests/peers/requirements.txt tests/peers/.venv/.installed; then
  python3 -m venv tests/peers/.venv
  tests/peers/.venv/bin/pip install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
  sha256sum < tests/peers/requirements.txt > tests/peers/.venv/.installed
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo nextest run --locked --no-fail-fast --profile ci

if [ -x tests/appliance/run.sh ]; then
  PATH="$PWD/tests/peers/.venv/bin:$PATH" tests/appliance/run.sh
fi

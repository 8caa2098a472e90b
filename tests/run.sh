#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, the Rust test suites (against real MCP, OAuth
# and Node peers installed under tests/peers), and the appliance checks (Nix, Kubernetes manifests).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers: the npm packages and a Python virtualenv, installed once from the pinned lists.
if [ ! -x tests/peers/node_modules/.bin/mcp-server-everything ] || [ tests/peers/package-lock.json -nt tests/peers/node_modules/.package-lock.json ]; then
  (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -x tests/peers/.venv/bin/python ] || [ tests/peers/requirements.txt -nt tests/peers/.venv/.installed ]; then
  python3 -m venv tests/peers/.venv
  tests/peers/.venv/bin/pip install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
  touch tests/peers/.venv/.installed
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo nextest run --locked --no-fail-fast --profile ci

if [ -x tests/appliance/run.sh ]; then
  PATH="$PWD/tests/peers/.venv/bin:$PATH" tests/appliance/run.sh
fi

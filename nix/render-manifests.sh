#!/usr/bin/env bash
# Renders modules/k8s into k8s-generated/ without the flake, from two source trees:
#   nix/render-manifests.sh KUBENIX_SRC NIXPKGS_LIB_SRC [--check]
# KUBENIX_SRC is a checkout of github:hall/kubenix, NIXPKGS_LIB_SRC one of nixpkgs (or
# github:nix-community/nixpkgs.lib); both must contain the revisions flake.lock pins for the
# result to equal the flake's. The settings in modules/k8s/examples/NAME.nix are rendered as
# overlays in k8s-generated/examples/NAME. --check compares instead of writing. Needs nix-instantiate and
# Python 3 with PyYAML (tests/peers/.venv has it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: $0 KUBENIX_SRC NIXPKGS_LIB_SRC [--check]" >&2
  exit 2
fi
kubenix=$(realpath "$1")
nixlib=$(realpath "$2")
mode=write
[ "${3:-}" = "--check" ] && mode=check
python=python3
[ -x tests/peers/.venv/bin/python ] && python=tests/peers/.venv/bin/python
[ -f "$nixlib/lib/default.nix" ] || { echo "$nixlib/lib/default.nix not found: give a nixpkgs or nixpkgs.lib checkout" >&2; exit 2; }
[ -f "$kubenix/modules/k8s.nix" ] || { echo "$kubenix/modules/k8s.nix not found: give a kubenix checkout" >&2; exit 2; }
objects=$(mktemp)
example=$(mktemp)
trap 'rm -f "$objects" "$example"' EXIT
nix-instantiate --eval --strict --json nix/manifests.nix \
  --arg lib "import $nixlib/lib" --arg kubenixSrc "$kubenix" >"$objects"
"$python" nix/manifests-yaml.py "$mode" k8s-generated <"$objects"
# Each modules/k8s/examples/NAME.nix (settings) becomes the overlay k8s-generated/examples/NAME.
for settings in modules/k8s/examples/*.nix; do
  name=$(basename "$settings" .nix)
  nix-instantiate --eval --strict --json nix/manifests.nix \
    --arg lib "import $nixlib/lib" --arg kubenixSrc "$kubenix" --arg settings "import ./$settings" >"$example"
  "$python" nix/manifests-yaml.py example "$mode" "k8s-generated/examples/$name" "$objects" <"$example"
done

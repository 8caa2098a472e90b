#!/usr/bin/env bash
# The appliance checks that run without Nix's network:
#  1. every .nix file parses (nix-instantiate --parse);
#  2. every document of k8s-generated/ validates against the Kubernetes 1.33 schemas
#     (kubernetes-validate, strict), and a broken manifest is rejected;
#  3. k8s-generated/ passes our policy (policy.py), and the policy's self-test shows each rule fails;
#  4. the NixOS module unit tests, when nix-instantiate and a nixpkgs lib are present
#     (NIXPKGS_LIB=<nixpkgs or nixpkgs.lib checkout>, or <nixpkgs> on NIX_PATH);
#  5. with KUBENIX_SRC and NIXPKGS_LIB set: k8s-generated/ equals a fresh offline render.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=tests/peers/.venv/bin/python
if [ ! -x "$python" ]; then
  echo "FAIL: $python is missing; tests/run.sh installs it (pip install -r tests/peers/requirements.txt)" >&2
  exit 1
fi
status=0

echo "== nix files parse"
if command -v nix-instantiate >/dev/null 2>&1; then
  count=0
  while IFS= read -r -d '' f; do
    count=$((count + 1))
    if ! err=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
      echo "FAIL: $f does not parse:" >&2
      echo "$err" >&2
      status=1
    fi
  done < <(git ls-files -z --cached --others --exclude-standard -- '*.nix')
  echo "$count .nix files checked"
else
  echo "NOT RUN: nix-instantiate is not installed (Debian: apt-get install nix-bin)"
fi

echo "== k8s-generated validates against Kubernetes 1.33"
mapfile -t files < <(sed -n 's/^- //p' k8s-generated/kustomization.yaml | sed 's#^#k8s-generated/#')
if [ "${#files[@]}" -eq 0 ]; then
  echo "FAIL: k8s-generated/kustomization.yaml lists no resources" >&2
  exit 1
fi
if ! out=$("$python" tests/appliance/validate.py "${files[@]}"); then
  status=1
fi
echo "$out"
if "$python" tests/appliance/validate.py tests/appliance/bad-manifest.yaml >/dev/null; then
  echo "FAIL: kubernetes-validate accepted tests/appliance/bad-manifest.yaml" >&2
  status=1
else
  echo "kubernetes-validate rejects tests/appliance/bad-manifest.yaml, as it must"
fi

echo "== policy"
"$python" tests/appliance/policy.py k8s-generated || status=1
"$python" tests/appliance/policy.py --self-test || status=1

nixlib="${NIXPKGS_LIB:-}"
if [ -z "$nixlib" ] && command -v nix-instantiate >/dev/null 2>&1; then
  nixlib=$(nix-instantiate --eval --expr 'toString <nixpkgs>' 2>/dev/null | tr -d '"') || nixlib=""
fi

echo "== NixOS module unit tests"
if ! command -v nix-instantiate >/dev/null 2>&1; then
  echo "NOT RUN: nix-instantiate is not installed"
elif [ -z "$nixlib" ] || [ ! -f "$nixlib/lib/default.nix" ]; then
  echo "NOT RUN: no nixpkgs lib; set NIXPKGS_LIB to a checkout of nixpkgs or github:nix-community/nixpkgs.lib"
else
  if out=$(nix-instantiate --eval --strict --json tests/appliance/nixos-module.nix --arg lib "import $nixlib/lib" -A failures 2>&1) && [ "$out" = "[]" ]; then
    echo "all module unit tests pass (lib: $nixlib)"
  else
    echo "FAIL: module unit tests: $out" >&2
    status=1
  fi
fi

echo "== k8s-generated equals the offline render"
if [ -n "${KUBENIX_SRC:-}" ] && [ -n "$nixlib" ] && command -v nix-instantiate >/dev/null 2>&1; then
  nix/render-manifests.sh "$KUBENIX_SRC" "$nixlib" --check || status=1
else
  echo "NOT RUN: set KUBENIX_SRC (a hall/kubenix checkout) and NIXPKGS_LIB to compare; the flake check manifests-in-sync does it with the pinned inputs"
fi

exit $status

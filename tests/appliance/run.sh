#!/usr/bin/env bash
# The appliance checks that run without Nix's network:
#  1. every .nix file parses (nix-instantiate --parse);
#  2. every document of k8s-generated/ validates against the Kubernetes 1.33 schemas
#     (kubernetes-validate, strict), and a broken manifest is rejected;
#  3. k8s-generated/ passes our policy (policy.py), and the policy's self-test shows each rule fails;
#     the configuration files it holds pass `mcp-gateway check-config` (rendered_config.py);
#  4. flake.lock agrees with flake.nix and is well formed (flake_lock.py, with its self-test), and
#     kubenix's narHash is the NAR hash of the kubenix source;
#  5. the flake's build code (flake-checks.nix): toolchain >= rust-version, every embedded file in
#     the crane source, no cargo flag twice, one unfree definition;
#  6. the NixOS module unit tests (nixos-module.nix), its secrets service's scripts run in a
#     temporary root (secrets_script.py), and the rendered objects' unit tests (manifests.nix);
#  7. k8s-generated/ equals a fresh offline render, and so do its example overlays
#     (k8s-generated/examples/NAME from modules/k8s/examples/NAME.nix), whose full objects also
#     validate, pass the policy and check-config; the settings' `gatewayReads` defaults agree
#     with what check-config accepts.
# 4-7 need nix-instantiate and two source trees: kubenix at the revision flake.lock pins and
# nixpkgs' lib, from KUBENIX_SRC and NIXPKGS_LIB, else unpacked from the snapshots in
# ../shared/nix-sources/ (beside the repository) into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=tests/peers/.venv/bin/python
if [ ! -x "$python" ]; then
  echo "FAIL: $python is missing; tests/run.sh installs it (pip install -r tests/peers/requirements.txt)" >&2
  exit 1
fi
status=0
have_nix=false
command -v nix-instantiate >/dev/null 2>&1 && have_nix=true

# Evaluates a Nix test file's `failures` (stdout only: Nix 2.8 warns on stderr on machines without
# the nixbld group) and reports it under a title.
nix_tests() {
  local title=$1
  shift
  local out err
  err=$(mktemp)
  if out=$(nix-instantiate --eval --strict --json "$@" -A failures 2>"$err") && [ "$out" = "[]" ]; then
    echo "$title: all pass"
  else
    echo "FAIL: $title: ${out:-$(grep -v "build-users-group" "$err")}" >&2
    status=1
  fi
  rm -f "$err"
}

echo "== nix files parse"
if $have_nix; then
  count=0
  while IFS= read -r -d '' f; do
    count=$((count + 1))
    if ! nix-instantiate --parse "$f" >/dev/null 2>/tmp/mcp-gateway-parse.$$; then
      echo "FAIL: $f does not parse:" >&2
      grep -v "build-users-group" /tmp/mcp-gateway-parse.$$ >&2 || true
      status=1
    fi
  done < <(git ls-files -z --cached --others --exclude-standard -- '*.nix')
  rm -f /tmp/mcp-gateway-parse.$$
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

echo "== the rendered configuration files pass check-config"
if cargo build --locked --quiet --bin mcp-gateway; then
  binary="${CARGO_TARGET_DIR:-target}/debug/mcp-gateway"
  "$python" tests/appliance/rendered_config.py "$binary" k8s-generated || status=1
else
  echo "FAIL: cargo build --bin mcp-gateway" >&2
  status=1
fi

# The two source trees.
kubenix="${KUBENIX_SRC:-}"
nixlib="${NIXPKGS_LIB:-}"
snapshots=../shared/nix-sources
if $have_nix && { [ -z "$kubenix" ] || [ -z "$nixlib" ]; } && [ -d "$snapshots" ]; then
  unpacked=$(mktemp -d)
  trap 'rm -rf "$unpacked"' EXIT
  if [ -z "$kubenix" ] && [ -f "$snapshots"/kubenix-*.tar.gz ]; then
    tar -xzf "$snapshots"/kubenix-*.tar.gz -C "$unpacked" && kubenix="$unpacked/kubenix"
  fi
  if [ -z "$nixlib" ] && [ -f "$snapshots"/nixpkgs.lib-*.tar.gz ]; then
    tar -xzf "$snapshots"/nixpkgs.lib-*.tar.gz -C "$unpacked" && nixlib="$unpacked/nixpkgs.lib"
  fi
  echo "(nix sources unpacked from $snapshots)"
fi
if $have_nix && [ -z "$nixlib" ]; then
  nixlib=$(nix-instantiate --eval --expr 'toString <nixpkgs>' 2>/dev/null | tr -d '"') || nixlib=""
fi
[ -n "$nixlib" ] && [ ! -f "$nixlib/lib/default.nix" ] && nixlib=""
[ -n "$kubenix" ] && [ ! -f "$kubenix/modules/k8s.nix" ] && kubenix=""

echo "== flake.lock"
if ! $have_nix; then
  echo "NOT RUN: nix-instantiate is not installed"
else
  if [ -n "$kubenix" ]; then
    "$python" tests/appliance/flake_lock.py --kubenix "$kubenix" || status=1
  else
    "$python" tests/appliance/flake_lock.py || status=1
    echo "(kubenix's narHash not compared: no kubenix source)"
  fi
  "$python" tests/appliance/flake_lock.py --self-test || status=1
fi

echo "== flake build code, NixOS module and rendered objects unit tests"
if ! $have_nix; then
  echo "NOT RUN: nix-instantiate is not installed"
elif [ -z "$nixlib" ]; then
  echo "NOT RUN: no nixpkgs lib; set NIXPKGS_LIB to a checkout of nixpkgs or github:nix-community/nixpkgs.lib"
else
  nix_tests "flake build code unit tests" tests/appliance/flake-checks.nix --arg lib "import $nixlib/lib"
  nix_tests "NixOS module unit tests" tests/appliance/nixos-module.nix --arg lib "import $nixlib/lib"
  if scripts=$(nix-instantiate --eval --strict --json tests/appliance/nixos-module.nix \
    --arg lib "import $nixlib/lib" -A secretScripts 2>/dev/null); then
    "$python" tests/appliance/secrets_script.py <<<"$scripts" || status=1
  else
    echo "FAIL: the secrets service's scripts do not evaluate" >&2
    status=1
  fi
  if [ -n "$kubenix" ]; then
    nix_tests "rendered objects unit tests" tests/appliance/manifests.nix --arg lib "import $nixlib/lib" --arg kubenixSrc "$kubenix"
  else
    echo "NOT RUN: rendered objects unit tests need KUBENIX_SRC (a hall/kubenix checkout)"
  fi
fi

echo "== k8s-generated (and its example overlays) equals the offline render"
if $have_nix && [ -n "$kubenix" ] && [ -n "$nixlib" ]; then
  nix/render-manifests.sh "$kubenix" "$nixlib" --check || status=1
  # Each example applied: all its objects validate, pass the policy and check-config.
  for settings in modules/k8s/examples/*.nix; do
    name=$(basename "$settings" .nix)
    work=$(mktemp -d)
    if nix-instantiate --eval --strict --json nix/manifests.nix --arg lib "import $nixlib/lib" \
      --arg kubenixSrc "$kubenix" --arg settings "import ./$settings" >"$work/objects.json" 2>"$work/err"; then
      "$python" nix/manifests-yaml.py write "$work/k8s" <"$work/objects.json" >/dev/null
      mapfile -t example_files < <(sed -n 's/^- //p' "$work/k8s/kustomization.yaml" | sed "s#^#$work/k8s/#")
      if out=$("$python" tests/appliance/validate.py "${example_files[@]}"); then
        echo "example $name: $(echo "$out" | tail -1)"
      else
        echo "$out" >&2
        status=1
      fi
      echo -n "example $name: "
      "$python" tests/appliance/policy.py "$work/k8s" | tail -1 || status=1
      "$python" tests/appliance/policy.py "$work/k8s" >/dev/null || status=1
      if [ -n "${binary:-}" ]; then
        echo -n "example $name: "
        "$python" tests/appliance/rendered_config.py "$binary" --objects "$work/objects.json" || status=1
      fi
    else
      echo "FAIL: example $name does not render: $(grep -v build-users-group "$work/err")" >&2
      status=1
    fi
    rm -rf "$work"
  done
  # gatewayReads' defaults agree with the gateway built here: each optional key, rendered as for
  # a gateway that reads it, passes check-config exactly when the default says the gateway reads
  # it, and a refusal names the key as unknown (any other refusal is a rendering fault).
  if [ -n "${binary:-}" ]; then
    for key in admins alerting; do
      case $key in
        admins) uses='channels.telegram.admins = [ 42 ]; channels.slack = { enable = true; admins = [ "U0123ABCD" ]; };' ;;
        alerting) uses='alerting.enable = true;' ;;
      esac
      work=$(mktemp -d)
      default=$(nix-instantiate --eval --strict \
        --expr "(import ./modules/k8s/settings.nix { lib = import $nixlib/lib; }).gatewayReads.$key.default" 2>/dev/null)
      if ! nix-instantiate --eval --strict --json nix/manifests.nix --arg lib "import $nixlib/lib" \
        --arg kubenixSrc "$kubenix" --arg settings "{ $uses gatewayReads.$key = true; }" \
        >"$work/objects.json" 2>"$work/err"; then
        echo "FAIL: gatewayReads.$key: the settings do not render: $(grep -v build-users-group "$work/err")" >&2
        status=1
      elif "$python" tests/appliance/rendered_config.py "$binary" --objects "$work/objects.json" >"$work/out"; then
        if [ "$default" = true ]; then
          echo "gatewayReads.$key: the gateway reads it, as the default says"
        else
          echo "FAIL: the gateway reads the key of gatewayReads.$key now: set its default in modules/k8s/settings.nix to true, re-render (nix/render-manifests.sh) and say so in docs/deployment.md" >&2
          status=1
        fi
      elif grep -q "unknown field \`$key\`" "$work/out"; then
        if [ "$default" = false ]; then
          echo "gatewayReads.$key: the gateway does not read it, as the default says (so it is not written)"
        else
          echo "FAIL: gatewayReads.$key defaults to true, but check-config refuses the key:" >&2
          cat "$work/out" >&2
          status=1
        fi
      else
        echo "FAIL: gatewayReads.$key: check-config refuses the rendered configuration for another reason:" >&2
        cat "$work/out" >&2
        status=1
      fi
      rm -rf "$work"
    done
  fi
else
  echo "NOT RUN: set KUBENIX_SRC (a hall/kubenix checkout) and NIXPKGS_LIB to compare; the flake check manifests-in-sync does it with the pinned inputs"
fi

exit $status

# Runs a set of Nix unit tests (by default the NixOS module's, tests/appliance/nixos-module.nix)
# as a flake check: evaluation only, a failure names each failed test.
{
  pkgs,
  lib,
  tests ? import ../tests/appliance/nixos-module.nix { inherit lib; },
  name ? "mcp-gateway-module-unit-tests",
}:
if tests.failures == [ ] then
  pkgs.runCommand name { } "touch $out"
else
  throw "${name} failed: ${builtins.toJSON tests.failures}"

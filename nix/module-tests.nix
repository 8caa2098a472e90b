# The NixOS module unit tests (tests/appliance/nixos-module.nix) as a flake check.
{ pkgs, lib }:
let
  failures = (import ../tests/appliance/nixos-module.nix { inherit lib; }).failures;
in
if failures == [ ] then
  pkgs.runCommand "mcp-gateway-module-unit-tests" { } "touch $out"
else
  throw "NixOS module unit tests failed: ${builtins.toJSON failures}"

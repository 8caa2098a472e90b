# The crane build of the `mcp-gateway` package (lib + the one binary), and the cargo checks that
# share its compiled dependencies. `craneLib` carries the toolchain of nix/toolchain.nix.
{ lib, pkgs, craneLib }:
let
  inherit (import ./source.nix { inherit lib craneLib; }) src;
  commonArgs = {
    inherit src;
    strictDeps = true;
    # aws-lc-sys (rustls' crypto provider) and bundled SQLite are built with cmake and cc.
    nativeBuildInputs = [ pkgs.cmake pkgs.perl ];
  };
  cargoArtifacts = craneLib.buildDepsOnly commonArgs;
in
rec {
  mcp-gateway = craneLib.buildPackage (commonArgs // {
    inherit cargoArtifacts;
    cargoExtraArgs = "--locked --bin mcp-gateway";
    doCheck = false; # the tests run once, in the nextest check
    meta.mainProgram = "mcp-gateway";
  });

  checks = {
    inherit mcp-gateway;
    # crane's cargoClippy already passes `cargoExtraArgs` (default `--locked`) before these.
    clippy = craneLib.cargoClippy (commonArgs // {
      inherit cargoArtifacts;
      cargoClippyExtraArgs = "--all-targets -- --deny warnings";
    });
    fmt = craneLib.cargoFmt { inherit src; };
    # Inside the build sandbox the real peers (npm packages, the Python SDK) under tests/peers are
    # absent, so the suites that need them (tests/core.rs, tests/mcp.rs) run in tests/run.sh.
    nextest = craneLib.cargoNextest (commonArgs // {
      inherit cargoArtifacts;
      cargoNextestExtraArgs = "--locked --lib --test llm --test slack --test telegram --no-tests=fail";
    });
  };
}

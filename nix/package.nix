# The crane build of the `mcp-gateway` package (lib + the one binary), and the cargo checks that
# share its compiled dependencies.
{ lib, pkgs, craneLib }:
let
  # Cargo sources plus the files the code embeds with include_str! (SQL migrations).
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      (craneLib.fileset.commonCargoSources ../.)
      ../src/store/migrations
      (lib.fileset.maybeMissing ../benches)
      (lib.fileset.maybeMissing ../.config/nextest.toml)
    ];
  };
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
    clippy = craneLib.cargoClippy (commonArgs // {
      inherit cargoArtifacts;
      cargoClippyExtraArgs = "--all-targets --locked -- --deny warnings";
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

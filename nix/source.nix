# The source the crane build compiles: the Cargo sources (crane's commonCargoSources: Cargo.toml,
# Cargo.lock, every .rs and .toml file) plus every file the code embeds at compile time
# (`include_str!`/`include_bytes!`): the SQL migrations, and the tool catalogs the unit tests read.
# tests/appliance/flake-checks.nix fails when an embedded file is outside this set.
{ lib, craneLib }:
rec {
  fileset = lib.fileset.unions [
    (craneLib.fileset.commonCargoSources ../.)
    ../src/store/migrations
    ../tests/fixtures
    (lib.fileset.maybeMissing ../benches)
    (lib.fileset.maybeMissing ../.config/nextest.toml)
  ];
  src = lib.fileset.toSource {
    root = ../.;
    inherit fileset;
  };
}

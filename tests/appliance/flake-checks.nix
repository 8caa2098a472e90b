# Unit tests of the flake's build code, for the faults a build on a real machine would meet:
#   - the Rust toolchain (nix/toolchain.nix) satisfies Cargo.toml's `rust-version`, and the pinned
#     rust-overlay knows it (with `rustBin`, as the flake check passes it);
#   - every file the code embeds (`include_str!`, `include_bytes!`, `include!`) is inside the crane
#     source (nix/source.nix), since clippy --all-targets and nextest compile every target;
#   - no cargo command of nix/package.nix repeats a flag (cargo refuses `--locked` twice), and the
#     suites the nextest check names exist;
#   - one definition of the unfree packages: every `allowUnfreePredicate` in the repository is
#     nix/unfree.nix's `predicate`.
#
#   nix-instantiate --eval --strict --json tests/appliance/flake-checks.nix \
#     --arg lib "import <nixpkgs-lib>/lib" -A failures        # [] when every test passes
#
# Without arguments beyond `lib`, crane is replaced by `craneStub`, which builds the same cargo
# command lines and file sets as crane v0.23.4 (the version flake.lock pins); the flake check
# `flake-unit-tests` runs the same tests with the real crane and the real toolchain.
{
  lib,
  craneLib ? null,
  pkgs ? null,
  rustBin ? null,
}@args:
let
  # lib.fileset reads file types with `builtins.readFileType` (Nix >= 2.14); on an older evaluator
  # (Debian's Nix 2.8 in CI) the type comes from the parent folder's listing, as older lib did.
  lib =
    if builtins ? readFileType then
      args.lib
    else
      args.lib.extend (
        _: prev: {
          filesystem = prev.filesystem // {
            pathType = path: if dirOf path == path then "directory" else (builtins.readDir (dirOf path)).${baseNameOf path};
          };
        }
      );
  root = ../..;
  toolchain = import ../../nix/toolchain.nix;
  cargoToml = builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"));

  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };

  # crane v0.23.4's functions, reduced to what these tests read: the file sets
  # (lib/fileset/{commonCargoSources,cargoTomlAndLock,rust,toml}.nix) and the cargo command lines
  # with crane's defaults (lib/buildDepsOnly.nix lines 10-15, 35, 79-85; lib/buildPackage.nix
  # lines 13-17, 62-67; lib/cargoClippy.nix lines 8-9, 24; lib/cargoNextest.nix lines 11-15, 69).
  # mkCargoDerivation (lib/mkCargoDerivation.nix lines 120-131) puts them into buildPhase and
  # checkPhase, which is where the tests read them, here and from real crane derivations.
  craneStub = {
    fileset.commonCargoSources =
      path:
      lib.fileset.unions [
        (lib.fileset.fileFilter (file: lib.elem file.name [ "Cargo.toml" "Cargo.lock" ]) path)
        (lib.fileset.fileFilter (file: file.hasExt "rs") path)
        (lib.fileset.fileFilter (file: file.hasExt "toml") path)
      ];
    buildDepsOnly =
      {
        cargoExtraArgs ? "--locked",
        cargoBuildExtraArgs ? "",
        cargoTestExtraArgs ? "--no-run",
        doCheck ? true,
        ...
      }@args:
      let
        cargoCheckExtraArgs = args.cargoCheckExtraArgs or (if doCheck then "--all-targets" else "");
      in
      fakeDrv "mcp-gateway-deps"
      // {
        buildPhase = ''
          cargoWithProfile check ${cargoExtraArgs} ${cargoCheckExtraArgs}
          cargoWithProfile build ${cargoExtraArgs} ${cargoBuildExtraArgs}
        '';
        checkPhase = "cargoWithProfile test ${cargoExtraArgs} ${cargoTestExtraArgs}";
      };
    buildPackage =
      {
        cargoExtraArgs ? "--locked",
        cargoBuildExtraArgs ? "",
        cargoTestExtraArgs ? "",
        cargoArtifacts,
        ...
      }:
      fakeDrv "mcp-gateway"
      // {
        inherit cargoArtifacts;
        version = cargoToml.package.version;
        buildPhase = ''cargoWithProfile build --message-format json-render-diagnostics ${cargoExtraArgs} ${cargoBuildExtraArgs} >"$cargoBuildLog"'';
        checkPhase = "cargoWithProfile test ${cargoExtraArgs} ${cargoTestExtraArgs}";
      };
    cargoClippy =
      {
        cargoClippyExtraArgs ? "--all-targets",
        cargoExtraArgs ? "--locked",
        ...
      }:
      fakeDrv "mcp-gateway-clippy"
      // {
        buildPhase = "cargoWithProfile clippy ${cargoExtraArgs} ${cargoClippyExtraArgs}";
      };
    cargoNextest =
      {
        cargoExtraArgs ? "",
        cargoNextestExtraArgs ? "",
        cargoNextestPartitionsExtraArgs ? "",
        ...
      }:
      fakeDrv "mcp-gateway-nextest"
      // {
        checkPhase = ''
          cargo nextest run \
          ''${CARGO_PROFILE:+--cargo-profile $CARGO_PROFILE} ${cargoExtraArgs} ${cargoNextestExtraArgs} ${cargoNextestPartitionsExtraArgs}
        '';
      };
    cargoFmt = _: fakeDrv "mcp-gateway-fmt";
  };
  pkgsStub = {
    cmake = fakeDrv "cmake";
    perl = fakeDrv "perl";
  };

  crane = if craneLib != null then craneLib else craneStub;
  package = import ../../nix/package.nix {
    inherit lib;
    craneLib = crane;
    pkgs = if pkgs != null then pkgs else pkgsStub;
  };
  source = import ../../nix/source.nix {
    inherit lib;
    craneLib = crane;
  };

  # Every Rust file of the package (clippy --all-targets compiles them all); the installed test
  # peers and build output are not part of it.
  notSources = lib.fileset.unions (
    map lib.fileset.maybeMissing [
      (root + "/tests/peers")
      (root + "/target")
    ]
  );
  rustFiles = lib.fileset.toList (
    lib.fileset.difference (lib.fileset.fileFilter (file: file.hasExt "rs") root) notSources
  );
  relative = path: lib.removePrefix (toString root + "/") (toString path);

  # The embeds of one file: { from; arg; path }; `path` is null when the argument is not a literal.
  embedsOf =
    file:
    let
      pieces = builtins.split "include(_str|_bytes)?!\\([[:space:]]*(\"([^\"]*)\"|[^)\"[:space:]][^)]*)" (
        builtins.readFile file
      );
    in
    map (m: {
      from = relative file;
      arg = builtins.elemAt m 1;
      path = if builtins.elemAt m 2 != null then dirOf file + "/${builtins.elemAt m 2}" else null;
    }) (builtins.filter builtins.isList pieces);
  embeds = lib.concatMap embedsOf rustFiles;
  inSource =
    path:
    builtins.pathExists path
    && lib.fileset.toList (lib.fileset.intersection source.fileset (lib.fileset.maybeMissing path)) != [ ];
  embedProblems = lib.concatMap (
    e:
    if e.path == null then
      [ "${e.from}: include!(${e.arg}) is not a literal path; the check cannot follow it" ]
    else if !inSource e.path then
      [ "${e.from}: embeds ${relative e.path}, which nix/source.nix leaves out of the crane source" ]
    else
      [ ]
  ) embeds;

  # The cargo invocations of every derivation nix/package.nix builds: one per line, with shell
  # line continuations joined, from the first `cargo` word on.
  phases = drv: [
    (drv.buildPhase or "")
    (drv.checkPhase or "")
  ];
  derivations = [
    package.mcp-gateway
    package.mcp-gateway.cargoArtifacts
    package.checks.clippy
    package.checks.nextest
  ];
  cargoLines = lib.concatMap (
    text:
    builtins.filter (line: builtins.match ".*(cargoWithProfile|cargo nextest|cargo llvm-cov)[[:space:]].*" line != null) (
      lib.splitString "\n" (builtins.replaceStrings [ "\\\n" ] [ " " ] text)
    )
  ) (lib.concatMap phases derivations);
  # The switches cargo itself reads: the words before a standalone `--` that start with `--` and
  # take no value (the next word is another flag, or none). Flags with a value (`--test llm`) may
  # be given several times.
  flagsOf =
    line:
    let
      words = builtins.filter (w: builtins.isString w && w != "") (builtins.split "[[:space:]]+" line);
      beforeDashes = lib.take (lib.lists.findFirstIndex (w: w == "--") (lib.length words) words) words;
      n = lib.length beforeDashes;
      takesValue = i: i + 1 < n && !(lib.hasPrefix "-" (builtins.elemAt beforeDashes (i + 1)));
    in
    lib.concatLists (
      lib.imap0 (i: w: lib.optional (lib.hasPrefix "--" w && !(takesValue i)) w) beforeDashes
    );
  repeated = line: lib.unique (builtins.filter (f: lib.count (g: g == f) (flagsOf line) > 1) (flagsOf line));
  flagProblems = lib.concatMap (
    line: map (f: "cargo is given ${f} twice in: ${lib.trim line}") (repeated line)
  ) cargoLines;
  nextestSuites =
    let
      words = builtins.filter (w: builtins.isString w && w != "") (
        builtins.split "[[:space:]]+" (lib.concatStringsSep " " (phases package.checks.nextest))
      );
    in
    lib.concatLists (lib.imap0 (i: w: lib.optional (w == "--test") (builtins.elemAt words (i + 1))) words);

  # Every definition of an unfree predicate in the repository's Nix files, with the line.
  nixFiles = lib.fileset.toList (
    lib.fileset.difference (lib.fileset.fileFilter (file: file.hasExt "nix") root) (
      lib.fileset.unions [
        notSources
        ./flake-checks.nix
      ]
    )
  );
  predicateLines = lib.concatMap (
    file:
    map (line: "${relative file}: ${lib.trim line}") (
      builtins.filter (line: builtins.match ".*allowUnfreePredicate[[:space:]]*=.*" line != null) (
        lib.splitString "\n" (builtins.readFile file)
      )
    )
  ) nixFiles;
  foreignPredicates = builtins.filter (
    line: builtins.match ".*allowUnfreePredicate[[:space:]]*=[[:space:]]*(unfree|\\(import [^)]*nix/unfree\\.nix[^)]*\\))\\.predicate;.*" line == null
  ) predicateLines;
in
{
  inherit embeds cargoLines nextestSuites predicateLines;
  failures = lib.runTests {
    testToolchainSatisfiesRustVersion = {
      expr = lib.versionAtLeast toolchain.rust cargoToml.package.rust-version;
      expected = true;
    };
    testToolchainKnownToRustOverlay = {
      expr = rustBin == null || rustBin.stable ? ${toolchain.rust};
      expected = true;
    };
    testEmbeddedFilesInCraneSource = {
      expr = embedProblems;
      expected = [ ];
    };
    # The scan itself must see the embeds this package has (SQL migrations, test catalogs).
    testEmbedScanFindsEmbeds = {
      expr = lib.all (p: lib.any (e: e.path != null && lib.hasInfix p (toString e.path)) embeds) [
        "src/store/migrations/0001_core.sql"
        "tests/fixtures/catalog/notion.json"
      ];
      expected = true;
    };
    testNoCargoFlagTwice = {
      expr = flagProblems;
      expected = [ ];
    };
    testEveryCargoCommandSeen = {
      expr = map (p: lib.any (lib.hasInfix p) cargoLines) [ "clippy" "nextest run" "build" "check" ];
      expected = [ true true true true ];
    };
    testNextestSuitesExist = {
      expr = builtins.filter (t: !builtins.pathExists (root + "/tests/${t}.rs")) nextestSuites;
      expected = [ ];
    };
    testOneUnfreeDefinition = {
      expr = foreignPredicates;
      expected = [ ];
    };
    testUnfreePredicatesFound = {
      expr = lib.length predicateLines >= 2;
      expected = true;
    };
  };
}

# The Rust toolchain every Nix build of the package uses (rust-overlay's `rust-bin.stable.<rust>`,
# default profile: rustc, cargo, clippy, rustfmt). nixpkgs 25.11's own rustc is older than
# Cargo.toml's `rust-version`, and cargo refuses to build a package that asks for a newer one.
# The appliance checks (tests/appliance/flake-checks.nix) fail when this falls below
# `rust-version`; the pinned rust-overlay revision in flake.lock must know this version.
{
  rust = "1.95.0";
}

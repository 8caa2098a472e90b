# The one definition of the unfree packages the appliance needs: the NVIDIA driver (by name) and
# NVIDIA's CUDA libraries and compiler, which Ollama's CUDA build pulls in (every package under
# the CUDA Toolkit EULA, nixpkgs' `licenses.nvidiaCuda` and `licenses.nvidiaCudaRedist`, whatever
# their names in a given CUDA release). The flake's package set and every host that runs the
# module use `predicate` as `nixpkgs.config.allowUnfreePredicate`:
#
#   nixpkgs.config.allowUnfreePredicate = (import "${mcp-gateway}/nix/unfree.nix" { inherit lib; }).predicate;
{ lib }:
rec {
  # NVIDIA's driver packages (the open kernel module itself is free).
  driverNames = [
    "nvidia-x11"
    "nvidia-settings"
    "nvidia-persistenced"
  ];
  # The short name both CUDA licences carry in nixpkgs' lib/licenses.
  cudaLicenseShortName = "CUDA EULA";

  isCudaLicensed = pkg:
    lib.any (l: (l.shortName or null) == cudaLicenseShortName) (lib.toList (pkg.meta.license or [ ]));

  predicate = pkg: builtins.elem (lib.getName pkg) driverNames || isCudaLicensed pkg;
}

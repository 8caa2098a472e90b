# The appliance's Kubernetes objects, rendered purely: `lib.evalModules` over kubenix's k8s module
# and ../modules/k8s, needing only nixpkgs' `lib` and the kubenix source (no builds, no helm).
# The flake, the NixOS module and the offline renderer (nix/render-manifests.sh) all call this.
#
#   nix-instantiate --eval --strict --json nix/manifests.nix \
#     --arg lib "import <nixpkgs-lib>/lib" --arg kubenixSrc <kubenix>
#
# evaluates to the list of objects that k8s-generated/ holds. `settings` overrides the defaults
# declared in modules/k8s/settings.nix (images, model, public hosts, ...).
{
  lib,
  kubenixSrc,
  settings ? { },
  ...
}:
let
  kubenix = {
    # kubenix's own `lib` also has docker and helm helpers; they need full nixpkgs and are unused.
    lib.k8s = import (kubenixSrc + "/lib/k8s") { inherit lib; };
    modules = import (kubenixSrc + "/modules");
  };
  evaluated = lib.evalModules {
    modules = [
      ../modules/k8s
      { mcpGateway = settings; }
      {
        # kubenix's modules take `pkgs` only for outputs we do not use (result, resultYAML).
        config._module.args = {
          pkgs = { inherit lib; };
          name = "default";
        };
      }
    ];
    specialArgs = { inherit kubenix; };
  };
in
evaluated.config.kubernetes.objects

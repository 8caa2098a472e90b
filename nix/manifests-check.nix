# Fails when k8s-generated/ differs from the objects the flake renders (object for object), or an
# overlay k8s-generated/examples/NAME from the render with modules/k8s/examples/NAME.nix.
{
  pkgs,
  objects,
  examples ? { },
}:
let
  inherit (pkgs) lib;
  checkExample = name: exampleObjects: ''
    python3 ${./manifests-yaml.py} example check ${../k8s-generated}/examples/${name} "$objectsPath" \
      < ${pkgs.writeText "mcp-gateway-example-${name}.json" (builtins.toJSON exampleObjects)}
  '';
in
pkgs.runCommand "mcp-gateway-manifests-in-sync"
  {
    nativeBuildInputs = [ (pkgs.python3.withPackages (ps: [ ps.pyyaml ])) ];
    objects = builtins.toJSON objects;
    passAsFile = [ "objects" ];
  }
  ''
    python3 ${./manifests-yaml.py} check ${../k8s-generated} < "$objectsPath"
    ${lib.concatStrings (lib.mapAttrsToList checkExample examples)}
    touch $out
  ''

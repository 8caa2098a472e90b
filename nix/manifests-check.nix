# Fails when k8s-generated/ differs from the objects the flake renders (object for object).
{ pkgs, objects }:
pkgs.runCommand "mcp-gateway-manifests-in-sync"
  {
    nativeBuildInputs = [ (pkgs.python3.withPackages (ps: [ ps.pyyaml ])) ];
    objects = builtins.toJSON objects;
    passAsFile = [ "objects" ];
  }
  ''
    python3 ${./manifests-yaml.py} check ${../k8s-generated} < "$objectsPath"
    touch $out
  ''

# The appliance's Kubernetes objects as kubenix modules. `nix/manifests.nix` evaluates them with
# `lib.evalModules` over kubenix's k8s module (pure: nixpkgs `lib` and the kubenix source only).
{ config, lib, kubenix, ... }:
{
  imports = [
    kubenix.modules.k8s
    ./base.nix
    ./gateway.nix
    ./mcp-servers.nix
    ./ollama.nix
    ./backup.nix
    ./network-policies.nix
    ./ingress.nix
    ./monitoring.nix
    ./gpu.nix
  ];

  options.mcpGateway = import ./settings.nix { inherit lib; };

  config = {
    kubenix.project = "mcp-gateway";
    kubernetes.version = "1.33";
    kubernetes.namespace = config.mcpGateway.namespace;
    kubernetes.customTypes = [
      {
        group = "monitoring.coreos.com";
        version = "v1";
        kind = "PrometheusRule";
        attrName = "prometheusRules";
      }
      {
        group = "monitoring.coreos.com";
        version = "v1";
        kind = "ServiceMonitor";
        attrName = "serviceMonitors";
      }
    ];
  };
}

# The gateway (`mcp-gateway serve`, port 18789) and the ConfigMap holding every process's
# configuration file and the system prompt.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  conf = import ./config.nix { inherit lib cfg; };
  workload = import ./workload.nix { inherit lib cfg; };
in
{
  kubernetes.resources = lib.mkMerge [
    (workload {
      component = "gateway";
      image = cfg.images.gateway;
      configFile = "gateway.toml";
      alsoReads = [ "soul.md" ];
      port = 18789;
      readinessPath = "/readyz";
      resources = cfg.resources.gateway;
    })
    {
      configMaps.mcp-gateway-config = {
        metadata = h.meta "config";
        data = conf.files;
      };
    }
  ];
}

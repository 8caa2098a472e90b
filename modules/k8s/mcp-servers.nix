# The Notion (port 8000) and Google Calendar (port 8001) MCP servers.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  workload = import ./workload.nix { inherit lib cfg; };
in
{
  kubernetes.resources = lib.mkMerge [
    (workload {
      component = "notion-mcp";
      image = cfg.images.notionMcp;
      configFile = "notion-mcp.toml";
      port = 8000;
      readinessPath = "/healthz";
      resources = cfg.resources.mcpServer;
    })
    (workload {
      component = "gcal-mcp";
      image = cfg.images.gcalMcp;
      configFile = "gcal-mcp.toml";
      port = 8001;
      readinessPath = "/healthz";
      resources = cfg.resources.mcpServer;
    })
  ];
}

# The public Ingress: only the OAuth surface is exposed. The gateway's `/oauth/callback`; the MCP
# servers' discovery, registration, authorization, token, revocation and upstream-callback
# endpoints and `/mcp` (for outside MCP clients). Health and metrics stay inside the cluster.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  paths = service: port: prefixes:
    map (p: {
      path = p;
      pathType = "Prefix";
      backend.service = {
        name = service;
        port.number = port;
      };
    }) prefixes;
  mcpPaths = [ "/.well-known" "/register" "/authorize" "/token" "/revoke" "/oauth" "/mcp" ];
  hosts = [ cfg.publicHosts.gateway cfg.publicHosts.notionMcp cfg.publicHosts.gcalMcp ];
in
{
  kubernetes.resources.ingresses.mcp-gateway = {
    metadata = h.meta "ingress";
    spec = {
      ingressClassName = cfg.ingress.className;
      rules = [
        {
          host = cfg.publicHosts.gateway;
          http.paths = paths "gateway" 18789 [ "/oauth" ];
        }
        {
          host = cfg.publicHosts.notionMcp;
          http.paths = paths "notion-mcp" 8000 mcpPaths;
        }
        {
          host = cfg.publicHosts.gcalMcp;
          http.paths = paths "gcal-mcp" 8001 mcpPaths;
        }
      ];
    } // lib.optionalAttrs (cfg.ingress.tlsSecretName != null) {
      tls = [ { inherit hosts; secretName = cfg.ingress.tlsSecretName; } ];
    };
  };
}

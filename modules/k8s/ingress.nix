# The public Ingress: only the OAuth surface is exposed. The gateway's `/oauth/callback`; the MCP
# servers' discovery, registration, authorization, token, revocation and upstream-callback
# endpoints and `/mcp` (for outside MCP clients). Health and metrics stay inside the cluster.
# TLS: a certificate Secret (`ingress.tlsSecretName`) or Traefik's ACME resolver
# (`ingress.certResolver`), which then obtains a certificate for each host.
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
  tls = cfg.ingress.tlsSecretName != null || cfg.ingress.certResolver != null;
in
{
  kubernetes.resources.ingresses.mcp-gateway = {
    metadata = h.meta "ingress" // lib.optionalAttrs (cfg.ingress.certResolver != null) {
      annotations = {
        "traefik.ingress.kubernetes.io/router.tls" = "true";
        "traefik.ingress.kubernetes.io/router.tls.certresolver" = cfg.ingress.certResolver;
      };
    };
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
    } // lib.optionalAttrs tls {
      tls = [
        ({ inherit hosts; } // lib.optionalAttrs (cfg.ingress.tlsSecretName != null) { secretName = cfg.ingress.tlsSecretName; })
      ];
    };
  };
}

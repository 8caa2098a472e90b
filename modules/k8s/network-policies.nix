# NetworkPolicies: deny everything in the namespace, then allow only the flows of the design:
# DNS for all; Traefik and Prometheus into our HTTP ports; the gateway to Ollama and the MCP
# servers; the model pull Job to Ollama; HTTPS out to the public internet for the gateway
# (Telegram, Slack), the MCP servers (Notion, Google) and Ollama (model registry). Each server of
# `servers` gets a policy for the gateway's traffic to it; with `alerting` (and a gateway that reads
# it), the monitoring namespace's Alertmanager may post to the gateway.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  inherit (import ./config.nix { inherit lib cfg; }) writesAlerting;
  pods = name: { podSelector.matchLabels."app.kubernetes.io/name" = name; };
  traefik = {
    namespaceSelector.matchLabels."kubernetes.io/metadata.name" = "kube-system";
    podSelector.matchLabels."app.kubernetes.io/name" = "traefik";
  };
  prometheus = {
    namespaceSelector.matchLabels."kubernetes.io/metadata.name" = cfg.monitoring.namespace;
  };
  tcp = port: { protocol = "TCP"; inherit port; };
  # Public addresses only: cluster and private networks stay closed.
  internetHttps = {
    to = [
      {
        ipBlock = {
          cidr = "0.0.0.0/0";
          except = [ "10.0.0.0/8" "172.16.0.0/12" "192.168.0.0/16" "169.254.0.0/16" "100.64.0.0/10" ];
        };
      }
    ];
    ports = [ (tcp 443) ];
  };
  # The port the gateway connects to for one of `servers`.
  serverPort = s:
    let
      m = builtins.match "(https?)://[^/:?#]+(:([0-9]+))?.*" s.url;
    in
    if s.egress.port != null then s.egress.port
    else if builtins.elemAt m 2 != null then lib.toInt (builtins.elemAt m 2)
    else if builtins.elemAt m 0 == "https" then 443
    else 80;
  serverPeers = s:
    lib.optional (s.egress.namespace != null) (
      { namespaceSelector.matchLabels."kubernetes.io/metadata.name" = s.egress.namespace; }
      // lib.optionalAttrs (s.egress.podLabels != { }) { podSelector.matchLabels = s.egress.podLabels; }
    )
    ++ map (cidr: { ipBlock = { inherit cidr; }; }) s.egress.cidrs;
  serverPolicy = name: s: {
    metadata = h.meta "network";
    spec = {
      podSelector.matchLabels."app.kubernetes.io/name" = "gateway";
      policyTypes = [ "Egress" ];
      egress = [
        {
          to = if serverPeers s != [ ] then serverPeers s else internetHttps.to;
          ports = [ (tcp (serverPort s)) ];
        }
      ];
    };
  };
  policy = name: spec: {
    metadata = h.meta "network";
    spec = {
      podSelector.matchLabels."app.kubernetes.io/name" = name;
    } // spec;
  };
in
{
  kubernetes.resources.networkPolicies = lib.mapAttrs' (name: s: lib.nameValuePair "gateway-to-${name}" (serverPolicy name s)) cfg.servers
  // lib.optionalAttrs writesAlerting {
    # Alertmanager's webhook (POST /alertmanager); the public Ingress routes only /oauth here.
    gateway-from-alertmanager = policy "gateway" {
      policyTypes = [ "Ingress" ];
      ingress = [
        {
          from = [
            {
              namespaceSelector.matchLabels."kubernetes.io/metadata.name" = cfg.monitoring.namespace;
              podSelector.matchLabels."app.kubernetes.io/name" = "alertmanager";
            }
          ];
          ports = [ (tcp 18789) ];
        }
      ];
    };
  }
  // {
    default-deny = {
      metadata = h.meta "network";
      spec = {
        podSelector = { };
        policyTypes = [ "Ingress" "Egress" ];
      };
    };
    allow-dns = {
      metadata = h.meta "network";
      spec = {
        podSelector = { };
        policyTypes = [ "Egress" ];
        egress = [
          {
            to = [
              {
                namespaceSelector.matchLabels."kubernetes.io/metadata.name" = "kube-system";
                podSelector.matchLabels.k8s-app = "kube-dns";
              }
            ];
            ports = [ { protocol = "UDP"; port = 53; } (tcp 53) ];
          }
        ];
      };
    };
    gateway = policy "gateway" {
      policyTypes = [ "Ingress" "Egress" ];
      ingress = [ { from = [ traefik prometheus ]; ports = [ (tcp 18789) ]; } ];
      egress = [
        { to = [ (pods "ollama") ]; ports = [ (tcp 11434) ]; }
        { to = [ (pods "notion-mcp") ]; ports = [ (tcp 8000) ]; }
        { to = [ (pods "gcal-mcp") ]; ports = [ (tcp 8001) ]; }
        internetHttps
      ];
    };
    notion-mcp = policy "notion-mcp" {
      policyTypes = [ "Ingress" "Egress" ];
      ingress = [ { from = [ (pods "gateway") traefik prometheus ]; ports = [ (tcp 8000) ]; } ];
      egress = [ internetHttps ];
    };
    gcal-mcp = policy "gcal-mcp" {
      policyTypes = [ "Ingress" "Egress" ];
      ingress = [ { from = [ (pods "gateway") traefik prometheus ]; ports = [ (tcp 8001) ]; } ];
      egress = [ internetHttps ];
    };
    ollama = policy "ollama" {
      policyTypes = [ "Ingress" "Egress" ];
      ingress = [ { from = [ (pods "gateway") (pods "ollama-pull") ]; ports = [ (tcp 11434) ]; } ];
      egress = [ internetHttps ];
    };
    ollama-pull = policy "ollama-pull" {
      policyTypes = [ "Egress" ];
      egress = [ { to = [ (pods "ollama") ]; ports = [ (tcp 11434) ]; } ];
    };
  };
}

# Builds the Deployment and Service of one of our processes (gateway, notion-mcp, gcal-mcp): one
# replica (they share one SQLite file, and Telegram allows one poller per token), restricted
# security context, read-only root filesystem with a writable /tmp, probes, requests and limits.
# The configuration file is named by `MCP_GATEWAY_CONFIG`, so that any `mcp-gateway` command run in
# the container (`kubectl exec ... -- mcp-gateway pairing approve CODE`) reads the same file.
{ lib, cfg }:
let
  h = import ./helpers.nix { inherit lib; };
  conf = import ./config.nix { inherit lib cfg; };
in
{
  component,
  image,
  configFile,
  port,
  readinessPath,
  resources,
  # Other files of the ConfigMap the process reads (the gateway's system prompt).
  alsoReads ? [ ],
}:
let
  # A change of what this process reads restarts it; a change of another's file does not.
  configHash = builtins.hashString "sha256" (builtins.toJSON (lib.getAttrs ([ configFile ] ++ alsoReads) conf.files));
in
{
  deployments.${component} = {
    metadata = h.meta component;
    spec = {
      replicas = 1;
      strategy.type = "Recreate";
      selector.matchLabels = h.selector component;
      template = {
        metadata = {
          labels = h.labels component;
          annotations."mcp-gateway/config-sha256" = configHash;
        };
        spec = {
          securityContext = h.podSecurity;
          automountServiceAccountToken = false;
          enableServiceLinks = false;
          terminationGracePeriodSeconds = 30;
          containers.${component} = {
            inherit image resources;
            imagePullPolicy = cfg.images.pullPolicy;
            args = [ "--log-format" "json" ];
            env = {
              MCP_GATEWAY_CONFIG.value = "/etc/mcp-gateway/${configFile}";
              RUST_LOG.value = "info";
            };
            ports.http.containerPort = port;
            readinessProbe = h.httpProbe readinessPath "http" 10;
            livenessProbe = h.httpProbe "/healthz" "http" 20 // { initialDelaySeconds = 10; };
            securityContext = h.containerSecurity;
            volumeMounts = {
              "/etc/mcp-gateway" = { name = "config"; readOnly = true; };
              "/run/secrets/${component}" = { name = "secrets"; readOnly = true; };
              "/var/lib/mcp-gateway" = { name = "token-db"; };
              "/tmp" = { name = "tmp"; };
            };
          };
          volumes = {
            config.configMap.name = "mcp-gateway-config";
            secrets.secret = { secretName = component; defaultMode = 288; }; # 0440
            token-db.persistentVolumeClaim.claimName = "token-db";
            tmp.emptyDir.sizeLimit = "64Mi";
          };
        };
      };
    };
  };

  services.${component} = {
    metadata = h.meta component;
    spec = {
      selector = h.selector component;
      ports.http = {
        inherit port;
        targetPort = "http";
        protocol = "TCP";
      };
    };
  };
}

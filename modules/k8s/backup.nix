# The nightly online backup of the token database with `mcp-gateway backup` (SQLite's backup API,
# dated files, the newest N kept), run from the gateway's own image.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
in
{
  kubernetes.resources.cronJobs.token-db-backup = {
    metadata = h.meta "backup";
    spec = {
      schedule = cfg.backup.schedule;
      concurrencyPolicy = "Forbid";
      successfulJobsHistoryLimit = 3;
      failedJobsHistoryLimit = 3;
      jobTemplate = {
        metadata.labels = h.labels "backup";
        spec = {
          backoffLimit = 2;
          template = {
            metadata.labels = h.labels "backup";
            spec = {
              restartPolicy = "OnFailure";
              securityContext = h.podSecurity;
              automountServiceAccountToken = false;
              enableServiceLinks = false;
              containers.backup = {
                image = cfg.images.gateway;
                imagePullPolicy = cfg.images.pullPolicy;
                command = [
                  "/bin/mcp-gateway"
                  "backup"
                  "--log-format"
                  "json"
                  "--dir"
                  "/backups"
                  "--keep"
                  (toString cfg.backup.keep)
                ];
                env.MCP_GATEWAY_CONFIG.value = "/etc/mcp-gateway/backup.toml";
                resources = {
                  requests = { cpu = "50m"; memory = "64Mi"; };
                  limits = { cpu = "500m"; memory = "256Mi"; };
                };
                securityContext = h.containerSecurity;
                volumeMounts = {
                  "/etc/mcp-gateway" = { name = "config"; readOnly = true; };
                  "/var/lib/mcp-gateway".name = "token-db";
                  "/backups".name = "backups";
                  "/tmp".name = "tmp";
                };
              };
              volumes = {
                config.configMap.name = "mcp-gateway-config";
                token-db.persistentVolumeClaim.claimName = "token-db";
                backups.persistentVolumeClaim.claimName = "token-db-backups";
                tmp.emptyDir.sizeLimit = "64Mi";
              };
            };
          };
        };
      };
    };
  };
}

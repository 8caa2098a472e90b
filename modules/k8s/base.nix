# The namespace, the GPU RuntimeClass and the volumes shared by several components.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  pvc = size: {
    metadata = h.meta "storage";
    spec = {
      accessModes = [ "ReadWriteOnce" ];
      resources.requests.storage = size;
    } // lib.optionalAttrs (cfg.storage.className != null) { storageClassName = cfg.storage.className; };
  };
in
{
  kubernetes.resources = {
    namespaces.${cfg.namespace}.metadata = h.clusterMeta "base" // {
      labels = h.labels "base" // { "pod-security.kubernetes.io/enforce" = "restricted"; };
    };
    persistentVolumeClaims = {
      # The SQLite database every process opens (WAL); single node, so ReadWriteOnce is shared.
      token-db = pvc cfg.storage.tokenDb;
      token-db-backups = pvc cfg.storage.backups;
      ollama-models = pvc cfg.storage.ollamaModels;
    };
  };
}

# Ollama (port 11434) on the GPU, sized by `model.numCtx` (OLLAMA_CONTEXT_LENGTH) and
# `model.numParallel` (OLLAMA_NUM_PARALLEL), its model volume, and the Job that pulls the configured model
# through Ollama's API (so no one runs `ollama pull` by hand). The Job's name carries a hash of
# the model name: a new model gives a new Job, since a Job's template cannot change.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  env = {
    HOME.value = "/tmp";
    OLLAMA_MODELS.value = "/models";
  };
  # The pull Job's pods must not match the ollama Service's selector.
  pullLabels = h.labels "ollama" // { "app.kubernetes.io/name" = "ollama-pull"; };
  modelHash = builtins.substring 0 10 (builtins.hashString "sha256" cfg.model.name);
in
{
  kubernetes.resources = {
    deployments.ollama = {
      metadata = h.meta "ollama";
      spec = {
        replicas = 1;
        strategy.type = "Recreate";
        selector.matchLabels = h.selector "ollama";
        template = {
          metadata.labels = h.labels "ollama";
          spec = {
            securityContext = h.podSecurity;
            automountServiceAccountToken = false;
            enableServiceLinks = false;
            containers.ollama = {
              image = cfg.images.ollama;
              imagePullPolicy = cfg.images.pullPolicy;
              args = [ "serve" ];
              env = env // {
                OLLAMA_HOST.value = "0.0.0.0:11434";
                OLLAMA_KEEP_ALIVE.value = "30m";
                # The gateway's num_ctx as the default size: every client shares one runner.
                OLLAMA_CONTEXT_LENGTH.value = toString cfg.model.numCtx;
                OLLAMA_NUM_PARALLEL.value = toString cfg.model.numParallel;
              } // lib.optionalAttrs cfg.gpu.enable {
                NVIDIA_VISIBLE_DEVICES.value = "all";
                NVIDIA_DRIVER_CAPABILITIES.value = "compute,utility";
              };
              ports.http.containerPort = 11434;
              readinessProbe = h.httpProbe "/api/version" "http" 10;
              livenessProbe = h.httpProbe "/api/version" "http" 20 // { initialDelaySeconds = 15; };
              resources = lib.recursiveUpdate cfg.resources.ollama (
                lib.optionalAttrs cfg.gpu.enable { limits."nvidia.com/gpu" = "1"; }
              );
              securityContext = h.containerSecurity;
              volumeMounts = {
                "/models".name = "models";
                "/tmp".name = "tmp";
              };
            };
            volumes = {
              models.persistentVolumeClaim.claimName = "ollama-models";
              tmp.emptyDir.sizeLimit = "1Gi";
            };
          } // lib.optionalAttrs cfg.gpu.enable { runtimeClassName = cfg.gpu.runtimeClassName; };
        };
      };
    };

    services.ollama = {
      metadata = h.meta "ollama";
      spec = {
        selector = h.selector "ollama";
        ports.http = {
          port = 11434;
          targetPort = "http";
          protocol = "TCP";
        };
      };
    };

    jobs."ollama-pull-${modelHash}" = {
      metadata = {
        labels = pullLabels;
        annotations."mcp-gateway/model" = cfg.model.name;
      };
      spec = {
        backoffLimit = 30;
        template = {
          metadata.labels = pullLabels;
          spec = {
            restartPolicy = "OnFailure";
            securityContext = h.podSecurity;
            automountServiceAccountToken = false;
            enableServiceLinks = false;
            containers.pull = {
              image = cfg.images.ollama;
              imagePullPolicy = cfg.images.pullPolicy;
              args = [ "pull" cfg.model.name ];
              env = env // { OLLAMA_HOST.value = "http://ollama:11434"; };
              resources = {
                requests = { cpu = "10m"; memory = "32Mi"; };
                limits = { cpu = "200m"; memory = "128Mi"; };
              };
              securityContext = h.containerSecurity;
              volumeMounts."/tmp".name = "tmp";
            };
            volumes.tmp.emptyDir.sizeLimit = "16Mi";
          };
        };
      };
    };
  };
}

# The GPU plumbing as plain objects: the `nvidia-cdi` RuntimeClass (k3s registers the handler when
# nvidia-container-runtime.cdi is on its PATH but ships no RuntimeClass for it), the NVIDIA device
# plugin (advertises `nvidia.com/gpu`) and the DCGM exporter (GPU metrics), both in kube-system.
# Both NVIDIA containers run as root: the plugin serves a socket in the kubelet's root-owned
# device-plugin folder, and DCGM needs SYS_ADMIN to read the GPU's counters.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  system = component: { labels = h.labels component; namespace = "kube-system"; };
  gpuNode = {
    nodeSelector."nvidia.com/gpu.present" = "true";
    tolerations = [ { key = "nvidia.com/gpu"; operator = "Exists"; effect = "NoSchedule"; } ];
    priorityClassName = "system-node-critical";
    runtimeClassName = cfg.gpu.runtimeClassName;
    automountServiceAccountToken = false;
    enableServiceLinks = false;
  };
in
{
  kubernetes.resources = lib.mkIf cfg.gpu.enable (lib.mkMerge [ {
    runtimeClasses.${cfg.gpu.runtimeClassName} = {
      metadata = h.clusterMeta "gpu";
      handler = cfg.gpu.runtimeClassName;
    };

    daemonSets.nvidia-device-plugin = {
      metadata = system "gpu";
      spec = {
        selector.matchLabels = h.selector "nvidia-device-plugin";
        updateStrategy.type = "RollingUpdate";
        template = {
          metadata.labels = h.labels "gpu" // h.selector "nvidia-device-plugin";
          spec = gpuNode // {
            securityContext.seccompProfile.type = "RuntimeDefault";
            containers.nvidia-device-plugin = {
              image = cfg.gpu.devicePluginImage;
              imagePullPolicy = "IfNotPresent";
              env = {
                FAIL_ON_INIT_ERROR.value = "false";
                # The NixOS CDI spec names devices by index; the plugin hands out the same names.
                DEVICE_ID_STRATEGY.value = "index";
                DEVICE_LIST_STRATEGY.value = "envvar";
                NVIDIA_VISIBLE_DEVICES.value = "all";
                NVIDIA_DRIVER_CAPABILITIES.value = "compute,utility";
              };
              # The plugin has no health endpoint; the kubelet re-registers it when its socket goes.
              livenessProbe = {
                exec.command = [ "test" "-S" "/var/lib/kubelet/device-plugins/kubelet.sock" ];
                periodSeconds = 30;
              };
              readinessProbe = {
                exec.command = [ "test" "-S" "/var/lib/kubelet/device-plugins/kubelet.sock" ];
                periodSeconds = 30;
              };
              resources = {
                requests = { cpu = "10m"; memory = "32Mi"; };
                limits = { cpu = "100m"; memory = "128Mi"; };
              };
              securityContext = {
                allowPrivilegeEscalation = false;
                readOnlyRootFilesystem = true;
                capabilities.drop = [ "ALL" ];
              };
              volumeMounts."/var/lib/kubelet/device-plugins".name = "device-plugins";
            };
            volumes.device-plugins.hostPath = { path = "/var/lib/kubelet/device-plugins"; type = "Directory"; };
          };
        };
      };
    };

    daemonSets.dcgm-exporter = {
      metadata = system "gpu";
      spec = {
        selector.matchLabels = h.selector "dcgm-exporter";
        updateStrategy.type = "RollingUpdate";
        template = {
          metadata.labels = h.labels "gpu" // h.selector "dcgm-exporter";
          spec = gpuNode // {
            securityContext.seccompProfile.type = "RuntimeDefault";
            containers.dcgm-exporter = {
              image = cfg.gpu.dcgmExporterImage;
              imagePullPolicy = "IfNotPresent";
              env = {
                DCGM_EXPORTER_LISTEN.value = ":9400";
                DCGM_EXPORTER_KUBERNETES.value = "true";
                NVIDIA_VISIBLE_DEVICES.value = "all";
                NVIDIA_DRIVER_CAPABILITIES.value = "compute,utility";
              };
              ports.metrics.containerPort = 9400;
              readinessProbe = h.httpProbe "/health" "metrics" 15 // { initialDelaySeconds = 15; };
              livenessProbe = h.httpProbe "/health" "metrics" 30 // { initialDelaySeconds = 45; };
              resources = {
                requests = { cpu = "50m"; memory = "128Mi"; };
                limits = { cpu = "500m"; memory = "512Mi"; };
              };
              securityContext = {
                allowPrivilegeEscalation = false;
                readOnlyRootFilesystem = false;
                capabilities = { drop = [ "ALL" ]; add = [ "SYS_ADMIN" ]; };
              };
              volumeMounts."/var/lib/kubelet/pod-resources" = { name = "pod-resources"; readOnly = true; };
            };
            volumes.pod-resources.hostPath = { path = "/var/lib/kubelet/pod-resources"; type = "Directory"; };
          };
        };
      };
    };

    services.dcgm-exporter = {
      metadata = system "gpu" // { labels = h.labels "gpu" // h.selector "dcgm-exporter"; };
      spec = {
        selector = h.selector "dcgm-exporter";
        ports.metrics = { port = 9400; targetPort = "metrics"; protocol = "TCP"; };
      };
    };

  }
  (lib.mkIf cfg.monitoring.enable {
    serviceMonitors.dcgm-exporter = {
      metadata = system "gpu" // { labels = h.labels "gpu" // { release = cfg.monitoring.releaseLabel; }; };
      spec = {
        selector.matchLabels = h.selector "dcgm-exporter";
        endpoints = [ { port = "metrics"; path = "/metrics"; interval = "15s"; } ];
      };
    };
  })
  ]);
}

# Monitoring: ServiceMonitors for our three processes, alert rules (the cluster-health alerts and
# our own on the gateway's metrics, see src/telemetry/metrics.rs), and a Grafana dashboard.
# The Prometheus operator (kube-prometheus-stack) selects them by the `release` label. Nothing here
# is rendered without `monitoring.enable`: the CRDs would be missing and k3s would retry forever.
{ config, lib, ... }:
let
  cfg = config.mcpGateway;
  h = import ./helpers.nix { inherit lib; };
  promMeta = component: {
    labels = h.labels component // { release = cfg.monitoring.releaseLabel; };
  };
  serviceMonitor = component: {
    metadata = promMeta component;
    spec = {
      selector.matchLabels = h.selector component;
      endpoints = [ { port = "http"; path = "/metrics"; interval = "30s"; } ];
    };
  };
  alert = name: severity: for: expr: summary: {
    alert = name;
    inherit expr;
    "for" = for;
    labels.severity = severity;
    annotations.summary = summary;
  };
  ns = cfg.namespace;
  dashboard = import ./dashboard.nix { namespace = ns; };
in
{
  kubernetes.resources = lib.mkIf cfg.monitoring.enable {
    serviceMonitors = lib.genAttrs [ "gateway" "notion-mcp" "gcal-mcp" ] serviceMonitor;

    prometheusRules.cluster-health = {
      metadata = promMeta "monitoring";
      spec.groups = [
        {
          name = "pods";
          rules = [
            (alert "PodCrashLooping" "critical" "5m"
              ''increase(kube_pod_container_status_restarts_total{namespace="${ns}"}[15m]) > 3''
              "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) restarted more than 3 times in 15 minutes")
            (alert "OOMKilled" "critical" "0m"
              ''kube_pod_container_status_last_terminated_reason{namespace="${ns}", reason="OOMKilled"} == 1''
              "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) was killed for running out of memory")
            (alert "ContainerHighMemory" "warning" "5m"
              ''(container_memory_working_set_bytes{namespace="${ns}", container!=""} / container_spec_memory_limit_bytes{namespace="${ns}", container!=""}) > 0.85 and container_spec_memory_limit_bytes{namespace="${ns}", container!=""} > 0''
              "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) uses more than 85% of its memory limit")
          ];
        }
        {
          name = "node";
          rules = [
            (alert "NodeDiskPressure" "critical" "2m"
              ''kube_node_status_condition{condition="DiskPressure", status="true"} == 1''
              "Node {{ $labels.node }} reports disk pressure")
            (alert "PVCAlmostFull" "warning" "5m"
              ''kubelet_volume_stats_used_bytes{namespace="${ns}"} / kubelet_volume_stats_capacity_bytes{namespace="${ns}"} > 0.85''
              "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is more than 85% full")
            (alert "GPUMemoryHigh" "warning" "5m"
              "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.9"
              "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has used more than 90% of its memory")
          ];
        }
      ];
    };

    prometheusRules.mcp-gateway = {
      metadata = promMeta "monitoring";
      spec.groups = [
        {
          name = "mcp-gateway";
          rules = [
            (alert "McpGatewayDown" "critical" "5m"
              ''up{namespace="${ns}", service=~"gateway|notion-mcp|gcal-mcp"} == 0''
              "{{ $labels.service }} in {{ $labels.namespace }} cannot be scraped")
            (alert "McpToolErrorRate" "warning" "10m"
              ''sum by (server) (rate(mcp_gateway_tool_calls_total{namespace="${ns}", outcome=~"error|timeout|unavailable"}[10m])) / sum by (server) (rate(mcp_gateway_tool_calls_total{namespace="${ns}"}[10m])) > 0.2''
              "More than 20% of the tool calls to {{ $labels.server }} fail")
            (alert "McpModelLatencyHigh" "warning" "15m"
              ''histogram_quantile(0.95, sum by (le) (rate(mcp_gateway_model_request_duration_seconds_bucket{namespace="${ns}"}[10m]))) > 30''
              "95% of model requests take up to {{ $value | humanizeDuration }} (more than 30 s)")
            (alert "McpOAuthRefreshFailures" "warning" "0m"
              ''sum by (server) (increase(mcp_gateway_oauth_refresh_failures_total{namespace="${ns}"}[30m])) > 2''
              "OAuth token refreshes for {{ $labels.server }} keep failing; people may have to reconnect their accounts")
            # Google ends every authorization of an app in Testing 7 days after it was made; the
            # Calendar server counts refresh tokens refused at that age. Two within the window are
            # a pattern, not chance (the server logs the same advice from the second one).
            (alert "McpGoogleAppInTesting" "warning" "0m"
              ''sum(increase(mcp_gateway_oauth_testing_expiries_total{namespace="${ns}", server="gcal"}[14d])) >= 2''
              "Google ended {{ $value | humanize }} Calendar connections 7 days after they were made: the Google app is most likely in Testing, so everyone must reconnect every week and only listed test users can connect. Publish the app in the Google Cloud console (Google Auth Platform, Audience, Publish app), then ask people to connect once more")
          ];
        }
      ];
    };

    configMaps.mcp-gateway-dashboard = {
      metadata = {
        labels = h.labels "monitoring" // { grafana_dashboard = "1"; };
        annotations.grafana_folder = "mcp-gateway";
      };
      data."mcp-gateway.json" = builtins.toJSON dashboard;
    };
  };
}

# The Grafana dashboard of the gateway's metrics (names from src/telemetry/metrics.rs), and of
# each process's own: memory, CPU, open files and version (the `process_*` metrics and
# `mcp_gateway_build_info` of the contract) of the gateway and both MCP servers in `namespace`.
{ namespace }:
let
  panel = id: title: x: y: unit: targets: {
    inherit id title;
    type = "timeseries";
    datasource = { type = "prometheus"; uid = "\${datasource}"; };
    gridPos = { inherit x y; w = 12; h = 8; };
    fieldConfig.defaults.unit = unit;
    targets = builtins.genList (i: (builtins.elemAt targets i) // { refId = builtins.substring i 1 "ABCDEFGH"; }) (builtins.length targets);
  };
  q = expr: legendFormat: { inherit expr legendFormat; };
  quantile = phi: metric: by:
    "histogram_quantile(${phi}, sum by (le${by}) (rate(${metric}_bucket[5m])))";
  # Our three processes; Prometheus names each target's job after its Service.
  ours = ''{namespace="${namespace}", job=~"gateway|notion-mcp|gcal-mcp"}'';
in
{
  title = "mcp-gateway";
  uid = "mcp-gateway";
  schemaVersion = 39;
  tags = [ "mcp-gateway" ];
  time = { from = "now-6h"; to = "now"; };
  refresh = "30s";
  templating.list = [
    {
      name = "datasource";
      type = "datasource";
      query = "prometheus";
      label = "Data source";
    }
  ];
  panels = [
    (panel 1 "Messages per second" 0 0 "reqps" [
      (q "sum by (channel, direction) (rate(mcp_gateway_messages_total[5m]))" "{{channel}} {{direction}}")
    ])
    (panel 2 "Turn latency" 12 0 "s" [
      (q (quantile "0.5" "mcp_gateway_turn_duration_seconds" "") "p50")
      (q (quantile "0.95" "mcp_gateway_turn_duration_seconds" "") "p95")
    ])
    (panel 3 "Model request latency" 0 8 "s" [
      (q (quantile "0.5" "mcp_gateway_model_request_duration_seconds" "") "p50")
      (q (quantile "0.95" "mcp_gateway_model_request_duration_seconds" "") "p95")
    ])
    (panel 4 "Model tokens per second" 12 8 "short" [
      (q "sum by (kind) (rate(mcp_gateway_model_tokens_total[5m]))" "{{kind}}")
    ])
    (panel 5 "Tool calls by outcome" 0 16 "reqps" [
      (q "sum by (server, outcome) (rate(mcp_gateway_tool_calls_total[5m]))" "{{server}} {{outcome}}")
    ])
    (panel 6 "Tool call latency (p95)" 12 16 "s" [
      (q (quantile "0.95" "mcp_gateway_tool_call_duration_seconds" ", server") "{{server}}")
    ])
    (panel 7 "OAuth connects and refresh failures" 0 24 "short" [
      (q "sum by (server) (increase(mcp_gateway_oauth_connects_total[1h]))" "connects {{server}}")
      (q "sum by (server) (increase(mcp_gateway_oauth_refresh_failures_total[1h]))" "refresh failures {{server}}")
    ])
    (panel 8 "Rate-limited messages" 12 24 "short" [
      (q "sum by (channel) (increase(mcp_gateway_rate_limited_total[1h]))" "{{channel}}")
    ])
    (panel 9 "Resident memory" 0 32 "bytes" [
      (q "process_resident_memory_bytes${ours}" "{{job}}")
    ])
    (panel 10 "CPU (cores)" 12 32 "short" [
      (q "rate(process_cpu_seconds_total${ours}[5m])" "{{job}}")
    ])
    (panel 11 "Open file descriptors" 0 40 "short" [
      (q "process_open_fds${ours}" "{{job}}")
    ])
    # One line per process: its version and how long it has run.
    ((panel 12 "Version and uptime" 12 40 "s" [
      (q "(time() - max by (job) (process_start_time_seconds${ours})) * on (job) group_left (version) max by (job, version) (mcp_gateway_build_info${ours})" "{{job}} {{version}}")
    ]) // {
      type = "stat";
      options = {
        reduceOptions = { calcs = [ "lastNotNull" ]; fields = ""; values = false; };
        textMode = "value_and_name";
        colorMode = "none";
        graphMode = "none";
      };
    })
  ];
}

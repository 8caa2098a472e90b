# Unit tests of the rendered Kubernetes objects (nix/manifests.nix over modules/k8s) for settings
# other than the defaults that k8s-generated/ holds.
#   nix-instantiate --eval --strict --json tests/appliance/manifests.nix \
#     --arg lib "import <nixpkgs-lib>/lib" --arg kubenixSrc <kubenix> -A failures   # [] when all pass
{ lib, kubenixSrc }:
let
  render = settings: import ../../nix/manifests.nix { inherit lib kubenixSrc settings; };
  kinds = objects: map (o: o.kind) objects;
  named = kind: name: objects: lib.findFirst (o: o.kind == kind && o.metadata.name == name) null objects;
  monitoringObjects = objects:
    map (o: "${o.kind}/${o.metadata.name}") (
      builtins.filter (o: lib.hasPrefix "monitoring.coreos.com/" o.apiVersion || (o.metadata.labels.grafana_dashboard or null) == "1") objects
    );

  defaults = render { };
  noMonitoring = render { monitoring.enable = false; };
  noMonitoringNoGpu = render { monitoring.enable = false; gpu.enable = false; };
  acme = render { ingress = { certResolver = "letsencrypt"; tlsSecretName = null; }; };
  plain = render { ingress.tlsSecretName = null; };
  threeSlots = render { model = { numParallel = 3; numCtx = 8192; }; };
  ollamaEnv = objects: lib.listToAttrs (
    map (e: lib.nameValuePair e.name e.value) (lib.head (named "Deployment" "ollama" objects).spec.template.spec.containers).env
  );
  gatewayToml = objects: (named "ConfigMap" "mcp-gateway-config" objects).data."gateway.toml";
  dashboard = objects: builtins.fromJSON (named "ConfigMap" "mcp-gateway-dashboard" objects).data."mcp-gateway.json";
  dashboardExprs = objects: lib.concatMap (p: map (t: t.expr) p.targets) (dashboard objects).panels;
  otherNamespace = render { namespace = "assistant"; };
  policyNames = objects: map (o: o.metadata.name) (builtins.filter (o: o.kind == "NetworkPolicy") objects);
  example = render (import ../../modules/k8s/examples/more-servers.nix);
  operatedSettings = {
    channels.telegram.admins = [ 42 7 ];
    channels.slack = { enable = true; admins = [ "U0123ABCD" ]; };
    alerting.enable = true;
  };
  # For a gateway image that reads `admins` and `[alerting]`.
  operated = render (operatedSettings // { gatewayReads = { admins = true; alerting = true; }; });
  # For a gateway image that reads neither.
  operatedNotRead = render (operatedSettings // { gatewayReads = { admins = false; alerting = false; }; });
  onePort = servers: (lib.head (named "NetworkPolicy" "gateway-to-s" (render { inherit servers; })).spec.egress).ports;
  # A render that fails evaluation (a settings error) gives false.
  renders = settings: (builtins.tryEval (builtins.deepSeq (gatewayToml (render settings)) true)).success;
  ingress = objects: named "Ingress" "mcp-gateway" objects;
  # The Ingress annotations Traefik reads (kubenix adds its own).
  traefikAnnotations = objects: lib.filterAttrs (n: _: lib.hasPrefix "traefik." n) ((ingress objects).metadata.annotations or { });
in
{
  failures = lib.runTests {
    testMonitoringObjectsByDefault = {
      expr = lib.sort lib.lessThan (monitoringObjects defaults);
      expected = [
        "ConfigMap/mcp-gateway-dashboard"
        "PrometheusRule/cluster-health"
        "PrometheusRule/mcp-gateway"
        "ServiceMonitor/dcgm-exporter"
        "ServiceMonitor/gateway"
        "ServiceMonitor/gcal-mcp"
        "ServiceMonitor/notion-mcp"
      ];
    };
    # Memory, CPU, open files and version of our three processes, in our namespace only (other
    # exporters have process_* metrics too).
    testDashboardShowsOurProcesses = {
      expr = [
        (map (p: p.title) (lib.drop 8 (dashboard defaults).panels))
        (lib.filter (lib.hasInfix "process_resident_memory_bytes") (dashboardExprs defaults))
        (lib.all (e: !(lib.hasInfix "process_" e) || lib.hasInfix ''{namespace="mcp-gateway", job=~"gateway|notion-mcp|gcal-mcp"}'' e) (dashboardExprs defaults))
        (lib.any (lib.hasInfix "mcp_gateway_build_info{namespace=\"assistant\"") (dashboardExprs otherNamespace))
        (map (m: lib.any (lib.hasInfix m) (dashboardExprs defaults)) [ "process_cpu_seconds_total" "process_open_fds" "process_start_time_seconds" ])
      ];
      expected = [
        [ "Resident memory" "CPU (cores)" "Open file descriptors" "Version and uptime" ]
        [ ''process_resident_memory_bytes{namespace="mcp-gateway", job=~"gateway|notion-mcp|gcal-mcp"}'' ]
        true
        true
        [ true true true ]
      ];
    };
    # A Google app left in Testing is told to the operator from the Calendar server's counter.
    testGoogleAppInTestingRule = {
      expr =
        let
          rules = lib.concatMap (g: g.rules) (named "PrometheusRule" "mcp-gateway" defaults).spec.groups;
          rule = lib.findFirst (r: r.alert == "McpGoogleAppInTesting") null rules;
        in
        [
          (lib.hasInfix ''mcp_gateway_oauth_testing_expiries_total{namespace="mcp-gateway", server="gcal"}'' rule.expr)
          rule.labels.severity
          (lib.hasInfix "Publish the app" rule.annotations.summary)
        ];
      expected = [ true "warning" true ];
    };
    testNoMonitoringObjectsWithoutMonitoring = {
      expr = [ (monitoringObjects noMonitoring) (monitoringObjects noMonitoringNoGpu) ];
      expected = [ [ ] [ ] ];
    };
    # Everything else stays: the GPU plumbing and our workloads do not depend on monitoring.
    testOnlyMonitoringObjectsGo = {
      expr = lib.length defaults - lib.length noMonitoring;
      expected = 7;
    };
    testGpuObjectsWithoutMonitoring = {
      expr = map (n: named "DaemonSet" n noMonitoring != null) [ "nvidia-device-plugin" "dcgm-exporter" ];
      expected = [ true true ];
    };
    testIngressTlsSecretByDefault = {
      expr = [ (ingress defaults).spec.tls (traefikAnnotations defaults) ];
      expected = [
        [ { hosts = [ "assistant.example.com" "notion-mcp.example.com" "gcal-mcp.example.com" ]; secretName = "mcp-gateway-tls"; } ]
        { }
      ];
    };
    testIngressAcmeResolver = {
      expr = [ (ingress acme).spec.tls (traefikAnnotations acme) ];
      expected = [
        [ { hosts = [ "assistant.example.com" "notion-mcp.example.com" "gcal-mcp.example.com" ]; } ]
        {
          "traefik.ingress.kubernetes.io/router.tls" = "true";
          "traefik.ingress.kubernetes.io/router.tls.certresolver" = "letsencrypt";
        }
      ];
    };
    testIngressPlainHttp = {
      expr = [ ((ingress plain).spec ? tls) (traefikAnnotations plain) ];
      expected = [ false { } ];
    };
    testOllamaSizedByDefault = {
      expr = with ollamaEnv defaults; [ OLLAMA_CONTEXT_LENGTH OLLAMA_NUM_PARALLEL ];
      expected = [ "16384" "1" ];
    };
    testOllamaContextIsTheGatewaysNumCtx = {
      expr = [
        (with ollamaEnv threeSlots; [ OLLAMA_CONTEXT_LENGTH OLLAMA_NUM_PARALLEL ])
        (lib.hasInfix "num_ctx = 8192\n" (gatewayToml threeSlots))
        (lib.hasInfix "num_ctx = 16384\n" (gatewayToml defaults))
      ];
      expected = [ [ "8192" "3" ] true true ];
    };
    # One slot is the gateway's default: the key is written only for more.
    testGatewayParallelOnlyAboveOne = {
      expr = [ (lib.hasInfix "parallel = 3\n" (gatewayToml threeSlots)) (lib.hasInfix "parallel" (gatewayToml defaults)) ];
      expected = [ true false ];
    };
    # Keys that only optional settings need are absent from the default configuration.
    testDefaultConfigHasNoOptionalKeys = {
      expr = map (k: lib.hasInfix k (gatewayToml defaults)) [ "admins" "[alerting]" "bearer_token_file" ];
      expected = [ false false false ];
    };
    testAdminsRendered = {
      expr = [
        (lib.hasInfix "[channels.telegram]\ntoken_file = \"/run/secrets/gateway/telegram-bot-token\"\npolicy = \"pairing\"\nallow_from = []\nadmins = [42, 7]\n" (gatewayToml operated))
        (lib.hasInfix "allow_from = []\nadmins = [\"U0123ABCD\"]\n" (gatewayToml operated))
      ];
      expected = [ true true ];
    };
    # A gateway that does not read the keys would refuse the file: nothing of them is rendered.
    testAdminsAndAlertingOnlyForAGatewayThatReadsThem = {
      expr = [
        (map (k: lib.hasInfix k (gatewayToml operatedNotRead)) [ "admins" "[alerting]" "alertmanager" ])
        (named "NetworkPolicy" "gateway-from-alertmanager" operatedNotRead)
        (lib.hasInfix "[channels.slack]\n" (gatewayToml operatedNotRead))
      ];
      expected = [ [ false false false ] null true ];
    };
    testAlertingRendered = {
      expr = [
        (lib.hasInfix "\n[alerting]\nwebhook_token_file = \"/run/secrets/gateway/alertmanager-token\"\n" (gatewayToml operated))
        (named "NetworkPolicy" "gateway-from-alertmanager" operated).spec
        (named "NetworkPolicy" "gateway-from-alertmanager" defaults)
      ];
      expected = [
        true
        {
          podSelector.matchLabels."app.kubernetes.io/name" = "gateway";
          policyTypes = [ "Ingress" ];
          ingress = [
            {
              from = [
                {
                  namespaceSelector.matchLabels."kubernetes.io/metadata.name" = "monitoring";
                  podSelector.matchLabels."app.kubernetes.io/name" = "alertmanager";
                }
              ];
              ports = [ { protocol = "TCP"; port = 18789; } ];
            }
          ];
        }
        null
      ];
    };
    # Alertmanager's path is not public: the gateway host routes only /oauth.
    testWebhookNotPublic = {
      expr = map (r: map (p: p.path) r.http.paths) (builtins.filter (r: r.host == "assistant.example.com") (ingress operated).spec.rules);
      expected = [ [ "/oauth" ] ];
    };
    testMoreServersRendered = {
      expr = [
        (lib.hasInfix ''
          [[servers]]
          name = "gcal"
          url = "http://gcal-mcp:8001/mcp"
          auth = "oauth"

          [[servers]]
          name = "github"
          url = "https://api.githubcopilot.com/mcp/"
          auth = "bearer"
          bearer_token_file = "/run/secrets/gateway/server-github-token"
          allow_tools = ["search_repositories", "get_file_contents", "list_issues", "get_issue", "create_issue"]
          deny_tools = ["delete_file"]
          core_tools = ["search_repositories", "list_issues"]
          keywords = ["repo", "issue", "pull request"]

          [[servers]]
          name = "wiki"
          url = "http://wiki-mcp.tools.svc.cluster.local:8080/mcp"
          auth = "none"

          [http]
        '' (gatewayToml example))
        (lib.subtractLists (policyNames defaults) (policyNames example))
      ];
      expected = [ true [ "gateway-to-github" "gateway-to-wiki" ] ];
    };
    testServerEgress = {
      expr = map (n: (lib.head (named "NetworkPolicy" n example).spec.egress)) [ "gateway-to-github" "gateway-to-wiki" ];
      expected = [
        {
          to = [
            {
              ipBlock = {
                cidr = "0.0.0.0/0";
                except = [ "10.0.0.0/8" "172.16.0.0/12" "192.168.0.0/16" "169.254.0.0/16" "100.64.0.0/10" ];
              };
            }
          ];
          ports = [ { protocol = "TCP"; port = 443; } ];
        }
        {
          to = [
            {
              namespaceSelector.matchLabels."kubernetes.io/metadata.name" = "tools";
              podSelector.matchLabels."app.kubernetes.io/name" = "wiki-mcp";
            }
          ];
          ports = [ { protocol = "TCP"; port = 8080; } ];
        }
      ];
    };
    testServerPorts = {
      expr = [
        (onePort { s.url = "http://10.1.2.3/mcp"; })
        (onePort { s.url = "https://mcp.example.org:8443/mcp"; })
        (onePort { s = { url = "http://10.1.2.3/mcp"; egress = { cidrs = [ "10.1.2.3/32" ]; port = 9000; }; }; })
      ];
      expected = [
        [ { protocol = "TCP"; port = 80; } ]
        [ { protocol = "TCP"; port = 8443; } ]
        [ { protocol = "TCP"; port = 9000; } ]
      ];
    };
    testServerNamesChecked = {
      expr = map (name: renders { servers.${name}.url = "https://mcp.example.org/mcp"; }) [ "tickets" "Tickets" "assistant" "notion" "9lives" ];
      expected = [ true false false false false ];
    };
    testConfigFileInEnvironment = {
      expr = map (
        d: lib.findFirst (e: e.name == "MCP_GATEWAY_CONFIG") null (lib.head (named "Deployment" d defaults).spec.template.spec.containers).env
      ) [ "gateway" "notion-mcp" "gcal-mcp" ];
      expected = [
        { name = "MCP_GATEWAY_CONFIG"; value = "/etc/mcp-gateway/gateway.toml"; }
        { name = "MCP_GATEWAY_CONFIG"; value = "/etc/mcp-gateway/notion-mcp.toml"; }
        { name = "MCP_GATEWAY_CONFIG"; value = "/etc/mcp-gateway/gcal-mcp.toml"; }
      ];
    };
  };
}

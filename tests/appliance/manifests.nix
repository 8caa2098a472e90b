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

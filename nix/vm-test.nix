# A NixOS VM test: one machine with the module, on CPU, with a fake Ollama image. It boots k3s
# air-gapped (k3s' own images and ours preloaded), waits for every Deployment to become ready
# (the gateway's /readyz needs the model and both MCP servers, through the NetworkPolicies), for
# the model pull Job to complete, runs the backup CronJob once, and reaches the public OAuth
# metadata of an MCP server through Traefik.
{ pkgs, lib, module, images }:
let
  fakeOllama = pkgs.dockerTools.buildLayeredImage {
    name = "ollama-fake";
    tag = "1";
    contents = [ pkgs.python3 ];
    extraCommands = "mkdir -p -m 1777 tmp models";
    config = {
      Entrypoint = [ (lib.getExe pkgs.python3) "${./fake-ollama.py}" ];
      Cmd = [ "serve" ];
      User = "65534:65534";
    };
  };
  secret = name: text: toString (pkgs.writeText name text);
in
pkgs.testers.runNixOSTest {
  name = "mcp-gateway-k3s";
  nodes.machine = { config, ... }: {
    imports = [ module ];
    virtualisation = {
      memorySize = 6144;
      cores = 4;
      diskSize = 8192;
    };
    services.mcp-gateway = {
      enable = true;
      gpu.enable = false;
      monitoring.enable = false;
      ollamaImage = "nix";
      imagePackages = images // { ollama = fakeOllama; };
      # No public DNS in the VM: plain HTTP through Traefik.
      tls.mode = "off";
      settings = {
        model.name = "fake:1b";
        channels.telegram.enable = false;
        storage.ollamaModels = "1Gi";
        resources.ollama = {
          requests = { cpu = "100m"; memory = "64Mi"; };
          limits = { cpu = "1"; memory = "256Mi"; };
        };
      };
      # Test-only secrets: world-readable store files are fine for a throwaway VM.
      secrets = {
        gateway.sealKeyFile = secret "gw-seal" "0000000000000000000000000000000000000000000000000000000000000001";
        notionMcp = {
          sealKeyFile = secret "n-seal" "0000000000000000000000000000000000000000000000000000000000000002";
          clientIdFile = secret "n-id" "notion-client";
          clientSecretFile = secret "n-secret" "notion-secret";
        };
        gcalMcp = {
          sealKeyFile = secret "g-seal" "0000000000000000000000000000000000000000000000000000000000000003";
          clientIdFile = secret "g-id" "google-client";
          clientSecretFile = secret "g-secret" "google-secret";
        };
      };
    };
    services.k3s.images = [ config.services.k3s.package.airgap-images ];
    environment.systemPackages = [ pkgs.curl ];
  };

  testScript = ''
    machine.wait_for_unit("k3s.service")
    machine.wait_until_succeeds("k3s kubectl get node machine -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep True", timeout=300)
    machine.wait_until_succeeds("k3s kubectl -n mcp-gateway get secret gateway notion-mcp gcal-mcp", timeout=300)
    machine.wait_until_succeeds("k3s kubectl -n mcp-gateway wait --for=condition=Available deployment --all --timeout=30s", timeout=900)
    machine.wait_until_succeeds("k3s kubectl -n mcp-gateway wait --for=condition=Complete job -l app.kubernetes.io/name=ollama-pull --timeout=30s", timeout=300)
    machine.succeed("k3s kubectl -n mcp-gateway create job backup-now --from=cronjob/token-db-backup")
    machine.wait_until_succeeds("k3s kubectl -n mcp-gateway wait --for=condition=Complete job/backup-now --timeout=30s", timeout=300)
    machine.wait_until_succeeds("curl -fsS -H 'Host: notion-mcp.example.com' http://127.0.0.1/.well-known/oauth-authorization-server | grep -q authorization_endpoint", timeout=300)
    # Health and metrics are not public.
    machine.fail("curl -fsS -H 'Host: assistant.example.com' http://127.0.0.1/metrics")
  '';
}

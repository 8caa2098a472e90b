# An example GPU host: `nixos-rebuild switch --flake .#example` after adapting
# hardware-configuration.nix, the hosts and the secret paths (here sops-nix style paths).
{ lib, ... }:
{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "gpu-box";
  time.timeZone = "UTC";
  system.stateVersion = "25.11";

  # The NVIDIA driver and CUDA are unfree: allow what the appliance needs, as the flake does.
  nixpkgs.config.allowUnfreePredicate = (import ../../nix/unfree.nix { inherit lib; }).predicate;

  services.openssh.enable = true;

  services.mcp-gateway = {
    enable = true;
    # "upstream" pulls docker.io/ollama/ollama instead of building ollama-cuda locally.
    ollamaImage = "nix";
    settings = {
      model.name = "qwen2.5:7b";
      publicHosts = {
        gateway = "assistant.example.org";
        notionMcp = "notion-mcp.example.org";
        gcalMcp = "gcal-mcp.example.org";
      };
      channels.telegram = {
        enable = true;
        policy = "pairing";
      };
    };
    secrets = {
      gateway = {
        sealKeyFile = "/run/secrets/mcp-gateway/gateway-seal-key";
        telegramBotTokenFile = "/run/secrets/mcp-gateway/telegram-bot-token";
      };
      notionMcp = {
        sealKeyFile = "/run/secrets/mcp-gateway/notion-seal-key";
        clientIdFile = "/run/secrets/mcp-gateway/notion-client-id";
        clientSecretFile = "/run/secrets/mcp-gateway/notion-client-secret";
      };
      gcalMcp = {
        sealKeyFile = "/run/secrets/mcp-gateway/gcal-seal-key";
        clientIdFile = "/run/secrets/mcp-gateway/google-client-id";
        clientSecretFile = "/run/secrets/mcp-gateway/google-client-secret";
      };
    };
    # Let's Encrypt certificates for the three public hosts (they must resolve to this machine).
    tls.acme.email = "ops@example.org";
    monitoring.grafanaAdminPasswordFile = "/run/secrets/mcp-gateway/grafana-admin-password";
  };
}

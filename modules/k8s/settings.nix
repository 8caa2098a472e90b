# The settings of the rendered Kubernetes objects, as option declarations.
#
# One file declares them so that the kubenix modules (`mcpGateway.*`) and the NixOS module
# (`services.mcp-gateway.settings.*`) take exactly the same typed, documented settings.
# Every default here is what `k8s-generated/` is rendered with.
{ lib }:
let
  inherit (lib) mkOption types;
  version = (builtins.fromTOML (builtins.readFile ../../Cargo.toml)).package.version;
  pins = import ../../nix/pins.nix;
  str = default: description: mkOption { type = types.str; inherit default description; };
  quantity = default: description: mkOption {
    type = types.strMatching "[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?";
    inherit default description;
  };
  resources = req: lim: {
    requests = {
      cpu = quantity req.cpu "CPU request.";
      memory = quantity req.memory "Memory request.";
    };
    limits = {
      cpu = quantity lim.cpu "CPU limit.";
      memory = quantity lim.memory "Memory limit.";
    };
  };
  policy = mkOption {
    type = types.enum [ "pairing" "allowlist" "open" ];
    default = "pairing";
    description = "Who may talk to the assistant: `pairing` (the operator approves codes), `allowlist` or `open`.";
  };
  tools = what: mkOption {
    type = types.listOf types.str;
    default = [ ];
    description = "Tool names (as the server lists them) ${what}.";
  };
  # One more MCP server of the gateway: its `[[servers]]` keys and where its traffic goes.
  serverOptions = {
    options = {
      url = mkOption {
        type = types.strMatching "https?://[^/:?#[:space:]]+(:[0-9]+)?([/?].*)?";
        example = "https://api.githubcopilot.com/mcp/";
        description = "The server's streamable HTTP endpoint.";
      };
      auth = mkOption {
        type = types.enum [ "none" "bearer" "oauth" ];
        default = "none";
        description = "`none`; `bearer` (a token from the `server-<name>-token` key of the `gateway` Secret); or `oauth` (each person connects their own account).";
      };
      allowTools = tools "offered to the model; empty offers all";
      denyTools = tools "never offered";
      coreTools = tools "always offered together when this server is selected";
      keywords = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Extra words that point to this server in tool selection.";
      };
      timeoutSecs = mkOption {
        type = types.nullOr types.ints.positive;
        default = null;
        description = "Deadline of one call to this server; null keeps the gateway's default.";
      };
      egress = {
        namespace = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "The namespace of the cluster the server runs in; null for a server outside the cluster.";
        };
        podLabels = mkOption {
          type = types.attrsOf types.str;
          default = { };
          description = "Labels of the server's pods in `namespace`; empty allows every pod there.";
        };
        cidrs = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "192.168.10.5/32" ];
          description = "Address ranges of a server outside the cluster on a private network; empty (and no `namespace`) means the public internet.";
        };
        port = mkOption {
          type = types.nullOr types.port;
          default = null;
          description = "The TCP port the gateway connects to; null takes it from `url` (443 for https, 80 for http).";
        };
      };
    };
  };
in
{
  namespace = str "mcp-gateway" "Namespace of every object of the appliance (the GPU DaemonSets go to kube-system).";

  images = {
    gateway = str "mcp-gateway:${version}" "Image of the gateway (`mcp-gateway serve`); also runs the backup CronJob.";
    notionMcp = str "notion-mcp:${version}" "Image of the Notion MCP server (`mcp-gateway notion-mcp`).";
    gcalMcp = str "gcal-mcp:${version}" "Image of the Google Calendar MCP server (`mcp-gateway gcal-mcp`).";
    ollama = str "ollama-cuda:${pins.ollama}"
      "Image of Ollama. The default is the image the flake builds from nixpkgs' `ollama-cuda`; `docker.io/ollama/ollama:${pins.ollamaUpstream}` is the upstream alternative.";
    pullPolicy = mkOption {
      type = types.enum [ "IfNotPresent" "Always" "Never" ];
      default = "IfNotPresent";
      description = "imagePullPolicy of our containers (`IfNotPresent` suits images preloaded into k3s).";
    };
  };

  model = {
    name = str "qwen2.5:7b" "The Ollama model the gateway uses; the pull Job fetches it.";
    numCtx = mkOption {
      type = types.ints.positive;
      default = 16384;
      description = ''
        Context size in tokens: the gateway sends it as `num_ctx` with every request, and Ollama
        gets it as `OLLAMA_CONTEXT_LENGTH`, the size for clients that send none. Both being equal,
        every client of this Ollama shares one runner configuration; any other size makes Ollama
        reload the model.
      '';
    };
    numParallel = mkOption {
      type = types.ints.between 1 64;
      default = 1;
      description = ''
        Requests Ollama runs at once on the model (`OLLAMA_NUM_PARALLEL`); more wait in Ollama's
        queue and, in the gateway, in its own queue (which tells people their place). Each slot
        holds its own context (KV cache), so GPU memory grows with `numCtx` x `numParallel`:
        roughly the model's weights, plus `numParallel` x `numCtx` x the model's cache per token,
        plus about 1 GiB. For qwen2.5:7b (4.7 GB at Q4_K_M; 56 KiB of f16 cache per token, so
        0.9 GiB per slot at 16384 tokens): 8 GB of GPU memory fit 1 slot (2 if nothing else uses
        the GPU), 12 GB 4, 16 GB 8, 24 GB 16. A larger model or context fits fewer. When a slot
        does not fit, Ollama falls back to fewer or runs layers on the CPU, which is much slower.
        Values above 1 are also written to the gateway's `[model].parallel`.
      '';
    };
  };

  timeZone = str "UTC"
    "IANA time zone in which the assistant gives today's date (`[agent].time_zone`). The NixOS module defaults it to the host's `time.timeZone`.";

  systemPrompt = mkOption {
    type = types.str;
    default = ''
      You are a helpful personal assistant. Answer briefly and plainly.
      Use the Notion and Google Calendar tools when the person asks about their pages or their calendar,
      and never invent tool results.
    '';
    description = "The system prompt (`soul.md`) the gateway reads.";
  };

  publicHosts = {
    gateway = str "assistant.example.com" "Public host of the gateway; OAuth redirects come back to `https://<host>/oauth/callback`, which the gateway registers with the MCP servers itself (nothing to register at Google or Notion).";
    notionMcp = str "notion-mcp.example.com" "Public host of the Notion MCP server (its OAuth endpoints and the Notion callback): register `https://<host>/oauth/callback` as a redirect URI of the Notion public connection.";
    gcalMcp = str "gcal-mcp.example.com" "Public host of the Google Calendar MCP server (its OAuth endpoints and the Google callback): register `https://<host>/oauth/callback` as an authorized redirect URI of the Google OAuth client (type \"Web application\").";
  };

  ingress = {
    className = str "traefik" "IngressClass of the public Ingress (k3s ships Traefik).";
    tlsSecretName = mkOption {
      type = types.nullOr types.str;
      default = "mcp-gateway-tls";
      description = "TLS Secret (`kubernetes.io/tls`) holding one certificate for all public hosts (for example from cert-manager); null when `certResolver` obtains them, or for plain HTTP.";
    };
    certResolver = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "letsencrypt";
      description = ''
        Traefik certificate resolver that obtains the public hosts' certificates (ACME), named in the
        Ingress annotation `traefik.ingress.kubernetes.io/router.tls.certresolver`. The NixOS module
        sets it (and configures the resolver) under `tls.mode = "acme"`. With neither this nor
        `tlsSecretName` the hosts are served over plain HTTP.
      '';
    };
  };

  channels = {
    telegram = {
      enable = mkOption { type = types.bool; default = true; description = "Run the Telegram channel (needs the `telegram-bot-token` key in the `gateway` Secret)."; };
      inherit policy;
      allowFrom = mkOption { type = types.listOf types.int; default = [ ]; description = "Numeric Telegram user ids allowed under `allowlist`."; };
      admins = mkOption {
        type = types.listOf types.int;
        default = [ ];
        example = [ 123456789 ];
        description = ''
          Numeric Telegram user ids of the admins (`[channels.telegram].admins`): each gets every new
          pairing request with Approve and Deny buttons, `/status`, and the alerts when `alerting`
          is on; admins may always talk to the assistant. Written only when not empty, and only
          when the gateway reads the key (`gatewayReads.admins`).
        '';
      };
    };
    slack = {
      enable = mkOption { type = types.bool; default = false; description = "Run the Slack channel (needs `slack-app-token` and `slack-bot-token` in the `gateway` Secret)."; };
      inherit policy;
      allowFrom = mkOption { type = types.listOf types.str; default = [ ]; description = "Slack user ids allowed under `allowlist`."; };
      admins = mkOption {
        type = types.listOf (types.strMatching "[UW][A-Z0-9]+");
        default = [ ];
        example = [ "U0123ABCD" ];
        description = "Slack user ids of the admins (`[channels.slack].admins`), as for Telegram. Written only when not empty and `gatewayReads.admins`.";
      };
    };
  };

  servers = mkOption {
    type = types.attrsOf (types.submodule serverOptions);
    default = { };
    apply = lib.mapAttrs (
      name: server:
      if builtins.match "[a-z][a-z0-9-]{0,31}" name == null then
        throw "mcpGateway.servers.${name}: a server name is 1-32 characters of a-z, 0-9 and '-', starting with a letter"
      else if builtins.elem name [ "assistant" "notion" "gcal" ] then
        throw "mcpGateway.servers.${name}: `${name}` is taken (the built-in tools and the Notion and Calendar servers)"
      else
        server
    );
    example = lib.literalExpression ''
      {
        github = {
          url = "https://api.githubcopilot.com/mcp/";
          auth = "bearer";
          allowTools = [ "search_repositories" "get_file_contents" "list_issues" "get_issue" ];
        };
        wiki = {
          url = "http://wiki-mcp.tools.svc.cluster.local:8080/mcp";
          egress = { namespace = "tools"; podLabels."app.kubernetes.io/name" = "wiki-mcp"; };
        };
      }
    '';
    description = ''
      More MCP servers for the gateway, besides Notion and Calendar: each becomes a `[[servers]]`
      entry of the gateway's configuration (tools offered as `<name>_<tool>`) and a NetworkPolicy
      `gateway-to-<name>` that lets the gateway reach it. A server with `auth = "bearer"` reads its
      token from the `server-<name>-token` key of the `gateway` Secret (the NixOS module writes it
      from `secrets.gateway.serverTokenFiles.<name>`). See k8s-generated/examples/more-servers.
    '';
  };

  # Keys of the contract that a gateway refuses when it does not know them (check-config, and
  # every process at start, reject unknown keys): written only when the gateway image reads them.
  gatewayReads = {
    admins = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether the gateway image reads `[channels.telegram].admins` and `[channels.slack].admins`.
        `channels.*.admins` are written into its configuration only when this is true; a gateway
        that does not know the key would refuse the whole file and not start. The default is what
        the gateway built from this source tree reads (tests/appliance/run.sh checks the two agree).
      '';
    };
    alerting = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether the gateway image reads `[alerting]` and serves `POST /alertmanager`. With
        `alerting.enable`, the section, the NetworkPolicy `gateway-from-alertmanager` and (NixOS
        module) Alertmanager's receiver are rendered only when this is true. The default is what
        the gateway built from this source tree reads (tests/appliance/run.sh checks the two agree).
      '';
    };
  };

  alerting.enable = mkOption {
    type = types.bool;
    default = false;
    description = ''
      Let Alertmanager send alerts to the gateway, which tells the chat admins (`[alerting]`): the
      gateway reads the bearer token from the `alertmanager-token` key of its Secret and accepts
      `POST /alertmanager`, and a NetworkPolicy lets the monitoring namespace's Alertmanager reach
      it (the public Ingress never routes that path). The NixOS module adds the receiver to
      kube-prometheus-stack. All of this needs a gateway that reads `[alerting]`
      (`gatewayReads.alerting`); without one nothing is rendered.
    '';
  };

  storage = {
    className = mkOption {
      type = types.nullOr types.str;
      default = "local-path";
      description = "StorageClass of the PVCs (k3s ships `local-path`); null uses the cluster default.";
    };
    tokenDb = quantity "1Gi" "Size of the `token-db` volume (the SQLite database).";
    backups = quantity "2Gi" "Size of the `token-db-backups` volume.";
    ollamaModels = quantity "50Gi" "Size of the `ollama-models` volume.";
  };

  backup = {
    schedule = str "17 3 * * *" "Cron schedule of the database backup.";
    keep = mkOption { type = types.ints.positive; default = 7; description = "How many backups to keep."; };
  };

  gpu = {
    enable = mkOption { type = types.bool; default = true; description = "Give Ollama the GPU and deploy the NVIDIA device plugin and DCGM exporter."; };
    runtimeClassName = str "nvidia-cdi" "RuntimeClass (and containerd handler) of GPU pods.";
    devicePluginImage = str "nvcr.io/nvidia/k8s-device-plugin:${pins.devicePlugin}" "Image of the NVIDIA device plugin.";
    dcgmExporterImage = str "nvcr.io/nvidia/k8s/dcgm-exporter:${pins.dcgmExporter}" "Image of the DCGM exporter.";
  };

  monitoring = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Render the ServiceMonitors, PrometheusRules and the Grafana dashboard. The first two are
        custom resources of the Prometheus operator (kube-prometheus-stack): without its CRDs they
        cannot be applied, so turn this off on a cluster without it. The NixOS module follows
        `services.mcp-gateway.monitoring.enable`.
      '';
    };
    namespace = str "monitoring" "Namespace of Prometheus and Grafana (allowed to scrape our pods).";
    releaseLabel = str "kube-prometheus-stack" "Value of the `release` label that Prometheus selects ServiceMonitors and rules by.";
  };

  resources = {
    gateway = resources { cpu = "100m"; memory = "128Mi"; } { cpu = "1"; memory = "512Mi"; };
    mcpServer = resources { cpu = "50m"; memory = "64Mi"; } { cpu = "500m"; memory = "256Mi"; };
    ollama = resources { cpu = "1"; memory = "8Gi"; } { cpu = "8"; memory = "24Gi"; };
  };
}

# nixosModules.default: turns one (GPU) machine into a single-node k3s host running the appliance.
#
# k3s (Traefik kept for the public OAuth Ingress); the NVIDIA driver and container toolkit, with
# k3s finding nvidia-container-runtime.cdi on its PATH; our images preloaded; our manifests through
# services.k3s.manifests; Kubernetes Secrets written from files on the host (sops-nix/agenix
# paths) before k3s starts; TLS for the public hosts (Traefik's ACME resolver with Let's Encrypt,
# or the operator's certificate files); kube-prometheus-stack, Loki and Promtail from
# nixhelm-pinned charts; the firewall. The flake fills in `renderManifests`, `imagePackages` and
# `charts`.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf mkMerge mkDefault types;
  cfg = config.services.mcp-gateway;
  pins = import ../../nix/pins.nix;
  secretPath = types.nullOr (types.strMatching "/.*");
  secretOption = what: mkOption {
    type = secretPath;
    default = null;
    description = "Absolute path of a file on the host holding ${what} (for example a sops-nix or agenix secret); read when k3s starts, never copied to the Nix store.";
  };
  s = cfg.secrets;
  st = cfg.settings;
  # Alertmanager's receiver, its token and the gateway's `[alerting]` come only with a gateway
  # that reads `[alerting]`.
  alertsToGateway = st.alerting.enable && st.gatewayReads.alerting;
  # The webhook's bearer token: the operator's file, else one the module generates on the host
  # the first time it is needed and keeps (only Alertmanager and the gateway ever use it).
  generatedAlertmanagerToken = "/var/lib/mcp-gateway/alertmanager-token";
  generatesAlertmanagerToken = alertsToGateway && s.gateway.alertmanagerTokenFile == null;
  alertmanagerToken = if s.gateway.alertmanagerTokenFile != null then s.gateway.alertmanagerTokenFile else generatedAlertmanagerToken;

  # The Traefik certificate resolver that `tls.mode = "acme"` configures.
  acmeResolver = "letsencrypt";
  tlsFromFiles = cfg.tls.mode == "files" && st.ingress.tlsSecretName != null;

  # Secret name -> { key in the Secret = host file }, only the keys that are configured.
  secretFiles = lib.filterAttrs (_: keys: keys != { }) (lib.mapAttrs (_: lib.filterAttrs (_: f: f != null)) {
    gateway = {
      "seal.key" = s.gateway.sealKeyFile;
      "telegram-bot-token" = s.gateway.telegramBotTokenFile;
      "slack-app-token" = s.gateway.slackAppTokenFile;
      "slack-bot-token" = s.gateway.slackBotTokenFile;
      "alertmanager-token" = if alertsToGateway then alertmanagerToken else null;
    } // lib.mapAttrs' (name: file: lib.nameValuePair "server-${name}-token" file) s.gateway.serverTokenFiles;
    # Alertmanager's copy of the webhook's bearer token, in the monitoring namespace.
    alertmanager-gateway-token = lib.optionalAttrs (alertsToGateway && cfg.monitoring.enable) {
      token = alertmanagerToken;
    };
    notion-mcp = {
      "seal.key" = s.notionMcp.sealKeyFile;
      "client-id" = s.notionMcp.clientIdFile;
      "client-secret" = s.notionMcp.clientSecretFile;
    };
    gcal-mcp = {
      "seal.key" = s.gcalMcp.sealKeyFile;
      "client-id" = s.gcalMcp.clientIdFile;
      "client-secret" = s.gcalMcp.clientSecretFile;
    };
  });
  secretNamespaces = lib.mapAttrs (_: _: st.namespace) secretFiles
    // lib.optionalAttrs (cfg.monitoring.enable && cfg.monitoring.grafanaAdminPasswordFile != null) {
      grafana-admin = cfg.monitoring.namespace;
    }
    // { alertmanager-gateway-token = cfg.monitoring.namespace; }
    // lib.optionalAttrs tlsFromFiles { ${st.ingress.tlsSecretName} = st.namespace; };
  secretTypes = lib.optionalAttrs tlsFromFiles { ${st.ingress.tlsSecretName} = "kubernetes.io/tls"; };
  allSecretFiles = secretFiles
    // lib.optionalAttrs (cfg.monitoring.enable && cfg.monitoring.grafanaAdminPasswordFile != null) {
      grafana-admin = {
        admin-user = pkgs.writeText "grafana-admin-user" "admin";
        admin-password = cfg.monitoring.grafanaAdminPasswordFile;
      };
    }
    // lib.optionalAttrs (tlsFromFiles && cfg.tls.certificateFile != null && cfg.tls.keyFile != null) {
      ${st.ingress.tlsSecretName} = {
        "tls.crt" = cfg.tls.certificateFile;
        "tls.key" = cfg.tls.keyFile;
      };
    };

  # k3s's bundled Traefik, configured through a HelmChartConfig: a Let's Encrypt resolver (HTTP-01
  # challenge on port 80) that keeps its account and certificates on a small volume.
  traefikAcme = {
    apiVersion = "helm.cattle.io/v1";
    kind = "HelmChartConfig";
    metadata = {
      name = "traefik";
      namespace = "kube-system";
    };
    spec.valuesContent = builtins.toJSON {
      persistence = {
        enabled = true;
        size = "128Mi";
        path = "/data";
      } // lib.optionalAttrs (st.storage.className != null) { storageClass = st.storage.className; };
      podSecurityContext = {
        fsGroup = 65532;
        fsGroupChangePolicy = "OnRootMismatch";
      };
      certificatesResolvers.${acmeResolver}.acme = {
        email = cfg.tls.acme.email;
        caServer = cfg.tls.acme.server;
        storage = "/data/acme.json";
        httpChallenge.entryPoint = "web";
      };
    };
  };

  # Writes one multi-document manifest of Secrets into k3s's auto-deploy folder, readable by root
  # only, so the deploy controller applies the Secrets with the workloads that mount them.
  secretsManifest = "/var/lib/rancher/k3s/server/manifests/mcp-gateway-secrets.yaml";
  writeSecrets = ''
    set -eu
    umask 077
    mkdir -p "$(dirname ${secretsManifest})"
    tmp=$(mktemp "${secretsManifest}.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
  ''
  + lib.optionalString generatesAlertmanagerToken ''
    if [ ! -s ${generatedAlertmanagerToken} ]; then
      mkdir -p -m 0700 "$(dirname ${generatedAlertmanagerToken})"
      od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >${generatedAlertmanagerToken}.new
      mv ${generatedAlertmanagerToken}.new ${generatedAlertmanagerToken}
    fi
  ''
  + lib.concatStrings (lib.mapAttrsToList (name: keys: ''
    {
      echo "---"
      echo "apiVersion: v1"
      echo "kind: Secret"
      echo "type: ${secretTypes.${name} or "Opaque"}"
      echo "metadata:"
      echo "  name: ${name}"
      echo "  namespace: ${secretNamespaces.${name}}"
      echo "data:"
    ${lib.concatStrings (lib.mapAttrsToList (key: file: ''
      test -r ${lib.escapeShellArg "${file}"} || { echo "mcp-gateway: secret file ${file} is missing" >&2; exit 1; }
      printf '  %s: %s\n' ${lib.escapeShellArg key} "$(base64 -w0 < ${lib.escapeShellArg "${file}"})"
    '') keys)}} >>"$tmp"
  '') allSecretFiles)
  + ''
    mv "$tmp" ${secretsManifest}
  '';

  helmPackage = chart: pkgs.runCommand "${chart.name or "chart"}.tgz" { nativeBuildInputs = [ pkgs.kubernetes-helm ]; } ''
    export HOME=$TMPDIR
    helm package ${chart} -d . >/dev/null
    mv ./*.tgz $out
  '';

  # A volume claim of `gib` GiB in the appliance's storage class, for the monitoring charts.
  claim = gib: {
    accessModes = [ "ReadWriteOnce" ];
    resources.requests.storage = "${toString gib}Gi";
  } // lib.optionalAttrs (st.storage.className != null) { storageClassName = st.storage.className; };
  mon = cfg.monitoring;
  bearerServers = lib.attrNames (lib.filterAttrs (_: server: server.auth == "bearer") st.servers);
  admins = lib.optionals st.channels.telegram.enable (map toString st.channels.telegram.admins)
    ++ lib.optionals st.channels.slack.enable st.channels.slack.admins;

  # Alertmanager sends every alert group but the always-firing Watchdog to the gateway, which
  # tells the chat admins; the bearer token is mounted from the Secret alertmanager-gateway-token.
  alertmanagerToGateway = {
    alertmanagerSpec.secrets = [ "alertmanager-gateway-token" ];
    config = {
      route = {
        receiver = "mcp-gateway";
        group_by = [ "alertname" "namespace" ];
        group_wait = "30s";
        group_interval = "5m";
        repeat_interval = "12h";
        routes = [
          { receiver = "null"; matchers = [ "alertname = \"Watchdog\"" ]; }
          { receiver = "null"; matchers = [ "alertname = \"InfoInhibitor\"" ]; }
        ];
      };
      receivers = [
        { name = "null"; }
        {
          name = "mcp-gateway";
          webhook_configs = [
            {
              url = "http://gateway.${st.namespace}.svc:18789/alertmanager";
              send_resolved = true;
              # A short message per group: at most 20 alerts in full, the rest counted
              # (`truncatedAlerts` in the payload).
              max_alerts = 20;
              http_config.authorization = {
                type = "Bearer";
                credentials_file = "/etc/alertmanager/secrets/alertmanager-gateway-token/token";
              };
            }
          ];
        }
      ];
    };
  };

  ollamaFromNix = cfg.ollamaImage == "nix";
  imageRef = img: "${img.imageName}:${img.imageTag}";
  preloaded = lib.filterAttrs (name: _: name != "ollama" || ollamaFromNix) cfg.imagePackages;
in
{
  options.services.mcp-gateway = {
    enable = mkEnableOption "the mcp-gateway appliance on a single-node k3s";

    settings = mkOption {
      type = types.submodule { options = import ../k8s/settings.nix { inherit lib; }; };
      default = { };
      description = "Settings of the Kubernetes objects (model, public hosts, channels, storage, ...); the same options as modules/k8s/settings.nix.";
    };

    ollamaImage = mkOption {
      type = types.enum [ "nix" "upstream" ];
      default = "nix";
      description = ''
        Which Ollama image runs: `nix` preloads the image the flake builds from nixpkgs' `ollama-cuda`
        (a long build without a CUDA binary cache), `upstream` pulls `docker.io/ollama/ollama:${pins.ollamaUpstream}`.
      '';
    };

    imagePackages = mkOption {
      type = types.attrsOf types.package;
      default = { };
      description = "Image tarballs (dockerTools) preloaded into k3s, by component: gateway, notion-mcp, gcal-mcp, ollama. The flake sets them.";
    };

    renderManifests = mkOption {
      type = types.functionTo (types.listOf types.attrs);
      internal = true;
      description = "Renders the Kubernetes objects from settings (nix/manifests.nix with kubenix). The flake sets it.";
    };

    manifests = mkOption {
      type = types.listOf types.attrs;
      readOnly = true;
      description = "The Kubernetes objects k3s deploys, rendered from the settings.";
    };

    gpu = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Use an NVIDIA GPU: driver, container toolkit (CDI), the nvidia-cdi runtime for k3s, GPU scheduling for Ollama.";
      };
      openKernelModule = mkOption {
        type = types.bool;
        default = true;
        description = "Use NVIDIA's open kernel module (Turing and newer); false uses the proprietary one.";
      };
      driverPackage = mkOption {
        type = types.nullOr types.package;
        default = null;
        description = "The NVIDIA driver package; null uses the kernel's `nvidiaPackages.production`.";
      };
    };

    secrets = {
      gateway = {
        sealKeyFile = secretOption "the gateway's seal key (64 hex characters: `openssl rand -hex 32`)";
        telegramBotTokenFile = secretOption "the Telegram bot token";
        slackAppTokenFile = secretOption "the Slack app-level token (xapp-)";
        slackBotTokenFile = secretOption "the Slack bot token (xoxb-)";
        alertmanagerTokenFile = mkOption {
          type = secretPath;
          default = null;
          description = "Absolute path of a file on the host holding the bearer token Alertmanager sends to the gateway's `/alertmanager` (`settings.alerting.enable`; any long random string: `openssl rand -hex 32`). Null: the module generates one (32 random bytes, hex) at `${generatedAlertmanagerToken}` the first time it is needed and keeps it.";
        };
        serverTokenFiles = mkOption {
          type = types.attrsOf (types.strMatching "/.*");
          default = { };
          example = { github = "/run/secrets/github-mcp-token"; };
          description = "Bearer tokens of the `settings.servers` with `auth = \"bearer\"`, by server name: absolute paths of files on the host, written into the `gateway` Secret as `server-<name>-token`.";
        };
      };
      notionMcp = {
        sealKeyFile = secretOption "the Notion MCP server's seal key";
        clientIdFile = secretOption "the OAuth client id of the Notion public connection (its redirect URI: `https://<settings.publicHosts.notionMcp>/oauth/callback`)";
        clientSecretFile = secretOption "the OAuth client secret of the Notion public connection";
      };
      gcalMcp = {
        sealKeyFile = secretOption "the Google Calendar MCP server's seal key";
        clientIdFile = secretOption "the client id of the Google OAuth client (type \"Web application\"; its authorized redirect URI: `https://<settings.publicHosts.gcalMcp>/oauth/callback`; the Google Calendar API enabled in its project)";
        clientSecretFile = secretOption "the client secret of the Google OAuth client";
      };
    };

    monitoring = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Deploy kube-prometheus-stack, Loki and Promtail (charts pinned by nixhelm) through k3s's Helm controller.";
      };
      namespace = mkOption {
        type = types.str;
        default = "monitoring";
        description = "Namespace of the monitoring stack.";
      };
      charts = mkOption {
        type = types.attrsOf types.package;
        default = { };
        description = "Unpacked charts by name: kube-prometheus-stack, loki, promtail. The flake sets them from nixhelm.";
      };
      grafanaAdminPasswordFile = secretOption "Grafana's admin password";
      prometheus = {
        retention = mkOption {
          type = types.strMatching "[0-9]+(ms|s|m|h|d|w|y)";
          default = "15d";
          description = "How long Prometheus keeps samples. It also deletes its oldest blocks when its volume is 85% full (`retentionSize`), whichever comes first.";
        };
        storageGiB = mkOption {
          type = types.ints.positive;
          default = 20;
          description = "Size of Prometheus' volume (a PVC in `settings.storage.className`, kept across restarts).";
        };
      };
      grafana.storageGiB = mkOption {
        type = types.ints.positive;
        default = 1;
        description = "Size of Grafana's volume (its database: users, preferences, dashboards made in the UI).";
      };
      alertmanager.storageGiB = mkOption {
        type = types.ints.positive;
        default = 1;
        description = "Size of Alertmanager's volume (silences and notification state survive a restart).";
      };
    };

    tls = {
      mode = mkOption {
        type = types.enum [ "acme" "files" "off" ];
        default = "acme";
        description = ''
          How the public hosts (`settings.publicHosts`: the OAuth redirects of Notion and Google
          land there) get their certificate. `acme`: k3s's Traefik obtains and renews one per host
          from Let's Encrypt (HTTP-01 on port 80, so the hosts must resolve to this machine and port
          80 be reachable); needs `tls.acme.email`. `files`: the operator's certificate
          (`tls.certificateFile`, covering every public host) and key (`tls.keyFile`), written into
          the Secret `settings.ingress.tlsSecretName`. `off`: plain HTTP (tests only: the OAuth
          providers require HTTPS redirect URIs).
        '';
      };
      acme = {
        email = mkOption {
          type = types.nullOr (types.strMatching "[^@[:space:]]+@[^@[:space:]]+");
          default = null;
          example = "ops@example.org";
          description = "Contact e-mail of the Let's Encrypt account (expiry and policy notices); required with `tls.mode = \"acme\"`.";
        };
        server = mkOption {
          type = types.str;
          default = "https://acme-v02.api.letsencrypt.org/directory";
          example = "https://acme-staging-v02.api.letsencrypt.org/directory";
          description = "ACME directory URL. Let's Encrypt's staging directory issues untrusted certificates without its rate limits, for a first try.";
        };
      };
      certificateFile = secretOption "the PEM certificate chain for every public host (`tls.mode = \"files\"`)";
      keyFile = secretOption "the PEM private key of `tls.certificateFile`";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = "Open TCP 80 and 443 for Traefik (the OAuth callbacks must be reachable from the internet).";
    };

    k3sExtraFlags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--tls-san=gpu-box.example.com" ];
      description = "Extra flags for the k3s server.";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      assertions =
        let
          need = cond: file: what: {
            assertion = !cond || file != null;
            message = "services.mcp-gateway.secrets.${what} must be set";
          };
        in
        [
          (need true s.gateway.sealKeyFile "gateway.sealKeyFile")
          (need true s.notionMcp.sealKeyFile "notionMcp.sealKeyFile")
          (need true s.notionMcp.clientIdFile "notionMcp.clientIdFile")
          (need true s.notionMcp.clientSecretFile "notionMcp.clientSecretFile")
          (need true s.gcalMcp.sealKeyFile "gcalMcp.sealKeyFile")
          (need true s.gcalMcp.clientIdFile "gcalMcp.clientIdFile")
          (need true s.gcalMcp.clientSecretFile "gcalMcp.clientSecretFile")
          (need st.channels.telegram.enable s.gateway.telegramBotTokenFile "gateway.telegramBotTokenFile (Telegram is enabled)")
          (need st.channels.slack.enable s.gateway.slackAppTokenFile "gateway.slackAppTokenFile (Slack is enabled)")
          (need st.channels.slack.enable s.gateway.slackBotTokenFile "gateway.slackBotTokenFile (Slack is enabled)")
          {
            assertion = st.gpu.enable == cfg.gpu.enable;
            message = "services.mcp-gateway.settings.gpu.enable must follow services.mcp-gateway.gpu.enable";
          }
          {
            assertion = st.monitoring.enable == cfg.monitoring.enable;
            message = "services.mcp-gateway.settings.monitoring.enable must follow services.mcp-gateway.monitoring.enable (the ServiceMonitors and PrometheusRules need the monitoring stack's CRDs)";
          }
          {
            assertion = !st.alerting.enable || (cfg.monitoring.enable && admins != [ ]);
            message = "services.mcp-gateway.settings.alerting.enable needs monitoring.enable and at least one admin of an enabled channel (settings.channels.*.admins): alerts go to the admins";
          }
          {
            assertion = !alertsToGateway || st.gatewayReads.admins;
            message = "services.mcp-gateway.settings.gatewayReads.alerting needs gatewayReads.admins: the gateway sends alerts to the admins, who must be written into its configuration";
          }
          {
            assertion = lib.sort lib.lessThan (lib.attrNames s.gateway.serverTokenFiles) == bearerServers;
            message = "services.mcp-gateway.secrets.gateway.serverTokenFiles must name exactly the settings.servers with auth = \"bearer\" (${toString bearerServers})";
          }
          {
            assertion = cfg.tls.mode != "acme" || cfg.tls.acme.email != null;
            message = "services.mcp-gateway.tls.acme.email must be set for Let's Encrypt (or set tls.mode = \"files\" with your own certificate)";
          }
          {
            assertion = cfg.tls.mode != "files" || (cfg.tls.certificateFile != null && cfg.tls.keyFile != null && st.ingress.tlsSecretName != null);
            message = "services.mcp-gateway.tls.mode = \"files\" needs tls.certificateFile, tls.keyFile and settings.ingress.tlsSecretName";
          }
          {
            assertion = !ollamaFromNix || cfg.imagePackages ? ollama;
            message = "services.mcp-gateway.ollamaImage = \"nix\" needs imagePackages.ollama (or choose \"upstream\")";
          }
        ];

      warnings =
        lib.optional (admins != [ ] && !st.gatewayReads.admins)
          "services.mcp-gateway.settings.channels.*.admins are not written into the gateway's configuration: its image does not read [channels.*].admins (settings.gatewayReads.admins is false), so admins get no pairing requests, /status or alerts"
        ++ lib.optional (st.alerting.enable && !st.gatewayReads.alerting)
          "services.mcp-gateway.settings.alerting.enable has no effect: the gateway image does not read [alerting] (settings.gatewayReads.alerting is false), so Alertmanager keeps no receiver and alerts reach no one";

      services.mcp-gateway.settings = {
        timeZone = mkIf (config.time.timeZone != null) (mkDefault config.time.timeZone);
        gpu.enable = mkDefault cfg.gpu.enable;
        monitoring = {
          enable = mkDefault cfg.monitoring.enable;
          namespace = mkDefault cfg.monitoring.namespace;
        };
        ingress = {
          tlsSecretName = mkIf (cfg.tls.mode != "files") (mkDefault null);
          certResolver = mkDefault (if cfg.tls.mode == "acme" then acmeResolver else null);
        };
        images = lib.mapAttrs (_: mkDefault) (
          lib.optionalAttrs (cfg.imagePackages ? gateway) { gateway = imageRef cfg.imagePackages.gateway; }
          // lib.optionalAttrs (cfg.imagePackages ? notion-mcp) { notionMcp = imageRef cfg.imagePackages.notion-mcp; }
          // lib.optionalAttrs (cfg.imagePackages ? gcal-mcp) { gcalMcp = imageRef cfg.imagePackages.gcal-mcp; }
          // lib.optionalAttrs (ollamaFromNix && cfg.imagePackages ? ollama) { ollama = imageRef cfg.imagePackages.ollama; }
          // lib.optionalAttrs (!ollamaFromNix) { ollama = "docker.io/ollama/ollama:${pins.ollamaUpstream}"; }
        );
      };
      services.mcp-gateway.manifests = cfg.renderManifests cfg.settings;

      services.k3s = {
        enable = true;
        role = "server";
        extraFlags = [ "--write-kubeconfig-mode=0600" ] ++ cfg.k3sExtraFlags;
        gracefulNodeShutdown.enable = true;
        images = lib.attrValues preloaded;
        manifests.mcp-gateway.content = cfg.manifests;
        manifests.mcp-gateway-traefik-acme = mkIf (cfg.tls.mode == "acme") { content = traefikAcme; };
      };

      systemd.services.mcp-gateway-secrets = {
        description = "Write the mcp-gateway Kubernetes Secrets from files for k3s to apply";
        wantedBy = [ "k3s.service" ];
        before = [ "k3s.service" ];
        partOf = [ "k3s.service" ];
        path = [ pkgs.coreutils ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
        };
        script = writeSecrets;
      };

      networking.firewall.allowedTCPPorts = lib.optionals cfg.openFirewall [ 80 443 ];
      # Pods reach the API server and node-local services through the CNI bridge.
      networking.firewall.trustedInterfaces = [ "cni0" "flannel.1" ];
    }

    (mkIf cfg.gpu.enable {
      services.xserver.videoDrivers = [ "nvidia" ];
      hardware.graphics.enable = true;
      hardware.nvidia.open = mkDefault cfg.gpu.openKernelModule;
      hardware.nvidia.package = mkDefault (
        if cfg.gpu.driverPackage != null then cfg.gpu.driverPackage
        else config.boot.kernelPackages.nvidiaPackages.production
      );
      # Generates the CDI spec (/run/cdi/nvidia-container-toolkit.json) the nvidia-cdi runtime uses.
      hardware.nvidia-container-toolkit.enable = true;
      systemd.services.k3s = {
        # k3s registers the nvidia and nvidia-cdi containerd runtimes for the binaries on its PATH.
        path = [ pkgs.nvidia-container-toolkit.tools ];
        # The nvidia-cdi runtime reads the CDI spec; k3s starts once the generator has written it.
        wants = [ "nvidia-container-toolkit-cdi-generator.service" ];
        after = [ "nvidia-container-toolkit-cdi-generator.service" ];
      };
      # The device plugin and DCGM exporter select GPU nodes by this label (no node-feature-discovery).
      services.k3s.extraFlags = [ "--node-label=nvidia.com/gpu.present=true" ];
    })

    (mkIf cfg.monitoring.enable {
      assertions = [
        {
          assertion = lib.all (c: cfg.monitoring.charts ? ${c}) [ "kube-prometheus-stack" "loki" "promtail" ];
          message = "services.mcp-gateway.monitoring.charts needs kube-prometheus-stack, loki and promtail (the flake sets them from nixhelm)";
        }
      ];
      services.k3s.autoDeployCharts = {
        kube-prometheus-stack = {
          package = helmPackage cfg.monitoring.charts.kube-prometheus-stack;
          targetNamespace = cfg.monitoring.namespace;
          createNamespace = true;
          values = {
            prometheus.prometheusSpec = {
              serviceMonitorSelectorNilUsesHelmValues = false;
              ruleSelectorNilUsesHelmValues = false;
              retention = mon.prometheus.retention;
              # Prometheus' units are powers of two: 85% of the volume, in MiB.
              retentionSize = "${toString (mon.prometheus.storageGiB * 1024 * 85 / 100)}MB";
              storageSpec.volumeClaimTemplate.spec = claim mon.prometheus.storageGiB;
            };
            alertmanager = lib.recursiveUpdate {
              alertmanagerSpec.storage.volumeClaimTemplate.spec = claim mon.alertmanager.storageGiB;
            } (lib.optionalAttrs alertsToGateway alertmanagerToGateway);
            # k3s runs the controller manager, scheduler and proxy inside its own process, serving
            # their metrics on 127.0.0.1 only, and there are no pods for the chart's Services
            # to select; a single server keeps its state in SQLite (kine), not etcd. Scraping them
            # finds no targets, and their "down" alerts (absent `up`) would fire from the first day.
            kubeControllerManager.enabled = false;
            kubeScheduler.enabled = false;
            kubeProxy.enabled = false;
            kubeEtcd.enabled = false;
            defaultRules.rules = {
              etcd = false;
              kubeControllerManager = false;
              kubeProxy = false;
              kubeSchedulerAlerting = false;
              kubeSchedulerRecording = false;
            };
            grafana = {
              persistence = {
                enabled = true;
                type = "pvc";
                size = "${toString mon.grafana.storageGiB}Gi";
                accessModes = [ "ReadWriteOnce" ];
              } // lib.optionalAttrs (st.storage.className != null) { storageClassName = st.storage.className; };
              sidecar.dashboards = {
                enabled = true;
                searchNamespace = "ALL";
                folderAnnotation = "grafana_folder";
                provider.foldersFromFilesStructure = true;
              };
              additionalDataSources = [
                {
                  name = "Loki";
                  type = "loki";
                  url = "http://loki.${cfg.monitoring.namespace}.svc:3100";
                }
              ];
            } // lib.optionalAttrs (cfg.monitoring.grafanaAdminPasswordFile != null) {
              admin = {
                existingSecret = "grafana-admin";
                userKey = "admin-user";
                passwordKey = "admin-password";
              };
            };
          };
        };
        loki = {
          package = helmPackage cfg.monitoring.charts.loki;
          targetNamespace = cfg.monitoring.namespace;
          createNamespace = true;
          values = {
            deploymentMode = "SingleBinary";
            loki = {
              auth_enabled = false;
              commonConfig.replication_factor = 1;
              storage.type = "filesystem";
              schemaConfig.configs = [
                {
                  from = "2024-01-01";
                  store = "tsdb";
                  object_store = "filesystem";
                  schema = "v13";
                  index = { prefix = "loki_index_"; period = "24h"; };
                }
              ];
            };
            singleBinary.replicas = 1;
            read.replicas = 0;
            write.replicas = 0;
            backend.replicas = 0;
            chunksCache.enabled = false;
            resultsCache.enabled = false;
            minio.enabled = false;
          };
        };
        promtail = {
          package = helmPackage cfg.monitoring.charts.promtail;
          targetNamespace = cfg.monitoring.namespace;
          createNamespace = true;
          values.config.clients = [ { url = "http://loki.${cfg.monitoring.namespace}.svc:3100/loki/api/v1/push"; } ];
        };
      };
    })
  ]);
}

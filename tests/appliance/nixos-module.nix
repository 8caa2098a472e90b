# Unit tests of modules/nixos: its logic evaluated over nixos-stubs.nix with `lib` only.
#   nix-instantiate --eval --strict --json tests/appliance/nixos-module.nix \
#     --arg lib "import <nixpkgs-lib>/lib" -A failures        # [] when every test passes
# `secretScripts` are the secrets service's scripts for tests/appliance/secrets_script.py.
{ lib }:
let
  fakeDrv = name: extra: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  } // extra;
  image = name: tag: fakeDrv "${name}.tar.gz" { imageName = name; imageTag = tag; };
  pkgsStub = {
    coreutils = fakeDrv "coreutils" { };
    kubernetes-helm = fakeDrv "kubernetes-helm" { };
    nvidia-container-toolkit = fakeDrv "nvidia-container-toolkit" { tools = fakeDrv "nvidia-container-toolkit-tools" { }; };
    writeText = name: _: fakeDrv name { };
    runCommand = name: _: _: fakeDrv name { };
  };
  # A renderer standing in for nix/manifests.nix: it records the settings it was given.
  renderStub = settings: [
    { kind = "Namespace"; metadata.name = settings.namespace; settings = settings; }
    { kind = "Deployment"; metadata.name = "ollama"; image = settings.images.ollama; gpu = settings.gpu.enable; }
  ];
  rendered = c: (lib.head c.services.mcp-gateway.manifests).settings;
  images = {
    gateway = image "mcp-gateway" "0.1.0";
    notion-mcp = image "notion-mcp" "0.1.0";
    gcal-mcp = image "gcal-mcp" "0.1.0";
    ollama = image "ollama-cuda" "9.9.9";
  };
  secrets = {
    gateway = { sealKeyFile = "/run/secrets/gw-seal"; telegramBotTokenFile = "/run/secrets/tg"; };
    notionMcp = { sealKeyFile = "/run/secrets/n-seal"; clientIdFile = "/run/secrets/n-id"; clientSecretFile = "/run/secrets/n-secret"; };
    gcalMcp = { sealKeyFile = "/run/secrets/g-seal"; clientIdFile = "/run/secrets/g-id"; clientSecretFile = "/run/secrets/g-secret"; };
  };
  charts = {
    kube-prometheus-stack = fakeDrv "kube-prometheus-stack" { };
    loki = fakeDrv "loki" { };
    promtail = fakeDrv "promtail" { };
  };
  eval = modules: (lib.evalModules {
    modules = [
      ./nixos-stubs.nix
      ../../modules/nixos
      { _module.args.pkgs = pkgsStub; }
      { boot.kernelPackages.nvidiaPackages.production = fakeDrv "nvidia-x11-production" { }; }
      {
        services.mcp-gateway = {
          renderManifests = renderStub;
          imagePackages = images;
          monitoring.charts = charts;
        };
      }
    ] ++ modules;
  }).config;
  failedAssertions = c: map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);

  # Enabled, every required secret given, Let's Encrypt's e-mail set.
  base = { enable = true; inherit secrets; tls.acme.email = "ops@example.org"; };
  gpuHost = eval [ { services.mcp-gateway = base; } ];
  cpuHost = eval [ { services.mcp-gateway = base // { gpu.enable = false; monitoring.enable = false; }; } ];
  upstream = eval [ { services.mcp-gateway = base // { ollamaImage = "upstream"; }; } ];
  noSecrets = eval [ { services.mcp-gateway.enable = true; } ];
  slackNoToken = eval [ { services.mcp-gateway = base // { settings.channels.slack.enable = true; }; } ];
  noAcmeEmail = eval [ { services.mcp-gateway = { enable = true; inherit secrets; }; } ];
  tlsFiles = eval [
    {
      services.mcp-gateway = base // {
        tls = { mode = "files"; certificateFile = "/run/secrets/tls.crt"; keyFile = "/run/secrets/tls.key"; };
      };
    }
  ];
  tlsFilesMissing = eval [ { services.mcp-gateway = base // { tls.mode = "files"; }; } ];
  tlsOff = eval [ { services.mcp-gateway = base // { tls.mode = "off"; }; } ];
  kpsValues = c: c.services.k3s.autoDeployCharts.kube-prometheus-stack.values;
  longerRetention = eval [
    {
      services.mcp-gateway = base // {
        monitoring = { prometheus = { retention = "30d"; storageGiB = 50; }; grafana.storageGiB = 2; };
      };
    }
  ];
  alertingSecrets = secrets // { gateway = secrets.gateway // { alertmanagerTokenFile = "/run/secrets/am-token"; }; };
  # A gateway image that reads `[alerting]` and `admins`.
  alerting = eval [
    {
      services.mcp-gateway = base // {
        settings = {
          alerting.enable = true;
          channels.telegram.admins = [ 42 ];
          gatewayReads = { alerting = true; admins = true; };
        };
        secrets = alertingSecrets;
      };
    }
  ];
  # The same settings for a gateway image that reads neither.
  alertingNotRead = eval [
    {
      services.mcp-gateway = base // {
        settings = {
          alerting.enable = true;
          channels.telegram.admins = [ 42 ];
          gatewayReads = { alerting = false; admins = false; };
        };
        secrets = alertingSecrets;
      };
    }
  ];
  alertingNoAdmin = eval [
    {
      services.mcp-gateway = base // {
        settings = { alerting.enable = true; gatewayReads = { alerting = true; admins = true; }; };
        secrets = alertingSecrets;
      };
    }
  ];
  alertingWithoutAdmins = eval [
    {
      services.mcp-gateway = base // {
        settings = {
          alerting.enable = true;
          channels.telegram.admins = [ 42 ];
          gatewayReads = { alerting = true; admins = false; };
        };
        secrets = alertingSecrets;
      };
    }
  ];
  alertingScript = alerting.systemd.services.mcp-gateway-secrets.script;
  # No token file: the module generates one.
  alertingGeneratedToken = eval [
    {
      services.mcp-gateway = base // {
        settings = {
          alerting.enable = true;
          channels.telegram.admins = [ 42 ];
          gatewayReads = { alerting = true; admins = true; };
        };
      };
    }
  ];
  generatedTokenScript = alertingGeneratedToken.systemd.services.mcp-gateway-secrets.script;
  notReadWarnings = [
    "services.mcp-gateway.settings.channels.*.admins are not written into the gateway's configuration: its image does not read [channels.*].admins (settings.gatewayReads.admins is false), so admins get no pairing requests, /status or alerts"
    "services.mcp-gateway.settings.alerting.enable has no effect: the gateway image does not read [alerting] (settings.gatewayReads.alerting is false), so Alertmanager keeps no receiver and alerts reach no one"
  ];
  githubServer = { github = { url = "https://api.githubcopilot.com/mcp/"; auth = "bearer"; }; wiki.url = "http://wiki:8080/mcp"; };
  moreServers = eval [
    {
      services.mcp-gateway = base // {
        settings.servers = githubServer;
        secrets = secrets // { gateway = secrets.gateway // { serverTokenFiles.github = "/run/secrets/github-token"; }; };
      };
    }
  ];
  serverWithoutToken = eval [ { services.mcp-gateway = base // { settings.servers = githubServer; }; } ];
  admins = eval [
    {
      services.mcp-gateway = base // {
        settings.channels = { telegram.admins = [ 42 ]; slack = { enable = true; admins = [ "U0123ABCD" ]; }; };
        settings.gatewayReads.admins = false;
        secrets = secrets // { gateway = secrets.gateway // { slackAppTokenFile = "/run/secrets/xapp"; slackBotTokenFile = "/run/secrets/xoxb"; }; };
      };
    }
  ];
  fourSlots = eval [ { services.mcp-gateway = base // { settings.model.numParallel = 4; }; } ];
  monitoringForced = eval [ { services.mcp-gateway = base // { monitoring.enable = false; settings.monitoring.enable = true; }; } ];
  # The example host of the flake, over the same stubs.
  example = eval [
    ../../hosts/example/configuration.nix
    { _module.args.modulesPath = "/nixos/modules"; }
  ];
  unfree = import ../../nix/unfree.nix { inherit lib; };
  # Packages as nixpkgs names them: the NVIDIA driver, CUDA redistributables, other unfree and free.
  samplePackages = [
    { pname = "nvidia-x11"; version = "580.95.05"; meta.license = lib.licenses.unfreeRedistributable; }
    { pname = "cuda_nvml_dev"; version = "12.8.90"; meta.license = lib.licenses.nvidiaCudaRedist // { url = "https://developer.download.nvidia.com/compute/cuda/redist/cuda_nvml_dev/LICENSE.txt"; }; }
    { pname = "libcublas"; version = "12.8.4.1"; meta.license = [ lib.licenses.nvidiaCuda ]; }
    { pname = "steam"; version = "1.0"; meta.license = lib.licenses.unfreeRedistributable; }
    { pname = "ollama"; version = "0.12.11"; meta.license = lib.licenses.mit; }
  ];
  acmeManifest = gpuHost.services.k3s.manifests.mcp-gateway-traefik-acme.content;
  traefikValues = builtins.fromJSON acmeManifest.spec.valuesContent;
  tlsScript = tlsFiles.systemd.services.mcp-gateway-secrets.script;
  userOverride = eval [
    {
      services.mcp-gateway = base // { k3sExtraFlags = [ "--tls-san=box.example.com" ]; };
      hardware.nvidia.open = false;
      services.k3s.extraFlags = [ "--node-name=gpu0" ];
    }
    { services.mcp-gateway.settings.images.gateway = "registry.example.com/mcp-gateway:0.1.0"; }
  ];
  disabled = eval [ { services.mcp-gateway = { inherit secrets; }; } ];
  berlin = eval [ { services.mcp-gateway = base; time.timeZone = "Europe/Berlin"; } ];
  secretScript = gpuHost.systemd.services.mcp-gateway-secrets.script;
  has = needle: lib.hasInfix needle secretScript;
in
{
  k3s = gpuHost.services.k3s;
  # The scripts of mcp-gateway-secrets.service, run in a temporary root by secrets_script.py.
  secretScripts = {
    default = secretScript;
    alerting = alertingScript;
    generatedToken = generatedTokenScript;
    tlsFiles = tlsScript;
    moreServers = moreServers.systemd.services.mcp-gateway-secrets.script;
  };
  failures = lib.runTests {
    testK3sServer = { expr = [ gpuHost.services.k3s.enable gpuHost.services.k3s.role ]; expected = [ true "server" ]; };
    testTraefikKept = {
      expr = lib.any (f: lib.hasInfix "traefik" f) gpuHost.services.k3s.extraFlags || (gpuHost.services.k3s.disable or [ ]) != [ ];
      expected = false;
    };
    testGpuFlagsMerged = {
      expr = lib.sort lib.lessThan gpuHost.services.k3s.extraFlags;
      expected = [ "--node-label=nvidia.com/gpu.present=true" "--write-kubeconfig-mode=0600" ];
    };
    testNvidiaDriver = {
      expr = [ gpuHost.services.xserver.videoDrivers gpuHost.hardware.nvidia.open gpuHost.hardware.nvidia.package.name gpuHost.hardware.nvidia-container-toolkit.enable ];
      expected = [ [ "nvidia" ] true "nvidia-x11-production" true ];
    };
    testRuntimeOnK3sPath = {
      expr = map toString gpuHost.systemd.services.k3s.path;
      expected = [ "/nix/store/00000000000000000000000000000000-nvidia-container-toolkit-tools" ];
    };
    testCpuHostHasNoGpu = {
      expr = [ cpuHost.services.xserver.videoDrivers (cpuHost.hardware.nvidia-container-toolkit or { }) cpuHost.services.k3s.extraFlags (lib.last cpuHost.services.mcp-gateway.manifests).gpu ];
      expected = [ [ ] { } [ "--write-kubeconfig-mode=0600" ] false ];
    };
    testTimeZoneFollowsTheHost = {
      expr = [ gpuHost.services.mcp-gateway.settings.timeZone berlin.services.mcp-gateway.settings.timeZone ];
      expected = [ "UTC" "Europe/Berlin" ];
    };
    testImagesPreloaded = { expr = map (i: i.name) gpuHost.services.k3s.images; expected = [ "mcp-gateway.tar.gz" "gcal-mcp.tar.gz" "notion-mcp.tar.gz" "ollama-cuda.tar.gz" ]; };
    testManifestsUseNixImages = {
      expr = (lib.last gpuHost.services.k3s.manifests.mcp-gateway.content).image;
      expected = "ollama-cuda:9.9.9";
    };
    testSettingsImagesFromPackages = {
      expr = with gpuHost.services.mcp-gateway.settings.images; [ gateway notionMcp gcalMcp ];
      expected = [ "mcp-gateway:0.1.0" "notion-mcp:0.1.0" "gcal-mcp:0.1.0" ];
    };
    testUpstreamOllamaNotPreloaded = {
      expr = [ (map (i: i.name) upstream.services.k3s.images) (lib.hasPrefix "docker.io/ollama/ollama:" upstream.services.mcp-gateway.settings.images.ollama) ];
      expected = [ [ "mcp-gateway.tar.gz" "gcal-mcp.tar.gz" "notion-mcp.tar.gz" ] true ];
    };
    testSecretsBeforeK3s = {
      expr = with gpuHost.systemd.services.mcp-gateway-secrets; [ before wantedBy serviceConfig.Type ];
      expected = [ [ "k3s.service" ] [ "k3s.service" ] "oneshot" ];
    };
    testSecretsFromFiles = {
      expr = map has [ "name: gateway" "name: notion-mcp" "name: gcal-mcp" "base64 -w0 < /run/secrets/gw-seal" "telegram-bot-token" "base64 -w0 < /run/secrets/n-secret" "slack-app-token" "umask 077" ];
      expected = [ true true true true true true false true ];
    };
    testAllAssertionsHoldWhenConfigured = { expr = failedAssertions gpuHost; expected = [ ]; };
    testMissingSecretsAsserted = {
      expr = lib.length (failedAssertions noSecrets);
      expected = 9;
    };
    testK3sAfterCdiGenerator = {
      expr = [
        gpuHost.systemd.services.k3s.wants
        gpuHost.systemd.services.k3s.after
        (cpuHost.systemd.services.k3s or { after = [ ]; }).after
      ];
      expected = [ [ "nvidia-container-toolkit-cdi-generator.service" ] [ "nvidia-container-toolkit-cdi-generator.service" ] [ ] ];
    };
    testMonitoringSurvivesRestarts = {
      expr = with kpsValues gpuHost; [
        prometheus.prometheusSpec.retention
        prometheus.prometheusSpec.retentionSize
        prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec
        alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.resources.requests.storage
        grafana.persistence
      ];
      expected = [
        "15d"
        "17408MB"
        { accessModes = [ "ReadWriteOnce" ]; resources.requests.storage = "20Gi"; storageClassName = "local-path"; }
        "1Gi"
        { enabled = true; type = "pvc"; size = "1Gi"; accessModes = [ "ReadWriteOnce" ]; storageClassName = "local-path"; }
      ];
    };
    testMonitoringRetentionOptions = {
      expr = with kpsValues longerRetention; [
        prometheus.prometheusSpec.retention
        prometheus.prometheusSpec.retentionSize
        prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage
        grafana.persistence.size
      ];
      expected = [ "30d" "43520MB" "50Gi" "2Gi" ];
    };
    testNoScrapingOfWhatK3sDoesNotExpose = {
      expr = with kpsValues gpuHost; [
        kubeControllerManager.enabled
        kubeScheduler.enabled
        kubeProxy.enabled
        kubeEtcd.enabled
        defaultRules.rules
      ];
      expected = [
        false
        false
        false
        false
        { etcd = false; kubeControllerManager = false; kubeProxy = false; kubeSchedulerAlerting = false; kubeSchedulerRecording = false; }
      ];
    };
    testAlertingOffByDefault = {
      expr = [
        (rendered gpuHost).alerting.enable
        (lib.attrNames (kpsValues gpuHost).alertmanager)
        (lib.hasInfix "alertmanager" secretScript)
      ];
      expected = [ false [ "alertmanagerSpec" ] false ];
    };
    testAlertmanagerReceiverIsTheGateway = {
      expr = with (kpsValues alerting).alertmanager; [
        (failedAssertions alerting)
        alerting.warnings
        (rendered alerting).alerting.enable
        alertmanagerSpec.secrets
        alertmanagerSpec.storage.volumeClaimTemplate.spec.resources.requests.storage
        config.route.receiver
        config.route.routes
        config.receivers
      ];
      expected = [
        [ ]
        [ ]
        true
        [ "alertmanager-gateway-token" ]
        "1Gi"
        "mcp-gateway"
        [
          { receiver = "null"; matchers = [ "alertname = \"Watchdog\"" ]; }
          { receiver = "null"; matchers = [ "alertname = \"InfoInhibitor\"" ]; }
        ]
        [
          { name = "null"; }
          {
            name = "mcp-gateway";
            webhook_configs = [
              {
                url = "http://gateway.mcp-gateway.svc:18789/alertmanager";
                send_resolved = true;
                max_alerts = 20;
                http_config.authorization = { type = "Bearer"; credentials_file = "/etc/alertmanager/secrets/alertmanager-gateway-token/token"; };
              }
            ];
          }
        ]
      ];
    };
    # The same host file becomes the gateway's key and Alertmanager's Secret in the monitoring namespace.
    testAlertingTokenFromFile = {
      expr = map (n: lib.hasInfix n alertingScript) [
        "alertmanager-token \"$(base64 -w0 < /run/secrets/am-token)\""
        "name: alertmanager-gateway-token"
        "namespace: monitoring"
        "\\n' token \"$(base64 -w0 < /run/secrets/am-token)\""
      ];
      expected = [ true true true true ];
    };
    # Without a file, the token is generated once on the host (kept when it exists), before
    # both Secrets read it.
    testAlertingTokenGenerated = {
      expr = [
        (failedAssertions alertingGeneratedToken)
        (map (n: lib.hasInfix n generatedTokenScript) [
          "if [ ! -s /var/lib/mcp-gateway/alertmanager-token ]; then"
          "od -An -tx1 -N32 /dev/urandom | tr -d ' \\n' >/var/lib/mcp-gateway/alertmanager-token.new"
          "alertmanager-token \"$(base64 -w0 < /var/lib/mcp-gateway/alertmanager-token)\""
          "\\n' token \"$(base64 -w0 < /var/lib/mcp-gateway/alertmanager-token)\""
        ])
        (lib.hasInfix "/dev/urandom" alertingScript)
        (lib.hasInfix "/dev/urandom" secretScript)
      ];
      expected = [ [ ] [ true true true true ] false false ];
    };
    # A gateway that does not read `[alerting]` gets no token, and Alertmanager no receiver.
    testAlertingWaitsForAGatewayThatReadsIt = {
      expr = [
        (failedAssertions alertingNotRead)
        alertingNotRead.warnings
        (lib.attrNames (kpsValues alertingNotRead).alertmanager)
        (lib.hasInfix "alertmanager" alertingNotRead.systemd.services.mcp-gateway-secrets.script)
        (rendered alertingNotRead).gatewayReads
        gpuHost.warnings
      ];
      expected = [ [ ] notReadWarnings [ "alertmanagerSpec" ] false { admins = false; alerting = false; } [ ] ];
    };
    testAlertingNeedsAnAdmin = {
      expr = [ (failedAssertions alertingNoAdmin) (failedAssertions alertingWithoutAdmins) ];
      expected = [
        [ "services.mcp-gateway.settings.alerting.enable needs monitoring.enable and at least one admin of an enabled channel (settings.channels.*.admins): alerts go to the admins" ]
        [ "services.mcp-gateway.settings.gatewayReads.alerting needs gatewayReads.admins: the gateway sends alerts to the admins, who must be written into its configuration" ]
      ];
    };
    testAdminsReachTheRender = {
      expr = with (rendered admins).channels; [
        telegram.admins
        slack.admins
        (failedAssertions admins)
        admins.warnings
        (rendered gpuHost).channels.telegram.admins
      ];
      expected = [ [ 42 ] [ "U0123ABCD" ] [ ] [ (lib.head notReadWarnings) ] [ ] ];
    };
    testServerTokensFromFiles = {
      expr = [
        (failedAssertions moreServers)
        (lib.attrNames (rendered moreServers).servers)
        (lib.hasInfix "server-github-token \"$(base64 -w0 < /run/secrets/github-token)\"" moreServers.systemd.services.mcp-gateway-secrets.script)
      ];
      expected = [ [ ] [ "github" "wiki" ] true ];
    };
    testBearerServerNeedsToken = {
      expr = failedAssertions serverWithoutToken;
      expected = [ "services.mcp-gateway.secrets.gateway.serverTokenFiles must name exactly the settings.servers with auth = \"bearer\" (github)" ];
    };
    testModelServerSizing = {
      expr = with (rendered fourSlots).model; [ numParallel numCtx (rendered gpuHost).model.numParallel ];
      expected = [ 4 16384 1 ];
    };
    testMonitoringObjectsFollowMonitoring = {
      expr = [ (rendered gpuHost).monitoring.enable (rendered cpuHost).monitoring.enable ];
      expected = [ true false ];
    };
    testMonitoringObjectsWithoutStackAsserted = {
      expr = failedAssertions monitoringForced;
      expected = [ "services.mcp-gateway.settings.monitoring.enable must follow services.mcp-gateway.monitoring.enable (the ServiceMonitors and PrometheusRules need the monitoring stack's CRDs)" ];
    };
    testTlsAcmeByDefault = {
      expr = [
        gpuHost.services.mcp-gateway.tls.mode
        (rendered gpuHost).ingress.certResolver
        (rendered gpuHost).ingress.tlsSecretName
        [ acmeManifest.apiVersion acmeManifest.kind acmeManifest.metadata.name acmeManifest.metadata.namespace ]
        traefikValues.certificatesResolvers.letsencrypt.acme
        traefikValues.persistence
      ];
      expected = [
        "acme"
        "letsencrypt"
        null
        [ "helm.cattle.io/v1" "HelmChartConfig" "traefik" "kube-system" ]
        {
          email = "ops@example.org";
          caServer = "https://acme-v02.api.letsencrypt.org/directory";
          storage = "/data/acme.json";
          httpChallenge.entryPoint = "web";
        }
        { enabled = true; size = "128Mi"; path = "/data"; storageClass = "local-path"; }
      ];
    };
    testTlsAcmeNeedsEmail = {
      expr = failedAssertions noAcmeEmail;
      expected = [ "services.mcp-gateway.tls.acme.email must be set for Let's Encrypt (or set tls.mode = \"files\" with your own certificate)" ];
    };
    testTlsFromFiles = {
      expr = [
        (failedAssertions tlsFiles)
        (rendered tlsFiles).ingress.tlsSecretName
        (rendered tlsFiles).ingress.certResolver
        (tlsFiles.services.k3s.manifests ? mcp-gateway-traefik-acme)
        (map (n: lib.hasInfix n tlsScript) [ "name: mcp-gateway-tls" "type: kubernetes.io/tls" "tls.crt" "base64 -w0 < /run/secrets/tls.crt" "base64 -w0 < /run/secrets/tls.key" ])
        (lib.hasInfix "kubernetes.io/tls" secretScript)
      ];
      expected = [ [ ] "mcp-gateway-tls" null false [ true true true true true ] false ];
    };
    testTlsFilesNeedFiles = {
      expr = failedAssertions tlsFilesMissing;
      expected = [ "services.mcp-gateway.tls.mode = \"files\" needs tls.certificateFile, tls.keyFile and settings.ingress.tlsSecretName" ];
    };
    testTlsOff = {
      expr = [ (rendered tlsOff).ingress.tlsSecretName (rendered tlsOff).ingress.certResolver (tlsOff.services.k3s.manifests ? mcp-gateway-traefik-acme) (failedAssertions tlsOff) ];
      expected = [ null null false [ ] ];
    };
    testExampleHostEvaluates = {
      expr = [
        (failedAssertions example)
        example.services.mcp-gateway.tls.acme.email
        (rendered example).publicHosts.gateway
      ];
      expected = [ [ ] "ops@example.org" "assistant.example.org" ];
    };
    testOneUnfreeDefinition = {
      expr = [
        (map example.nixpkgs.config.allowUnfreePredicate samplePackages)
        (map unfree.predicate samplePackages)
      ];
      expected = [ [ true true true false false ] [ true true true false false ] ];
    };
    testSlackNeedsTokens = {
      expr = failedAssertions slackNoToken;
      expected = [
        "services.mcp-gateway.secrets.gateway.slackAppTokenFile (Slack is enabled) must be set"
        "services.mcp-gateway.secrets.gateway.slackBotTokenFile (Slack is enabled) must be set"
      ];
    };
    testMonitoringCharts = {
      expr = with gpuHost.services.k3s.autoDeployCharts; [
        (lib.attrNames gpuHost.services.k3s.autoDeployCharts)
        kube-prometheus-stack.targetNamespace
        kube-prometheus-stack.values.prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues
        kube-prometheus-stack.values.grafana.sidecar.dashboards.searchNamespace
        loki.values.deploymentMode
        (lib.head promtail.values.config.clients).url
      ];
      expected = [ [ "kube-prometheus-stack" "loki" "promtail" ] "monitoring" false "ALL" "SingleBinary" "http://loki.monitoring.svc:3100/loki/api/v1/push" ];
    };
    testNoMonitoringWhenDisabled = { expr = cpuHost.services.k3s.autoDeployCharts; expected = { }; };
    testFirewall = {
      expr = [ gpuHost.networking.firewall.allowedTCPPorts gpuHost.networking.firewall.trustedInterfaces ];
      expected = [ [ 80 443 ] [ "cni0" "flannel.1" ] ];
    };
    testUserOverrides = {
      expr = [
        userOverride.hardware.nvidia.open
        (lib.sort lib.lessThan userOverride.services.k3s.extraFlags)
        userOverride.services.mcp-gateway.settings.images.gateway
      ];
      expected = [
        false
        [ "--node-label=nvidia.com/gpu.present=true" "--node-name=gpu0" "--tls-san=box.example.com" "--write-kubeconfig-mode=0600" ]
        "registry.example.com/mcp-gateway:0.1.0"
      ];
    };
    testDisabledSetsNothing = {
      expr = [ disabled.services.k3s.enable disabled.systemd.services disabled.networking.firewall.allowedTCPPorts ];
      expected = [ false { } [ ] ];
    };
  };
}

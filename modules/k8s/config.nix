# The configuration files of the three processes (the Interface contract's TOML) and the system
# prompt, rendered from the settings. Paths are absolute: the database on the `token-db` volume,
# secrets from each component's own Secret mounted under /run/secrets/<component>. Keys that only
# optional settings need (admins, more servers, alerting) are written only when those are set, and
# admins and alerting only when the gateway reads them (`gatewayReads`).
{ lib, cfg }:
let
  writesAdmins = cfg.gatewayReads.admins;
  writesAlerting = cfg.alerting.enable && cfg.gatewayReads.alerting;
  h = import ./helpers.nix { inherit lib; };
  dbPath = "/var/lib/mcp-gateway/mcp-gateway.db";
  secret = component: key: "/run/secrets/${component}/${key}";
  channel = name: c: extra: lib.optionalString c.enable (''

    [channels.${name}]
    ${extra}policy = "${c.policy}"
    allow_from = ${h.toTomlList c.allowFrom}
  '' + lib.optionalString (writesAdmins && c.admins != [ ]) ''
    admins = ${h.toTomlList c.admins}
  '');
  # A `[[servers]]` entry of `settings.servers`.
  serverEntry = name: s: lib.concatStrings (
    [
      "\n[[servers]]\n"
      "name = ${builtins.toJSON name}\n"
      "url = ${builtins.toJSON s.url}\n"
      "auth = ${builtins.toJSON s.auth}\n"
    ]
    ++ lib.optional (s.auth == "bearer") "bearer_token_file = \"${secret "gateway" "server-${name}-token"}\"\n"
    ++ lib.optional (s.allowTools != [ ]) "allow_tools = ${h.toTomlList s.allowTools}\n"
    ++ lib.optional (s.denyTools != [ ]) "deny_tools = ${h.toTomlList s.denyTools}\n"
    ++ lib.optional (s.coreTools != [ ]) "core_tools = ${h.toTomlList s.coreTools}\n"
    ++ lib.optional (s.keywords != [ ]) "keywords = ${h.toTomlList s.keywords}\n"
    ++ lib.optional (s.timeoutSecs != null) "timeout_secs = ${toString s.timeoutSecs}\n"
  );
  mcpServer = { section, component, port, host }: ''
    [store]
    path = "${dbPath}"
    seal_key_file = "${secret component "seal.key"}"
    # The secret volume is mounted 0440 for the pod's own group.
    seal_key_group_readable = true

    [${section}]
    listen = "0.0.0.0:${toString port}"
    public_url = "https://${host}"
    client_id_file = "${secret component "client-id"}"
    client_secret_file = "${secret component "client-secret"}"
    allowed_hosts = ["${component}", "${component}:${toString port}", "${component}.${cfg.namespace}.svc", "${component}.${cfg.namespace}.svc:${toString port}"]
  '';
in
{
  inherit dbPath writesAlerting;
  files = {
    "gateway.toml" = ''
      [model]
      provider = "ollama"
      base_url = "http://ollama:11434"
      name = "${cfg.model.name}"
      num_ctx = ${toString cfg.model.numCtx}
    ''
    # The gateway's default is one request at a time, Ollama's default slot count.
    + lib.optionalString (cfg.model.numParallel > 1) ''
      parallel = ${toString cfg.model.numParallel}
    ''
    + ''

      [store]
      path = "${dbPath}"
      seal_key_file = "${secret "gateway" "seal.key"}"
      # The secret volume is mounted 0440 for the pod's own group.
      seal_key_group_readable = true

      [agent]
      system_prompt_file = "/etc/mcp-gateway/soul.md"
      time_zone = "${cfg.timeZone}"

      [[servers]]
      name = "notion"
      url = "http://notion-mcp:8000/mcp"
      auth = "oauth"

      [[servers]]
      name = "gcal"
      url = "http://gcal-mcp:8001/mcp"
      auth = "oauth"
    ''
    + lib.concatStrings (lib.mapAttrsToList serverEntry cfg.servers)
    + ''

      [http]
      listen = "0.0.0.0:18789"
      public_url = "https://${cfg.publicHosts.gateway}"
    ''
    + channel "telegram" cfg.channels.telegram ''
      token_file = "${secret "gateway" "telegram-bot-token"}"
    ''
    + channel "slack" cfg.channels.slack ''
      app_token_file = "${secret "gateway" "slack-app-token"}"
      bot_token_file = "${secret "gateway" "slack-bot-token"}"
    ''
    + lib.optionalString writesAlerting ''

      [alerting]
      webhook_token_file = "${secret "gateway" "alertmanager-token"}"
    '';
    "notion-mcp.toml" = mcpServer {
      section = "notion_mcp";
      component = "notion-mcp";
      port = 8000;
      host = cfg.publicHosts.notionMcp;
    };
    "gcal-mcp.toml" = mcpServer {
      section = "gcal_mcp";
      component = "gcal-mcp";
      port = 8001;
      host = cfg.publicHosts.gcalMcp;
    };
    # The backup needs only the database: no secrets are mounted into it.
    "backup.toml" = ''
      [store]
      path = "${dbPath}"
    '';
    "soul.md" = cfg.systemPrompt;
  };
}

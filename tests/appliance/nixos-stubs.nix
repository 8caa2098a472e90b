# Stand-ins for the nixpkgs NixOS options that modules/nixos sets, so that the module's logic can
# be evaluated with `lib.evalModules` and nixpkgs' lib alone. Each namespace is a freeform
# submodule (any nested definition is accepted; mkIf/mkDefault/mkMerge work at every depth);
# options whose merging the tests depend on (lists several modules define, enums, nullables) are
# declared with their real nixpkgs types.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  ff = types.lazyAttrsOf types.anything;
  ns = opts: mkOption {
    type = types.submodule { freeformType = ff; options = opts; };
    default = { };
  };
  list = t: mkOption { type = types.listOf t; default = [ ]; };
in
{
  options = {
    # `services` itself stays a set of options, as in NixOS: as one freeform option it would make
    # the module's `mkIf config.services.mcp-gateway.enable` depend on itself.
    services = {
      k3s = ns {
        enable = mkOption { type = types.bool; default = false; };
        role = mkOption { type = types.enum [ "server" "agent" ]; default = "server"; };
        extraFlags = mkOption { type = with types; either str (listOf str); default = [ ]; };
        images = list types.package;
        manifests = mkOption { type = types.attrsOf (types.submodule { freeformType = ff; }); default = { }; };
        autoDeployCharts = mkOption { type = types.attrsOf (types.submodule { freeformType = ff; }); default = { }; };
      };
      xserver = ns { videoDrivers = list types.str; };
      openssh = ns { };
    };
    hardware = ns {
      nvidia = ns { open = mkOption { type = types.nullOr types.bool; default = null; }; };
    };
    networking = ns {
      firewall = ns {
        allowedTCPPorts = list types.port;
        trustedInterfaces = list types.str;
      };
    };
    systemd = ns {
      services = mkOption {
        type = types.attrsOf (types.submodule {
          freeformType = ff;
          options = {
            path = list types.unspecified;
            wantedBy = list types.str;
            wants = list types.str;
            before = list types.str;
            after = list types.str;
          };
        });
        default = { };
      };
    };
    time = ns { timeZone = mkOption { type = types.nullOr types.str; default = null; }; };
    boot = ns { };
    environment = ns { systemPackages = list types.package; };
    # What the example host sets besides the module's options.
    nixpkgs = ns { };
    fileSystems = ns { };
    system = ns { };
    assertions = list types.unspecified;
    warnings = list types.str;
  };
}

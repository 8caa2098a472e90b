# OCI image tarballs (dockerTools.buildLayeredImage): one per process of the one binary, tagged
# with the package version (never `latest`), non-root, with CA certificates; and Ollama from
# nixpkgs' `ollama-cuda`. k3s imports them from services.k3s.images.
{ pkgs, lib, mcp-gateway, ollama ? pkgs.ollama-cuda }:
let
  caBundle = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
  user = "65534:65534";
  forRole = name: role: pkgs.dockerTools.buildLayeredImage {
    inherit name;
    tag = mcp-gateway.version;
    contents = [ mcp-gateway pkgs.cacert ];
    extraCommands = "mkdir -p -m 1777 tmp";
    config = {
      Entrypoint = [ "/bin/mcp-gateway" role ];
      Env = [
        "SSL_CERT_FILE=${caBundle}"
        "HOME=/tmp"
        # `kubectl exec ... -- mcp-gateway ...` finds the binary without its full path.
        "PATH=/bin"
      ];
      User = user;
      Labels."org.opencontainers.image.version" = mcp-gateway.version;
    };
  };
in
{
  gateway = forRole "mcp-gateway" "serve";
  notion-mcp = forRole "notion-mcp" "notion-mcp";
  gcal-mcp = forRole "gcal-mcp" "gcal-mcp";
  ollama = pkgs.dockerTools.buildLayeredImage {
    name = "ollama-cuda";
    tag = ollama.version;
    # /bin/ollama, so that `kubectl exec deploy/ollama -- ollama ps` works.
    contents = [ pkgs.cacert ollama ];
    extraCommands = "mkdir -p -m 1777 tmp models";
    config = {
      Entrypoint = [ (lib.getExe ollama) ];
      Cmd = [ "serve" ];
      Env = [
        "SSL_CERT_FILE=${caBundle}"
        "HOME=/tmp"
        "PATH=/bin"
        "OLLAMA_HOST=0.0.0.0:11434"
        "OLLAMA_MODELS=/models"
        # libcuda comes from the host driver, mounted by the CDI spec under /run/opengl-driver;
        # the ollama wrapper already looks there.
        "NVIDIA_VISIBLE_DEVICES=all"
        "NVIDIA_DRIVER_CAPABILITIES=compute,utility"
      ];
      ExposedPorts."11434/tcp" = { };
      User = user;
    };
  };
}

{
  description = "mcp-gateway: a self-hosted AI assistant appliance (binary, OCI images, k3s manifests, NixOS module)";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    # 0.23.x is the last crane line that supports nixpkgs 25.11.
    crane.url = "github:ipetkov/crane/v0.23.4";
    # The Rust toolchain of nix/toolchain.nix: nixpkgs 25.11's rustc is older than `rust-version`.
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    kubenix = {
      url = "github:hall/kubenix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    nixhelm = {
      url = "github:nix-community/nixhelm";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  nixConfig = {
    extra-substituters = [ "https://crane.cachix.org" "https://nixhelm.cachix.org" ];
    extra-trusted-public-keys = [
      "crane.cachix.org-1:8Scfpmn9w+hGdXH/Q9tTLiYAE/2dnJYRJP7kl80GuRk="
      "nixhelm.cachix.org-1:esqauAsR4opRF0UsGrA6H3gD21OrzMnBBYvJXeddjtY="
    ];
  };

  outputs =
    { self, nixpkgs, crane, rust-overlay, kubenix, nixhelm, ... }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f system);

      # The NVIDIA driver and CUDA (ollama-cuda) are unfree: nix/unfree.nix allows exactly those,
      # here and on the hosts (hosts/example).
      unfree = import ./nix/unfree.nix { inherit lib; };
      pkgsFor = system: import nixpkgs {
        inherit system;
        config.allowUnfreePredicate = unfree.predicate;
      };
      toolchain = import ./nix/toolchain.nix;

      # Everything built from one package set: the crane package, its checks and the images.
      buildFor = pkgs:
        let
          craneLib = (crane.mkLib pkgs).overrideToolchain
            (p: (rust-overlay.lib.mkRustBin { } p).stable.${toolchain.rust}.default);
          package = import ./nix/package.nix { inherit lib pkgs craneLib; };
        in
        {
          inherit craneLib;
          inherit (package) mcp-gateway checks;
          images = import ./nix/images.nix { inherit pkgs lib; inherit (package) mcp-gateway; };
        };

      # The Kubernetes objects (pure: nixpkgs lib + the kubenix source).
      renderManifests = settings: import ./nix/manifests.nix { inherit lib settings; kubenixSrc = kubenix.outPath; };
      defaultObjects = renderManifests { };
      # modules/k8s/examples/NAME.nix: the settings of the overlay k8s-generated/examples/NAME.
      exampleObjects = lib.mapAttrs' (file: _: lib.nameValuePair (lib.removeSuffix ".nix" file)
        (renderManifests (import (./modules/k8s/examples + "/${file}"))))
        (builtins.readDir ./modules/k8s/examples);
    in
    {
      nixosModules.default = { pkgs, ... }: {
        imports = [ ./modules/nixos ];
        services.mcp-gateway = {
          renderManifests = renderManifests;
          imagePackages = lib.mkDefault (buildFor pkgs).images;
          monitoring.charts = lib.mkDefault (
            let charts = nixhelm.charts { inherit pkgs; };
            in {
              kube-prometheus-stack = charts.prometheus-community.kube-prometheus-stack;
              loki = charts.grafana.loki;
              promtail = charts.grafana.promtail;
            }
          );
        };
      };

      nixosConfigurations.example = lib.nixosSystem {
        modules = [
          self.nixosModules.default
          ./hosts/example/configuration.nix
        ];
      };

      packages = forAllSystems (system:
        let
          pkgs = pkgsFor system;
          built = buildFor pkgs;
        in
        {
          default = built.mcp-gateway;
          inherit (built) mcp-gateway;
          # `nix build .#images`: the image tarballs, one per component.
          images = pkgs.linkFarm "mcp-gateway-images" (lib.mapAttrsToList (name: image: { name = "${name}.tar.gz"; path = image; }) built.images);
          image-gateway = built.images.gateway;
          image-notion-mcp = built.images.notion-mcp;
          image-gcal-mcp = built.images.gcal-mcp;
          image-ollama = built.images.ollama;
          # `nix build .#manifests`: the objects as JSON; `.#manifests-yaml`: k8s-generated/ as built.
          manifests = pkgs.writeText "mcp-gateway-manifests.json" (builtins.toJSON defaultObjects);
          manifests-yaml = pkgs.runCommand "mcp-gateway-manifests-yaml"
            {
              nativeBuildInputs = [ (pkgs.python3.withPackages (ps: [ ps.pyyaml ])) ];
              objects = builtins.toJSON defaultObjects;
              passAsFile = [ "objects" ];
            }
            ''python3 ${./nix/manifests-yaml.py} write $out < "$objectsPath"'';
        });

      checks = forAllSystems (system:
        let
          pkgs = pkgsFor system;
          built = buildFor pkgs;
          pins = import ./nix/pins.nix;
        in
        built.checks
        // {
          manifests-in-sync = import ./nix/manifests-check.nix { inherit pkgs; objects = defaultObjects; examples = exampleObjects; };
          module-unit-tests = import ./nix/module-tests.nix { inherit pkgs lib; };
          # The toolchain satisfies rust-version, every embedded file is in the crane source, the
          # crane argument strings repeat no flag, one unfree definition (with the real crane).
          flake-unit-tests = import ./nix/module-tests.nix {
            inherit pkgs lib;
            tests = import ./tests/appliance/flake-checks.nix {
              inherit lib pkgs;
              craneLib = built.craneLib;
              rustBin = rust-overlay.lib.mkRustBin { } pkgs;
            };
            name = "mcp-gateway-flake-unit-tests";
          };
          # k8s-generated names the Ollama image by nix/pins.nix; it must be the version nixpkgs builds.
          image-pins =
            if pkgs.ollama-cuda.version == pins.ollama then
              pkgs.runCommand "mcp-gateway-image-pins" { } "touch $out"
            else
              throw "nix/pins.nix: ollama = \"${pins.ollama}\" but nixpkgs builds ollama-cuda ${pkgs.ollama-cuda.version}; update the pin and run nix/render-manifests.sh";
          # The whole example host evaluates (real option types, defaults and assertions).
          example-host = pkgs.runCommand "mcp-gateway-example-host"
            { toplevel = builtins.unsafeDiscardStringContext self.nixosConfigurations.example.config.system.build.toplevel.drvPath; }
            "touch $out";
        }
        // lib.optionalAttrs (system == "x86_64-linux") {
          vm-test = import ./nix/vm-test.nix {
            inherit pkgs lib;
            module = self.nixosModules.default;
            images = lib.removeAttrs built.images [ "ollama" ];
          };
        });

      devShells = forAllSystems (system:
        let
          pkgs = pkgsFor system;
          built = buildFor pkgs;
        in
        {
          default = built.craneLib.devShell {
            checks = built.checks;
            packages = [
              pkgs.cargo-nextest
              pkgs.kubectl
              pkgs.kubernetes-helm
              pkgs.kustomize
              pkgs.nixfmt-tree
              (pkgs.python3.withPackages (ps: [ ps.pyyaml ]))
            ];
          };
        });

      formatter = forAllSystems (system: (pkgsFor system).nixfmt-tree);
    };
}

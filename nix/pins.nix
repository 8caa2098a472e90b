# Versions of images that the manifests name but that are not built from this repository's
# sources. `ollama` must equal nixpkgs' `ollama-cuda.version` (the flake check `image-pins`
# fails with the right value when the nixpkgs pin moves); the others are upstream tags.
{
  ollama = "0.12.11";
  ollamaUpstream = "0.12.11";
  devicePlugin = "v0.17.1";
  dcgmExporter = "4.2.3-4.1.3-ubuntu22.04";
}

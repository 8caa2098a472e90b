#!/usr/bin/env python3
"""Runs the scripts of mcp-gateway-secrets.service in a temporary root and checks what they write.

    nix-instantiate --eval --strict --json tests/appliance/nixos-module.nix \\
      --arg lib "import <nixpkgs-lib>/lib" -A secretScripts | secrets_script.py

Each script (by name, as JSON on stdin) runs with its absolute host paths moved under a fresh
folder, every host secret file it reads holding a distinct placeholder. It must write k3s's
manifest of Secrets (mode 0600, no temporary file left) whose every key decodes to exactly the
file the script names for it, valid against the Kubernetes 1.33 schemas. A token the script
generates (under /var/lib/mcp-gateway) must be 64 hex characters, 0600 in a 0700 folder, and kept
by a second run. With one host file missing, the script must fail naming it and leave the last
manifest as it was. Exits 1 naming each failure.
"""
import base64
import json
import os
import pathlib
import re
import stat
import subprocess
import sys
import tempfile

import kubernetes_validate
import yaml

MOVED = ("/run/secrets/", "/var/lib/", "/nix/store/")
GENERATED = "/var/lib/mcp-gateway/"
MANIFEST = "/var/lib/rancher/k3s/server/manifests/mcp-gateway-secrets.yaml"
READS = re.compile(r"^test -r (\S+) \|\|", re.M)
NAME = re.compile(r'^  echo "  name: (\S+)"$', re.M)
KEY = re.compile(r"""^printf '  %s: %s\\n' (\S+) "\$\(base64 -w0 < (\S+)\)"$""", re.M)


def unquote(word):
    return word[1:-1] if word.startswith("'") and word.endswith("'") else word


def expected_keys(script):
    """{secret name: {key: host path}} as the script writes them."""
    secrets = {}
    names = list(NAME.finditer(script))
    for i, match in enumerate(names):
        end = names[i + 1].start() if i + 1 < len(names) else len(script)
        secrets[match.group(1)] = {
            unquote(k.group(1)): unquote(k.group(2)) for k in KEY.finditer(script, match.end(), end)
        }
    return secrets


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def check(name, script):
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        moved = script
        for prefix in MOVED:
            moved = moved.replace(prefix, f"{root}{prefix}")
        run = lambda: subprocess.run(["bash", "-c", moved], capture_output=True, text=True)  # noqa: E731
        host_files = sorted({unquote(p) for p in READS.findall(script)})
        for path in host_files:
            if path.startswith(GENERATED):
                continue
            file = root / path.lstrip("/")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(f"value of {path}\n")
        result = run()
        if result.returncode != 0:
            return [f"{name}: the script failed: {result.stderr.strip()}"]
        manifest = root / MANIFEST.lstrip("/")
        if mode(manifest) != 0o600:
            problems.append(f"{name}: the manifest has mode {oct(mode(manifest))}, not 0600")
        leftovers = [p.name for p in manifest.parent.iterdir() if p != manifest]
        if leftovers:
            problems.append(f"{name}: files left beside the manifest: {leftovers}")
        docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d is not None]
        written = {d["metadata"]["name"]: d for d in docs}
        expected = expected_keys(script)
        if set(written) != set(expected) or not expected:
            problems.append(f"{name}: Secrets {sorted(written)} written, {sorted(expected)} expected")
        for secret, keys in expected.items():
            doc = written.get(secret, {})
            data = doc.get("data", {})
            if set(data) != set(keys):
                problems.append(f"{name}: Secret {secret} has keys {sorted(data)}, not {sorted(keys)}")
            for key, path in keys.items():
                want = (root / path.lstrip("/")).read_bytes()
                if key in data and base64.b64decode(data[key]) != want:
                    problems.append(f"{name}: {secret}.{key} is not the content of {path}")
            try:
                kubernetes_validate.validate(doc, "1.33.0", strict=True)
            except kubernetes_validate.ValidationError as e:
                problems.append(f"{name}: Secret {secret} is invalid: {e.message}")
        generated = [p for p in host_files if p.startswith(GENERATED)]
        for path in generated:
            token = root / path.lstrip("/")
            value = token.read_text()
            if not re.fullmatch(r"[0-9a-f]{64}", value):
                problems.append(f"{name}: the generated {path} is {len(value)} characters, not 64 hex")
            if mode(token) != 0o600 or mode(token.parent) != 0o700:
                problems.append(f"{name}: {path} has mode {oct(mode(token))} in a folder of {oct(mode(token.parent))}")
            before = manifest.read_bytes()
            again = run()
            if again.returncode != 0 or token.read_text() != value or manifest.read_bytes() != before:
                problems.append(f"{name}: a second run did not keep {path} and the manifest")
        # A missing host file: a clear failure, and the last manifest stays.
        others = [p for p in host_files if not p.startswith(GENERATED)]
        if others:
            before = manifest.read_bytes()
            (root / others[0].lstrip("/")).unlink()
            failed = run()
            if failed.returncode == 0 or f"secret file {root}{others[0]} is missing" not in failed.stderr:
                problems.append(f"{name}: without {others[0]} the script did not fail naming it: {failed.stderr.strip()}")
            if manifest.read_bytes() != before or len(list(manifest.parent.iterdir())) != 1:
                problems.append(f"{name}: a failed run changed the manifest or left files beside it")
        count = sum(len(k) for k in expected.values())
        if not problems:
            print(f"secrets script {name}: {len(expected)} Secrets, {count} keys from their files"
                  + (f", {len(generated)} token generated and kept" if generated else ""))
    return problems


def main():
    scripts = json.load(sys.stdin)
    problems = []
    for name, script in sorted(scripts.items()):
        problems += check(name, script)
    for problem in problems:
        print(f"FAIL {problem}")
    return 1 if problems or not scripts else 0


if __name__ == "__main__":
    sys.exit(main())

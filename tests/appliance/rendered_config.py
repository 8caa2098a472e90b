#!/usr/bin/env python3
"""Runs `mcp-gateway check-config` on every configuration file the rendered objects hold.

    rendered_config.py BINARY DIR             the ConfigMap mcp-gateway-config of DIR's objects
    rendered_config.py BINARY --objects FILE  the same, from a JSON list of objects (a render)

The files are laid out as the containers see them, under a temporary root: the ConfigMap's keys
in /etc/mcp-gateway, every secret a `*_file` key names (as the Secret mounted under
/run/secrets/<component> provides it) with a placeholder, and the database folder. Absolute paths
in the files are moved under that root. Exits 1 naming each file check-config refuses.
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import tomllib

import yaml

ROOTS = ("/etc/mcp-gateway/", "/run/secrets/", "/var/lib/mcp-gateway/")


def config_map(objects):
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and obj.get("metadata", {}).get("name") == "mcp-gateway-config":
            return obj.get("data", {})
    sys.exit("no ConfigMap mcp-gateway-config among the objects")


def load_dir(directory):
    directory = pathlib.Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects = []
    for name in kustomization["resources"]:
        objects.extend(d for d in yaml.safe_load_all((directory / name).read_text()) if d is not None)
    return objects


def secret_paths(value, key=""):
    """Every value of a `*_file` key, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from secret_paths(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from secret_paths(v, key)
    elif isinstance(value, str) and key.endswith("_file"):
        yield value


def main(argv):
    if len(argv) == 3 and argv[1] == "--objects":
        objects = json.loads(pathlib.Path(argv[2]).read_text())
    elif len(argv) == 2:
        objects = load_dir(argv[1])
    else:
        print(__doc__)
        return 2
    binary = argv[0]
    data = config_map(objects)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        moved = {k: v for k, v in data.items()}
        for prefix in ROOTS:
            for k in moved:
                moved[k] = moved[k].replace(f'"{prefix}', f'"{root}{prefix}')
        etc = root / "etc/mcp-gateway"
        etc.mkdir(parents=True)
        (root / "var/lib/mcp-gateway").mkdir(parents=True)
        for k, v in moved.items():
            (etc / k).write_text(v)
        tomls = sorted(k for k in data if k.endswith(".toml"))
        for name in tomls:
            parsed = tomllib.loads(moved[name])
            for path in secret_paths(parsed):
                p = pathlib.Path(path)
                if not str(p).startswith(str(root)):
                    print(f"FAIL {name}: secret file {path} is outside the mounted folders {ROOTS}")
                    failures += 1
                    continue
                if not p.exists():
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_text("0" * 64 + "\n" if p.name == "seal.key" else "placeholder\n")
            result = subprocess.run([binary, "check-config", "--config", str(etc / name)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                failures += 1
                print(f"FAIL check-config {name}:\n{result.stderr.strip()}")
        print(f"check-config on the rendered {', '.join(tomls)}: {len(tomls) - failures} ok, {failures} refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

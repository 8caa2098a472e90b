#!/usr/bin/env python3
"""Checks flake.lock against flake.nix and, where a source tree is at hand, against the source.

    flake_lock.py [--kubenix DIR]     exits 1 naming every problem
    flake_lock.py --self-test         shows that each check fails on a lock that breaks it

Without network Nix cannot lock the flake, so this stands in for `nix flake metadata`:
- the lock is version 7 and every node is reachable from `root`; every input names a node, or a
  `follows` path that resolves from `root`;
- `root`'s inputs are exactly flake.nix's inputs; each one's `original` is its URL (github owner,
  repo and ref), and each `inputs.X.follows` of flake.nix is that path in the lock;
- every GitHub node is locked to a 40-hex revision with a `lastModified` time and a `narHash` in
  SRI form (`sha256-` and the base64 of 32 bytes), and `original` names the same repository;
- with --kubenix DIR (the kubenix source at the locked revision): the NAR hash of DIR, computed
  with `nix-hash`, is the lock's narHash, and kubenix's own flake.lock pins the inputs we take from
  it exactly as ours does (Nix copies an input's locked inputs unless they follow ours).
"""
import base64
import copy
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"


def nix32_decode(text):
    """Decodes Nix's base-32 (the alphabet above, least significant digit last)."""
    size = len(text) * 5 // 8
    out = bytearray(size)
    for n, char in enumerate(reversed(text)):
        digit = NIX32.index(char)
        bit = n * 5
        i, j = divmod(bit, 8)
        out[i] |= (digit << j) & 0xFF
        if i + 1 < size:
            out[i + 1] |= digit >> (8 - j)
    return bytes(out)


def nar_hash_sri(path):
    """The NAR hash of a directory in the SRI form flake.lock uses."""
    out = subprocess.run(["nix-hash", "--type", "sha256", "--base32", str(path)], check=True,
                         capture_output=True, text=True).stdout.strip()
    return "sha256-" + base64.b64encode(nix32_decode(out)).decode()


def flake_inputs():
    """flake.nix's inputs, evaluated (the file is a plain attribute set)."""
    out = subprocess.run(["nix-instantiate", "--eval", "--strict", "--json", "--expr",
                          f"(import {ROOT}/flake.nix).inputs"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def parse_url(url):
    m = re.fullmatch(r"github:([^/]+)/([^/?]+)(?:/([^?]+))?", url)
    if not m:
        return None
    original = {"type": "github", "owner": m.group(1), "repo": m.group(2)}
    if m.group(3):
        original["ref"] = m.group(3)
    return original


def resolve(nodes, path):
    """The node a follows path (input names from root) leads to, or None."""
    node = "root"
    for name in path:
        ref = nodes.get(node, {}).get("inputs", {}).get(name)
        if ref is None:
            return None
        node = resolve(nodes, ref) if isinstance(ref, list) else ref
        if node is None:
            return None
    return node


def check(lock, inputs):
    problems = []
    if lock.get("version") != 7:
        problems.append(f"version is {lock.get('version')!r}, not 7")
    nodes = lock.get("nodes", {})
    if lock.get("root") not in nodes:
        return problems + ["the root node is missing"]
    reached, todo = set(), ["root"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        for input_name, ref in nodes[name].get("inputs", {}).items():
            if isinstance(ref, list):
                if resolve(nodes, ref) is None:
                    problems.append(f"{name}.inputs.{input_name} follows {ref}, which leads nowhere")
            elif ref not in nodes:
                problems.append(f"{name}.inputs.{input_name} names a missing node {ref!r}")
            else:
                todo.append(ref)
    for name in sorted(set(nodes) - reached):
        problems.append(f"node {name} is not reachable from root")

    root_inputs = nodes["root"].get("inputs", {})
    if sorted(root_inputs) != sorted(inputs):
        problems.append(f"root inputs {sorted(root_inputs)} differ from flake.nix's {sorted(inputs)}")
    for name, spec in inputs.items():
        ref = root_inputs.get(name)
        node = nodes.get(ref) if isinstance(ref, str) else None
        if node is None:
            continue
        want = parse_url(spec.get("url", ""))
        if want is None:
            problems.append(f"flake.nix input {name}: cannot read its URL {spec.get('url')!r}")
        elif node.get("original") != want:
            problems.append(f"{name}: original {node.get('original')} is not flake.nix's {spec.get('url')}")
        for sub, sub_spec in spec.get("inputs", {}).items():
            follows = sub_spec.get("follows")
            if follows is not None and node.get("inputs", {}).get(sub) != follows.split("/"):
                problems.append(f"{name}.inputs.{sub} should follow {follows!r} as flake.nix says, "
                                f"the lock has {node.get('inputs', {}).get(sub)!r}")

    for name, node in sorted(nodes.items()):
        if name == "root":
            continue
        locked = node.get("locked", {})
        if locked.get("type") != "github":
            problems.append(f"{name}: locked type {locked.get('type')!r} is not github")
            continue
        if not re.fullmatch(r"[0-9a-f]{40}", str(locked.get("rev", ""))):
            problems.append(f"{name}: rev {locked.get('rev')!r} is not 40 hex digits")
        if not isinstance(locked.get("lastModified"), int) or locked["lastModified"] < 1e9:
            problems.append(f"{name}: lastModified {locked.get('lastModified')!r} is not a commit time")
        nar = str(locked.get("narHash", ""))
        try:
            ok = nar.startswith("sha256-") and len(base64.b64decode(nar[7:], validate=True)) == 32
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"{name}: narHash {nar!r} is not sha256- and 32 bytes of base64")
        original = node.get("original", {})
        if original.get("type") == "github" and (original.get("owner"), original.get("repo")) != (
                locked.get("owner"), locked.get("repo")):
            problems.append(f"{name}: locked {locked.get('owner')}/{locked.get('repo')} is not "
                            f"the original {original.get('owner')}/{original.get('repo')}")
    return problems


def check_source(lock, name, tree):
    """The lock's entry for root input `name` against its source tree at the locked revision."""
    problems = []
    nodes = lock["nodes"]
    node_name = nodes["root"]["inputs"][name]
    node = nodes[node_name]
    got = nar_hash_sri(tree)
    if got != node["locked"]["narHash"]:
        problems.append(f"{name}: narHash {node['locked']['narHash']} but {tree} hashes to {got}")
    own_lock = pathlib.Path(tree) / "flake.lock"
    if own_lock.exists():
        own = json.loads(own_lock.read_text())["nodes"]
        for sub, ref in node.get("inputs", {}).items():
            if isinstance(ref, list):
                continue  # follows one of ours
            theirs = own.get(own["root"]["inputs"].get(sub, ""), {})
            if theirs.get("locked") != nodes[ref].get("locked"):
                problems.append(f"{name}.inputs.{sub}: locked {nodes[ref].get('locked')} but "
                                f"{name}'s own flake.lock has {theirs.get('locked')}")
    return problems


def self_test(lock, inputs):
    assert not check(lock, inputs), check(lock, inputs)

    def node(lk, name):
        return lk["nodes"][name]

    mutations = {
        "short rev": (lambda lk: node(lk, "crane")["locked"].update(rev="10e6e3cb"), "is not 40 hex digits"),
        "hex narHash": (lambda lk: node(lk, "rust-overlay")["locked"].update(narHash="sha256:0aa18jbq"),
                        "is not sha256- and 32 bytes"),
        "missing input": (lambda lk: node(lk, "root")["inputs"].pop("rust-overlay"), "differ from flake.nix"),
        "dangling node": (lambda lk: node(lk, "root")["inputs"].update(crane="crane_9"), "missing node"),
        "follows lost": (lambda lk: node(lk, "rust-overlay")["inputs"].update(nixpkgs="nixpkgs"),
                         "should follow 'nixpkgs'"),
        "wrong ref": (lambda lk: node(lk, "crane")["original"].update(ref="v0.22.0"), "is not flake.nix's"),
        "bad follows": (lambda lk: node(lk, "kubenix")["inputs"].update(nixpkgs=["nixpkgs-unstable"]),
                        "leads nowhere"),
    }
    failed = []
    for label, (mutate, expected) in mutations.items():
        lk = copy.deepcopy(lock)
        mutate(lk)
        if not any(expected in p for p in check(lk, inputs)):
            failed.append(f"{label}: expected a problem containing {expected!r}, got {check(lk, inputs)}")
    if failed:
        print("flake.lock self-test FAILED:\n  " + "\n  ".join(failed))
        return 1
    print(f"flake.lock self-test: {len(mutations)} broken locks each rejected")
    return 0


def main(argv):
    lock = json.loads((ROOT / "flake.lock").read_text())
    inputs = flake_inputs()
    if argv == ["--self-test"]:
        return self_test(lock, inputs)
    problems = check(lock, inputs)
    checked = "structure"
    if len(argv) == 2 and argv[0] == "--kubenix":
        problems += check_source(lock, "kubenix", argv[1])
        checked += ", kubenix narHash and its inputs against the source"
    elif argv:
        print(__doc__)
        return 2
    for p in problems:
        print(f"FLAKE.LOCK {p}")
    print(f"flake.lock: {len(lock['nodes'])} nodes, {checked}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

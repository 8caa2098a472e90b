#!/usr/bin/env python3
"""Validates every document of the given files against the Kubernetes 1.33 schemas
(kubernetes-validate, strict: unknown fields are errors).

kubernetes-validate ships only the core API's schemas. The custom resources below (from the
Prometheus operator's CRDs) have none there; they are listed here, reported as skipped, and
checked structurally by policy.py instead. Any other kind without a schema is a failure.
"""
import sys

import kubernetes_validate
import yaml

VERSION = "1.33.0"
CRD_KINDS_WITHOUT_SCHEMA = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


def main(paths):
    failures = 0
    checked = 0
    skipped = []
    for path in paths:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            name = f"{path}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
            if (doc.get("apiVersion"), doc.get("kind")) in CRD_KINDS_WITHOUT_SCHEMA:
                skipped.append(name)
                continue
            try:
                kubernetes_validate.validate(doc, VERSION, strict=True)
                checked += 1
            except kubernetes_validate.ValidationError as e:
                failures += 1
                print(f"INVALID {name}: {e.message} at {'/'.join(str(p) for p in e.path)}")
            except kubernetes_validate.SchemaNotFoundError as e:
                failures += 1
                print(f"NO SCHEMA {name}: {e}; add a schema or list the CRD kind explicitly")
    for name in skipped:
        print(f"skipped (custom resource, no schema in kubernetes-validate; checked by policy.py): {name}")
    print(f"kubernetes {VERSION}: {checked} documents valid, {len(skipped)} custom resources skipped, {failures} failures")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

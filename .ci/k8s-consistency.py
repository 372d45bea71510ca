#!/usr/bin/env python3
"""What schema validation cannot see in one rendering of deploy/k8s: that its
objects find each other and hold what the API server would refuse. Every
Service, PodDisruptionBudget and HorizontalPodAutoscaler reaches a
Deployment's pods, every Deployment selects its own pods, every container has
its three probes and resources that are quantities with requests within
limits, and every ConfigMap or Secret a container reads (unless optional), and
every Ingress backend, exists.

    k8s-consistency.py RENDERED.yaml [--external NAME]...

--external names a Secret the rendering expects to be made apart from it.
"""

import argparse
import re
import sys

import yaml


SUFFIXES = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value) -> float:
    """A resource quantity as a number (the forms we use: 500m, 2, 64Mi, 1G)."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)", str(value))
    if not match or match[2] not in SUFFIXES:
        raise ValueError(f"{value!r} is not a resource quantity")
    return float(match[1]) * SUFFIXES[match[2]]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered")
    parser.add_argument("--external", action="append", default=[])
    args = parser.parse_args()
    with open(args.rendered) as file:
        objects = [doc for doc in yaml.safe_load_all(file) if doc]
    named = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    pods = {
        name: d["spec"]["template"]["metadata"].get("labels", {})
        for (kind, name), d in named.items()
        if kind == "Deployment"
    }
    errors = []

    def selected(selector):
        return [
            name
            for name, labels in pods.items()
            if selector and all(labels.get(key) == value for key, value in selector.items())
        ]

    for (kind, name), o in named.items():
        spec = o.get("spec", {})
        where = f"{kind} {name}"
        if kind == "Deployment":
            if name not in selected(spec["selector"].get("matchLabels")):
                errors.append(f"{where}: its selector does not match its own pods")
            for container in spec["template"]["spec"]["containers"]:
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    if probe not in container:
                        errors.append(f"{where}: container {container['name']} has no {probe}")
                resources = container.get("resources", {})
                for resource in ("cpu", "memory"):
                    request = resources.get("requests", {}).get(resource)
                    limit = resources.get("limits", {}).get(resource)
                    if request is None or limit is None:
                        errors.append(f"{where}: container {container['name']} lacks a {resource} request or limit")
                        continue
                    try:
                        request, limit = quantity(request), quantity(limit)
                    except ValueError as error:
                        errors.append(f"{where}: container {container['name']} {resource}: {error}")
                        continue
                    if request > limit:
                        errors.append(f"{where}: container {container['name']} requests more {resource} than its limit")
                for env in container.get("env", []):
                    for ref_kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                        ref = env.get("valueFrom", {}).get(field)
                        if not ref or ref.get("optional") or ref["name"] in args.external:
                            continue
                        source = named.get((ref_kind, ref["name"]))
                        if source is None:
                            errors.append(f"{where}: {env['name']} reads {ref_kind} {ref['name']}, which is not there")
                        elif ref["key"] not in {**source.get("data", {}), **source.get("stringData", {})}:
                            errors.append(f"{where}: {env['name']} reads key {ref['key']}, which {ref_kind} {ref['name']} lacks")
        elif kind == "Service" and not selected(spec.get("selector")):
            errors.append(f"{where}: its selector matches no Deployment's pods")
        elif kind == "PodDisruptionBudget" and not selected(spec["selector"].get("matchLabels")):
            errors.append(f"{where}: its selector matches no Deployment's pods")
        elif kind == "HorizontalPodAutoscaler":
            target = spec["scaleTargetRef"]
            if (target["kind"], target["name"]) not in named:
                errors.append(f"{where}: scales {target['kind']} {target['name']}, which is not there")
        elif kind == "Ingress":
            for rule in spec.get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    backend = path["backend"]["service"]
                    service = named.get(("Service", backend["name"]))
                    if service is None:
                        errors.append(f"{where}: its backend Service {backend['name']} is not there")
                        continue
                    ports = [(p.get("name"), p["port"]) for p in service["spec"]["ports"]]
                    wanted = backend["port"]
                    if not any(
                        wanted.get("name", port_name) == port_name and wanted.get("number", port) == port
                        for port_name, port in ports
                    ):
                        errors.append(f"{where}: Service {backend['name']} has no port {wanted}")

    for error in errors:
        print(f"ERROR {args.rendered}: {error}")
    print(f"{args.rendered}: {len(objects)} objects, {len(errors)} problems")
    return 1 if errors or not objects else 0


if __name__ == "__main__":
    sys.exit(main())

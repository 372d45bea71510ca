#!/usr/bin/env python3
"""What promtool cannot see: that the alert rules and the Grafana dashboard in
deploy/observability name only series the services record. The recorded
names are read from the Rust sources (`metrics::counter!("name"`, `gauge!`,
`histogram!`; a histogram also gives `_bucket`, `_sum` and `_count`), and
every metric an expression names must be one of them. The dashboard must
also be valid JSON whose panels each have a query.

    observability-consistency.py REPO_ROOT
"""

import json
import pathlib
import re
import sys

import yaml

RECORDED = re.compile(r'\b(counter|gauge|histogram)!\(\s*"([a-z_][a-z0-9_]*)"')
# PromQL words that look like metric names.
NOT_METRICS = {"histogram_quantile", "label_values", "rate", "sum", "max", "by", "on", "le"}


def recorded(root: pathlib.Path) -> set[str]:
    names = set()
    for source in root.glob("*/src/**/*.rs"):
        for kind, name in RECORDED.findall(source.read_text()):
            names.add(name)
            if kind == "histogram":
                names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    return names


def named(expr: str) -> set[str]:
    """The metrics an expression reads: its identifiers outside label
    matchers, grouping clauses, strings and template variables."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|on|without|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\w+", "", expr)
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", expr))
    return {word for word in words if "_" in word and word not in NOT_METRICS}


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    known = recorded(root)
    if not known:
        print("no metrics found in the sources", file=sys.stderr)
        return 1
    problems = []
    rules = yaml.safe_load((root / "deploy/observability/alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            for metric in sorted(named(rule["expr"]) - known):
                problems.append(f"alert {rule['alert']}: {metric} is not recorded")
    dashboard = json.loads((root / "deploy/observability/grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        if not panel.get("targets"):
            problems.append(f"panel {panel['title']!r} has no query")
        for target in panel.get("targets", []):
            for metric in sorted(named(target["expr"]) - known):
                problems.append(f"panel {panel['title']!r}: {metric} is not recorded")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

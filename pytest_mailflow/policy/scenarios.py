"""Scenarios: named sets of rules with default expectations, read from the rule pack (``policies/``).

``custom`` is built in: it applies exactly the rules a domain lists under ``rules:``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

CUSTOM = "custom"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    rules: tuple[str, ...]
    expect: dict[str, Any] = field(default_factory=dict)
    #: params.* paths the scenario cannot do without (see docs/scenarios.md).
    required_params: tuple[str, ...] = ()


@functools.cache
def scenarios() -> dict[str, Scenario]:
    """Every scenario of the rule pack, by name (plus the built-in ``custom``)."""
    found: dict[str, Scenario] = {
        CUSTOM: Scenario(CUSTOM, "Custom", "Exactly the rules the domain lists under 'rules'.", ())
    }
    pack = resources.files("pytest_mailflow.policies")
    raw: dict[str, dict[str, Any]] = {}
    for entry in sorted(pack.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("mailflow_scenario") != 1:
            raise RuntimeError(f"rule pack file {entry.name} is not a scenario (mailflow_scenario: 1)")
        raw[str(data["name"])] = data
    for name in raw:
        found[name] = _build(name, raw, ())
    return found


def _build(name: str, raw: dict[str, dict[str, Any]], seen: tuple[str, ...]) -> Scenario:
    """A scenario with what it ``extends`` folded in: the parent's rules first, its expectations under ours."""
    if name in seen:
        raise RuntimeError(f"scenario {name} extends itself through {' -> '.join(seen)}")
    data = raw[name]
    rules: tuple[str, ...] = ()
    expect: dict[str, Any] = {}
    required: tuple[str, ...] = ()
    parent = data.get("extends")
    if parent:
        base = _build(str(parent), raw, (*seen, name))
        rules, expect, required = base.rules, base.expect, base.required_params
    for rule_id in data.get("rules", ()):
        if rule_id not in rules:
            rules = (*rules, rule_id)
    drop = set(data.get("drop_rules", ()))
    return Scenario(
        name=name,
        title=str(data["title"]),
        description=str(data.get("description", "")).strip(),
        rules=tuple(r for r in rules if r not in drop),
        expect=merge(expect, dict(data.get("expect") or {})),
        required_params=(*required, *(p for p in data.get("required_params", ()) if p not in required)),
    )


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of expectation mappings: the override wins key by key; lists are replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged

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


@functools.cache
def scenarios() -> dict[str, Scenario]:
    """Every scenario of the rule pack, by name (plus the built-in ``custom``)."""
    found: dict[str, Scenario] = {
        CUSTOM: Scenario(CUSTOM, "Custom", "Exactly the rules the domain lists under 'rules'.", ())
    }
    pack = resources.files("pytest_mailflow.policies")
    for entry in sorted(pack.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("mailflow_scenario") != 1:
            raise RuntimeError(f"rule pack file {entry.name} is not a scenario (mailflow_scenario: 1)")
        scenario = Scenario(
            name=str(data["name"]),
            title=str(data["title"]),
            description=str(data.get("description", "")).strip(),
            rules=tuple(data.get("rules", ())),
            expect=dict(data.get("expect") or {}),
        )
        found[scenario.name] = scenario
    return found

"""The registry: unique permanent IDs, complete metadata, and a rule index that is never stale."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_mailflow.policy.scenarios import scenarios
from pytest_mailflow.rules import REGISTRY, all_rules
from pytest_mailflow.rulesdoc import render

ROOT = Path(__file__).resolve().parents[1]


def test_rule_ids_are_well_formed_and_match_their_family() -> None:
    for rule in all_rules():
        assert re.fullmatch(r"MF-[A-Z0-9]+-\d{3}", rule.id), rule.id
        assert rule.id.split("-")[1].lower() == rule.family, rule.id


def test_every_rule_explains_itself() -> None:
    for rule in all_rules():
        assert rule.title and rule.rationale and rule.remediation, rule.id
        assert rule.references, f"{rule.id} cites no source"
        for ref in rule.references:
            assert ref.url.startswith("https://"), (rule.id, ref)


def test_scenarios_name_only_known_rules() -> None:
    for scenario in scenarios().values():
        unknown = set(scenario.rules) - set(REGISTRY)
        assert not unknown, (scenario.name, unknown)


def test_docs_rules_md_is_generated_from_the_registry() -> None:
    shipped = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert shipped == render(), "docs/rules.md is stale: python -m pytest_mailflow.rulesdoc > docs/rules.md"


def test_every_rule_is_in_the_index() -> None:
    text = render()
    for rule_id in REGISTRY:
        assert f"### {rule_id}" in text


def test_every_rule_is_exercised_by_a_test() -> None:
    # A cheap guard that no rule ships untested: each ID appears in a rule test module.
    texts = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_rules_*.py"))
    texts += "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_broken_variants.py"))
    missing = [rule_id for rule_id in REGISTRY if rule_id not in texts]
    assert not missing, f"rules without a test: {missing}"

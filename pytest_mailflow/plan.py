"""Scenario expansion: a domain's policy becomes the sorted list of checks that apply to it."""

from __future__ import annotations

from dataclasses import dataclass

from .policy.model import DomainPolicy
from .policy.scenarios import CUSTOM, scenarios
from .rules import REGISTRY, Rule


@dataclass(frozen=True)
class Check:
    rule: Rule
    param: str | None
    domain: DomainPolicy

    @property
    def name(self) -> str:
        return f"{self.rule.id}[{self.param}]" if self.param is not None else self.rule.id

    @property
    def line(self) -> int:
        return self.domain.line_of(self.rule.expect_keys) if self.rule.expect_keys else self.domain.line


def plan(domain: DomainPolicy, *, fetch_mta_sts: bool = False) -> list[Check]:
    """Every (rule, parameter) the domain's scenario applies, minus what it skips. Reads no DNS.

    Rules that judge a fetched MTA-STS policy file are planned only when fetching is enabled."""
    rule_ids = domain.rules if domain.scenario == CUSTOM else scenarios()[domain.scenario].rules
    checks = []
    for rule_id in sorted(set(rule_ids) - set(domain.skip)):
        rule = REGISTRY[rule_id]
        if rule.needs_fetch and not fetch_mta_sts:
            continue
        for param in rule.params(domain):
            checks.append(Check(rule, param, domain))
    return checks

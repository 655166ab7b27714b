"""The rule registry: one place that knows every rule; docs and the CLI are generated from it."""

from __future__ import annotations

from .base import CheckContext, Finding, Reference, Rule, Severity
from .connectors import RULES as CONN_RULES
from .dane import RULES as DANE_RULES
from .dkim import RULES as DKIM_RULES
from .dmarc import RULES as DMARC_RULES
from .m365 import RULES as M365_RULES
from .mtasts import RULES as MTASTS_RULES
from .mx import RULES as MX_RULES
from .spf import RULES as SPF_RULES
from .tlsrpt import RULES as TLSRPT_RULES

REGISTRY: dict[str, Rule] = {}
for _rule in (
    *MX_RULES,
    *SPF_RULES,
    *DKIM_RULES,
    *DMARC_RULES,
    *MTASTS_RULES,
    *TLSRPT_RULES,
    *DANE_RULES,
    *M365_RULES,
    *CONN_RULES,
):
    if _rule.id in REGISTRY:
        raise RuntimeError(f"rule ID {_rule.id} is defined twice")
    REGISTRY[_rule.id] = _rule


def get_rule(rule_id: str) -> Rule:
    return REGISTRY[rule_id]


def all_rules() -> list[Rule]:
    return [REGISTRY[key] for key in sorted(REGISTRY)]


__all__ = ["REGISTRY", "CheckContext", "Finding", "Reference", "Rule", "Severity", "all_rules", "get_rule"]

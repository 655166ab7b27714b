"""The rule index (docs/rules.md), generated from the registry so nothing about a rule is written twice.

python -m pytest_mailflow.rulesdoc > docs/rules.md
"""

from __future__ import annotations

import sys

from .policy.scenarios import scenarios
from .rules import Rule, all_rules

FAMILY_TITLES = {
    "mx": "MX",
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "mtasts": "MTA-STS",
    "tlsrpt": "TLS-RPT",
    "dane": "DANE",
    "m365": "Microsoft 365 records",
    "conn": "Exchange Online connectors",
}


def families() -> list[str]:
    """Every family of the registry: those with a title in FAMILY_TITLES order, then any others."""
    present = {rule.family for rule in all_rules()}
    return [f for f in FAMILY_TITLES if f in present] + sorted(present - set(FAMILY_TITLES))


def _scenarios_of(rule: Rule) -> list[str]:
    return sorted(name for name, scenario in scenarios().items() if rule.id in scenario.rules)


def render() -> str:
    rules = all_rules()
    lines = [
        "# Rule index",
        "",
        "<!-- Generated from the rule registry by `python -m pytest_mailflow.rulesdoc`; do not edit by hand. -->",
        "",
        "Every rule has a permanent ID (`MF-<FAMILY>-<NNN>`, never reused), a severity",
        "(info < low < medium < high < critical), the reason it exists, how to fix a failure, and its sources.",
        "A rule runs for a domain when the domain's scenario lists it (or the domain lists it under `rules:`",
        "with scenario `custom`) and the policy gives it what it needs: rules that check a declared expectation",
        "(such as `expect.spf.include`) are not collected when the expectation is absent.",
        "",
        "| ID | severity | title | scenarios |",
        "| --- | --- | --- | --- |",
    ]
    for rule in rules:
        anchor = rule.id.lower()
        used = ", ".join(_scenarios_of(rule)) or "custom only"
        lines.append(f"| [{rule.id}](#{anchor}) | {rule.severity} | {rule.title} | {used} |")
    for family in families():
        lines += ["", f"## {FAMILY_TITLES.get(family, family)}"]
        for rule in (r for r in rules if r.family == family):
            lines += [
                "",
                f"### {rule.id}",
                "",
                f"**{rule.title}** — severity **{rule.severity}**",
                "",
                f"*Why:* {rule.rationale}",
                "",
                f"*Fix:* {rule.remediation}",
                "",
            ]
            if rule.expect_keys:
                lines += [f"*Policy keys:* `expect.{'.'.join(rule.expect_keys)}`", ""]
            lines.append("*References:*")
            lines += [f"- [{ref.title}]({ref.url})" for ref in rule.references]
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()

"""Plain-text explanations of findings: what was expected, what was observed, how to fix it."""

from __future__ import annotations

from .engine import Result
from .errors import Indeterminate, printable
from .plan import Check
from .rules.base import CheckContext

_WIDTH = 11


def _block(label: str, lines: list[str] | tuple[str, ...]) -> list[str]:
    if not lines:
        return []
    head = f"  {label + ':':<{_WIDTH}}"
    pad = " " * len(head)
    return [head + lines[0], *(pad + line for line in lines[1:])]


def headline(check: Check, message: str) -> str:
    rule = check.rule
    return f"{check.name} [{rule.severity}] {check.domain.name}: {message}"


def _context(check: Check) -> list[str]:
    rule = check.rule
    ctx = CheckContext(check.domain.name, check.domain, check.param)
    expected = rule.expectation(ctx) or rule.title
    lines = _block("rule", [f"{rule.title} (scenario: {check.domain.scenario})"])
    lines += _block("why", [rule.rationale])
    lines += _block("expected", [f"{expected}  [{check.domain.path}:{check.line}]"])
    return lines


def failure_text(result: Result) -> str:
    check = result.check
    finding = result.finding
    lines = [headline(check, finding.summary), *_context(check)]
    lines += _block("observed", [*finding.observed, *finding.details])
    lines += _block("DNS", _capped(result.consulted))
    lines += _tail(check, finding.fix)
    return printable("\n".join(lines))


def error_text(check: Check, error: Indeterminate, consulted: list[str]) -> str:
    lines = [headline(check, str(error)), *_context(check)]
    lines += _block("DNS", _capped(consulted))
    lines += _block(
        "outcome",
        [
            "neither pass nor fail: the answer this rule needs is unavailable. Fix the cause above "
            "(re-record the cassette, or check the name servers) and run again."
        ],
    )
    return printable("\n".join(lines))


MAX_DNS_LINES = 25


def _capped(lines: list[str] | tuple[str, ...]) -> list[str]:
    if len(lines) <= MAX_DNS_LINES:
        return list(lines)
    return [*lines[:MAX_DNS_LINES], f"... and {len(lines) - MAX_DNS_LINES} more answers (see the cassette)"]


def _tail(check: Check, fix: str | None = None) -> list[str]:
    rule = check.rule
    lines = _block("fix", [fix or rule.remediation])
    lines += _block("see", [str(ref) for ref in rule.references])
    return lines

"""What a rule is: metadata (ID, severity, references) plus a pure check over evidence."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..evidence import EvidenceView

if TYPE_CHECKING:
    from ..policy.model import DomainPolicy


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Reference:
    title: str
    url: str

    def __str__(self) -> str:
        return f"{self.title} <{self.url}>"


def rfc(number: int, section: str, title: str = "") -> Reference:
    anchor = f"#section-{section}" if section else ""
    label = f"RFC {number}" + (f" §{section}" if section else "") + (f" ({title})" if title else "")
    return Reference(label, f"https://www.rfc-editor.org/rfc/rfc{number}{anchor}")


def microsoft(title: str, path: str) -> Reference:
    return Reference(f"Microsoft Learn: {title}", f"https://learn.microsoft.com/{path}")


@dataclass(frozen=True)
class Finding:
    """The verdict of one rule on one domain (and parameter)."""

    passed: bool
    summary: str
    observed: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    #: Replaces the rule's general remediation when the finding knows the actual cause.
    fix: str | None = None


@dataclass(frozen=True)
class CheckContext:
    domain: str
    policy: DomainPolicy
    param: str | None = None


CheckFunction = Callable[[EvidenceView, CheckContext], Finding]
ParamsFunction = Callable[["DomainPolicy"], Sequence[str | None]]


def _single(_: DomainPolicy) -> Sequence[str | None]:
    return (None,)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    family: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[Reference, ...]
    check: CheckFunction
    #: The policy keys the rule reads its expectation from (for "expected ... at file:line").
    expect_keys: tuple[str, ...] = ()
    #: Which parameters the rule runs with for a domain; empty: the rule does not apply.
    params: ParamsFunction = field(default=_single)
    #: Reads a fetched MTA-STS policy file: collected only with --mailflow-fetch-mta-sts.
    needs_fetch: bool = False
    #: Describes the expectation in words for the failure text.
    expectation: Callable[[CheckContext], str] = field(default=lambda ctx: "")

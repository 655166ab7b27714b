"""Evidence: everything the gatherer learned about one domain, for rules to judge without I/O."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .dns.base import Answer, Question, ResolutionError
from .dns.https import FetchError, HttpsResult
from .errors import Indeterminate
from .spf.evaluate import SpfVerdict
from .tenant.load import TenantExportError
from .tenant.model import TenantExport

T = TypeVar("T")


class NotGathered(ResolutionError):
    """A rule asked for something the gatherer did not collect (a bug, reported as an error)."""


@dataclass
class Evidence:
    domain: str
    source: str
    answers: dict[Question, Answer | ResolutionError] = field(default_factory=dict)
    spf_verdicts: dict[str, SpfVerdict] = field(default_factory=dict)
    fetches: dict[str, HttpsResult | FetchError] = field(default_factory=dict)
    #: The tenant export the policy names (or why it could not be read); None when it names none.
    tenant: TenantExport | TenantExportError | None = None
    #: Questions asked after the closure walk (by pyspf, for sender-dependent names).
    prefetch_misses: tuple[Question, ...] = ()
    #: Values the rules derive from the answers (an SPF tree, DMARC discovery), computed once per domain.
    derived: dict[Hashable, tuple[Any, tuple[Question, ...]]] = field(default_factory=dict)

    def view(self) -> EvidenceView:
        return EvidenceView(self)


class EvidenceView:
    """Read access for one rule evaluation; remembers which questions the rule consulted."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.consulted: list[Question] = []

    @property
    def domain(self) -> str:
        return self.evidence.domain

    def derive(self, key: Hashable, compute: Callable[[EvidenceView], T]) -> T:
        """``compute(view)``, once per domain: the value is shared by the rules that ask for it, and the
        questions it read count as consulted by each of them (they appear in each failure's DNS lines)."""
        known = self.evidence.derived.get(key)
        if known is not None:
            value, consulted = known
            self._consult(consulted)
            return value  # type: ignore[no-any-return]
        view = EvidenceView(self.evidence)
        try:
            computed = compute(view)
        finally:
            self._consult(view.consulted)
        self.evidence.derived[key] = (computed, tuple(view.consulted))
        return computed

    def _consult(self, questions: Iterable[Question]) -> None:
        for question in questions:
            if question not in self.consulted:
                self.consulted.append(question)

    def lookup(self, question: Question) -> Answer:
        if question not in self.consulted:
            self.consulted.append(question)
        result = self.evidence.answers.get(question)
        if result is None:
            raise NotGathered(question, "not gathered", "the gatherer did not collect this question")
        if isinstance(result, ResolutionError):
            raise result
        return result

    def ask(self, name: str, rdtype: str) -> Answer:
        return self.lookup(Question.of(name, rdtype))

    def spf_verdict(self, ip: str) -> SpfVerdict:
        verdict = self.evidence.spf_verdicts.get(ip)
        if verdict is None:
            raise NotGathered(Question.of(self.domain, "TXT"), "not gathered", f"no SPF evaluation for {ip}")
        return verdict

    def fetched(self, url: str) -> HttpsResult:
        """A gathered HTTPS fetch; raises its error when it failed (the check is then undetermined)."""
        result = self.evidence.fetches.get(url)
        if result is None:
            raise FetchError(url, "not gathered", "the gatherer did not fetch this URL")
        if isinstance(result, FetchError):
            raise result
        return result

    def tenant(self) -> TenantExport:
        """The exported Exchange Online configuration; a broken export makes the check an error."""
        tenant = self.evidence.tenant
        if tenant is None:
            raise Indeterminate("the policy names no tenant export (tenant_export)")
        if isinstance(tenant, TenantExportError):
            raise Indeterminate(f"the tenant export cannot be used: {tenant}")
        return tenant

    def consulted_provenance(self) -> list[str]:
        """Where each consulted answer came from (cassette, zone file and line, live server)."""
        found = (self.evidence.answers.get(question) for question in self.consulted)
        return [result.provenance for result in found if isinstance(result, Answer | ResolutionError)]

    def consulted_lines(self) -> list[str]:
        """Each consulted question with its answer (or error) and where it came from."""
        lines = []
        for question in self.consulted:
            result = self.evidence.answers.get(question)
            if isinstance(result, Answer):
                lines.append(result.describe())
            elif isinstance(result, ResolutionError):
                lines.append(f"{question} -> {result.cause}  [{result.provenance or self.evidence.source}]")
        return lines

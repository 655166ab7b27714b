"""The engine: gathers evidence once per domain and judges checks. Works without pytest."""

from __future__ import annotations

from dataclasses import dataclass

from .dns.base import ResolutionError, SourceFactory
from .evidence import Evidence
from .gather import GatherRequest, gather
from .plan import Check
from .policy.model import DomainPolicy
from .rules.base import CheckContext, Finding


class Undetermined(Exception):
    """A check whose evidence could not be determined (timeout, SERVFAIL, missing recording)."""

    def __init__(self, error: ResolutionError, consulted: list[str]) -> None:
        self.error = error
        self.consulted = consulted
        super().__init__(str(error))


@dataclass(frozen=True)
class Result:
    check: Check
    finding: Finding
    consulted: tuple[str, ...]


def _flush(source: object) -> None:
    """Write what a recording source learned (cassettes are written once a domain is gathered)."""
    flush = getattr(source, "flush", None)
    if callable(flush):
        flush()
    fallback = getattr(source, "fallback", None)
    if fallback is not None:
        _flush(fallback)


class Engine:
    def __init__(self, sources: SourceFactory, *, fetch_mta_sts: bool = False) -> None:
        self.sources = sources
        self.fetch_mta_sts = fetch_mta_sts
        self._evidence: dict[tuple[str, str], Evidence] = {}

    def evidence(self, domain: DomainPolicy) -> Evidence:
        key = (domain.path, domain.name)
        if key not in self._evidence:
            source = self.sources.source_for(domain.name, domain.path)
            request = GatherRequest.for_policy(domain, fetch_mta_sts=self.fetch_mta_sts)
            self._evidence[key] = gather(request, source)
            _flush(source)
        return self._evidence[key]

    def run(self, check: Check) -> Result:
        """Judge one check; raises :class:`Undetermined` when the evidence it needs is unavailable."""
        view = self.evidence(check.domain).view()
        try:
            finding = check.rule.check(view, CheckContext(check.domain.name, check.domain, check.param))
        except ResolutionError as exc:
            raise Undetermined(exc, view.consulted_lines()) from None
        return Result(check, finding, tuple(view.consulted_lines()))

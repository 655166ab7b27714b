"""The engine: gathers evidence once per domain and judges checks. Works without pytest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .dns.base import SourceFactory
from .errors import Indeterminate
from .evidence import Evidence
from .gather import GatherRequest, gather
from .plan import Check
from .policy.model import DomainPolicy
from .rules.base import CheckContext, Finding
from .tenant.load import TenantExportError, load_tenant_export
from .tenant.model import TenantExport


class Undetermined(Exception):
    """A check whose evidence could not be determined (timeout, SERVFAIL, missing recording)."""

    def __init__(self, error: Indeterminate, consulted: list[str]) -> None:
        self.error = error
        self.consulted = consulted
        super().__init__(str(error))


@dataclass(frozen=True)
class Result:
    check: Check
    finding: Finding
    consulted: tuple[str, ...]
    #: Where each consulted answer came from, in the order of ``consulted`` (reports point at zone lines).
    provenance: tuple[str, ...] = ()


def _flush(source: object) -> None:
    """Write what a recording source learned (cassettes are written once a domain is gathered)."""
    flush = getattr(source, "flush", None)
    if callable(flush):
        flush()
    fallback = getattr(source, "fallback", None)
    if fallback is not None:
        _flush(fallback)


class Engine:
    def __init__(self, sources: SourceFactory, *, fetch_mta_sts: bool = False, rootdir: Path | None = None) -> None:
        self.sources = sources
        self.fetch_mta_sts = fetch_mta_sts
        self.rootdir = rootdir or Path.cwd()
        self._exports: dict[Path, TenantExport | TenantExportError] = {}
        self._evidence: dict[tuple[str, str], Evidence] = {}

    def evidence(self, domain: DomainPolicy) -> Evidence:
        key = (domain.path, domain.name)
        if key not in self._evidence:
            source = self.sources.source_for(domain.name, domain.path)
            request = GatherRequest.for_policy(domain, fetch_mta_sts=self.fetch_mta_sts)
            evidence = gather(request, source)
            if domain.tenant_export:
                evidence.tenant = self.tenant_export(domain)
            self._evidence[key] = evidence
            _flush(source)
        return self._evidence[key]

    def tenant_export(self, domain: DomainPolicy) -> TenantExport | TenantExportError:
        """The export a domain's policy names, read once per file (paths are relative to the policy)."""
        assert domain.tenant_export is not None
        path = ((self.rootdir / domain.path).parent / domain.tenant_export).resolve()
        if path not in self._exports:
            try:
                shown = path.relative_to(self.rootdir.resolve()).as_posix()
            except ValueError:
                shown = str(path)
            try:
                self._exports[path] = load_tenant_export(path, shown)
            except TenantExportError as exc:
                self._exports[path] = exc
        return self._exports[path]

    def tenant_export_notes(self) -> list[str]:
        """Warnings from the tenant exports read so far (things the loader tolerated or ignored)."""
        notes: list[str] = []
        for export in self._exports.values():
            if isinstance(export, TenantExportError):
                notes.extend(str(problem) for problem in export.problems)
            else:
                notes.extend(export.warnings)
        return notes

    def run(self, check: Check) -> Result:
        """Judge one check; raises :class:`Undetermined` when the evidence it needs is unavailable."""
        view = self.evidence(check.domain).view()
        try:
            finding = check.rule.check(view, CheckContext(check.domain.name, check.domain, check.param))
        except Indeterminate as exc:
            raise Undetermined(exc, view.consulted_lines()) from None
        return Result(check, finding, tuple(view.consulted_lines()), tuple(view.consulted_provenance()))

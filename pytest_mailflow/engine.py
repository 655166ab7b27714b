"""The engine: gathers evidence once per domain and judges checks. Works without pytest."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .dns.base import DnsSource, SourceFactory
from .dns.shared import SharedResolver
from .errors import Indeterminate
from .evidence import Evidence, NotGathered
from .gather import GatherRequest, gather
from .plan import Check
from .policy.model import DomainPolicy
from .rules.base import CheckContext, Finding
from .sources import close_sources
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
    """Gathers each policy domain's evidence once and judges checks against it.

    With ``concurrency`` above 1 and a source that goes to the network, :meth:`prefetch` gathers domains
    in background threads (their DNS questions share one asyncio resolver and cache), in the order given,
    so that checks of the first domains run while later domains are still being resolved.
    """

    def __init__(
        self,
        sources: SourceFactory,
        *,
        fetch_mta_sts: bool = False,
        rootdir: Path | None = None,
        concurrency: int = 1,
    ) -> None:
        self.sources = sources
        self.fetch_mta_sts = fetch_mta_sts
        self.rootdir = rootdir or Path.cwd()
        self.concurrency = concurrency
        self._exports: dict[Path, TenantExport | TenantExportError] = {}
        self._evidence: dict[tuple[str, str], Evidence] = {}
        self._pending: dict[tuple[str, str], Future[Evidence]] = {}
        #: Checks still to run per domain (see expect()); a domain's evidence is let go after its last one.
        self._uses: Counter[tuple[str, str]] = Counter()
        self._gathered = 0
        self._late_questions = 0
        self._pool: ThreadPoolExecutor | None = None
        self._flush_lock = threading.Lock()
        #: Rules that asked for evidence the gatherer had not collected (should stay 0).
        self.not_gathered = 0

    def expect(self, checks: Iterable[Check]) -> None:
        """The checks about to run: each domain's evidence is released once its last check has run, so
        that memory does not grow with the number of domains (a check run again gathers again)."""
        self._uses.update((check.domain.path, check.domain.name) for check in checks)

    def prefetch(self, domains: Iterable[DomainPolicy]) -> int:
        """Start gathering these domains in the background; returns how many were scheduled.

        Does nothing unless the sources go to the network and ``concurrency`` is above 1 (replaying
        cassettes or zone files is CPU work that threads would only slow down).
        """
        if self.concurrency <= 1 or not getattr(self.sources, "uses_network", False):
            return 0
        # Domains that share a source object that is not thread-safe (one cassette recorded from two
        # policy files) are gathered one after the other in the same job.
        jobs: dict[object, list[tuple[Future[Evidence], DomainPolicy, DnsSource]]] = {}
        for domain in domains:
            key = (domain.path, domain.name)
            if key in self._evidence or key in self._pending:
                continue
            source = self.sources.source_for(domain.name, domain.path)
            future = self._pending[key] = Future()
            group: object = key if getattr(source, "thread_safe", False) else id(source)
            jobs.setdefault(group, []).append((future, domain, source))
        if self._pool is None and jobs:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="mailflow-gather")
        for job in jobs.values():
            assert self._pool is not None
            self._pool.submit(self._gather_job, job)
        return sum(len(job) for job in jobs.values())

    def _gather_job(self, job: list[tuple[Future[Evidence], DomainPolicy, DnsSource]]) -> None:
        for future, domain, source in job:
            try:
                future.set_result(self._gather(domain, source))
            except BaseException as exc:  # a bug: re-raised where the domain's checks read the evidence
                future.set_exception(exc)

    def _gather(self, domain: DomainPolicy, source: DnsSource) -> Evidence:
        evidence = gather(GatherRequest.for_policy(domain, fetch_mta_sts=self.fetch_mta_sts), source)
        with self._flush_lock:
            _flush(source)
        return evidence

    def evidence(self, domain: DomainPolicy) -> Evidence:
        key = (domain.path, domain.name)
        evidence = self._evidence.get(key)
        if evidence is None:
            pending = self._pending.pop(key, None)
            if pending is not None:
                evidence = pending.result()
            else:
                evidence = self._gather(domain, self.sources.source_for(domain.name, domain.path))
            if domain.tenant_export:
                evidence.tenant = self.tenant_export(domain)
            self._evidence[key] = evidence
            self._gathered += 1
            self._late_questions += len(evidence.prefetch_misses)
        return evidence

    def _used(self, domain: DomainPolicy) -> None:
        key = (domain.path, domain.name)
        if self._uses.get(key, 0) > 0:
            self._uses[key] -= 1
            if not self._uses[key]:
                self._evidence.pop(key, None)

    def close(self) -> None:
        """Stop background gathering (domains not started are dropped) and the shared resolver."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RuntimeError("the run ended before this domain was gathered"))
        close_sources(self.sources)

    def dns_counts(self) -> dict[str, int]:
        """What this process sent to live DNS (plain numbers, so that xdist workers can send them back)."""
        resolver = self.resolver
        stats = resolver.stats() if resolver is not None else None
        return {
            "domains": self._gathered,
            "queries_sent": stats.queries_sent if stats else 0,
            "unique_questions": stats.unique_questions if stats else 0,
            "in_flight_peak": stats.in_flight_peak if stats else 0,
            "prefetch_misses": self.prefetch_misses(),
        }

    def prefetch_misses(self) -> int:
        """Questions asked outside the closure walk: by pyspf after it, or by rules (not gathered)."""
        return self.not_gathered + self._late_questions

    @property
    def resolver(self) -> SharedResolver | None:
        """The run's shared live-DNS cache, when the sources have one (for its statistics)."""
        resolver = getattr(self.sources, "resolver", None)
        return resolver if isinstance(resolver, SharedResolver) else None

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
            if isinstance(exc, NotGathered):
                self.not_gathered += 1
            raise Undetermined(exc, view.consulted_lines()) from None
        finally:
            self._used(check.domain)
        return Result(check, finding, tuple(view.consulted_lines()), tuple(view.consulted_provenance()))


def describe_dns_counts(counts: list[dict[str, int]]) -> list[str]:
    """The terminal summary's live-DNS lines, summed over processes (xdist workers each have a cache)."""
    total = {key: sum(c.get(key, 0) for c in counts) for key in ("domains", "queries_sent", "unique_questions")}
    misses = sum(c.get("prefetch_misses", 0) for c in counts)
    peak = max((c.get("in_flight_peak", 0) for c in counts), default=0)
    ratio = total["queries_sent"] / total["unique_questions"] if total["unique_questions"] else 1.0
    where = f" in {len(counts)} processes" if len(counts) > 1 else ""
    return [
        f"{total['domains']} domains gathered{where}: {total['queries_sent']} queries sent for "
        f"{total['unique_questions']} unique questions ({ratio:.2f} per question; retries and aliases "
        f"count), at most {peak} in flight",
        f"prefetch misses: {misses} (questions asked after a domain's closure was gathered)",
    ]

"""The evidence gatherer: the only place that asks a DNS source anything.

For one domain it collects the mail-flow closure the rules need (MX and its targets' addresses, the
apex TXT and the whole SPF tree) and runs pyspf for the sender IPs the policy names. Errors are kept
per question: a timeout on one name makes only the checks that need that name indeterminate.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dns.base import Answer, DnsSource, Question, ResolutionError
from .dns.records import RecordSyntaxError, mx_record
from .evidence import Evidence
from .spf.evaluate import evaluate
from .spf.tree import build_tree


@dataclass(frozen=True)
class GatherRequest:
    domain: str
    sender_ips: tuple[str, ...] = ()


class _Fetcher:
    def __init__(self, source: DnsSource, evidence: Evidence) -> None:
        self.source = source
        self.evidence = evidence

    def __call__(self, question: Question) -> Answer:
        known = self.evidence.answers.get(question)
        if known is None:
            try:
                known = self.source.resolve(question)
            except ResolutionError as exc:
                known = exc
            self.evidence.answers[question] = known
        if isinstance(known, ResolutionError):
            raise known
        return known

    def quietly(self, name: str, rdtype: str) -> Answer | None:
        try:
            return self(Question.of(name, rdtype))
        except ResolutionError:
            return None


def gather(request: GatherRequest, source: DnsSource) -> Evidence:
    evidence = Evidence(request.domain, source.describe())
    fetch = _Fetcher(source, evidence)
    _mx_closure(request.domain, fetch)
    build_tree(request.domain, fetch)
    for ip in request.sender_ips:
        evidence.spf_verdicts[ip] = evaluate(request.domain, ip, fetch)
    return evidence


def _mx_closure(domain: str, fetch: _Fetcher) -> None:
    answer = fetch.quietly(domain, "MX")
    if answer is None or answer.status != "NOERROR":
        return
    for text in answer.records:
        try:
            record = mx_record(text)
        except RecordSyntaxError:
            continue
        if not record.is_null:
            fetch.quietly(record.exchange, "A")
            fetch.quietly(record.exchange, "AAAA")

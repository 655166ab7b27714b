"""DMARC policy discovery (RFC 7489 §6.6.3): the record at ``_dmarc.<domain>``, else at the
organisational domain; and the report-destination names to check (§7.1).

Shared by the gatherer (which fetches) and the rules (which read the gathered evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..dns.base import Answer, Question, ResolutionError
from ..dns.records import RecordSyntaxError, txt_value
from ..names import organizational_domain, relative
from .record import DmarcRecord, is_dmarc_record, parse

Lookup = Callable[[Question], Answer]


@dataclass(frozen=True)
class Discovery:
    domain: str
    org_domain: str
    #: Where discovery stopped: the policy domain whose ``_dmarc`` name holds the record(s).
    policy_domain: str
    records: tuple[str, ...]
    answers: tuple[Answer, ...]
    error: ResolutionError | None = None

    @property
    def inherited(self) -> bool:
        return bool(self.records) and self.policy_domain != self.domain

    @property
    def record(self) -> DmarcRecord | None:
        return parse(self.records[0]) if len(self.records) == 1 else None


def dmarc_records(answer: Answer) -> tuple[str, ...]:
    if answer.status != "NOERROR":
        return ()
    found = []
    for text in answer.records:
        try:
            value = txt_value(text)
        except RecordSyntaxError:
            continue
        if is_dmarc_record(value):
            found.append(value)
    return tuple(found)


def discover(domain: str, lookup: Lookup) -> Discovery:
    name = relative(domain)
    org = organizational_domain(name)
    answers: list[Answer] = []
    for candidate in dict.fromkeys((name, org)):
        try:
            answer = lookup(Question.of(f"_dmarc.{candidate}", "TXT"))
        except ResolutionError as exc:
            return Discovery(name, org, candidate, (), tuple(answers), exc)
        answers.append(answer)
        records = dmarc_records(answer)
        if records:  # one record applies; several end discovery with no policy (§6.6.3)
            return Discovery(name, org, candidate, records, tuple(answers))
    return Discovery(name, org, org, (), tuple(answers))


def report_authorisation_names(discovery: Discovery) -> dict[str, str]:
    """For each external report destination: the name that must authorise it (§7.1).

    External means the destination's organisational domain differs from the policy domain's.
    """
    record = discovery.record
    if record is None:
        return {}
    names: dict[str, str] = {}
    policy_org = organizational_domain(discovery.policy_domain)
    for tag in ("rua", "ruf"):
        for uri in record.uris(tag):
            if uri.domain and organizational_domain(uri.domain) != policy_org:
                names[uri.domain] = f"{discovery.policy_domain}._report._dmarc.{uri.domain}"
    return names

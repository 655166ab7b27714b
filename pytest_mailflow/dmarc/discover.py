"""DMARC policy discovery (RFC 7489 §6.6.3): the record at ``_dmarc.<domain>``, else at the
organisational domain; and the report-destination names to check (§7.1).

Shared by the gatherer (which fetches) and the rules (which read the gathered evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..dns.base import Answer, Question, ResolutionError
from ..dns.records import RecordSyntaxError, txt_value
from ..names import InvalidDomainName, organizational_domain, relative, to_a_label
from .record import DmarcRecord, ReportUri, is_dmarc_record, parse

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
    #: For a domain below its organisational domain that has DMARC records of its own: the
    #: organisational domain's ``_dmarc`` answer (RFC 7489 receivers take the policy for the
    #: domain's subdomains from there), or the error that kept it unknown.
    org_answer: Answer | None = None
    org_error: ResolutionError | None = None

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


def ignored_texts(answer: Answer) -> tuple[str, ...]:
    """TXT values at a ``_dmarc`` name that receivers discard: they do not start with ``v=DMARC1``."""
    if answer.status != "NOERROR":
        return ()
    ignored = []
    for text in answer.records:
        try:
            value = txt_value(text)
        except RecordSyntaxError:
            continue
        if not is_dmarc_record(value):
            ignored.append(value)
    return tuple(ignored)


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
            if candidate == org:
                return Discovery(name, org, candidate, records, tuple(answers))
            org_answer, org_error = _org_answer(org, lookup)
            return Discovery(name, org, candidate, records, tuple(answers), None, org_answer, org_error)
    return Discovery(name, org, org, (), tuple(answers))


def _org_answer(org: str, lookup: Lookup) -> tuple[Answer | None, ResolutionError | None]:
    try:
        return lookup(Question.of(f"_dmarc.{org}", "TXT")), None
    except ResolutionError as exc:
        return None, exc


@dataclass(frozen=True)
class Destination:
    """An external report destination (§7.1) and the name that must authorise it."""

    host: str
    uris: tuple[ReportUri, ...]
    #: The tags (rua, ruf) that name this destination.
    tags: tuple[str, ...]
    #: ``<policy-domain>._report._dmarc.<host>``, or "" when that is not a valid DNS name.
    name: str
    problem: str = ""


def report_destinations(discovery: Discovery) -> tuple[Destination, ...]:
    """The record's mailto destinations whose organisational domain differs from the policy domain's."""
    record = discovery.record
    if record is None:
        return ()
    policy_org = organizational_domain(discovery.policy_domain)
    by_host: dict[str, list[tuple[str, ReportUri]]] = {}
    for tag in ("rua", "ruf"):
        for uri in record.uris(tag):
            if uri.domain and organizational_domain(uri.domain) != policy_org:
                by_host.setdefault(uri.domain, []).append((tag, uri))
    destinations = []
    for host, found in by_host.items():
        uris = tuple(uri for _, uri in found)
        tags = tuple(dict.fromkeys(tag for tag, _ in found))
        wanted = f"{discovery.policy_domain}._report._dmarc.{host}"
        try:
            name = to_a_label(wanted)
        except InvalidDomainName as exc:
            destinations.append(Destination(host, uris, tags, "", f"'{wanted}' is not a valid DNS name: {exc}"))
            continue
        destinations.append(Destination(host, uris, tags, name))
    return tuple(destinations)


def report_authorisation_names(discovery: Discovery) -> dict[str, str]:
    """For each external report destination: the name that must authorise it (§7.1).

    External means the destination's organisational domain differs from the policy domain's.
    """
    return {dest.host: dest.name for dest in report_destinations(discovery) if dest.name}

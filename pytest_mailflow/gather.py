"""The evidence gatherer: the only place that asks a DNS source anything.

For one domain it collects the whole mail-flow closure the rules need in one pass: MX and its targets'
addresses and TLSA records, the apex TXT (SPF, verification), the SPF include/redirect/a/mx/exists
tree, DMARC discovery (the domain's ``_dmarc`` record, else the organisational domain's) with the
report-authorisation names of external destinations, the DKIM selectors the policy names, ``_mta-sts``,
``_smtp._tls``, ``autodiscover`` and ``msoid``. It also runs pyspf for the sender IPs the policy names.
Errors are kept per question: a timeout on one name makes only the checks that need that name
indeterminate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .dmarc.discover import discover as discover_dmarc
from .dmarc.discover import report_authorisation_names
from .dns.base import Answer, DnsSource, Question, ResolutionError
from .dns.https import FetchError, policy_url
from .dns.records import RecordSyntaxError, mx_record, txt_value
from .evidence import Evidence
from .policy.model import DomainPolicy
from .spf.evaluate import evaluate
from .spf.tree import build_tree


@dataclass(frozen=True)
class GatherRequest:
    domain: str
    sender_ips: tuple[str, ...] = ()
    dkim_selectors: tuple[str, ...] = ()
    #: Fetch the MTA-STS policy file when the domain publishes an MTA-STS record.
    fetch_mta_sts: bool = False

    @classmethod
    def for_policy(cls, domain: DomainPolicy, *, fetch_mta_sts: bool = False) -> GatherRequest:
        """Everything a domain's policy needs gathered beyond the fixed closure."""
        return cls(domain.name, domain.sender_ips, domain.expect.dkim.selectors, fetch_mta_sts)


class _Fetcher:
    def __init__(self, source: DnsSource, evidence: Evidence) -> None:
        self.source = source
        self.evidence = evidence
        #: Set once the closure has been walked: questions asked after that were not prefetched.
        self.misses: list[Question] | None = None

    def __call__(self, question: Question) -> Answer:
        known = self.evidence.answers.get(question)
        if known is None:
            if self.misses is not None:
                self.misses.append(question)
            try:
                known = self.source.resolve(question)
            except ResolutionError as exc:
                known = exc
            self.evidence.answers[question] = known
        if isinstance(known, ResolutionError):
            raise known
        return known

    def warm(self, questions: Iterable[tuple[str, str]]) -> None:
        """Tell a concurrent source which questions come next, so that they are asked together."""
        warm = getattr(self.source, "warm", None)
        if warm is not None:
            warm(q for q in (Question.of(name, rdtype) for name, rdtype in questions) if q not in self.evidence.answers)

    def all_of(self, questions: list[tuple[str, str]]) -> None:
        """Ask independent questions: announced together, then read one by one (errors are kept)."""
        self.warm(questions)
        for name, rdtype in questions:
            self.quietly(name, rdtype)

    def quietly(self, name: str, rdtype: str) -> Answer | None:
        try:
            return self(Question.of(name, rdtype))
        except ResolutionError:
            return None


def gather(request: GatherRequest, source: DnsSource) -> Evidence:
    evidence = Evidence(request.domain, source.describe())
    fetch = _Fetcher(source, evidence)
    domain = request.domain
    fetch.warm(_first_questions(request))
    _mx_closure(domain, fetch)
    build_tree(domain, fetch)
    discovery = discover_dmarc(domain, fetch)
    fetch.all_of([(name, "TXT") for name in report_authorisation_names(discovery).values()])
    fetch.all_of(_dkim_questions(request))
    fetch.all_of(list(service_questions(domain)))
    if request.fetch_mta_sts and _publishes_mta_sts(domain, fetch):
        url = policy_url(domain)
        fetcher = getattr(source, "fetch", None)
        try:
            if fetcher is None:
                raise FetchError(url, "UNREACHABLE", f"{source.describe()} does not fetch over HTTPS")
            evidence.fetches[url] = fetcher(url)
        except FetchError as exc:
            evidence.fetches[url] = exc
    # pyspf asks for what the walk above has already fetched; anything else (a ptr or macro term's
    # name, which depends on the sender) is a prefetch miss, asked one question at a time.
    fetch.misses = []
    for ip in request.sender_ips:
        evidence.spf_verdicts[ip] = evaluate(domain, ip, fetch)
    evidence.prefetch_misses = tuple(fetch.misses)
    return evidence


def _first_questions(request: GatherRequest) -> list[tuple[str, str]]:
    """Questions every domain needs whatever the answers say: asked at once, before the walk."""
    domain = request.domain
    fixed = [(domain, "MX"), (domain, "TXT"), (f"_dmarc.{domain}", "TXT")]
    return fixed + _dkim_questions(request) + list(service_questions(domain))


def _dkim_questions(request: GatherRequest) -> list[tuple[str, str]]:
    """Each selector's name as an alias (CNAME) and as the key record (TXT, through any alias)."""
    names = [name for selector in request.dkim_selectors for name in dkim_names(request.domain, selector)]
    return [(name, rdtype) for name in names for rdtype in ("CNAME", "TXT")]


def _publishes_mta_sts(domain: str, fetch: _Fetcher) -> bool:
    answer = fetch.quietly(f"_mta-sts.{domain}", "TXT")
    if answer is None or answer.status != "NOERROR":
        return False
    return any(_txt(text).lower().startswith("v=stsv1") for text in answer.records)


def _txt(text: str) -> str:
    try:
        return txt_value(text)
    except RecordSyntaxError:
        return ""


def dkim_names(domain: str, selector: str) -> tuple[str, ...]:
    return (f"{selector}._domainkey.{domain}",)


def service_questions(domain: str) -> tuple[tuple[str, str], ...]:
    """Names every domain is asked about, whatever its policy."""
    return (
        (f"_mta-sts.{domain}", "TXT"),
        (f"_smtp._tls.{domain}", "TXT"),
        (f"autodiscover.{domain}", "CNAME"),
        (f"msoid.{domain}", "CNAME"),
    )


def tlsa_name(mx_host: str) -> str:
    return f"_25._tcp.{mx_host.rstrip('.')}"


def _mx_closure(domain: str, fetch: _Fetcher) -> None:
    answer = fetch.quietly(domain, "MX")
    if answer is None or answer.status != "NOERROR":
        return
    questions: list[tuple[str, str]] = []
    for text in answer.records:
        try:
            record = mx_record(text)
        except RecordSyntaxError:
            continue
        if not record.is_null:
            questions += [(record.exchange, "A"), (record.exchange, "AAAA"), (tlsa_name(record.exchange), "TLSA")]
    fetch.all_of(questions)

"""MTA-STS rules (RFC 8461): the ``_mta-sts`` TXT record that announces a policy.

The policy file itself (mode, max_age, mx coverage) is judged by the pure functions of
:mod:`pytest_mailflow.transport.mta_sts`; rules for it are not registered yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ..dns.base import Answer
from ..dns.https import FetchError, HttpsResult, policy_url
from ..dns.records import RecordSyntaxError, mx_record, txt_value
from ..evidence import EvidenceView
from ..names import relative
from ..policy.model import DomainPolicy
from ..transport.mta_sts import (
    STS_VERSION,
    StsPolicy,
    StsRecord,
    content_type_ok,
    coverage_problems,
    max_age_problem,
    mode_problem,
    parse_sts_policy,
    parse_sts_record,
    published,
    shown,
)
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

_MS_MTA_STS = microsoft("Enhancing mail flow with MTA-STS", "purview/enhancing-mail-flow-with-mta-sts")


def txt_values(answer: Answer) -> tuple[str, ...]:
    """The TXT values of an answer, each one's strings joined (unreadable records are skipped)."""
    if answer.status != "NOERROR":
        return ()
    values = []
    for text in answer.records:
        try:
            values.append(txt_value(text))
        except RecordSyntaxError:
            continue
    return tuple(values)


def txt_observed(name: str, answer: Answer, values: tuple[str, ...]) -> tuple[str, ...]:
    if values:
        return tuple(f'{name} TXT: "{value}"' for value in values)
    return (f"{name} TXT: {answer.status if answer.status != 'NOERROR' else 'no TXT records'}",)


class _Parsed(Protocol):
    @property
    def errors(self) -> tuple[str, ...]: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...


ParsedT = TypeVar("ParsedT", bound=_Parsed)


@dataclass(frozen=True)
class TxtVerdict(Generic[ParsedT]):
    """What senders make of the TXT values at a record name (shared with the TLS-RPT rules)."""

    #: The one valid record senders use, if there is one.
    record: ParsedT | None = None
    #: No TXT value there is meant as such a record.
    absent: bool = False
    #: Why senders get no usable record ('' when there is one, or none at all).
    problem: str = ""
    details: tuple[str, ...] = ()
    #: Notes that do not change the verdict (discarded near misses, repeated fields).
    notes: tuple[str, ...] = ()


def judge_txt(
    values: tuple[str, ...], version: str, parse: Callable[[str], ParsedT], kind: str, outcome: str, section: str
) -> TxtVerdict[ParsedT]:
    """Exactly one record beginning ``<version>;``, valid (RFC 8461 §3.1, RFC 8460 §3)."""
    found = published(values, version)
    if found.absent:
        return TxtVerdict(absent=True)
    ignored = tuple(
        f"{shown(value)} is ignored by senders: {'; '.join(parse(value).errors)}" for value in found.discarded
    )
    if not found.taken:
        reasons = "; ".join(dict.fromkeys(parse(value).errors[0] for value in found.discarded))
        return TxtVerdict(
            problem=f"the {kind} record is not recognised by senders, so they {outcome}: {reasons}", details=ignored
        )
    if len(found.taken) > 1:
        return TxtVerdict(
            problem=f"publishes {len(found.taken)} {kind} records; senders need exactly one, otherwise they {outcome} "
            f"({section})",
            details=ignored,
        )
    record = parse(found.taken[0])
    if record.errors:
        return TxtVerdict(
            problem=f"the {kind} record is invalid, so senders {outcome}: " + "; ".join(record.errors), details=ignored
        )
    return TxtVerdict(record=record, notes=(*record.warnings, *ignored))


@dataclass(frozen=True)
class TxtReading(Generic[ParsedT]):
    """A versioned TXT record name as read from the evidence, and the verdict on it."""

    answer: Answer
    values: tuple[str, ...]
    observed: tuple[str, ...]
    verdict: TxtVerdict[ParsedT]

    def absent_reason(self, version: str) -> str:
        return absent_reason(self.answer, self.values, version)


def read_txt_record(
    ev: EvidenceView, name: str, judge: Callable[[tuple[str, ...]], TxtVerdict[ParsedT]]
) -> TxtReading[ParsedT]:
    """The TXT values at ``name``, how they are shown, and ``judge``'s verdict (MTA-STS and TLS-RPT)."""
    answer = ev.ask(name, "TXT")
    values = txt_values(answer)
    return TxtReading(answer, values, txt_observed(name, answer, values), judge(values))


def absent_reason(answer: Answer, values: tuple[str, ...], version: str) -> str:
    """Why a name holds no record: the answer's status, no TXT at all, or only other TXT values."""
    if answer.status != "NOERROR":
        return answer.status
    return f"no '{version}' record" if values else "no TXT records"


def with_notes(summary: str, notes: tuple[str, ...]) -> str:
    return summary + (" (note: " + "; ".join(notes) + ")" if notes else "")


def _judge(values: tuple[str, ...]) -> TxtVerdict[StsRecord]:
    return judge_txt(values, STS_VERSION, parse_sts_record, "MTA-STS", "assume there is no policy", "RFC 8461 §3.1")


def _name(ctx: CheckContext) -> str:
    return f"_mta-sts.{relative(ctx.domain)}"


def check_record(ev: EvidenceView, ctx: CheckContext) -> Finding:
    reading = read_txt_record(ev, _name(ctx), _judge)
    observed, verdict = reading.observed, reading.verdict
    if verdict.absent:
        summary = f"publishes no MTA-STS record ({reading.absent_reason(STS_VERSION)}): nothing to check"
        if ctx.policy.expect.mta_sts.required:
            summary += "; the policy requires one (MF-MTASTS-002 reports it)"
        return Finding(True, summary, observed)
    if verdict.record is None:
        return Finding(False, verdict.problem, observed, verdict.details)
    summary = f"publishes one valid MTA-STS record (id {verdict.record.id})"
    return Finding(True, with_notes(summary, verdict.notes), observed)


def check_required(ev: EvidenceView, ctx: CheckContext) -> Finding:
    reading = read_txt_record(ev, _name(ctx), _judge)
    observed, verdict = reading.observed, reading.verdict
    if verdict.absent:
        return Finding(
            False,
            f"publishes no MTA-STS record ({reading.absent_reason(STS_VERSION)}), but the policy requires "
            "MTA-STS (expect.mta_sts.required)",
            observed,
        )
    if verdict.record is None:
        return Finding(
            False,
            f"publishes no usable MTA-STS record, but the policy requires MTA-STS: {verdict.problem}",
            observed,
            verdict.details,
        )
    return Finding(
        True,
        f"publishes a valid MTA-STS record (id {verdict.record.id}), as the policy requires (this rule does not "
        f"read the policy file at {policy_url(relative(ctx.domain))})",
        observed,
    )


#: Fetch failures every sender would meet, which therefore mean "no policy" rather than "unknown".
SENDER_VISIBLE_FAILURES = ("TLS", "HTTP")


def _policy(ev: EvidenceView, ctx: CheckContext) -> tuple[StsPolicy | None, HttpsResult | None, tuple[str, ...]]:
    """The fetched policy file, or (None, None, observed) when the domain publishes no usable record."""
    reading = read_txt_record(ev, _name(ctx), _judge)
    observed, verdict = reading.observed, reading.verdict
    if verdict.absent or verdict.record is None:
        return None, None, observed
    try:
        fetched = ev.fetched(policy_url(relative(ctx.domain)))
    except FetchError as exc:
        if exc.cause not in SENDER_VISIBLE_FAILURES:
            raise  # a timeout or unreachable server says nothing about the policy: undetermined
        # A bad certificate or a broken HTTP answer is what every sender sees: no policy (RFC 8461 §3.3).
        failed = HttpsResult(exc.url, 0, "", "", exc.provenance)
        return None, failed, (*observed, f"{exc.url} -> {exc.cause}: {exc.detail}")
    body = f"{fetched.url} -> HTTP {fetched.status} ({fetched.content_type or 'no Content-Type'})"
    shown_lines = [f"  {line}" for line in fetched.body.splitlines()[:12]]
    return parse_sts_policy(fetched.body), fetched, (*observed, body, *shown_lines)


def check_policy_file(ev: EvidenceView, ctx: CheckContext) -> Finding:
    policy, fetched, observed = _policy(ev, ctx)
    if fetched is not None and policy is None:
        return Finding(
            False,
            "senders cannot fetch the MTA-STS policy, so they treat the domain as having none "
            "(RFC 8461 §3.3): " + observed[-1].split(" -> ", 1)[-1],
            observed,
        )
    if fetched is None or policy is None:
        return Finding(True, "publishes no usable MTA-STS record: no policy file to check", observed)
    problems = []
    if fetched.status != 200:
        problems.append(f"the policy URL answered HTTP {fetched.status}, not 200 (redirects are not followed)")
    if not content_type_ok(fetched.content_type):
        problems.append(f"Content-Type is '{fetched.content_type}', not text/plain (RFC 8461 §3.2)")
    if fetched.status == 200:
        problems += list(policy.errors)
        age = max_age_problem(policy)
        if age:
            problems.append(age)
    if problems:
        return Finding(False, "the MTA-STS policy file is not usable: " + "; ".join(problems), observed)
    notes = f" ({'; '.join(policy.warnings)})" if policy.warnings else ""
    return Finding(
        True, f"serves a valid MTA-STS policy (mode {policy.mode}, max_age {policy.max_age}){notes}", observed
    )


def check_policy_mode(ev: EvidenceView, ctx: CheckContext) -> Finding:
    policy, fetched, observed = _policy(ev, ctx)
    if fetched is None or policy is None:
        return Finding(True, "no usable MTA-STS policy: no mode to check (see MF-MTASTS-003)", observed)
    problem = mode_problem(policy, ctx.policy.expect.mta_sts.mode)
    if problem:
        return Finding(False, problem, observed)
    return Finding(True, f"the policy's mode is '{policy.mode}'", observed)


def check_policy_covers_mx(ev: EvidenceView, ctx: CheckContext) -> Finding:
    policy, fetched, observed = _policy(ev, ctx)
    if fetched is None or policy is None:
        return Finding(True, "no usable MTA-STS policy: no MX coverage to check (see MF-MTASTS-003)", observed)
    answer = ev.ask(ctx.domain, "MX")
    hosts = []
    for text in answer.records if answer.status == "NOERROR" else ():
        try:
            hosts.append(mx_record(text).exchange)
        except RecordSyntaxError:
            continue
    problems = coverage_problems(policy, hosts)
    observed = (*observed, f"MX: {', '.join(relative(h) for h in hosts) or 'none'}")
    if problems:
        return Finding(False, "; ".join(problems) + " (RFC 8461 §4.1: '*.' matches exactly one label)", observed)
    return Finding(True, "every MX host matches an 'mx:' line of the policy", observed)


def _when_required(policy: DomainPolicy) -> tuple[str | None, ...]:
    return (None,) if policy.expect.mta_sts.required else ()


RULES = (
    Rule(
        id="MF-MTASTS-001",
        title="The MTA-STS TXT record is valid",
        family="mtasts",
        severity=Severity.MEDIUM,
        rationale="MTA-STS lets a domain tell senders to deliver only over TLS with a valid certificate, and only "
        "to the MX hosts its policy lists. Senders find the policy through the _mta-sts TXT record: with no "
        "record beginning 'v=STSv1;', with two or more, or with an invalid one, they assume the domain has no "
        "policy and the protection silently disappears (RFC 8461 §3.1).",
        remediation="Publish exactly one TXT record at _mta-sts.<domain> of the form 'v=STSv1; id=<1-32 letters and "
        "digits>;' (case-sensitive, nothing before 'v=') and change the id whenever the policy file changes; "
        "remove any second or malformed record.",
        references=(rfc(8461, "3.1", "MTA-STS TXT records"), _MS_MTA_STS),
        check=check_record,
        expectation=lambda ctx: (
            f"if published, exactly one TXT record at _mta-sts.{relative(ctx.domain)} that "
            "begins 'v=STSv1;' and has an id of 1-32 letters and digits"
        ),
    ),
    Rule(
        id="MF-MTASTS-002",
        title="MTA-STS is published as the policy requires",
        family="mtasts",
        severity=Severity.HIGH,
        rationale="The policy declares that the domain uses MTA-STS. Without a usable _mta-sts record senders never "
        "fetch the policy file, so mail to the domain can be downgraded to plain text or diverted to a forged MX "
        "without anyone noticing (RFC 8461 §3.1, §3.2). Microsoft documents MTA-STS for Exchange Online domains: "
        "the domain hosts the policy itself and starts in testing mode.",
        remediation="Publish 'v=STSv1; id=<id>;' at _mta-sts.<domain> and serve the policy at "
        "https://mta-sts.<domain>/.well-known/mta-sts.txt (text/plain, with a certificate valid for "
        "mta-sts.<domain>) listing every MX host in an 'mx:' line — for Exchange Online "
        "'*.mail.protection.outlook.com' or the exact mx.microsoft host — starting with 'mode: testing'. "
        "If the domain does not use MTA-STS, set expect.mta_sts.required to false.",
        references=(rfc(8461, "3.1", "MTA-STS TXT records"), rfc(8461, "3.2", "MTA-STS policies"), _MS_MTA_STS),
        check=check_required,
        expect_keys=("mta_sts", "required"),
        params=_when_required,
        expectation=lambda ctx: (
            f"a valid MTA-STS TXT record at _mta-sts.{relative(ctx.domain)} (expect.mta_sts.required: true)"
        ),
    ),
    Rule(
        id="MF-MTASTS-003",
        title="The MTA-STS policy file is served and valid",
        family="mtasts",
        severity=Severity.HIGH,
        rationale="Senders fetch https://mta-sts.<domain>/.well-known/mta-sts.txt once they see the TXT record. "
        "A file that is missing, redirected, not text/plain, or malformed is treated as no policy, so the "
        "protection the record announces does not exist (RFC 8461 §3.2, §3.3).",
        remediation="Serve the policy with HTTP 200, Content-Type text/plain and a certificate valid for "
        "mta-sts.<domain>, with 'version: STSv1', 'mode:', one 'mx:' line per MX pattern and 'max_age:' "
        "(at least a day; Microsoft's example uses 604800).",
        references=(rfc(8461, "3.2", "MTA-STS policies"), rfc(8461, "3.3", "HTTPS policy fetching"), _MS_MTA_STS),
        check=check_policy_file,
        needs_fetch=True,
        expectation=lambda ctx: f"a valid policy file at {policy_url(relative(ctx.domain))}",
    ),
    Rule(
        id="MF-MTASTS-004",
        title="The MTA-STS policy is in a mode the policy file allows",
        family="mtasts",
        severity=Severity.MEDIUM,
        rationale="'testing' only reports failures; 'enforce' makes senders refuse delivery without valid TLS; "
        "'none' withdraws the policy. Microsoft advises starting in testing and moving to enforce.",
        remediation="Set 'mode:' in the policy file to one of the modes the policy allows (and change the TXT id).",
        references=(rfc(8461, "5", "policy application"), _MS_MTA_STS),
        check=check_policy_mode,
        needs_fetch=True,
        expect_keys=("mta_sts", "mode"),
        expectation=lambda ctx: "mode " + " or ".join(ctx.policy.expect.mta_sts.mode),
    ),
    Rule(
        id="MF-MTASTS-005",
        title="The MTA-STS policy covers every MX host",
        family="mtasts",
        severity=Severity.HIGH,
        rationale="A sender that applies the policy delivers only to MX hosts matching an 'mx:' line; in enforce "
        "mode mail for an uncovered MX is not delivered there. '*.' matches exactly one label, so "
        "'*.mx.microsoft' does not cover 'contoso-com.o-v1.mx.microsoft' (RFC 8461 §4.1).",
        remediation="Add an 'mx:' line for each MX host (for Exchange Online '*.mail.protection.outlook.com' or the "
        "exact mx.microsoft host), publish the file, and change the id in the TXT record.",
        references=(rfc(8461, "4.1", "MX host validation"), _MS_MTA_STS),
        check=check_policy_covers_mx,
        needs_fetch=True,
        expectation=lambda ctx: "every MX host matches an 'mx:' pattern of the policy",
    ),
)

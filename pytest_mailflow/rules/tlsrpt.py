"""SMTP TLS Reporting rules (RFC 8460): the ``_smtp._tls`` TXT record."""

from __future__ import annotations

from ..evidence import EvidenceView
from ..names import relative
from ..policy.model import DomainPolicy
from ..transport.tls_rpt import TLSRPT_VERSION, TlsRptRecord, parse_tlsrpt_record
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc
from .mtasts import TxtVerdict, judge_txt, read_txt_record, with_notes

_MS_MTA_STS = microsoft("Enhancing mail flow with MTA-STS", "purview/enhancing-mail-flow-with-mta-sts")
_RFC = rfc(8460, "3", "reporting policy")


def _name(ctx: CheckContext) -> str:
    return f"_smtp._tls.{relative(ctx.domain)}"


def _judge(values: tuple[str, ...]) -> TxtVerdict[TlsRptRecord]:
    return judge_txt(values, TLSRPT_VERSION, parse_tlsrpt_record, "TLS-RPT", "send no TLS reports", "RFC 8460 §3")


def check_record(ev: EvidenceView, ctx: CheckContext) -> Finding:
    reading = read_txt_record(ev, _name(ctx), _judge)
    observed, verdict = reading.observed, reading.verdict
    if verdict.absent:
        summary = f"publishes no TLS-RPT record ({reading.absent_reason(TLSRPT_VERSION)}): nothing to check"
        if ctx.policy.expect.tls_rpt.required:
            summary += "; the policy requires one (MF-TLSRPT-002 reports it)"
        return Finding(True, summary, observed)
    if verdict.record is None:
        return Finding(False, verdict.problem, observed, verdict.details)
    summary = "publishes one valid TLS-RPT record; reports go to " + ", ".join(verdict.record.destinations)
    return Finding(True, with_notes(summary, verdict.notes), observed)


def check_required(ev: EvidenceView, ctx: CheckContext) -> Finding:
    reading = read_txt_record(ev, _name(ctx), _judge)
    observed, verdict = reading.observed, reading.verdict
    if verdict.absent:
        return Finding(
            False,
            f"publishes no TLS-RPT record ({reading.absent_reason(TLSRPT_VERSION)}), but the policy "
            "requires TLS reporting (expect.tls_rpt.required)",
            observed,
        )
    if verdict.record is None:
        return Finding(
            False,
            f"publishes no usable TLS-RPT record, but the policy requires TLS reporting: {verdict.problem}",
            observed,
            verdict.details,
        )
    return Finding(
        True,
        "publishes a valid TLS-RPT record, as the policy requires; reports go to "
        + ", ".join(verdict.record.destinations),
        observed,
    )


def _when_required(policy: DomainPolicy) -> tuple[str | None, ...]:
    return (None,) if policy.expect.tls_rpt.required else ()


RULES = (
    Rule(
        id="MF-TLSRPT-001",
        title="The TLS-RPT record is valid",
        family="tlsrpt",
        severity=Severity.LOW,
        rationale="SMTP TLS Reporting asks senders to report failed TLS connections to the domain (MTA-STS or DANE "
        "failures, expired certificates, downgrade attempts). Senders use exactly one TXT record at _smtp._tls "
        "that begins 'v=TLSRPTv1;' and has an 'rua' field of mailto: or https: URIs; with none, with two or more, "
        "or with an invalid one they send no reports (RFC 8460 §3).",
        remediation="Publish exactly one TXT record at _smtp._tls.<domain>, such as 'v=TLSRPTv1; "
        "rua=mailto:tls-reports@<domain>' (several URIs separated by commas, with ',' and '!' inside a URI "
        "percent-encoded); remove any second or malformed record.",
        references=(_RFC, _MS_MTA_STS),
        check=check_record,
        expectation=lambda ctx: (
            f"if published, exactly one TXT record at _smtp._tls.{relative(ctx.domain)} that "
            "begins 'v=TLSRPTv1;' and has an rua with at least one mailto: or https: URI"
        ),
    ),
    Rule(
        id="MF-TLSRPT-002",
        title="TLS-RPT is published as the policy requires",
        family="tlsrpt",
        severity=Severity.MEDIUM,
        rationale="The policy declares that the domain collects TLS reports. Without a usable _smtp._tls record "
        "nobody learns that senders fail to reach the domain securely, for example while an MTA-STS policy is in "
        "testing mode or after a certificate or TLSA change (RFC 8460 §3).",
        remediation="Publish 'v=TLSRPTv1; rua=mailto:<mailbox>' (or an https: reporting endpoint) at "
        "_smtp._tls.<domain>, or set expect.tls_rpt.required to false.",
        references=(_RFC, _MS_MTA_STS),
        check=check_required,
        expect_keys=("tls_rpt", "required"),
        params=_when_required,
        expectation=lambda ctx: (
            f"a valid TLS-RPT TXT record at _smtp._tls.{relative(ctx.domain)} (expect.tls_rpt.required: true)"
        ),
    ),
)

"""DANE rules (RFC 7672): TLSA records at ``_25._tcp.<mx host>`` for the domain's MX hosts.

pytest-mailflow reads the TLSA records but does not validate DNSSEC, and does not match them against
the certificates the MX hosts present; every finding says so rather than implying otherwise.
"""

from __future__ import annotations

from ..dns.base import Answer, ResolutionError
from ..dns.records import RecordSyntaxError, mx_record
from ..evidence import EvidenceView
from ..gather import tlsa_name
from ..names import relative
from ..policy.model import DomainPolicy
from ..transport.dane import is_microsoft_dane_host, microsoft_hint, parse_tlsa, smtp_problem
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

_MS_DANE = microsoft("How SMTP DNS-based Authentication of Named Entities (DANE) works", "purview/how-smtp-dane-works")
#: Stated in every finding: the verdicts are about the records only.
DNSSEC_NOTE = (
    "DNSSEC: not validated by pytest-mailflow. Senders use TLSA records only when the MX and TLSA answers "
    "are DNSSEC-signed and validate (RFC 7672 §2); check the DS records and signatures with a DNSSEC tool"
)


def _mx_hosts(ev: EvidenceView) -> tuple[list[str], str]:
    """The MX hosts (absolute, by preference), or why there is no MX host to check."""
    answer = ev.ask(ev.domain, "MX")
    if answer.status != "NOERROR" or not answer.records:
        return [], f"publishes no MX records ({answer.status}): no MX host to check"
    records = []
    for text in answer.records:
        try:
            records.append(mx_record(text))
        except RecordSyntaxError:
            continue
    hosts = list(dict.fromkeys(r.exchange for r in sorted(records, key=lambda r: (r.preference, r.exchange))))
    hosts = [host for host in hosts if host != "."]
    if not hosts:
        if records:
            return [], "publishes a null MX (it accepts no mail): no MX host to check"
        return [], "publishes no readable MX records: no MX host to check"
    return hosts, ""


def _mx_line(hosts: list[str]) -> str:
    return "MX hosts: " + ", ".join(relative(host) for host in hosts)


def _tlsa_answers(ev: EvidenceView, hosts: list[str]) -> tuple[list[tuple[str, str, Answer]], ResolutionError | None]:
    """Each MX host's TLSA answer (host, TLSA name, answer), and the first lookup that failed."""
    found: list[tuple[str, str, Answer]] = []
    undetermined: ResolutionError | None = None
    for host in hosts:
        name = tlsa_name(host)
        try:
            found.append((host, name, ev.ask(name, "TLSA")))
        except ResolutionError as exc:
            undetermined = undetermined or exc
    return found, undetermined


def check_usages(ev: EvidenceView, ctx: CheckContext) -> Finding:
    hosts, nothing = _mx_hosts(ev)
    if not hosts:
        return Finding(True, nothing)
    problems: list[str] = []
    lines: list[str] = []
    publishing: list[str] = []
    answers, undetermined = _tlsa_answers(ev, hosts)
    for host, name, answer in answers:
        if answer.is_void:
            continue
        publishing.append(relative(host))
        for text in answer.records:
            lines.append(f"{name} TLSA {text}")
            problem = smtp_problem(parse_tlsa(text))
            if problem:
                owner = " (Microsoft publishes these records: report it to Microsoft)"
                problems.append(f"{relative(host)}: {problem}" + (owner if is_microsoft_dane_host(host) else ""))
    observed = (*lines, DNSSEC_NOTE) if lines else (_mx_line(hosts),)
    if problems:
        return Finding(False, "TLSA records not usable for SMTP: " + "; ".join(problems), observed)
    if undetermined is not None:
        raise undetermined
    if not publishing:
        return Finding(True, "no MX host publishes TLSA records: nothing to check", observed)
    return Finding(
        True,
        "every TLSA record of " + ", ".join(publishing) + " uses DANE-TA(2) or DANE-EE(3) (DNSSEC not validated)",
        observed,
    )


def check_every_host(ev: EvidenceView, ctx: CheckContext) -> Finding:
    hosts, nothing = _mx_hosts(ev)
    if not hosts:
        return Finding(True, nothing)
    missing: list[str] = []
    hints: list[str] = []
    lines: list[str] = []
    answers, undetermined = _tlsa_answers(ev, hosts)
    for host, name, answer in answers:
        if answer.is_void:
            status = answer.status if answer.status != "NOERROR" else "no records"
            missing.append(f"{relative(host)} ({name} TLSA: {status})")
            lines.append(f"{name} TLSA: {status}")
            hint = microsoft_hint(relative(host))
            if hint:
                hints.append(hint)
        else:
            lines += [f"{name} TLSA {text}" for text in answer.records]
    observed = (*lines, DNSSEC_NOTE)
    if missing:
        return Finding(False, "MX hosts without TLSA records: " + ", ".join(missing), observed, tuple(hints))
    if undetermined is not None:
        raise undetermined
    return Finding(
        True,
        "every MX host publishes TLSA records: " + ", ".join(relative(h) for h in hosts) + " (DNSSEC not validated)",
        observed,
    )


def _when_required(policy: DomainPolicy) -> tuple[str | None, ...]:
    return (None,) if policy.expect.dane.required else ()


_RFC_DANE = rfc(7672, "2", "identifying applicable TLSA records")
_RFC_USAGES = rfc(7672, "3.1", "TLSA certificate usages")

RULES = (
    Rule(
        id="MF-DANE-001",
        title="TLSA records of the MX hosts use DANE-TA(2) or DANE-EE(3)",
        family="dane",
        severity=Severity.MEDIUM,
        rationale="SMTP has no agreed set of certificate authorities, so the PKIX-TA(0) and PKIX-EE(1) certificate "
        "usages are not to be used for SMTP (RFC 7672 §3.1.3); DANE senders ignore such records, as they ignore "
        "unreadable ones, and an MX host left with none they can use gets no DANE authentication. TLSA records "
        "take effect only when the MX and TLSA answers are DNSSEC-validated, which pytest-mailflow does not check.",
        remediation="Replace PKIX-TA(0)/PKIX-EE(1) records with DANE-EE(3) records (normally '3 1 1 <SHA-256 of the "
        "server's public key>') or DANE-TA(2) records, fix or remove unreadable ones, and keep the zone "
        "DNSSEC-signed (DS record at the parent). Records of mx.microsoft hosts are Microsoft's to fix.",
        references=(_RFC_USAGES, rfc(7672, "3.1.3", "PKIX-TA(0) and PKIX-EE(1)"), _RFC_DANE, _MS_DANE),
        check=check_usages,
        expectation=lambda ctx: (
            "every TLSA record at _25._tcp.<MX host> uses certificate usage DANE-TA(2) or DANE-EE(3) and is readable"
        ),
    ),
    Rule(
        id="MF-DANE-002",
        title="Every MX host publishes TLSA records",
        family="dane",
        severity=Severity.HIGH,
        rationale="With DANE a sender that finds DNSSEC-validated TLSA records for an MX host must use TLS and must "
        "see a certificate that matches them, which defeats STARTTLS stripping and forged certificates. It "
        "protects only the MX hosts that publish TLSA records, so every MX host needs them (RFC 7672 §2), in "
        "DNSSEC-signed zones — which pytest-mailflow does not validate. For Exchange Online, Microsoft publishes "
        "and rotates the TLSA records of the mx.microsoft hosts itself once inbound DANE is enabled; the "
        "mail.protection.outlook.com hosts cannot offer inbound DANE.",
        remediation="Sign the zones with DNSSEC (DS record at the parent) and publish TLSA records at "
        "_25._tcp.<MX host> for every MX host, normally '3 1 1 <SHA-256 of the server's public key>', adding the "
        "next key's record before each key rollover. For Exchange Online run Enable-DnssecForVerifiedDomain, point "
        "the MX at the DnssecMxValue it returns (…mx.microsoft) and run Enable-SmtpDaneInbound: Microsoft then "
        "publishes the TLSA records. If the domain does not use DANE, set expect.dane.required to false.",
        references=(_RFC_DANE, _RFC_USAGES, _MS_DANE),
        check=check_every_host,
        expect_keys=("dane", "required"),
        params=_when_required,
        expectation=lambda ctx: "TLSA records at _25._tcp.<MX host> for every MX host (expect.dane.required: true)",
    ),
)

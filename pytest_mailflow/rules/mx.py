"""MX rules: the right hosts, real host names that resolve, null MX done right, Exchange Online MX hygiene."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from ..clouds import CLOUDS, MX_MICROSOFT
from ..dns.base import ResolutionError
from ..dns.records import MxRecord, RecordSyntaxError, mx_record
from ..evidence import EvidenceView
from ..names import relative
from ..policy.model import DomainPolicy
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

_MS_DNS = microsoft(
    "Create DNS records at any DNS hosting provider",
    "microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider",
)
_MS_EXTERNAL = microsoft(
    "External Domain Name System records for Office 365",
    "microsoft-365/enterprise/external-domain-name-system-records",
)
_MS_DANE = microsoft(
    "How SMTP DNS-based Authentication of Named Entities (DANE) works",
    "purview/how-smtp-dane-works",
)
_MS_DNSSEC_STATUS = microsoft(
    "Get-DnssecStatusForVerifiedDomain",
    "powershell/module/exchange/get-dnssecstatusforverifieddomain",
)

#: Exchange Online inbound endpoints that are retired (the host itself, or any name under it).
LEGACY_EXCHANGE_ONLINE_MX = (
    "mail.eo.outlook.com",
    "mail.messaging.microsoft.com",
    "mail.global.frontbridge.com",
    "mail.protection.outlook.de",
)

#: Priorities Microsoft's procedures leave an mx.microsoft host at (0, or 10 as the DNSSEC status check expects).
MX_MICROSOFT_PRIORITIES = (0, 10)


def is_under(host: str, suffix: str) -> bool:
    """``host`` is ``suffix`` or a name below it (case and trailing dot ignored)."""
    name = relative(host)
    return name == suffix or name.endswith("." + suffix)


def mx_records(ev: EvidenceView) -> tuple[list[MxRecord], list[str]]:
    answer = ev.ask(ev.domain, "MX")
    records: list[MxRecord] = []
    bad: list[str] = []
    if answer.status == "NOERROR":
        for text in answer.records:
            try:
                records.append(mx_record(text))
            except RecordSyntaxError:
                bad.append(text)
    return sorted(records, key=lambda r: (r.preference, r.exchange)), bad


def _show(records: list[MxRecord]) -> str:
    return ", ".join(f"{r.preference} {r.exchange}" for r in records) or "no MX records"


def check_expected_mx(ev: EvidenceView, ctx: CheckContext) -> Finding:
    expect = ctx.policy.expect.mx
    records, _ = mx_records(ev)
    answer = ev.ask(ev.domain, "MX")
    observed = (f"MX: {_show(records)}",)
    if expect.null_mx:
        ok = len(records) == 1 and records[0].is_null
        return Finding(
            ok,
            "publishes a null MX as declared"
            if ok
            else f"the policy declares a null MX (no mail accepted) but the domain publishes {_show(records)}",
            observed,
        )
    if not records:
        return Finding(
            False,
            f"publishes no MX records ({answer.status}); senders fall back to the domain's "
            "address records (RFC 5321 §5.1)",
            observed,
        )
    if any(r.is_null for r in records):
        return Finding(
            False,
            "publishes a null MX (it accepts no mail) but the policy does not declare 'expect.mx.null_mx: true'",
            observed,
        )
    if expect.hosts is None:
        return Finding(True, f"publishes MX records: {_show(records)}", observed)
    wanted = {h.host: h.priority for h in expect.hosts}
    actual = {relative(r.exchange): r.preference for r in records}
    missing = sorted(set(wanted) - set(actual))
    extra = sorted(set(actual) - set(wanted))
    wrong_priority = sorted(
        f"{host} has priority {actual[host]}, expected {prio}"
        for host, prio in wanted.items()
        if host in actual and prio is not None and actual[host] != prio
    )
    problems = [f"missing {h}" for h in missing] + [f"unexpected {h}" for h in extra] + wrong_priority
    if problems:
        return Finding(False, "MX records differ from the policy: " + "; ".join(problems), observed)
    return Finding(True, "MX records match the policy", observed)


def check_no_cname_targets(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, _ = mx_records(ev)
    aliases = []
    undetermined: ResolutionError | None = None
    for record in records:
        if record.is_null:
            continue
        errors: list[ResolutionError] = []
        # Any one answer shows whether the name is an alias: a CNAME applies to every type.
        for rdtype in ("A", "AAAA"):
            try:
                answer = ev.ask(record.exchange, rdtype)
            except ResolutionError as exc:
                errors.append(exc)
                continue
            if answer.cname_chain:
                aliases.append(f"{relative(record.exchange)} is an alias for {relative(answer.cname_chain[-1])}")
            break
        else:
            undetermined = undetermined or (errors[0] if errors else None)
    observed = tuple(aliases) or (f"MX: {_show(records)}",)
    if aliases:
        return Finding(False, "MX target is a CNAME: " + "; ".join(aliases), observed)
    if undetermined is not None:
        raise undetermined
    return Finding(True, "no MX target is an alias", observed)


def check_targets_resolve(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, bad = mx_records(ev)
    problems = [f"unparseable MX record {text!r}" for text in bad]
    undetermined: ResolutionError | None = None
    for record in records:
        if record.is_null:
            continue
        host = relative(record.exchange)
        if _is_ip_literal(host):
            problems.append(f"{host} is an IP address; an MX target must be a host name (RFC 5321 §5.1)")
            continue
        found = False
        errors: list[ResolutionError] = []
        for rdtype in ("A", "AAAA"):
            try:
                found = found or not ev.ask(record.exchange, rdtype).is_void
            except ResolutionError as exc:
                errors.append(exc)
        if not found and errors:
            undetermined = undetermined or errors[0]
        elif not found:
            problems.append(f"{host} has no A or AAAA record")
    if problems:
        return Finding(False, "; ".join(problems), (f"MX: {_show(records)}",))
    if undetermined is not None:
        raise undetermined
    return Finding(True, "every MX target resolves to an address", (f"MX: {_show(records)}",))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_null_mx_alone(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, _ = mx_records(ev)
    nulls = [r for r in records if r.is_null]
    if not nulls:
        return Finding(True, "no null MX published", (f"MX: {_show(records)}",))
    ok = len(records) == 1 and records[0].preference == 0
    if ok:
        return Finding(True, "the null MX (0 .) stands alone", (f"MX: {_show(records)}",))
    return Finding(
        False,
        f"a null MX must be the only MX record, with preference 0; found {_show(records)}",
        (f"MX: {_show(records)}",),
    )


def check_single_mx(ev: EvidenceView, ctx: CheckContext) -> Finding:
    answer = ev.ask(ev.domain, "MX")
    records, bad = mx_records(ev)
    count = len(records) + len(bad)
    observed = (f"MX: {_show(records)}", *(f"unparseable MX record {text!r}" for text in bad))
    if count == 1:
        return Finding(True, f"publishes exactly one MX record: {_show(records) or bad[0]}", observed)
    if count == 0:
        return Finding(False, f"publishes no MX records ({answer.status}); the policy expects exactly one", observed)
    return Finding(
        False,
        f"publishes {count} MX records ({_show(records)}); the policy expects exactly one, pointing at the "
        "system that should receive first",
        observed,
    )


def legacy_endpoint(host: str) -> str | None:
    """The retired Exchange Online endpoint ``host`` belongs to, if any."""
    return next((legacy for legacy in LEGACY_EXCHANGE_ONLINE_MX if is_under(host, legacy)), None)


def check_no_legacy_hosts(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, _ = mx_records(ev)
    observed = (f"MX: {_show(records)}",)
    legacy = []
    for record in records:
        endpoint = legacy_endpoint(record.exchange)
        if endpoint is None:
            continue
        host = relative(record.exchange)
        legacy.append(host if host == endpoint else f"{host} (under {endpoint})")
    if legacy:
        return Finding(
            False,
            "MX names retired Exchange Online endpoints: " + ", ".join(legacy) + "; expected only the current "
            "endpoint (<token>.mail.protection.outlook.com or <token>.<c>-v1.mx.microsoft) or the domain's own hosts",
            observed,
        )
    return Finding(True, "no MX target is a retired Exchange Online endpoint", observed)


def check_mx_microsoft(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, bad = mx_records(ev)
    observed = (f"MX: {_show(records)}", *(f"unparseable MX record {text!r}" for text in bad))
    dnssec = [r for r in records if is_under(r.exchange, MX_MICROSOFT)]
    if not dnssec:
        return Finding(True, f"no MX target is under {MX_MICROSOFT}; the rule does not apply", observed)
    problems = [
        f"{relative(r.exchange)} has priority {r.preference}, expected 0 or 10"
        for r in dnssec
        if r.preference not in MX_MICROSOFT_PRIORITIES
    ]
    if len(records) + len(bad) > 1:
        others = [f"{r.preference} {relative(r.exchange) or '.'}" for r in records if r is not dnssec[0]]
        others += [repr(text) for text in bad]
        problems.append(
            f"{len(others)} other MX record{'s' if len(others) != 1 else ''} next to {relative(dnssec[0].exchange)} "
            f"({', '.join(others)}), expected none: no fallback MX beside an {MX_MICROSOFT} host"
        )
    if problems:
        return Finding(False, "; ".join(problems), observed)
    only = dnssec[0]
    return Finding(
        True, f"the {MX_MICROSOFT} host {relative(only.exchange)} stands alone at priority {only.preference}", observed
    )


_TOKEN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def check_mx_at_microsoft(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, _ = mx_records(ev)
    cloud = CLOUDS[ctx.policy.cloud]
    observed = (f"MX: {_show(records)}",)
    if not records or any(r.is_null for r in records):
        return Finding(
            False, f"publishes {_show(records)}; the scenario routes inbound mail to Exchange Online", observed
        )
    problems = []
    for record in records:
        host = relative(record.exchange)
        suffix = next((s for s in cloud.mx_suffixes if is_under(host, s)), None)
        if suffix is None:
            problems.append(f"{host} is not an Exchange Online endpoint of the {cloud.label} cloud")
            continue
        token = host[: -len(suffix) - 1].split(".")[0]
        if not _TOKEN.match(token):
            problems.append(f"{host}: '{token}' does not look like an MX token (take it from the admin center)")
    if problems:
        wanted = " or ".join(_endpoint_form(s) for s in cloud.mx_suffixes)
        return Finding(False, "; ".join(problems) + f" (expected {wanted})", observed)
    return Finding(True, "every MX host is an Exchange Online endpoint", observed)


def _endpoint_form(suffix: str) -> str:
    # The DNSSEC namespace has a Microsoft-assigned partition label between token and suffix.
    return f"<token>.<c>-v1.{suffix}" if suffix == MX_MICROSOFT else f"<token>.{suffix}"


def check_forbidden_mx(ev: EvidenceView, ctx: CheckContext) -> Finding:
    records, _ = mx_records(ev)
    assert ctx.param is not None
    observed = (f"MX: {_show(records)}",)
    if any(relative(r.exchange) == ctx.param for r in records):
        return Finding(False, f"still publishes MX {ctx.param}, which the policy says must be gone", observed)
    return Finding(True, f"no MX record names {ctx.param}", observed)


def _when_microsoft(policy: DomainPolicy) -> Sequence[str | None]:
    return (None,) if policy.expect.mx.microsoft else ()


def _forbidden(policy: DomainPolicy) -> Sequence[str | None]:
    return tuple(policy.expect.mx.forbid)


def _when_single(policy: DomainPolicy) -> Sequence[str | None]:
    return (None,) if policy.expect.mx.single else ()


def _expected_mx(ctx: CheckContext) -> str:
    mx = ctx.policy.expect.mx
    if mx.null_mx:
        return "a null MX (0 .): the domain accepts no mail"
    if mx.hosts:
        return "exactly these MX hosts: " + ", ".join(str(h) for h in mx.hosts)
    return "at least one MX record"


RULES = (
    Rule(
        id="MF-MX-001",
        title="MX records are the ones the policy expects",
        family="mx",
        severity=Severity.HIGH,
        rationale="The MX records decide where the internet delivers mail for the domain. Microsoft asks for "
        "one MX pointing at the system that should receive first, and for the old system's MX to be removed.",
        remediation="Publish exactly the MX records the policy lists (host and priority) and remove any others. "
        "A domain that receives no mail publishes a null MX instead (RFC 7505).",
        references=(_MS_DNS, _MS_EXTERNAL, rfc(5321, "5.1", "locating the target host")),
        check=check_expected_mx,
        expect_keys=("mx", "hosts"),
        expectation=_expected_mx,
    ),
    Rule(
        id="MF-MX-002",
        title="MX targets are host names, not aliases (CNAME)",
        family="mx",
        severity=Severity.MEDIUM,
        rationale="RFC 2181 §10.3 forbids an MX target that is an alias; some senders refuse or mishandle it.",
        remediation="Point the MX at the canonical host name (the CNAME's target), not at the alias.",
        references=(rfc(2181, "10.3", "MX and NS records must not point to an alias"),),
        check=check_no_cname_targets,
        expectation=lambda ctx: "every MX target has its own A/AAAA records, not a CNAME",
    ),
    Rule(
        id="MF-MX-003",
        title="MX targets resolve to addresses",
        family="mx",
        severity=Severity.HIGH,
        rationale="A sender looks up the A/AAAA records of each MX host (RFC 5321 §5.1). A target that "
        "does not resolve, or an IP address written as a host name, cannot receive mail.",
        remediation="Give every MX target an A or AAAA record, or remove the MX record that names it.",
        references=(rfc(5321, "5.1", "locating the target host"),),
        check=check_targets_resolve,
        expectation=lambda ctx: "every MX target is a host name with at least one A or AAAA record",
    ),
    Rule(
        id="MF-MX-004",
        title="A null MX stands alone",
        family="mx",
        severity=Severity.HIGH,
        rationale="RFC 7505 §3 defines the null MX as a single MX record '0 .'; mixed with other MX records "
        "senders may bounce or deliver unpredictably.",
        remediation="Either publish only '0 .' (the domain accepts no mail) or remove the null MX record.",
        references=(rfc(7505, "3", "the null MX resource record"),),
        check=check_null_mx_alone,
        expectation=lambda ctx: "a null MX, if published, is the only MX record and has preference 0",
    ),
    Rule(
        id="MF-MX-005",
        title="Exactly one MX record",
        family="mx",
        severity=Severity.MEDIUM,
        rationale="Microsoft asks for exactly one MX record, pointing at the mail system that should receive "
        "first; more MX records 'can cause problems' (mail can bypass the filtering system), and the old "
        "system's MX is to be removed once mail flows.",
        remediation="Keep only the MX record of the system that should receive mail first and delete the others.",
        references=(_MS_EXTERNAL, _MS_DNS),
        check=check_single_mx,
        expect_keys=("mx", "single"),
        params=_when_single,
        expectation=lambda ctx: "exactly one MX record",
    ),
    Rule(
        id="MF-MX-006",
        title="No retired Exchange Online MX hosts",
        family="mx",
        severity=Severity.MEDIUM,
        rationale="mail.eo.outlook.com, mail.messaging.microsoft.com, mail.global.frontbridge.com and the "
        "Office 365 Germany endpoints under mail.protection.outlook.de are retired; Microsoft's migration "
        "procedure deletes them. Senders that pick such a host (as a fallback, or when it is the only MX) "
        "get temporary failures such as '451 4.4.62' instead of delivering.",
        remediation="Delete MX records naming these hosts; the domain's current value is in the Microsoft 365 "
        "admin centre (Settings > Domains).",
        references=(_MS_DANE, _MS_EXTERNAL),
        check=check_no_legacy_hosts,
        expectation=lambda ctx: "no MX target at or under " + ", ".join(LEGACY_EXCHANGE_ONLINE_MX),
    ),
    Rule(
        id="MF-MX-007",
        title="An mx.microsoft MX host has priority 0 or 10 and no fallback",
        family="mx",
        severity=Severity.MEDIUM,
        rationale="Domains on Exchange Online's DNSSEC namespace (<token>.<c>-v1.mx.microsoft) end Microsoft's "
        "migration with that host alone at priority 0; Get-DnssecStatusForVerifiedDomain checks for priority "
        "10. A second (fallback) MX gives senders a way around the DNSSEC/DANE-protected host.",
        remediation="Publish the mx.microsoft host at priority 0 (or 10) and delete every other MX record, "
        "including the old <token>.mail.protection.outlook.com one, once the remote connectivity test passes.",
        references=(_MS_DANE, _MS_DNSSEC_STATUS),
        check=check_mx_microsoft,
        expectation=lambda ctx: f"an MX host under {MX_MICROSOFT}, if any, has priority 0 or 10 and is the only MX",
    ),
    Rule(
        id="MF-MX-008",
        title="MX hosts are Exchange Online endpoints of the domain's cloud",
        family="mx",
        severity=Severity.HIGH,
        rationale="In the scenarios where Microsoft 365 receives first, the MX must point at the domain's "
        "Exchange Online endpoint (<token>.mail.protection.outlook.com or <token>.<c>-v1.mx.microsoft "
        "worldwide; the sovereign clouds have their own suffixes); otherwise filtering is degraded and "
        "Directory-Based Edge Blocking does not apply.",
        remediation="Publish the MX value shown for the domain in the Microsoft 365 admin center (Settings > "
        "Domains) at priority 0 and remove the others. Never build the token yourself.",
        references=(_MS_DNS, _MS_EXTERNAL),
        check=check_mx_at_microsoft,
        params=_when_microsoft,
        expect_keys=("mx", "microsoft"),
        expectation=lambda ctx: (
            "every MX host is " + " or ".join(_endpoint_form(s) for s in CLOUDS[ctx.policy.cloud].mx_suffixes)
        ),
    ),
    Rule(
        id="MF-MX-009",
        title="The previous provider's MX hosts are gone",
        family="mx",
        severity=Severity.HIGH,
        rationale="After a cut-over Microsoft asks for the old system's MX records to be deleted: while one "
        "remains, senders may still deliver to the old provider.",
        remediation="Delete the MX record that names the old host.",
        references=(_MS_EXTERNAL, _MS_DNS),
        check=check_forbidden_mx,
        params=_forbidden,
        expect_keys=("mx", "forbid"),
        expectation=lambda ctx: f"no MX record for {ctx.param}",
    ),
)

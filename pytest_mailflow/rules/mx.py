"""MX rules: the right hosts, real host names that resolve, null MX done right."""

from __future__ import annotations

import ipaddress

from ..dns.base import ResolutionError
from ..dns.records import MxRecord, RecordSyntaxError, mx_record
from ..evidence import EvidenceView
from ..names import relative
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

_MS_DNS = microsoft(
    "Create DNS records at any DNS hosting provider",
    "microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider",
)
_MS_EXTERNAL = microsoft(
    "External Domain Name System records for Office 365",
    "microsoft-365/enterprise/external-domain-name-system-records",
)


def _mx_records(ev: EvidenceView) -> tuple[list[MxRecord], list[str]]:
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
    records, _ = _mx_records(ev)
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
    records, _ = _mx_records(ev)
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
    records, bad = _mx_records(ev)
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
    records, _ = _mx_records(ev)
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
)

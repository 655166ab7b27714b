"""Microsoft 365 record rules: autodiscover, the MS= verification TXT, msoid, and one cloud per domain.

Each Microsoft 365 cloud has its own endpoints (Microsoft Learn: External DNS records for Office 365;
DNS records for GCC High / DoD; Set up SPF):

- worldwide (and GCC): include:spf.protection.outlook.com; MX under mail.protection.outlook.com or
  mx.microsoft; autodiscover -> autodiscover.outlook.com
- GCC High: include:spf.protection.office365.us; MX under mail.protection.office365.us;
  autodiscover -> autodiscover.office365.us
- DoD: as GCC High, but autodiscover -> autodiscover-dod.office365.us
- 21Vianet: include:spf.protection.partner.outlook.cn; MX under mail.protection.partner.outlook.cn;
  autodiscover -> autodiscover.partner.outlook.cn; msoid -> clientconfig.partner.microsoftonline-p.net.cn

The retired Office 365 Germany endpoints (spf.protection.outlook.de, mail.protection.outlook.de,
autodiscover-outlook.office.de) belong to no cloud a policy can name, so a domain using them is never
consistent. The retired worldwide MX hosts (mail.eo.outlook.com and the like) count as worldwide here;
MF-MX-006 is the rule that asks for their removal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..clouds import CLOUDS, Cloud
from ..dns.base import Answer, ResolutionError
from ..dns.records import RecordSyntaxError, txt_value
from ..evidence import EvidenceView
from ..names import relative
from ..policy.model import DomainPolicy
from ..spf.syntax import parse
from ..spf.tree import includes_in
from .base import CheckContext, Finding, Rule, Severity, microsoft
from .mx import LEGACY_EXCHANGE_ONLINE_MX, is_under, mx_records
from .spf import spf_tree

_MS_EXTERNAL = microsoft(
    "External Domain Name System records for Office 365",
    "microsoft-365/enterprise/external-domain-name-system-records",
)
_MS_DNS = microsoft(
    "Create DNS records at any DNS hosting provider",
    "microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider",
)
_MS_GCC_HIGH = microsoft(
    "DNS records for Office 365 GCC High", "microsoft-365/enterprise/dns-records-for-office-365-gcc-high"
)
_MS_DOD = microsoft("DNS records for Office 365 DoD", "microsoft-365/enterprise/dns-records-for-office-365-dod")
_MS_SPF = microsoft(
    "Set up SPF to identify valid email sources for your Microsoft 365 domain",
    "defender-office-365/email-authentication-spf-configure",
)

GERMANY = "germany"


_LABELS = {**{name: cloud.label for name, cloud in CLOUDS.items()}, GERMANY: "Office 365 Germany (retired)"}

#: The msoid CNAME target, which only 21Vianet domains publish.
MSOID_21VIANET = "clientconfig.partner.microsoftonline-p.net.cn"
#: The Microsoft 365 domain-verification TXT: MS=ms followed by 8 digits.
VERIFICATION_TXT = re.compile(r"MS=ms[0-9]{8}")
_LOOKS_LIKE_VERIFICATION = re.compile(r"^\s*ms=", re.IGNORECASE)


def spf_include_clouds(name: str) -> frozenset[str]:
    """The clouds whose Microsoft SPF include ``name`` is (empty: not a Microsoft include)."""
    name = relative(name)
    if name == "spf.protection.outlook.de":
        return frozenset({GERMANY})
    return frozenset(cloud.name for cloud in CLOUDS.values() if cloud.spf_include == name)


def mx_clouds(host: str) -> frozenset[str]:
    """The clouds whose Exchange Online endpoints ``host`` is one of (empty: not a Microsoft MX host)."""
    if is_under(host, "mail.protection.outlook.de"):
        return frozenset({GERMANY})
    if any(is_under(host, legacy) for legacy in LEGACY_EXCHANGE_ONLINE_MX):
        return frozenset({"worldwide"})
    return frozenset(
        cloud.name for cloud in CLOUDS.values() if any(is_under(host, suffix) for suffix in cloud.mx_suffixes)
    )


def autodiscover_clouds(target: str) -> frozenset[str]:
    """The clouds whose Autodiscover host ``target`` is (empty: not a Microsoft Autodiscover host)."""
    target = relative(target)
    if target == "autodiscover-outlook.office.de":
        return frozenset({GERMANY})
    return frozenset(cloud.name for cloud in CLOUDS.values() if cloud.autodiscover == target)


def _cloud(ctx: CheckContext) -> Cloud:
    return CLOUDS[ctx.policy.cloud]


def _labels(clouds: frozenset[str]) -> str:
    return " or ".join(_LABELS[name] for name in sorted(clouds))


def _cname_target(answer: Answer) -> str | None:
    """The target of a CNAME answer, or None when the name has no CNAME."""
    if answer.status != "NOERROR" or not answer.records:
        return None
    return relative(answer.records[0])


def _describe_missing(answer: Answer) -> str:
    return "does not exist (NXDOMAIN)" if answer.status == "NXDOMAIN" else f"has no CNAME record ({answer.status})"


# --- MF-M365-001: autodiscover ---------------------------------------------------------------------


def check_autodiscover(ev: EvidenceView, ctx: CheckContext) -> Finding:
    cloud = _cloud(ctx)
    name = f"autodiscover.{ev.domain}"
    answer = ev.ask(name, "CNAME")
    target = _cname_target(answer)
    observed = (answer.describe(),)
    if target is None:
        return Finding(
            False,
            f"{name} {_describe_missing(answer)}; expected a CNAME to {cloud.autodiscover} for the {cloud.label} cloud",
            observed,
        )
    if target == cloud.autodiscover:
        return Finding(True, f"{name} is a CNAME to {target}", observed)
    other = autodiscover_clouds(target)
    whose = f", the {_labels(other)} Autodiscover host" if other else ""
    return Finding(
        False,
        f"{name} is a CNAME to {target}{whose}; expected {cloud.autodiscover} for the {cloud.label} cloud",
        observed,
    )


# --- MF-M365-002: verification TXT -----------------------------------------------------------------


def check_verification(ev: EvidenceView, ctx: CheckContext) -> Finding:
    answer = ev.ask(ev.domain, "TXT")
    values = []
    for text in answer.records if answer.status == "NOERROR" else ():
        try:
            values.append(txt_value(text))
        except RecordSyntaxError:
            continue
    found = [value for value in values if VERIFICATION_TXT.fullmatch(value)]
    near = [value for value in values if _LOOKS_LIKE_VERIFICATION.match(value) and value not in found]
    observed = tuple(f'TXT "{value}"' for value in (*found, *near)) or (f"{answer.question} -> no MS= record",)
    if found:
        return Finding(True, f"the apex keeps the Microsoft 365 verification TXT {found[0]}", observed)
    why = (
        "; found " + ", ".join(repr(value) for value in near) + ", which is not MS=ms followed by 8 digits"
        if near
        else f" ({answer.status}, {len(values)} other TXT record{'s' if len(values) != 1 else ''})"
    )
    return Finding(
        False, f"no Microsoft 365 verification TXT at the apex{why}; expected MS=ms followed by 8 digits", observed
    )


# --- MF-M365-003: msoid ----------------------------------------------------------------------------


def check_msoid(ev: EvidenceView, ctx: CheckContext) -> Finding:
    cloud = _cloud(ctx)
    name = f"msoid.{ev.domain}"
    answer = ev.ask(name, "CNAME")
    target = _cname_target(answer)
    observed = (answer.describe(),)
    if cloud.name != "21vianet":
        if target is None:
            return Finding(True, f"no msoid CNAME ({name} {_describe_missing(answer)})", observed)
        return Finding(
            False,
            f"{name} is a CNAME to {target}, but the domain's cloud is {cloud.label}; expected no msoid CNAME: "
            "outside 21Vianet it breaks Microsoft 365 Apps activation ('custom domain isn't in our system')",
            observed,
        )
    if target is None:
        return Finding(True, f"no msoid CNAME ({name} {_describe_missing(answer)}); 21Vianet allows one", observed)
    if target == MSOID_21VIANET:
        return Finding(True, f"{name} is a CNAME to {target}, as 21Vianet expects", observed)
    return Finding(False, f"{name} is a CNAME to {target}; expected {MSOID_21VIANET} (21Vianet)", observed)


# --- MF-M365-004: one cloud ------------------------------------------------------------------------


def _spf_targets(ev: EvidenceView) -> tuple[list[str], ResolutionError | None]:
    """Every include/redirect target the SPF record reaches, and why the list may be incomplete."""
    root = spf_tree(ev)
    if root.status == "unresolved":
        return [], root.error
    if root.status == "multiple":
        # MF-SPF-001 fails; still look at what each record names directly.
        targets = []
        for text in root.spf_records:
            record = parse(text)
            targets += [t.target for t in record.evaluated_terms if t.kind in {"include", "redirect"} and t.target]
        return [relative(t) for t in targets], None
    errors = root.errors
    return list(includes_in(root)), errors[0] if errors else None


def check_cloud_consistency(ev: EvidenceView, ctx: CheckContext) -> Finding:
    cloud = _cloud(ctx)
    uses: list[tuple[str, frozenset[str]]] = []  # (what, the clouds it belongs to)
    unknown: list[ResolutionError] = []

    targets, error = _spf_targets(ev)
    if error is not None:
        unknown.append(error)
    for target in targets:
        clouds = spf_include_clouds(target)
        if clouds:
            uses.append((f"SPF include:{target}", clouds))
    try:
        records, _ = mx_records(ev)
    except ResolutionError as exc:
        unknown.append(exc)
    else:
        for record in records:
            clouds = mx_clouds(record.exchange)
            if clouds:
                uses.append((f"MX {relative(record.exchange)}", clouds))
    try:
        alias = _cname_target(ev.ask(f"autodiscover.{ev.domain}", "CNAME"))
    except ResolutionError as exc:
        unknown.append(exc)
    else:
        clouds = autodiscover_clouds(alias) if alias else frozenset()
        if alias and clouds:
            uses.append((f"autodiscover CNAME {alias}", clouds))

    observed = tuple(f"{what} ({_labels(clouds)})" for what, clouds in uses) or ("no Microsoft 365 endpoint",)
    foreign = [f"{what} belongs to {_labels(clouds)}" for what, clouds in uses if cloud.name not in clouds]
    if foreign:
        return Finding(
            False,
            "Microsoft 365 endpoints of another cloud: "
            + "; ".join(foreign)
            + f"; the domain's cloud is {cloud.label} (cloud: {cloud.name}), expected {_endpoints(cloud)}",
            observed,
        )
    if unknown:
        raise unknown[0]
    if not uses:
        return Finding(
            True, "the domain uses no Microsoft 365 endpoint (SPF include, MX or autodiscover); nothing to compare"
        )
    return Finding(True, f"every Microsoft 365 endpoint belongs to the {cloud.label} cloud", observed)


def _endpoints(cloud: Cloud) -> str:
    return (
        f"include:{cloud.spf_include}, MX hosts under {' or '.join(cloud.mx_suffixes)}, "
        f"autodiscover CNAME to {cloud.autodiscover}"
    )


def _when(flag: bool) -> Sequence[str | None]:
    return (None,) if flag else ()


def _autodiscover_wanted(policy: DomainPolicy) -> Sequence[str | None]:
    return _when(policy.expect.m365.autodiscover)


def _verification_wanted(policy: DomainPolicy) -> Sequence[str | None]:
    return _when(policy.expect.m365.verification)


RULES: tuple[Rule, ...] = (
    Rule(
        id="MF-M365-001",
        title="autodiscover is a CNAME to the cloud's Autodiscover host",
        family="m365",
        severity=Severity.MEDIUM,
        rationale="Outlook and mobile clients find their mailbox through autodiscover.<domain>; Microsoft asks "
        "for a CNAME to the Autodiscover host of the tenant's cloud (autodiscover.outlook.com worldwide, "
        "autodiscover.office365.us in GCC High, autodiscover-dod.office365.us in DoD, "
        "autodiscover.partner.outlook.cn in 21Vianet). In Exchange hybrid the on-premises record stays until "
        "the migration is complete, so policies of hybrid domains leave this expectation off.",
        remediation="Publish 'autodiscover' as a CNAME to the Autodiscover host of the domain's cloud, with TTL "
        "1 hour, and remove any A/AAAA records at that name.",
        references=(_MS_EXTERNAL, _MS_DNS, _MS_GCC_HIGH, _MS_DOD),
        check=check_autodiscover,
        expect_keys=("m365", "autodiscover"),
        params=_autodiscover_wanted,
        expectation=lambda ctx: f"autodiscover.{ctx.domain} CNAME {_cloud(ctx).autodiscover}",
    ),
    Rule(
        id="MF-M365-002",
        title="The apex keeps the Microsoft 365 verification TXT (MS=ms########)",
        family="m365",
        severity=Severity.LOW,
        rationale="Microsoft 365 proves domain ownership with a TXT record 'MS=ms' followed by 8 digits at the "
        "apex. It may be deleted once the domain is verified; a policy that declares it wants it kept so that "
        "the domain can be re-verified or added to another service without a new change.",
        remediation="Publish the TXT value shown in the Microsoft 365 admin centre (Settings > Domains > the "
        "domain > DNS records) at the apex, or drop 'expect.m365.verification' if the record is no longer "
        "wanted.",
        references=(_MS_DNS,),
        check=check_verification,
        expect_keys=("m365", "verification"),
        params=_verification_wanted,
        expectation=lambda ctx: "a TXT record MS=ms followed by 8 digits at the apex",
    ),
    Rule(
        id="MF-M365-003",
        title="msoid CNAME only on 21Vianet domains",
        family="m365",
        severity=Severity.MEDIUM,
        rationale="The msoid CNAME (to clientconfig.partner.microsoftonline-p.net.cn) exists only for Microsoft "
        "365 operated by 21Vianet. On a domain of any other cloud it breaks Microsoft 365 Apps (Office) "
        "activation: users are told the 'custom domain isn't in our system'.",
        remediation=f"Delete the msoid CNAME unless the tenant is in 21Vianet; there, point it at {MSOID_21VIANET}.",
        references=(_MS_EXTERNAL, _MS_GCC_HIGH),
        check=check_msoid,
        expectation=lambda ctx: (
            f"msoid.{ctx.domain} is a CNAME to {MSOID_21VIANET} or absent"
            if ctx.policy.cloud == "21vianet"
            else f"no msoid CNAME at msoid.{ctx.domain}"
        ),
    ),
    Rule(
        id="MF-M365-004",
        title="Microsoft 365 SPF include, MX and autodiscover belong to the domain's cloud",
        family="m365",
        severity=Severity.HIGH,
        rationale="Each Microsoft 365 cloud has its own SPF include, MX namespace and Autodiscover host. A "
        "domain that mixes them, or uses another cloud's, authorises the wrong sending servers, routes inbound "
        "mail to a cloud that does not host its mailboxes (451 4.4.62 or worse) or sends clients to the wrong "
        "Autodiscover service.",
        remediation="Use the values the Microsoft 365 admin centre of the tenant's cloud shows, or correct the "
        "policy's 'cloud:' if the tenant lives in another cloud.",
        references=(_MS_EXTERNAL, _MS_GCC_HIGH, _MS_DOD, _MS_SPF),
        check=check_cloud_consistency,
        expectation=lambda ctx: (
            f"Microsoft 365 endpoints of the {_cloud(ctx).label} cloud only: " + _endpoints(_cloud(ctx))
        ),
    ),
)

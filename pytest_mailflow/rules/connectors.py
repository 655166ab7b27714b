"""Exchange Online connector rules (MF-CONN-*): pure checks over the tenant export a policy names.

Every rule reads :meth:`EvidenceView.tenant`, so a missing or broken export makes the check an error
(never a pass), and no rule is collected for a domain whose policy names no export (``tenant_export``).

Lint rules, for any scenario (reference m365-scenarios.md §3.5; item 6 is split by severity, item 9
into "overlap" and "disabled or unvalidated"):

==============  ===========  =====================================================================
Rule            §3.5 item    What
==============  ===========  =====================================================================
MF-CONN-001     1            Partner-only restrictions on an OnPremises inbound connector
MF-CONN-002     2            IP addresses and a certificate on one Partner connector
MF-CONN-003     3            a Partner "allow" connector beside a restricting one
MF-CONN-004     4            SenderIPAddresses wider than /24, IPv6, not an address, or private
MF-CONN-005     5            EFSkipIPs with RFC 1918 / Microsoft 365 ranges; EFC under CMT
MF-CONN-006     6            UseMXRecord false without SmartHosts; DomainValidation without TlsDomain
MF-CONN-007     6            a smart host that is a Microsoft 365 endpoint (mail loop) [derived]
MF-CONN-008     6            a smart host that is an IP literal
MF-CONN-009     7            TreatMessagesAsInternal where it is invalid
MF-CONN-010     8            transport-rule-scoped outbound connectors (advisory: rules not exported)
MF-CONN-011     9            overlapping or duplicate outbound connectors
MF-CONN-012     9            disabled connectors, unvalidated outbound connectors
MF-CONN-013     10           hybrid inbound connectors name an accepted-domain certificate
MF-CONN-014     11           relay from on-premises is attributed by an accepted-domain certificate
MF-CONN-015     12           RejectDirectSend (advisory)
==============  ===========  =====================================================================

Per-scenario rules (reference §3.4): each is collected only for the scenarios named in its rationale;
its expectation depends on ``DomainPolicy.scenario``. ``custom`` and ``parked`` domains get none of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence

from ..clouds import CLOUDS
from ..errors import Indeterminate
from ..evidence import EvidenceView
from ..policy.model import DomainPolicy
from ..tenant.model import AcceptedDomain, InboundConnector, OutboundConnector, TenantExport
from .base import CheckContext, Finding, Reference, Rule, Severity, microsoft, rfc
from .mx import LEGACY_EXCHANGE_ONLINE_MX, is_under

# --- sources (reference §5) ----------------------------------------------------------------------

_BP = "exchange/mail-flow-best-practices"
_CONN = f"{_BP}/use-connectors-to-configure-mail-flow"
_PS = "powershell/module/exchangepowershell"

_MS_OVERVIEW = microsoft(
    "Mail flow best practices for Exchange Online, Microsoft 365, and Office 365", f"{_BP}/mail-flow-best-practices"
)
_MS_THIRD_PARTY = microsoft(
    "Manage mail flow using a third-party cloud service with Exchange Online",
    f"{_BP}/manage-mail-flow-using-third-party-cloud",
)
_MS_MULTIPLE = microsoft(
    "Manage mail flow with mailboxes in multiple locations", f"{_BP}/manage-mail-flow-for-multiple-locations"
)
_MS_THIRD_PARTY_HYBRID = microsoft(
    "Manage mail flow using a third-party cloud service with Exchange Online and on-premises mailboxes",
    f"{_BP}/manage-mail-flow-on-office-365-and-on-prem",
)
_MS_CONNECTORS = microsoft(
    "Configure mail flow using connectors in Exchange Online", f"{_CONN}/use-connectors-to-configure-mail-flow"
)
_MS_ROUTE = microsoft(
    "Set up connectors to route mail between Microsoft 365 and your own email servers",
    f"{_CONN}/set-up-connectors-to-route-mail",
)
_MS_PARTNER = microsoft(
    "Set up connectors for secure mail flow with a partner organization",
    f"{_CONN}/set-up-connectors-for-secure-mail-flow-with-a-partner",
)
_MS_TEST = microsoft("Test mail flow by validating your connectors", f"{_BP}/test-mail-flow")
_MS_EF = microsoft("Enhanced Filtering for Connectors in Exchange Online", f"{_CONN}/enhanced-filtering-for-connectors")
_MS_DEVICES = microsoft(
    "How to set up a multifunction device or application to send email using Microsoft 365 or Office 365",
    f"{_BP}/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365",
)
_MS_ADD_ON = microsoft(
    "Scenario: Integrate Exchange Online with an email add-on service",
    f"{_BP}/integrate-office-365-with-an-email-add-on-service",
)
_MS_ACCEPTED = microsoft(
    "Manage accepted domains in Exchange Online", f"{_BP}/manage-accepted-domains/manage-accepted-domains"
)
_MS_DBEB = microsoft(
    "Use Directory-Based Edge Blocking to reject messages sent to invalid recipients",
    f"{_BP}/use-directory-based-edge-blocking",
)
_MS_EOP = microsoft("Set up your standalone EOP service", "exchange/standalone-eop/set-up-your-eop-service")
_MS_RELAY = microsoft(
    "Configure a certificate-based connector to relay email messages through Microsoft 365",
    "exchange/troubleshoot/connectors/office-365-notice",
)
_MS_5764 = microsoft(
    "550 5.7.64 TenantAttribution when sending mail externally",
    "exchange/troubleshoot/email-delivery/ndr/relay-access-denied-smtp",
)
_MS_TRANSPORT = microsoft("Transport options in Exchange hybrid deployments", "exchange/transport-options")
_MS_NEW_IN = microsoft("New-InboundConnector", f"{_PS}/new-inboundconnector")
_MS_SET_IN = microsoft("Set-InboundConnector", f"{_PS}/set-inboundconnector")
_MS_NEW_OUT = microsoft("New-OutboundConnector", f"{_PS}/new-outboundconnector")
_MS_SET_OUT = microsoft("Set-OutboundConnector", f"{_PS}/set-outboundconnector")
_MS_ORG = microsoft("Set-OrganizationConfig", f"{_PS}/set-organizationconfig")
_MS_IP_RANGES = microsoft(
    "Microsoft 365 URLs and IP address ranges", "microsoft-365/enterprise/urls-and-ip-address-ranges"
)
_DIRECT_SEND_BLOG = Reference(
    "Exchange Team blog: Introducing more control over Direct Send in Exchange Online",
    "https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790",
)
_RFC1918 = rfc(1918, "3", "private address space")

# --- scenarios (the rule pack's names) and which per-scenario rule concerns which -------------------

CLOUD_ONLY = "cloud-only"
CLOUD_ONLY_MIGRATION = "cloud-only-migration"
THIRD_PARTY_FILTER = "third-party-filter"
THIRD_PARTY_ARCHIVE = "third-party-archive"
HYBRID_MX_M365 = "hybrid-mx-m365"
HYBRID_MX_M365_CMT = "hybrid-mx-m365-cmt"
HYBRID_MX_ON_PREMISES_CMT = "hybrid-mx-on-premises-cmt"
HYBRID_MX_ON_PREMISES_RELAY = "hybrid-mx-on-premises-relay"
THIRD_PARTY_FILTER_HYBRID = "third-party-filter-hybrid"
DEVICE_SENDING = "device-sending"
EOP_STANDALONE = "eop-standalone"
PARKED = "parked"

#: Exchange hybrid (on-premises Exchange mailboxes beside cloud mailboxes): the HCW's connectors.
HYBRID = frozenset(
    {
        HYBRID_MX_M365,
        HYBRID_MX_M365_CMT,
        HYBRID_MX_ON_PREMISES_CMT,
        HYBRID_MX_ON_PREMISES_RELAY,
        THIRD_PARTY_FILTER_HYBRID,
    }
)
#: Scenarios with mail servers on-premises (hybrid, or EOP protecting them): connectors both ways.
ON_PREMISES = HYBRID | {EOP_STANDALONE}
#: Centralized mail transport: cloud mailboxes send to the internet through on-premises.
CMT = frozenset({HYBRID_MX_M365_CMT, HYBRID_MX_ON_PREMISES_CMT})
#: Where the MX points elsewhere and the tenant must accept mail only from that path (lock-down).
LOCKED_DOWN = frozenset(
    {
        THIRD_PARTY_FILTER,
        THIRD_PARTY_ARCHIVE,
        THIRD_PARTY_FILTER_HYBRID,
        HYBRID_MX_ON_PREMISES_CMT,
        HYBRID_MX_ON_PREMISES_RELAY,
    }
)
#: Where the lock-down connector comes from a third-party service, which Enhanced Filtering must see through.
THIRD_PARTY = frozenset({THIRD_PARTY_FILTER, THIRD_PARTY_ARCHIVE, THIRD_PARTY_FILTER_HYBRID})
#: Where the MX points at Microsoft 365 itself: a lock-down connector would reject the internet.
MX_AT_M365 = frozenset(
    {CLOUD_ONLY, CLOUD_ONLY_MIGRATION, DEVICE_SENDING, HYBRID_MX_M365, HYBRID_MX_M365_CMT, EOP_STANDALONE}
)
#: Where on-premises must be identified by certificate (it relays mail of domains the organisation doesn't own).
CERTIFICATE_REQUIRED = frozenset({HYBRID_MX_ON_PREMISES_RELAY, THIRD_PARTY_FILTER_HYBRID})
#: Where every recipient has a mailbox in Exchange Online: the domain is Authoritative (DBEB).
ALL_MAILBOXES_IN_CLOUD = frozenset(
    {CLOUD_ONLY, CLOUD_ONLY_MIGRATION, THIRD_PARTY_FILTER, THIRD_PARTY_ARCHIVE, DEVICE_SENDING}
)
#: Every scenario the per-scenario rules know (parked: no connector state to assert).
KNOWN = ALL_MAILBOXES_IN_CLOUD | ON_PREMISES
NOT_CMT = KNOWN - CMT

#: Microsoft's published Exchange Online Protection ranges (Microsoft 365 URLs and IP address ranges).
MICROSOFT_EOP_RANGES = tuple(
    ipaddress.ip_network(net)
    for net in (
        "40.92.0.0/15",
        "40.107.0.0/16",
        "52.100.0.0/15",
        "52.102.0.0/16",
        "52.103.0.0/16",
        "104.47.0.0/17",
        "2a01:111:f400::/48",
        "2a01:111:f403::/48",
    )
)
RFC1918_RANGES = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
#: Addresses Exchange Online never sees a connection from: RFC 1918, shared (RFC 6598), loopback, link-local.
NON_PUBLIC_RANGES = (
    *RFC1918_RANGES,
    *(ipaddress.ip_network(net) for net in ("0.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16")),
)
#: Host names of Exchange Online's own inbound endpoints (every cloud, current and retired) and client submission.
MICROSOFT_ENDPOINTS = tuple(
    dict.fromkeys(
        (
            *(suffix for cloud in CLOUDS.values() for suffix in cloud.mx_suffixes),
            "mail.protection.outlook.de",
            *LEGACY_EXCHANGE_ONLINE_MX,
            "smtp.office365.com",
        )
    )
)
VALIDATING_TLS = ("CertificateValidation", "DomainValidation")

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network

# --- describing connectors -----------------------------------------------------------------------

#: The cmdlet property name of each model field.
PROPERTY = {
    "enabled": "Enabled",
    "connector_type": "ConnectorType",
    "connector_source": "ConnectorSource",
    "sender_domains": "SenderDomains",
    "sender_ip_addresses": "SenderIPAddresses",
    "restrict_domains_to_ip_addresses": "RestrictDomainsToIPAddresses",
    "tls_sender_certificate_name": "TlsSenderCertificateName",
    "restrict_domains_to_certificate": "RestrictDomainsToCertificate",
    "require_tls": "RequireTls",
    "cloud_services_mail_enabled": "CloudServicesMailEnabled",
    "treat_messages_as_internal": "TreatMessagesAsInternal",
    "ef_skip_last_ip": "EFSkipLastIP",
    "ef_skip_ips": "EFSkipIPs",
    "ef_users": "EFUsers",
    "ef_test_mode": "EFTestMode",
    "associated_accepted_domains": "AssociatedAcceptedDomains",
    "recipient_domains": "RecipientDomains",
    "all_accepted_domains": "AllAcceptedDomains",
    "is_transport_rule_scoped": "IsTransportRuleScoped",
    "use_mx_record": "UseMXRecord",
    "smart_hosts": "SmartHosts",
    "tls_settings": "TlsSettings",
    "tls_domain": "TlsDomain",
    "route_all_messages_via_on_premises": "RouteAllMessagesViaOnPremises",
    "test_mode": "TestMode",
    "is_validated": "IsValidated",
}


def _value(value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, tuple):
        return "{" + ", ".join(str(v) for v in value) + "}"
    return str(value)


def _props(connector: InboundConnector | OutboundConnector, fields: Iterable[str]) -> str:
    return ", ".join(f"{PROPERTY[name]} {_value(getattr(connector, name))}" for name in fields)


def show_in(connector: InboundConnector, *fields: str) -> str:
    """``inbound connector 'name' [path:line]: Property value, ...`` (the type is always shown)."""
    props = _props(connector, ("connector_type", *fields))
    state = "" if connector.enabled else " (disabled)"
    return f"inbound connector {_quote(connector.name)}{state} [{connector.where}]: {props}"


def show_out(connector: OutboundConnector, *fields: str) -> str:
    props = _props(connector, ("connector_type", *fields))
    state = "" if connector.enabled else " (disabled)"
    return f"outbound connector {_quote(connector.name)}{state} [{connector.where}]: {props}"


def _quote(name: str) -> str:
    """A PowerShell single-quoted string (also how connector names are shown)."""
    return "'" + name.replace("'", "''") + "'"


def _fix(command: str) -> str:
    return f"fix: {command}"


def _label(connectors: Sequence[InboundConnector | OutboundConnector]) -> str:
    return ", ".join(f"{_quote(c.name)} [{c.where}]" for c in connectors)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _overview(tenant: TenantExport) -> str:
    return (
        f"tenant export {tenant.path}: {_plural(len(tenant.inbound), 'inbound connector')}, "
        f"{_plural(len(tenant.outbound), 'outbound connector')}, "
        f"{_plural(len(tenant.accepted_domains), 'accepted domain')}"
    )


# --- small predicates ----------------------------------------------------------------------------


def _inbound(tenant: TenantExport) -> list[InboundConnector]:
    return [c for c in tenant.inbound if c.enabled]


def _outbound(tenant: TenantExport) -> list[OutboundConnector]:
    return [c for c in tenant.outbound if c.enabled]


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def applies_to(connector: InboundConnector, domain: str) -> bool:
    """An inbound connector serves ``domain`` unless AssociatedAcceptedDomains limits it to others."""
    return not connector.associated_accepted_domains or _norm(domain) in {
        _norm(d) for d in connector.associated_accepted_domains
    }


def covers(pattern: str, name: str, *, apex: bool = False) -> bool:
    """Whether an address-space pattern (``*``, ``*.contoso.example``, ``contoso.example``) covers ``name``.

    ``*.x`` covers the names below x; with ``apex`` also x itself (lenient, for "is the domain routed")."""
    pattern, name = _norm(pattern), _norm(name).removeprefix("*.")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        base = pattern[2:]
        return name.endswith("." + base) or (apex and name == base)
    return pattern == name


def _overlap(a: str, b: str) -> bool:
    return _norm(a) == _norm(b) or covers(a, b) or covers(b, a)


def any_sender(connector: InboundConnector) -> bool:
    return "*" in {_norm(d) for d in connector.sender_domains}


def restricting(connector: InboundConnector) -> bool:
    return connector.restrict_domains_to_ip_addresses or connector.restrict_domains_to_certificate


def certificate_accepted(tenant: TenantExport, connector: InboundConnector) -> bool:
    name = connector.tls_sender_certificate_name
    return bool(name) and tenant.is_accepted_name(name or "")


def hybrid_inbound(connector: InboundConnector) -> bool:
    """An OnPremises inbound connector of Exchange hybrid (HCW-made, or carrying cross-premises headers)."""
    return connector.connector_type == "OnPremises" and (
        connector.connector_source == "HybridWizard" or connector.cloud_services_mail_enabled
    )


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_network(host.strip("[]"), strict=False)
    except ValueError:
        return False
    return True


def microsoft_endpoint(host: str) -> str | None:
    """The Exchange Online endpoint namespace ``host`` is under, if any."""
    return next((suffix for suffix in MICROSOFT_ENDPOINTS if is_under(host, suffix)), None)


def networks(entry: str) -> list[_Net] | None:
    """An address, a CIDR block or a range ``a-b`` as networks; None when it is none of them."""
    text = entry.strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
            if isinstance(first, ipaddress.IPv4Address) and isinstance(last, ipaddress.IPv4Address):
                return list(ipaddress.summarize_address_range(first, last))
            if isinstance(first, ipaddress.IPv6Address) and isinstance(last, ipaddress.IPv6Address):
                return list(ipaddress.summarize_address_range(first, last))
            return None
        return [ipaddress.ip_network(text, strict=False)]
    except ValueError:
        return None


def _hits(nets: list[_Net], ranges: Iterable[_Net]) -> list[_Net]:
    return [r for r in ranges if any(n.version == r.version and n.overlaps(r) for n in nets)]


def ef_skip_problems(entries: Iterable[str]) -> list[str]:
    """What is wrong with EFSkipIPs entries: RFC 1918 or Microsoft 365 ranges, or an unreadable entry."""
    problems = []
    for entry in entries:
        nets = networks(entry)
        if nets is None:
            problems.append(f"{entry} is not an IP address, CIDR block or range")
            continue
        private = _hits(nets, RFC1918_RANGES)
        if private:
            problems.append(f"{entry} is private address space (RFC 1918: {', '.join(map(str, private))})")
        ours = _hits(nets, MICROSOFT_EOP_RANGES)
        if ours:
            problems.append(f"{entry} is Microsoft 365 address space ({', '.join(map(str, ours))})")
    return problems


def ef_problems(connector: InboundConnector) -> list[str]:
    """Why Enhanced Filtering is not effective on a connector (reference §3.4 "EF-effective")."""
    problems = []
    if not connector.ef_skip_last_ip and not connector.ef_skip_ips:
        problems.append("Enhanced Filtering is off (EFSkipLastIP False and EFSkipIPs empty)")
    if connector.ef_test_mode:
        problems.append("EFTestMode is True (results are only reported)")
    if connector.ef_users:
        problems.append(f"EFUsers limits it to {_plural(len(connector.ef_users), 'recipient')}")
    problems += [f"EFSkipIPs entry {p}" for p in ef_skip_problems(connector.ef_skip_ips)]
    return problems


def accepted_for(tenant: TenantExport, domain: str) -> AcceptedDomain | None:
    """The accepted domain that covers ``domain``: itself, or a parent with MatchSubDomains."""
    exact = tenant.accepted(domain)
    if exact is not None:
        return exact
    name = _norm(domain)
    return next((d for d in tenant.accepted_domains if d.match_subdomains and name.endswith("." + d.domain_name)), None)


# --- applicability -------------------------------------------------------------------------------


def with_export(policy: DomainPolicy) -> Sequence[str | None]:
    """Lint rules: collected whenever the policy names a tenant export."""
    return (None,) if policy.tenant_export else ()


def for_scenarios(names: frozenset[str]) -> Callable[[DomainPolicy], Sequence[str | None]]:
    """Per-scenario rules: collected with a tenant export, for the scenarios in ``names`` only."""

    def params(policy: DomainPolicy) -> Sequence[str | None]:
        return (None,) if policy.tenant_export and policy.scenario in names else ()

    return params


# --- MF-CONN-001: Partner-only flags on OnPremises connectors (§3.5 #1) ----------------------------


def check_partner_flags(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    on_premises = [c for c in _inbound(tenant) if c.connector_type == "OnPremises"]
    fields = ("restrict_domains_to_ip_addresses", "restrict_domains_to_certificate", "require_tls")
    observed = tuple(show_in(c, *fields) for c in on_premises) or (_overview(tenant), "no OnPremises inbound connector")
    bad = [c for c in on_premises if restricting(c)]
    if not bad:
        return Finding(
            True,
            "no OnPremises inbound connector sets RestrictDomainsToIPAddresses or "
            "RestrictDomainsToCertificate, which only Partner connectors honour",
            observed,
        )
    found = "; ".join(
        f"{_quote(c.name)} [{c.where}] has " + " and ".join(PROPERTY[f] + " True" for f in fields[:2] if getattr(c, f))
        for c in bad
    )
    details = (
        *(
            _fix(
                f"Set-InboundConnector -Identity {_quote(c.name)} -RestrictDomainsToIPAddresses $false "
                "-RestrictDomainsToCertificate $false"
            )
            for c in bad
        ),
        "to lock the tenant to a mail path, use a Partner connector: New-InboundConnector -Name 'Lock-down' "
        "-ConnectorType Partner -SenderDomains * -RestrictDomainsToIPAddresses $true -SenderIPAddresses <ranges>",
    )
    return Finding(
        False,
        f"Partner-only restrictions on OnPremises inbound connectors, which Exchange Online ignores: {found}; "
        "expected them only on Partner connectors (nothing is locked down by these flags)",
        observed,
        details,
    )


# --- MF-CONN-002: IPs and certificate on one Partner connector (§3.5 #2) ---------------------------


def check_partner_split(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    partner = [c for c in _inbound(tenant) if c.is_partner]
    fields = ("sender_ip_addresses", "tls_sender_certificate_name")
    observed = tuple(show_in(c, *fields) for c in partner) or (_overview(tenant), "no Partner inbound connector")
    both = [c for c in partner if c.sender_ip_addresses and c.tls_sender_certificate_name]
    if not both:
        return Finding(
            True, "no Partner inbound connector identifies senders by both IP addresses and a certificate", observed
        )
    details = tuple(
        _fix(
            f"Set-InboundConnector -Identity {_quote(c.name)} -TlsSenderCertificateName $null "
            f"-RestrictDomainsToCertificate $false; New-InboundConnector -Name {_quote(c.name + ' (certificate)')} "
            f"-ConnectorType Partner -SenderDomains {','.join(c.sender_domains) or '*'} "
            f"-TlsSenderCertificateName {c.tls_sender_certificate_name} -RestrictDomainsToCertificate $true "
            "-RequireTls $true"
        )
        for c in both
    )
    return Finding(
        False,
        f"Partner inbound connector{'s' if len(both) > 1 else ''} {_label(both)} "
        f"name{'' if len(both) > 1 else 's'} both SenderIPAddresses and TlsSenderCertificateName; "
        "expected one connector per identification method (Microsoft: use separate connectors)",
        observed,
        details,
    )


# --- MF-CONN-003: allow-by-sender-domain beside a restricting connector (§3.5 #3) ------------------


def check_allow_beside_restrict(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    partner = [c for c in _inbound(tenant) if c.is_partner]
    fields = ("sender_domains", "restrict_domains_to_ip_addresses", "restrict_domains_to_certificate")
    observed = tuple(show_in(c, *fields) for c in partner) or (_overview(tenant), "no Partner inbound connector")
    allows = [c for c in partner if c.sender_domains and not any_sender(c) and not restricting(c)]
    restricts = [c for c in partner if restricting(c)]
    clashes = []
    for allow in allows:
        for restrict in restricts:
            shared = sorted({a for a in allow.sender_domains for r in restrict.sender_domains if _overlap(a, r)})
            if shared:
                clashes.append((allow, restrict, shared))
    if not clashes:
        return Finding(
            True,
            "no Partner connector that allows by sender domain shares its senders with a restricting connector",
            observed,
        )
    found = "; ".join(
        f"{_quote(a.name)} [{a.where}] allows {', '.join(shared)} by sender domain, but {_quote(r.name)} "
        f"[{r.where}] restricts SenderDomains {_value(r.sender_domains)} to its "
        f"{'IP addresses' if r.restrict_domains_to_ip_addresses else 'certificate'}"
        for a, r, shared in clashes
    )
    details = tuple(
        _fix(
            f"let {', '.join(shared)} arrive through {_quote(r.name)} (add the partner's addresses: "
            f"Set-InboundConnector -Identity {_quote(r.name)} -SenderIPAddresses @{{Add='<partner IPs>'}}), "
            f"or remove {_quote(a.name)}: Remove-InboundConnector -Identity {_quote(a.name)}"
        )
        for a, r, shared in clashes
    )
    return Finding(
        False,
        f"{found}; the restricting connector wins, so that mail is rejected unless it comes through the "
        "restricted path; expected no sender-domain 'allow' connector beside a restricting one",
        observed,
        details,
    )


# --- MF-CONN-004: SenderIPAddresses form (§3.5 #4) -------------------------------------------------


def sender_ip_problems(entry: str) -> list[str]:
    try:
        net = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return [f"{entry} is not an IPv4 address or CIDR block"]
    if net.version == 6:
        return [f"{entry} is IPv6, which SenderIPAddresses does not support"]
    problems = []
    if net.prefixlen < 24:
        problems.append(f"{entry} is a /{net.prefixlen}, wider than the /24 Exchange Online allows")
    private = _hits([net], NON_PUBLIC_RANGES)
    if private:
        problems.append(
            f"{entry} is not public ({', '.join(map(str, private))}): Exchange Online never sees a connection from it"
        )
    return problems


def check_sender_ips(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    with_ips = [c for c in _inbound(tenant) if c.sender_ip_addresses]
    observed = tuple(show_in(c, "sender_ip_addresses") for c in with_ips) or (
        _overview(tenant),
        "no inbound connector names SenderIPAddresses",
    )
    problems = [(c, p) for c in with_ips for entry in c.sender_ip_addresses for p in sender_ip_problems(entry)]
    if not problems:
        return Finding(True, "every SenderIPAddresses entry is a public IPv4 address or a /24../32 block", observed)
    found = "; ".join(f"{_quote(c.name)} [{c.where}]: {p}" for c, p in problems)
    details = tuple(
        _fix(
            f"Set-InboundConnector -Identity {_quote(c.name)} -SenderIPAddresses <public IPv4 addresses or "
            "/24../32 blocks the sender connects from>"
        )
        for c in dict.fromkeys(c for c, _ in problems)
    )
    return Finding(
        False,
        f"{found}; expected public IPv4 addresses or CIDR blocks from /24 to /32",
        observed,
        details,
    )


# --- MF-CONN-005: Enhanced Filtering skip list and CMT (§3.5 #5) -----------------------------------


def check_ef_skip(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    inbound = _inbound(tenant)
    fields = ("ef_skip_last_ip", "ef_skip_ips")
    with_ef = [c for c in inbound if c.ef_skip_last_ip or c.ef_skip_ips]
    cmt = [c for c in _outbound(tenant) if c.route_all_messages_via_on_premises]
    observed = tuple(show_in(c, *fields) for c in with_ef) + tuple(
        show_out(c, "route_all_messages_via_on_premises") for c in cmt
    )
    observed = observed or (_overview(tenant), "no inbound connector uses Enhanced Filtering")
    problems: list[str] = []
    details: list[str] = []
    for c in with_ef:
        bad = ef_skip_problems(c.ef_skip_ips)
        if bad:
            problems.append(f"{_quote(c.name)} [{c.where}] skips {'; '.join(bad)}")
            details.append(
                _fix(
                    f"Set-InboundConnector -Identity {_quote(c.name)} -EFSkipIPs <only the public "
                    "addresses of the service in front of Exchange Online>"
                )
            )
    if cmt:
        for c in with_ef:
            if c.connector_type == "OnPremises":
                problems.append(
                    f"{_quote(c.name)} [{c.where}] is an OnPremises (hybrid) connector with Enhanced Filtering while "
                    f"{_label(cmt)} routes all mail via on-premises (RouteAllMessagesViaOnPremises True): "
                    "unsupported, EOP then scans internal mail and may mark it as spam"
                )
                details.append(
                    _fix(f"Set-InboundConnector -Identity {_quote(c.name)} -EFSkipLastIP $false -EFSkipIPs $null")
                )
    if not problems:
        return Finding(
            True,
            "Enhanced Filtering skips no private or Microsoft 365 addresses and is not combined "
            "with centralized mail transport on a hybrid connector",
            observed,
        )
    return Finding(
        False,
        "; ".join(problems) + "; expected EFSkipIPs to list only public addresses of the service in front of "
        "Exchange Online, and no Enhanced Filtering on hybrid connectors under centralized mail transport",
        observed,
        tuple(details),
    )


# --- MF-CONN-006: smart hosts and TLS domain present (§3.5 #6) -------------------------------------


def check_smart_host_settings(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    outbound = _outbound(tenant)
    fields = ("use_mx_record", "smart_hosts", "tls_settings", "tls_domain")
    observed = tuple(show_out(c, *fields) for c in outbound) or (_overview(tenant), "no outbound connector")
    problems: list[str] = []
    details: list[str] = []
    for c in outbound:
        if not c.use_mx_record and not c.smart_hosts:
            problems.append(f"{_quote(c.name)} [{c.where}] has UseMXRecord False but no SmartHosts")
            details.append(_fix(f"Set-OutboundConnector -Identity {_quote(c.name)} -SmartHosts <host name>"))
        if c.tls_settings == "DomainValidation" and not c.tls_domain:
            problems.append(f"{_quote(c.name)} [{c.where}] has TlsSettings DomainValidation but no TlsDomain")
            details.append(
                _fix(
                    f"Set-OutboundConnector -Identity {_quote(c.name)} -TlsDomain <name on the "
                    "receiving server's certificate>"
                )
            )
    if not problems:
        return Finding(
            True,
            "every outbound connector that skips the MX lookup names smart hosts, and every "
            "DomainValidation connector names a TlsDomain",
            observed,
        )
    return Finding(
        False,
        "; ".join(problems) + "; expected SmartHosts whenever UseMXRecord is False and a TlsDomain with "
        "DomainValidation",
        observed,
        tuple(details),
    )


# --- MF-CONN-007: smart host is a Microsoft 365 endpoint (§3.5 #6, loop) ---------------------------


def _routes_own_domains(tenant: TenantExport, connector: OutboundConnector) -> bool:
    return (
        connector.connector_type == "OnPremises"
        or connector.all_accepted_domains
        or any(p == "*" or tenant.is_accepted_name(p) for p in map(_norm, connector.recipient_domains))
    )


def check_smart_host_loop(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    with_hosts = [c for c in _outbound(tenant) if c.smart_hosts]
    fields = ("recipient_domains", "all_accepted_domains", "smart_hosts")
    observed = tuple(show_out(c, *fields) for c in with_hosts) or (
        _overview(tenant),
        "no outbound connector names smart hosts",
    )
    loops = []
    for c in with_hosts:
        for host in c.smart_hosts:
            endpoint = microsoft_endpoint(host)
            if endpoint and _routes_own_domains(tenant, c):
                loops.append((c, host, endpoint))
    if not loops:
        return Finding(
            True,
            "no outbound connector for the organisation's own mail names an Exchange Online endpoint as smart host",
            observed,
        )
    found = "; ".join(f"{_quote(c.name)} [{c.where}] sends to {host} (under {endpoint})" for c, host, endpoint in loops)
    details = tuple(
        _fix(f"Set-OutboundConnector -Identity {_quote(c.name)} -SmartHosts <the on-premises or service host>")
        for c in dict.fromkeys(c for c, _, _ in loops)
    )
    return Finding(
        False,
        f"{found}: a connector for the organisation's own domains that hands mail back to Exchange Online loops "
        "(5.4.x non-delivery reports); expected smart hosts of the on-premises servers or the service",
        observed,
        details,
    )


# --- MF-CONN-008: smart host is an IP literal (§3.5 #6, warning) -----------------------------------


def check_smart_host_names(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    with_hosts = [c for c in _outbound(tenant) if c.smart_hosts]
    observed = tuple(show_out(c, "smart_hosts", "tls_settings") for c in with_hosts) or (
        _overview(tenant),
        "no outbound connector names smart hosts",
    )
    literals = [(c, host) for c in with_hosts for host in c.smart_hosts if _ip_literal(host)]
    if not literals:
        return Finding(True, "every smart host is a host name", observed)
    found = "; ".join(f"{_quote(c.name)} [{c.where}] names {host}" for c, host in literals)
    details = tuple(
        _fix(f"Set-OutboundConnector -Identity {_quote(c.name)} -SmartHosts <host name>")
        for c in dict.fromkeys(c for c, _ in literals)
    )
    return Finding(
        False,
        f"smart host given as an IP address: {found}; expected a host name (fully qualified), which Microsoft "
        "prefers and which certificate validation and MTA-STS can check",
        observed,
        details,
    )


# --- MF-CONN-009: TreatMessagesAsInternal (§3.5 #7) ------------------------------------------------


def check_treat_as_internal(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    marked = [c for c in _inbound(tenant) if c.treat_messages_as_internal]
    observed = tuple(show_in(c, "treat_messages_as_internal", "cloud_services_mail_enabled") for c in marked) or (
        _overview(tenant),
        "no inbound connector sets TreatMessagesAsInternal",
    )
    problems = []
    for c in marked:
        if c.cloud_services_mail_enabled:
            problems.append(f"{_quote(c.name)} [{c.where}] combines it with CloudServicesMailEnabled True")
        if c.connector_type != "OnPremises":
            problems.append(f"{_quote(c.name)} [{c.where}] is a {c.connector_type} connector")
    if not problems:
        if marked:
            return Finding(
                True,
                f"TreatMessagesAsInternal is only on OnPremises connectors without cross-premises headers "
                f"({_label(marked)}); mail through them skips anti-spam, so keep it for a non-Exchange "
                "on-premises server only",
                observed,
            )
        return Finding(True, "no inbound connector treats its messages as internal", observed)
    details = tuple(
        _fix(f"Set-InboundConnector -Identity {_quote(c.name)} -TreatMessagesAsInternal $false")
        for c in dict.fromkeys(c for c in marked if c.cloud_services_mail_enabled or c.connector_type != "OnPremises")
    )
    return Finding(
        False,
        "TreatMessagesAsInternal True where it is invalid: "
        + "; ".join(problems)
        + "; expected it only on an OnPremises connector from a non-Exchange server, never with "
        "CloudServicesMailEnabled",
        observed,
        details,
    )


# --- MF-CONN-010: transport-rule-scoped connectors (§3.5 #8, advisory) -----------------------------


def check_rule_scoped(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    scoped = [c for c in _outbound(tenant) if c.is_transport_rule_scoped]
    observed = tuple(show_out(c, "is_transport_rule_scoped", "smart_hosts") for c in scoped) or (
        _overview(tenant),
        "no outbound connector is transport-rule scoped",
    )
    if not scoped:
        return Finding(True, "no outbound connector depends on a mail flow rule", observed)
    details = tuple(
        "verify: Get-TransportRule | Where-Object { $_.RouteMessageOutboundConnector -eq " + _quote(c.name) + " }"
        for c in scoped
    )
    return Finding(
        False,
        f"{_label(scoped)} {'is' if len(scoped) == 1 else 'are'} used only when a mail flow rule routes to "
        f"{'it' if len(scoped) == 1 else 'them'} (IsTransportRuleScoped True); the export has no mail flow "
        "rules, so whether one does cannot be verified: expected a rule with RouteMessageOutboundConnector "
        "naming each such connector",
        observed,
        details,
    )


# --- MF-CONN-011: overlapping or duplicate outbound connectors (§3.5 #9) ---------------------------


def check_outbound_overlap(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    routed = [c for c in _outbound(tenant) if not c.is_transport_rule_scoped]
    observed = tuple(show_out(c, "recipient_domains", "all_accepted_domains", "smart_hosts") for c in routed) or (
        _overview(tenant),
        "no outbound connector selected by recipient domain",
    )
    scopes: dict[str, list[OutboundConnector]] = {}
    for c in routed:
        keys = {_norm(d) for d in c.recipient_domains} | ({"AllAcceptedDomains"} if c.all_accepted_domains else set())
        for key in sorted(keys):
            scopes.setdefault(key, []).append(c)
    clashes = {key: cs for key, cs in scopes.items() if len(cs) > 1}
    if not clashes:
        return Finding(
            True,
            "each recipient domain (and 'all accepted domains') is routed by at most one outbound connector",
            observed,
        )
    found = "; ".join(f"{key} is routed by {_label(cs)}" for key, cs in clashes.items())
    details = tuple(
        _fix(
            f"keep one connector for {key}: Set-OutboundConnector -Identity {_quote(cs[-1].name)} "
            + (
                "-AllAcceptedDomains $false"
                if key == "AllAcceptedDomains"
                else f"-RecipientDomains @{{Remove='{key}'}}"
            )
            + f" (or Remove-OutboundConnector -Identity {_quote(cs[-1].name)})"
        )
        for key, cs in clashes.items()
    )
    return Finding(
        False,
        f"overlapping outbound connectors: {found}; expected one connector per recipient domain "
        "(Microsoft: duplicates can cause errors)",
        observed,
        details,
    )


# --- MF-CONN-012: disabled and unvalidated connectors (§3.5 #9) ------------------------------------


def check_disabled_unvalidated(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    disabled_in = [c for c in tenant.inbound if not c.enabled]
    disabled_out = [c for c in tenant.outbound if not c.enabled]
    unvalidated = [c for c in _outbound(tenant) if c.is_validated is False]
    observed = (
        *(show_in(c, "enabled") for c in disabled_in),
        *(show_out(c, "enabled") for c in disabled_out),
        *(show_out(c, "is_validated") for c in unvalidated),
    ) or (_overview(tenant),)
    problems = []
    details = []
    if disabled_in or disabled_out:
        problems.append(f"disabled: {_label([*disabled_in, *disabled_out])}")
        details += [
            _fix(
                f"Set-InboundConnector -Identity {_quote(c.name)} -Enabled $true, or Remove-InboundConnector "
                f"-Identity {_quote(c.name)}"
            )
            for c in disabled_in
        ]
        details += [
            _fix(
                f"Set-OutboundConnector -Identity {_quote(c.name)} -Enabled $true, or Remove-OutboundConnector "
                f"-Identity {_quote(c.name)}"
            )
            for c in disabled_out
        ]
    if unvalidated:
        problems.append(f"never validated (IsValidated False): {_label(unvalidated)}")
        details += [
            _fix(
                f"validate {_quote(c.name)} in the Exchange admin center (Connectors > the connector > Validate), "
                "which records the result"
            )
            for c in unvalidated
        ]
    if not problems:
        return Finding(
            True, "every connector is enabled and no outbound connector is recorded as unvalidated", observed
        )
    return Finding(
        False,
        "; ".join(problems) + "; expected connectors on the mail path to be enabled and validated, and unused "
        "ones removed",
        observed,
        tuple(details),
    )


# --- MF-CONN-013: hybrid inbound certificate name (§3.5 #10) ---------------------------------------


def check_hybrid_certificate(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    hybrid = [c for c in _inbound(tenant) if hybrid_inbound(c)]
    fields = ("connector_source", "cloud_services_mail_enabled", "tls_sender_certificate_name", "sender_ip_addresses")
    observed = tuple(show_in(c, *fields) for c in hybrid) or (_overview(tenant), "no hybrid inbound connector")
    if not hybrid:
        return Finding(
            True,
            "no hybrid (OnPremises, HybridWizard or CloudServicesMailEnabled) inbound connector; nothing to check",
            observed,
        )
    problems = []
    for c in hybrid:
        name = c.tls_sender_certificate_name
        if not name:
            problems.append(f"{_quote(c.name)} [{c.where}] names no TlsSenderCertificateName")
        elif not tenant.is_accepted_name(name):
            problems.append(f"{_quote(c.name)} [{c.where}] names {name}, which is under no accepted domain")
    if not problems:
        return Finding(
            True,
            "every hybrid inbound connector names a certificate under an accepted domain ("
            + ", ".join(f"{_quote(c.name)}: {c.tls_sender_certificate_name}" for c in hybrid)
            + "); whether that is the certificate on-premises presents now cannot be read from the export",
            observed,
        )
    details = tuple(
        _fix(
            f"re-run the Hybrid Configuration Wizard, or Set-InboundConnector -Identity {_quote(c.name)} "
            "-TlsSenderCertificateName <the subject or SAN name (under an accepted domain) of the certificate "
            "the on-premises Send connector presents>"
        )
        for c in hybrid
        if not certificate_accepted(tenant, c)
    )
    return Finding(
        False,
        "; ".join(problems) + "; expected each hybrid inbound connector to name the on-premises certificate, a "
        "name under an accepted domain (otherwise 550 5.7.64 TenantAttribution)",
        observed,
        details,
    )


# --- MF-CONN-014: relay from on-premises needs an accepted-domain certificate (§3.5 #11) -----------


def check_relay_attribution(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    on_premises_in = [c for c in _inbound(tenant) if c.connector_type == "OnPremises"]
    to_on_premises = [c for c in _outbound(tenant) if c.connector_type == "OnPremises"]
    fields = ("tls_sender_certificate_name", "sender_ip_addresses")
    observed = (
        *(show_in(c, *fields) for c in on_premises_in),
        *(show_out(c, "recipient_domains", "smart_hosts") for c in to_on_premises),
    ) or (_overview(tenant), "no OnPremises connector")
    problems = []
    details = []
    for c in on_premises_in:
        name = c.tls_sender_certificate_name
        if name and not tenant.is_accepted_name(name):
            problems.append(f"{_quote(c.name)} [{c.where}] names certificate {name}, which is under no accepted domain")
            details.append(
                _fix(
                    f"Set-InboundConnector -Identity {_quote(c.name)} -TlsSenderCertificateName "
                    "<certificate name under an accepted domain>"
                )
            )
    mailboxes_on_premises = bool(to_on_premises) or any(hybrid_inbound(c) for c in on_premises_in)
    by_certificate = [c for c in on_premises_in if certificate_accepted(tenant, c)]
    if mailboxes_on_premises and not by_certificate:
        why = (
            "only by IP address (" + _label(on_premises_in) + ")"
            if on_premises_in
            else "by no OnPremises inbound connector"
        )
        problems.append(
            f"on-premises mail servers exist ({_label(to_on_premises) or 'hybrid inbound connector'}) but are "
            f"identified {why}: relayed mail whose sender domain is not accepted (NDRs, forwarded mail, other "
            "domains) is rejected with 550 5.7.64"
        )
        details.append(
            _fix(
                "New-InboundConnector -Name 'From on-premises' -ConnectorType OnPremises "
                "-SenderDomains * -TlsSenderCertificateName <on-premises certificate name under an "
                "accepted domain> (or re-run the Hybrid Configuration Wizard)"
            )
        )
    if not problems:
        if by_certificate:
            summary = (
                f"on-premises relay is attributed by a certificate under an accepted domain ({_label(by_certificate)})"
            )
        elif on_premises_in:
            summary = (
                f"no on-premises mail servers beside {_label(on_premises_in)}, which identifies senders by "
                "IP address: relay is accepted for accepted sender domains only"
            )
        else:
            summary = "no OnPremises connector: nothing is relayed from on-premises"
        return Finding(True, summary, observed)
    return Finding(
        False,
        "; ".join(problems) + "; expected an OnPremises inbound connector whose TlsSenderCertificateName is under "
        "an accepted domain",
        observed,
        tuple(details),
    )


# --- MF-CONN-015: RejectDirectSend (§3.5 #12, advisory) --------------------------------------------


def check_reject_direct_send(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    if tenant.reject_direct_send is None:
        raise Indeterminate(
            f"the tenant export {tenant.path} does not record RejectDirectSend (Get-OrganizationConfig); re-export"
        )
    observed = (f"OrganizationConfig RejectDirectSend {_value(tenant.reject_direct_send)} [{tenant.path}]",)
    if tenant.reject_direct_send:
        return Finding(
            True,
            "RejectDirectSend is True: anonymous mail from accepted domains that matches no connector is refused "
            "(550 5.7.68); devices must use SMTP AUTH or a relay connector",
            observed,
        )
    return Finding(
        False,
        "RejectDirectSend is False: anyone can send anonymously to the tenant's endpoint as an accepted domain "
        "(direct send); expected True unless a documented device or application still uses direct send",
        observed,
        (
            _fix(
                "Set-OrganizationConfig -RejectDirectSend $true (move devices to SMTP AUTH or an OnPremises relay "
                "connector first)"
            ),
        ),
    )


# --- MF-CONN-016: lock-down Partner connector (§3.4) -----------------------------------------------


def _lock_down_ok(connector: InboundConnector) -> bool:
    by_certificate = (
        connector.restrict_domains_to_certificate
        and bool(connector.tls_sender_certificate_name)
        and connector.require_tls
    )
    by_ip = connector.restrict_domains_to_ip_addresses and bool(connector.sender_ip_addresses)
    return by_certificate or by_ip


def _lock_down_gaps(connector: InboundConnector) -> str:
    if connector.restrict_domains_to_certificate:
        missing = [
            what
            for what, ok in (
                ("TlsSenderCertificateName", connector.tls_sender_certificate_name),
                ("RequireTls True", connector.require_tls),
            )
            if not ok
        ]
        return f"restricts to a certificate but lacks {' and '.join(missing)}"
    if connector.restrict_domains_to_ip_addresses:
        return "restricts to IP addresses but names no SenderIPAddresses"
    return "restricts nothing (RestrictDomainsToIPAddresses and RestrictDomainsToCertificate False)"


def _lock_down_source(scenario: str) -> str:
    return "the on-premises servers" if scenario in ON_PREMISES - THIRD_PARTY else "the service in front"


def check_lock_down(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    fields = (
        "sender_domains",
        "restrict_domains_to_certificate",
        "tls_sender_certificate_name",
        "require_tls",
        "restrict_domains_to_ip_addresses",
        "sender_ip_addresses",
        "associated_accepted_domains",
    )
    candidates = [c for c in _inbound(tenant) if c.is_partner and any_sender(c) and applies_to(c, ctx.domain)]
    good = [c for c in candidates if _lock_down_ok(c)]
    ignored = [c for c in _inbound(tenant) if c.connector_type == "OnPremises" and restricting(c)]
    observed = tuple(show_in(c, *fields) for c in [*candidates, *ignored]) or (
        _overview(tenant),
        "no Partner inbound connector with SenderDomains *",
    )
    if good:
        return Finding(
            True,
            f"{_label(good)} locks the tenant to mail from {_lock_down_source(ctx.policy.scenario)}",
            observed,
        )
    if candidates:
        found = "; ".join(f"{_quote(c.name)} [{c.where}] {_lock_down_gaps(c)}" for c in candidates)
    else:
        found = "no enabled Partner inbound connector with SenderDomains * serves " + ctx.domain
        if ignored:
            found += (
                f" ({_label(ignored)}: OnPremises connectors cannot lock down; the Restrict flags apply to "
                "Partner only)"
            )
    return Finding(
        False,
        f"{found}; expected {_expect_lock_down(ctx)}: without it, mail sent straight to the tenant's endpoint "
        "bypasses the MX path",
        observed,
        (
            _fix(
                "New-InboundConnector -Name 'Lock-down' -ConnectorType Partner -SenderDomains * "
                "-RestrictDomainsToCertificate $true -TlsSenderCertificateName <sender's certificate name> "
                "-RequireTls $true"
            ),
            "or by address: New-InboundConnector -Name 'Lock-down' -ConnectorType Partner -SenderDomains * "
            "-RestrictDomainsToIPAddresses $true -SenderIPAddresses <sender's public ranges>",
        ),
    )


def _expect_lock_down(ctx: CheckContext) -> str:
    return (
        "an enabled Partner inbound connector with SenderDomains * that admits only "
        f"{_lock_down_source(ctx.policy.scenario)}: "
        "RestrictDomainsToCertificate True with TlsSenderCertificateName and RequireTls True, or "
        "RestrictDomainsToIPAddresses True with SenderIPAddresses"
    )


# --- MF-CONN-017: Enhanced Filtering effective on the service's connector (§3.4) -------------------


def check_enhanced_filtering(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    fields = ("sender_domains", "ef_skip_last_ip", "ef_skip_ips", "ef_users", "ef_test_mode")
    candidates = [c for c in _inbound(tenant) if c.is_partner and any_sender(c) and applies_to(c, ctx.domain)]
    observed = tuple(show_in(c, *fields) for c in candidates) or (
        _overview(tenant),
        "no Partner inbound connector with SenderDomains *",
    )
    if not candidates:
        return Finding(
            False,
            f"no enabled Partner inbound connector with SenderDomains * serves {ctx.domain}, so Enhanced Filtering "
            "has no connector to work on; expected one from the service in front, with Enhanced Filtering on",
            observed,
            (
                _fix(
                    "create the lock-down connector (MF-CONN-016), then Set-InboundConnector -Identity <it> "
                    "-EFSkipLastIP $true"
                ),
            ),
        )
    problems = [(c, ef_problems(c)) for c in candidates]
    bad = [(c, p) for c, p in problems if p]
    if not bad:
        return Finding(True, f"Enhanced Filtering is effective on {_label(candidates)}", observed)
    found = "; ".join(f"{_quote(c.name)} [{c.where}]: {', '.join(p)}" for c, p in bad)
    return Finding(
        False,
        f"{found}; expected Enhanced Filtering in force for everyone on the connector from the service in front "
        "(EFSkipLastIP True or EFSkipIPs with its public addresses, EFTestMode False, EFUsers empty): otherwise "
        "Exchange Online judges the service's addresses instead of the real senders' and misclassifies mail",
        observed,
        tuple(
            _fix(
                f"Set-InboundConnector -Identity {_quote(c.name)} -EFSkipLastIP $true -EFTestMode $false -EFUsers $null"
            )
            for c, _ in bad
        ),
    )


# --- MF-CONN-018: OnPremises inbound connector identifies on-premises (§3.4) -----------------------


def _on_premises_in_gaps(tenant: TenantExport, connector: InboundConnector, scenario: str) -> list[str]:
    gaps = []
    name = connector.tls_sender_certificate_name
    if scenario in CERTIFICATE_REQUIRED:
        if not name:
            gaps.append("names no TlsSenderCertificateName (a certificate is required here)")
        elif not tenant.is_accepted_name(name):
            gaps.append(f"names certificate {name}, which is under no accepted domain")
    elif not certificate_accepted(tenant, connector) and not connector.sender_ip_addresses:
        gaps.append(
            f"names certificate {name}, which is under no accepted domain, and no SenderIPAddresses"
            if name
            else "names neither a TlsSenderCertificateName nor SenderIPAddresses"
        )
    if scenario in HYBRID and not connector.cloud_services_mail_enabled:
        gaps.append("has CloudServicesMailEnabled False (cross-premises headers are dropped)")
    return gaps


def check_on_premises_inbound(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    scenario = ctx.policy.scenario
    fields = ("tls_sender_certificate_name", "sender_ip_addresses", "cloud_services_mail_enabled", "require_tls")
    candidates = [c for c in _inbound(tenant) if c.connector_type == "OnPremises" and applies_to(c, ctx.domain)]
    observed = tuple(show_in(c, *fields) for c in candidates) or (_overview(tenant), "no OnPremises inbound connector")
    gaps = {c: _on_premises_in_gaps(tenant, c, scenario) for c in candidates}
    good = [c for c, g in gaps.items() if not g]
    if good:
        how = "; ".join(
            f"{_quote(c.name)} by certificate {c.tls_sender_certificate_name}"
            if certificate_accepted(tenant, c)
            else f"{_quote(c.name)} by IP address"
            for c in good
        )
        return Finding(True, f"on-premises is identified: {how}", observed)
    found = (
        "; ".join(f"{_quote(c.name)} [{c.where}] {', '.join(g)}" for c, g in gaps.items())
        if candidates
        else f"no enabled OnPremises inbound connector serves {ctx.domain}"
    )
    details = [
        _fix(
            "New-InboundConnector -Name 'From on-premises' -ConnectorType OnPremises -SenderDomains * "
            "-TlsSenderCertificateName <on-premises certificate name under an accepted domain>"
            + (
                " (the Hybrid Configuration Wizard creates it, with CloudServicesMailEnabled)"
                if scenario in HYBRID
                else ""
            )
        )
    ]
    return Finding(False, f"{found}; expected {_expect_on_premises_inbound(ctx)}", observed, tuple(details))


def _expect_on_premises_inbound(ctx: CheckContext) -> str:
    scenario = ctx.policy.scenario
    how = (
        "TlsSenderCertificateName under an accepted domain (required: on-premises relays NDRs, forwarded mail and "
        "other domains' mail)"
        if scenario in CERTIFICATE_REQUIRED
        else "TlsSenderCertificateName under an accepted domain (preferred) or SenderIPAddresses"
    )
    hybrid = ", CloudServicesMailEnabled True" if scenario in HYBRID else ""
    return f"an enabled OnPremises inbound connector identifying on-premises by {how}{hybrid}"


# --- MF-CONN-019: OnPremises outbound connector to on-premises (§3.4) ------------------------------


def _routes_domain(connector: OutboundConnector, domain: str) -> bool:
    return connector.all_accepted_domains or any(covers(p, domain, apex=True) for p in connector.recipient_domains)


def _on_premises_out_gaps(connector: OutboundConnector, scenario: str) -> list[str]:
    gaps = []
    if connector.use_mx_record:
        gaps.append("looks up MX records (UseMXRecord True)")
    if not connector.smart_hosts:
        gaps.append("names no SmartHosts")
    allowed = VALIDATING_TLS if scenario in HYBRID else ("EncryptionOnly", *VALIDATING_TLS)
    if connector.tls_settings not in allowed:
        gaps.append(f"has TlsSettings {_value(connector.tls_settings)}")
    if connector.tls_settings == "DomainValidation" and not connector.tls_domain:
        gaps.append("has DomainValidation without TlsDomain")
    if scenario in HYBRID and not connector.cloud_services_mail_enabled:
        gaps.append("has CloudServicesMailEnabled False")
    return gaps


def _out_fixes(connector: OutboundConnector, scenario: str) -> list[str]:
    """Commands that close a connector's gaps, leaving what is right untouched."""
    args = []
    if connector.use_mx_record:
        args.append("-UseMXRecord $false")
    if not connector.smart_hosts:
        args.append("-SmartHosts <on-premises host name>")
    allowed = VALIDATING_TLS if scenario in HYBRID else ("EncryptionOnly", *VALIDATING_TLS)
    if connector.tls_settings not in allowed:
        args.append("-TlsSettings DomainValidation")
    if (
        connector.tls_settings not in allowed or connector.tls_settings == "DomainValidation"
    ) and not connector.tls_domain:
        args.append("-TlsDomain <name on the on-premises certificate>")
    fixes = [_fix(f"Set-OutboundConnector -Identity {_quote(connector.name)} {' '.join(args)}")] if args else []
    if scenario in HYBRID and not connector.cloud_services_mail_enabled:
        fixes.append(
            _fix(
                f"re-run the Hybrid Configuration Wizard for {_quote(connector.name)}: it sets "
                "CloudServicesMailEnabled (Microsoft: not to be set by hand)"
            )
        )
    return fixes


def check_on_premises_outbound(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    scenario = ctx.policy.scenario
    fields = (
        "recipient_domains",
        "all_accepted_domains",
        "use_mx_record",
        "smart_hosts",
        "tls_settings",
        "tls_domain",
        "cloud_services_mail_enabled",
    )
    to_on_premises = [c for c in _outbound(tenant) if c.connector_type == "OnPremises"]
    candidates = [c for c in to_on_premises if _routes_domain(c, ctx.domain)]
    observed = tuple(show_out(c, *fields) for c in to_on_premises) or (
        _overview(tenant),
        "no OnPremises outbound connector",
    )
    gaps = {c: _on_premises_out_gaps(c, scenario) for c in candidates}
    good = [c for c, g in gaps.items() if not g]
    if good:
        return Finding(
            True,
            f"{_label(good)} routes {ctx.domain} to on-premises ({', '.join(good[0].smart_hosts)}) with "
            f"TlsSettings {good[0].tls_settings}, without MX lookup",
            observed,
        )
    if candidates:
        found = "; ".join(f"{_quote(c.name)} [{c.where}] {', '.join(g)}" for c, g in gaps.items())
        details = tuple(fix for c in candidates for fix in _out_fixes(c, scenario))
    else:
        found = f"no enabled OnPremises outbound connector routes {ctx.domain}" + (
            f" ({_label(to_on_premises)} route other domains)" if to_on_premises else ""
        )
        details = (
            _fix(
                f"New-OutboundConnector -Name 'To on-premises' -ConnectorType OnPremises -RecipientDomains "
                f"{ctx.domain} -UseMXRecord $false -SmartHosts <on-premises host name> -TlsSettings "
                "DomainValidation -TlsDomain <name on the on-premises certificate>"
                + (" (or re-run the Hybrid Configuration Wizard)" if scenario in HYBRID else "")
            ),
        )
    return Finding(False, f"{found}; expected {_expect_on_premises_outbound(ctx)}", observed, details)


def _expect_on_premises_outbound(ctx: CheckContext) -> str:
    scenario = ctx.policy.scenario
    tls = "CertificateValidation or DomainValidation (with TlsDomain)" if scenario in HYBRID else "TLS"
    hybrid = ", CloudServicesMailEnabled True" if scenario in HYBRID else ""
    return (
        f"an enabled OnPremises outbound connector for {ctx.domain} (RecipientDomains or AllAcceptedDomains) with "
        f"UseMXRecord False, SmartHosts on-premises, TlsSettings {tls}{hybrid}"
    )


# --- MF-CONN-020: RouteAllMessagesViaOnPremises matches the scenario (§3.4) -------------------------


def check_route_all(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    outbound = _outbound(tenant)
    fields = ("route_all_messages_via_on_premises", "smart_hosts")
    routing = [c for c in outbound if c.route_all_messages_via_on_premises]
    if ctx.policy.scenario in CMT:
        valid = [c for c in routing if c.connector_type == "OnPremises"]
        shown = [c for c in outbound if c.connector_type == "OnPremises" or c.route_all_messages_via_on_premises]
        observed = tuple(show_out(c, *fields) for c in shown) or (_overview(tenant), "no OnPremises outbound connector")
        if valid:
            return Finding(
                True, f"{_label(valid)} routes all mail via on-premises (centralized mail transport)", observed
            )
        candidates = [c for c in outbound if c.connector_type == "OnPremises"]
        return Finding(
            False,
            "no enabled OnPremises outbound connector has RouteAllMessagesViaOnPremises True"
            + (f" ({_label(candidates)} has it False)" if candidates else "")
            + f"; expected centralized mail transport for scenario {ctx.policy.scenario}",
            observed,
            tuple(
                _fix(
                    f"Set-OutboundConnector -Identity {_quote(c.name)} -RouteAllMessagesViaOnPremises $true "
                    "(or re-run the Hybrid Configuration Wizard with centralized mail transport)"
                )
                for c in candidates or []
            )
            or (
                _fix(
                    "create the OnPremises outbound connector (MF-CONN-019) with -RouteAllMessagesViaOnPremises $true"
                ),
            ),
        )
    observed = tuple(show_out(c, *fields) for c in routing) or (
        _overview(tenant),
        "no outbound connector routes all mail via on-premises",
    )
    if not routing:
        return Finding(True, "no outbound connector routes all mail via on-premises, as the scenario expects", observed)
    return Finding(
        False,
        f"{_label(routing)} has RouteAllMessagesViaOnPremises True (centralized mail transport); expected False "
        f"for scenario {ctx.policy.scenario}: cloud mailboxes would send to the internet through on-premises",
        observed,
        tuple(
            _fix(f"Set-OutboundConnector -Identity {_quote(c.name)} -RouteAllMessagesViaOnPremises $false")
            for c in routing
        ),
    )


# --- MF-CONN-021: no lock-down where the MX points at Microsoft 365 (§1.A, §3.4) -------------------


def check_no_lock_down(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    fields = ("sender_domains", "restrict_domains_to_ip_addresses", "restrict_domains_to_certificate")
    partner = [c for c in _inbound(tenant) if c.is_partner and applies_to(c, ctx.domain)]
    observed = tuple(show_in(c, *fields) for c in partner) or (_overview(tenant), "no Partner inbound connector")
    bad = [c for c in partner if any_sender(c) and restricting(c)]
    if not bad:
        return Finding(True, "no Partner connector restricts all senders (SenderDomains *) to one path", observed)
    return Finding(
        False,
        f"{_label(bad)} restricts mail from all senders (SenderDomains *) to its "
        "IP addresses or certificate, but in scenario "
        f"{ctx.policy.scenario} the MX points at Microsoft 365 and the internet delivers directly: legitimate mail "
        "is rejected; expected no restricting Partner connector with SenderDomains *",
        observed,
        tuple(
            _fix(
                f"Set-InboundConnector -Identity {_quote(c.name)} -Enabled $false (or Remove-InboundConnector "
                f"-Identity {_quote(c.name)})"
            )
            for c in bad
        ),
    )


# --- MF-CONN-022: outbound connector to the archiving service (§1.C, §3.4) -------------------------


def _service_gaps(connector: OutboundConnector) -> list[str]:
    gaps = []
    if connector.use_mx_record:
        gaps.append("looks up MX records (UseMXRecord True)")
    if not connector.smart_hosts:
        gaps.append("names no SmartHosts")
    if connector.tls_settings != "DomainValidation":
        gaps.append(f"has TlsSettings {_value(connector.tls_settings)}")
    if not connector.tls_domain:
        gaps.append("names no TlsDomain")
    return gaps


def check_service_outbound(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    outbound = _outbound(tenant)
    fields = (
        "recipient_domains",
        "is_transport_rule_scoped",
        "use_mx_record",
        "smart_hosts",
        "tls_settings",
        "tls_domain",
    )
    candidates = [c for c in outbound if "*" in {_norm(d) for d in c.recipient_domains} or c.is_transport_rule_scoped]
    observed = tuple(show_out(c, *fields) for c in outbound) or (_overview(tenant), "no outbound connector")
    gaps = {c: _service_gaps(c) for c in candidates}
    good = [c for c, g in gaps.items() if not g]
    if good:
        return Finding(
            True,
            f"{_label(good)} sends mail to the service ({', '.join(good[0].smart_hosts)}) with TLS DomainValidation "
            f"for {good[0].tls_domain}",
            observed,
        )
    found = (
        "; ".join(f"{_quote(c.name)} [{c.where}] {', '.join(g)}" for c, g in gaps.items())
        if candidates
        else "no enabled outbound connector for all recipients (RecipientDomains *) or for a mail flow rule"
    )
    return Finding(
        False,
        f"{found}; expected an outbound connector to the archiving service with UseMXRecord False, SmartHosts of "
        "the service, TlsSettings DomainValidation and TlsDomain",
        observed,
        (
            _fix(
                "New-OutboundConnector -Name 'To the archiving service' -ConnectorType Partner -RecipientDomains * "
                "-UseMXRecord $false -SmartHosts <service host name> -TlsSettings DomainValidation -TlsDomain "
                "<name on the service's certificate>"
            ),
        ),
    )


# --- MF-CONN-023: no connector for direct send (§1.I) ----------------------------------------------


def _own_sender_domains(tenant: TenantExport, connector: InboundConnector) -> list[str]:
    return [d for d in connector.sender_domains if _norm(d) != "*" and tenant.is_accepted_name(d)]


def check_no_direct_send_connector(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    partner = [c for c in _inbound(tenant) if c.is_partner]
    own = [c for c in partner if _own_sender_domains(tenant, c)]
    observed = tuple(
        show_in(c, "sender_domains", "sender_ip_addresses", "tls_sender_certificate_name") for c in own
    ) or (
        _overview(tenant),
        "no Partner inbound connector for the organisation's own sender domains",
    )
    if not own:
        return Finding(True, "no Partner connector is set up for the organisation's own sender domains", observed)
    if tenant.reject_direct_send is None:
        raise Indeterminate(
            f"{_label(own)} admits the organisation's own domains; whether it serves RejectDirectSend cannot be "
            f"told because the tenant export {tenant.path} does not record RejectDirectSend"
        )
    observed = (*observed, f"OrganizationConfig RejectDirectSend {_value(tenant.reject_direct_send)} [{tenant.path}]")
    if tenant.reject_direct_send:
        return Finding(
            True,
            f"{_label(own)} admits known senders of the organisation's own domains while RejectDirectSend is True, "
            "as Microsoft describes for senders that must keep direct send",
            observed,
        )
    return Finding(
        False,
        f"{_label(own)} is a Partner connector for the organisation's own sender domains "
        f"({', '.join(d for c in own for d in _own_sender_domains(tenant, c))}) while RejectDirectSend is False: "
        "direct send to internal recipients needs no connector, and a Partner connector lets no device relay to "
        "external recipients; expected no connector for direct send (SMTP relay uses an OnPremises connector)",
        observed,
        tuple(
            _fix(
                f"Remove-InboundConnector -Identity {_quote(c.name)}; for relay to external recipients: "
                "New-InboundConnector -Name 'Devices' -ConnectorType OnPremises -SenderDomains * "
                "-SenderIPAddresses <device's static public address>"
            )
            for c in own
        ),
    )


# --- MF-CONN-024: accepted domain type fits the scenario (§3.3, §3.4) ------------------------------


def check_accepted_domain(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    scenario = ctx.policy.scenario
    accepted = accepted_for(tenant, ctx.domain)
    fix = _fix(f"Set-AcceptedDomain -Identity {ctx.domain} -DomainType Authoritative")
    if accepted is None:
        names = ", ".join(d.domain_name for d in tenant.accepted_domains) or "none"
        return Finding(
            False,
            f"{ctx.domain} is not an accepted domain of the tenant; expected {_expect_accepted(ctx)}",
            (_overview(tenant), f"accepted domains: {names}"),
            (_fix(f"add and verify {ctx.domain} in the Microsoft 365 admin center (Settings > Domains)"),),
        )
    via = f" (through {accepted.domain_name}, MatchSubDomains True)" if accepted.domain_name != ctx.domain else ""
    observed = (f"accepted domain {accepted.domain_name} [{accepted.where}]: DomainType {accepted.domain_type}{via}",)
    kind = accepted.domain_type
    if kind == "Authoritative":
        return Finding(
            True,
            f"{ctx.domain} is Authoritative{via}: Directory-Based Edge Blocking rejects unknown recipients",
            observed,
        )
    if kind == "InternalRelay" and scenario in ON_PREMISES:
        return Finding(
            True,
            f"{ctx.domain} is InternalRelay{via}: recipients not in Exchange Online are relayed through the "
            "outbound connector to on-premises (MF-CONN-019); switch to Authoritative once every recipient is in "
            "the directory",
            observed,
        )
    return Finding(
        False,
        f"{ctx.domain} is {kind}{via}; expected {_expect_accepted(ctx)}",
        observed,
        (fix,),
    )


def _expect_accepted(ctx: CheckContext) -> str:
    if ctx.policy.scenario in ON_PREMISES:
        return (
            "an accepted domain of type Authoritative (every on-premises recipient synced) or InternalRelay "
            "(relayed to on-premises)"
        )
    return "an accepted domain of type Authoritative: every mailbox is in Exchange Online"


# --- MF-CONN-025: device relay connectors are exact (§1.I, §3.4) -----------------------------------


def check_device_relay(ev: EvidenceView, ctx: CheckContext) -> Finding:
    tenant = ev.tenant()
    relay = [c for c in _inbound(tenant) if c.connector_type == "OnPremises" and applies_to(c, ctx.domain)]
    observed = tuple(show_in(c, "sender_ip_addresses", "tls_sender_certificate_name") for c in relay) or (
        _overview(tenant),
        "no OnPremises inbound connector",
    )
    if not relay:
        return Finding(
            True, "no relay connector: devices send with SMTP AUTH or direct send, which need none", observed
        )
    problems = []
    for c in relay:
        if certificate_accepted(tenant, c):
            continue
        wide = [
            entry
            for entry in c.sender_ip_addresses
            if (nets := networks(entry)) is None or any(n.num_addresses > 1 for n in nets)
        ]
        if c.tls_sender_certificate_name:
            problems.append(
                f"{_quote(c.name)} [{c.where}] names certificate {c.tls_sender_certificate_name}, "
                "which is under no accepted domain"
            )
        elif not c.sender_ip_addresses:
            problems.append(f"{_quote(c.name)} [{c.where}] names neither addresses nor a certificate")
        elif wide:
            problems.append(
                f"{_quote(c.name)} [{c.where}] admits ranges ({', '.join(wide)}), not single device addresses"
            )
    if not problems:
        return Finding(
            True, f"{_label(relay)} identifies devices by single addresses or an accepted-domain certificate", observed
        )
    return Finding(
        False,
        "; ".join(problems) + "; expected the relay connector to name each device's static public address (/32) "
        "or a certificate under an accepted domain: a range can admit hosts that are not the organisation's",
        observed,
        tuple(
            _fix(
                f"Set-InboundConnector -Identity {_quote(c.name)} -SenderIPAddresses <each device's static public "
                "address>"
            )
            for c in relay
            if not certificate_accepted(tenant, c)
        ),
    )


# --- the rules -----------------------------------------------------------------------------------


def _names(scenarios: Iterable[str]) -> str:
    return ", ".join(sorted(scenarios))


RULES: tuple[Rule, ...] = (
    Rule(
        id="MF-CONN-001",
        title="No Partner-only restrictions on OnPremises inbound connectors",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="RestrictDomainsToIPAddresses and RestrictDomainsToCertificate only act on Partner inbound "
        "connectors; on an OnPremises connector they lock nothing down, so a tenant that relies on them accepts "
        "mail that bypasses its intended path. An OnPremises connector does not replace the Partner lock-down "
        "connector; the two can coexist. (RequireTls is also documented for Partner connectors only, but the "
        "Hybrid Configuration Wizard sets it on its OnPremises connectors, so it is shown and not flagged.) "
        "Reference §3.5 #1.",
        remediation="Clear the flags on the OnPremises connector (Set-InboundConnector -RestrictDomainsToIPAddresses "
        "$false -RestrictDomainsToCertificate $false) and lock the tenant down with a Partner connector "
        "(SenderDomains *) instead.",
        references=(_MS_THIRD_PARTY, _MS_NEW_IN, _MS_SET_IN),
        check=check_partner_flags,
        params=with_export,
        expectation=lambda ctx: "RestrictDomainsTo* only on Partner inbound connectors",
    ),
    Rule(
        id="MF-CONN-002",
        title="Partner inbound connectors identify senders by IP addresses or by certificate, not both",
        family="conn",
        severity=Severity.LOW,
        rationale="Microsoft asks for separate connectors when a partner is identified both by IP addresses and "
        "by a certificate; one connector with both makes it unclear which identification (and which "
        "restriction) applies. Reference §3.5 #2.",
        remediation="Split the connector: keep the IP addresses on one Partner connector and move "
        "TlsSenderCertificateName (with RestrictDomainsToCertificate and RequireTls) to a second.",
        references=(_MS_CONNECTORS, _MS_PARTNER),
        check=check_partner_split,
        params=with_export,
        expectation=lambda ctx: "no Partner inbound connector with both SenderIPAddresses and TlsSenderCertificateName",
    ),
    Rule(
        id="MF-CONN-003",
        title="No sender-domain 'allow' connector beside a restricting connector",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="A Partner connector scoped to a sender domain without any restriction does not exempt that "
        "partner from a restricting Partner connector (RestrictDomainsTo* with overlapping SenderDomains, "
        "typically *): the restricting connector wins and the partner's mail from other addresses is rejected. "
        "Reference §3.5 #3.",
        remediation="Let the partner's mail arrive through the restricted path (add its addresses or certificate "
        "to the restricting connector, or give it a restricting connector of its own), or remove the allow "
        "connector.",
        references=(_MS_CONNECTORS, _MS_PARTNER),
        check=check_allow_beside_restrict,
        params=with_export,
        expectation=lambda ctx: "no unrestricted Partner connector whose SenderDomains overlap a restricting one",
    ),
    Rule(
        id="MF-CONN-004",
        title="SenderIPAddresses are public IPv4 addresses or /24../32 blocks",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="Inbound connectors accept single IPv4 addresses and CIDR blocks from /24 to /32; IPv6 is not "
        "supported. A private, shared, loopback or link-local range never matches, because Exchange Online sees "
        "the sender's public address [derived]. Reference §3.5 #4.",
        remediation="List the public IPv4 addresses (or /24../32 blocks) the sender connects from: "
        "Set-InboundConnector -SenderIPAddresses <addresses>.",
        references=(_MS_NEW_IN, _MS_SET_IN, _RFC1918),
        check=check_sender_ips,
        params=with_export,
        expectation=lambda ctx: "every SenderIPAddresses entry a public IPv4 address or /24../32 block",
    ),
    Rule(
        id="MF-CONN-005",
        title="Enhanced Filtering skips no private or Microsoft 365 addresses, and is off on hybrid connectors "
        "under centralized mail transport",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="Enhanced Filtering for Connectors (skip listing) must not list RFC 1918 ranges or Microsoft 365 "
        "addresses (Microsoft's published Exchange Online Protection ranges 40.92.0.0/15, 40.107.0.0/16, "
        "52.100.0.0/15, 52.102.0.0/16, 52.103.0.0/16, 104.47.0.0/17, 2a01:111:f400::/48, 2a01:111:f403::/48). "
        "It is not supported together with centralized mail transport: on a hybrid (OnPremises) connector "
        "EOP then scans internal mail and can mark it as spam. Reference §3.5 #5.",
        remediation="Keep only the public egress addresses of the service in front of Exchange Online in "
        "EFSkipIPs (or use EFSkipLastIP); under centralized mail transport clear EFSkipLastIP and EFSkipIPs on "
        "the OnPremises connector.",
        references=(_MS_EF, _MS_IP_RANGES, _RFC1918),
        check=check_ef_skip,
        params=with_export,
        expectation=lambda ctx: (
            "EFSkipIPs without RFC 1918 or Microsoft 365 ranges; no Enhanced Filtering on an "
            "OnPremises connector while an outbound connector has RouteAllMessagesViaOnPremises True"
        ),
    ),
    Rule(
        id="MF-CONN-006",
        title="Outbound connectors that skip the MX lookup name smart hosts; DomainValidation names a TlsDomain",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="UseMXRecord False requires SmartHosts: without them the connector has nowhere to deliver. "
        "TlsSettings DomainValidation checks the receiving certificate against TlsDomain, which must then be set. "
        "Reference §3.5 #6.",
        remediation="Set-OutboundConnector -SmartHosts <host name> for connectors without MX lookup, and "
        "-TlsDomain <certificate name> with DomainValidation.",
        references=(_MS_NEW_OUT, _MS_SET_OUT),
        check=check_smart_host_settings,
        params=with_export,
        expectation=lambda ctx: (
            "SmartHosts whenever UseMXRecord is False; TlsDomain whenever TlsSettings is DomainValidation"
        ),
    ),
    Rule(
        id="MF-CONN-007",
        title="No outbound connector for the organisation's own domains smart-hosts to Exchange Online",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="An OnPremises connector, or one routing accepted domains (or *), whose smart host is an "
        "Exchange Online endpoint (mail.protection.outlook.com, mx.microsoft and the other clouds' namespaces, "
        "retired endpoints, smtp.office365.com) hands the tenant's mail back to itself: a mail loop that ends in "
        "5.4.x non-delivery reports [derived]. A Partner connector to another organisation's Microsoft 365 "
        "endpoint is not flagged. Reference §3.5 #6.",
        remediation="Point the connector at the on-premises servers or the service it is meant for "
        "(Set-OutboundConnector -SmartHosts <host name>).",
        references=(_MS_SET_OUT, _MS_ROUTE),
        check=check_smart_host_loop,
        params=with_export,
        expectation=lambda ctx: (
            "no Exchange Online endpoint as smart host of a connector for the organisation's own domains"
        ),
    ),
    Rule(
        id="MF-CONN-008",
        title="Smart hosts are host names, not IP addresses",
        family="conn",
        severity=Severity.LOW,
        rationale="SmartHosts accepts an FQDN, an IP address or a CIDR block, and Microsoft prefers an FQDN: "
        "certificate validation (DomainValidation) and the MTA-STS check run against a name. An IP literal is a "
        "warning, not an error. Reference §3.5 #6.",
        remediation="Give the smart host as a fully qualified host name: Set-OutboundConnector -SmartHosts <host>.",
        references=(_MS_NEW_OUT, _MS_SET_OUT),
        check=check_smart_host_names,
        params=with_export,
        expectation=lambda ctx: "every SmartHosts entry a host name",
    ),
    Rule(
        id="MF-CONN-009",
        title="TreatMessagesAsInternal only on OnPremises connectors without CloudServicesMailEnabled",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="TreatMessagesAsInternal makes mail through the connector internal, so it skips anti-spam; it "
        "is meant for non-Exchange on-premises servers only and cannot be combined with CloudServicesMailEnabled "
        "or used on a Partner connector. Reference §3.5 #7.",
        remediation="Set-InboundConnector -TreatMessagesAsInternal $false, unless the connector serves a "
        "non-Exchange on-premises server (then it must be OnPremises without CloudServicesMailEnabled).",
        references=(_MS_NEW_IN, _MS_SET_IN),
        check=check_treat_as_internal,
        params=with_export,
        expectation=lambda ctx: (
            "TreatMessagesAsInternal True only on an OnPremises connector with CloudServicesMailEnabled False"
        ),
    ),
    Rule(
        id="MF-CONN-010",
        title="Transport-rule-scoped outbound connectors have a mail flow rule (advisory)",
        family="conn",
        severity=Severity.INFO,
        rationale="An outbound connector with IsTransportRuleScoped True is used only when a mail flow rule "
        "routes to it (RouteMessageOutboundConnector). The tenant export holds no mail flow rules, so this cannot "
        "be verified; the rule lists such connectors so that someone checks. Reference §3.5 #8.",
        remediation="Confirm a mail flow rule names the connector (Get-TransportRule | Where-Object "
        "{ $_.RouteMessageOutboundConnector -eq '<name>' }); remove the connector if none does.",
        references=(_MS_NEW_OUT, _MS_ADD_ON),
        check=check_rule_scoped,
        params=with_export,
        expectation=lambda ctx: (
            "every transport-rule-scoped outbound connector named by a mail flow rule "
            "(not in the export: checked by hand)"
        ),
    ),
    Rule(
        id="MF-CONN-011",
        title="No overlapping or duplicate outbound connectors",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="Exchange Online picks an outbound connector by recipient domain (exact domain before all "
        "accepted domains before a wildcard). Two enabled connectors for the same recipient domain, the same "
        "wildcard or both with AllAcceptedDomains leave the choice to chance; Microsoft warns that duplicates "
        "can cause errors. Transport-rule-scoped connectors are selected by rule and not compared. "
        "Reference §3.5 #9.",
        remediation="Keep one connector per recipient domain: remove the duplicate or take the domain off one "
        "(Set-OutboundConnector -RecipientDomains @{Remove='<domain>'}).",
        references=(_MS_ROUTE, _MS_PARTNER),
        check=check_outbound_overlap,
        params=with_export,
        expectation=lambda ctx: (
            "at most one enabled outbound connector per recipient domain, wildcard or AllAcceptedDomains"
        ),
    ),
    Rule(
        id="MF-CONN-012",
        title="Connectors are enabled and outbound connectors validated",
        family="conn",
        severity=Severity.LOW,
        rationale="A disabled connector is either dead configuration or a mail path that silently stopped; an "
        "outbound connector recorded as never validated (IsValidated False) has not been tested. Microsoft builds "
        "validation into the connector wizard; Validate-OutboundConnector itself does not set IsValidated. "
        "Exports without IsValidated are not judged on it. Reference §3.5 #9.",
        remediation="Enable or remove disabled connectors; validate outbound connectors in the Exchange admin "
        "center (Connectors > the connector > Validate).",
        references=(_MS_TEST, _MS_ROUTE),
        check=check_disabled_unvalidated,
        params=with_export,
        expectation=lambda ctx: "no disabled connector; no outbound connector with IsValidated False",
    ),
    Rule(
        id="MF-CONN-013",
        title="Hybrid inbound connectors name an on-premises certificate under an accepted domain",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="A hybrid OnPremises inbound connector (made by the Hybrid Configuration Wizard, or with "
        "CloudServicesMailEnabled) recognises on-premises Exchange by TlsSenderCertificateName, which must "
        "contain an accepted domain. When the on-premises certificate is renewed or renamed and the connector "
        "keeps the old name, mail fails with 550 5.7.64 TenantAttribution. The export does not hold the "
        "certificate on-premises presents, so the rule checks that a name is set and is an accepted name; "
        "comparing it with the live certificate is left to the administrator. Reference §3.5 #10.",
        remediation="Re-run the Hybrid Configuration Wizard after a certificate change, or Set-InboundConnector "
        "-TlsSenderCertificateName <certificate name under an accepted domain>.",
        references=(_MS_5764, _MS_RELAY, _MS_MULTIPLE),
        check=check_hybrid_certificate,
        params=with_export,
        expectation=lambda ctx: (
            "each hybrid inbound connector's TlsSenderCertificateName set and under an accepted domain"
        ),
    ),
    Rule(
        id="MF-CONN-014",
        title="Relay from on-premises is attributed by a certificate under an accepted domain",
        family="conn",
        severity=Severity.HIGH,
        rationale="Microsoft 365 rejects mail relayed from on-premises when neither the sender nor the recipient "
        "domain belongs to the organisation, unless a connector allows it: since 2017 relay is accepted when the "
        "sender domain is an accepted domain, or when on-premises presents a certificate whose name contains an "
        "accepted domain and an OnPremises inbound connector names it. NDRs, forwarded mail and mail for other "
        "domains need the certificate; IP-identified connectors cover accepted sender domains only. The rule "
        "fails when a connector's certificate name is outside the accepted domains, or when on-premises mail "
        "servers exist (an OnPremises outbound or a hybrid inbound connector) and no certificate connector does. "
        "Reference §1 (overview), §3.5 #11.",
        remediation="Create (or fix) an OnPremises inbound connector with TlsSenderCertificateName set to the "
        "on-premises certificate's name under an accepted domain, or re-run the Hybrid Configuration Wizard.",
        references=(_MS_OVERVIEW, _MS_RELAY, _MS_5764, _MS_MULTIPLE),
        check=check_relay_attribution,
        params=with_export,
        expectation=lambda ctx: (
            "an OnPremises inbound connector whose certificate name is under an accepted "
            "domain wherever on-premises mail servers relay through Exchange Online"
        ),
    ),
    Rule(
        id="MF-CONN-015",
        title="RejectDirectSend is on unless a device still uses direct send (advisory)",
        family="conn",
        severity=Severity.INFO,
        rationale="Direct send lets anyone deliver anonymous mail from an accepted domain to the tenant's MX "
        "endpoint. Set-OrganizationConfig -RejectDirectSend $true refuses such mail unless it matches an inbound "
        "connector (550 5.7.68 TenantInboundAttribution). The export cannot say whether a device still depends "
        "on direct send, so a False value is advice to check, not a verdict; an export without the value is an "
        "error. Reference §3.5 #12.",
        remediation="Move devices and applications to SMTP AUTH client submission or an OnPremises relay "
        "connector (or a Partner connector for a third-party sender), then Set-OrganizationConfig "
        "-RejectDirectSend $true.",
        references=(_MS_ORG, _DIRECT_SEND_BLOG, _MS_DEVICES),
        check=check_reject_direct_send,
        params=with_export,
        expectation=lambda ctx: "OrganizationConfig RejectDirectSend True (unless direct send is documented in use)",
    ),
    Rule(
        id="MF-CONN-016",
        title="A Partner lock-down connector admits mail only from the MX path",
        family="conn",
        severity=Severity.HIGH,
        rationale="When the MX points at a third-party service or at on-premises, mail must reach Exchange Online "
        "only through that path; otherwise attackers send straight to <token>.mail.protection.outlook.com and "
        "bypass the filter. Microsoft's lock-down is an enabled Partner inbound connector with SenderDomains * "
        "and either RestrictDomainsToCertificate with TlsSenderCertificateName and RequireTls (preferred), or "
        "RestrictDomainsToIPAddresses with SenderIPAddresses. An OnPremises connector cannot do it. A connector "
        "limited by AssociatedAcceptedDomains counts only for the domains it names. Collected for scenarios: "
        f"{_names(LOCKED_DOWN)} (reference §1.B, §1.C, §1.F, §1.G, §1.H, §3.4).",
        remediation="New-InboundConnector -ConnectorType Partner -SenderDomains * with -RestrictDomainsToCertificate "
        "$true -TlsSenderCertificateName <sender's certificate> -RequireTls $true, or -RestrictDomainsToIPAddresses "
        "$true -SenderIPAddresses <sender's public ranges>.",
        references=(_MS_THIRD_PARTY, _MS_PARTNER, _MS_MULTIPLE, _MS_NEW_IN),
        check=check_lock_down,
        params=for_scenarios(LOCKED_DOWN),
        expectation=_expect_lock_down,
    ),
    Rule(
        id="MF-CONN-017",
        title="Enhanced Filtering is effective on the connector from the service in front",
        family="conn",
        severity=Severity.HIGH,
        rationale="With a third-party service in front, Exchange Online sees the service's addresses instead of "
        "the senders'; Microsoft strongly recommends Enhanced Filtering for Connectors (and requires it for an "
        "archiving service that does not filter). It is effective when EFSkipLastIP is True or EFSkipIPs lists "
        "the service's public addresses, EFTestMode is False, EFUsers is empty (everyone) and the skip list holds "
        "no RFC 1918 or Microsoft 365 ranges. Every enabled Partner connector with SenderDomains * serving the "
        f"domain is checked. Collected for scenarios: {_names(THIRD_PARTY)} (reference §1.B, §1.C, §1.H, §3.4). "
        "Enhanced Filtering on the OnPremises connector, needed when third-party apps relay through on-premises, "
        "depends on facts the export lacks and is not checked.",
        remediation="Set-InboundConnector -Identity <connector> -EFSkipLastIP $true -EFTestMode $false -EFUsers "
        "$null (or -EFSkipIPs <the service's public egress ranges>), then disable any SCL -1 mail flow rule for "
        "that path.",
        references=(_MS_EF, _MS_THIRD_PARTY, _MS_THIRD_PARTY_HYBRID),
        check=check_enhanced_filtering,
        params=for_scenarios(THIRD_PARTY),
        expectation=lambda ctx: (
            "Enhanced Filtering in force for everyone on each Partner connector with "
            "SenderDomains * (EFSkipLastIP or clean EFSkipIPs, EFTestMode False, EFUsers empty)"
        ),
    ),
    Rule(
        id="MF-CONN-018",
        title="An OnPremises inbound connector identifies the on-premises servers",
        family="conn",
        severity=Severity.HIGH,
        rationale="Mail from on-premises servers (hybrid Exchange, or servers EOP protects) is recognised by an "
        "OnPremises inbound connector, by certificate (TlsSenderCertificateName under an accepted domain, "
        "preferred) or by SenderIPAddresses. In hybrid the connector also carries cross-premises headers "
        "(CloudServicesMailEnabled True, set by the Hybrid Configuration Wizard). Where on-premises relays mail "
        "of domains the organisation does not own (NDRs, forwarding), the certificate is required. "
        f"Collected for scenarios: {_names(ON_PREMISES)}; certificate required in {_names(CERTIFICATE_REQUIRED)}; "
        f"CloudServicesMailEnabled required in {_names(HYBRID)} (reference §1.D–§1.H, §1.J, §3.4). RequireTls, "
        "listed for hybrid in the reference, is not required: the cmdlet reference applies it to Partner "
        "connectors, and certificate identification needs TLS anyway.",
        remediation="Re-run the Hybrid Configuration Wizard, or New-InboundConnector -ConnectorType OnPremises "
        "-SenderDomains * -TlsSenderCertificateName <on-premises certificate name> (or -SenderIPAddresses "
        "<on-premises egress addresses>).",
        references=(_MS_MULTIPLE, _MS_ROUTE, _MS_RELAY, _MS_EOP),
        check=check_on_premises_inbound,
        params=for_scenarios(ON_PREMISES),
        expectation=_expect_on_premises_inbound,
    ),
    Rule(
        id="MF-CONN-019",
        title="An OnPremises outbound connector routes the domain to on-premises with TLS, without MX lookup",
        family="conn",
        severity=Severity.HIGH,
        rationale="Mail for recipients on-premises leaves Exchange Online through an OnPremises outbound "
        "connector for the domain (RecipientDomains or AllAcceptedDomains) with UseMXRecord False and the "
        "on-premises SmartHosts (the MX may point back at Exchange Online), over TLS: CertificateValidation or "
        "DomainValidation with TlsDomain in hybrid, any TLS for EOP standalone. Hybrid connectors also carry "
        "cross-premises headers (CloudServicesMailEnabled True). An InternalRelay accepted domain depends on "
        f"this connector. Collected for scenarios: {_names(ON_PREMISES)} (reference §1.D–§1.H, §1.J, §3.4).",
        remediation="Re-run the Hybrid Configuration Wizard, or Set-/New-OutboundConnector -ConnectorType "
        "OnPremises -RecipientDomains <domain> -UseMXRecord $false -SmartHosts <on-premises host> -TlsSettings "
        "DomainValidation -TlsDomain <certificate name>.",
        references=(_MS_ROUTE, _MS_MULTIPLE, _MS_EOP, _MS_NEW_OUT),
        check=check_on_premises_outbound,
        params=for_scenarios(ON_PREMISES),
        expectation=_expect_on_premises_outbound,
    ),
    Rule(
        id="MF-CONN-020",
        title="RouteAllMessagesViaOnPremises matches the scenario (centralized mail transport)",
        family="conn",
        severity=Severity.HIGH,
        rationale="RouteAllMessagesViaOnPremises on an OnPremises outbound connector sends all of the cloud "
        "mailboxes' internet mail through on-premises (centralized mail transport). The CMT scenarios need it "
        f"({_names(CMT)}); in every other scenario ({_names(NOT_CMT)}) it must be off, or cloud mail takes a "
        "detour through on-premises (and can loop into 5.4.x NDRs). Microsoft recommends CMT only for specific "
        "compliance needs. Reference §1.D, §1.E, §1.F, §3.4.",
        remediation="Set-OutboundConnector -RouteAllMessagesViaOnPremises $true on the OnPremises connector in a "
        "CMT scenario, $false otherwise (or re-run the Hybrid Configuration Wizard with the intended transport "
        "option).",
        references=(_MS_TRANSPORT, _MS_MULTIPLE, _MS_SET_OUT),
        check=check_route_all,
        params=for_scenarios(KNOWN),
        expectation=lambda ctx: (
            "an enabled OnPremises outbound connector with RouteAllMessagesViaOnPremises True"
            if ctx.policy.scenario in CMT
            else "no outbound connector with RouteAllMessagesViaOnPremises True"
        ),
    ),
    Rule(
        id="MF-CONN-021",
        title="No lock-down connector where the MX points at Microsoft 365",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="Where the internet delivers straight to Exchange Online, a Partner inbound connector with "
        "SenderDomains * and RestrictDomainsToIPAddresses or RestrictDomainsToCertificate rejects every message "
        "that does not come from its addresses or certificate: legitimate mail is lost [derived]. Connectors "
        "limited by AssociatedAcceptedDomains to other domains are ignored. Collected for scenarios: "
        f"{_names(MX_AT_M365)} (reference §1.A, §3.4).",
        remediation="Disable or remove the restricting connector (Set-InboundConnector -Enabled $false), or scope "
        "it to the domains whose MX points elsewhere (AssociatedAcceptedDomains).",
        references=(_MS_CONNECTORS, _MS_PARTNER),
        check=check_no_lock_down,
        params=for_scenarios(MX_AT_M365),
        expectation=lambda ctx: (
            "no enabled Partner connector with SenderDomains * and RestrictDomainsTo* serving " + ctx.domain
        ),
    ),
    Rule(
        id="MF-CONN-022",
        title="An outbound connector sends mail to the archiving service with validated TLS",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="When all mail must pass an archiving or auditing service, Exchange Online sends it there "
        "through an outbound connector: Partner with RecipientDomains *, or the add-on pattern (OnPremises, "
        "IsTransportRuleScoped), with UseMXRecord False, SmartHosts of the service, TlsSettings DomainValidation "
        "and TlsDomain [derived from the connector cmdlet semantics]. The export does not know the service's "
        "host names, so any smart host is accepted. Collected for scenario: third-party-archive "
        "(reference §1.C, §3.4).",
        remediation="New-OutboundConnector -ConnectorType Partner -RecipientDomains * -UseMXRecord $false "
        "-SmartHosts <service host> -TlsSettings DomainValidation -TlsDomain <service certificate name>.",
        references=(_MS_THIRD_PARTY, _MS_ADD_ON, _MS_NEW_OUT),
        check=check_service_outbound,
        params=for_scenarios(frozenset({THIRD_PARTY_ARCHIVE})),
        expectation=lambda ctx: (
            "an enabled outbound connector (RecipientDomains * or transport-rule scoped) with "
            "UseMXRecord False, SmartHosts, TlsSettings DomainValidation and TlsDomain"
        ),
    ),
    Rule(
        id="MF-CONN-023",
        title="No connector set up for direct send",
        family="conn",
        severity=Severity.LOW,
        rationale="Microsoft's device guidance: direct send (to internal recipients only) needs no connector, and "
        "never configure one for it; relay to external recipients uses an OnPremises connector. A Partner "
        "connector for the organisation's own sender domains does neither. Since RejectDirectSend (2025) "
        "Microsoft does describe a Partner connector for known senders that must keep direct send, so the "
        "connector passes when RejectDirectSend is True [derived]. Collected for scenario: device-sending "
        "(reference §1.I).",
        remediation="Remove the Partner connector, or turn RejectDirectSend on if it exists to admit known "
        "direct senders; for relay to external recipients create an OnPremises connector with the device's "
        "static public address.",
        references=(_MS_DEVICES, _DIRECT_SEND_BLOG, _MS_ORG),
        check=check_no_direct_send_connector,
        params=for_scenarios(frozenset({DEVICE_SENDING})),
        expectation=lambda ctx: (
            "no Partner inbound connector for the organisation's own sender domains (unless RejectDirectSend is True)"
        ),
    ),
    Rule(
        id="MF-CONN-024",
        title="The accepted domain's type fits the scenario (Authoritative / InternalRelay)",
        family="conn",
        severity=Severity.MEDIUM,
        rationale="A domain whose mailboxes are all in Exchange Online is Authoritative, which turns on "
        "Directory-Based Edge Blocking (unknown recipients rejected with 550 5.4.1). With mail servers "
        "on-premises, Authoritative fits once every recipient is synced and InternalRelay (with the outbound "
        "connector to on-premises) until then; ExternalRelay is for on-premises Exchange only. The domain must be "
        "an accepted domain at all (or a subdomain of one with MatchSubDomains). Authoritative required in: "
        f"{_names(ALL_MAILBOXES_IN_CLOUD)}; Authoritative or InternalRelay in: {_names(ON_PREMISES)} "
        "(reference §1.A, §1.D, §1.J, §3.3, §3.4).",
        remediation="Set-AcceptedDomain -Identity <domain> -DomainType Authoritative (or InternalRelay while "
        "on-premises recipients are not yet in the directory).",
        references=(_MS_ACCEPTED, _MS_DBEB, _MS_EOP),
        check=check_accepted_domain,
        params=for_scenarios(KNOWN),
        expectation=_expect_accepted,
    ),
    Rule(
        id="MF-CONN-025",
        title="Device relay connectors name single device addresses or an accepted-domain certificate",
        family="conn",
        severity=Severity.LOW,
        rationale="SMTP relay from devices and applications is matched by a static public IP address exclusive "
        "to the organisation or by a certificate whose name is under an accepted domain. A relay connector that "
        "admits address ranges can relay for hosts that are not the organisation's devices [derived]. No relay "
        "connector is fine: SMTP AUTH and direct send need none. Collected for scenario: device-sending "
        "(reference §1.I, §3.4).",
        remediation="Set-InboundConnector -SenderIPAddresses <each device's static public address>, or identify "
        "the devices by a certificate under an accepted domain.",
        references=(_MS_DEVICES, _MS_NEW_IN),
        check=check_device_relay,
        params=for_scenarios(frozenset({DEVICE_SENDING})),
        expectation=lambda ctx: (
            "every OnPremises inbound connector naming single (/32) public addresses or an accepted-domain certificate"
        ),
    ),
)

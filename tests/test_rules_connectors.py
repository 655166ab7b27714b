"""Exchange Online connector rules MF-CONN-001..025, judged on TenantExport objects built here.

Every organisation name is fictional (contoso.example, fabrikam.test); addresses come from the
documentation ranges, which the rules treat as public.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from pytest_mailflow.errors import Indeterminate, Problem
from pytest_mailflow.evidence import Evidence
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.model import DomainPolicy, Expect
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding, Severity
from pytest_mailflow.rules.connectors import (
    CMT,
    KNOWN,
    LOCKED_DOWN,
    MX_AT_M365,
    ON_PREMISES,
    THIRD_PARTY,
    covers,
    ef_skip_problems,
    networks,
)
from pytest_mailflow.tenant.load import TenantExportError
from pytest_mailflow.tenant.model import AcceptedDomain, InboundConnector, Located, OutboundConnector, TenantExport

EXPORT = "tenant/contoso.json"
DOMAIN = "contoso.example"
CONN_RULES = sorted(rule_id for rule_id in REGISTRY if rule_id.startswith("MF-CONN-"))
LINT_RULES = [f"MF-CONN-{n:03d}" for n in range(1, 16)]
SCENARIO_RULES = [f"MF-CONN-{n:03d}" for n in range(16, 26)]
ALL_SCENARIOS = sorted(KNOWN | {"parked"})

_lines = itertools.count(10)


# --- factories ---------------------------------------------------------------------------------


def at() -> Located:
    """A fresh location in the export, so that every connector is found at its own line."""
    return Located(EXPORT, next(_lines))


def inbound(name: str, **props: Any) -> InboundConnector:
    return InboundConnector(name=name, where=at(), **props)


def outbound(name: str, **props: Any) -> OutboundConnector:
    return OutboundConnector(name=name, where=at(), **props)


def accepted(name: str, **props: Any) -> AcceptedDomain:
    return AcceptedDomain(domain_name=name, where=at(), **props)


DEFAULT_ACCEPTED = (
    accepted(DOMAIN, default=True),
    accepted("contoso.onmicrosoft.com", initial_domain=True),
    accepted("contoso.mail.onmicrosoft.com", is_coexistence_domain=True),
)


def tenant(
    *connectors: InboundConnector | OutboundConnector,
    domains: tuple[AcceptedDomain, ...] = DEFAULT_ACCEPTED,
    reject_direct_send: bool | None = True,
) -> TenantExport:
    return TenantExport(
        path=EXPORT,
        inbound=tuple(c for c in connectors if isinstance(c, InboundConnector)),
        outbound=tuple(c for c in connectors if isinstance(c, OutboundConnector)),
        accepted_domains=domains,
        reject_direct_send=reject_direct_send,
        tenant="contoso",
    )


def policy(
    scenario: str = "hybrid-mx-m365", *, export: str | None = EXPORT, rules: tuple[str, ...] = ()
) -> DomainPolicy:
    return DomainPolicy(
        name=DOMAIN,
        scenario=scenario,
        expect=Expect(),
        path="policies/contoso.yaml",
        line=3,
        tenant_export=export,
        rules=rules,
    )


def judge(rule_id: str, export: TenantExport, scenario: str = "hybrid-mx-m365") -> Finding:
    """Run one rule the way the engine does; the rule must be collected for the scenario."""
    rule = REGISTRY[rule_id]
    domain = policy(scenario)
    assert tuple(rule.params(domain)) == (None,), f"{rule_id} is not collected for {scenario}"
    return rule.check(Evidence(DOMAIN, "test", tenant=export).view(), CheckContext(DOMAIN, domain))


def passes(rule_id: str, export: TenantExport, scenario: str = "hybrid-mx-m365") -> Finding:
    finding = judge(rule_id, export, scenario)
    assert finding.passed, finding.summary
    return finding


def fails(rule_id: str, export: TenantExport, scenario: str = "hybrid-mx-m365", *names: str) -> Finding:
    """The rule fails, and the summary names each of ``names`` (connector names with their location)."""
    finding = judge(rule_id, export, scenario)
    assert not finding.passed, finding.summary
    assert "expected" in finding.summary, finding.summary
    for name in names:
        assert name in finding.summary, (name, finding.summary)
    return finding


def located(connector: InboundConnector | OutboundConnector) -> str:
    """How findings name a connector: its name and export location."""
    return f"'{connector.name}' [{connector.where}]"


# --- connectors as Microsoft documents them ----------------------------------------------------


def hybrid_in(**props: Any) -> InboundConnector:
    base: dict[str, Any] = {
        "connector_type": "OnPremises",
        "connector_source": "HybridWizard",
        "sender_domains": ("*",),
        "tls_sender_certificate_name": "mail.contoso.example",
        "require_tls": True,
        "cloud_services_mail_enabled": True,
    }
    return inbound("Inbound from 5f3c2a", **{**base, **props})


def hybrid_out(**props: Any) -> OutboundConnector:
    base: dict[str, Any] = {
        "connector_type": "OnPremises",
        "connector_source": "HybridWizard",
        "recipient_domains": (DOMAIN,),
        "use_mx_record": False,
        "smart_hosts": ("mail.contoso.example",),
        "tls_settings": "DomainValidation",
        "tls_domain": "mail.contoso.example",
        "cloud_services_mail_enabled": True,
        "is_validated": True,
    }
    return outbound("Outbound to 5f3c2a", **{**base, **props})


def vendor_lock_down(**props: Any) -> InboundConnector:
    base: dict[str, Any] = {
        "sender_domains": ("*",),
        "restrict_domains_to_certificate": True,
        "tls_sender_certificate_name": "*.filter.fabrikam.test",
        "require_tls": True,
        "ef_skip_last_ip": True,
    }
    return inbound("From Fabrikam Filter", **{**base, **props})


def on_premises_lock_down(**props: Any) -> InboundConnector:
    base: dict[str, Any] = {
        "sender_domains": ("*",),
        "restrict_domains_to_ip_addresses": True,
        "sender_ip_addresses": ("203.0.113.0/24",),
    }
    return inbound("Only via on-premises", **{**base, **props})


def archive_out(**props: Any) -> OutboundConnector:
    base: dict[str, Any] = {
        "recipient_domains": ("*",),
        "use_mx_record": False,
        "smart_hosts": ("archive.fabrikam.test",),
        "tls_settings": "DomainValidation",
        "tls_domain": "archive.fabrikam.test",
        "is_validated": True,
    }
    return outbound("To Fabrikam Archive", **{**base, **props})


def device_relay(**props: Any) -> InboundConnector:
    base: dict[str, Any] = {
        "connector_type": "OnPremises",
        "sender_domains": ("*",),
        "sender_ip_addresses": ("203.0.113.25",),
    }
    return inbound("Printers", **{**base, **props})


def documented(scenario: str) -> TenantExport:
    """A tenant set up as the reference (§3.4) describes for ``scenario``."""
    if scenario in ("cloud-only", "cloud-only-migration", "parked"):
        return tenant()
    if scenario == "device-sending":
        return tenant(device_relay())
    if scenario == "third-party-filter":
        return tenant(vendor_lock_down())
    if scenario == "third-party-archive":
        return tenant(vendor_lock_down(), archive_out())
    if scenario == "hybrid-mx-m365":
        return tenant(hybrid_in(), hybrid_out())
    if scenario == "hybrid-mx-m365-cmt":
        return tenant(hybrid_in(), hybrid_out(route_all_messages_via_on_premises=True))
    if scenario == "hybrid-mx-on-premises-cmt":
        return tenant(hybrid_in(), hybrid_out(route_all_messages_via_on_premises=True), on_premises_lock_down())
    if scenario == "hybrid-mx-on-premises-relay":
        return tenant(hybrid_in(), hybrid_out(), on_premises_lock_down())
    if scenario == "third-party-filter-hybrid":
        return tenant(hybrid_in(), hybrid_out(), vendor_lock_down())
    if scenario == "eop-standalone":
        return tenant(
            inbound(
                "From on-premises",
                connector_type="OnPremises",
                sender_ip_addresses=("203.0.113.10",),
                tls_sender_certificate_name="mail.contoso.example",
            ),
            outbound(
                "To on-premises",
                connector_type="OnPremises",
                all_accepted_domains=True,
                use_mx_record=False,
                smart_hosts=("mail.contoso.example",),
                tls_settings="EncryptionOnly",
                is_validated=True,
            ),
            domains=(accepted(DOMAIN, domain_type="InternalRelay"), *DEFAULT_ACCEPTED[1:]),
        )
    raise AssertionError(scenario)


# --- registry, applicability, errors -----------------------------------------------------------


def test_the_registry_has_25_connector_rules():
    assert [*LINT_RULES, *SCENARIO_RULES] == CONN_RULES
    for rule_id in CONN_RULES:
        rule = REGISTRY[rule_id]
        assert rule.family == "conn"
        assert all(ref.url.startswith("https://") for ref in rule.references)


def test_derived_and_advisory_rules_stay_at_or_below_medium():
    # [derived] facts (007 loop, 021, 022, 023, 025) are at most medium; 010 and 015 are advisory.
    for rule_id in ("MF-CONN-004", "MF-CONN-007", "MF-CONN-021", "MF-CONN-022", "MF-CONN-023", "MF-CONN-025"):
        assert REGISTRY[rule_id].severity <= Severity.MEDIUM, rule_id
    assert REGISTRY["MF-CONN-010"].severity == Severity.INFO
    assert REGISTRY["MF-CONN-015"].severity == Severity.INFO


def test_no_connector_rule_is_planned_without_a_tenant_export():
    domain = policy("custom", export=None, rules=tuple(CONN_RULES))
    assert plan(domain) == []
    for scenario in ALL_SCENARIOS:
        for rule_id in CONN_RULES:
            assert tuple(REGISTRY[rule_id].params(policy(scenario, export=None))) == (), (rule_id, scenario)


def test_with_an_export_the_lint_rules_are_planned_for_a_custom_domain():
    domain = policy("custom", rules=tuple(CONN_RULES))
    assert [check.name for check in plan(domain)] == LINT_RULES


EXPECTED_SCENARIOS = {
    "MF-CONN-016": LOCKED_DOWN,
    "MF-CONN-017": THIRD_PARTY,
    "MF-CONN-018": ON_PREMISES,
    "MF-CONN-019": ON_PREMISES,
    "MF-CONN-020": KNOWN,
    "MF-CONN-021": MX_AT_M365,
    "MF-CONN-022": {"third-party-archive"},
    "MF-CONN-023": {"device-sending"},
    "MF-CONN-024": KNOWN,
    "MF-CONN-025": {"device-sending"},
}


@pytest.mark.parametrize("rule_id", SCENARIO_RULES)
def test_per_scenario_rules_are_collected_for_their_scenarios_only(rule_id):
    collected = {s for s in [*ALL_SCENARIOS, "custom"] if REGISTRY[rule_id].params(policy(s))}
    assert collected == set(EXPECTED_SCENARIOS[rule_id])
    assert "parked" not in collected and "custom" not in collected


def test_the_scenario_sets_match_the_reference():
    assert {"hybrid-mx-on-premises-cmt", "hybrid-mx-on-premises-relay"} <= LOCKED_DOWN
    assert {"hybrid-mx-m365-cmt", "hybrid-mx-on-premises-cmt"} == CMT
    assert not MX_AT_M365 & LOCKED_DOWN


@pytest.mark.parametrize("rule_id", CONN_RULES)
def test_every_connector_rule_is_indeterminate_with_a_broken_export(rule_id):
    broken = TenantExportError([Problem(EXPORT, 4, 7, "inbound[0].Enabled", "expected a boolean")])
    rule = REGISTRY[rule_id]
    scenario = next(s for s in ALL_SCENARIOS if rule.params(policy(s)))
    evidence = Evidence(DOMAIN, "test", tenant=broken)
    with pytest.raises(Indeterminate, match="tenant export cannot be used"):
        rule.check(evidence.view(), CheckContext(DOMAIN, policy(scenario)))


@pytest.mark.parametrize("scenario", sorted(KNOWN))
def test_every_collected_rule_passes_for_a_tenant_set_up_as_documented(scenario):
    export = documented(scenario)
    for rule_id in CONN_RULES:
        if REGISTRY[rule_id].params(policy(scenario)):
            passes(rule_id, export, scenario)


@pytest.mark.parametrize("rule_id", CONN_RULES)
def test_every_failure_says_how_to_fix_it(rule_id):
    # Each rule's failing example below carries a fix (mostly PowerShell) or a verification command.
    finding = FAILING[rule_id]()
    assert not finding.passed
    assert any(line.startswith(("fix: ", "verify: ")) for line in finding.details), finding.details
    assert finding.observed


# --- MF-CONN-001 -------------------------------------------------------------------------------


def test_conn_001_fails_for_restrict_flags_on_an_on_premises_connector():
    bad = inbound(
        "On-prem locked",
        connector_type="OnPremises",
        restrict_domains_to_ip_addresses=True,
        sender_ip_addresses=("203.0.113.10",),
    )
    finding = fails("MF-CONN-001", tenant(bad), "hybrid-mx-m365", located(bad), "RestrictDomainsToIPAddresses True")
    assert "Set-InboundConnector -Identity 'On-prem locked' -RestrictDomainsToIPAddresses $false" in finding.details[0]


def test_conn_001_passes_for_the_hybrid_wizards_require_tls():
    finding = passes("MF-CONN-001", tenant(hybrid_in(), vendor_lock_down()))
    assert any("RequireTls True" in line for line in finding.observed)


# --- MF-CONN-002 -------------------------------------------------------------------------------


def test_conn_002_fails_for_ips_and_certificate_on_one_partner_connector():
    both = vendor_lock_down(sender_ip_addresses=("198.51.100.0/24",))
    finding = fails("MF-CONN-002", tenant(both), "third-party-filter", located(both))
    assert "-TlsSenderCertificateName *.filter.fabrikam.test -RestrictDomainsToCertificate $true" in finding.details[0]


def test_conn_002_passes_for_separate_connectors():
    passes("MF-CONN-002", tenant(vendor_lock_down(), on_premises_lock_down()))


# --- MF-CONN-003 -------------------------------------------------------------------------------


def test_conn_003_fails_for_an_allow_connector_beside_a_restricting_one():
    allow = inbound("Fabrikam partner", sender_domains=("fabrikam.test",), require_tls=True)
    lock = vendor_lock_down()
    fails("MF-CONN-003", tenant(allow, lock), "third-party-filter", located(allow), located(lock), "fabrikam.test")


def test_conn_003_overlap_follows_wildcards():
    allow = inbound("Fabrikam subsidiaries", sender_domains=("*.fabrikam.test",))
    lock = inbound(
        "Fabrikam EU only",
        sender_domains=("eu.fabrikam.test",),
        restrict_domains_to_ip_addresses=True,
        sender_ip_addresses=("198.51.100.7",),
    )
    fails("MF-CONN-003", tenant(allow, lock), "third-party-filter", located(allow))


def test_conn_003_passes_when_the_restriction_covers_other_senders():
    allow = inbound("Fabrikam partner", sender_domains=("fabrikam.test",), require_tls=True)
    lock = inbound(
        "Woodgrove only",
        sender_domains=("woodgrove.test",),
        restrict_domains_to_ip_addresses=True,
        sender_ip_addresses=("198.51.100.7",),
    )
    passes("MF-CONN-003", tenant(allow, lock))
    passes("MF-CONN-003", tenant(vendor_lock_down()))


# --- MF-CONN-004 -------------------------------------------------------------------------------


def test_conn_004_fails_for_wide_ipv6_private_and_unreadable_entries():
    bad = on_premises_lock_down(
        sender_ip_addresses=("10.1.2.0/24", "198.51.100.0/23", "2001:db8::25", "mail.contoso.example")
    )
    finding = fails("MF-CONN-004", tenant(bad), "hybrid-mx-on-premises-relay", located(bad))
    for text in (
        "10.1.2.0/24 is not public",
        "/23, wider than the /24",
        "2001:db8::25 is IPv6",
        "mail.contoso.example is not an IPv4 address",
    ):
        assert text in finding.summary


def test_conn_004_passes_for_public_addresses_and_blocks():
    passes("MF-CONN-004", tenant(on_premises_lock_down(sender_ip_addresses=("203.0.113.10", "198.51.100.0/24"))))


# --- MF-CONN-005 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("10.0.0.0/8", "private address space (RFC 1918: 10.0.0.0/8)"),
        ("192.168.1.10", "RFC 1918: 192.168.0.0/16"),
        ("40.107.5.0/24", "Microsoft 365 address space (40.107.0.0/16)"),
        ("52.100.1.1-52.100.1.20", "Microsoft 365 address space (52.100.0.0/15)"),
        ("2a01:111:f403:2000::/64", "Microsoft 365 address space (2a01:111:f403::/48)"),
        ("not-an-ip", "is not an IP address, CIDR block or range"),
    ],
)
def test_conn_005_fails_for_private_or_microsoft_skip_entries(entry, why):
    bad = vendor_lock_down(ef_skip_last_ip=False, ef_skip_ips=("198.51.100.0/24", entry))
    finding = fails("MF-CONN-005", tenant(bad), "third-party-filter", located(bad), why)
    assert finding.details


def test_conn_005_fails_for_enhanced_filtering_on_a_hybrid_connector_under_cmt():
    hybrid = hybrid_in(ef_skip_last_ip=True)
    cmt = hybrid_out(route_all_messages_via_on_premises=True)
    finding = fails("MF-CONN-005", tenant(hybrid, cmt), "hybrid-mx-m365-cmt", located(hybrid), located(cmt))
    assert "-EFSkipLastIP $false -EFSkipIPs $null" in finding.details[0]


def test_conn_005_passes_for_a_vendor_skip_list_and_for_hybrid_without_cmt():
    passes("MF-CONN-005", tenant(vendor_lock_down(ef_skip_last_ip=False, ef_skip_ips=("198.51.100.0/24",))))
    passes("MF-CONN-005", tenant(hybrid_in(ef_skip_last_ip=True), hybrid_out()))


# --- MF-CONN-006 -------------------------------------------------------------------------------


def test_conn_006_fails_without_smart_hosts_or_tls_domain():
    no_hosts = hybrid_out(smart_hosts=())
    no_domain = archive_out(tls_domain=None)
    finding = fails("MF-CONN-006", tenant(no_hosts, no_domain), "hybrid-mx-m365", located(no_hosts), located(no_domain))
    assert "UseMXRecord False but no SmartHosts" in finding.summary
    assert "DomainValidation but no TlsDomain" in finding.summary


def test_conn_006_passes_for_complete_connectors():
    passes(
        "MF-CONN-006", tenant(hybrid_out(), archive_out(), outbound("MX lookup", recipient_domains=("fabrikam.test",)))
    )


# --- MF-CONN-007 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["contoso-example.mail.protection.outlook.com", "contoso-example.c-v1.mx.microsoft", "smtp.office365.com"]
)
def test_conn_007_fails_for_a_loop_back_into_exchange_online(host):
    loop = hybrid_out(smart_hosts=(host,))
    fails("MF-CONN-007", tenant(loop), "hybrid-mx-m365", located(loop), host)


def test_conn_007_passes_for_a_partner_connector_to_another_tenant():
    partner = outbound(
        "Forced TLS to Fabrikam",
        recipient_domains=("fabrikam.test",),
        use_mx_record=False,
        smart_hosts=("fabrikam-test.mail.protection.outlook.com",),
        tls_settings="DomainValidation",
        tls_domain="mail.protection.outlook.com",
    )
    passes("MF-CONN-007", tenant(partner, hybrid_out()))


# --- MF-CONN-008 -------------------------------------------------------------------------------


def test_conn_008_fails_for_an_ip_literal_smart_host():
    literal = hybrid_out(smart_hosts=("203.0.113.10",))
    fails("MF-CONN-008", tenant(literal), "hybrid-mx-m365", located(literal), "203.0.113.10")


def test_conn_008_passes_for_host_names():
    passes("MF-CONN-008", tenant(hybrid_out(), archive_out()))


# --- MF-CONN-009 -------------------------------------------------------------------------------


def test_conn_009_fails_for_treat_as_internal_with_cross_premises_headers_or_on_partner():
    hybrid = hybrid_in(treat_messages_as_internal=True)
    partner = inbound("Partner internal", treat_messages_as_internal=True)
    finding = fails("MF-CONN-009", tenant(hybrid, partner), "hybrid-mx-m365", located(hybrid), located(partner))
    assert "combines it with CloudServicesMailEnabled True" in finding.summary
    assert "is a Partner connector" in finding.summary


def test_conn_009_passes_for_a_non_exchange_server_and_warns():
    server = inbound(
        "Legacy MTA",
        connector_type="OnPremises",
        sender_ip_addresses=("203.0.113.40",),
        treat_messages_as_internal=True,
    )
    finding = passes("MF-CONN-009", tenant(server))
    assert "skips anti-spam" in finding.summary
    passes("MF-CONN-009", tenant(hybrid_in()))


# --- MF-CONN-010 -------------------------------------------------------------------------------


def test_conn_010_fails_as_advisory_for_a_rule_scoped_connector():
    scoped = archive_out(recipient_domains=(), is_transport_rule_scoped=True)
    finding = fails("MF-CONN-010", tenant(scoped), "third-party-archive", located(scoped), "cannot be verified")
    assert "RouteMessageOutboundConnector -eq 'To Fabrikam Archive'" in finding.details[0]


def test_conn_010_passes_without_rule_scoped_connectors():
    passes("MF-CONN-010", tenant(hybrid_out()))


# --- MF-CONN-011 -------------------------------------------------------------------------------


def test_conn_011_fails_for_two_connectors_for_one_domain():
    first = hybrid_out()
    second = outbound(
        "Old route to on-premises",
        connector_type="OnPremises",
        recipient_domains=("CONTOSO.example",),
        use_mx_record=False,
        smart_hosts=("legacy.contoso.example",),
    )
    finding = fails("MF-CONN-011", tenant(first, second), "hybrid-mx-m365", located(first), located(second))
    assert "contoso.example is routed by" in finding.summary


def test_conn_011_fails_for_two_all_accepted_domains_connectors():
    one = hybrid_out(recipient_domains=(), all_accepted_domains=True)
    two = outbound(
        "Second",
        connector_type="OnPremises",
        all_accepted_domains=True,
        use_mx_record=False,
        smart_hosts=("mail2.contoso.example",),
    )
    fails("MF-CONN-011", tenant(one, two), "hybrid-mx-m365", "AllAcceptedDomains is routed by")


def test_conn_011_passes_for_distinct_scopes_and_rule_scoped_connectors():
    exact = outbound("Fabrikam", recipient_domains=("fabrikam.test",))
    wildcard = outbound("Fabrikam subsidiaries", recipient_domains=("*.fabrikam.test",))
    scoped = archive_out(is_transport_rule_scoped=True)
    passes("MF-CONN-011", tenant(exact, wildcard, hybrid_out(), archive_out(), scoped))


# --- MF-CONN-012 -------------------------------------------------------------------------------


def test_conn_012_fails_for_disabled_and_unvalidated_connectors():
    off = vendor_lock_down(enabled=False)
    unvalidated = hybrid_out(is_validated=False)
    finding = fails("MF-CONN-012", tenant(off, unvalidated), "hybrid-mx-m365", located(off), located(unvalidated))
    assert "disabled:" in finding.summary and "never validated" in finding.summary


def test_conn_012_passes_when_validation_is_not_exported():
    passes("MF-CONN-012", tenant(hybrid_in(), hybrid_out(is_validated=None)))


# --- MF-CONN-013 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("certificate", "why"),
    [(None, "names no TlsSenderCertificateName"), ("mail.fabrikam.test", "under no accepted domain")],
)
def test_conn_013_fails_for_a_hybrid_connector_without_an_accepted_certificate(certificate, why):
    hybrid = hybrid_in(tls_sender_certificate_name=certificate, sender_ip_addresses=("203.0.113.10",))
    fails("MF-CONN-013", tenant(hybrid), "hybrid-mx-m365", located(hybrid), why)


def test_conn_013_passes_and_says_what_it_cannot_check():
    finding = passes("MF-CONN-013", tenant(hybrid_in(tls_sender_certificate_name="*.contoso.example")))
    assert "cannot be read from the export" in finding.summary
    passes("MF-CONN-013", tenant(device_relay()))


# --- MF-CONN-014 -------------------------------------------------------------------------------


def test_conn_014_fails_when_on_premises_relays_but_is_identified_by_ip_only():
    by_ip = inbound("From on-premises", connector_type="OnPremises", sender_ip_addresses=("203.0.113.10",))
    finding = fails("MF-CONN-014", tenant(by_ip, hybrid_out()), "hybrid-mx-on-premises-relay", located(by_ip), "5.7.64")
    assert "only by IP address" in finding.summary


def test_conn_014_fails_for_a_certificate_outside_the_accepted_domains():
    wrong = hybrid_in(tls_sender_certificate_name="mail.contoso-legacy.test")
    fails("MF-CONN-014", tenant(wrong, hybrid_out()), "hybrid-mx-m365", located(wrong), "mail.contoso-legacy.test")


def test_conn_014_fails_with_on_premises_servers_and_no_inbound_connector():
    fails("MF-CONN-014", tenant(hybrid_out()), "hybrid-mx-m365", "by no OnPremises inbound connector")


def test_conn_014_passes_for_a_certificate_connector_and_for_device_relay_by_ip():
    passes("MF-CONN-014", tenant(hybrid_in(), hybrid_out()))
    finding = passes("MF-CONN-014", tenant(device_relay()), "device-sending")
    assert "accepted sender domains only" in finding.summary


# --- MF-CONN-015 -------------------------------------------------------------------------------


def test_conn_015_fails_as_advisory_when_direct_send_is_allowed():
    finding = fails("MF-CONN-015", tenant(reject_direct_send=False), "cloud-only", "RejectDirectSend is False")
    assert "Set-OrganizationConfig -RejectDirectSend $true" in finding.details[0]
    assert EXPORT in finding.observed[0]


def test_conn_015_passes_when_direct_send_is_rejected():
    passes("MF-CONN-015", tenant(reject_direct_send=True), "cloud-only")


def test_conn_015_is_indeterminate_when_the_export_lacks_the_setting():
    with pytest.raises(Indeterminate, match="does not record RejectDirectSend"):
        judge("MF-CONN-015", tenant(reject_direct_send=None), "cloud-only")


# --- MF-CONN-016 -------------------------------------------------------------------------------


def test_conn_016_fails_without_a_lock_down_connector():
    fails("MF-CONN-016", tenant(), "third-party-filter", "no enabled Partner inbound connector with SenderDomains *")


@pytest.mark.parametrize(
    ("props", "why"),
    [
        ({"restrict_domains_to_certificate": False}, "restricts nothing"),
        ({"require_tls": False}, "lacks RequireTls True"),
        ({"tls_sender_certificate_name": None}, "lacks TlsSenderCertificateName"),
    ],
)
def test_conn_016_fails_for_an_incomplete_lock_down(props, why):
    weak = vendor_lock_down(**props)
    fails("MF-CONN-016", tenant(weak), "third-party-filter", located(weak), why)


def test_conn_016_an_on_premises_connector_cannot_lock_down():
    wrong = on_premises_lock_down(connector_type="OnPremises")
    fails(
        "MF-CONN-016",
        tenant(wrong, hybrid_in(), hybrid_out()),
        "hybrid-mx-on-premises-relay",
        located(wrong),
        "Partner only",
    )


def test_conn_016_a_lock_down_for_another_domain_does_not_count():
    other = vendor_lock_down(associated_accepted_domains=("fabrikam.example",))
    fails("MF-CONN-016", tenant(other), "third-party-filter")


def test_conn_016_passes_by_certificate_or_by_ip():
    passes("MF-CONN-016", tenant(vendor_lock_down()), "third-party-filter")
    finding = passes("MF-CONN-016", tenant(on_premises_lock_down()), "hybrid-mx-on-premises-cmt")
    assert "the on-premises servers" in finding.summary


# --- MF-CONN-017 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "why"),
    [
        ({"ef_skip_last_ip": False}, "Enhanced Filtering is off"),
        ({"ef_test_mode": True}, "EFTestMode is True"),
        ({"ef_users": ("alex@contoso.example",)}, "EFUsers limits it to 1 recipient"),
        ({"ef_skip_last_ip": False, "ef_skip_ips": ("172.16.4.0/24",)}, "private address space"),
    ],
)
def test_conn_017_fails_when_enhanced_filtering_is_not_effective(props, why):
    weak = vendor_lock_down(**props)
    finding = fails("MF-CONN-017", tenant(weak), "third-party-archive", located(weak), why)
    assert "-EFSkipLastIP $true -EFTestMode $false -EFUsers $null" in finding.details[0]


def test_conn_017_fails_without_a_connector_from_the_service():
    fails("MF-CONN-017", tenant(hybrid_in()), "third-party-filter-hybrid", "no enabled Partner inbound connector")


def test_conn_017_passes_with_skip_last_ip_or_a_public_skip_list():
    passes("MF-CONN-017", tenant(vendor_lock_down()), "third-party-filter")
    passes(
        "MF-CONN-017",
        tenant(vendor_lock_down(ef_skip_last_ip=False, ef_skip_ips=("198.51.100.0/24",))),
        "third-party-filter",
    )


# --- MF-CONN-018 -------------------------------------------------------------------------------


def test_conn_018_fails_without_an_on_premises_inbound_connector():
    fails("MF-CONN-018", tenant(hybrid_out()), "hybrid-mx-m365", "no enabled OnPremises inbound connector serves")


def test_conn_018_requires_a_certificate_where_on_premises_relays():
    by_ip = hybrid_in(tls_sender_certificate_name=None, sender_ip_addresses=("203.0.113.10",))
    passes("MF-CONN-018", tenant(by_ip, hybrid_out()), "hybrid-mx-m365")
    fails(
        "MF-CONN-018",
        tenant(by_ip, hybrid_out()),
        "hybrid-mx-on-premises-relay",
        located(by_ip),
        "a certificate is required here",
    )


def test_conn_018_requires_cross_premises_headers_in_hybrid_only():
    plain = inbound("From on-premises", connector_type="OnPremises", tls_sender_certificate_name="mail.contoso.example")
    fails("MF-CONN-018", tenant(plain), "hybrid-mx-m365-cmt", located(plain), "CloudServicesMailEnabled False")
    passes("MF-CONN-018", tenant(plain), "eop-standalone")


def test_conn_018_fails_for_a_certificate_outside_the_accepted_domains():
    wrong = hybrid_in(tls_sender_certificate_name="mail.fabrikam.test")
    fails("MF-CONN-018", tenant(wrong), "third-party-filter-hybrid", located(wrong), "under no accepted domain")


# --- MF-CONN-019 -------------------------------------------------------------------------------


def test_conn_019_fails_without_a_connector_for_the_domain():
    other = hybrid_out(recipient_domains=("fabrikam.example",))
    fails("MF-CONN-019", tenant(hybrid_in(), other), "hybrid-mx-m365", located(other), "route other domains")


@pytest.mark.parametrize(
    ("props", "why", "fix"),
    [
        (
            {"use_mx_record": True},
            "UseMXRecord True",
            "Set-OutboundConnector -Identity 'Outbound to 5f3c2a' -UseMXRecord $false",
        ),
        (
            {"tls_settings": "EncryptionOnly"},
            "TlsSettings EncryptionOnly",
            "'Outbound to 5f3c2a' -TlsSettings DomainValidation",
        ),
        (
            {"tls_settings": None, "tls_domain": None},
            "TlsSettings (not set)",
            "-TlsSettings DomainValidation -TlsDomain <",
        ),
        (
            {"cloud_services_mail_enabled": False},
            "CloudServicesMailEnabled False",
            "re-run the Hybrid Configuration Wizard",
        ),
    ],
)
def test_conn_019_fails_for_an_incomplete_hybrid_connector(props, why, fix):
    weak = hybrid_out(**props)
    finding = fails("MF-CONN-019", tenant(hybrid_in(), weak), "hybrid-mx-on-premises-cmt", located(weak), why)
    assert len(finding.details) == 1 and fix in finding.details[0], finding.details


def test_conn_019_passes_for_all_accepted_domains_a_wildcard_and_eop_encryption_only():
    passes("MF-CONN-019", tenant(hybrid_out(recipient_domains=(), all_accepted_domains=True)))
    passes("MF-CONN-019", tenant(hybrid_out(recipient_domains=("*.contoso.example",))))
    passes(
        "MF-CONN-019",
        tenant(hybrid_out(tls_settings="EncryptionOnly", cloud_services_mail_enabled=False)),
        "eop-standalone",
    )


# --- MF-CONN-020 -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(CMT))
def test_conn_020_fails_without_cmt_in_a_cmt_scenario(scenario):
    plain = hybrid_out()
    fails("MF-CONN-020", tenant(hybrid_in(), plain), scenario, located(plain), "centralized mail transport")


def test_conn_020_a_partner_connector_cannot_route_all_via_on_premises():
    partner = archive_out(route_all_messages_via_on_premises=True)
    fails("MF-CONN-020", tenant(partner), "hybrid-mx-m365-cmt", "no enabled OnPremises outbound connector")


@pytest.mark.parametrize("scenario", ["hybrid-mx-m365", "hybrid-mx-on-premises-relay", "cloud-only", "eop-standalone"])
def test_conn_020_fails_for_cmt_outside_the_cmt_scenarios(scenario):
    cmt = hybrid_out(route_all_messages_via_on_premises=True)
    finding = fails("MF-CONN-020", tenant(hybrid_in(), cmt), scenario, located(cmt))
    assert "-RouteAllMessagesViaOnPremises $false" in finding.details[0]


def test_conn_020_passes_for_the_scenarios_routing():
    passes(
        "MF-CONN-020", tenant(hybrid_in(), hybrid_out(route_all_messages_via_on_premises=True)), "hybrid-mx-m365-cmt"
    )
    passes("MF-CONN-020", tenant(hybrid_in(), hybrid_out()), "hybrid-mx-m365")


# --- MF-CONN-021 -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["cloud-only", "hybrid-mx-m365", "device-sending"])
def test_conn_021_fails_for_a_lock_down_where_the_mx_is_microsoft(scenario):
    lock = on_premises_lock_down()
    fails("MF-CONN-021", tenant(lock), scenario, located(lock), "legitimate mail is rejected")


def test_conn_021_passes_without_lock_down_or_when_it_serves_another_domain():
    passes("MF-CONN-021", tenant(), "cloud-only")
    other = vendor_lock_down(associated_accepted_domains=("fabrikam.example",))
    passes("MF-CONN-021", tenant(other), "cloud-only")


# --- MF-CONN-022 -------------------------------------------------------------------------------


def test_conn_022_fails_without_a_connector_to_the_service():
    fails("MF-CONN-022", tenant(vendor_lock_down()), "third-party-archive", "no enabled outbound connector")


def test_conn_022_fails_for_a_connector_without_domain_validation():
    weak = archive_out(tls_settings="EncryptionOnly", tls_domain=None, use_mx_record=True)
    finding = fails("MF-CONN-022", tenant(vendor_lock_down(), weak), "third-party-archive", located(weak))
    for why in ("UseMXRecord True", "TlsSettings EncryptionOnly", "names no TlsDomain"):
        assert why in finding.summary


def test_conn_022_passes_for_a_partner_connector_or_the_add_on_pattern():
    passes("MF-CONN-022", tenant(archive_out()), "third-party-archive")
    add_on = archive_out(connector_type="OnPremises", recipient_domains=(), is_transport_rule_scoped=True)
    passes("MF-CONN-022", tenant(add_on), "third-party-archive")


# --- MF-CONN-023 -------------------------------------------------------------------------------


def test_conn_023_fails_for_a_partner_connector_for_the_own_domain():
    own = inbound("Scanner", sender_domains=(DOMAIN,), sender_ip_addresses=("203.0.113.25",))
    finding = fails("MF-CONN-023", tenant(own, reject_direct_send=False), "device-sending", located(own))
    assert "Remove-InboundConnector -Identity 'Scanner'" in finding.details[0]


def test_conn_023_passes_when_reject_direct_send_needs_the_connector():
    own = inbound("Scanner", sender_domains=("*.contoso.example",), sender_ip_addresses=("203.0.113.25",))
    passes("MF-CONN-023", tenant(own, reject_direct_send=True), "device-sending")
    passes("MF-CONN-023", tenant(device_relay(), reject_direct_send=False), "device-sending")


def test_conn_023_is_indeterminate_when_reject_direct_send_is_not_exported():
    own = inbound("Scanner", sender_domains=(DOMAIN,), sender_ip_addresses=("203.0.113.25",))
    with pytest.raises(Indeterminate, match="does not record RejectDirectSend"):
        judge("MF-CONN-023", tenant(own, reject_direct_send=None), "device-sending")


# --- MF-CONN-024 -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["cloud-only", "third-party-filter", "device-sending"])
def test_conn_024_fails_for_internal_relay_where_every_mailbox_is_in_the_cloud(scenario):
    relay = accepted(DOMAIN, domain_type="InternalRelay")
    finding = fails("MF-CONN-024", tenant(domains=(relay,)), scenario, "is InternalRelay", "Authoritative")
    assert f"Set-AcceptedDomain -Identity {DOMAIN} -DomainType Authoritative" in finding.details[0]
    assert str(relay.where) in finding.observed[0]


def test_conn_024_fails_for_a_domain_that_is_not_accepted_or_external_relay():
    fails("MF-CONN-024", tenant(domains=(accepted("fabrikam.example"),)), "cloud-only", "is not an accepted domain")
    fails(
        "MF-CONN-024",
        tenant(domains=(accepted(DOMAIN, domain_type="ExternalRelay"),)),
        "hybrid-mx-m365",
        "is ExternalRelay",
    )


def test_conn_024_passes_for_authoritative_and_for_internal_relay_with_on_premises():
    passes("MF-CONN-024", tenant(), "cloud-only")
    relay = accepted(DOMAIN, domain_type="InternalRelay")
    finding = passes("MF-CONN-024", tenant(domains=(relay,)), "hybrid-mx-on-premises-relay")
    assert "MF-CONN-019" in finding.summary


def test_conn_024_finds_a_subdomain_through_match_subdomains():
    parent = accepted("contoso.test", domain_type="InternalRelay", match_subdomains=True)
    rule = REGISTRY["MF-CONN-024"]
    domain = DomainPolicy(
        name="eu.contoso.test", scenario="eop-standalone", expect=Expect(), path="p.yaml", line=1, tenant_export=EXPORT
    )
    view = Evidence("eu.contoso.test", "test", tenant=tenant(domains=(parent,))).view()
    finding = rule.check(view, CheckContext("eu.contoso.test", domain))
    assert finding.passed and "through contoso.test, MatchSubDomains True" in finding.summary


# --- MF-CONN-025 -------------------------------------------------------------------------------


def test_conn_025_fails_for_a_range_on_a_device_relay_connector():
    wide = device_relay(sender_ip_addresses=("203.0.113.16/28",))
    fails("MF-CONN-025", tenant(wide), "device-sending", located(wide), "203.0.113.16/28")


def test_conn_025_fails_for_a_certificate_outside_the_accepted_domains():
    wrong = device_relay(sender_ip_addresses=(), tls_sender_certificate_name="printers.fabrikam.test")
    fails("MF-CONN-025", tenant(wrong), "device-sending", located(wrong), "under no accepted domain")


def test_conn_025_passes_for_single_addresses_a_certificate_or_no_relay_connector():
    passes(
        "MF-CONN-025", tenant(device_relay(sender_ip_addresses=("203.0.113.25", "203.0.113.26/32"))), "device-sending"
    )
    passes(
        "MF-CONN-025",
        tenant(device_relay(sender_ip_addresses=(), tls_sender_certificate_name="relay.contoso.example")),
        "device-sending",
    )
    passes("MF-CONN-025", tenant(), "device-sending")


# --- helpers -----------------------------------------------------------------------------------


def test_covers_reads_address_space_patterns():
    assert covers("*", "fabrikam.test")
    assert covers("*.fabrikam.test", "eu.fabrikam.test")
    assert not covers("*.fabrikam.test", "fabrikam.test")
    assert covers("*.fabrikam.test", "fabrikam.test", apex=True)
    assert covers("Fabrikam.Test.", "fabrikam.test")
    assert not covers("fabrikam.test", "eu.fabrikam.test")


def test_networks_reads_addresses_blocks_and_ranges():
    assert [str(n) for n in networks("198.51.100.0-198.51.100.255") or []] == ["198.51.100.0/24"]
    assert networks("198.51.100.9-2001:db8::1") is None
    assert networks("198.51.100.9-198.51.100.1") is None
    assert ef_skip_problems(["198.51.100.0/24", "203.0.113.7"]) == []


# --- one failing example per rule (for the remediation test) ----------------------------------


FAILING = {
    "MF-CONN-001": lambda: judge("MF-CONN-001", tenant(hybrid_in(restrict_domains_to_certificate=True))),
    "MF-CONN-002": lambda: judge("MF-CONN-002", tenant(vendor_lock_down(sender_ip_addresses=("198.51.100.7",)))),
    "MF-CONN-003": lambda: judge(
        "MF-CONN-003", tenant(inbound("Allow", sender_domains=("fabrikam.test",)), vendor_lock_down())
    ),
    "MF-CONN-004": lambda: judge("MF-CONN-004", tenant(on_premises_lock_down(sender_ip_addresses=("10.0.0.0/8",)))),
    "MF-CONN-005": lambda: judge("MF-CONN-005", tenant(vendor_lock_down(ef_skip_ips=("10.0.0.1",)))),
    "MF-CONN-006": lambda: judge("MF-CONN-006", tenant(hybrid_out(smart_hosts=()))),
    "MF-CONN-007": lambda: judge("MF-CONN-007", tenant(hybrid_out(smart_hosts=("x.mail.protection.outlook.com",)))),
    "MF-CONN-008": lambda: judge("MF-CONN-008", tenant(hybrid_out(smart_hosts=("203.0.113.10",)))),
    "MF-CONN-009": lambda: judge("MF-CONN-009", tenant(hybrid_in(treat_messages_as_internal=True))),
    "MF-CONN-010": lambda: judge("MF-CONN-010", tenant(archive_out(is_transport_rule_scoped=True))),
    "MF-CONN-011": lambda: judge("MF-CONN-011", tenant(hybrid_out(), hybrid_out())),
    "MF-CONN-012": lambda: judge("MF-CONN-012", tenant(hybrid_out(enabled=False))),
    "MF-CONN-013": lambda: judge("MF-CONN-013", tenant(hybrid_in(tls_sender_certificate_name=None))),
    "MF-CONN-014": lambda: judge("MF-CONN-014", tenant(hybrid_out())),
    "MF-CONN-015": lambda: judge("MF-CONN-015", tenant(reject_direct_send=False)),
    "MF-CONN-016": lambda: judge("MF-CONN-016", tenant(), "third-party-filter"),
    "MF-CONN-017": lambda: judge("MF-CONN-017", tenant(vendor_lock_down(ef_test_mode=True)), "third-party-filter"),
    "MF-CONN-018": lambda: judge("MF-CONN-018", tenant()),
    "MF-CONN-019": lambda: judge("MF-CONN-019", tenant()),
    "MF-CONN-020": lambda: judge("MF-CONN-020", tenant(hybrid_out()), "hybrid-mx-m365-cmt"),
    "MF-CONN-021": lambda: judge("MF-CONN-021", tenant(vendor_lock_down()), "cloud-only"),
    "MF-CONN-022": lambda: judge("MF-CONN-022", tenant(), "third-party-archive"),
    "MF-CONN-023": lambda: judge(
        "MF-CONN-023", tenant(inbound("Own", sender_domains=(DOMAIN,)), reject_direct_send=False), "device-sending"
    ),
    "MF-CONN-024": lambda: judge("MF-CONN-024", tenant(domains=()), "cloud-only"),
    "MF-CONN-025": lambda: judge(
        "MF-CONN-025", tenant(device_relay(sender_ip_addresses=("203.0.113.0/24",))), "device-sending"
    ),
}

"""The tenant export as the connector rules read it (normalised: enums as names, lists as tuples).

Property names follow the Exchange Online cmdlets (Get-InboundConnector, Get-OutboundConnector,
Get-AcceptedDomain, Get-DkimSigningConfig, Get-OrganizationConfig); see docs/tenant-export.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Located:
    """Where an object came from in the export file (for findings: ``path:line``)."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class InboundConnector:
    name: str
    where: Located
    enabled: bool = True
    connector_type: str = "Partner"  # Partner | OnPremises
    connector_source: str = "Default"  # Default | HybridWizard | Migrated | AdminUI
    sender_domains: tuple[str, ...] = ()  # "smtp:*;1" normalised to "*"
    sender_ip_addresses: tuple[str, ...] = ()
    restrict_domains_to_ip_addresses: bool = False
    tls_sender_certificate_name: str | None = None
    restrict_domains_to_certificate: bool = False
    require_tls: bool = False
    cloud_services_mail_enabled: bool = False
    treat_messages_as_internal: bool = False
    ef_skip_last_ip: bool = False
    ef_skip_ips: tuple[str, ...] = ()
    ef_users: tuple[str, ...] = ()
    ef_test_mode: bool = False
    associated_accepted_domains: tuple[str, ...] = ()
    trusted_organizations: tuple[str, ...] = ()

    @property
    def is_partner(self) -> bool:
        return self.connector_type == "Partner"

    @property
    def enhanced_filtering_effective(self) -> bool:
        """EF-effective (reference §3.4): skip-listing on, not in test mode, applied to everyone."""
        return (self.ef_skip_last_ip or bool(self.ef_skip_ips)) and not self.ef_test_mode and not self.ef_users


@dataclass(frozen=True)
class OutboundConnector:
    name: str
    where: Located
    enabled: bool = True
    connector_type: str = "Partner"
    connector_source: str = "Default"
    recipient_domains: tuple[str, ...] = ()
    all_accepted_domains: bool = False
    is_transport_rule_scoped: bool = False
    use_mx_record: bool = True
    smart_hosts: tuple[str, ...] = ()
    tls_settings: str | None = None  # EncryptionOnly | CertificateValidation | DomainValidation
    tls_domain: str | None = None
    route_all_messages_via_on_premises: bool = False
    cloud_services_mail_enabled: bool = False
    sender_rewriting_enabled: bool = False
    test_mode: bool = False
    is_validated: bool | None = None


@dataclass(frozen=True)
class AcceptedDomain:
    domain_name: str
    where: Located
    domain_type: str = "Authoritative"  # Authoritative | InternalRelay | ExternalRelay
    default: bool = False
    initial_domain: bool = False
    match_subdomains: bool = False
    is_coexistence_domain: bool = False


@dataclass(frozen=True)
class DkimSigningConfig:
    domain: str
    where: Located
    enabled: bool = False
    status: str = ""  # Valid | CnameMissing | ...
    selector1_cname: str | None = None
    selector2_cname: str | None = None
    key_size: int | None = None


@dataclass(frozen=True)
class TenantExport:
    """Everything exported from one tenant."""

    path: str
    inbound: tuple[InboundConnector, ...] = ()
    outbound: tuple[OutboundConnector, ...] = ()
    accepted_domains: tuple[AcceptedDomain, ...] = ()
    dkim: tuple[DkimSigningConfig, ...] = ()
    reject_direct_send: bool | None = None
    tenant: str | None = None  # the label before .onmicrosoft.com, from the initial accepted domain
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def accepted(self, domain: str) -> AcceptedDomain | None:
        name = domain.lower().rstrip(".")
        return next((d for d in self.accepted_domains if d.domain_name == name), None)

    def dkim_for(self, domain: str) -> DkimSigningConfig | None:
        name = domain.lower().rstrip(".")
        return next((d for d in self.dkim if d.domain == name), None)

    def is_accepted_name(self, name: str) -> bool:
        """Whether a certificate or host name falls under an accepted domain (wildcards allowed)."""
        host = name.lower().rstrip(".").removeprefix("*.")
        return any(host == d.domain_name or host.endswith("." + d.domain_name) for d in self.accepted_domains)

"""Synthetic domains for the benchmark: zone files, the provider zones they need, and policies.

Domains are spread over four scenario families (cloud only, third-party filter, hybrid with on-premises
mailboxes, parked); every fifth domain of a family is broken in one of several ways admins get wrong.
Names are reserved (``*.example``); the Microsoft 365 provider answers (its SPF include and a DKIM key)
are taken from the recorded provider data the tests use, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = ROOT / "tests" / "data" / "recorded-providers.yaml"
FAMILIES = ("cloud-only", "third-party-filter", "hybrid-mx-m365", "parked")
BREAKAGES = ("plus-all", "no-dmarc", "dkim-typo", "two-spf", "mx-elsewhere")


@dataclass(frozen=True)
class Domain:
    index: int
    family: str
    #: How the domain is broken, or None for a domain that follows its scenario.
    broken: str | None

    @property
    def name(self) -> str:
        return f"{self.family}-{self.index:05d}.example"

    @property
    def label(self) -> str:
        """The domain as Exchange Online spells it in host names (dots become dashes)."""
        return self.name.replace(".", "-")

    @property
    def tenant(self) -> str:
        return f"t{self.index:05d}"


def domains(count: int) -> list[Domain]:
    out = []
    for index in range(count):
        family = FAMILIES[index % len(FAMILIES)]
        nth = index // len(FAMILIES)
        broken = BREAKAGES[(nth // 5) % len(BREAKAGES)] if nth % 5 == 4 and family != "parked" else None
        out.append(Domain(index, family, broken))
    return out


def _recorded(name: str, rdtype: str) -> list[str]:
    data = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))
    for answer in data["answers"]:
        if answer["name"] == name and answer["type"] == rdtype:
            return list(answer["records"])
    raise LookupError(f"{name} {rdtype} is not in {PROVIDERS.name}")


def _soa(origin: str) -> str:
    return (
        f"$ORIGIN {origin}.\n$TTL 3600\n@ SOA ns1.{origin}. hostmaster.{origin}. 1 3600 600 1209600 3600\n"
        f"@ NS ns1.{origin}.\nns1 A 192.0.2.53\n"
    )


def zone_text(domain: Domain) -> str:
    """The domain's zone as its scenario wants it, or broken as ``domain.broken`` says."""
    lines = [_soa(domain.name)]
    spf = "v=spf1 include:spf.protection.outlook.com -all"
    if domain.family == "parked":
        lines += ["@ MX 0 .", '@ TXT "v=spf1 -all"', '_dmarc TXT "v=DMARC1; p=reject"']
        return "\n".join(lines) + "\n"
    if domain.family == "third-party-filter":
        lines += ["@ MX 10 mx1.filter.example.", "@ MX 20 mx2.filter.example."]
    else:
        lines.append(f"@ MX 0 {domain.label}.mail.protection.outlook.com.")
    if domain.family == "hybrid-mx-m365":
        spf = "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"
        lines.append("mail A 203.0.113.10")
    if domain.broken == "plus-all":
        spf = spf.replace("-all", "+all")
    if domain.broken == "mx-elsewhere":
        lines[-1] = "@ MX 10 mail.elsewhere.example."
    lines += [f'@ TXT "MS=ms{domain.index:08d}"', f'@ TXT "{spf}"']
    if domain.broken == "two-spf":
        lines.append('@ TXT "v=spf1 ip4:198.51.100.7 -all"')
    lines.append("autodiscover CNAME autodiscover.outlook.com.")
    for selector in ("selector1", "selector2"):
        host = domain.label if domain.broken != "dkim-typo" else domain.label + "x"
        lines.append(f"{selector}._domainkey CNAME {selector}-{host}._domainkey.{domain.tenant}.onmicrosoft.com.")
    if domain.broken != "no-dmarc":
        lines.append(f'_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{domain.name}"')
    lines += ['_mta-sts TXT "v=STSv1; id=20261201"', f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@{domain.name}"']
    return "\n".join(lines) + "\n"


def provider_zones(all_domains: list[Domain]) -> dict[str, str]:
    """Zones for the names outside the domains: Microsoft 365's endpoints and keys, the filter service."""
    spf_include = _recorded("spf.protection.outlook.com.", "TXT")[0]
    dkim_key = _recorded("selector1-contoso-example._domainkey.contoso.onmicrosoft.com.", "TXT")[0]
    outlook = [_soa("outlook.com"), f"spf.protection TXT {spf_include}"]
    onmicrosoft = [_soa("onmicrosoft.com")]
    for domain in all_domains:
        if domain.family in ("cloud-only", "hybrid-mx-m365"):
            outlook.append(f"{domain.label}.mail.protection A 52.101.68.{16 + domain.index % 200}")
        if domain.family != "parked":
            onmicrosoft.append(f"selector1-{domain.label}._domainkey.{domain.tenant} TXT {dkim_key}")
    return {
        "outlook.com": "\n".join(outlook) + "\n",
        "onmicrosoft.com": "\n".join(onmicrosoft) + "\n",
        "filter.example": _soa("filter.example") + "mx1 A 192.0.2.10\nmx2 A 192.0.2.11\n",
        "elsewhere.example": _soa("elsewhere.example") + "mail A 198.51.100.25\n",
        # Reverse lookups (pyspf's ptr) are answered, not left to time out.
        "in-addr.arpa": _soa("in-addr.arpa"),
    }


def policy_text(family: str, members: list[Domain]) -> str:
    """One policy file per family: the scenario's expectations, with the few values it needs."""
    lines = ["mailflow: 1", f"description: benchmark, {family}", "domains:"]
    for domain in members:
        lines.append(f"  {domain.name}:")
        lines.append(f"    scenario: {family}")
        if family == "parked":
            continue
        lines.append(f"    tenant: {domain.tenant}")
        lines.append("    params:")
        lines.append(f"      reports: {{rua: ['mailto:dmarc@{domain.name}']}}")
        if family == "third-party-filter":
            lines.append("      third_party: {mx: [mx1.filter.example, mx2.filter.example]}")
        if family == "hybrid-mx-m365":
            lines.append("      on_premises: {egress: [203.0.113.10]}")
        lines.append("    expect:")
        lines.append("      dmarc: {policy: reject}")
        lines.append("      spf: {must_fail: [198.51.100.7]}")
    return "\n".join(lines) + "\n"


def write(folder: Path, count: int) -> tuple[list[Domain], dict[str, str]]:
    """Write ``policies/*.yaml`` under ``folder``; return the domains and every zone (origin -> text)."""
    all_domains = domains(count)
    policies = folder / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    for family in FAMILIES:
        members = [d for d in all_domains if d.family == family]
        if members:
            (policies / f"{family}.yaml").write_text(policy_text(family, members), encoding="utf-8")
    zones = {d.name: zone_text(d) for d in all_domains}
    zones.update(provider_zones(all_domains))
    return all_domains, zones

"""Microsoft 365 clouds and the endpoints each one uses (reference: m365-scenarios.md §0, §2.1, §2.5).

Shared by the policy loader (scenario templates such as ``${m365.spf_include}``) and the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The DNSSEC-capable Exchange Online MX namespace (note the TLD: .microsoft).
MX_MICROSOFT = "mx.microsoft"


@dataclass(frozen=True)
class Cloud:
    name: str
    label: str
    spf_include: str
    mx_suffixes: tuple[str, ...]
    autodiscover: str


CLOUDS = {
    "worldwide": Cloud(
        "worldwide",
        "worldwide (including GCC)",
        "spf.protection.outlook.com",
        ("mail.protection.outlook.com", MX_MICROSOFT),
        "autodiscover.outlook.com",
    ),
    "gcc-high": Cloud(
        "gcc-high",
        "GCC High",
        "spf.protection.office365.us",
        ("mail.protection.office365.us",),
        "autodiscover.office365.us",
    ),
    "dod": Cloud(
        "dod", "DoD", "spf.protection.office365.us", ("mail.protection.office365.us",), "autodiscover-dod.office365.us"
    ),
    "21vianet": Cloud(
        "21vianet",
        "21Vianet",
        "spf.protection.partner.outlook.cn",
        ("mail.protection.partner.outlook.cn",),
        "autodiscover.partner.outlook.cn",
    ),
}

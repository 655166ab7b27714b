"""Broken variants of the example domains: each fails with exactly the expected rule IDs, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mailflow.dns.records import txt_presentation
from tests.support.scenario import write_policy_with_cassettes, zone

DMARC = '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@fabrikam.example"'
GOOD_SPF = '@ TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"'
GOOD_MX = "@ MX 10 mail.fabrikam.example.\nmail A 203.0.113.25"
POLICY = """\
mailflow: 1
domains:
  fabrikam.example:
    expect:
      mx:
        hosts: [mail.fabrikam.example]
      spf:
        include: [spf.protection.outlook.com]
        forbid_include: [spf.old-provider.example]
        must_pass: [203.0.113.10]
        must_fail: [198.51.100.7]
"""
VENDOR = zone(
    "old-provider.example",
    'spf TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
    + "\n".join(f'n{i} TXT "v=spf1 a:h{i}.old-provider.example -all"\nh{i} A 192.0.2.{i + 1}' for i in range(12)),
)
MANY = " ".join(f"include:n{i}.old-provider.example" for i in range(10))

VARIANTS = {
    "duplicate SPF": (
        f'{GOOD_MX}\n{GOOD_SPF}\n@ TXT "v=spf1 include:spf.old-provider.example -all"',
        {
            "MF-SPF-001",
            "MF-SPF-008[spf.protection.outlook.com]",
            "MF-SPF-010[203.0.113.10]",
            "MF-SPF-011[198.51.100.7]",
        },
    ),
    "old provider still included": (
        f'{GOOD_MX}\n@ TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com '
        'include:spf.old-provider.example -all"',
        {"MF-SPF-009[spf.old-provider.example]", "MF-SPF-011[198.51.100.7]"},
    ),
    "twelve lookups": (
        f"{GOOD_MX}\n@ TXT {txt_presentation(f'v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com {MANY} -all')}",
        {"MF-SPF-003", "MF-SPF-011[198.51.100.7]"},
    ),
    "plus all": (
        f'{GOOD_MX}\n@ TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com +all"',
        {"MF-SPF-005", "MF-SPF-006", "MF-SPF-011[198.51.100.7]"},
    ),
    "neutral all and ptr": (
        f'{GOOD_MX}\n@ TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ptr ?all"',
        {"MF-SPF-006", "MF-SPF-007", "MF-SPF-011[198.51.100.7]"},
    ),
    "syntax error": (
        f'{GOOD_MX}\n@ TXT "v=spf1 ip4:203.0.113.10 inclde:spf.protection.outlook.com -all"',
        {
            "MF-SPF-002",
            "MF-SPF-008[spf.protection.outlook.com]",
            "MF-SPF-010[203.0.113.10]",
            "MF-SPF-011[198.51.100.7]",
        },
    ),
    "missing on-premises sender": (
        f'{GOOD_MX}\n@ TXT "v=spf1 include:spf.protection.outlook.com -all"',
        {"MF-SPF-010[203.0.113.10]"},
    ),
    "MX is a CNAME": (
        f"@ MX 10 mail.fabrikam.example.\nmail CNAME host.fabrikam.example.\nhost A 203.0.113.25\n{GOOD_SPF}",
        {"MF-MX-002"},
    ),
    "MX target does not resolve": (
        f"@ MX 10 mail.fabrikam.example.\n{GOOD_SPF}",
        {"MF-MX-003"},
    ),
    "wrong MX host": (
        f"@ MX 10 mx.elsewhere.example.\n@ MX 20 mx2.elsewhere.example.\n{GOOD_SPF}",
        {"MF-MX-001", "MF-MX-003"},
    ),
    "null MX mixed with a real one": (
        f"{GOOD_MX}\n@ MX 0 .\n{GOOD_SPF}",
        {"MF-MX-001", "MF-MX-004"},
    ),
    "void lookups": (
        f'{GOOD_MX}\n@ TXT "v=spf1 ip4:203.0.113.10 a:gone1.fabrikam.example a:gone2.fabrikam.example '
        'mx:gone3.fabrikam.example include:spf.protection.outlook.com -all"',
        {"MF-SPF-004", "MF-SPF-011[198.51.100.7]"},
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_fails_with_exactly_the_expected_rules(pytester: pytest.Pytester, variant: str) -> None:
    body, expected = VARIANTS[variant]
    zones = {
        "fabrikam.example": zone("fabrikam.example", f"{body}\n{DMARC}"),
        "old-provider.example": VENDOR,
        "elsewhere.example": zone("elsewhere.example", "mx A 192.0.2.80"),
    }
    write_policy_with_cassettes(Path(pytester.path), "policy.yaml", POLICY, zones)
    events = pytester.inline_run("--mailflow", "-p", "no:cacheprovider")
    failed = {report.nodeid.split("::")[-1] for report in events.getfailures() if report.when == "call"}
    errors = [report.nodeid for report in events.getfailures() if report.when != "call"]
    assert not errors
    assert failed == expected

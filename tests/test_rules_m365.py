"""Microsoft 365 record rules MF-M365-001..004, judged on evidence gathered from zone files.

Zones named after Microsoft's hosts stand for recorded data of those services; everything of the
organisation uses reserved names (*.example, *.test).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mailflow.dns.base import DnsSource, Question, ResolutionError
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding, Severity
from tests.support.scenario import Servfail, source

M365_RULES = ("MF-M365-001", "MF-M365-002", "MF-M365-003", "MF-M365-004")
_RULE_EXPECT: dict[str, dict[str, Any]] = {
    "MF-M365-001": {"m365": {"autodiscover": True}},
    "MF-M365-002": {"m365": {"verification": True}},
}

#: Each cloud's published SPF include, as zones that stand for the recorded answers.
MICROSOFT = {
    "protection.outlook.com": 'spf TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 -all"',
    "protection.office365.us": 'spf TXT "v=spf1 ip4:23.103.191.0/24 -all"',
    "protection.partner.outlook.cn": 'spf TXT "v=spf1 ip4:42.159.163.0/24 -all"',
    "protection.outlook.de": 'spf TXT "v=spf1 ip4:51.4.72.0/24 -all"',
}
VENDOR = 'spf TXT "v=spf1 ip4:198.51.100.0/24 include:spf.protection.office365.us -all"\nplain TXT "v=spf1 -all"\n'

CLOUD_RECORDS = {
    "worldwide": (
        "spf.protection.outlook.com",
        "a-example.mail.protection.outlook.com.",
        "autodiscover.outlook.com.",
    ),
    "gcc-high": ("spf.protection.office365.us", "contoso.mail.protection.office365.us.", "autodiscover.office365.us."),
    "dod": ("spf.protection.office365.us", "contoso.mail.protection.office365.us.", "autodiscover-dod.office365.us."),
    "21vianet": (
        "spf.protection.partner.outlook.cn",
        "a-example.mail.protection.partner.outlook.cn.",
        "autodiscover.partner.outlook.cn.",
    ),
}


def zones_with(body: str) -> dict[str, str]:
    """a.example with ``body``, next to Microsoft's and a vendor's records."""
    return {"a.example": body, "vendor.test": VENDOR, **MICROSOFT}


def cloud_body(cloud: str) -> str:
    """a.example set up as Microsoft documents it for ``cloud``."""
    include, mx, autodiscover = CLOUD_RECORDS[cloud]
    return f'@ TXT "v=spf1 include:{include} -all"\n@ MX 0 {mx}\nautodiscover CNAME {autodiscover}\n'


def domain_policy(
    rule_id: str, expect: dict[str, Any] | None = None, domain: str = "a.example", cloud: str | None = None
) -> DomainPolicy:
    text = f"mailflow: 1\ndomains:\n  {domain}:\n    scenario: custom\n    rules: [{rule_id}]\n"
    if cloud is not None:
        text += f"    cloud: {cloud}\n"
    if expect is not None:
        text += f"    expect: {json.dumps(expect)}\n"
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    return policy_domain


def finding(
    rule_id: str,
    zones: dict[str, str],
    *,
    cloud: str | None = None,
    expect: dict[str, Any] | None = None,
    domain: str = "a.example",
    dns: DnsSource | None = None,
) -> Finding:
    policy_domain = domain_policy(rule_id, expect or _RULE_EXPECT.get(rule_id), domain, cloud)
    evidence = gather(GatherRequest.for_policy(policy_domain), dns or source(zones))
    (check,) = plan(policy_domain)
    assert check.rule.id == rule_id
    return check.rule.check(evidence.view(), CheckContext(policy_domain.name, policy_domain, check.param))


def test_the_registry_has_these_m365_rules():
    assert sorted(r for r in REGISTRY if r.startswith("MF-M365-")) == list(M365_RULES)
    assert {r: REGISTRY[r].severity for r in M365_RULES} == {
        "MF-M365-001": Severity.MEDIUM,
        "MF-M365-002": Severity.LOW,
        "MF-M365-003": Severity.MEDIUM,
        "MF-M365-004": Severity.HIGH,
    }


# --- MF-M365-001: autodiscover -------------------------------------------------------------------


@pytest.mark.parametrize("cloud", sorted(CLOUD_RECORDS))
def test_m365_001_passes_for_the_clouds_autodiscover_host(cloud):
    target = CLOUD_RECORDS[cloud][2]
    result = finding("MF-M365-001", zones_with(f"autodiscover CNAME {target}"), cloud=cloud)
    assert result.passed
    assert result.summary == f"autodiscover.a.example is a CNAME to {target.rstrip('.')}"
    assert result.observed[0].startswith(f"autodiscover.a.example. CNAME -> {target}")


def test_m365_001_the_default_cloud_is_worldwide():
    assert finding("MF-M365-001", zones_with("autodiscover CNAME autodiscover.outlook.com.")).passed


@pytest.mark.parametrize(
    ("cloud", "target", "summary"),
    [
        (
            "gcc-high",
            "autodiscover.outlook.com.",
            "autodiscover.a.example is a CNAME to autodiscover.outlook.com, the worldwide (including GCC) "
            "Autodiscover host; expected autodiscover.office365.us for the GCC High cloud",
        ),
        (
            "dod",
            "autodiscover.office365.us.",
            "autodiscover.a.example is a CNAME to autodiscover.office365.us, the GCC High Autodiscover host; "
            "expected autodiscover-dod.office365.us for the DoD cloud",
        ),
        (
            "worldwide",
            "autodiscover.partner.outlook.cn.",
            "autodiscover.a.example is a CNAME to autodiscover.partner.outlook.cn, the 21Vianet Autodiscover host; "
            "expected autodiscover.outlook.com for the worldwide (including GCC) cloud",
        ),
        (
            "worldwide",
            "mail.a.example.",
            "autodiscover.a.example is a CNAME to mail.a.example; expected autodiscover.outlook.com for the "
            "worldwide (including GCC) cloud",
        ),
    ],
)
def test_m365_001_fails_for_another_target(cloud, target, summary):
    result = finding("MF-M365-001", zones_with(f"autodiscover CNAME {target}"), cloud=cloud)
    assert not result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("autodiscover A 192.0.2.10", "has no CNAME record (NODATA)", id="on-premises-address"),
        pytest.param("@ A 192.0.2.1", "does not exist (NXDOMAIN)", id="missing"),
    ],
)
def test_m365_001_fails_without_a_cname(body, status):
    result = finding("MF-M365-001", zones_with(body))
    assert not result.passed
    assert result.summary == (
        f"autodiscover.a.example {status}; expected a CNAME to autodiscover.outlook.com for the worldwide "
        "(including GCC) cloud"
    )


@pytest.mark.parametrize("expect", [None, {"m365": {"autodiscover": False}}, {"m365": {"verification": True}}])
def test_m365_001_is_not_collected_unless_the_policy_asks(expect):
    assert plan(domain_policy("MF-M365-001", expect)) == []


def test_m365_001_is_undetermined_when_the_cname_lookup_fails():
    dns = Servfail(
        source(zones_with("autodiscover CNAME autodiscover.outlook.com.")), ("autodiscover.a.example", "CNAME")
    )
    with pytest.raises(ResolutionError) as caught:
        finding("MF-M365-001", {}, dns=dns)
    assert caught.value.question == Question.of("autodiscover.a.example", "CNAME")


def test_m365_001_expectation_names_the_clouds_host():
    policy_domain = domain_policy("MF-M365-001", _RULE_EXPECT["MF-M365-001"], cloud="dod")
    (check,) = plan(policy_domain)
    text = check.rule.expectation(CheckContext("a.example", policy_domain))
    assert text == "autodiscover.a.example CNAME autodiscover-dod.office365.us"


# --- MF-M365-002: the MS= verification TXT --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '@ TXT "MS=ms12345678"',
        '@ TXT "v=spf1 -all"\n@ TXT "MS=ms72370887"\n@ TXT "google-site-verification=abc"',
        '@ TXT "MS=ms" "12345678"',
    ],
)
def test_m365_002_passes_with_the_verification_txt(body):
    result = finding("MF-M365-002", zones_with(body))
    assert result.passed
    assert result.summary.startswith("the apex keeps the Microsoft 365 verification TXT MS=ms")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param('@ TXT "v=spf1 -all"', " (NOERROR, 1 other TXT record)", id="other-txt"),
        pytest.param("@ A 192.0.2.1", " (NODATA, 0 other TXT records)", id="no-txt"),
        pytest.param(
            '@ TXT "MS=ms1234567"', "; found 'MS=ms1234567', which is not MS=ms followed by 8 digits", id="7-digits"
        ),
        pytest.param(
            '@ TXT "ms=ms12345678"', "; found 'ms=ms12345678', which is not MS=ms followed by 8 digits", id="case"
        ),
        pytest.param(
            '@ TXT "MS=ms12345678 "', "; found 'MS=ms12345678 ', which is not MS=ms followed by 8 digits", id="space"
        ),
    ],
)
def test_m365_002_fails_without_the_verification_txt(body, why):
    result = finding("MF-M365-002", zones_with(body))
    assert not result.passed
    assert result.summary == f"no Microsoft 365 verification TXT at the apex{why}; expected MS=ms followed by 8 digits"


def test_m365_002_a_verification_mx_is_not_the_txt():
    body = '@ MX 32767 ms12345678.msv1.invalid.\n@ TXT "v=spf1 -all"'
    assert not finding("MF-M365-002", zones_with(body)).passed


def test_m365_002_is_not_collected_unless_the_policy_asks():
    assert plan(domain_policy("MF-M365-002")) == []
    assert plan(domain_policy("MF-M365-002", {"m365": {"autodiscover": True}})) == []


def test_m365_002_is_undetermined_when_the_txt_lookup_fails():
    dns = Servfail(source(zones_with('@ TXT "MS=ms12345678"')), ("a.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-M365-002", {}, dns=dns)
    assert caught.value.question == Question.of("a.example", "TXT")


# --- MF-M365-003: msoid only for 21Vianet ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "body", "summary"),
    [
        ("worldwide", "@ A 192.0.2.1", "no msoid CNAME (msoid.a.example does not exist (NXDOMAIN))"),
        ("gcc-high", 'msoid TXT "x"', "no msoid CNAME (msoid.a.example has no CNAME record (NODATA))"),
        (
            "21vianet",
            "msoid CNAME clientconfig.partner.microsoftonline-p.net.cn.",
            "msoid.a.example is a CNAME to clientconfig.partner.microsoftonline-p.net.cn, as 21Vianet expects",
        ),
        (
            "21vianet",
            "@ A 192.0.2.1",
            "no msoid CNAME (msoid.a.example does not exist (NXDOMAIN)); 21Vianet allows one",
        ),
    ],
)
def test_m365_003_passes(cloud, body, summary):
    result = finding("MF-M365-003", zones_with(body), cloud=cloud)
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize("cloud", ["worldwide", "gcc-high", "dod"])
def test_m365_003_fails_for_msoid_outside_21vianet(cloud):
    body = "msoid CNAME clientconfig.partner.microsoftonline-p.net.cn."
    result = finding("MF-M365-003", zones_with(body), cloud=cloud)
    assert not result.passed
    assert result.summary.startswith(
        "msoid.a.example is a CNAME to clientconfig.partner.microsoftonline-p.net.cn, but the domain's cloud is "
    )
    assert result.summary.endswith(
        "expected no msoid CNAME: outside 21Vianet it breaks Microsoft 365 Apps activation "
        "('custom domain isn't in our system')"
    )


def test_m365_003_fails_for_a_wrong_msoid_target_in_21vianet():
    result = finding("MF-M365-003", zones_with("msoid CNAME clientconfig.microsoftonline-p.net."), cloud="21vianet")
    assert not result.passed
    assert result.summary == (
        "msoid.a.example is a CNAME to clientconfig.microsoftonline-p.net; expected "
        "clientconfig.partner.microsoftonline-p.net.cn (21Vianet)"
    )


def test_m365_003_is_always_collected():
    (check,) = plan(domain_policy("MF-M365-003"))
    assert check.param is None


def test_m365_003_is_undetermined_when_the_cname_lookup_fails():
    dns = Servfail(source(zones_with("@ A 192.0.2.1")), ("msoid.a.example", "CNAME"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-M365-003", {}, dns=dns)
    assert caught.value.question == Question.of("msoid.a.example", "CNAME")


# --- MF-M365-004: one cloud ----------------------------------------------------------------------


@pytest.mark.parametrize("cloud", sorted(CLOUD_RECORDS))
def test_m365_004_passes_when_every_endpoint_is_the_clouds(cloud):
    result = finding("MF-M365-004", zones_with(cloud_body(cloud)), cloud=cloud)
    assert result.passed, result.summary
    label = {"worldwide": "worldwide (including GCC)", "gcc-high": "GCC High", "dod": "DoD", "21vianet": "21Vianet"}
    assert result.summary == f"every Microsoft 365 endpoint belongs to the {label[cloud]} cloud"
    assert len(result.observed) == 3


def test_m365_004_passes_for_the_mx_microsoft_namespace_and_a_nested_include():
    body = (
        '@ TXT "v=spf1 include:spf.a.example -all"\nspf TXT "v=spf1 include:spf.protection.outlook.com -all"\n'
        "@ MX 0 a-example.o-v1.mx.microsoft.\n"
    )
    result = finding("MF-M365-004", zones_with(body))
    assert result.passed
    assert result.observed == (
        "SPF include:spf.protection.outlook.com (worldwide (including GCC))",
        "MX a-example.o-v1.mx.microsoft (worldwide (including GCC))",
    )


@pytest.mark.parametrize(
    "body",
    [
        '@ TXT "v=spf1 include:plain.vendor.test -all"\n@ MX 10 mx.a.example.\nmx A 192.0.2.25',
        "@ A 192.0.2.1",
        "autodiscover CNAME mail.a.example.\nmail A 192.0.2.10",
    ],
)
def test_m365_004_passes_without_microsoft_endpoints_and_says_so(body):
    result = finding("MF-M365-004", zones_with(body), cloud="gcc-high")
    assert result.passed
    assert result.summary == (
        "the domain uses no Microsoft 365 endpoint (SPF include, MX or autodiscover); nothing to compare"
    )


@pytest.mark.parametrize(
    ("cloud", "body", "foreign"),
    [
        pytest.param(
            "gcc-high",
            cloud_body("worldwide"),
            "SPF include:spf.protection.outlook.com belongs to worldwide (including GCC); "
            "MX a-example.mail.protection.outlook.com belongs to worldwide (including GCC); "
            "autodiscover CNAME autodiscover.outlook.com belongs to worldwide (including GCC)",
            id="worldwide-records-in-gcc-high",
        ),
        pytest.param(
            "worldwide",
            cloud_body("worldwide").replace(
                "a-example.mail.protection.outlook.com.", "contoso.mail.protection.office365.us."
            ),
            "MX contoso.mail.protection.office365.us belongs to DoD or GCC High",
            id="mixed-mx",
        ),
        pytest.param(
            "dod",
            cloud_body("gcc-high"),
            "autodiscover CNAME autodiscover.office365.us belongs to GCC High",
            id="gcc-high-autodiscover-in-dod",
        ),
        pytest.param(
            "21vianet",
            cloud_body("21vianet").replace("spf.protection.partner.outlook.cn", "spf.protection.outlook.com"),
            "SPF include:spf.protection.outlook.com belongs to worldwide (including GCC)",
            id="worldwide-include-in-21vianet",
        ),
        pytest.param(
            "worldwide",
            '@ TXT "v=spf1 include:spf.vendor.test include:spf.protection.outlook.com -all"',
            "SPF include:spf.protection.office365.us belongs to DoD or GCC High",
            id="nested-include-of-another-cloud",
        ),
        pytest.param(
            "worldwide",
            '@ TXT "v=spf1 include:spf.protection.outlook.de -all"\n@ MX 0 a-example.mail.protection.outlook.de.',
            "SPF include:spf.protection.outlook.de belongs to Office 365 Germany (retired); "
            "MX a-example.mail.protection.outlook.de belongs to Office 365 Germany (retired)",
            id="germany",
        ),
        pytest.param(
            "gcc-high",
            "@ MX 10 mail.eo.outlook.com.",
            "MX mail.eo.outlook.com belongs to worldwide (including GCC)",
            id="legacy-worldwide-mx",
        ),
        pytest.param(
            "worldwide",
            '@ TXT "v=spf1 include:spf.protection.outlook.com -all"\n'
            '@ TXT "v=spf1 include:spf.protection.office365.us -all"',
            "SPF include:spf.protection.office365.us belongs to DoD or GCC High",
            id="two-spf-records",
        ),
    ],
)
def test_m365_004_fails_for_endpoints_of_another_cloud(cloud, body, foreign):
    result = finding("MF-M365-004", zones_with(body), cloud=cloud)
    assert not result.passed
    assert result.summary.startswith(f"Microsoft 365 endpoints of another cloud: {foreign}; the domain's cloud is ")


def test_m365_004_failure_says_what_the_cloud_expects():
    result = finding("MF-M365-004", zones_with(cloud_body("worldwide")), cloud="gcc-high")
    assert result.summary.endswith(
        "the domain's cloud is GCC High (cloud: gcc-high), expected include:spf.protection.office365.us, MX hosts under "
        "mail.protection.office365.us, autodiscover CNAME to autodiscover.office365.us"
    )
    assert result.observed == (
        "SPF include:spf.protection.outlook.com (worldwide (including GCC))",
        "MX a-example.mail.protection.outlook.com (worldwide (including GCC))",
        "autodiscover CNAME autodiscover.outlook.com (worldwide (including GCC))",
    )


def test_m365_004_is_always_collected():
    (check,) = plan(domain_policy("MF-M365-004"))
    assert check.param is None


@pytest.mark.parametrize(
    "failing",
    [("a.example", "TXT"), ("a.example", "MX"), ("autodiscover.a.example", "CNAME"), ("plain.vendor.test", "TXT")],
)
def test_m365_004_is_undetermined_when_a_part_is_unknown(failing):
    # The vendor's record is harmless, but while it is unknown it could include another cloud's SPF.
    body = cloud_body("worldwide").replace("v=spf1 ", "v=spf1 include:plain.vendor.test ")
    assert finding("MF-M365-004", zones_with(body)).passed
    dns = Servfail(source(zones_with(body)), failing)
    with pytest.raises(ResolutionError) as caught:
        finding("MF-M365-004", {}, dns=dns)
    assert caught.value.question == Question.of(*failing)


def test_m365_004_a_known_mismatch_wins_over_an_unknown_part():
    dns = Servfail(
        source(zones_with(cloud_body("worldwide"))), ("a.example", "TXT"), ("autodiscover.a.example", "CNAME")
    )
    result = finding("MF-M365-004", {}, cloud="gcc-high", dns=dns)
    assert not result.passed
    assert result.summary.startswith(
        "Microsoft 365 endpoints of another cloud: MX a-example.mail.protection.outlook.com belongs to worldwide"
    )


def test_m365_004_is_undetermined_when_an_include_is_outside_the_zones():
    with pytest.raises(ResolutionError) as caught:
        finding("MF-M365-004", zones_with('@ TXT "v=spf1 include:spf.outside.test -all"'))
    assert caught.value.question == Question.of("spf.outside.test", "TXT")


# --- every rule, undetermined outside the zones ----------------------------------------------------


@pytest.mark.parametrize("rule_id", M365_RULES)
def test_every_m365_rule_is_undetermined_outside_the_zones(rule_id):
    with pytest.raises(ResolutionError):
        finding(rule_id, zones_with(cloud_body("worldwide")), domain="b.example")


@pytest.mark.parametrize("rule_id", M365_RULES)
def test_every_m365_rule_passes_for_a_domain_set_up_as_microsoft_documents(rule_id):
    body = cloud_body("worldwide") + '@ TXT "MS=ms12345678"\n'
    assert finding(rule_id, zones_with(body)).passed

"""MX rules MF-MX-001..007, judged on evidence gathered from zone files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mailflow.dns.base import DnsSource, Question, ResolutionError
from pytest_mailflow.engine import Engine, Undetermined
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding
from tests.support.scenario import Servfail, StaticFactory, source

MX_RULES = tuple(f"MF-MX-{n:03d}" for n in range(1, 10))
#: Expectations that make a rule apply (MF-MX-005 runs only for 'expect.mx.single: true').
_RULE_EXPECT: dict[str, dict[str, Any]] = {
    "MF-MX-005": {"mx": {"single": True}},
    "MF-MX-008": {"mx": {"microsoft": True}},
    "MF-MX-009": {"mx": {"forbid": ["mx.old.test"]}},
}


def domain_policy(rule_id: str, expect: dict[str, Any] | None = None, domain: str = "a.example") -> DomainPolicy:
    text = f"mailflow: 1\ndomains:\n  {domain}:\n    scenario: custom\n    rules: [{rule_id}]\n"
    if expect is not None:
        text += f"    expect: {json.dumps(expect)}\n"
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    return policy_domain


def finding(
    rule_id: str,
    zones: dict[str, str],
    expect: dict[str, Any] | None = None,
    *,
    domain: str = "a.example",
    dns: DnsSource | None = None,
) -> Finding:
    policy_domain = domain_policy(rule_id, expect, domain)
    evidence = gather(GatherRequest.for_policy(policy_domain), dns or source(zones))
    (check,) = plan(policy_domain)
    assert check.rule.id == rule_id
    return check.rule.check(evidence.view(), CheckContext(policy_domain.name, policy_domain, check.param))


GOOD = "@ MX 10 mx1.a.example.\n@ MX 20 mx2.a.example.\nmx1 A 192.0.2.1\nmx2 AAAA 2001:db8::2\n"


def test_the_registry_has_these_mx_rules():
    assert sorted(r for r in REGISTRY if r.startswith("MF-MX-")) == list(MX_RULES)


# --- MF-MX-001: the expected MX records ----------------------------------------------------------


def test_mx_001_passes_with_any_mx_when_the_policy_names_none():
    result = finding("MF-MX-001", {"a.example": GOOD})
    assert result.passed
    assert "publishes MX records" in result.summary
    assert "10 mx1.a.example." in result.summary
    assert result.observed == ("MX: 10 mx1.a.example., 20 mx2.a.example.",)


@pytest.mark.parametrize(
    "hosts",
    [
        [{"host": "mx1.a.example", "priority": 10}, {"host": "mx2.a.example", "priority": 20}],
        ["mx2.a.example", "mx1.a.example"],
        [{"host": "MX1.A.Example.", "priority": 10}, "mx2.a.example"],
    ],
)
def test_mx_001_passes_when_the_records_match_the_policy(hosts):
    result = finding("MF-MX-001", {"a.example": GOOD}, {"mx": {"hosts": hosts}})
    assert result.passed
    assert result.summary == "MX records match the policy"


@pytest.mark.parametrize(
    ("hosts", "words"),
    [
        pytest.param(["mx1.a.example", "mx2.a.example", "mx3.a.example"], ["missing mx3.a.example"], id="missing-host"),
        pytest.param(["mx1.a.example"], ["unexpected mx2.a.example"], id="unexpected-host"),
        pytest.param(
            [{"host": "mx1.a.example", "priority": 20}, "mx2.a.example"],
            ["mx1.a.example has priority 10, expected 20"],
            id="wrong-priority",
        ),
        pytest.param(
            ["mail.vendor.test"],
            ["missing mail.vendor.test", "unexpected mx1.a.example", "unexpected mx2.a.example"],
            id="all-wrong",
        ),
    ],
)
def test_mx_001_fails_when_the_records_differ(hosts, words):
    result = finding("MF-MX-001", {"a.example": GOOD}, {"mx": {"hosts": hosts}})
    assert not result.passed
    assert result.summary.startswith("MX records differ from the policy: ")
    for word in words:
        assert word in result.summary


@pytest.mark.parametrize(
    ("zones", "domain", "status"),
    [
        pytest.param({"a.example": "@ A 192.0.2.1"}, "a.example", "NODATA", id="nodata"),
        pytest.param({"a.example": ""}, "gone.a.example", "NXDOMAIN", id="nxdomain"),
    ],
)
def test_mx_001_fails_without_mx_records(zones, domain, status):
    result = finding("MF-MX-001", zones, domain=domain)
    assert not result.passed
    assert f"publishes no MX records ({status})" in result.summary
    assert "RFC 5321 §5.1" in result.summary


def test_mx_001_passes_for_a_declared_null_mx():
    result = finding("MF-MX-001", {"a.example": "@ MX 0 ."}, {"mx": {"null_mx": True}})
    assert result.passed
    assert result.summary == "publishes a null MX as declared"


@pytest.mark.parametrize("body", [GOOD, "@ A 192.0.2.1", "@ MX 0 .\n@ MX 10 mx1.a.example.\nmx1 A 192.0.2.1"])
def test_mx_001_fails_when_a_declared_null_mx_is_missing(body):
    result = finding("MF-MX-001", {"a.example": body}, {"mx": {"null_mx": True}})
    assert not result.passed
    assert "the policy declares a null MX" in result.summary


def test_mx_001_fails_for_an_undeclared_null_mx():
    result = finding("MF-MX-001", {"a.example": "@ MX 0 ."})
    assert not result.passed
    assert "publishes a null MX" in result.summary
    assert "expect.mx.null_mx: true" in result.summary


# --- MF-MX-002: MX targets are not aliases -------------------------------------------------------


@pytest.mark.parametrize("body", [GOOD, "@ MX 0 .", "@ MX 10 mail.vendor.test."])
def test_mx_002_passes_without_aliases(body):
    zones = {"a.example": body, "vendor.test": "mail A 198.51.100.1"}
    result = finding("MF-MX-002", zones)
    assert result.passed
    assert result.summary == "no MX target is an alias"


def test_mx_002_fails_for_a_cname_target():
    zones = {"a.example": "@ MX 10 mx.a.example.\nmx CNAME host.a.example.\nhost A 192.0.2.1"}
    result = finding("MF-MX-002", zones)
    assert not result.passed
    assert result.summary == "MX target is a CNAME: mx.a.example is an alias for host.a.example"


def test_mx_002_fails_for_a_cname_into_another_zone_and_names_the_last_target():
    zones = {
        "a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mx2.a.example.\nmx1 A 192.0.2.1\nmx2 CNAME relay.vendor.test.",
        "vendor.test": "relay CNAME mail.vendor.test.\nmail AAAA 2001:db8::25",
    }
    result = finding("MF-MX-002", zones)
    assert not result.passed
    assert "mx2.a.example is an alias for mail.vendor.test" in result.summary
    assert "mx1.a.example" not in result.summary


def test_mx_002_fails_for_a_cname_target_without_addresses():
    zones = {"a.example": "@ MX 10 mx.a.example.\nmx CNAME nothing.a.example."}
    result = finding("MF-MX-002", zones)
    assert not result.passed
    assert "mx.a.example is an alias for nothing.a.example" in result.summary


def test_mx_002_is_undetermined_when_the_target_cannot_be_resolved():
    zones = {"a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\nmx1 A 192.0.2.1"}
    with pytest.raises(ResolutionError) as caught:
        finding("MF-MX-002", zones)
    assert caught.value.question.name == "mail.outside.test."


def test_mx_002_is_undetermined_on_servfail_for_both_families():
    dns = Servfail(source({"a.example": GOOD}), ("mx1.a.example", "A"), ("mx1.a.example", "AAAA"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-MX-002", {}, dns=dns)
    assert caught.value.cause == "SERVFAIL"


def test_mx_002_one_answering_family_is_enough_to_see_an_alias():
    zones = {"a.example": "@ MX 10 mx.a.example.\nmx CNAME host.a.example.\nhost AAAA 2001:db8::1"}
    dns = Servfail(source(zones), ("mx.a.example", "A"))
    result = finding("MF-MX-002", {}, dns=dns)
    assert not result.passed
    assert "mx.a.example is an alias for host.a.example" in result.summary
    assert finding("MF-MX-002", {}, dns=Servfail(source({"a.example": GOOD}), ("mx1.a.example", "A"))).passed


def test_mx_002_a_known_alias_wins_over_an_unknown_target():
    zones = {
        "a.example": "@ MX 10 mx.a.example.\n@ MX 20 mail.outside.test.\nmx CNAME host.a.example.\nhost A 192.0.2.1"
    }
    result = finding("MF-MX-002", zones)
    assert not result.passed
    assert "mx.a.example is an alias for host.a.example" in result.summary


# --- MF-MX-003: MX targets resolve ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(GOOD, id="a-and-aaaa"),
        pytest.param("@ MX 10 mx.a.example.\nmx AAAA 2001:db8::25", id="only-aaaa"),
        pytest.param("@ MX 10 mx.a.example.\nmx CNAME host.a.example.\nhost A 192.0.2.1", id="through-cname"),
        pytest.param("@ MX 10 mx.wild.a.example.\n*.wild A 192.0.2.1", id="wildcard"),
        pytest.param("@ MX 0 .", id="null-mx"),
    ],
)
def test_mx_003_passes_when_every_target_has_an_address(body):
    result = finding("MF-MX-003", {"a.example": body})
    assert result.passed
    assert result.summary == "every MX target resolves to an address"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param("@ MX 10 gone.a.example.", "gone.a.example has no A or AAAA record", id="nxdomain"),
        pytest.param('@ MX 10 txt.a.example.\ntxt TXT "x"', "txt.a.example has no A or AAAA record", id="nodata"),
        pytest.param(
            "@ MX 10 mx.a.example.\nmx CNAME gone.a.example.", "mx.a.example has no A or AAAA record", id="dangling"
        ),
        pytest.param(
            "@ MX 10 192.0.2.1.", "192.0.2.1 is an IP address; an MX target must be a host name", id="ip-literal"
        ),
    ],
)
def test_mx_003_fails_for_a_target_without_address(body, words):
    result = finding("MF-MX-003", {"a.example": body})
    assert not result.passed
    assert words in result.summary


def test_mx_003_reports_every_bad_target():
    body = "@ MX 10 gone1.a.example.\n@ MX 20 gone2.a.example.\n@ MX 30 ok.a.example.\nok A 192.0.2.1"
    result = finding("MF-MX-003", {"a.example": body})
    assert not result.passed
    assert result.summary == "gone1.a.example has no A or AAAA record; gone2.a.example has no A or AAAA record"


def test_mx_003_is_undetermined_when_a_target_cannot_be_resolved():
    zones = {"a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\nmx1 A 192.0.2.1"}
    with pytest.raises(ResolutionError) as caught:
        finding("MF-MX-003", zones)
    assert caught.value.question.name == "mail.outside.test."


def test_mx_003_is_undetermined_on_servfail_inside_a_zone():
    dns = Servfail(source({"a.example": GOOD}), ("mx2.a.example", "A"), ("mx2.a.example", "AAAA"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-MX-003", {}, dns=dns)
    assert caught.value.cause == "SERVFAIL"


def test_mx_003_one_failed_family_is_enough_when_the_other_has_addresses():
    dns = Servfail(source({"a.example": GOOD}), ("mx1.a.example", "AAAA"), ("mx2.a.example", "A"))
    assert finding("MF-MX-003", {}, dns=dns).passed


def test_mx_003_a_known_failure_wins_over_an_unknown_target():
    zones = {"a.example": "@ MX 10 gone.a.example.\n@ MX 20 mail.outside.test."}
    result = finding("MF-MX-003", zones)
    assert not result.passed
    assert "gone.a.example has no A or AAAA record" in result.summary


# --- MF-MX-004: null MX alone --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        (GOOD, "no null MX published"),
        ("@ A 192.0.2.1", "no null MX published"),
        ("@ MX 0 .", "the null MX (0 .) stands alone"),
    ],
)
def test_mx_004_passes(body, summary):
    result = finding("MF-MX-004", {"a.example": body})
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("@ MX 0 .\n@ MX 10 mx1.a.example.\nmx1 A 192.0.2.1", id="null-plus-host"),
        pytest.param("@ MX 10 .", id="null-with-preference-10"),
        pytest.param("@ MX 0 .\n@ MX 5 .", id="two-nulls"),
    ],
)
def test_mx_004_fails_when_the_null_mx_is_not_alone(body):
    result = finding("MF-MX-004", {"a.example": body})
    assert not result.passed
    assert "a null MX must be the only MX record, with preference 0" in result.summary


# --- MF-MX-005: exactly one MX when the policy asks for it ---------------------------------------

SINGLE = {"mx": {"single": True}}


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        ("@ MX 10 mx1.a.example.\nmx1 A 192.0.2.1", "publishes exactly one MX record: 10 mx1.a.example."),
        (
            "@ MX 0 a-example.mail.protection.outlook.com.",
            "publishes exactly one MX record: 0 a-example.mail.protection.outlook.com.",
        ),
        ("@ MX 0 .", "publishes exactly one MX record: 0 ."),
    ],
)
def test_mx_005_passes_with_one_mx(body, summary):
    result = finding("MF-MX-005", {"a.example": body}, SINGLE)
    assert result.passed
    assert result.summary == summary


def test_mx_005_fails_with_two_mx_records():
    result = finding("MF-MX-005", {"a.example": GOOD}, SINGLE)
    assert not result.passed
    assert result.summary == (
        "publishes 2 MX records (10 mx1.a.example., 20 mx2.a.example.); the policy expects exactly one, "
        "pointing at the system that should receive first"
    )
    assert result.observed == ("MX: 10 mx1.a.example., 20 mx2.a.example.",)


def test_mx_005_fails_for_an_old_system_left_next_to_microsoft_365():
    body = "@ MX 0 a-example.mail.protection.outlook.com.\n@ MX 10 mx1.a.example.\nmx1 A 192.0.2.1"
    result = finding("MF-MX-005", {"a.example": body}, SINGLE)
    assert not result.passed
    assert result.summary.startswith(
        "publishes 2 MX records (0 a-example.mail.protection.outlook.com., 10 mx1.a.example.)"
    )


@pytest.mark.parametrize(
    ("zones", "domain", "status"),
    [
        pytest.param({"a.example": "@ A 192.0.2.1"}, "a.example", "NODATA", id="nodata"),
        pytest.param({"a.example": ""}, "gone.a.example", "NXDOMAIN", id="nxdomain"),
    ],
)
def test_mx_005_fails_without_mx(zones, domain, status):
    result = finding("MF-MX-005", zones, SINGLE, domain=domain)
    assert not result.passed
    assert result.summary == f"publishes no MX records ({status}); the policy expects exactly one"


@pytest.mark.parametrize("expect", [None, {"mx": {"single": False}}, {"mx": {"hosts": ["mx1.a.example"]}}])
def test_mx_005_is_not_collected_unless_the_policy_asks_for_one_mx(expect):
    assert plan(domain_policy("MF-MX-005", expect)) == []


def test_mx_005_is_undetermined_when_the_mx_lookup_fails():
    dns = Servfail(source({"a.example": GOOD}), ("a.example", "MX"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-MX-005", {}, SINGLE, dns=dns)
    assert caught.value.cause == "SERVFAIL"


def test_mx_005_reads_its_expectation_line_from_the_policy():
    text = "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n    rules: [MF-MX-005]\n    expect:\n      mx:\n        single: true\n"
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    (check,) = plan(policy_domain)
    assert check.line == 8
    assert check.rule.expectation(CheckContext("a.example", policy_domain)) == "exactly one MX record"


# --- MF-MX-006: no retired Exchange Online hosts -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(GOOD, id="own-hosts"),
        pytest.param("@ MX 0 a-example.mail.protection.outlook.com.", id="current-endpoint"),
        pytest.param("@ MX 0 a-example.o-v1.mx.microsoft.", id="dnssec-endpoint"),
        pytest.param("@ MX 10 mail.eo.outlook.com.a.example.\n", id="lookalike-inside-the-domain"),
        pytest.param("@ MX 10 xmail.eo.outlook.com.", id="lookalike-label"),
        pytest.param("@ MX 0 .", id="null-mx"),
        pytest.param("@ A 192.0.2.1", id="no-mx"),
    ],
)
def test_mx_006_passes_without_retired_hosts(body):
    result = finding("MF-MX-006", {"a.example": body})
    assert result.passed
    assert result.summary == "no MX target is a retired Exchange Online endpoint"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param("@ MX 10 mail.eo.outlook.com.", "mail.eo.outlook.com", id="eo"),
        pytest.param(
            "@ MX 10 a-example.mail.eo.outlook.com.",
            "a-example.mail.eo.outlook.com (under mail.eo.outlook.com)",
            id="eo-token",
        ),
        pytest.param(
            "@ MX 10 a.example.mail.messaging.microsoft.com.",
            "a.example.mail.messaging.microsoft.com (under mail.messaging.microsoft.com)",
            id="fope",
        ),
        pytest.param("@ MX 10 MAIL.GLOBAL.FRONTBRIDGE.COM.", "mail.global.frontbridge.com", id="frontbridge"),
        pytest.param(
            "@ MX 0 a-example.mail.protection.outlook.de.",
            "a-example.mail.protection.outlook.de (under mail.protection.outlook.de)",
            id="germany",
        ),
    ],
)
def test_mx_006_fails_for_a_retired_host(body, named):
    result = finding("MF-MX-006", {"a.example": body + "\n@ MX 20 mx1.a.example.\nmx1 A 192.0.2.1"})
    assert not result.passed
    assert result.summary == (
        f"MX names retired Exchange Online endpoints: {named}; expected only the current endpoint "
        "(<token>.mail.protection.outlook.com or <token>.<c>-v1.mx.microsoft) or the domain's own hosts"
    )


def test_mx_006_names_every_retired_host():
    body = "@ MX 10 mail.eo.outlook.com.\n@ MX 20 mail.global.frontbridge.com.\n@ MX 0 a-example.mail.protection.outlook.com."
    result = finding("MF-MX-006", {"a.example": body})
    assert not result.passed
    assert "mail.eo.outlook.com, mail.global.frontbridge.com;" in result.summary


def test_mx_006_is_always_collected():
    (check,) = plan(domain_policy("MF-MX-006"))
    assert check.param is None


def test_mx_006_is_undetermined_when_the_mx_lookup_fails():
    dns = Servfail(source({"a.example": "@ MX 10 mail.eo.outlook.com."}), ("a.example", "MX"))
    with pytest.raises(ResolutionError):
        finding("MF-MX-006", {}, dns=dns)


# --- MF-MX-007: the mx.microsoft namespace -------------------------------------------------------

DNSSEC_MX = "a-example.o-v1.mx.microsoft."


@pytest.mark.parametrize("priority", [0, 10])
def test_mx_007_passes_for_a_lone_mx_microsoft_host_at_0_or_10(priority):
    result = finding("MF-MX-007", {"a.example": f"@ MX {priority} {DNSSEC_MX}"})
    assert result.passed
    assert result.summary == f"the mx.microsoft host a-example.o-v1.mx.microsoft stands alone at priority {priority}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(GOOD, id="own-hosts"),
        pytest.param("@ MX 0 a-example.mail.protection.outlook.com.\n@ MX 10 mx1.a.example.", id="classic-endpoint"),
        pytest.param("@ MX 10 mx.microsoft.a.example.\n@ MX 20 mx1.a.example.", id="lookalike"),
        pytest.param("@ A 192.0.2.1", id="no-mx"),
    ],
)
def test_mx_007_passes_when_no_host_is_under_mx_microsoft(body):
    result = finding("MF-MX-007", {"a.example": body})
    assert result.passed
    assert result.summary == "no MX target is under mx.microsoft; the rule does not apply"


@pytest.mark.parametrize("priority", [1, 5, 20, 30])
def test_mx_007_fails_for_another_priority(priority):
    result = finding("MF-MX-007", {"a.example": f"@ MX {priority} {DNSSEC_MX}"})
    assert not result.passed
    assert result.summary == f"a-example.o-v1.mx.microsoft has priority {priority}, expected 0 or 10"


def test_mx_007_fails_for_a_fallback_mx():
    body = f"@ MX 0 {DNSSEC_MX}\n@ MX 30 a-example.mail.protection.outlook.com."
    result = finding("MF-MX-007", {"a.example": body})
    assert not result.passed
    assert result.summary == (
        "1 other MX record next to a-example.o-v1.mx.microsoft (30 a-example.mail.protection.outlook.com), "
        "expected none: no fallback MX beside an mx.microsoft host"
    )


def test_mx_007_fails_half_way_through_the_migration():
    # Step 3 of Microsoft's procedure: the new host added at 20 next to the old one at 0.
    body = f"@ MX 0 a-example.mail.protection.outlook.com.\n@ MX 20 {DNSSEC_MX}"
    result = finding("MF-MX-007", {"a.example": body})
    assert not result.passed
    assert result.summary == (
        "a-example.o-v1.mx.microsoft has priority 20, expected 0 or 10; 1 other MX record next to "
        "a-example.o-v1.mx.microsoft (0 a-example.mail.protection.outlook.com), expected none: no fallback MX "
        "beside an mx.microsoft host"
    )


def test_mx_007_fails_for_two_mx_microsoft_hosts():
    body = f"@ MX 0 {DNSSEC_MX}\n@ MX 10 a-example.p-v1.mx.microsoft."
    result = finding("MF-MX-007", {"a.example": body})
    assert not result.passed
    assert "1 other MX record next to a-example.o-v1.mx.microsoft (10 a-example.p-v1.mx.microsoft)" in result.summary


def test_mx_007_is_undetermined_when_the_mx_lookup_fails():
    dns = Servfail(source({"a.example": f"@ MX 0 {DNSSEC_MX}"}), ("a.example", "MX"))
    with pytest.raises(ResolutionError):
        finding("MF-MX-007", {}, dns=dns)


# --- undetermined MX lookups make every MX rule an error -----------------------------------------


@pytest.mark.parametrize("rule_id", MX_RULES)
def test_every_mx_rule_is_undetermined_when_the_mx_lookup_fails(rule_id):
    dns = Servfail(source({"a.example": GOOD}), ("a.example", "MX"))
    with pytest.raises(ResolutionError) as caught:
        finding(rule_id, {}, _RULE_EXPECT.get(rule_id), dns=dns)
    assert caught.value.question == Question.of("a.example", "MX")


@pytest.mark.parametrize("rule_id", MX_RULES)
def test_every_mx_rule_is_undetermined_outside_the_zones(rule_id):
    with pytest.raises(ResolutionError):
        finding(rule_id, {"a.example": GOOD}, _RULE_EXPECT.get(rule_id), domain="b.example")


def test_the_engine_reports_undetermined_mx_checks_with_what_it_consulted():
    zones = {"a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\nmx1 A 192.0.2.1"}
    policy_domain = domain_policy("MF-MX-003")
    engine = Engine(StaticFactory(source(zones)))
    (check,) = plan(policy_domain)
    with pytest.raises(Undetermined) as caught:
        engine.run(check)
    assert isinstance(caught.value.error, ResolutionError)
    assert caught.value.error.question.name == "mail.outside.test."
    assert any(line.startswith("a.example. MX -> 10 mx1.a.example.") for line in caught.value.consulted)
    assert any("mail.outside.test. A -> outside the loaded zones" in line for line in caught.value.consulted)


def test_the_engine_judges_every_mx_rule_from_one_gathering():
    text = (
        "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n"
        f"    rules: {json.dumps(list(MX_RULES))}\n"
        '    expect: {"mx": {"hosts": ["mx1.a.example", "mx2.a.example"]}}\n'
    )
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    engine = Engine(StaticFactory(source({"a.example": GOOD})))
    results = [engine.run(check) for check in plan(policy_domain)]
    # MF-MX-005, 008 and 009 are not collected: the policy declares no single MX, Microsoft MX or old MX.
    assert [r.check.rule.id for r in results] == [r for r in MX_RULES if r not in _RULE_EXPECT]
    assert all(r.finding.passed for r in results)
    assert len(engine._evidence) == 1


# --- MF-MX-008: MX at Exchange Online, MF-MX-009: old MX gone -------------------------------------

EXO = "@ MX 0 a-example.mail.protection.outlook.com."


def test_mx_008_accepts_the_clouds_endpoints():
    assert finding("MF-MX-008", {"a.example": EXO}, {"mx": {"microsoft": True}}).passed
    new = "@ MX 0 a-example.o-v1.mx.microsoft."
    assert finding("MF-MX-008", {"a.example": new}, {"mx": {"microsoft": True}}).passed


def test_mx_008_fails_for_other_hosts_and_other_clouds():
    found = finding("MF-MX-008", {"a.example": "@ MX 10 mx.filter.test."}, {"mx": {"microsoft": True}})
    assert not found.passed and "mx.filter.test is not an Exchange Online endpoint" in found.summary
    text = "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n    rules: [MF-MX-008]\n    cloud: gcc-high\n"
    text += "    expect: {mx: {microsoft: true}}\n"
    (policy,) = load_policy_text(text, "p.yaml").domains
    evidence = gather(GatherRequest.for_policy(policy), source({"a.example": EXO}))
    result = REGISTRY["MF-MX-008"].check(evidence.view(), CheckContext(policy.name, policy))
    assert not result.passed and "GCC High" in result.summary and "mail.protection.office365.us" in result.summary


def test_mx_008_fails_without_mx_and_is_not_planned_unless_asked():
    assert not finding("MF-MX-008", {"a.example": ""}, {"mx": {"microsoft": True}}).passed
    assert plan(domain_policy("MF-MX-008")) == []


def test_mx_008_is_undetermined_when_mx_fails():
    dns = Servfail(source({"a.example": EXO}), ("a.example", "MX"))
    with pytest.raises(ResolutionError):
        finding("MF-MX-008", {}, {"mx": {"microsoft": True}}, dns=dns)


def test_mx_009_previous_provider_mx_must_be_gone():
    old = {"mx": {"forbid": ["mx.oldmail.test"]}}
    assert finding("MF-MX-009", {"a.example": EXO}, old).passed
    found = finding("MF-MX-009", {"a.example": EXO + "\n@ MX 10 mx.oldmail.test."}, old)
    assert not found.passed and "still publishes MX mx.oldmail.test" in found.summary
    assert plan(domain_policy("MF-MX-009")) == []

"""MX rules MF-MX-001..004, judged on evidence gathered from zone files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mailflow.dns.base import Answer, DnsSource, Question, ResolutionError
from pytest_mailflow.dns.zone import ZoneSource
from pytest_mailflow.engine import Engine, Undetermined
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding
from tests.support.scenario import zone, zone_source

MX_RULES = ("MF-MX-001", "MF-MX-002", "MF-MX-003", "MF-MX-004")


def source(zones: dict[str, str]) -> ZoneSource:
    """Zone files from ``{origin: body}``; names outside them raise ResolutionError (no fallback)."""
    return zone_source({origin: zone(origin, body) for origin, body in zones.items()}, providers=False)


class Servfail:
    """Wraps a source; the listed questions fail as on SERVFAIL or a timeout."""

    def __init__(self, inner: DnsSource, *failing: tuple[str, str]) -> None:
        self.inner = inner
        self.failing = {Question.of(name, rdtype) for name, rdtype in failing}

    def resolve(self, question: Question) -> Answer:
        if question in self.failing:
            raise ResolutionError(question, "SERVFAIL", "test", "servfail source")
        return self.inner.resolve(question)

    def describe(self) -> str:
        return "servfail source"


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


# --- undetermined MX lookups make every MX rule an error -----------------------------------------


@pytest.mark.parametrize("rule_id", MX_RULES)
def test_every_mx_rule_is_undetermined_when_the_mx_lookup_fails(rule_id):
    dns = Servfail(source({"a.example": GOOD}), ("a.example", "MX"))
    with pytest.raises(ResolutionError) as caught:
        finding(rule_id, {}, dns=dns)
    assert caught.value.question == Question.of("a.example", "MX")


@pytest.mark.parametrize("rule_id", MX_RULES)
def test_every_mx_rule_is_undetermined_outside_the_zones(rule_id):
    with pytest.raises(ResolutionError):
        finding(rule_id, {"a.example": GOOD}, domain="b.example")


class _Factory:
    def __init__(self, dns: DnsSource) -> None:
        self.dns = dns

    def source_for(self, domain: str, policy_path: str) -> DnsSource:
        return self.dns

    def describe(self) -> str:
        return "test factory"


def test_the_engine_reports_undetermined_mx_checks_with_what_it_consulted():
    zones = {"a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\nmx1 A 192.0.2.1"}
    policy_domain = domain_policy("MF-MX-003")
    engine = Engine(_Factory(source(zones)))
    (check,) = plan(policy_domain)
    with pytest.raises(Undetermined) as caught:
        engine.run(check)
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
    engine = Engine(_Factory(source({"a.example": GOOD})))
    results = [engine.run(check) for check in plan(policy_domain)]
    assert [r.check.rule.id for r in results] == list(MX_RULES)
    assert all(r.finding.passed for r in results)
    assert len(engine._evidence) == 1

"""DMARC rules MF-DMARC-001..009, judged on evidence gathered from zone files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mailflow.dns.base import DnsSource, Question, ResolutionError
from pytest_mailflow.dns.records import txt_presentation
from pytest_mailflow.engine import Engine
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding, Severity
from tests.support.scenario import Servfail, StaticFactory, source

DMARC_RULES = tuple(f"MF-DMARC-00{n}" for n in range(1, 10))
ALWAYS = ("MF-DMARC-001", "MF-DMARC-002", "MF-DMARC-005", "MF-DMARC-006", "MF-DMARC-008", "MF-DMARC-009")

ORG = "contoso.example"
SUB = "mail.contoso.example"


def domain_policy(rule_id: str, expect: dict[str, Any] | None = None, domain: str = ORG) -> DomainPolicy:
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
    domain: str = ORG,
    dns: DnsSource | None = None,
    param: str | None = None,
) -> Finding:
    policy_domain = domain_policy(rule_id, expect, domain)
    evidence = gather(GatherRequest.for_policy(policy_domain), dns or source(zones))
    checks = [c for c in plan(policy_domain) if param is None or c.param == param]
    (check,) = checks
    assert check.rule.id == rule_id
    return check.rule.check(evidence.view(), CheckContext(policy_domain.name, policy_domain, check.param))


def dmarc(*records: str, extra: str = "") -> str:
    """A contoso.example zone body with these TXT records at _dmarc."""
    return "".join(f"_dmarc TXT {txt_presentation(text)}\n" for text in records) + extra


def org(*records: str, extra: str = "") -> dict[str, str]:
    return {ORG: dmarc(*records, extra=extra)}


GOOD = "v=DMARC1; p=reject; rua=mailto:dmarc@contoso.example"
WILDCARD = {"reports.test": '*._report._dmarc TXT "v=DMARC1"'}


# --- the registry -----------------------------------------------------------------------------------


def test_the_registry_has_these_dmarc_rules():
    assert sorted(r for r in REGISTRY if r.startswith("MF-DMARC-")) == list(DMARC_RULES)


@pytest.mark.parametrize("rule_id", DMARC_RULES)
def test_every_dmarc_rule_is_documented(rule_id):
    rule = REGISTRY[rule_id]
    assert rule.family == "dmarc"
    assert rule.title and rule.rationale and rule.remediation
    assert any("RFC 7489" in ref.title or "Microsoft Learn" in ref.title for ref in rule.references)
    ctx = CheckContext(ORG, domain_policy(rule_id, {"dmarc": {"policy": "reject", "subdomain_policy": "reject"}}), "x")
    assert rule.expectation(ctx)


def test_severities():
    severities = {rule_id: REGISTRY[rule_id].severity for rule_id in DMARC_RULES}
    assert severities == {
        "MF-DMARC-001": Severity.HIGH,
        "MF-DMARC-002": Severity.HIGH,
        "MF-DMARC-003": Severity.HIGH,
        "MF-DMARC-004": Severity.HIGH,
        "MF-DMARC-005": Severity.MEDIUM,
        "MF-DMARC-006": Severity.MEDIUM,
        "MF-DMARC-007": Severity.MEDIUM,
        "MF-DMARC-008": Severity.LOW,
        "MF-DMARC-009": Severity.LOW,
    }


def test_the_microsoft_reference_points_at_the_dmarc_setup_page():
    urls = {ref.url for ref in REGISTRY["MF-DMARC-001"].references}
    assert "https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure" in urls
    assert "https://www.rfc-editor.org/rfc/rfc7489#section-6.6.3" in urls


@pytest.mark.parametrize("rule_id", ALWAYS)
def test_always_applicable_rules_run_once(rule_id):
    assert [c.param for c in plan(domain_policy(rule_id))] == [None]


@pytest.mark.parametrize("rule_id", ["MF-DMARC-003", "MF-DMARC-004", "MF-DMARC-007"])
def test_expectation_rules_do_not_apply_when_nothing_is_declared(rule_id):
    assert plan(domain_policy(rule_id)) == []
    assert plan(domain_policy(rule_id, {"dmarc": {}})) == []


def test_expectation_rules_apply_when_declared():
    assert [c.param for c in plan(domain_policy("MF-DMARC-003", {"dmarc": {"policy": "none"}}))] == [None]
    assert [c.param for c in plan(domain_policy("MF-DMARC-003", {"dmarc": {"pct": 100}}))] == [None]
    assert [c.param for c in plan(domain_policy("MF-DMARC-004", {"dmarc": {"subdomain_policy": "none"}}))] == [None]
    rua = {"dmarc": {"rua": ["mailto:a@contoso.example", "b@reports.test"]}}
    assert [c.param for c in plan(domain_policy("MF-DMARC-007", rua))] == ["mailto:a@contoso.example", "b@reports.test"]


# --- MF-DMARC-001: exactly one record applies --------------------------------------------------------


def test_dmarc_001_passes_with_one_record_at_the_domain():
    result = finding("MF-DMARC-001", org(GOOD))
    assert result.passed
    assert result.summary == "one DMARC record applies, at _dmarc.contoso.example"
    assert result.observed == (f'_dmarc.contoso.example TXT "{GOOD}"',)


def test_dmarc_001_a_subdomain_inherits_the_organisational_record():
    result = finding("MF-DMARC-001", org(GOOD), domain=SUB)
    assert result.passed
    assert result.summary == (
        "mail.contoso.example has no DMARC record of its own; the record of its organisational domain applies: "
        "_dmarc.contoso.example (RFC 7489 §6.6.3)"
    )
    assert result.observed == ("_dmarc.mail.contoso.example TXT: NXDOMAIN", f'_dmarc.contoso.example TXT "{GOOD}"')


def test_dmarc_001_a_subdomain_with_its_own_record_uses_it():
    zones = org(GOOD, extra='_dmarc.mail TXT "v=DMARC1; p=quarantine"\n')
    result = finding("MF-DMARC-001", zones, domain=SUB)
    assert result.passed
    assert result.summary == "one DMARC record applies, at _dmarc.mail.contoso.example"


def test_dmarc_001_unrelated_txt_at_the_subdomain_does_not_stop_inheritance():
    zones = org(GOOD, extra='_dmarc.mail TXT "google-site-verification=abc"\n')
    result = finding("MF-DMARC-001", zones, domain=SUB)
    assert result.passed
    assert "the record of its organisational domain applies" in result.summary


def test_dmarc_001_follows_a_cname_to_a_hosted_record():
    zones = {
        ORG: "_dmarc CNAME contoso._dmarc.provider.test.",
        "provider.test": 'contoso._dmarc TXT "v=DMARC1; p=reject"',
    }
    assert finding("MF-DMARC-001", zones).passed


@pytest.mark.parametrize(
    ("zones", "domain", "words"),
    [
        pytest.param(org(), ORG, "no DMARC record at _dmarc.contoso.example; ", id="nxdomain"),
        pytest.param(
            org(), SUB, "no DMARC record at _dmarc.mail.contoso.example or _dmarc.contoso.example; ", id="subdomain"
        ),
        pytest.param(
            {ORG: '_dmarc TXT "something else"'}, ORG, "no DMARC record at _dmarc.contoso.example", id="other-txt"
        ),
    ],
)
def test_dmarc_001_fails_without_a_record(zones, domain, words):
    result = finding("MF-DMARC-001", zones, domain=domain)
    assert not result.passed
    assert words in result.summary
    assert f"receivers apply no DMARC policy to mail from {domain}" in result.summary


def test_dmarc_001_fails_with_two_records():
    result = finding("MF-DMARC-001", org(GOOD, "v=DMARC1; p=none"))
    assert not result.passed
    assert result.summary == (
        "2 DMARC records at _dmarc.contoso.example; with more than one, receivers apply no DMARC at all "
        "(RFC 7489 §6.6.3): keep exactly one"
    )


def test_dmarc_001_two_records_at_the_subdomain_stop_discovery():
    zones = org(GOOD, extra='_dmarc.mail TXT "v=DMARC1; p=none"\n_dmarc.mail TXT "v=DMARC1; p=reject"\n')
    result = finding("MF-DMARC-001", zones, domain=SUB)
    assert not result.passed
    assert result.summary.startswith("2 DMARC records at _dmarc.mail.contoso.example;")


def test_dmarc_001_two_records_at_the_organisational_domain_leave_the_subdomain_without_dmarc():
    result = finding("MF-DMARC-001", org(GOOD, "v=DMARC1; p=none"), domain=SUB)
    assert not result.passed
    assert result.summary.startswith(
        "2 DMARC records at _dmarc.contoso.example (the organisational domain, which mail.contoso.example would "
        "inherit from)"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v=dmarc1; p=reject", "the version must be exactly 'DMARC1', not 'dmarc1'"),
        ("p=reject; v=DMARC1", "'v=DMARC1' must be the first tag (RFC 7489 §6.3)"),
        ("v=DMARC1 p=reject", "the version must be exactly 'DMARC1', not 'DMARC1 p=reject'"),
    ],
)
def test_dmarc_001_explains_records_that_receivers_ignore(text, reason):
    result = finding("MF-DMARC-001", org(text))
    assert not result.passed
    assert f'the TXT record "{text}" at _dmarc.contoso.example is ignored: {reason}' in result.summary


def test_dmarc_001_points_at_a_record_published_at_the_domain_itself():
    result = finding("MF-DMARC-001", {ORG: '@ TXT "v=DMARC1; p=reject"'})
    assert not result.passed
    assert (
        "a DMARC record is published at contoso.example itself, where receivers do not look; "
        "move it to _dmarc.contoso.example" in result.summary
    )


def test_dmarc_001_is_undetermined_on_servfail():
    dns = Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DMARC-001", {}, dns=dns)
    assert caught.value.question == Question.of("_dmarc.contoso.example", "TXT")


def test_dmarc_001_is_undetermined_when_the_organisational_lookup_fails():
    dns = Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DMARC-001", {}, dns=dns, domain=SUB)
    assert caught.value.question == Question.of("_dmarc.contoso.example", "TXT")


def test_dmarc_001_a_failing_organisational_lookup_does_not_matter_when_the_domain_has_a_record():
    zones = org(GOOD, extra='_dmarc.mail TXT "v=DMARC1; p=reject"\n')
    dns = Servfail(source(zones), ("_dmarc.contoso.example", "TXT"))
    assert finding("MF-DMARC-001", {}, dns=dns, domain=SUB).passed


# --- MF-DMARC-002: the record is valid ---------------------------------------------------------------


def test_dmarc_002_passes_for_a_valid_record():
    result = finding("MF-DMARC-002", org(GOOD + "; sp=quarantine; adkim=s; aspf=r; pct=100; fo=1; ri=86400"))
    assert result.passed
    assert result.summary.startswith("the DMARC record at _dmarc.contoso.example is valid")


def test_dmarc_002_passes_with_notes():
    result = finding("MF-DMARC-002", org(GOOD + "; foo=bar"))
    assert result.passed
    assert result.summary == (
        "the DMARC record at _dmarc.contoso.example is valid (notes: unknown tag 'foo' is ignored by receivers "
        "(RFC 7489 §6.3))"
    )
    assert result.details == ("unknown tag 'foo' is ignored by receivers (RFC 7489 §6.3)",)


def test_dmarc_002_passes_when_there_is_no_single_record():
    result = finding("MF-DMARC-002", org())
    assert result.passed
    assert result.summary == "no single DMARC record to check (see MF-DMARC-001)"


def test_dmarc_002_missing_p_with_a_valid_rua_is_treated_as_none():
    result = finding("MF-DMARC-002", org("v=DMARC1; rua=mailto:dmarc@contoso.example"))
    assert not result.passed
    assert result.summary == (
        "the DMARC record at _dmarc.contoso.example is invalid: the required tag 'p' is missing; receivers act "
        "as if it said p=none, because rua has a valid address (RFC 7489 §6.6.3)"
    )


def test_dmarc_002_invalid_p_without_rua_means_no_dmarc():
    result = finding("MF-DMARC-002", org("v=DMARC1; p=block"))
    assert not result.passed
    assert "p='block' is not one of none, quarantine, reject" in result.summary
    assert "receivers apply no DMARC at all (RFC 7489 §6.6.3)" in result.summary


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=DMARC1; p=reject; pct=150", "pct='150' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=reject; adkim=x", "adkim='x' is not 'r' (relaxed) or 's' (strict)"),
        ("v=DMARC1; p=reject; sp=all", "sp='all' is not one of none, quarantine, reject"),
        ("v=DMARC1; p=reject; fo=9", "fo='9' is not a colon-separated list of 0, 1, d, s"),
        ("v=DMARC1; p=reject; ri=daily", "ri='daily' is not a number of seconds"),
        ("v=DMARC1; p=reject; p=none", "tag 'p' appears more than once"),
    ],
)
def test_dmarc_002_fails_for_invalid_tags(record, words):
    result = finding("MF-DMARC-002", org(record))
    assert not result.passed
    assert words in result.summary


def test_dmarc_002_duplicate_tags_may_make_receivers_discard_the_record():
    result = finding("MF-DMARC-002", org("v=DMARC1; p=reject; p=none"))
    assert "receivers may discard a malformed tag list entirely" in result.summary


def test_dmarc_002_judges_the_inherited_record_and_says_so():
    result = finding("MF-DMARC-002", org("v=DMARC1; p=reject; pct=x"), domain=SUB)
    assert not result.passed
    assert result.summary.startswith(
        "the DMARC record at _dmarc.contoso.example (inherited from the organisational domain) is invalid: "
    )


def test_dmarc_002_is_undetermined_on_servfail():
    with pytest.raises(ResolutionError):
        finding("MF-DMARC-002", {}, dns=Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT")))


# --- MF-DMARC-003: policy and pct --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "expect", "summary"),
    [
        pytest.param(
            GOOD,
            {"policy": "quarantine"},
            "the DMARC record at _dmarc.contoso.example requests p=reject",
            id="stronger",
        ),
        pytest.param(
            GOOD, {"policy": "reject"}, "the DMARC record at _dmarc.contoso.example requests p=reject", id="equal"
        ),
        pytest.param(
            "v=DMARC1; p=none",
            {"policy": "none"},
            "the DMARC record at _dmarc.contoso.example requests p=none",
            id="none",
        ),
        pytest.param(
            "v=DMARC1; p=reject; pct=50",
            {"policy": "quarantine"},
            "the DMARC record at _dmarc.contoso.example requests p=reject; pct=50: reject applies to only 50% of "
            "failing mail; the rest is quarantined instead (RFC 7489 §6.6.4)",
            id="partial-reject-meets-quarantine",
        ),
        pytest.param(
            "v=DMARC1; p=reject; pct=50",
            {"policy": "reject", "pct": 50},
            "the DMARC record at _dmarc.contoso.example requests p=reject; pct=50: reject applies to only 50% of "
            "failing mail; the rest is quarantined instead (RFC 7489 §6.6.4)",
            id="declared-partial-rollout",
        ),
        pytest.param(
            "v=DMARC1; p=quarantine; pct=100",
            {"pct": 100},
            "the DMARC record at _dmarc.contoso.example requests p=quarantine",
            id="pct-only",
        ),
    ],
)
def test_dmarc_003_passes(record, expect, summary):
    result = finding("MF-DMARC-003", org(record), {"dmarc": expect})
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    ("record", "expect", "words"),
    [
        pytest.param(
            "v=DMARC1; p=none",
            {"policy": "quarantine"},
            "requests p=none: weaker than the declared quarantine",
            id="none",
        ),
        pytest.param(
            "v=DMARC1; p=quarantine",
            {"policy": "reject"},
            "requests p=quarantine: weaker than the declared reject",
            id="quarantine",
        ),
        pytest.param(
            "v=DMARC1; p=reject; pct=50",
            {"policy": "reject"},
            "requests p=reject: pct=50: reject applies to only 50% of failing mail; the rest is quarantined instead "
            "(RFC 7489 §6.6.4), so not every failing message gets reject; declare expect.dmarc.pct to accept a "
            "partial rollout",
            id="partial",
        ),
        pytest.param(
            "v=DMARC1; p=quarantine; pct=0",
            {"policy": "quarantine"},
            "pct=0: quarantine applies to only 0% of failing mail",
            id="pct-zero",
        ),
        pytest.param(
            "v=DMARC1; p=reject; pct=25",
            {"policy": "reject", "pct": 50},
            "pct=25 is below the declared 50: the policy applies to only 25% of failing mail",
            id="pct-below-declared",
        ),
        pytest.param(
            "v=DMARC1; p=reject; pct=lots",
            {"policy": "reject"},
            "pct='lots' is not a whole number from 0 to 100 (see MF-DMARC-002)",
            id="pct-invalid",
        ),
        pytest.param(
            "v=DMARC1; rua=mailto:dmarc@contoso.example",
            {"policy": "quarantine"},
            "requests p=none: the record has no valid p but a valid rua address, so receivers act as if it said "
            "p=none (RFC 7489 §6.6.3): weaker than the declared quarantine",
            id="missing-p-fallback",
        ),
        pytest.param(
            "v=DMARC1; p=rejectt",
            {"policy": "none"},
            "requests no DMARC: the record has no valid p and no valid rua address (RFC 7489 §6.6.3); see MF-DMARC-002",
            id="no-dmarc",
        ),
    ],
)
def test_dmarc_003_fails(record, expect, words):
    result = finding("MF-DMARC-003", org(record), {"dmarc": expect})
    assert not result.passed
    assert words in result.summary


def test_dmarc_003_fails_without_a_record():
    result = finding("MF-DMARC-003", org(), {"dmarc": {"policy": "none"}})
    assert not result.passed
    assert result.summary == "no DMARC policy applies to contoso.example (no record; see MF-DMARC-001)"
    result = finding("MF-DMARC-003", org(GOOD, GOOD + "; pct=10"), {"dmarc": {"policy": "none"}})
    assert result.summary == "no DMARC policy applies to contoso.example (2 records; see MF-DMARC-001)"


def test_dmarc_003_an_inheriting_subdomain_gets_the_subdomain_policy():
    zones = org("v=DMARC1; p=reject; sp=none")
    result = finding("MF-DMARC-003", zones, {"dmarc": {"policy": "quarantine"}}, domain=SUB)
    assert not result.passed
    assert result.summary == (
        "mail.contoso.example inherits _dmarc.contoso.example; as a subdomain it gets sp=none: "
        "weaker than the declared quarantine"
    )


def test_dmarc_003_an_inheriting_subdomain_gets_p_without_sp():
    result = finding("MF-DMARC-003", org(GOOD), {"dmarc": {"policy": "reject"}}, domain=SUB)
    assert result.passed
    assert result.summary == (
        "mail.contoso.example inherits _dmarc.contoso.example; as a subdomain it gets p=reject "
        "(no sp, so subdomains get p)"
    )


def test_dmarc_003_a_subdomain_with_its_own_record_gets_its_p():
    zones = org("v=DMARC1; p=none", extra='_dmarc.mail TXT "v=DMARC1; p=reject; sp=none"\n')
    result = finding("MF-DMARC-003", zones, {"dmarc": {"policy": "reject"}}, domain=SUB)
    assert result.passed
    assert result.summary == "the DMARC record at _dmarc.mail.contoso.example requests p=reject"


def test_dmarc_003_is_undetermined_on_servfail():
    dns = Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-DMARC-003", {}, {"dmarc": {"policy": "reject"}}, dns=dns)


# --- MF-DMARC-004: subdomain policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "want", "summary"),
    [
        pytest.param(
            "v=DMARC1; p=reject",
            "reject",
            "subdomains of contoso.example: _dmarc.contoso.example gives p=reject (no sp, so subdomains get p)",
            id="default-p",
        ),
        pytest.param(
            "v=DMARC1; p=none; sp=reject",
            "quarantine",
            "subdomains of contoso.example: _dmarc.contoso.example gives sp=reject",
            id="sp",
        ),
    ],
)
def test_dmarc_004_passes(record, want, summary):
    result = finding("MF-DMARC-004", org(record), {"dmarc": {"subdomain_policy": want}})
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    ("record", "words"),
    [
        pytest.param(
            "v=DMARC1; p=reject; sp=none",
            "_dmarc.contoso.example gives sp=none: weaker than the declared reject",
            id="sp",
        ),
        pytest.param(
            "v=DMARC1; p=quarantine",
            "p=quarantine (no sp, so subdomains get p): weaker than the declared reject",
            id="p",
        ),
        pytest.param(
            "v=DMARC1; p=reject; sp=bad",
            "_dmarc.contoso.example: no DMARC: the record has an invalid sp and no valid rua address",
            id="invalid-sp",
        ),
        pytest.param(
            "v=DMARC1; p=reject; sp=reject; pct=10", "pct=10: reject applies to only 10% of failing mail", id="pct"
        ),
    ],
)
def test_dmarc_004_fails(record, words):
    result = finding("MF-DMARC-004", org(record), {"dmarc": {"subdomain_policy": "reject"}})
    assert not result.passed
    assert words in result.summary


def test_dmarc_004_fails_without_a_record():
    result = finding("MF-DMARC-004", org(), {"dmarc": {"subdomain_policy": "none"}})
    assert not result.passed
    assert result.summary == (
        "subdomains of contoso.example: no single DMARC record at _dmarc.contoso.example, so subdomains get "
        "no DMARC policy"
    )


def test_dmarc_004_an_inheriting_subdomain_is_judged_on_the_organisational_record():
    zones = org("v=DMARC1; p=reject; sp=quarantine")
    result = finding("MF-DMARC-004", zones, {"dmarc": {"subdomain_policy": "quarantine"}}, domain=SUB)
    assert result.passed
    assert result.summary == "subdomains of mail.contoso.example: _dmarc.contoso.example gives sp=quarantine"


def test_dmarc_004_subdomains_of_a_subdomain_with_its_own_record_look_at_the_organisational_domain():
    zones = org("v=DMARC1; p=none", extra='_dmarc.mail TXT "v=DMARC1; p=reject; sp=reject"\n')
    result = finding("MF-DMARC-004", zones, {"dmarc": {"subdomain_policy": "reject"}}, domain=SUB)
    assert not result.passed
    assert result.summary == (
        "subdomains of mail.contoso.example: _dmarc.contoso.example gives p=none (no sp, so subdomains get p): "
        "weaker than the declared reject (receivers following RFC 7489 §6.6.3 look at the organisational domain, "
        "not at _dmarc.mail.contoso.example)"
    )
    assert result.observed == (
        '_dmarc.mail.contoso.example TXT "v=DMARC1; p=reject; sp=reject"',
        '_dmarc.contoso.example TXT "v=DMARC1; p=none"',
    )
    assert result.details == (
        "_dmarc.mail.contoso.example gives sp=reject (receivers that walk the DNS tree (RFC 9989) use the "
        "domain's own record)",
    )


def test_dmarc_004_a_subdomain_with_its_own_record_passes_when_both_views_agree():
    zones = org("v=DMARC1; p=reject", extra='_dmarc.mail TXT "v=DMARC1; p=reject; sp=quarantine"\n')
    result = finding("MF-DMARC-004", zones, {"dmarc": {"subdomain_policy": "quarantine"}}, domain=SUB)
    assert result.passed
    assert "_dmarc.contoso.example gives p=reject" in result.summary
    assert "_dmarc.mail.contoso.example gives sp=quarantine" in result.summary


def test_dmarc_004_is_undetermined_when_the_organisational_record_cannot_be_read():
    zones = org(GOOD, extra='_dmarc.mail TXT "v=DMARC1; p=reject; sp=reject"\n')
    dns = Servfail(source(zones), ("_dmarc.contoso.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DMARC-004", {}, {"dmarc": {"subdomain_policy": "reject"}}, dns=dns, domain=SUB)
    assert caught.value.question == Question.of("_dmarc.contoso.example", "TXT")


# --- MF-DMARC-005: report URIs -----------------------------------------------------------------------


def test_dmarc_005_passes_for_mailto_uris_with_sizes():
    record = (
        "v=DMARC1; p=reject; rua=mailto:a@contoso.example!10m,mailto:b@contoso.example; ruf=mailto:f@contoso.example"
    )
    result = finding("MF-DMARC-005", org(record))
    assert result.passed
    assert result.summary == (
        "every report URI at _dmarc.contoso.example is valid: rua=mailto:a@contoso.example!10m, "
        "rua=mailto:b@contoso.example, ruf=mailto:f@contoso.example"
    )


def test_dmarc_005_notes_other_schemes_and_long_lists():
    record = "v=DMARC1; p=reject; rua=https://reports.test/dmarc,mailto:a@contoso.example,mailto:b@contoso.example"
    result = finding("MF-DMARC-005", org(record))
    assert result.passed
    assert "rua 'https://reports.test/dmarc' is a https: URI; receivers send reports by e-mail only" in result.summary
    assert "rua lists 3 URIs; receivers need send to only two (RFC 7489 §6.2)" in result.summary


def test_dmarc_005_passes_without_report_uris():
    result = finding("MF-DMARC-005", org("v=DMARC1; p=reject"))
    assert result.passed
    assert result.summary == "the DMARC record at _dmarc.contoso.example lists no report URIs (see MF-DMARC-009)"


@pytest.mark.parametrize(
    ("record", "words"),
    [
        pytest.param(
            "v=DMARC1; p=reject; rua=dmarc@contoso.example",
            "rua 'dmarc@contoso.example': missing URI scheme (write 'mailto:address')",
            id="no-scheme",
        ),
        pytest.param("v=DMARC1; p=reject; rua=", "rua is present but lists no URI", id="empty"),
        pytest.param(
            "v=DMARC1; p=reject; ruf=mailto:f@contoso.example!10q",
            "ruf 'mailto:f@contoso.example!10q': '!10q' is not a size limit",
            id="bad-size",
        ),
        pytest.param(
            "v=DMARC1; p=reject; rua=mailto:a@contoso.example,mailto:nobody",
            "rua 'mailto:nobody': 'nobody' is not a mailbox address",
            id="no-mailbox",
        ),
    ],
)
def test_dmarc_005_fails_for_invalid_uris(record, words):
    result = finding("MF-DMARC-005", org(record))
    assert not result.passed
    assert result.summary.startswith("the DMARC record at _dmarc.contoso.example has invalid report URIs: ")
    assert words in result.summary


def test_dmarc_005_passes_when_there_is_no_single_record():
    assert finding("MF-DMARC-005", org()).summary == "no single DMARC record to check (see MF-DMARC-001)"


def test_dmarc_005_is_undetermined_on_servfail():
    with pytest.raises(ResolutionError):
        finding("MF-DMARC-005", {}, dns=Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT")))


# --- MF-DMARC-006: external destinations authorise the domain ------------------------------------------


EXTERNAL = "v=DMARC1; p=reject; rua=mailto:dmarc@reports.test"


def test_dmarc_006_passes_when_every_address_is_inside_the_organisational_domain():
    record = "v=DMARC1; p=reject; rua=mailto:a@contoso.example,mailto:b@reports.contoso.example"
    result = finding("MF-DMARC-006", org(record))
    assert result.passed
    assert result.summary == "no report address outside contoso.example; nothing needs authorising"


def test_dmarc_006_passes_with_an_explicit_authorisation():
    zones = {**org(EXTERNAL), "reports.test": 'contoso.example._report._dmarc TXT "v=DMARC1"'}
    result = finding("MF-DMARC-006", zones)
    assert result.passed
    assert result.summary == "reports.test authorises contoso.example at contoso.example._report._dmarc.reports.test"
    assert '_dmarc.contoso.example._report._dmarc.reports.test TXT "v=DMARC1"' not in result.observed
    assert 'contoso.example._report._dmarc.reports.test TXT "v=DMARC1"' in result.observed


def test_dmarc_006_passes_with_a_wildcard_authorisation():
    result = finding("MF-DMARC-006", {**org(EXTERNAL), **WILDCARD})
    assert result.passed
    assert result.summary == "reports.test authorises contoso.example at contoso.example._report._dmarc.reports.test"


@pytest.mark.parametrize(
    ("reports_zone", "status"),
    [
        pytest.param("", "NXDOMAIN", id="nxdomain"),
        pytest.param(
            'contoso.example._report._dmarc TXT "v=spf1 -all"', "no TXT record starting with v=DMARC1", id="other"
        ),
        pytest.param('other.example._report._dmarc TXT "v=DMARC1"', "NXDOMAIN", id="someone-else"),
    ],
)
def test_dmarc_006_fails_when_the_destination_does_not_authorise(reports_zone, status):
    result = finding("MF-DMARC-006", {**org(EXTERNAL), "reports.test": reports_zone})
    assert not result.passed
    assert result.summary == (
        "external report destinations that receivers ignore: reports.test does not authorise reports for "
        f'contoso.example ({status}), so receivers ignore mailto:dmarc@reports.test: publish TXT "v=DMARC1" at '
        "contoso.example._report._dmarc.reports.test"
    )


def test_dmarc_006_checks_ruf_destinations_too():
    record = "v=DMARC1; p=reject; rua=mailto:a@contoso.example; ruf=mailto:f@forensic.test"
    result = finding("MF-DMARC-006", {**org(record), "forensic.test": ""})
    assert not result.passed
    assert "contoso.example._report._dmarc.forensic.test" in result.summary


def test_dmarc_006_an_inheriting_subdomain_needs_the_organisational_domain_authorised():
    zones = {**org(EXTERNAL), "reports.test": 'contoso.example._report._dmarc TXT "v=DMARC1"'}
    assert finding("MF-DMARC-006", zones, domain=SUB).passed
    zones = {**org(EXTERNAL), "reports.test": 'mail.contoso.example._report._dmarc TXT "v=DMARC1"'}
    result = finding("MF-DMARC-006", zones, domain=SUB)
    assert not result.passed
    assert 'publish TXT "v=DMARC1" at contoso.example._report._dmarc.reports.test' in result.summary


def test_dmarc_006_a_subdomain_with_its_own_record_needs_its_own_name_authorised():
    zones = {
        ORG: dmarc(GOOD, extra=f'_dmarc.mail TXT "{EXTERNAL}"\n'),
        "reports.test": 'contoso.example._report._dmarc TXT "v=DMARC1"',
    }
    result = finding("MF-DMARC-006", zones, domain=SUB)
    assert not result.passed
    assert "mail.contoso.example._report._dmarc.reports.test" in result.summary


def test_dmarc_006_an_override_on_another_host_stops_all_reports():
    zones = {
        **org(EXTERNAL),
        "reports.test": 'contoso.example._report._dmarc TXT "v=DMARC1; rua=mailto:x@elsewhere.test"',
    }
    result = finding("MF-DMARC-006", zones)
    assert not result.passed
    assert (
        "the authorising record at contoso.example._report._dmarc.reports.test overrides rua with "
        "mailto:x@elsewhere.test, on another host: receivers send rua reports to neither address (RFC 7489 §7.1)"
        in result.summary
    )


def test_dmarc_006_an_override_on_the_same_host_is_noted():
    zones = {
        **org(EXTERNAL),
        "reports.test": 'contoso.example._report._dmarc TXT "v=DMARC1; rua=mailto:other@reports.test"',
    }
    result = finding("MF-DMARC-006", zones)
    assert result.passed
    assert result.details == ("reports.test redirects rua reports to mailto:other@reports.test",)


def test_dmarc_006_is_undetermined_when_the_destination_cannot_be_asked():
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DMARC-006", org(EXTERNAL))
    assert caught.value.question == Question.of("contoso.example._report._dmarc.reports.test", "TXT")


def test_dmarc_006_a_known_failure_wins_over_an_unknown_destination():
    record = "v=DMARC1; p=reject; rua=mailto:a@unknown.test,mailto:b@reports.test"
    result = finding("MF-DMARC-006", {**org(record), "reports.test": ""})
    assert not result.passed
    assert "reports.test does not authorise reports" in result.summary


def test_dmarc_006_a_destination_name_too_long_for_dns_cannot_be_authorised():
    host = ".".join(["r" * 60] * 4) + ".test"
    record = f"v=DMARC1; p=reject; rua=mailto:a@{host}"
    result = finding("MF-DMARC-006", org(record))
    assert not result.passed
    assert "is not a valid DNS name" in result.summary
    assert "receivers cannot verify it and ignore the address" in result.summary


def test_dmarc_006_passes_when_there_is_no_single_record():
    assert finding("MF-DMARC-006", org()).passed


# --- MF-DMARC-007: required rua addresses ------------------------------------------------------------


@pytest.mark.parametrize(
    "wanted",
    ["mailto:dmarc@reports.test", "dmarc@reports.test", "MAILTO:DMARC@Reports.Test", "mailto:dmarc@reports.test!1m"],
)
def test_dmarc_007_passes_comparing_without_case_and_size(wanted):
    record = "v=DMARC1; p=reject; rua=mailto:a@contoso.example,mailto:Dmarc@REPORTS.test!10m"
    result = finding("MF-DMARC-007", {**org(record), **WILDCARD}, {"dmarc": {"rua": [wanted]}})
    assert result.passed
    assert result.summary == f"rua at _dmarc.contoso.example lists {wanted}"


def test_dmarc_007_fails_when_the_address_is_missing():
    result = finding("MF-DMARC-007", org(GOOD), {"dmarc": {"rua": ["mailto:dmarc@reports.test"]}})
    assert not result.passed
    assert result.summary == (
        "rua at _dmarc.contoso.example does not list mailto:dmarc@reports.test; it lists mailto:dmarc@contoso.example"
    )


def test_dmarc_007_fails_when_the_address_is_only_under_ruf():
    record = "v=DMARC1; p=reject; ruf=mailto:dmarc@reports.test"
    result = finding("MF-DMARC-007", {**org(record), **WILDCARD}, {"dmarc": {"rua": ["dmarc@reports.test"]}})
    assert not result.passed
    assert result.summary == (
        "rua at _dmarc.contoso.example does not list dmarc@reports.test; it lists nothing (dmarc@reports.test is "
        "under ruf, which is for failure reports, not under rua)"
    )


def test_dmarc_007_runs_once_per_address():
    expect = {"dmarc": {"rua": ["dmarc@contoso.example", "soc@reports.test"]}}
    assert finding("MF-DMARC-007", org(GOOD), expect, param="dmarc@contoso.example").passed
    assert not finding("MF-DMARC-007", org(GOOD), expect, param="soc@reports.test").passed


def test_dmarc_007_an_inheriting_subdomain_uses_the_organisational_rua():
    result = finding("MF-DMARC-007", org(GOOD), {"dmarc": {"rua": ["dmarc@contoso.example"]}}, domain=SUB)
    assert result.passed
    assert "(inherited from the organisational domain)" in result.summary


def test_dmarc_007_fails_without_a_record():
    result = finding("MF-DMARC-007", org(), {"dmarc": {"rua": ["dmarc@contoso.example"]}})
    assert not result.passed
    assert result.summary == (
        "dmarc@contoso.example gets no aggregate reports: no single DMARC record applies (see MF-DMARC-001)"
    )


def test_dmarc_007_is_undetermined_on_servfail():
    dns = Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-DMARC-007", {}, {"dmarc": {"rua": ["dmarc@contoso.example"]}}, dns=dns)


# --- MF-DMARC-008: enforced, not monitoring only -----------------------------------------------------


@pytest.mark.parametrize(
    ("record", "summary"),
    [
        (GOOD, "contoso.example gets p=reject: failing mail is acted on"),
        ("v=DMARC1; p=quarantine; pct=10", "contoso.example gets p=quarantine: failing mail is acted on"),
        ("v=DMARC1; p=reject; pct=0", "contoso.example gets p=reject: failing mail is acted on"),
    ],
)
def test_dmarc_008_passes_when_enforced(record, summary):
    result = finding("MF-DMARC-008", org(record))
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    ("record", "domain", "words"),
    [
        pytest.param("v=DMARC1; p=none; rua=mailto:a@contoso.example", ORG, "contoso.example gets p=none", id="none"),
        pytest.param("v=DMARC1; p=quarantine; pct=0", ORG, "contoso.example gets p=quarantine, pct=0", id="pct-0"),
        pytest.param("v=DMARC1; p=reject; sp=none", ORG, "its subdomains get sp=none", id="sp-none"),
        pytest.param(
            "v=DMARC1; p=reject; sp=none",
            SUB,
            "mail.contoso.example (as a subdomain of contoso.example) gets sp=none",
            id="inherited-sp-none",
        ),
        pytest.param(
            "v=DMARC1; rua=mailto:a@contoso.example",
            ORG,
            "contoso.example gets p=none: the record has no valid p",
            id="fallback",
        ),
    ],
)
def test_dmarc_008_fails_when_monitoring_only(record, domain, words):
    result = finding("MF-DMARC-008", org(record), domain=domain)
    assert not result.passed
    assert result.summary.startswith("DMARC is monitoring only: ")
    assert words in result.summary
    assert "Microsoft recommends moving to p=quarantine and then p=reject" in result.summary


def test_dmarc_008_an_invalid_sp_with_rua_makes_everything_p_none():
    result = finding("MF-DMARC-008", org("v=DMARC1; p=reject; sp=never; rua=mailto:a@contoso.example"))
    assert not result.passed
    assert "contoso.example gets p=none: the record has an invalid sp but a valid rua address" in result.summary


def test_dmarc_008_passes_when_there_is_no_single_record():
    assert finding("MF-DMARC-008", org()).summary == "no single DMARC record to check (see MF-DMARC-001)"


def test_dmarc_008_is_undetermined_on_servfail():
    with pytest.raises(ResolutionError):
        finding("MF-DMARC-008", {}, dns=Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT")))


# --- MF-DMARC-009: aggregate reports requested -------------------------------------------------------


def test_dmarc_009_passes_with_rua():
    result = finding("MF-DMARC-009", org(GOOD))
    assert result.passed
    assert result.summary == "aggregate reports for contoso.example go to mailto:dmarc@contoso.example"


def test_dmarc_009_notes_that_microsoft_365_sends_no_ruf_reports():
    result = finding("MF-DMARC-009", org(GOOD + "; ruf=mailto:f@contoso.example"))
    assert result.passed
    assert "Microsoft 365 sends no failure (ruf) reports" in result.summary


@pytest.mark.parametrize(
    ("record", "words"),
    [
        pytest.param("v=DMARC1; p=reject", "has no rua tag", id="no-rua"),
        pytest.param(
            "v=DMARC1; p=reject; rua=https://reports.test/x", "has no usable mailto: address in rua", id="https-only"
        ),
        pytest.param(
            "v=DMARC1; p=reject; ruf=mailto:f@contoso.example",
            "ruf alone does not make up for it: Microsoft 365 sends no failure (ruf) reports",
            id="ruf-only",
        ),
    ],
)
def test_dmarc_009_fails_without_rua(record, words):
    result = finding("MF-DMARC-009", org(record))
    assert not result.passed
    assert result.summary.startswith("the DMARC record at _dmarc.contoso.example ")
    assert words in result.summary


def test_dmarc_009_passes_when_there_is_no_single_record():
    assert finding("MF-DMARC-009", org()).passed


def test_dmarc_009_is_undetermined_on_servfail():
    with pytest.raises(ResolutionError):
        finding("MF-DMARC-009", {}, dns=Servfail(source(org(GOOD)), ("_dmarc.contoso.example", "TXT")))


# --- every rule, one gathering -----------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", ALWAYS)
def test_every_always_applicable_rule_is_undetermined_outside_the_zones(rule_id):
    with pytest.raises(ResolutionError):
        finding(rule_id, org(GOOD), domain="fabrikam.example")


def test_gather_fetches_everything_the_rules_read():
    zones = {
        ORG: dmarc(GOOD, extra=f'_dmarc.mail TXT "{EXTERNAL}"\n'),
        **WILDCARD,
    }
    policy_domain = domain_policy("MF-DMARC-001", domain=SUB)
    evidence = gather(GatherRequest.for_policy(policy_domain), source(zones))
    asked = set(evidence.answers)
    assert Question.of("_dmarc.mail.contoso.example", "TXT") in asked
    assert Question.of("_dmarc.contoso.example", "TXT") in asked  # for the subdomain policy (MF-DMARC-004)
    assert Question.of("mail.contoso.example._report._dmarc.reports.test", "TXT") in asked


def test_the_engine_judges_every_dmarc_rule_from_one_gathering():
    expect = {
        "dmarc": {
            "policy": "reject",
            "subdomain_policy": "reject",
            "pct": 100,
            "rua": ["dmarc@contoso.example", "mailto:agg@reports.test"],
        }
    }
    text = (
        "mailflow: 1\ndomains:\n  contoso.example:\n    scenario: custom\n"
        f"    rules: {json.dumps(list(DMARC_RULES))}\n"
        f"    expect: {json.dumps(expect)}\n"
    )
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    record = "v=DMARC1; p=reject; rua=mailto:dmarc@contoso.example,mailto:agg@reports.test!10m"
    engine = Engine(StaticFactory(source({**org(record), **WILDCARD})))
    results = [engine.run(check) for check in plan(policy_domain)]
    assert [r.check.name for r in results] == [
        "MF-DMARC-001",
        "MF-DMARC-002",
        "MF-DMARC-003",
        "MF-DMARC-004",
        "MF-DMARC-005",
        "MF-DMARC-006",
        "MF-DMARC-007[dmarc@contoso.example]",
        "MF-DMARC-007[mailto:agg@reports.test]",
        "MF-DMARC-008",
        "MF-DMARC-009",
    ]
    assert all(r.finding.passed for r in results), [r.finding.summary for r in results if not r.finding.passed]
    assert len(engine._evidence) == 1

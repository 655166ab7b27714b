"""Transport-security rules MF-MTASTS-*, MF-TLSRPT-*, MF-DANE-*, judged on evidence gathered from zone files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mailflow.dns.base import DnsSource, Question, ResolutionError
from pytest_mailflow.engine import Engine
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.render import failure_text
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding, Severity
from tests.support.scenario import Servfail, StaticFactory, source

TRANSPORT_RULES = ("MF-DANE-001", "MF-DANE-002", "MF-MTASTS-001", "MF-MTASTS-002", "MF-TLSRPT-001", "MF-TLSRPT-002")
ALWAYS = ("MF-DANE-001", "MF-MTASTS-001", "MF-TLSRPT-001")
WHEN_REQUIRED = {"MF-MTASTS-002": "mta_sts", "MF-TLSRPT-002": "tls_rpt", "MF-DANE-002": "dane"}
SHA256 = "0123456789abcdef" * 4
DNSSEC_NOTE_START = "DNSSEC: not validated by pytest-mailflow"


def domain_policy(rule_id: str, expect: dict[str, Any] | None = None, domain: str = "a.example") -> DomainPolicy:
    text = f"mailflow: 1\ndomains:\n  {domain}:\n    scenario: custom\n    rules: [{rule_id}]\n"
    if expect is not None:
        text += f"    expect: {json.dumps(expect)}\n"
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    return policy_domain


def required(rule_id: str) -> dict[str, Any]:
    return {WHEN_REQUIRED[rule_id]: {"required": True}}


def finding(
    rule_id: str,
    zones: dict[str, str],
    expect: dict[str, Any] | None = None,
    *,
    domain: str = "a.example",
    dns: DnsSource | None = None,
) -> Finding:
    if expect is None and rule_id in WHEN_REQUIRED:
        expect = required(rule_id)
    policy_domain = domain_policy(rule_id, expect, domain)
    evidence = gather(GatherRequest.for_policy(policy_domain), dns or source(zones))
    (check,) = plan(policy_domain)
    assert check.rule.id == rule_id
    return check.rule.check(evidence.view(), CheckContext(policy_domain.name, policy_domain, check.param))


MX = "@ MX 10 mx1.a.example.\n@ MX 20 mx2.a.example.\nmx1 A 192.0.2.1\nmx2 A 192.0.2.2\n"
STS = '_mta-sts TXT "v=STSv1; id=20240601T120000;"\n'
TLSRPT = '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls-reports@a.example"\n'
TLSA_BOTH = f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n_25._tcp.mx2 TLSA 2 0 1 {SHA256}\n"
FULL = MX + STS + TLSRPT + TLSA_BOTH


# --- the registry and when each rule is collected ---------------------------------------------------


POLICY_FILE_RULES = ("MF-MTASTS-003", "MF-MTASTS-004", "MF-MTASTS-005")  # tests/test_rules_mtasts_policy.py


def test_the_registry_has_these_transport_rules():
    ids = sorted(r for r in REGISTRY if r.split("-")[1] in {"MTASTS", "TLSRPT", "DANE"})
    assert ids == sorted(TRANSPORT_RULES + POLICY_FILE_RULES)
    assert all(REGISTRY[r].needs_fetch for r in POLICY_FILE_RULES)


@pytest.mark.parametrize(
    ("rule_id", "severity", "keys"),
    [
        ("MF-MTASTS-001", Severity.MEDIUM, ()),
        ("MF-MTASTS-002", Severity.HIGH, ("mta_sts", "required")),
        ("MF-TLSRPT-001", Severity.LOW, ()),
        ("MF-TLSRPT-002", Severity.MEDIUM, ("tls_rpt", "required")),
        ("MF-DANE-001", Severity.MEDIUM, ()),
        ("MF-DANE-002", Severity.HIGH, ("dane", "required")),
    ],
)
def test_rule_metadata(rule_id, severity, keys):
    rule = REGISTRY[rule_id]
    assert rule.severity == severity
    assert rule.expect_keys == keys
    assert rule.family == rule_id.split("-")[1].lower()
    assert rule.rationale and rule.remediation and rule.references
    assert not rule.needs_fetch
    ctx = CheckContext("a.example", domain_policy(rule_id, required(rule_id) if rule_id in WHEN_REQUIRED else None))
    assert rule.expectation(ctx)


def test_dane_rules_state_the_dnssec_prerequisite():
    for rule_id in ("MF-DANE-001", "MF-DANE-002"):
        rule = REGISTRY[rule_id]
        assert "DNSSEC" in rule.rationale and "DNSSEC" in rule.remediation
        assert "does not" in rule.rationale  # the project does not validate DNSSEC, and says so


@pytest.mark.parametrize("rule_id", ALWAYS)
def test_record_rules_are_always_collected(rule_id):
    assert [c.param for c in plan(domain_policy(rule_id))] == [None]


@pytest.mark.parametrize("rule_id", sorted(WHEN_REQUIRED))
def test_requirement_rules_are_collected_only_when_required(rule_id):
    assert plan(domain_policy(rule_id)) == []
    assert plan(domain_policy(rule_id, {WHEN_REQUIRED[rule_id]: {"required": False}})) == []
    assert [c.param for c in plan(domain_policy(rule_id, required(rule_id)))] == [None]


# --- MF-MTASTS-001: the _mta-sts record is valid ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "record_id"),
    [
        pytest.param(STS, "20240601T120000", id="plain"),
        pytest.param('_mta-sts TXT "v=STSv1; " "id=abc123"', "abc123", id="split-strings"),
        pytest.param('_mta-sts TXT "v=STSv1; id=abc123; ext=1"\n_mta-sts TXT "unrelated"', "abc123", id="extension"),
    ],
)
def test_mtasts_001_passes_for_one_valid_record(body, record_id):
    result = finding("MF-MTASTS-001", {"a.example": MX + body})
    assert result.passed
    assert result.summary == f"publishes one valid MTA-STS record (id {record_id})"


def test_mtasts_001_follows_a_cname_to_a_hosted_record():
    zones = {
        "a.example": MX + "_mta-sts CNAME a-example._mta-sts.sts.test.",
        "sts.test": '_mta-sts TXT "v=STSv1; id=hosted1"\na-example._mta-sts TXT "v=STSv1; id=hosted2"',
    }
    result = finding("MF-MTASTS-001", zones)
    assert result.passed
    assert result.summary == "publishes one valid MTA-STS record (id hosted2)"


def test_mtasts_001_notes_near_misses_beside_a_valid_record():
    body = STS + '_mta-sts TXT "V=STSv1; id=old"'
    result = finding("MF-MTASTS-001", {"a.example": MX + body})
    assert result.passed
    assert "note: 'V=STSv1; id=old' is ignored by senders" in result.summary


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("", "NXDOMAIN", id="nxdomain"),
        pytest.param("_mta-sts A 192.0.2.9", "NODATA", id="nodata"),
        pytest.param('_mta-sts TXT "something else"', "no 'v=STSv1' record", id="unrelated-txt"),
    ],
)
def test_mtasts_001_passes_when_not_published(body, status):
    result = finding("MF-MTASTS-001", {"a.example": MX + body})
    assert result.passed
    assert result.summary == f"publishes no MTA-STS record ({status}): nothing to check"


def test_mtasts_001_passes_when_not_published_but_points_at_the_requirement_rule():
    result = finding("MF-MTASTS-001", {"a.example": MX}, {"mta_sts": {"required": True}})
    assert result.passed
    assert result.summary.endswith("; the policy requires one (MF-MTASTS-002 reports it)")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            '_mta-sts TXT "v=STSv1;"',
            "the MTA-STS record is invalid, so senders assume there is no policy: has no 'id' field",
            id="no-id",
        ),
        pytest.param('_mta-sts TXT "v=STSv1; id=2024-06-01"', "must be 1 to 32 letters and digits", id="bad-id"),
        pytest.param(
            STS + '_mta-sts TXT "v=STSv1; id=other"', "publishes 2 MTA-STS records; senders need exactly one", id="two"
        ),
        pytest.param(
            '_mta-sts TXT "v=STSv1 id=abc"', "the MTA-STS record is not recognised by senders", id="missing-semicolon"
        ),
        pytest.param('_mta-sts TXT "V=STSv1; id=abc"', "uses the wrong letter case", id="wrong-case"),
        pytest.param('_mta-sts TXT " v=STSv1; id=abc"', "starts with a space", id="leading-space"),
    ],
)
def test_mtasts_001_fails_for_a_broken_record(body, words):
    result = finding("MF-MTASTS-001", {"a.example": MX + body})
    assert not result.passed
    assert words in result.summary
    assert any(line.startswith('_mta-sts.a.example TXT: "') for line in result.observed)


def test_mtasts_001_is_undetermined_on_servfail():
    dns = Servfail(source({"a.example": MX + STS}), ("_mta-sts.a.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-MTASTS-001", {}, dns=dns)
    assert caught.value.question == Question.of("_mta-sts.a.example", "TXT")


def test_mtasts_001_is_undetermined_outside_the_zones():
    with pytest.raises(ResolutionError):
        finding("MF-MTASTS-001", {"a.example": FULL}, domain="b.example")


# --- MF-MTASTS-002: MTA-STS published as required -----------------------------------------------------


def test_mtasts_002_passes_with_a_valid_record():
    result = finding("MF-MTASTS-002", {"a.example": FULL})
    assert result.passed
    assert result.summary.startswith("publishes a valid MTA-STS record (id 20240601T120000), as the policy requires")
    assert "https://mta-sts.a.example/.well-known/mta-sts.txt" in result.summary


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param("", "publishes no MTA-STS record (NXDOMAIN), but the policy requires MTA-STS", id="nxdomain"),
        pytest.param('_mta-sts TXT "hello"', "publishes no MTA-STS record (no 'v=STSv1' record)", id="unrelated"),
        pytest.param(
            '_mta-sts TXT "v=STSv1;"',
            "publishes no usable MTA-STS record, but the policy requires MTA-STS: the MTA-STS record is invalid",
            id="invalid",
        ),
        pytest.param(
            '_mta-sts TXT "v=STSv1"',
            "the MTA-STS record is not recognised by senders, so they assume there is no policy: has no 'id' field",
            id="bare-version",
        ),
        pytest.param(STS + STS.replace("20240601T120000", "x1"), "publishes 2 MTA-STS records", id="two"),
    ],
)
def test_mtasts_002_fails_without_a_usable_record(body, words):
    result = finding("MF-MTASTS-002", {"a.example": MX + body})
    assert not result.passed
    assert words in result.summary


def test_mtasts_002_is_undetermined_on_servfail():
    dns = Servfail(source({"a.example": FULL}), ("_mta-sts.a.example", "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-MTASTS-002", {}, dns=dns)


# --- MF-TLSRPT-001: the _smtp._tls record is valid ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "destinations"),
    [
        pytest.param(TLSRPT, "mailto:tls-reports@a.example", id="mailto"),
        pytest.param(
            '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@a.example,https://tlsrpt.vendor.test/v1"',
            "mailto:tls@a.example, https://tlsrpt.vendor.test/v1",
            id="two-uris",
        ),
    ],
)
def test_tlsrpt_001_passes_for_one_valid_record(body, destinations):
    result = finding("MF-TLSRPT-001", {"a.example": MX + body})
    assert result.passed
    assert result.summary == f"publishes one valid TLS-RPT record; reports go to {destinations}"


def test_tlsrpt_001_passes_with_a_note_for_an_unusable_uri():
    body = '_smtp._tls TXT "v=TLSRPTv1; rua=http://tlsrpt.vendor.test/,mailto:tls@a.example"'
    result = finding("MF-TLSRPT-001", {"a.example": MX + body})
    assert result.passed
    assert "reports go to mailto:tls@a.example (note: ignored: 'http://tlsrpt.vendor.test/'" in result.summary


def test_tlsrpt_001_passes_when_not_published():
    result = finding("MF-TLSRPT-001", {"a.example": MX})
    assert result.passed
    assert result.summary == "publishes no TLS-RPT record (NXDOMAIN): nothing to check"
    required_too = finding("MF-TLSRPT-001", {"a.example": MX}, {"tls_rpt": {"required": True}})
    assert required_too.passed
    assert "MF-TLSRPT-002 reports it" in required_too.summary


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            '_smtp._tls TXT "v=TLSRPTv1;"',
            "the TLS-RPT record is invalid, so senders send no TLS reports: has no 'rua' field",
            id="no-rua",
        ),
        pytest.param(
            '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@a.example!10m"', "'!' must be percent-encoded", id="size-suffix"
        ),
        pytest.param('_smtp._tls TXT "v=TLSRPTv1; rua=tls@a.example"', "has no scheme", id="no-scheme"),
        pytest.param(
            '_smtp._tls TXT "v=TLSRPTv1; rua=http://tlsrpt.vendor.test/"',
            "no 'rua' URI can receive reports",
            id="http-only",
        ),
        pytest.param(
            TLSRPT + '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:other@a.example"', "publishes 2 TLS-RPT records", id="two"
        ),
        pytest.param(
            '_smtp._tls TXT "v=TLSRPTv1 rua=mailto:tls@a.example"',
            "the TLS-RPT record is not recognised by senders",
            id="missing-semicolon",
        ),
    ],
)
def test_tlsrpt_001_fails_for_a_broken_record(body, words):
    result = finding("MF-TLSRPT-001", {"a.example": MX + body})
    assert not result.passed
    assert words in result.summary


def test_tlsrpt_001_is_undetermined_on_servfail():
    dns = Servfail(source({"a.example": FULL}), ("_smtp._tls.a.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-TLSRPT-001", {}, dns=dns)
    assert caught.value.question == Question.of("_smtp._tls.a.example", "TXT")


# --- MF-TLSRPT-002: TLS-RPT published as required ----------------------------------------------------


def test_tlsrpt_002_passes_with_a_valid_record():
    result = finding("MF-TLSRPT-002", {"a.example": FULL})
    assert result.passed
    assert result.summary == (
        "publishes a valid TLS-RPT record, as the policy requires; reports go to mailto:tls-reports@a.example"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param("", "publishes no TLS-RPT record (NXDOMAIN), but the policy requires TLS reporting", id="absent"),
        pytest.param('_smtp._tls TXT "v=TLSRPTv1; rua="', "publishes no usable TLS-RPT record", id="empty-rua"),
    ],
)
def test_tlsrpt_002_fails_without_a_usable_record(body, words):
    result = finding("MF-TLSRPT-002", {"a.example": MX + body})
    assert not result.passed
    assert words in result.summary


def test_tlsrpt_002_is_undetermined_on_servfail():
    dns = Servfail(source({"a.example": FULL}), ("_smtp._tls.a.example", "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-TLSRPT-002", {}, dns=dns)


# --- MF-DANE-001: TLSA usages DANE-TA(2) / DANE-EE(3) only ---------------------------------------------


def test_dane_001_passes_for_dane_usages_and_states_dnssec_is_not_validated():
    result = finding("MF-DANE-001", {"a.example": FULL})
    assert result.passed
    assert result.summary == (
        "every TLSA record of mx1.a.example, mx2.a.example uses DANE-TA(2) or DANE-EE(3) (DNSSEC not validated)"
    )
    assert f"_25._tcp.mx1.a.example TLSA 3 1 1 {SHA256}" in result.observed
    assert result.observed[-1].startswith(DNSSEC_NOTE_START)


def test_dane_001_passes_when_only_some_hosts_publish_tlsa():
    result = finding("MF-DANE-001", {"a.example": MX + f"_25._tcp.mx2 TLSA 3 1 1 {SHA256}"})
    assert result.passed
    assert "every TLSA record of mx2.a.example uses" in result.summary


@pytest.mark.parametrize(
    ("zones", "summary"),
    [
        pytest.param({"a.example": MX}, "no MX host publishes TLSA records: nothing to check", id="no-tlsa"),
        pytest.param(
            {"a.example": "@ MX 0 ."}, "publishes a null MX (it accepts no mail): no MX host to check", id="null-mx"
        ),
        pytest.param(
            {"a.example": "@ A 192.0.2.1"}, "publishes no MX records (NODATA): no MX host to check", id="no-mx"
        ),
    ],
)
def test_dane_001_has_nothing_to_check(zones, summary):
    result = finding("MF-DANE-001", zones)
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    ("tlsa", "words"),
    [
        pytest.param(
            f"_25._tcp.mx1 TLSA 1 1 1 {SHA256}",
            "mx1.a.example: TLSA 1 1 1 0123456789abcdef… (PKIX-EE(1), SPKI(1), SHA2-256(1)) uses PKIX-EE(1), which is not to be used for SMTP (RFC 7672 §3.1.3)",
            id="pkix-ee",
        ),
        pytest.param(
            f"_25._tcp.mx2 TLSA 0 0 1 {SHA256}",
            "mx2.a.example: TLSA 0 0 1 0123456789abcdef… (PKIX-TA(0), Cert(0), SHA2-256(1)) uses PKIX-TA(0)",
            id="pkix-ta",
        ),
        pytest.param(f"_25._tcp.mx1 TLSA 4 1 1 {SHA256}", "certificate usage 4 is not assigned", id="unassigned-usage"),
        pytest.param(f"_25._tcp.mx1 TLSA 3 5 1 {SHA256}", "selector 5 is not assigned", id="unassigned-selector"),
    ],
)
def test_dane_001_fails_for_records_smtp_cannot_use(tlsa, words):
    body = MX + f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n_25._tcp.mx2 TLSA 3 1 1 {SHA256}\n" + tlsa
    result = finding("MF-DANE-001", {"a.example": body})
    assert not result.passed
    assert result.summary.startswith("TLSA records not usable for SMTP: ")
    assert words in result.summary
    assert result.observed[-1].startswith(DNSSEC_NOTE_START)


def test_dane_001_reports_every_unusable_record():
    body = MX + f"_25._tcp.mx1 TLSA 0 0 1 {SHA256}\n_25._tcp.mx2 TLSA 1 1 1 {SHA256}\n"
    result = finding("MF-DANE-001", {"a.example": body})
    assert not result.passed
    assert "mx1.a.example: TLSA 0 0 1" in result.summary and "mx2.a.example: TLSA 1 1 1" in result.summary


def test_dane_001_is_undetermined_when_the_mx_lookup_fails():
    dns = Servfail(source({"a.example": FULL}), ("a.example", "MX"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DANE-001", {}, dns=dns)
    assert caught.value.question == Question.of("a.example", "MX")


def test_dane_001_is_undetermined_when_a_tlsa_lookup_fails():
    dns = Servfail(source({"a.example": FULL}), ("_25._tcp.mx2.a.example", "TLSA"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DANE-001", {}, dns=dns)
    assert caught.value.question == Question.of("_25._tcp.mx2.a.example", "TLSA")


def test_dane_001_is_undetermined_for_an_mx_host_outside_the_zones():
    zones = {"a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\nmx1 A 192.0.2.1\n" + TLSA_BOTH}
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DANE-001", zones)
    assert caught.value.question == Question.of("_25._tcp.mail.outside.test", "TLSA")


def test_dane_001_a_known_unusable_record_wins_over_an_unknown_host():
    zones = {"a.example": f"@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\n_25._tcp.mx1 TLSA 1 1 1 {SHA256}"}
    result = finding("MF-DANE-001", zones)
    assert not result.passed
    assert "uses PKIX-EE(1)" in result.summary


# --- MF-DANE-002: every MX host publishes TLSA when required ----------------------------------------


def test_dane_002_passes_when_every_mx_host_publishes_tlsa():
    result = finding("MF-DANE-002", {"a.example": FULL})
    assert result.passed
    assert result.summary == "every MX host publishes TLSA records: mx1.a.example, mx2.a.example (DNSSEC not validated)"
    assert result.observed[-1].startswith(DNSSEC_NOTE_START)


def test_dane_002_follows_a_cname_at_the_tlsa_name():
    body = MX + f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n_25._tcp.mx2 CNAME _25._tcp.mx1.a.example."
    assert finding("MF-DANE-002", {"a.example": body}).passed


@pytest.mark.parametrize(
    ("zones", "summary"),
    [
        pytest.param(
            {"a.example": "@ MX 0 ."}, "publishes a null MX (it accepts no mail): no MX host to check", id="null-mx"
        ),
        pytest.param(
            {"a.example": "@ A 192.0.2.1"}, "publishes no MX records (NODATA): no MX host to check", id="no-mx"
        ),
    ],
)
def test_dane_002_has_nothing_to_check_without_mx_hosts(zones, summary):
    result = finding("MF-DANE-002", zones)
    assert result.passed
    assert result.summary == summary


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        pytest.param(
            MX + f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}",
            "MX hosts without TLSA records: mx2.a.example (_25._tcp.mx2.a.example TLSA: NXDOMAIN)",
            id="one-missing",
        ),
        pytest.param(
            MX + '_25._tcp.mx1 TXT "not a tlsa"\n_25._tcp.mx2 TXT "x"',
            "MX hosts without TLSA records: mx1.a.example (_25._tcp.mx1.a.example TLSA: NODATA), "
            "mx2.a.example (_25._tcp.mx2.a.example TLSA: NODATA)",
            id="all-missing",
        ),
    ],
)
def test_dane_002_fails_when_an_mx_host_has_no_tlsa(body, summary):
    result = finding("MF-DANE-002", {"a.example": body})
    assert not result.passed
    assert result.summary == summary
    assert result.observed[-1].startswith(DNSSEC_NOTE_START)
    assert result.details == ()


def test_dane_002_is_undetermined_when_a_tlsa_lookup_fails():
    dns = Servfail(source({"a.example": FULL}), ("_25._tcp.mx1.a.example", "TLSA"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DANE-002", {}, dns=dns)
    assert caught.value.cause == "SERVFAIL"


def test_dane_002_is_undetermined_when_the_mx_lookup_fails():
    dns = Servfail(source({"a.example": FULL}), ("a.example", "MX"))
    with pytest.raises(ResolutionError):
        finding("MF-DANE-002", {}, dns=dns)


def test_dane_002_a_known_missing_host_wins_over_an_unknown_host():
    zones = {"a.example": "@ MX 10 mx1.a.example.\n@ MX 20 mail.outside.test.\nmx1 A 192.0.2.1"}
    result = finding("MF-DANE-002", zones)
    assert not result.passed
    assert result.summary == "MX hosts without TLSA records: mx1.a.example (_25._tcp.mx1.a.example TLSA: NXDOMAIN)"


# --- through the engine and the failure text -------------------------------------------------------


def _all_rules_policy() -> DomainPolicy:
    text = (
        "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n"
        f"    rules: {json.dumps(list(TRANSPORT_RULES))}\n"
        '    expect: {"mta_sts": {"required": true}, "tls_rpt": {"required": true}, "dane": {"required": true}}\n'
    )
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    return policy_domain


def test_the_engine_judges_every_transport_rule_from_one_gathering():
    engine = Engine(StaticFactory(source({"a.example": FULL})))
    results = [engine.run(check) for check in plan(_all_rules_policy())]
    assert [r.check.rule.id for r in results] == list(TRANSPORT_RULES)
    assert all(r.finding.passed for r in results), [r.finding.summary for r in results if not r.finding.passed]
    assert len(engine._evidence) == 1


def test_the_failure_text_says_dnssec_is_not_validated():
    engine = Engine(StaticFactory(source({"a.example": MX + f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}"})))
    (check,) = [c for c in plan(_all_rules_policy()) if c.rule.id == "MF-DANE-002"]
    text = failure_text(engine.run(check))
    assert text.startswith("MF-DANE-002 [high] a.example: MX hosts without TLSA records: mx2.a.example")
    assert DNSSEC_NOTE_START in text
    assert "expected:" in text and "expect.dane.required: true" in text
    assert "p.yaml:" in text

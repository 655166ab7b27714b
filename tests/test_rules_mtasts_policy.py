"""MF-MTASTS-003..005: the fetched MTA-STS policy file (only planned with --mailflow-fetch-mta-sts)."""

from __future__ import annotations

import pytest

from pytest_mailflow.dns.base import Answer, Question, ResolutionError
from pytest_mailflow.dns.https import FetchError, HttpsResult, policy_url
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding
from tests.support.scenario import zone, zone_source

URL = policy_url("contoso.example")
GOOD = "version: STSv1\nmode: enforce\nmx: mail.contoso.example\nmx: *.backup.contoso.example\nmax_age: 604800\n"
ZONE = zone(
    "contoso.example",
    '_mta-sts TXT "v=STSv1; id=20261127"\n@ MX 10 mail.contoso.example.\n@ MX 20 mx1.backup.contoso.example.\n'
    "mail A 192.0.2.1\nmx1.backup A 192.0.2.2",
)


class WithFetch:
    """A zone source that also answers the policy URL (or fails it)."""

    def __init__(self, result: HttpsResult | FetchError, zone_text: str = ZONE) -> None:
        self.zones = zone_source({"contoso.example": zone_text}, providers=False)
        self.result = result

    def resolve(self, question: Question) -> Answer:
        return self.zones.resolve(question)

    def fetch(self, url: str) -> HttpsResult:
        assert url == URL
        if isinstance(self.result, FetchError):
            raise self.result
        return self.result

    def describe(self) -> str:
        return "test zones"


def finding(rule_id: str, body: str | HttpsResult | FetchError, *, modes: str = "", zone_text: str = ZONE) -> Finding:
    expect = f"    expect: {{mta_sts: {{mode: [{modes}]}}}}\n" if modes else ""
    policy = load_policy_text(f"mailflow: 1\ndomains:\n  contoso.example:\n{expect}", "p.yaml").domains[0]
    result = body if not isinstance(body, str) else HttpsResult(URL, 200, "text/plain", body, "test")
    evidence = gather(GatherRequest.for_policy(policy, fetch_mta_sts=True), WithFetch(result, zone_text))
    return REGISTRY[rule_id].check(evidence.view(), CheckContext(policy.name, policy))


def test_policy_rules_are_planned_only_when_fetching() -> None:
    policy = load_policy_text("mailflow: 1\ndomains:\n  contoso.example: {}\n", "p.yaml").domains[0]
    ids = {check.rule.id for check in plan(policy)}
    assert not {"MF-MTASTS-003", "MF-MTASTS-004", "MF-MTASTS-005"} & ids
    ids = {check.rule.id for check in plan(policy, fetch_mta_sts=True)}
    assert {"MF-MTASTS-003", "MF-MTASTS-004", "MF-MTASTS-005"} <= ids


def test_a_valid_policy_passes_all_three() -> None:
    for rule_id in ("MF-MTASTS-003", "MF-MTASTS-004", "MF-MTASTS-005"):
        assert finding(rule_id, GOOD).passed, rule_id


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (HttpsResult(URL, 404, "text/plain", "", "t"), "HTTP 404"),
        (HttpsResult(URL, 301, "text/html", "", "t"), "redirects are not followed"),
        (HttpsResult(URL, 200, "text/html", GOOD, "t"), "not text/plain"),
        (HttpsResult(URL, 200, "text/plain", GOOD.replace("version: STSv1\n", ""), "t"), "no 'version:' line"),
        (HttpsResult(URL, 200, "text/plain", GOOD.replace("604800", "60"), "t"), "max_age 60"),
    ],
)
def test_unusable_policy_files_fail(result: HttpsResult, words: str) -> None:
    found = finding("MF-MTASTS-003", result)
    assert not found.passed
    assert words in found.summary


def test_mode_must_be_allowed() -> None:
    testing = GOOD.replace("enforce", "testing")
    assert finding("MF-MTASTS-004", testing).passed  # default: enforce or testing
    found = finding("MF-MTASTS-004", testing, modes="enforce")
    assert not found.passed and "'testing'; expected enforce" in found.summary


def test_every_mx_must_be_covered_with_one_label_wildcards() -> None:
    narrow = GOOD.replace("*.backup.contoso.example", "*.contoso.example")
    found = finding("MF-MTASTS-005", narrow)
    assert not found.passed
    assert "mx1.backup.contoso.example matches no 'mx:' line" in found.summary


def test_a_failed_fetch_is_undetermined() -> None:
    with pytest.raises(ResolutionError, match="TIMEOUT"):
        finding("MF-MTASTS-003", FetchError(URL, "TIMEOUT", "no answer"))


def test_no_record_means_nothing_to_check() -> None:
    no_sts = ZONE.replace('_mta-sts TXT "v=STSv1; id=20261127"\n', "")
    for rule_id in ("MF-MTASTS-003", "MF-MTASTS-004", "MF-MTASTS-005"):
        found = finding(rule_id, GOOD, zone_text=no_sts)
        assert found.passed and "no usable MTA-STS" in found.summary


def test_a_bad_certificate_is_a_failure_not_an_error() -> None:
    # Every sender meets the same certificate error and treats the domain as having no policy (RFC 8461 §3.3).
    found = finding("MF-MTASTS-003", FetchError(URL, "TLS", "certificate not valid for mta-sts.contoso.example"))
    assert not found.passed and "senders cannot fetch the MTA-STS policy" in found.summary
    assert finding("MF-MTASTS-005", FetchError(URL, "TLS", "bad certificate")).passed

"""Scenario expectations filled in from the domain's cloud and params."""

from __future__ import annotations

import pytest

from pytest_mailflow.errors import PolicyError
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.scenarios import scenarios
from pytest_mailflow.policy.templates import context, resolve


def domain(body: str):
    (policy,) = load_policy_text(f"mailflow: 1\ndomains:\n  fabrikam.example:\n{body}", "p.yaml").domains
    return policy


def test_templates_splice_lists_and_drop_optional_values() -> None:
    missing: list[str] = []
    ctx = context("worldwide", {"on_premises": {"egress": ["203.0.113.10", "203.0.113.11"]}})
    value = {
        "spf": {
            "include": ["${m365.spf_include}"],
            "must_pass": ["${?params.on_premises.egress}", "${?params.devices.ips}"],
        }
    }
    assert resolve(value, ctx, missing) == {
        "spf": {"include": ["spf.protection.outlook.com"], "must_pass": ["203.0.113.10", "203.0.113.11"]}
    }
    assert missing == []
    resolve({"mx": {"hosts": ["${params.on_premises.mx}"]}}, ctx, missing)
    assert missing == ["params.on_premises.mx"]


def test_scenario_expectations_follow_cloud_and_params() -> None:
    policy = domain(
        "    scenario: hybrid-mx-on-premises-cmt\n    cloud: gcc-high\n"
        "    params:\n      on_premises: {mx: [mail.fabrikam.example], egress: [203.0.113.10]}\n"
    )
    assert [h.host for h in policy.expect.mx.hosts or ()] == ["mail.fabrikam.example"]
    assert policy.expect.spf.include == ("spf.protection.office365.us",)
    assert policy.expect.spf.must_pass == ("203.0.113.10",)
    assert policy.expect.dkim.selectors == ("selector1", "selector2") and policy.expect.dkim.cname


def test_the_policy_overrides_the_scenario() -> None:
    policy = domain("    scenario: cloud-only\n    expect:\n      spf: {all: ['-all']}\n      mx: {single: false}\n")
    assert policy.expect.spf.all == ("-all",)
    assert not policy.expect.mx.single and policy.expect.mx.microsoft


def test_missing_params_are_located_errors() -> None:
    with pytest.raises(PolicyError) as caught:
        domain("    scenario: hybrid-mx-on-premises-cmt\n")
    assert [str(p) for p in caught.value.problems] == [
        "p.yaml:3:3: domains.fabrikam.example: scenario 'hybrid-mx-on-premises-cmt' needs params.on_premises.egress"
        " (see docs/scenarios.md)",
        "p.yaml:3:3: domains.fabrikam.example: scenario 'hybrid-mx-on-premises-cmt' needs params.on_premises.mx"
        " (see docs/scenarios.md)",
    ]


def test_bad_params_are_located_errors() -> None:
    with pytest.raises(PolicyError) as caught:
        domain("    scenario: device-sending\n    params: {devices: {ips: [printer.fabrikam.example]}}\n")
    assert "domains.fabrikam.example.params.devices.ips.0: 'printer.fabrikam.example' is not an IPv4 or IPv6" in str(
        caught.value
    )


def test_every_scenario_is_complete() -> None:
    names = set(scenarios())
    assert names >= {
        "baseline",
        "custom",
        "cloud-only",
        "cloud-only-migration",
        "third-party-filter",
        "third-party-archive",
        "hybrid-mx-m365",
        "hybrid-mx-m365-cmt",
        "hybrid-mx-on-premises-cmt",
        "hybrid-mx-on-premises-relay",
        "third-party-filter-hybrid",
        "device-sending",
        "eop-standalone",
        "parked",
    }
    for scenario in scenarios().values():
        if scenario.name != "custom":
            assert scenario.title and scenario.description, scenario.name
    assert "MF-DMARC-009" not in scenarios()["parked"].rules

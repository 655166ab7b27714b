"""SPF rules MF-SPF-001..014, judged on evidence gathered from zone files (and pyspf for 010/011)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mailflow.dns.base import DnsSource, Question, ResolutionError
from pytest_mailflow.dns.records import txt_presentation
from pytest_mailflow.engine import Engine, Undetermined
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.policy.scenarios import scenarios
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding
from tests.support.scenario import Servfail, StaticFactory, source

SPF_RULES = tuple(f"MF-SPF-{n:03d}" for n in range(1, 16))


def domain_policy(rule_id: str, expect: dict[str, Any] | None = None, domain: str = "a.example") -> DomainPolicy:
    text = f"mailflow: 1\ndomains:\n  {domain}:\n    scenario: custom\n    rules: [{rule_id}]\n"
    if expect is not None:
        text += f"    expect: {json.dumps(expect)}\n"
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    return policy_domain


def findings(
    rule_id: str,
    zones: dict[str, str],
    expect: dict[str, Any] | None = None,
    *,
    domain: str = "a.example",
    dns: DnsSource | None = None,
) -> dict[str | None, Finding]:
    """The finding of every check ``rule_id`` plans for the domain, by parameter."""
    policy_domain = domain_policy(rule_id, expect, domain)
    evidence = gather(GatherRequest.for_policy(policy_domain), dns or source(zones))
    found = {}
    for check in plan(policy_domain):
        assert check.rule.id == rule_id
        found[check.param] = check.rule.check(
            evidence.view(), CheckContext(policy_domain.name, policy_domain, check.param)
        )
    return found


def finding(
    rule_id: str,
    zones: dict[str, str],
    expect: dict[str, Any] | None = None,
    *,
    domain: str = "a.example",
    dns: DnsSource | None = None,
) -> Finding:
    (only,) = findings(rule_id, zones, expect, domain=domain, dns=dns).values()
    return only


def spelled(ip: str) -> str:
    """The address as the policy loader spells it (the check's parameter and test ID)."""
    (only,) = domain_policy("MF-SPF-010", {"spf": {"must_pass": [ip]}}).expect.spf.must_pass
    return only


def spf(record: str, extra: str = "") -> dict[str, str]:
    """a.example publishing ``record``, next to vendor.test's records."""
    return {"a.example": f'@ TXT "{record}"\n{extra}', "vendor.test": VENDOR}


VENDOR = (
    'spf TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 -all"\n'
    'old TXT "v=spf1 ip4:203.0.113.0/24 -all"\n'
    'nested TXT "v=spf1 include:spf.vendor.test include:old.vendor.test ~all"\n'
    'open TXT "v=spf1 +all"\n'
    'bare TXT "v=spf1 all"\n'
    'neutral TXT "v=spf1 ip4:198.51.100.0/24 ?all"\n'
    'ptr TXT "v=spf1 ptr ip4:198.51.100.0/24 -all"\n'
    'broken TXT "v=spf1 ip4:198.51.100.300 -all"\n'
    'two TXT "v=spf1 -all"\ntwo TXT "v=spf1 ~all"\n'
    'text TXT "just text"\n'
)


def include_chain(lookups: int, tail: str = "") -> dict[str, str]:
    """a.example includes i1.chain.test, which includes i2 ... ``lookups`` includes in all."""
    lines = [f'i{k} TXT "v=spf1 include:i{k + 1}.chain.test -all"' for k in range(1, lookups)]
    lines.append(f'i{lookups} TXT "v=spf1 ip4:192.0.2.0/24 -all"')
    return {"a.example": f'@ TXT "v=spf1 include:i1.chain.test{tail} -all"', "chain.test": "\n".join(lines)}


def test_the_registry_has_these_spf_rules():
    assert sorted(r for r in REGISTRY if r.startswith("MF-SPF-")) == list(SPF_RULES)


# --- MF-SPF-001: exactly one SPF record ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '@ TXT "v=spf1 -all"',
        '@ TXT "v=spf1 -all"\n@ TXT "google-site-verification=x"\n@ TXT "v=spf10 mx"',
        '@ TXT "V=SPF1 mx -all"',
        '@ TXT "v=spf1 " "mx -all"',
    ],
)
def test_spf_001_passes_with_one_record(body):
    result = finding("MF-SPF-001", {"a.example": body})
    assert result.passed
    assert result.summary == "publishes exactly one SPF record"


@pytest.mark.parametrize(
    ("zones", "domain", "status"),
    [
        pytest.param({"a.example": "@ A 192.0.2.1"}, "a.example", "NODATA", id="nodata"),
        pytest.param({"a.example": '@ TXT "hello"'}, "a.example", "NOERROR", id="other-txt"),
        pytest.param({"a.example": '@ TXT "v=spf10 -all"'}, "a.example", "NOERROR", id="spf10"),
        pytest.param({"a.example": '@ TXT "v=spf2 -all"'}, "a.example", "NOERROR", id="spf2"),
        pytest.param({"a.example": ""}, "gone.a.example", "NXDOMAIN", id="nxdomain"),
    ],
)
def test_spf_001_fails_without_a_record(zones, domain, status):
    result = finding("MF-SPF-001", zones, domain=domain)
    assert not result.passed
    assert f"publishes no SPF record (TXT {status})" in result.summary
    assert result.observed == ("no SPF record",)


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ('@ TXT "v=spf1 -all"\n@ TXT "v=spf1 mx -all"', 2),
        ('@ TXT "v=spf1 -all"\n@ TXT "V=SPF1 mx -all"\n@ TXT "v=spf1"', 3),
    ],
)
def test_spf_001_fails_with_several_records(body, count):
    result = finding("MF-SPF-001", {"a.example": body})
    assert not result.passed
    assert f"publishes {count} SPF records" in result.summary
    assert "permerror" in result.summary
    assert "RFC 7208 §4.5" in result.summary
    assert len(result.observed) == count


# --- MF-SPF-002: syntax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx include:spf.vendor.test exists:%{i}.x.a.example -all",
        "v=spf1 redirect=spf.vendor.test",
        "v=spf1 include:nested.vendor.test -all exp=explain.a.example",
    ],
)
def test_spf_002_passes_for_valid_records(record):
    result = finding("MF-SPF-002", spf(record, "@ A 192.0.2.1\n@ MX 10 a.example."))
    assert result.passed
    assert result.summary == "every SPF record in the tree parses"


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=spf1 foo -all", "unknown mechanism 'foo'"),
        ("v=spf1 ip4:192.0.2.256 -all", "not a valid ip4 network"),
        ("v=spf1 a/33 -all", "IPv4 CIDR length over 32"),
        ("v=spf1 redirect=a.example redirect=spf.vendor.test", "'redirect=' appears more than once"),
        ("v=spf1 include:%{x}.a.example -all", "invalid macro"),
    ],
)
def test_spf_002_fails_for_errors_in_the_record(record, words):
    result = finding("MF-SPF-002", spf(record))
    assert not result.passed
    assert result.summary.startswith("SPF syntax errors make evaluation a permerror: ")
    assert words in result.summary
    assert "reached through the tree" not in result.summary
    assert result.details[:2] == ("lookup tree:", f'a.example: "{record}"')


def test_spf_002_fails_for_errors_in_an_included_record():
    result = finding("MF-SPF-002", spf("v=spf1 include:broken.vendor.test -all"))
    assert not result.passed
    assert "broken.vendor.test (reached through the tree): " in result.summary
    assert "198.51.100.300" in result.summary


def test_spf_002_leaves_an_included_name_with_two_records_to_spf_013():
    result = finding("MF-SPF-002", spf("v=spf1 include:two.vendor.test -all"))
    assert result.passed
    assert result.summary == "every SPF record in the tree parses"


def test_spf_002_ignores_errors_after_all():
    # Terms after 'all' are never evaluated (RFC 7208 §5.1), so the broken include is never reached.
    assert finding("MF-SPF-002", spf("v=spf1 -all include:broken.vendor.test")).passed


@pytest.mark.parametrize(
    "body",
    ['@ TXT "hello"', '@ TXT "v=spf1 foo"\n@ TXT "v=spf1 bar"'],
)
def test_spf_002_leaves_a_missing_or_doubled_record_to_spf_001(body):
    result = finding("MF-SPF-002", {"a.example": body})
    assert result.passed
    assert "see MF-SPF-001" in result.summary


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 include:text.vendor.test -all",
        "v=spf1 redirect=text.vendor.test",
        "v=spf1 include:gone.vendor.test -all",
    ],
)
def test_spf_002_leaves_an_include_or_redirect_without_spf_to_spf_013(record):
    # One fact, one rule: a target without exactly one SPF record is MF-SPF-013's finding.
    assert finding("MF-SPF-002", spf(record)).passed


def test_spf_002_leaves_a_loop_to_spf_013():
    zones = {
        "a.example": '@ TXT "v=spf1 include:b.example -all"',
        "b.example": '@ TXT "v=spf1 include:a.example -all"',
    }
    assert finding("MF-SPF-002", zones).passed


def test_spf_002_fails_for_an_exp_only_macro_in_a_mechanism():
    assert not finding("MF-SPF-002", spf("v=spf1 exists:%{c}.a.example -all")).passed


def test_spf_002_is_undetermined_when_an_include_is_unresolved():
    with pytest.raises(ResolutionError):
        finding("MF-SPF-002", spf("v=spf1 include:spf.outside.test -all"))


# --- MF-SPF-003: at most 10 DNS-querying terms ----------------------------------------------------


@pytest.mark.parametrize("lookups", [1, 9, 10])
def test_spf_003_passes_up_to_ten_lookups(lookups):
    result = finding("MF-SPF-003", include_chain(lookups))
    assert result.passed
    assert result.summary == f"SPF needs {lookups} DNS-querying terms (limit 10)"
    assert result.details[0] == "lookup tree:"
    assert result.details[-1] == f"total: {lookups} DNS-querying terms, 0 void lookups"


@pytest.mark.parametrize("lookups", [11, 12])
def test_spf_003_fails_past_ten_lookups(lookups):
    result = finding("MF-SPF-003", include_chain(lookups))
    assert not result.passed
    assert result.summary == f"SPF needs {lookups} DNS-querying terms; the limit is 10 (RFC 7208 §4.6.4)"
    assert f"{lookups:>2}. include:i{lookups}.chain.test" in "\n".join(result.details)


def test_spf_003_counts_every_kind_of_lookup():
    record = "v=spf1 a mx ptr exists:a.example include:spf.vendor.test include:nested.vendor.test -all"
    zones = spf(record, "@ A 192.0.2.1\n@ MX 10 a.example.")
    result = finding("MF-SPF-003", zones)
    # a, mx, ptr, exists, include, include -> include, include = 8
    assert result.passed
    assert result.summary == "SPF needs 8 DNS-querying terms (limit 10)"
    zones = spf(record.replace("-all", "a:a.example mx:a.example redirect=x.example"), "@ A 192.0.2.1\n")
    zones["a.example"] += "@ MX 10 a.example."
    result = finding("MF-SPF-003", zones)
    # the redirect is followed (no 'all') and counts, although x.example is outside the zones (unresolved)
    assert not result.passed
    assert "SPF needs 11 DNS-querying terms" in result.summary


def test_spf_003_fails_when_the_known_count_exceeds_ten_despite_an_unresolved_part():
    zones = include_chain(10, tail=" include:spf.outside.test")
    result = finding("MF-SPF-003", zones)
    assert not result.passed
    assert "SPF needs 11 DNS-querying terms; the limit is 10" in result.summary
    assert "could not determine" in "\n".join(result.details)


def test_spf_003_is_undetermined_when_the_count_is_within_the_limit_but_incomplete():
    zones = include_chain(9, tail=" include:spf.outside.test")
    with pytest.raises(ResolutionError) as caught:
        finding("MF-SPF-003", zones)
    assert caught.value.question == Question.of("spf.outside.test", "TXT")


def test_spf_003_passes_for_macros_counted_once():
    assert finding("MF-SPF-003", spf("v=spf1 exists:%{i}._spf.%{d} include:%{d}.x.a.example -all")).passed


def test_spf_003_leaves_a_missing_record_to_spf_001():
    result = finding("MF-SPF-003", {"a.example": "@ A 192.0.2.1"})
    assert result.passed
    assert result.summary == "no single SPF record to count"


def test_spf_003_fails_for_an_include_loop():
    zones = {
        "a.example": '@ TXT "v=spf1 include:b.example -all"',
        "b.example": '@ TXT "v=spf1 include:a.example -all"',
    }
    assert not finding("MF-SPF-003", zones).passed


# --- MF-SPF-004: at most 2 void lookups ----------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "voids"),
    [
        ("v=spf1 ip4:192.0.2.1 -all", 0),
        ("v=spf1 a:gone.a.example -all", 1),
        ("v=spf1 a:gone.a.example include:text.vendor.test mx:gone.a.example -all", 2),
        ("v=spf1 a:v6.a.example exists:%{i}.gone.a.example ptr -all", 0),
    ],
)
def test_spf_004_passes_with_two_void_lookups_or_fewer(record, voids):
    result = finding("MF-SPF-004", spf(record, "v6 AAAA 2001:db8::1"))
    assert result.passed
    assert result.summary == f"SPF needs {voids} void lookups (limit 2)"


@pytest.mark.parametrize(
    ("record", "voids"),
    [
        ("v=spf1 a:gone.a.example mx:gone.a.example exists:gone.a.example -all", 3),
        ("v=spf1 include:gone.vendor.test include:nodata.vendor.test redirect=gone2.vendor.test", 3),
        ("v=spf1 a:gone.a.example include:voids.vendor.test -all", 4),
    ],
)
def test_spf_004_fails_past_two_void_lookups(record, voids):
    zones = spf(record)
    zones["vendor.test"] += (
        "nodata A 198.51.100.1\n"
        'voids TXT "v=spf1 a:gone.vendor.test mx:gone.vendor.test exists:gone.vendor.test -all"\n'
    )
    result = finding("MF-SPF-004", zones)
    assert not result.passed
    assert result.summary == f"SPF needs {voids} void lookups; the limit is 2 (RFC 7208 §4.6.4)"
    assert "void lookup" in "\n".join(result.details)


def test_spf_004_fails_when_the_known_voids_exceed_two_despite_an_unresolved_part():
    record = "v=spf1 a:gone1.a.example a:gone2.a.example a:gone3.a.example include:spf.outside.test -all"
    assert not finding("MF-SPF-004", spf(record)).passed


def test_spf_004_is_undetermined_with_an_unresolved_part():
    with pytest.raises(ResolutionError):
        finding("MF-SPF-004", spf("v=spf1 a:gone.a.example a:mail.outside.test -all"))


# --- MF-SPF-005: no +all -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 -all",
        "v=spf1 ~all",
        "v=spf1 ?all",
        "v=spf1 mx",
        "v=spf1 include:neutral.vendor.test -all",
        "v=spf1 -all include:open.vendor.test",
        "v=spf1 -all redirect=open.vendor.test",
    ],
)
def test_spf_005_passes_without_plus_all(record):
    result = finding("MF-SPF-005", spf(record, "@ MX 10 a.example.\n@ A 192.0.2.1"))
    assert result.passed
    assert result.summary == "no '+all' anywhere in the SPF tree"


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=spf1 +all", "'+all' in the record itself"),
        ("v=spf1 mx all", "'all' in the record itself"),
        ("v=spf1 include:open.vendor.test -all", "'+all' in open.vendor.test, which the tree includes"),
        ("v=spf1 include:bare.vendor.test ~all", "'all' in bare.vendor.test, which the tree includes"),
        ("v=spf1 redirect=open.vendor.test", "'+all' in open.vendor.test, which the tree includes"),
    ],
)
def test_spf_005_fails_for_plus_all(record, words):
    result = finding("MF-SPF-005", spf(record, "@ MX 10 a.example.\n@ A 192.0.2.1"))
    assert not result.passed
    assert result.summary.startswith("SPF authorises every host on the internet: ")
    assert words in result.summary


def test_spf_005_detects_plus_all_deep_inside_includes():
    zones = spf("v=spf1 include:deep.vendor.test -all")
    zones["vendor.test"] += 'deep TXT "v=spf1 include:deeper.vendor.test -all"\n'
    zones["vendor.test"] += 'deeper TXT "v=spf1 ip4:198.51.100.1 include:open.vendor.test -all"\n'
    result = finding("MF-SPF-005", zones)
    assert not result.passed
    assert "'+all' in open.vendor.test" in result.summary
    assert any("+all" in line for line in result.details)


def test_spf_005_ignores_a_modifier_named_include():
    assert finding("MF-SPF-005", spf("v=spf1 include=open.vendor.test -all")).passed


def test_spf_005_is_undetermined_when_an_include_is_unresolved():
    with pytest.raises(ResolutionError):
        finding("MF-SPF-005", spf("v=spf1 include:spf.outside.test -all"))


# --- MF-SPF-006: the final 'all' -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "allowed", "summary"),
    [
        ("v=spf1 mx -all", None, "the SPF record ends with '-all'"),
        ("v=spf1 mx ~all", None, "the SPF record ends with '~all'"),
        ("v=spf1 mx -ALL", ["-all"], "the SPF record ends with '-ALL'"),
        ("v=spf1 mx ?all", ["?all", "~all"], "the SPF record ends with '?all'"),
        (
            "v=spf1 redirect=spf.vendor.test",
            None,
            "the SPF record ends with '-all' (through redirect to spf.vendor.test)",
        ),
        ("v=spf1 redirect=nested.vendor.test", ["~all"], "ends with '~all' (through redirect to nested.vendor.test)"),
        ("v=spf1 -all redirect=neutral.vendor.test", ["-all"], "the SPF record ends with '-all'"),
    ],
)
def test_spf_006_passes_for_an_allowed_all(record, allowed, summary):
    expect = {"spf": {"all": allowed}} if allowed else None
    result = finding("MF-SPF-006", spf(record, "@ MX 10 a.example.\n@ A 192.0.2.1"), expect)
    assert result.passed
    assert summary in result.summary


@pytest.mark.parametrize(
    ("record", "allowed", "words"),
    [
        ("v=spf1 mx ?all", None, "ends with '?all'; the policy allows -all or ~all"),
        ("v=spf1 mx +all", None, "ends with '+all'; the policy allows -all or ~all"),
        ("v=spf1 mx all", None, "ends with 'all'; the policy allows -all or ~all"),
        ("v=spf1 mx ~all", ["-all"], "ends with '~all'; the policy allows -all"),
        ("v=spf1 ~all redirect=spf.vendor.test", ["-all"], "ends with '~all'; the policy allows -all"),
        ("v=spf1 redirect=neutral.vendor.test", None, "'?all' (through redirect to neutral.vendor.test)"),
    ],
)
def test_spf_006_fails_for_another_all(record, allowed, words):
    expect = {"spf": {"all": allowed}} if allowed else None
    result = finding("MF-SPF-006", spf(record, "@ MX 10 a.example.\n@ A 192.0.2.1"), expect)
    assert not result.passed
    assert words in result.summary


def test_spf_006_a_record_without_all_is_neutral():
    zones = spf("v=spf1 ip4:192.0.2.1", "")
    result = finding("MF-SPF-006", zones)
    assert not result.passed
    assert "ends without 'all' or 'redirect'" in result.summary
    assert "RFC 7208 §4.7" in result.summary
    assert finding("MF-SPF-006", zones, {"spf": {"all": ["?all"]}}).passed


def test_spf_006_leaves_a_missing_record_to_spf_001():
    result = finding("MF-SPF-006", {"a.example": "@ A 192.0.2.1"})
    assert result.passed
    assert result.summary == "no single SPF record to check"


@pytest.mark.parametrize("target", ["text.vendor.test", "two.vendor.test", "gone.vendor.test"])
def test_spf_006_leaves_a_redirect_to_a_name_without_one_spf_record_to_spf_013(target):
    result = finding("MF-SPF-006", spf(f"v=spf1 redirect={target}"))
    assert "without 'all' or 'redirect'" not in result.summary
    assert result.passed
    assert result.summary == (
        f"no final 'all' to check: the record redirects to {target}, which has no single SPF record (see MF-SPF-013)"
    )


def test_spf_006_shows_the_lookup_tree_when_the_all_comes_through_a_redirect():
    result = finding("MF-SPF-006", spf("v=spf1 redirect=neutral.vendor.test"))
    assert not result.passed
    assert result.details[0] == "lookup tree:"
    assert " 1. redirect=neutral.vendor.test" in "\n".join(result.details)
    own = finding("MF-SPF-006", spf("v=spf1 ip4:192.0.2.1 ?all"))
    assert not own.passed
    assert own.details == ()


def test_spf_006_is_undetermined_when_the_redirect_is_unresolved():
    with pytest.raises(ResolutionError):
        finding("MF-SPF-006", spf("v=spf1 redirect=spf.outside.test"))


# --- MF-SPF-007: no ptr --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record", ["v=spf1 mx -all", "v=spf1 -all ptr", "v=spf1 exists:%{p}.a.example -all", "v=spf1 ptrx=1 -all"]
)
def test_spf_007_passes_without_ptr(record):
    result = finding("MF-SPF-007", spf(record, "@ MX 10 a.example.\n@ A 192.0.2.1"))
    assert result.passed
    assert result.summary == "no ptr mechanism in the SPF tree"


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=spf1 ptr -all", "'ptr' in a.example"),
        ("v=spf1 ?ptr:a.example -all", "'?ptr:a.example' in a.example"),
        ("v=spf1 include:ptr.vendor.test -all", "'ptr' in ptr.vendor.test"),
        ("v=spf1 redirect=ptr.vendor.test", "'ptr' in ptr.vendor.test"),
    ],
)
def test_spf_007_fails_for_ptr(record, words):
    result = finding("MF-SPF-007", spf(record))
    assert not result.passed
    assert result.summary.startswith("SPF uses the ptr mechanism: ")
    assert words in result.summary


def test_spf_007_is_undetermined_when_an_include_is_unresolved():
    with pytest.raises(ResolutionError):
        finding("MF-SPF-007", spf("v=spf1 include:spf.outside.test -all"))


# --- MF-SPF-008 / MF-SPF-009: required and forbidden includes -------------------------------------


def test_spf_008_passes_for_direct_and_nested_includes():
    found = findings(
        "MF-SPF-008",
        spf("v=spf1 include:nested.vendor.test -all"),
        {"spf": {"include": ["nested.vendor.test", "spf.vendor.test", "OLD.Vendor.Test."]}},
    )
    assert set(found) == {"nested.vendor.test", "spf.vendor.test", "old.vendor.test"}
    assert all(f.passed for f in found.values())
    assert found["nested.vendor.test"].summary == "SPF includes nested.vendor.test directly"
    assert found["spf.vendor.test"].summary == "SPF includes spf.vendor.test through nested.vendor.test"


def test_spf_008_counts_a_redirect_as_an_include():
    result = finding("MF-SPF-008", spf("v=spf1 redirect=spf.vendor.test"), {"spf": {"include": ["spf.vendor.test"]}})
    assert result.passed


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 include:old.vendor.test -all",
        "v=spf1 -all include:spf.vendor.test",
        "v=spf1 -all redirect=spf.vendor.test",
        "v=spf1 include:%{d}.spf.vendor.test -all",
        "v=spf1 ip4:198.51.100.0/24 -all",
    ],
)
def test_spf_008_fails_when_the_include_is_missing(record):
    result = finding("MF-SPF-008", spf(record), {"spf": {"include": ["spf.vendor.test"]}})
    assert not result.passed
    assert result.summary == "SPF does not include spf.vendor.test"
    assert result.details[-1].startswith("total: ")


@pytest.mark.parametrize("body", ['@ TXT "hello"', '@ TXT "v=spf1 include:spf.vendor.test -all"\n@ TXT "v=spf1 -all"'])
def test_spf_008_fails_without_a_single_record(body):
    zones = {"a.example": body, "vendor.test": VENDOR}
    result = finding("MF-SPF-008", zones, {"spf": {"include": ["spf.vendor.test"]}})
    assert not result.passed
    assert "include:spf.vendor.test is not in effect" in result.summary
    assert "see MF-SPF-001" in result.summary


def test_spf_008_one_check_per_required_include():
    found = findings(
        "MF-SPF-008", spf("v=spf1 include:spf.vendor.test -all"), {"spf": {"include": ["spf.vendor.test", "x.test"]}}
    )
    assert found["spf.vendor.test"].passed
    assert not found["x.test"].passed


def test_spf_008_and_009_do_not_apply_without_a_list():
    assert findings("MF-SPF-008", spf("v=spf1 -all")) == {}
    assert findings("MF-SPF-009", spf("v=spf1 -all")) == {}


def test_spf_008_is_undetermined_when_an_include_is_unresolved():
    with pytest.raises(ResolutionError):
        finding(
            "MF-SPF-008",
            spf("v=spf1 include:spf.outside.test -all"),
            {"spf": {"include": ["spf.vendor.test"]}},
        )


@pytest.mark.parametrize(
    "record",
    ["v=spf1 include:spf.vendor.test -all", "v=spf1 -all include:old.vendor.test", "v=spf1 ip4:203.0.113.0/24 -all"],
)
def test_spf_009_passes_without_the_forbidden_include(record):
    result = finding("MF-SPF-009", spf(record), {"spf": {"forbid_include": ["old.vendor.test"]}})
    assert result.passed
    assert result.summary == "SPF does not include old.vendor.test"


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=spf1 include:old.vendor.test -all", "SPF still includes old.vendor.test (directly)"),
        ("v=spf1 include:Old.Vendor.Test. -all", "SPF still includes old.vendor.test (directly)"),
        ("v=spf1 include:nested.vendor.test -all", "SPF still includes old.vendor.test (through nested.vendor.test)"),
        ("v=spf1 redirect=old.vendor.test", "SPF still includes old.vendor.test (directly)"),
    ],
)
def test_spf_009_fails_with_the_forbidden_include(record, words):
    result = finding("MF-SPF-009", spf(record), {"spf": {"forbid_include": ["old.vendor.test"]}})
    assert not result.passed
    assert result.summary == words


def test_spf_009_is_undetermined_when_an_include_is_unresolved():
    with pytest.raises(ResolutionError):
        finding(
            "MF-SPF-009",
            spf("v=spf1 include:spf.outside.test -all"),
            {"spf": {"forbid_include": ["old.vendor.test"]}},
        )


# --- MF-SPF-010 / MF-SPF-011: pyspf evaluation ----------------------------------------------------

EVAL_EXTRA = (
    "@ MX 10 mx.a.example.\nmx A 192.0.2.25\nweb A 192.0.2.80\n"
    "7.2.0.192.allow A 127.0.0.2\n"
    'stale TXT "v=spf1 ip4:203.0.113.0/24 -all"\n'
)


@pytest.mark.parametrize(
    ("record", "ips"),
    [
        pytest.param("v=spf1 ip4:192.0.2.0/24 -all", ["192.0.2.1", "192.0.2.254"], id="ip4-range"),
        pytest.param("v=spf1 ip4:192.0.2.7 -all", ["192.0.2.7"], id="ip4-host"),
        pytest.param("v=spf1 ip6:2001:db8:1::/48 -all", ["2001:db8:1::25", "2001:db8:1:ffff::1"], id="ip6-range"),
        pytest.param("v=spf1 include:spf.vendor.test -all", ["198.51.100.20", "2001:db8:100::1"], id="include"),
        pytest.param("v=spf1 include:nested.vendor.test -all", ["198.51.100.20", "203.0.113.9"], id="nested"),
        pytest.param("v=spf1 include:spf.vendor.test ip4:192.0.2.0/24 -all", ["192.0.2.7"], id="include-fail-no-match"),
        pytest.param("v=spf1 redirect=spf.vendor.test", ["198.51.100.20"], id="redirect"),
        pytest.param("v=spf1 mx a:web.a.example -all", ["192.0.2.25", "192.0.2.80"], id="mx-and-a"),
        pytest.param("v=spf1 a:web.a.example/24 -all", ["192.0.2.1"], id="a-cidr"),
        pytest.param("v=spf1 exists:%{ir}.allow.a.example -all", ["192.0.2.7"], id="exists-macro"),
        pytest.param("v=spf1 -ip4:192.0.2.66 ip4:192.0.2.0/24 -all", ["192.0.2.65"], id="first-match"),
        pytest.param("v=spf1 ip4:192.0.2.7 -all include:spf.outside.test", ["192.0.2.7"], id="stops-at-match"),
    ],
)
def test_spf_010_passes_for_authorised_senders(record, ips):
    found = findings("MF-SPF-010", spf(record, EVAL_EXTRA), {"spf": {"must_pass": ips}})
    assert list(found) == [spelled(ip) for ip in ips]
    for ip, result in found.items():
        assert result.passed, result.summary
        assert result.summary == f"SPF result for {ip} is pass"
        assert f"check_host({ip}, a.example) = pass" in result.observed
        assert result.observed[0] == f'SPF record: "{record}"'


@pytest.mark.parametrize(
    ("record", "ip", "result"),
    [
        pytest.param("v=spf1 ip4:192.0.2.0/24 -all", "203.0.113.5", "fail", id="minus-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/24 ~all", "203.0.113.5", "softfail", id="tilde-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/24 ?all", "203.0.113.5", "neutral", id="question-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/24", "203.0.113.5", "neutral", id="no-all"),
        pytest.param("v=spf1 -ip4:192.0.2.66 ip4:192.0.2.0/24 -all", "192.0.2.66", "fail", id="excluded-host"),
        pytest.param("v=spf1 ip6:2001:db8:1::/48 -all", "2001:db8:2::1", "fail", id="ip6-outside"),
        pytest.param("v=spf1 ip6:2001:db8::/32 -all", "192.0.2.1", "fail", id="ip4-sender-ip6-range"),
        pytest.param("v=spf1 include:spf.vendor.test ~all", "203.0.113.5", "softfail", id="include-then-tilde"),
        pytest.param("v=spf1 exists:%{ir}.allow.a.example -all", "192.0.2.8", "fail", id="exists-no-match"),
        pytest.param("v=spf1 foo -all", "192.0.2.1", "permerror", id="syntax-error"),
        pytest.param("v=spf1 include:text.vendor.test -all", "192.0.2.1", "permerror", id="include-without-spf"),
    ],
)
def test_spf_010_fails_for_other_results(record, ip, result):
    found = finding("MF-SPF-010", spf(record, EVAL_EXTRA), {"spf": {"must_pass": [ip]}})
    ip = spelled(ip)
    assert not found.passed
    assert found.summary.startswith(f"SPF result for {ip} is {result}")
    assert f"check_host({ip}, a.example) = {result}" in found.observed


def test_spf_010_explains_a_failure():
    found = finding("MF-SPF-010", spf("v=spf1 foo -all"), {"spf": {"must_pass": ["192.0.2.1"]}})
    assert "(SPF Permanent Error: " in found.summary


@pytest.mark.parametrize(
    ("body", "result"),
    [
        ('@ TXT "hello"', "none"),
        ('@ TXT "v=spf1 ip4:192.0.2.1 -all"\n@ TXT "v=spf1 -all"', "permerror"),
    ],
)
def test_spf_010_no_or_two_records(body, result):
    found = finding("MF-SPF-010", {"a.example": body}, {"spf": {"must_pass": ["192.0.2.1"]}})
    assert not found.passed
    assert f"is {result}" in found.summary


def test_spf_010_lookup_limit_is_a_permerror_in_pyspf_too():
    zones = include_chain(11)
    found = finding("MF-SPF-010", zones, {"spf": {"must_pass": ["192.0.2.1"]}})
    assert not found.passed
    assert "is permerror" in found.summary
    zones = include_chain(10)
    assert finding("MF-SPF-010", zones, {"spf": {"must_pass": ["192.0.2.1"]}}).passed


@pytest.mark.parametrize("rule_id", ["MF-SPF-010", "MF-SPF-011"])
@pytest.mark.parametrize(
    "record",
    ["v=spf1 include:spf.outside.test -all", "v=spf1 a:mail.outside.test -all", "v=spf1 redirect=spf.outside.test"],
)
def test_spf_010_011_are_undetermined_on_temperror(rule_id, record):
    key = "must_pass" if rule_id == "MF-SPF-010" else "must_fail"
    with pytest.raises(ResolutionError) as caught:
        finding(rule_id, spf(record), {"spf": {key: ["203.0.113.5"]}})
    assert "outside.test" in caught.value.question.name


@pytest.mark.parametrize(
    ("record", "ip", "result"),
    [
        pytest.param("v=spf1 ip4:192.0.2.0/24 -all", "203.0.113.5", "fail", id="minus-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/24 ~all", "203.0.113.5", "softfail", id="tilde-all"),
        pytest.param("v=spf1 include:spf.vendor.test -all", "203.0.113.5", "fail", id="include-minus-all"),
        pytest.param("v=spf1 include:spf.vendor.test ~all", "192.0.2.1", "softfail", id="include-tilde-all"),
        pytest.param("v=spf1 -ip4:192.0.2.66 ip4:192.0.2.0/24 -all", "192.0.2.66", "fail", id="excluded-host"),
        pytest.param("v=spf1 ~ip6:2001:db8:bad::/48 ip6:2001:db8::/32 -all", "2001:db8:bad::1", "softfail"),
        pytest.param("v=spf1 redirect=spf.vendor.test", "203.0.113.5", "fail", id="redirect"),
        pytest.param("v=spf1 ptr -all", "203.0.113.5", "fail", id="ptr-without-reverse-name"),
    ],
)
def test_spf_011_passes_when_the_sender_is_refused(record, ip, result):
    found = finding("MF-SPF-011", spf(record, EVAL_EXTRA), {"spf": {"must_fail": [ip]}})
    assert found.passed
    assert found.summary == f"SPF result for {spelled(ip)} is {result}"


@pytest.mark.parametrize(
    ("record", "ip", "result"),
    [
        pytest.param("v=spf1 ip4:192.0.2.0/24 ?all", "203.0.113.5", "neutral", id="question-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/24 +all", "203.0.113.5", "pass", id="plus-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/24", "203.0.113.5", "neutral", id="no-all"),
        pytest.param("v=spf1 ip4:203.0.0.0/8 -all", "203.0.113.5", "pass", id="wide-range"),
        pytest.param("v=spf1 include:nested.vendor.test -all", "203.0.113.5", "pass", id="stale-nested-include"),
        pytest.param("v=spf1 include:open.vendor.test -all", "203.0.113.5", "pass", id="include-plus-all"),
        pytest.param("v=spf1 include:neutral.vendor.test ?all", "203.0.113.5", "neutral", id="include-question-all"),
        pytest.param("v=spf1 ip4:192.0.2.0/33 -all", "203.0.113.5", "permerror", id="permerror"),
    ],
)
def test_spf_011_fails_when_the_sender_is_not_refused(record, ip, result):
    found = finding("MF-SPF-011", spf(record, EVAL_EXTRA), {"spf": {"must_fail": [ip]}})
    assert not found.passed
    assert found.summary == f"SPF result for {ip} is {result}; this sender is not refused"


def test_spf_010_and_011_together():
    expect = {
        "spf": {"must_pass": ["192.0.2.7", "198.51.100.20", "203.0.113.1"], "must_fail": ["203.0.113.5", "192.0.2.8"]}
    }
    zones = spf("v=spf1 ip4:192.0.2.0/24 include:spf.vendor.test -all")
    passing = findings("MF-SPF-010", zones, expect)
    failing = findings("MF-SPF-011", zones, expect)
    assert {ip: f.passed for ip, f in passing.items()} == {
        "192.0.2.7": True,
        "198.51.100.20": True,
        "203.0.113.1": False,
    }
    assert {ip: f.passed for ip, f in failing.items()} == {"203.0.113.5": True, "192.0.2.8": False}


# --- MF-SPF-012: record size ---------------------------------------------------------------------


def sized_record(octets: int) -> str:
    """A valid SPF record of exactly ``octets`` octets: ip4 terms, padded with an unknown modifier (RFC 7208 §6)."""
    terms: list[str] = []
    while len(" ".join(["v=spf1", *terms, "-all"])) + 24 < octets:
        terms.append(f"ip4:198.51.{len(terms) // 256}.{len(terms) % 256}")
    base = " ".join(["v=spf1", *terms, "-all"])
    return f"{base} x={'a' * (octets - len(base) - 3)}"


def size_zones(record: str, extra: str = "", origin: str = "a.example") -> dict[str, str]:
    return {origin: f"@ TXT {txt_presentation(record)}\n{extra}"}


def test_spf_012_measures_the_record_and_the_whole_answer():
    result = finding("MF-SPF-012", size_zones("v=spf1 -all"))
    assert result.passed
    # 12 header + 15 question (a.example. is 11 octets, then type and class)
    # + 24 answer (2 compressed owner + 10 type/class/TTL/length + 12 RDATA: one length octet and 11 text octets)
    assert result.summary == "the SPF record is 11 octets and the TXT answer 51 octets (limits 450 and 512)"
    assert result.observed == (
        'SPF record: "v=spf1 -all"',
        "SPF record: 11 octets in 1 character-string (limit 450)",
        "TXT answer for a.example: 1 record, 51 octets as a DNS response without EDNS (limit 512)",
    )


def test_spf_012_counts_every_txt_record_and_the_cname_chain():
    zones = {
        "a.example": 'sub CNAME spf.vendor.test.\n@ TXT "google-site-verification=x"',
        "vendor.test": VENDOR,
    }
    result = finding("MF-SPF-012", zones, domain="sub.a.example")
    assert result.passed
    # 12 + 19 (sub.a.example. is 15) + CNAME 29 (2 + 10 + spf.vendor.test. 17) + TXT 66 (2 + 10 + 1 + 53)
    assert "the TXT answer 126 octets" in result.summary
    zones = size_zones("v=spf1 -all", '@ TXT "google-site-verification=0123456789"\n@ TXT "MS=ms12345678"')
    result = finding("MF-SPF-012", zones)
    assert result.passed
    # 12 + 15 + 24 ("v=spf1 -all") + 48 (35 octets of text) + 26 (13 octets of text)
    assert "TXT answer for a.example: 3 records, 125 octets" in result.observed[2]


@pytest.mark.parametrize("octets", [300, 449, 450])
def test_spf_012_passes_up_to_450_octets(octets):
    record = sized_record(octets)
    assert len(record) == octets
    result = finding("MF-SPF-012", size_zones(record))
    assert result.passed, result.summary
    assert f"the SPF record is {octets} octets" in result.summary
    assert f"in {(octets + 254) // 255} character-strings" in result.observed[1]


@pytest.mark.parametrize("octets", [451, 470])
def test_spf_012_fails_past_450_octets(octets):
    record = sized_record(octets)
    result = finding("MF-SPF-012", size_zones(record))
    assert not result.passed
    assert result.summary == f"the SPF record is {octets} octets, expected at most 450 (RFC 7208 §3.4's guideline)"
    assert result.details == (f"TXT  {octets} octets: {record}",)


def test_spf_012_fails_when_other_txt_records_push_the_answer_past_512_octets():
    record = sized_record(420)
    other = "google-site-verification=" + "x" * 43
    result = finding("MF-SPF-012", size_zones(record, f'@ TXT "{other}"'))
    assert not result.passed
    # 12 + 15 + (12 + 420 + 2 length octets) + (12 + 68 + 1) = 542
    assert result.summary == (
        "the TXT answer for a.example is 542 octets, with 1 other TXT record at the name, expected at most 512 so "
        "it fits a UDP response without EDNS (RFC 7208 §3.4, RFC 1035 §2.3.4); receivers whose retry over TCP "
        "fails may ignore the record"
    )
    assert sorted(result.details) == sorted((f"TXT  420 octets: {record}", f"TXT   68 octets: {other}"))
    # The same records pass without the other TXT record.
    assert finding("MF-SPF-012", size_zones(record)).passed


def test_spf_012_the_name_itself_counts_toward_512_octets():
    record = sized_record(450)
    long_name = "a" * 60 + ".b.example"
    assert finding("MF-SPF-012", size_zones(record, origin="b.example"), domain="b.example").passed
    result = finding("MF-SPF-012", {"b.example": f"{'a' * 60} TXT {txt_presentation(record)}"}, domain=long_name)
    # 12 + (72 + 4) + (12 + 452) = 552, the name being 72 octets on the wire (61 + 2 + 8 + 1): the record is
    # within 450 octets, the answer is not.
    assert not result.passed
    assert result.summary.startswith(f"the TXT answer for {long_name} is 552 octets, expected at most 512")


@pytest.mark.parametrize("body", ['@ TXT "hello"', '@ TXT "v=spf1 -all"\n@ TXT "v=spf1 ~all"', "@ A 192.0.2.1"])
def test_spf_012_leaves_a_missing_or_doubled_record_to_spf_001(body):
    result = finding("MF-SPF-012", {"a.example": body})
    assert result.passed
    assert result.summary == "no single SPF record to measure (see MF-SPF-001)"


def test_spf_012_is_undetermined_when_the_txt_lookup_fails():
    dns = Servfail(source(size_zones(sized_record(470))), ("a.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-SPF-012", {}, dns=dns)
    assert caught.value.question == Question.of("a.example", "TXT")


def test_spf_012_only_needs_the_domains_own_txt_answer():
    # An unresolvable include does not make the size check undetermined.
    assert finding("MF-SPF-012", spf("v=spf1 include:spf.outside.test -all")).passed


# --- MF-SPF-013: include and redirect targets ----------------------------------------------------


@pytest.mark.parametrize(
    ("record", "summary"),
    [
        (
            "v=spf1 include:nested.vendor.test -all",
            "every include and redirect target publishes exactly one SPF record (3 checked)",
        ),
        (
            # Without 'all' the redirect is followed: spf, nested, and nested's spf and old.
            "v=spf1 include:spf.vendor.test redirect=nested.vendor.test",
            "every include and redirect target publishes exactly one SPF record (4 checked)",
        ),
        (
            # With 'all' the redirect is ignored (RFC 7208 §6.1) and its target never looked at.
            "v=spf1 include:spf.vendor.test redirect=text.vendor.test -all",
            "every include and redirect target publishes exactly one SPF record (1 checked)",
        ),
        (
            "v=spf1 redirect=nested.vendor.test",
            "every include and redirect target publishes exactly one SPF record (3 checked)",
        ),
        ("v=spf1 ip4:192.0.2.0/24 -all", "the SPF tree has no include or redirect"),
        ("v=spf1 -all include:text.vendor.test", "the SPF tree has no include or redirect"),
        ("v=spf1 include=text.vendor.test -all", "the SPF tree has no include or redirect"),
        (
            "v=spf1 include:%{d}.spf.vendor.test -all",
            "no include or redirect target could be checked; 1 with macros depend on the sender and were not "
            "checked: 'include:%{d}.spf.vendor.test' in a.example",
        ),
    ],
)
def test_spf_013_passes_when_every_target_has_one_record(record, summary):
    result = finding("MF-SPF-013", spf(record))
    assert result.passed
    assert result.summary == summary


def test_spf_013_a_diamond_is_not_a_loop():
    zones = spf("v=spf1 include:nested.vendor.test include:spf.vendor.test -all")
    result = finding("MF-SPF-013", zones)
    assert result.passed
    assert "(4 checked)" in result.summary


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        pytest.param(
            "v=spf1 include:text.vendor.test -all",
            "'include:text.vendor.test' in a.example: text.vendor.test publishes no SPF record (NOERROR), "
            "expected exactly one SPF record: permerror (RFC 7208 §5.2)",
            id="include-txt-without-spf",
        ),
        pytest.param(
            "v=spf1 redirect=text.vendor.test",
            "'redirect=text.vendor.test' in a.example: text.vendor.test publishes no SPF record (NOERROR), "
            "expected exactly one SPF record: permerror (RFC 7208 §6.1)",
            id="redirect-txt-without-spf",
        ),
        pytest.param(
            "v=spf1 include:gone.vendor.test -all",
            "'include:gone.vendor.test' in a.example: gone.vendor.test does not exist (NXDOMAIN), "
            "expected exactly one SPF record: permerror (RFC 7208 §5.2)",
            id="include-nxdomain",
        ),
        pytest.param(
            "v=spf1 include:host.vendor.test -all",
            "'include:host.vendor.test' in a.example: host.vendor.test publishes no SPF record (NODATA), "
            "expected exactly one SPF record: permerror (RFC 7208 §5.2)",
            id="include-of-a-host-name",
        ),
        pytest.param(
            "v=spf1 include:two.vendor.test -all",
            "'include:two.vendor.test' in a.example: two.vendor.test publishes 2 SPF records, expected exactly "
            "one: permerror (RFC 7208 §4.5, §5.2)",
            id="include-two-records",
        ),
        pytest.param(
            "v=spf1 redirect=two.vendor.test",
            "'redirect=two.vendor.test' in a.example: two.vendor.test publishes 2 SPF records, expected exactly "
            "one: permerror (RFC 7208 §4.5, §6.1)",
            id="redirect-two-records",
        ),
        pytest.param(
            "v=spf1 include:deep.vendor.test -all",
            "'include:text.vendor.test' in deep.vendor.test: text.vendor.test publishes no SPF record (NOERROR)",
            id="nested",
        ),
    ],
)
def test_spf_013_fails_for_a_target_without_one_spf_record(record, problem):
    zones = spf(record)
    zones["vendor.test"] += 'deep TXT "v=spf1 include:text.vendor.test -all"\nhost A 198.51.100.25\n'
    result = finding("MF-SPF-013", zones)
    assert not result.passed
    assert result.summary.startswith("include and redirect targets must each publish exactly one SPF record: ")
    assert problem in result.summary
    assert result.details[0] == "lookup tree:"
    assert result.details[-1].startswith("total: ")


def test_spf_013_reports_every_broken_target():
    result = finding("MF-SPF-013", spf("v=spf1 include:text.vendor.test include:two.vendor.test -all"))
    assert not result.passed
    assert "text.vendor.test publishes no SPF record" in result.summary
    assert "two.vendor.test publishes 2 SPF records" in result.summary


def test_spf_013_fails_for_an_include_loop_and_shows_the_path():
    zones = {
        "a.example": '@ TXT "v=spf1 include:b.example -all"',
        "b.example": '@ TXT "v=spf1 include:c.example -all"',
        "c.example": '@ TXT "v=spf1 include:a.example -all"',
    }
    result = finding("MF-SPF-013", zones)
    assert not result.passed
    assert (
        "'include:a.example' in c.example: a.example is already being evaluated "
        "(a.example -> b.example -> c.example -> a.example), an include loop: evaluation never finishes and ends "
        "in permerror at the 10-lookup limit (RFC 7208 §4.6.4)"
    ) in result.summary
    assert any("include loop (already on the path)" in line for line in result.details)


def test_spf_013_fails_for_a_redirect_to_itself():
    result = finding("MF-SPF-013", spf("v=spf1 ip4:192.0.2.1 redirect=a.example"))
    assert not result.passed
    assert "a.example is already being evaluated (a.example -> a.example), a redirect loop" in result.summary


@pytest.mark.parametrize("body", ['@ TXT "hello"', '@ TXT "v=spf1 include:text.vendor.test"\n@ TXT "v=spf1 -all"'])
def test_spf_013_leaves_a_missing_or_doubled_record_to_spf_001(body):
    result = finding("MF-SPF-013", {"a.example": body, "vendor.test": VENDOR})
    assert result.passed
    assert result.summary == "no single SPF record to check (see MF-SPF-001)"


def test_spf_013_is_undetermined_when_a_target_is_unresolved():
    with pytest.raises(ResolutionError) as caught:
        finding("MF-SPF-013", spf("v=spf1 include:spf.vendor.test include:spf.outside.test -all"))
    assert caught.value.question == Question.of("spf.outside.test", "TXT")
    dns = Servfail(source(spf("v=spf1 include:spf.vendor.test -all")), ("spf.vendor.test", "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-SPF-013", {}, dns=dns)


def test_spf_013_a_known_broken_target_wins_over_an_unresolved_one():
    result = finding("MF-SPF-013", spf("v=spf1 include:text.vendor.test include:spf.outside.test -all"))
    assert not result.passed
    assert "text.vendor.test publishes no SPF record" in result.summary


# --- MF-SPF-014: an mx mechanism finds at most 10 MX names ----------------------------------------


def mx_names(count: int, name: str = "many") -> str:
    """``count`` MX records at ``name``.a.example, their hosts with addresses."""
    lines = [f"{name} MX {n} mx{n}.{name}.a.example." for n in range(count)]
    lines += [f"mx{n}.{name} A 192.0.2.{n + 1}" for n in range(count)]
    return "\n".join(lines) + "\n"


MANY_MX = mx_names(11)


@pytest.mark.parametrize("count", [1, 9, 10])
def test_spf_014_passes_up_to_ten_mx_names(count):
    result = finding("MF-SPF-014", spf("v=spf1 mx:many.a.example -all", mx_names(count)))
    assert result.passed
    assert result.summary == f"no mx mechanism finds more than 10 MX names (the most is {count})"


@pytest.mark.parametrize("count", [11, 15])
def test_spf_014_fails_past_ten_mx_names(count):
    result = finding("MF-SPF-014", spf("v=spf1 ip4:192.0.2.0/24 mx:many.a.example -all", mx_names(count)))
    assert not result.passed
    assert result.summary == (
        f"'mx:many.a.example' in a.example finds {count} MX names, expected at most 10: the mx mechanism is a "
        "permerror (RFC 7208 §4.6.4)"
    )
    assert result.details[0] == "lookup tree:"
    assert f" 1. mx:many.a.example  ({count} MX names)" in "\n".join(result.details)


def test_spf_014_fails_for_a_bare_mx_and_inside_an_include():
    apex_mx = "".join(f"@ MX {n} mx{n}.a.example.\nmx{n} A 192.0.2.{n + 1}\n" for n in range(11))
    zones = spf("v=spf1 mx include:mx.vendor.test -all", apex_mx + MANY_MX)
    zones["vendor.test"] += 'mx TXT "v=spf1 mx:many.a.example -all"\n'
    result = finding("MF-SPF-014", zones)
    assert not result.passed
    assert "'mx' in a.example finds 11 MX names" in result.summary
    assert "'mx:many.a.example' in mx.vendor.test finds 11 MX names" in result.summary


def test_spf_014_agrees_with_pyspf():
    zones = spf("v=spf1 mx:many.a.example -all", mx_names(11))
    found = finding("MF-SPF-010", zones, {"spf": {"must_pass": ["192.0.2.1"]}})
    assert found.summary.startswith("SPF result for 192.0.2.1 is permerror")
    zones = spf("v=spf1 mx:many.a.example -all", mx_names(10))
    assert finding("MF-SPF-010", zones, {"spf": {"must_pass": ["192.0.2.1"]}}).passed


@pytest.mark.parametrize(
    ("record", "summary"),
    [
        ("v=spf1 ip4:192.0.2.0/24 -all", "the SPF tree has no mx mechanism"),
        ("v=spf1 -all mx:many.a.example", "the SPF tree has no mx mechanism"),
        ("v=spf1 mx:gone.a.example -all", "no mx mechanism finds more than 10 MX names (the most is 0)"),
        (
            "v=spf1 mx:%{d}.a.example -all",
            "no mx mechanism finds more than 10 MX names; mx with macros depends on the sender and was not "
            "checked: 'mx:%{d}.a.example' in a.example",
        ),
    ],
)
def test_spf_014_passes_without_a_large_mx(record, summary):
    result = finding("MF-SPF-014", spf(record, MANY_MX))
    assert result.passed
    assert result.summary == summary


def test_spf_014_leaves_a_missing_record_to_spf_001():
    result = finding("MF-SPF-014", {"a.example": "@ A 192.0.2.1"})
    assert result.passed
    assert result.summary == "no single SPF record to check (see MF-SPF-001)"


def test_spf_014_is_undetermined_when_the_mx_lookup_fails():
    dns = Servfail(source(spf("v=spf1 mx:many.a.example -all", mx_names(3))), ("many.a.example", "MX"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-SPF-014", {}, dns=dns)
    assert caught.value.question == Question.of("many.a.example", "MX")
    with pytest.raises(ResolutionError):
        finding("MF-SPF-014", spf("v=spf1 include:spf.outside.test -all"))


def test_spf_014_a_known_large_mx_wins_over_an_unresolved_part():
    result = finding("MF-SPF-014", spf("v=spf1 mx:many.a.example include:spf.outside.test -all", MANY_MX))
    assert not result.passed


# --- macros: one lookup each, marked, never expanded ----------------------------------------------


def test_macros_are_counted_as_one_lookup_each_and_never_expanded():
    record = "v=spf1 exists:%{i}._spf.%{d} include:%{d}.x.a.example a:%{l}.a.example -all"
    policy_domain = domain_policy("MF-SPF-003")
    evidence = gather(GatherRequest.for_policy(policy_domain), source(spf(record)))
    result = REGISTRY["MF-SPF-003"].check(evidence.view(), CheckContext("a.example", policy_domain))
    assert result.passed
    assert result.summary == "SPF needs 3 DNS-querying terms (limit 10)"
    tree = "\n".join(result.details)
    assert tree.count("uses macros: what it looks up depends on the sender") == 3
    assert result.details[-1] == "total: 3 DNS-querying terms, 0 void lookups"
    # No name with a macro, or what a macro could expand to, was ever asked.
    asked = {question.name for question in evidence.answers}
    assert not [name for name in asked if "%" in name or "_spf" in name or ".x.a.example" in name]


# --- the lookup tree comes with every failure that concerns lookups -------------------------------


@pytest.mark.parametrize(
    ("rule_id", "record", "expect"),
    [
        ("MF-SPF-002", "v=spf1 include:broken.vendor.test -all", None),
        ("MF-SPF-003", None, None),
        ("MF-SPF-004", "v=spf1 a:gone1.a.example a:gone2.a.example a:gone3.a.example -all", None),
        ("MF-SPF-005", "v=spf1 include:open.vendor.test -all", None),
        ("MF-SPF-006", "v=spf1 redirect=neutral.vendor.test", None),
        ("MF-SPF-007", "v=spf1 include:ptr.vendor.test -all", None),
        ("MF-SPF-008", "v=spf1 include:old.vendor.test -all", {"spf": {"include": ["spf.vendor.test"]}}),
        ("MF-SPF-009", "v=spf1 include:nested.vendor.test -all", {"spf": {"forbid_include": ["old.vendor.test"]}}),
        ("MF-SPF-010", "v=spf1 include:text.vendor.test -all", {"spf": {"must_pass": ["192.0.2.1"]}}),
        ("MF-SPF-011", "v=spf1 include:open.vendor.test -all", {"spf": {"must_fail": ["192.0.2.1"]}}),
        ("MF-SPF-013", "v=spf1 include:text.vendor.test -all", None),
        ("MF-SPF-014", "v=spf1 mx:many.a.example -all", None),
    ],
)
def test_every_failure_about_lookups_shows_the_lookup_tree(rule_id, record, expect):
    zones = include_chain(11) if record is None else spf(record, MANY_MX)
    result = finding(rule_id, zones, expect)
    assert not result.passed
    assert result.details[0] == "lookup tree:"
    assert result.details[1].startswith('a.example: "v=spf1 ')
    assert result.details[-1].startswith("total: ")


# --- undetermined evidence -----------------------------------------------------------------------

_RULE_EXPECT: dict[str, dict[str, Any]] = {
    "MF-SPF-015": {"spf": {"only_all": True}},
    "MF-SPF-008": {"spf": {"include": ["spf.vendor.test"]}},
    "MF-SPF-009": {"spf": {"forbid_include": ["old.vendor.test"]}},
    "MF-SPF-010": {"spf": {"must_pass": ["192.0.2.1"]}},
    "MF-SPF-011": {"spf": {"must_fail": ["203.0.113.5"]}},
}


@pytest.mark.parametrize("rule_id", SPF_RULES)
def test_every_spf_rule_is_undetermined_when_the_domain_txt_lookup_fails(rule_id):
    zones = spf("v=spf1 ip4:192.0.2.0/24 include:spf.vendor.test -all")
    dns = Servfail(source(zones), ("a.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding(rule_id, {}, _RULE_EXPECT.get(rule_id), dns=dns)
    assert caught.value.question == Question.of("a.example", "TXT")


@pytest.mark.parametrize("rule_id", SPF_RULES)
def test_every_spf_rule_is_undetermined_outside_the_zones(rule_id):
    with pytest.raises(ResolutionError):
        finding(rule_id, spf("v=spf1 -all"), _RULE_EXPECT.get(rule_id), domain="b.example")


#: Rules whose passing record differs from the shared one below (each has its own tests).
_OWN_CASES = ("MF-SPF-015",)


@pytest.mark.parametrize("rule_id", [r for r in SPF_RULES if r not in _OWN_CASES])
def test_every_spf_rule_has_a_passing_case(rule_id):
    zones = spf("v=spf1 ip4:192.0.2.0/24 include:spf.vendor.test -all")
    found = findings(rule_id, zones, _RULE_EXPECT.get(rule_id))
    assert found
    assert all(f.passed for f in found.values()), [f.summary for f in found.values()]


@pytest.mark.parametrize("rule_id", [r for r in SPF_RULES if r not in _OWN_CASES])
def test_every_spf_rule_has_a_failing_case(rule_id):
    # One bad record that breaks every rule at once (the include list makes it pass 3 lookups and so on).
    # ... and is longer than 450 octets, includes a name without SPF, and has an mx with 11 MX names.
    record = (
        "v=spf1 ip4:203.0.113.0/24 ptr a:gone1.a.example a:gone2.a.example a:gone3.a.example "
        "include:old.vendor.test include:open.vendor.test include:i1.chain.test include:text.vendor.test "
        "mx:many.a.example bogus " + " ".join(f"ip6:2001:db8:{n:x}::/48" for n in range(20)) + " ?all"
    )
    assert len(record) > 450
    zones = {"a.example": f"@ TXT {txt_presentation(record)}\n{MANY_MX}", "vendor.test": VENDOR}
    zones.update({k: v for k, v in include_chain(6).items() if k != "a.example"})
    if rule_id == "MF-SPF-001":
        zones["a.example"] += '\n@ TXT "v=spf1 -all"'
    found = findings(rule_id, zones, _RULE_EXPECT.get(rule_id))
    assert found
    assert not any(f.passed for f in found.values()), [f.summary for f in found.values()]


def test_the_engine_turns_a_resolution_error_into_undetermined():
    zones = include_chain(3, tail=" include:spf.outside.test")
    policy_domain = domain_policy("MF-SPF-003")
    engine = Engine(StaticFactory(source(zones)))
    (check,) = plan(policy_domain)
    with pytest.raises(Undetermined) as caught:
        engine.run(check)
    assert isinstance(caught.value.error, ResolutionError)
    assert caught.value.error.question == Question.of("spf.outside.test", "TXT")
    assert any(line.startswith("spf.outside.test. TXT -> outside the loaded zones") for line in caught.value.consulted)
    assert any(line.startswith('a.example. TXT -> "v=spf1 include:i1.chain.test') for line in caught.value.consulted)


def test_the_engine_judges_the_baseline_scenario():
    text = (
        "mailflow: 1\ndomains:\n  a.example:\n"
        '    expect: {"mx": {"hosts": ["mx.a.example"]}, "spf": {"include": ["spf.vendor.test"], '
        '"forbid_include": ["old.vendor.test"], "must_pass": ["198.51.100.9", "192.0.2.25"], '
        '"must_fail": ["203.0.113.5"]}}\n'
    )
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    zones = spf("v=spf1 mx include:spf.vendor.test -all", "@ MX 10 mx.a.example.\nmx A 192.0.2.25")
    engine = Engine(StaticFactory(source(zones)))
    results = [engine.run(check) for check in plan(policy_domain)]
    baseline = {
        rule_id
        for rule_id in scenarios()["baseline"].rules
        if REGISTRY[rule_id].params(policy_domain) and not REGISTRY[rule_id].needs_fetch
    }
    assert {r.check.rule.id for r in results} == baseline
    # This zone publishes only MX and SPF: judge those families here (DMARC and others have their own tests).
    failed = [
        (r.check.name, r.finding.summary)
        for r in results
        if not r.finding.passed and r.check.rule.family in {"mx", "spf"}
    ]
    assert failed == []


# --- MF-SPF-015: a non-sending domain publishes exactly v=spf1 -all -------------------------------


def test_spf_015_only_all():
    text = "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n    rules: [MF-SPF-015]\n"
    text += "    expect: {spf: {only_all: true}}\n"
    (policy,) = load_policy_text(text, "p.yaml").domains
    for record, passed in [("v=spf1 -all", True), ("v=spf1 ~all", False), ("v=spf1 ip4:192.0.2.1 -all", False)]:
        evidence = gather(GatherRequest.for_policy(policy), source(spf(record)))
        result = REGISTRY["MF-SPF-015"].check(evidence.view(), CheckContext(policy.name, policy))
        assert result.passed is passed, record
    evidence = gather(GatherRequest.for_policy(policy), source({"a.example": ""}))
    assert not REGISTRY["MF-SPF-015"].check(evidence.view(), CheckContext(policy.name, policy)).passed

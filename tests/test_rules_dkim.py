"""DKIM rules MF-DKIM-001..007, judged on evidence gathered from zone files.

The Microsoft 365 CNAME targets (``…onmicrosoft.com``, ``…dkim.mail.microsoft``) stand for recorded data:
test zones for those names serve them, nothing is asked outside the loaded zones.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from pytest_mailflow.dns.base import DnsSource, Question, ResolutionError
from pytest_mailflow.dns.records import txt_presentation
from pytest_mailflow.engine import Engine
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.policy.model import DomainPolicy
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext, Finding, Severity
from pytest_mailflow.rules.dkim import expected_microsoft_forms, microsoft_target
from tests.support.scenario import Servfail, StaticFactory, source

DKIM_RULES = tuple(f"MF-DKIM-00{n}" for n in range(1, 8))
DOMAIN = "contoso.example"
OLD_ZONE = "contoso.onmicrosoft.com"
NEW_ZONE = "contoso.r-v1.dkim.mail.microsoft"
TARGET1 = f"selector1-contoso-example._domainkey.{OLD_ZONE}"
TARGET2 = f"selector2-contoso-example._domainkey.{OLD_ZONE}"
POLICY = (
    "mailflow: 1\ndomains:\n  contoso.example:\n    tenant: contoso\n    expect:\n"
    "      dkim: {selectors: [selector1, selector2], cname: true}\n"
)
M365: dict[str, Any] = {"selectors": ["selector1", "selector2"], "cname": True}


# --- keys (generated once per session) ---------------------------------------------------------------


def _record(public_key: str, key_type: str = "rsa") -> str:
    return f"v=DKIM1; k={key_type}; p={public_key}"


def _spki(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


@pytest.fixture(scope="session")
def key1024() -> str:
    return _record(_spki(rsa.generate_private_key(65537, 1024).public_key()))


@pytest.fixture(scope="session")
def key2048() -> str:
    return _record(_spki(rsa.generate_private_key(65537, 2048).public_key()))


@pytest.fixture(scope="session")
def key512() -> str:
    # cryptography refuses to generate keys below 1024 bits; a public key only needs a modulus.
    n = random.Random(512).getrandbits(512) | (1 << 511) | 1
    return _record(_spki(rsa.RSAPublicNumbers(65537, n).public_key()))


@pytest.fixture(scope="session")
def ed_key() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key()
    data = raw.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _record(base64.b64encode(data).decode("ascii"), "ed25519")


def txt(owner: str, value: str) -> str:
    """A zone line for a TXT record, split into 255-octet strings as a zone file holds long keys."""
    return f"{owner} TXT {txt_presentation(value)}"


# --- harness -----------------------------------------------------------------------------------------


def domain_policy(
    dkim: dict[str, Any] | None = None,
    *,
    tenant: str | None = "contoso",
    cloud: str | None = None,
    rules: tuple[str, ...] = DKIM_RULES,
) -> DomainPolicy:
    text = f"mailflow: 1\ndomains:\n  {DOMAIN}:\n    scenario: custom\n    rules: {json.dumps(list(rules))}\n"
    if tenant is not None:
        text += f"    tenant: {tenant}\n"
    if cloud is not None:
        text += f"    cloud: {cloud}\n"
    text += f"    expect: {json.dumps({'dkim': M365 if dkim is None else dkim})}\n"
    (policy_domain,) = load_policy_text(text, "p.yaml").domains
    return policy_domain


def finding(
    rule_id: str,
    zones: dict[str, str],
    param: str | None = "selector1",
    dkim: dict[str, Any] | None = None,
    *,
    dns: DnsSource | None = None,
    tenant: str | None = "contoso",
    cloud: str | None = None,
) -> Finding:
    policy_domain = domain_policy(dkim, tenant=tenant, cloud=cloud)
    rule = REGISTRY[rule_id]
    assert param in rule.params(policy_domain), f"{rule_id} does not run with {param!r}"
    evidence = gather(GatherRequest.for_policy(policy_domain), dns or source(zones))
    return rule.check(evidence.view(), CheckContext(policy_domain.name, policy_domain, param))


def m365_zones(active: str | None = None, *, inactive: str | None = None) -> dict[str, str]:
    """contoso.example with both selector CNAMEs; selector1's target publishes ``active`` (if any)."""
    body = f"selector1._domainkey CNAME {TARGET1}.\nselector2._domainkey CNAME {TARGET2}.\n"
    targets = "@ A 192.0.2.1\n"  # the zone must hold something besides SOA/NS
    if active is not None:
        targets += txt("selector1-contoso-example._domainkey", active) + "\n"
    if inactive is not None:
        targets += txt("selector2-contoso-example._domainkey", inactive) + "\n"
    return {DOMAIN: body, OLD_ZONE: targets}


# --- the registry ------------------------------------------------------------------------------------


def test_the_registry_has_these_dkim_rules():
    assert sorted(r for r in REGISTRY if r.startswith("MF-DKIM-")) == list(DKIM_RULES)


def test_every_dkim_rule_explains_itself():
    severities = {rule_id: REGISTRY[rule_id].severity for rule_id in DKIM_RULES}
    assert severities == {
        "MF-DKIM-001": Severity.HIGH,
        "MF-DKIM-002": Severity.HIGH,
        "MF-DKIM-003": Severity.HIGH,
        "MF-DKIM-004": Severity.HIGH,
        "MF-DKIM-005": Severity.HIGH,
        "MF-DKIM-006": Severity.LOW,
        "MF-DKIM-007": Severity.MEDIUM,
    }
    for rule_id in DKIM_RULES:
        rule = REGISTRY[rule_id]
        assert rule.family == "dkim"
        assert rule.rationale and rule.remediation and rule.references
        assert rule.expect_keys[0] == "dkim"
        urls = [ref.url for ref in rule.references]
        assert any("rfc-editor.org" in url or "learn.microsoft.com" in url for url in urls)
    references = {str(ref) for rule_id in DKIM_RULES for ref in REGISTRY[rule_id].references}
    assert any("RFC 6376 §3.6.1" in ref for ref in references)
    assert any("RFC 6376 §3.6.2.2" in ref for ref in references)
    assert any("RFC 6376 §6.1.2" in ref for ref in references)
    assert any("RFC 8301 §3.2" in ref for ref in references)
    assert any("defender-office-365/email-authentication-dkim-configure" in ref for ref in references)


def test_the_brief_policy_collects_each_selector():
    (policy_domain,) = load_policy_text(POLICY, "p.yaml").domains
    params = {rule_id: tuple(REGISTRY[rule_id].params(policy_domain)) for rule_id in DKIM_RULES}
    assert params == {
        "MF-DKIM-001": ("selector1", "selector2"),
        "MF-DKIM-002": (None,),
        "MF-DKIM-003": ("selector1", "selector2"),
        "MF-DKIM-004": ("selector1", "selector2"),
        "MF-DKIM-005": ("selector1", "selector2"),
        "MF-DKIM-006": ("selector1", "selector2"),
        "MF-DKIM-007": (),
    }


@pytest.mark.parametrize("dkim", [{}, {"cname": True}, {"min_key_bits": 2048}])
def test_nothing_is_collected_without_selectors(dkim):
    checks = plan(domain_policy(dkim))
    assert checks == []


def test_a_revoked_domain_collects_only_the_revocation_rule():
    checks = plan(domain_policy({"selectors": ["selector1", "selector2"], "cname": True, "revoked": True}))
    assert [check.name for check in checks] == ["MF-DKIM-007[selector1]", "MF-DKIM-007[selector2]"]


def test_the_plan_names_each_check_by_selector():
    names = [check.name for check in plan(domain_policy())]
    assert names == [
        "MF-DKIM-001[selector1]",
        "MF-DKIM-001[selector2]",
        "MF-DKIM-002",
        "MF-DKIM-003[selector1]",
        "MF-DKIM-003[selector2]",
        "MF-DKIM-004[selector1]",
        "MF-DKIM-004[selector2]",
        "MF-DKIM-005[selector1]",
        "MF-DKIM-005[selector2]",
        "MF-DKIM-006[selector1]",
        "MF-DKIM-006[selector2]",
    ]


def test_without_cname_only_key_rules_and_given_targets_are_collected():
    policy_domain = domain_policy({"selectors": ["s1", "s2"], "targets": {"s2": "s2.dkim.vendor.test"}})
    names = [check.name for check in plan(policy_domain)]
    assert "MF-DKIM-003[s1]" not in names
    assert [n for n in names if n.startswith("MF-DKIM-004")] == ["MF-DKIM-004[s2]"]


# --- MF-DKIM-001: the selector publishes a usable key ---------------------------------------------------


def test_dkim_001_passes_for_the_active_selector_through_its_cname(key2048):
    result = finding("MF-DKIM-001", m365_zones(key2048))
    assert result.passed
    assert "publishes a usable 2048-bit RSA key (SubjectPublicKeyInfo)" in result.summary
    assert f"via CNAME {TARGET1}" in result.summary
    assert f"selector1._domainkey.contoso.example CNAME {TARGET1}" in result.observed
    assert any("p=MIIB" in line and "chars)" in line for line in result.observed)


def test_dkim_001_accepts_an_inactive_selector_behind_a_cname(key2048):
    result = finding("MF-DKIM-001", m365_zones(key2048), "selector2")
    assert result.passed
    assert "inactive selector" in result.summary
    assert "NXDOMAIN" in result.summary


def test_dkim_001_accepts_a_revoked_key_behind_a_cname_as_inactive(key2048):
    result = finding("MF-DKIM-001", m365_zones(key2048, inactive="v=DKIM1; k=rsa; p="), "selector2")
    assert result.passed
    assert "revoked" in result.summary and "inactive selector" in result.summary


@pytest.mark.parametrize("fixture", ["key1024", "key2048", "ed_key"])
def test_dkim_001_passes_for_a_direct_txt_key(request, fixture):
    value = request.getfixturevalue(fixture)
    zones = {DOMAIN: txt("mail._domainkey", value)}
    result = finding("MF-DKIM-001", zones, "mail", {"selectors": ["mail"]})
    assert result.passed
    assert "mail._domainkey.contoso.example publishes a usable" in result.summary


def test_dkim_001_passes_with_a_warning_for_testing_mode(key1024):
    zones = {DOMAIN: txt("mail._domainkey", key1024 + "; t=y")}
    result = finding("MF-DKIM-001", zones, "mail", {"selectors": ["mail"]})
    assert result.passed
    assert any("t=y" in line for line in result.details)


def test_dkim_001_fails_without_a_key():
    result = finding("MF-DKIM-001", {DOMAIN: "@ A 192.0.2.1"}, "mail", {"selectors": ["mail"]})
    assert not result.passed
    assert result.summary == "no DKIM key at mail._domainkey.contoso.example (NXDOMAIN)"


def test_dkim_001_with_cname_expected_fails_when_nothing_is_published(key2048):
    zones = m365_zones(key2048)
    zones[DOMAIN] = f"selector1._domainkey CNAME {TARGET1}.\n"
    result = finding("MF-DKIM-001", zones, "selector2")
    assert not result.passed
    assert result.summary == "no CNAME and no DKIM key at selector2._domainkey.contoso.example (NXDOMAIN)"


def test_dkim_001_without_cname_expected_an_alias_to_nothing_fails():
    zones = {DOMAIN: "mail._domainkey CNAME keys.contoso.example.\nkeys A 192.0.2.1"}
    result = finding("MF-DKIM-001", zones, "mail", {"selectors": ["mail"]})
    assert not result.passed
    assert "is an alias for keys.contoso.example, which publishes no DKIM key (NODATA)" in result.summary


def test_dkim_001_fails_for_a_revoked_key():
    zones = {DOMAIN: txt("mail._domainkey", "v=DKIM1; p=")}
    result = finding("MF-DKIM-001", zones, "mail", {"selectors": ["mail"]})
    assert not result.passed
    assert "is revoked (empty p=)" in result.summary


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param("v=DKIM1; k=rsa; p=@@@@", "'p=' is not valid base64", id="bad-base64"),
        pytest.param("v=DKIM1; k=rsa", "no 'p=' tag", id="no-p"),
        pytest.param("v=DKIM2; p=AAAA", "not 'v=DKIM1'", id="bad-version"),
    ],
)
def test_dkim_001_fails_for_an_unusable_record(value, words):
    zones = {DOMAIN: txt("mail._domainkey", value)}
    result = finding("MF-DKIM-001", zones, "mail", {"selectors": ["mail"]})
    assert not result.passed
    assert result.summary.startswith("the key record at mail._domainkey.contoso.example is unusable: ")
    assert words in result.summary


def test_dkim_001_names_a_host_name_pasted_into_a_txt_record():
    zones = {DOMAIN: f'selector1._domainkey TXT "{TARGET1}"'}
    result = finding("MF-DKIM-001", zones)
    assert not result.passed
    assert "holds a host name, not a key" in result.summary


def test_dkim_001_fails_for_two_key_records(key1024, key2048):
    zones = {DOMAIN: txt("mail._domainkey", key1024) + "\n" + txt("mail._domainkey", key2048)}
    result = finding("MF-DKIM-001", zones, "mail", {"selectors": ["mail"]})
    assert not result.passed
    assert "2 TXT records at mail._domainkey.contoso.example" in result.summary
    assert "RFC 6376 §3.6.2.2" in result.summary


def test_dkim_001_is_undetermined_on_servfail(key2048):
    dns = Servfail(source(m365_zones(key2048)), ("selector1._domainkey.contoso.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DKIM-001", {}, dns=dns)
    assert caught.value.cause == "SERVFAIL"


def test_dkim_001_is_undetermined_when_the_cname_target_is_unknown():
    zones = {DOMAIN: f"selector1._domainkey CNAME {TARGET1}.\n"}  # no zone serves the target
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DKIM-001", zones)
    assert caught.value.question == Question.of(TARGET1, "TXT")


# --- MF-DKIM-002: at least one selector has a usable key -----------------------------------------------


def test_dkim_002_passes_when_one_selector_signs(key2048):
    result = finding("MF-DKIM-002", m365_zones(key2048), None)
    assert result.passed
    assert (
        result.summary == "a usable DKIM key is published: selector1 (2048-bit RSA key); selector2: no key (NXDOMAIN)"
    )


def test_dkim_002_passes_when_the_other_selector_is_undetermined(key2048):
    dns = Servfail(source(m365_zones(key2048)), ("selector2._domainkey.contoso.example", "TXT"))
    result = finding("MF-DKIM-002", {}, None, dns=dns)
    assert result.passed
    assert "selector2: undetermined (SERVFAIL)" in result.summary


def test_dkim_002_fails_when_no_selector_has_a_key():
    result = finding("MF-DKIM-002", m365_zones(None, inactive="v=DKIM1; p="), None)
    assert not result.passed
    assert result.summary.startswith("no selector publishes a usable DKIM key")
    assert "selector1: no key (NXDOMAIN)" in result.summary
    assert "selector2: revoked key (empty p=)" in result.summary


def test_dkim_002_is_undetermined_when_no_key_is_known_and_one_selector_fails():
    dns = Servfail(source(m365_zones(None)), ("selector2._domainkey.contoso.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DKIM-002", {}, None, dns=dns)
    assert caught.value.question == Question.of("selector2._domainkey.contoso.example", "TXT")


# --- MF-DKIM-003: Microsoft 365 selectors are CNAMEs -----------------------------------------------------


@pytest.mark.parametrize("param", ["selector1", "selector2"])
def test_dkim_003_passes_for_cnames(key2048, param):
    result = finding("MF-DKIM-003", m365_zones(key2048), param)
    assert result.passed
    assert result.summary.startswith(f"{param}._domainkey.contoso.example is a CNAME to {param}-contoso-example")


def test_dkim_003_uses_the_txt_answer_when_the_cname_question_fails(key2048):
    dns = Servfail(source(m365_zones(key2048)), ("selector1._domainkey.contoso.example", "CNAME"))
    result = finding("MF-DKIM-003", {}, dns=dns)
    assert result.passed
    assert TARGET1 in result.summary


def test_dkim_003_fails_for_a_host_name_pasted_into_txt():
    zones = {DOMAIN: f'selector1._domainkey TXT "{TARGET1}."'}
    result = finding("MF-DKIM-003", zones)
    assert not result.passed
    assert result.summary == (
        f"selector1._domainkey.contoso.example is a TXT record holding the host name {TARGET1}, not a CNAME to it: "
        "the target was pasted into a TXT record, so no key is published"
    )


def test_dkim_003_fails_for_a_copied_key(key2048):
    zones = {DOMAIN: txt("selector1._domainkey", key2048)}
    result = finding("MF-DKIM-003", zones)
    assert not result.passed
    assert "publishes the key as a TXT record, not a CNAME" in result.summary
    assert "stale" in result.summary


def test_dkim_003_fails_when_nothing_is_published():
    result = finding("MF-DKIM-003", {DOMAIN: "@ A 192.0.2.1"})
    assert not result.passed
    assert "is not a CNAME: nothing is published there (NXDOMAIN)" in result.summary


def test_dkim_003_fails_for_another_txt_record():
    result = finding("MF-DKIM-003", {DOMAIN: 'selector1._domainkey TXT "hello world"'})
    assert not result.passed
    assert result.summary == "selector1._domainkey.contoso.example is a TXT record, not a CNAME to Microsoft 365's key"


def test_dkim_003_is_undetermined_when_both_questions_fail(key2048):
    name = "selector1._domainkey.contoso.example"
    dns = Servfail(source(m365_zones(key2048)), (name, "CNAME"), (name, "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding("MF-DKIM-003", {}, dns=dns)
    assert caught.value.question == Question.of(name, "CNAME")


def test_dkim_003_is_not_collected_without_cname():
    assert tuple(REGISTRY["MF-DKIM-003"].params(domain_policy({"selectors": ["selector1"]}))) == ()


# --- MF-DKIM-004: the CNAME target ---------------------------------------------------------------------


def cname_zone(target: str, selector: str = "selector1") -> dict[str, str]:
    return {DOMAIN: f"{selector}._domainkey CNAME {target}."}


def test_dkim_004_passes_for_the_old_form(key2048):
    result = finding("MF-DKIM-004", m365_zones(key2048))
    assert result.passed
    assert "old form" in result.summary
    assert "tenant 'contoso'" in result.summary
    assert "token contoso-example" in result.summary


@pytest.mark.parametrize(
    ("target", "partition"),
    [
        pytest.param(f"selector1-contoso-example._domainkey.{NEW_ZONE}", "r", id="r-v1"),
        pytest.param(
            "Selector1-Contoso-Example01b2c._domainkey.Contoso.Y-v1.dkim.mail.microsoft", "y", id="mixed-case-suffix"
        ),
        pytest.param("selector1-contoso-example._domainkey.contoso.n-v2.dkim.mail.microsoft", "n", id="interim-n-v2"),
    ],
)
def test_dkim_004_passes_for_the_new_form(target, partition):
    result = finding("MF-DKIM-004", cname_zone(target))
    assert result.passed
    assert "new form" in result.summary
    assert f"partition '{partition}'" in result.summary
    assert "tenant 'contoso'" in result.summary


def test_dkim_004_new_form_served_by_a_zone(key2048):
    zones = {
        DOMAIN: f"selector1._domainkey CNAME selector1-contoso-example._domainkey.{NEW_ZONE}.",
        NEW_ZONE: txt("selector1-contoso-example._domainkey", key2048),
    }
    assert finding("MF-DKIM-004", zones).passed
    assert finding("MF-DKIM-001", zones).passed


def test_dkim_004_without_a_tenant_accepts_any_tenant():
    target = "selector1-contoso-example._domainkey.fabrikam.onmicrosoft.com"
    result = finding("MF-DKIM-004", cname_zone(target), tenant=None)
    assert result.passed
    assert "tenant 'fabrikam'" in result.summary


@pytest.mark.parametrize(
    "wanted", [TARGET1, TARGET1.upper() + ".", "Selector1-Contoso-Example._DomainKey.contoso.onmicrosoft.com"]
)
def test_dkim_004_passes_for_the_exact_target(key2048, wanted):
    dkim = {**M365, "targets": {"selector1": wanted}}
    result = finding("MF-DKIM-004", m365_zones(key2048), dkim=dkim)
    assert result.passed
    assert result.summary == f"selector1._domainkey.contoso.example is a CNAME to {TARGET1}, as the policy expects"


def test_dkim_004_exact_target_for_a_third_party_without_cname_flag():
    dkim = {"selectors": ["s1"], "targets": {"s1": "s1.dkim.vendor.test"}}
    assert finding("MF-DKIM-004", cname_zone("s1.dkim.vendor.test", "s1"), "s1", dkim).passed
    result = finding("MF-DKIM-004", cname_zone("s1.dkim.other.test", "s1"), "s1", dkim)
    assert not result.passed
    assert (
        result.summary
        == "s1._domainkey.contoso.example CNAME target differs: expected s1.dkim.vendor.test, found s1.dkim.other.test"
    )


def test_dkim_004_fails_for_a_different_exact_target(key2048):
    dkim = {**M365, "targets": {"selector1": f"selector1-contoso-example01._domainkey.{OLD_ZONE}"}}
    result = finding("MF-DKIM-004", m365_zones(key2048), dkim=dkim)
    assert not result.passed
    assert f"expected selector1-contoso-example01._domainkey.{OLD_ZONE}, found {TARGET1}" in result.summary


def test_dkim_004_fails_for_another_tenant():
    result = finding("MF-DKIM-004", cname_zone("selector1-contoso-example._domainkey.fabrikam.onmicrosoft.com"))
    assert not result.passed
    assert "points at tenant 'fabrikam', not the policy's tenant 'contoso'" in result.summary
    assert "expected selector1-<token>._domainkey.contoso.onmicrosoft.com or " in result.summary


def test_dkim_004_fails_when_the_selectors_are_swapped():
    result = finding("MF-DKIM-004", cname_zone(TARGET2))
    assert not result.passed
    assert "does not belong to selector1 (it is selector2's target)" in result.summary


@pytest.mark.parametrize(
    "target",
    [
        "selector1.dkim.vendor.test",
        "selector1-contoso-example._domainkey.contoso.onmicrosoft.example",
        "selector1-contoso-example._domainkey.contoso.rv-v1.dkim.mail.microsoft",
        "selector1-contoso-example.contoso.onmicrosoft.com",
    ],
)
def test_dkim_004_fails_for_a_host_that_is_not_microsofts(target):
    result = finding("MF-DKIM-004", cname_zone(target))
    assert not result.passed
    assert "is not a Microsoft 365 DKIM host" in result.summary
    assert (
        "expected selector1-<token>._domainkey.contoso.onmicrosoft.com or "
        "selector1-<token>._domainkey.contoso.<c>-v1.dkim.mail.microsoft" in result.summary
    )
    assert f"found {target}" in result.summary


def test_dkim_004_fails_for_a_missing_token():
    result = finding("MF-DKIM-004", cname_zone(f"selector1-._domainkey.{OLD_ZONE}"))
    assert not result.passed
    assert "does not belong to selector1 (wrong first label)" in result.summary


def test_dkim_004_fails_when_there_is_no_cname(key2048):
    result = finding("MF-DKIM-004", {DOMAIN: txt("selector1._domainkey", key2048)})
    assert not result.passed
    assert result.summary == (
        "selector1._domainkey.contoso.example is not a CNAME: expected a CNAME to "
        "selector1-<token>._domainkey.contoso.onmicrosoft.com or "
        "selector1-<token>._domainkey.contoso.<c>-v1.dkim.mail.microsoft, found a TXT record instead"
    )
    assert finding("MF-DKIM-004", {DOMAIN: "@ A 192.0.2.1"}).summary.endswith("found no CNAME (NXDOMAIN)")


def test_dkim_004_sovereign_cloud_targets():
    us_target = "selector1-contoso-example._domainkey.contoso.onmicrosoft.us"
    assert finding("MF-DKIM-004", cname_zone(us_target), cloud="gcc-high").passed
    result = finding("MF-DKIM-004", cname_zone(TARGET1), cloud="gcc-high")
    assert not result.passed
    assert "for another Microsoft cloud than 'gcc-high'" in result.summary
    assert "expected selector1-<token>._domainkey.contoso.onmicrosoft.us" in result.summary
    assert not finding("MF-DKIM-004", cname_zone(us_target)).passed


def test_dkim_004_is_undetermined_when_both_questions_fail():
    name = "selector1._domainkey.contoso.example"
    dns = Servfail(source(cname_zone(TARGET1)), (name, "CNAME"), (name, "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-DKIM-004", {}, dns=dns)


def test_microsoft_target_parts():
    old = microsoft_target(TARGET1 + ".")
    assert old is not None
    assert (old.form, old.first, old.tenant, old.suffix) == (
        "old",
        "selector1-contoso-example",
        "contoso",
        "onmicrosoft.com",
    )
    new = microsoft_target("selector2-a-example._domainkey.t1.q-v1.dkim.mail.microsoft")
    assert new is not None
    assert (new.form, new.tenant, new.partition) == ("new", "t1", "q")
    assert microsoft_target("dkim.vendor.test") is None
    assert expected_microsoft_forms("selector2", None, "worldwide") == [
        "selector2-<token>._domainkey.<tenant>.onmicrosoft.com",
        "selector2-<token>._domainkey.<tenant>.<c>-v1.dkim.mail.microsoft",
    ]


# --- MF-DKIM-005 / 006: RSA key sizes -------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "bits"), [("key1024", 1024), ("key2048", 2048)])
def test_dkim_005_passes_at_or_above_1024_bits(request, fixture, bits):
    result = finding("MF-DKIM-005", m365_zones(request.getfixturevalue(fixture)))
    assert result.passed
    assert f"publishes a {bits}-bit RSA key (at least 1024)" in result.summary


def test_dkim_005_fails_below_1024_bits(key512):
    result = finding("MF-DKIM-005", m365_zones(key512))
    assert not result.passed
    assert "publishes a 512-bit RSA key; expected at least 1024 bits" in result.summary
    assert "RFC 8301 §3.2" in result.summary


def test_dkim_005_fails_below_the_policys_minimum(key1024):
    result = finding("MF-DKIM-005", m365_zones(key1024), dkim={**M365, "min_key_bits": 2048})
    assert not result.passed
    assert "1024-bit RSA key; expected at least 2048 bits (expect.dkim.min_key_bits)" in result.summary


@pytest.mark.parametrize("rule_id", ["MF-DKIM-005", "MF-DKIM-006"])
def test_key_size_rules_pass_for_ed25519(ed_key, rule_id):
    result = finding(rule_id, m365_zones(ed_key))
    assert result.passed
    assert "Ed25519 key; RSA sizes do not apply" in result.summary


@pytest.mark.parametrize("rule_id", ["MF-DKIM-005", "MF-DKIM-006"])
def test_key_size_rules_pass_without_a_key(key2048, rule_id):
    result = finding(rule_id, m365_zones(key2048), "selector2")
    assert result.passed
    assert "no key to measure" in result.summary
    assert "MF-DKIM-001" in result.summary


def test_dkim_006_passes_at_2048_bits(key2048):
    result = finding("MF-DKIM-006", m365_zones(key2048))
    assert result.passed
    assert "2048-bit RSA key (at least 2048)" in result.summary


def test_dkim_006_recommends_2048_bits(key1024):
    result = finding("MF-DKIM-006", m365_zones(key1024))
    assert not result.passed
    assert "publishes a 1024-bit RSA key; expected at least 2048 bits" in result.summary
    assert "SHOULD" in result.summary and "Microsoft recommends 2048" in result.summary


@pytest.mark.parametrize("rule_id", ["MF-DKIM-005", "MF-DKIM-006"])
def test_key_size_rules_are_undetermined_on_servfail(key2048, rule_id):
    dns = Servfail(source(m365_zones(key2048)), ("selector1._domainkey.contoso.example", "TXT"))
    with pytest.raises(ResolutionError) as caught:
        finding(rule_id, {}, dns=dns)
    assert caught.value.cause == "SERVFAIL"


# --- MF-DKIM-007: parked domains ------------------------------------------------------------------------

PARKED = {"selectors": ["selector1", "selector2"], "revoked": True}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param("@ A 192.0.2.1", "publishes no key (NXDOMAIN)", id="absent"),
        pytest.param(txt("selector1._domainkey", "v=DKIM1; p="), "is revoked (empty p=)", id="revoked"),
        pytest.param(
            txt("selector1._domainkey", "v=DKIM1; k=rsa; p= ; n=gone"), "is revoked (empty p=)", id="revoked-with-notes"
        ),
        pytest.param(
            "selector1._domainkey CNAME gone.contoso.example.", "the CNAME itself can be removed", id="dangling-cname"
        ),
        pytest.param('selector1._domainkey TXT "hello"', "holds no DKIM key", id="not-a-key"),
    ],
)
def test_dkim_007_passes_when_no_key_is_live(body, words):
    result = finding("MF-DKIM-007", {DOMAIN: body}, dkim=PARKED)
    assert result.passed
    assert words in result.summary


def test_dkim_007_fails_for_a_live_key(key2048):
    result = finding("MF-DKIM-007", {DOMAIN: txt("selector1._domainkey", key2048)}, dkim=PARKED)
    assert not result.passed
    assert "publishes a key (2048-bit RSA key) although the domain sends no mail" in result.summary
    assert "revoked one (empty p=)" in result.summary


def test_dkim_007_fails_for_a_live_key_behind_a_cname(key1024):
    result = finding("MF-DKIM-007", m365_zones(key1024), dkim=PARKED)
    assert not result.passed
    assert f"via CNAME {TARGET1}" in result.summary


def test_dkim_007_fails_even_for_an_unusable_key():
    body = txt("selector1._domainkey", "v=DKIM1; h=sha1; p=AAAA")
    result = finding("MF-DKIM-007", {DOMAIN: body}, dkim=PARKED)
    assert not result.passed


def test_dkim_007_is_undetermined_on_servfail():
    dns = Servfail(source({DOMAIN: "@ A 192.0.2.1"}), ("selector1._domainkey.contoso.example", "TXT"))
    with pytest.raises(ResolutionError):
        finding("MF-DKIM-007", {}, dkim=PARKED, dns=dns)


# --- every rule outside the zones, and through the engine -----------------------------------------------


@pytest.mark.parametrize(
    ("rule_id", "param", "dkim"),
    [
        ("MF-DKIM-001", "selector1", None),
        ("MF-DKIM-002", None, None),
        ("MF-DKIM-003", "selector1", None),
        ("MF-DKIM-004", "selector1", None),
        ("MF-DKIM-005", "selector1", None),
        ("MF-DKIM-006", "selector1", None),
        ("MF-DKIM-007", "selector1", PARKED),
    ],
)
def test_every_dkim_rule_is_undetermined_outside_the_zones(rule_id, param, dkim):
    with pytest.raises(ResolutionError):
        finding(rule_id, {"other.example": "@ A 192.0.2.1"}, param, dkim)


def test_the_engine_judges_every_dkim_check_from_one_gathering(key2048):
    engine = Engine(StaticFactory(source(m365_zones(key2048))))
    results = {r.check.name: r.finding for r in (engine.run(check) for check in plan(domain_policy()))}
    failed = sorted(name for name, result in results.items() if not result.passed)
    assert failed == []
    assert results["MF-DKIM-001[selector2]"].passed
    assert "inactive selector" in results["MF-DKIM-001[selector2]"].summary


def test_dkim_004_takes_the_exact_target_from_the_tenant_export():
    from pytest_mailflow.tenant.model import DkimSigningConfig, Located, TenantExport

    exported = "selector1-contoso-example02b._domainkey.contoso.onmicrosoft.com"
    tenant = TenantExport(
        "export.json",
        dkim=(DkimSigningConfig("contoso.example", Located("export.json", 40), True, "Valid", exported, None),),
    )
    policy = domain_policy({"selectors": ["selector1"], "cname": True})
    for target, passed in [(exported, True), ("selector1-contoso-example._domainkey.contoso.onmicrosoft.com", False)]:
        zones = {"contoso.example": f"selector1._domainkey CNAME {target}."}
        evidence = gather(GatherRequest.for_policy(policy), source(zones))
        evidence.tenant = tenant
        result = REGISTRY["MF-DKIM-004"].check(evidence.view(), CheckContext(policy.name, policy, "selector1"))
        assert result.passed is passed
        assert "Get-DkimSigningConfig says (export.json:40)" in result.summary

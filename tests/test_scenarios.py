"""The scenario examples (examples/scenarios/) end to end: each passes as shipped, and each breaks as
Microsoft's guidance says it can, failing with exactly the rules that describe the break.

Every broken variant is built at test time from the example's own zone file and tenant export with one
change, recorded into cassettes in a temporary folder, and run through pytest with the plugin.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_mailflow.policy.load import load_policy
from pytest_mailflow.policy.scenarios import CUSTOM, scenarios
from tests.support.record_examples import PROVIDERS, record
from tests.support.scenario import write_policy_with_cassettes

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "examples" / "scenarios"
ZONES = SCENARIOS / "zones"

#: The domain each scenario example checks (parked has two; its variants break the first).
DOMAIN = {
    "cloud-only": "northwind.example",
    "cloud-only-migration": "adatum.example",
    "third-party-filter": "tailspin.example",
    "third-party-archive": "woodgrove.example",
    "hybrid-mx-m365": "litware.example",
    "hybrid-mx-m365-cmt": "proseware.example",
    "hybrid-mx-on-premises-cmt": "wingtip.example",
    "hybrid-mx-on-premises-relay": "lucerne.example",
    "third-party-filter-hybrid": "relecloud.example",
    "device-sending": "alpineski.example",
    "eop-standalone": "fourthcoffee.example",
    "parked": "northwindtraders.example",
}

#: Items each scenario example collects with `pytest --mailflow examples/` (no MTA-STS fetching).
ITEMS = {
    "cloud-only": 66,
    "cloud-only-migration": 68,
    "third-party-filter": 65,
    "third-party-archive": 63,
    "hybrid-mx-m365": 67,
    "hybrid-mx-m365-cmt": 66,
    "hybrid-mx-on-premises-cmt": 63,
    "hybrid-mx-on-premises-relay": 63,
    "third-party-filter-hybrid": 64,
    "device-sending": 67,
    "eop-standalone": 54,
    "parked": 62,  # two domains, 31 each
}
#: Items of examples/contoso.yaml.
CONTOSO_ITEMS = 109

Export = dict[str, Any]


# --- building a variant ----------------------------------------------------------------------------


def swap(old: str, new: str) -> Callable[[str], str]:
    """A zone edit that replaces text occurring exactly once (so an edit cannot silently miss)."""

    def edit(text: str) -> str:
        assert text.count(old) == 1, f"expected {old!r} once in the zone"
        return text.replace(old, new)

    return edit


def add(line: str) -> Callable[[str], str]:
    return lambda text: f"{text.rstrip()}\n{line}\n"


def _one(connectors: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The connector called ``name``; ``HCW`` stands for the one the Hybrid Configuration Wizard made."""
    found = [c for c in connectors if (c["ConnectorSource"] == "HybridWizard" if name == HCW else c["Name"] == name)]
    assert len(found) == 1, f"no single connector {name!r}"
    return found[0]


def inbound(export: Export, name: str) -> dict[str, Any]:
    return _one(export["inbound_connectors"], name)


def outbound(export: Export, name: str) -> dict[str, Any]:
    return _one(export["outbound_connectors"], name)


def set_in(name: str, **props: Any) -> Callable[[Export], None]:
    return lambda export: inbound(export, name).update(props)


def set_out(name: str, **props: Any) -> Callable[[Export], None]:
    return lambda export: outbound(export, name).update(props)


def drop_in(name: str) -> Callable[[Export], None]:
    return lambda export: export["inbound_connectors"].remove(inbound(export, name))


def drop_out(name: str) -> Callable[[Export], None]:
    return lambda export: export["outbound_connectors"].remove(outbound(export, name))


def domain_type(kind: str) -> Callable[[Export], None]:
    def edit(export: Export) -> None:
        (entry,) = [d for d in export["accepted_domains"] if d["Default"]]
        entry["DomainType"] = kind

    return edit


def new_in(**props: Any) -> Callable[[Export], None]:
    """Add an inbound connector (the properties a connector made in the admin centre would carry)."""
    connector = {
        "Enabled": True,
        "ConnectorSource": "Default",
        "SenderIPAddresses": [],
        "SenderDomains": ["smtp:*;1"],
        "RequireTls": False,
        "RestrictDomainsToIPAddresses": False,
        "RestrictDomainsToCertificate": False,
        **props,
    }
    return lambda export: export["inbound_connectors"].append(connector)


def dkim_config(**props: Any) -> Callable[[Export], None]:
    def edit(export: Export) -> None:
        (config,) = export["dkim_signing_config"]
        config.update(props)

    return edit


def organization(**props: Any) -> Callable[[Export], None]:
    return lambda export: export["organization"].update(props)


@dataclass(frozen=True)
class Variant:
    zone: tuple[Callable[[str], str], ...] = ()
    tenant: tuple[Callable[[Export], None], ...] = ()
    #: The last part of the node ID of every test that must fail (rule ID, with its parameter).
    fails: frozenset[str] = field(default_factory=frozenset)


def variant(
    *,
    zone: tuple[Callable[[str], str], ...] = (),
    tenant: tuple[Callable[[Export], None], ...] = (),
    fails: set[str],
) -> Variant:
    return Variant(zone, tenant, frozenset(fails))


FILTER = "Inbound from the filtering service"
#: The Hybrid Configuration Wizard's connectors ("Inbound from <id>", "Outbound to <id>").
HCW = "(made by the Hybrid Configuration Wizard)"
LOCK_DOWN = "Lock-down: only from on-premises"
ARCHIVE_IN = "Inbound from the archiving service"
ARCHIVE_OUT = "To the archiving service"
DEVICES = "Scanners and applications (SMTP relay)"
EOP_OUT = "To the on-premises mail servers"
MS_MX = "mail.protection.outlook.com."


VARIANTS: dict[str, dict[str, Variant]] = {
    "cloud-only": {
        "MX at the old provider": variant(
            zone=(swap(f"MX    0 northwind-example.{MS_MX}", "MX    10 mx1.oldmail.example."),),
            fails={"MF-MX-008"},
        ),
        "old provider's MX beside Microsoft's": variant(
            zone=(add("@ MX 10 mx1.oldmail.example."),),
            fails={"MF-MX-005", "MF-MX-008"},
        ),
        "lock-down connector although the MX points at Microsoft 365": variant(
            tenant=(
                new_in(
                    Name="Only from the gateway",
                    ConnectorType="Partner",
                    SenderIPAddresses=["192.0.2.0/25"],
                    RestrictDomainsToIPAddresses=True,
                ),
            ),
            fails={"MF-CONN-021"},
        ),
        "accepted domain ExternalRelay": variant(tenant=(domain_type("ExternalRelay"),), fails={"MF-CONN-024"}),
        "DKIM CNAME other than Get-DkimSigningConfig's": variant(
            tenant=(
                dkim_config(Selector2CNAME="selector2-northwind-example._domainkey.northwind.r-v1.dkim.mail.microsoft"),
            ),
            fails={"MF-DKIM-004[selector2]"},
        ),
    },
    "cloud-only-migration": {
        "old provider's include left in SPF": variant(
            zone=(swap("-all", "include:spf.oldmail.example -all"),),
            fails={"MF-SPF-009[spf.oldmail.example]"},
        ),
        "old provider's MX left as a fallback": variant(
            zone=(add("@ MX 10 mx2.oldmail.example."),),
            fails={"MF-MX-005", "MF-MX-008", "MF-MX-009[mx2.oldmail.example]"},
        ),
    },
    "third-party-filter": {
        "no lock-down connector": variant(tenant=(drop_in(FILTER),), fails={"MF-CONN-016", "MF-CONN-017"}),
        "Enhanced Filtering in test mode": variant(tenant=(set_in(FILTER, EFTestMode=True),), fails={"MF-CONN-017"}),
        "lock-down by certificate without RequireTls": variant(
            tenant=(set_in(FILTER, RequireTls=False),), fails={"MF-CONN-016"}
        ),
        "the service's include in SPF although it sends nothing": variant(
            zone=(swap("v=spf1 include:", "v=spf1 include:spf.filter.example include:"),),
            fails={"MF-SPF-009[spf.filter.example]"},
        ),
    },
    "third-party-archive": {
        "no Enhanced Filtering": variant(tenant=(set_in(ARCHIVE_IN, EFSkipLastIP=False),), fails={"MF-CONN-017"}),
        "outbound connector to the service without certificate validation": variant(
            tenant=(set_out(ARCHIVE_OUT, TlsSettings="EncryptionOnly", TlsDomain=None),), fails={"MF-CONN-022"}
        ),
        "SPF without the service": variant(
            zone=(swap("include:spf.archive.example", "include:spf.protection.outlook.com"),),
            fails={"MF-SPF-008[spf.archive.example]"},
        ),
    },
    "hybrid-mx-m365": {
        "centralized mail transport switched on": variant(
            tenant=(set_out(HCW, RouteAllMessagesViaOnPremises=True),), fails={"MF-CONN-020"}
        ),
        "outbound connector to on-premises looks up the MX": variant(
            tenant=(set_out(HCW, UseMXRecord=True),), fails={"MF-CONN-019"}
        ),
    },
    "hybrid-mx-m365-cmt": {
        "RouteAllMessagesViaOnPremises false": variant(
            tenant=(set_out(HCW, RouteAllMessagesViaOnPremises=False),), fails={"MF-CONN-020"}
        ),
        "Enhanced Filtering on the hybrid connector": variant(
            tenant=(set_in(HCW, EFSkipIPs=["203.0.113.20"]),), fails={"MF-CONN-005"}
        ),
        "an on-premises egress address missing from SPF": variant(
            zone=(swap("ip4:203.0.113.21 ", ""),), fails={"MF-SPF-010[203.0.113.21]"}
        ),
    },
    "hybrid-mx-on-premises-cmt": {
        "on-premises egress missing from SPF": variant(
            zone=(swap("ip4:203.0.113.30 ", ""),), fails={"MF-SPF-010[203.0.113.30]"}
        ),
        "no lock-down connector": variant(tenant=(drop_in(LOCK_DOWN),), fails={"MF-CONN-016"}),
        "MX at Microsoft 365 instead of on-premises": variant(
            zone=(swap("MX    10 mail.wingtip.example.", f"MX    0 wingtip-example.{MS_MX}"),), fails={"MF-MX-001"}
        ),
    },
    "hybrid-mx-on-premises-relay": {
        "inbound connector by IP address instead of certificate": variant(
            tenant=(set_in(HCW, TlsSenderCertificateName=None, SenderIPAddresses=["203.0.113.40"]),),
            fails={"MF-CONN-013", "MF-CONN-014", "MF-CONN-018"},
        ),
        "no lock-down connector": variant(tenant=(drop_in(LOCK_DOWN),), fails={"MF-CONN-016"}),
    },
    "third-party-filter-hybrid": {
        "the service's MX missing": variant(
            zone=(
                swap("MX    10 mx1.filter.example.", f"MX    0 relecloud-example.{MS_MX}"),
                swap("@               MX    20 mx2.filter.example.\n", ""),
            ),
            fails={"MF-MX-001"},
        ),
        "Enhanced Filtering for some recipients only": variant(
            tenant=(set_in(FILTER, EFUsers=["finance@relecloud.example"]),), fails={"MF-CONN-017"}
        ),
        "on-premises connector by IP address instead of certificate": variant(
            tenant=(set_in(HCW, TlsSenderCertificateName=None, SenderIPAddresses=["203.0.113.50"]),),
            fails={"MF-CONN-013", "MF-CONN-014", "MF-CONN-018"},
        ),
    },
    "device-sending": {
        "a device's address missing from SPF": variant(
            zone=(swap("ip4:198.51.100.26 ", ""),), fails={"MF-SPF-010[198.51.100.26]"}
        ),
        "a connector for direct send": variant(
            tenant=(
                new_in(
                    Name="Scanner (direct send)",
                    ConnectorType="Partner",
                    SenderDomains=["smtp:alpineski.example;1"],
                    SenderIPAddresses=["198.51.100.25"],
                ),
                organization(RejectDirectSend=False),
            ),
            fails={"MF-CONN-015", "MF-CONN-023"},
        ),
        "relay connector for a whole network": variant(
            tenant=(set_in(DEVICES, SenderIPAddresses=["198.51.100.0/24"]),), fails={"MF-CONN-025"}
        ),
    },
    "eop-standalone": {
        "no outbound connector to on-premises": variant(tenant=(drop_out(EOP_OUT),), fails={"MF-CONN-019"}),
        "on-premises egress missing from SPF": variant(
            zone=(swap("ip4:203.0.113.60 ", ""),), fails={"MF-SPF-010[203.0.113.60]"}
        ),
    },
    "parked": {
        "a live DKIM key": variant(
            zone=(add("selector1._domainkey CNAME selector1-northwind-example._domainkey.northwind.onmicrosoft.com."),),
            fails={"MF-DKIM-007[selector1]"},
        ),
        "an include in SPF": variant(
            zone=(swap('"v=spf1 -all"', '"v=spf1 include:spf.protection.outlook.com -all"'),), fails={"MF-SPF-015"}
        ),
        "a mail server in the MX": variant(
            zone=(swap("MX    0 .", f"MX    0 northwind-example.{MS_MX}"),), fails={"MF-MX-001"}
        ),
    },
}


def zone_texts() -> dict[str, str]:
    return {path.name.removesuffix(".zone"): path.read_text(encoding="utf-8") for path in sorted(ZONES.glob("*.zone"))}


def build(folder: Path, scenario: str, broken: Variant) -> Path:
    """The scenario example in ``folder``, with the variant's edits, recorded into cassettes there."""
    zones = zone_texts()
    domain = DOMAIN[scenario]
    for edit in broken.zone:
        zones[domain] = edit(zones[domain])
    policy = (SCENARIOS / f"{scenario}.yaml").read_text(encoding="utf-8")
    export = SCENARIOS / "tenant" / f"{scenario}.json"
    if export.exists():
        data = json.loads(export.read_text(encoding="utf-8"))
        for change in broken.tenant:
            change(data)
        (folder / "tenant").mkdir(parents=True, exist_ok=True)
        (folder / "tenant" / export.name).write_text(json.dumps(data, indent=2), encoding="utf-8")
    else:
        assert not broken.tenant, f"{scenario} has no tenant export to edit"
    return write_policy_with_cassettes(folder, f"{scenario}.yaml", policy, zones)


def run(pytester: pytest.Pytester) -> tuple[set[str], set[str]]:
    """Run the plugin on the pytester folder: the failed tests' (domain, last node ID part)s and errors."""
    events = pytester.inline_run("--mailflow", "-p", "no:cacheprovider")
    failed = {r.nodeid for r in events.getfailures() if r.when == "call"}
    errors = {r.nodeid for r in events.getfailures() if r.when != "call"}
    return failed, errors


CASES = [(scenario, name) for scenario, variants in VARIANTS.items() for name in variants]


# --- the tests -------------------------------------------------------------------------------------


def test_every_scenario_has_an_example_and_broken_variants() -> None:
    pack = set(scenarios()) - {CUSTOM, "baseline"}
    assert set(DOMAIN) == pack
    assert set(VARIANTS) == pack
    assert {p.stem for p in SCENARIOS.glob("*.yaml")} == pack


@pytest.mark.parametrize("scenario", sorted(DOMAIN))
def test_example_uses_its_scenario(scenario: str) -> None:
    policy = load_policy(SCENARIOS / f"{scenario}.yaml")
    assert policy.domains
    assert {d.scenario for d in policy.domains} == {scenario}
    assert DOMAIN[scenario] in {d.name for d in policy.domains}
    for domain in policy.domains:
        # Every scenario with connector rules of its own names the export that exercises them.
        expected = None if scenario == "parked" else f"tenant/{scenario}.json"
        assert domain.tenant_export == expected
        if expected:
            assert (SCENARIOS / expected).is_file()


def test_scenario_cassettes_are_reproducible(tmp_path: Path) -> None:
    copy = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, copy, ignore=shutil.ignore_patterns("cassettes"))
    written = record(copy, copy / "zones", PROVIDERS)
    shipped = sorted(p.name for p in (SCENARIOS / "cassettes").glob("*.yaml"))
    assert sorted(p.name for p in written) == shipped
    for path in written:
        original = SCENARIOS / "cassettes" / path.name
        assert path.read_text() == original.read_text(), f"{original} is stale: python -m tests.support.record_examples"


def test_all_examples_pass_offline(pytester: pytest.Pytester) -> None:
    # The whole examples/ folder, as `pytest --mailflow examples/` sees it in the repository.
    shutil.copytree(ROOT / "examples", pytester.path / "examples", ignore=shutil.ignore_patterns("*.ps1"))
    result = pytester.runpytest("--mailflow", "examples", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=CONTOSO_ITEMS + sum(ITEMS.values()))
    collected = pytester.runpytest("--mailflow", "examples", "--collect-only", "-q", "-p", "no:cacheprovider")
    per_file: dict[str, int] = {}
    for line in collected.outlines:
        if "::" in line:
            file = line.split("::", 1)[0]
            per_file[file] = per_file.get(file, 0) + 1
    assert per_file == {
        "examples/contoso.yaml": CONTOSO_ITEMS,
        **{f"examples/scenarios/{scenario}.yaml": count for scenario, count in ITEMS.items()},
    }


@pytest.mark.parametrize("scenario", sorted(DOMAIN))
def test_example_passes_when_rebuilt(pytester: pytest.Pytester, scenario: str) -> None:
    # The harness the variants use gives a clean run on the unchanged example.
    build(Path(pytester.path), scenario, Variant())
    failed, errors = run(pytester)
    assert not errors
    assert not failed


@pytest.mark.parametrize(("scenario", "name"), CASES, ids=[f"{s}: {n}" for s, n in CASES])
def test_broken_variant_fails_with_exactly_the_expected_rules(
    pytester: pytest.Pytester, scenario: str, name: str
) -> None:
    broken = VARIANTS[scenario][name]
    build(Path(pytester.path), scenario, broken)
    failed, errors = run(pytester)
    assert not errors
    assert {nodeid.split("::")[-1] for nodeid in failed} == broken.fails
    assert {nodeid.split("::")[-2] for nodeid in failed} == {DOMAIN[scenario]}

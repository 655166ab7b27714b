"""The benchmark's parts: synthetic domains that pass or fail as designed, the latency proxy, and one
small end-to-end run of ``python -m benchmarks.run``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.synth import BREAKAGES, FAMILIES, domains, write
from pytest_mailflow.dns.base import Question
from pytest_mailflow.dns.live import LiveSource, Server
from pytest_mailflow.dns.zone import ZoneSource, load_zone_text
from pytest_mailflow.engine import Engine, Undetermined
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import load_policy
from tests.support.knot import KnotServer, require_knotd

#: What each breakage fails (and nothing else may fail): the rule that names the mistake, and the rules
#: that follow from it (without DMARC there is no policy and no reporting; with two SPF records every
#: SPF evaluation is a permerror, so an address that must fail does not).
EXPECTED_FAILURES = {
    "plus-all": {"MF-SPF-005", "MF-SPF-006", "MF-SPF-011"},
    "no-dmarc": {"MF-DMARC-001", "MF-DMARC-003", "MF-DMARC-007"},
    "dkim-typo": {"MF-DKIM-002"},
    "two-spf": {"MF-SPF-001", "MF-SPF-008", "MF-SPF-011"},
}
#: Where the family changes what a breakage fails.
FAMILY_FAILURES = {
    ("cloud-only", "mx-elsewhere"): {"MF-MX-008"},  # the MX must be Exchange Online's endpoint
    ("hybrid-mx-m365", "mx-elsewhere"): {"MF-MX-005", "MF-MX-008"},
    ("third-party-filter", "mx-elsewhere"): {"MF-MX-001"},  # the MX must be the filter's hosts
    ("hybrid-mx-m365", "two-spf"): EXPECTED_FAILURES["two-spf"] | {"MF-SPF-010"},
}


class _Zones:
    def __init__(self, zones: dict[str, str]) -> None:
        loaded = [load_zone_text(text, origin, f"{origin}.zone") for origin, text in zones.items()]
        self.source = ZoneSource(loaded, None)

    def source_for(self, domain: str, policy_path: str) -> ZoneSource:
        return self.source

    def describe(self) -> str:
        return "benchmark zones"


def test_every_family_and_breakage_is_generated() -> None:
    generated = domains(200)
    assert {d.family for d in generated} == set(FAMILIES)
    assert {d.broken for d in generated} - {None} == set(BREAKAGES)
    assert all(d.broken is None for d in generated if d.family == "parked")


def test_good_domains_pass_and_broken_ones_fail_as_designed(tmp_path: Path) -> None:
    generated, zones = write(tmp_path, 120)
    engine = Engine(_Zones(zones), rootdir=tmp_path)
    failed: dict[str, set[str]] = {}
    for policy in sorted((tmp_path / "policies").glob("*.yaml")):
        for domain in load_policy(policy).domains:
            for check in plan(domain):
                try:
                    result = engine.run(check)
                except Undetermined as exc:
                    pytest.fail(f"{domain.name} {check.name}: {exc}")
                if not result.finding.passed:
                    failed.setdefault(domain.name, set()).add(check.rule.id)
    for synthetic in generated:
        expected = FAMILY_FAILURES.get((synthetic.family, synthetic.broken or ""))
        if expected is None:
            expected = EXPECTED_FAILURES.get(synthetic.broken or "", set())
        assert failed.get(synthetic.name, set()) == expected, synthetic


@pytest.fixture
def knot(tmp_path: Path) -> Iterator[KnotServer]:
    require_knotd()
    _, zones = write(tmp_path / "data", 8)
    with KnotServer(tmp_path / "knot", zones) as running:
        yield running


def test_the_proxy_holds_each_answer_and_counts_questions(knot: KnotServer) -> None:
    with LatencyProxy(knot.port, delay=0.05) as proxy:
        live = LiveSource([Server("127.0.0.1", proxy.port)], timeout=2.0, retries=0)
        began = time.monotonic()
        answer = live.resolve(Question.of("cloud-only-00000.example", "MX"))
        elapsed = time.monotonic() - began
        live.resolve(Question.of("cloud-only-00000.example", "MX"))
        live.resolve(Question.of("parked-00003.example", "TXT"))
    assert answer.records == ("0 cloud-only-00000-example.mail.protection.outlook.com.",)
    assert 0.05 <= elapsed < 1.0
    assert (proxy.counts.queries, proxy.counts.unique) == (3, 2)


def test_one_small_run_of_the_whole_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_knotd()
    from benchmarks.run import main

    assert main(["--sizes", "8", "--latency-ms", "1", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    names = {row["name"] for row in results["rows"]}
    assert names == {
        "a_mailflow_live",
        "b_checkdmarc",
        "c_bare_pytest",
        "d_cassette_replay",
        "e_collect_only",
        "a_mailflow_live_xdist2",
        "c_bare_pytest_xdist2",
    }
    live = next(row for row in results["rows"] if row["name"] == "a_mailflow_live")
    assert live["items"] > 8 * 10 and live["prefetch_misses"] == 0
    assert live["queries_sent"] == live["unique_questions"] > 0
    assert "(b)/(a) checkdmarc / mailflow" in results["ratios"]
    assert "ratios at N = 8" in capsys.readouterr().out

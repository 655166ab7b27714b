"""Live runs gather domains concurrently through one cache: same verdicts as one at a time, every
question sent once per run, the counts in the terminal summary, and per-worker caches under xdist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_mailflow.dns.live import LiveSource, Server
from pytest_mailflow.dns.shared import SharedResolver
from pytest_mailflow.engine import Engine
from pytest_mailflow.policy.load import load_policy
from pytest_mailflow.sources import LiveFactory
from tests.support.faultserver import BehaviourKey, BehaviourSpec, FaultServer

DOMAINS = 12


def zone() -> dict[BehaviourKey, BehaviourSpec]:
    """Twelve domains sharing one vendor SPF include and one DMARC report domain; d5 has a broken SPF."""
    data: dict[BehaviourKey, BehaviourSpec] = {
        "spf.vendor.test.": {"TXT": ['"v=spf1 ip4:203.0.113.0/24 include:spf2.vendor.test -all"']},
        "spf2.vendor.test.": {"TXT": ['"v=spf1 ip4:198.51.100.0/25 -all"']},
        "mx.vendor.test.": {"A": ["203.0.113.25"]},
        "slow.vendor.test.": "timeout",
    }
    for i in range(DOMAINS):
        name = f"d{i}.example."
        spf = '"v=spf1 include:spf.vendor.test -all"' if i != 5 else '"v=spf1 include:spf.vendor.test +all"'
        data[name] = {"MX": ["10 mx.vendor.test."], "TXT": [spf]}
        data[f"_dmarc.{name}"] = {"TXT": ['"v=DMARC1; p=reject; rua=mailto:dmarc@reports.example"']}
    return data


def policy_text(domains: int = DOMAINS) -> str:
    lines = ["mailflow: 1", "domains:"]
    for i in range(domains):
        lines += [
            f"  d{i}.example:",
            "    expect:",
            "      mx: {hosts: [mx.vendor.test]}",
            "      spf: {include: [spf.vendor.test], all: ['-all'], must_pass: [203.0.113.9]}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(zone(), default="nxdomain") as running:
        yield running


def run(pytester: pytest.Pytester, server: FaultServer, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", policy=policy_text())
    live = ["--mailflow-source", "live", "--mailflow-nameserver", f"127.0.0.1:{server.port}"]
    return pytester.runpytest("--mailflow", "-p", "no:cacheprovider", *live, "--mailflow-timeout", "0.5", *args)


def outcomes(result: pytest.RunResult) -> list[str]:
    return sorted(line for line in result.outlines if re.match(r"^(PASSED|FAILED|ERROR) ", line))


def test_concurrent_and_one_at_a_time_agree_and_each_question_is_sent_once(
    pytester: pytest.Pytester, server: FaultServer
) -> None:
    concurrent = run(pytester, server, "-rA")
    sent_concurrently = list(server.queries)
    server.reset_counts()
    sequential = run(pytester, server, "-rA", "--mailflow-concurrency", "1")
    assert outcomes(concurrent) == outcomes(sequential)
    assert concurrent.parseoutcomes()["failed"] >= 1  # d5.example's +all
    assert any("d5.example" in line for line in outcomes(concurrent) if line.startswith("FAILED"))
    # The vendor's include is shared by all twelve domains: asked once per run.
    assert sum(1 for q in sent_concurrently if q.name == "spf.vendor.test." and q.rdtype == "TXT") == 1
    assert len(sent_concurrently) == len({(q.name, q.rdtype) for q in sent_concurrently})
    concurrent.stdout.fnmatch_lines(
        [
            "*mailflow: live DNS*",
            f"{DOMAINS} domains gathered: * queries sent for * unique questions (1.00 per question;*",
            "prefetch misses: 0 *",
        ]
    )


def test_the_summary_counts_what_was_sent(pytester: pytest.Pytester, server: FaultServer) -> None:
    result = run(pytester, server)
    match = re.search(r"(\d+) queries sent for (\d+) unique questions", result.stdout.str())
    assert match is not None
    assert int(match.group(1)) == len(server.queries) == int(match.group(2))


def test_cassette_replay_prints_no_dns_summary(pytester: pytest.Pytester, server: FaultServer) -> None:
    pytester.makefile(".yaml", policy=policy_text(1))
    recorded = pytester.runpytest(
        "--mailflow", "-p", "no:cacheprovider", "--mailflow-record-mode", "all",
        "--mailflow-nameserver", f"127.0.0.1:{server.port}",
    )  # fmt: skip
    recorded.stdout.fnmatch_lines(["*mailflow: live DNS*", "1 domains gathered: *"])
    replayed = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    assert replayed.ret == recorded.ret
    assert "mailflow: live DNS" not in replayed.stdout.str()


def test_each_xdist_worker_has_its_own_cache(pytester: pytest.Pytester, server: FaultServer) -> None:
    result = run(pytester, server, "-n", "2", "--dist", "loadscope")
    result.stdout.fnmatch_lines([f"{DOMAINS} domains gathered in 2 processes: *", "prefetch misses: 0 *"])
    # Each worker asks the shared include at most once, and gathers only the domains it is sent.
    assert sum(1 for q in server.queries if q.name == "spf.vendor.test." and q.rdtype == "TXT") <= 2
    per_domain = {(q.name, q.rdtype) for q in server.queries if q.name.startswith("_dmarc.d")}
    assert sum(1 for q in server.queries if (q.name, q.rdtype) in per_domain) == DOMAINS


def test_a_timeout_is_an_error_for_the_checks_that_need_it(pytester: pytest.Pytester, server: FaultServer) -> None:
    pytester.makefile(
        ".yaml",
        slow="mailflow: 1\ndomains:\n  slow.vendor.test:\n    scenario: custom\n    rules: [MF-MX-001, MF-SPF-001]\n",
    )
    result = run(pytester, server)
    outcome = result.parseoutcomes()
    assert outcome["errors"] == 2
    result.stdout.fnmatch_lines(["*could not determine slow.vendor.test. * TIMEOUT*"])


def test_the_engine_gathers_in_the_background_in_check_order(server: FaultServer, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text())
    domains = load_policy(path).domains
    resolver = SharedResolver(LiveSource([Server(server.address, server.port)], timeout=0.5, retries=0))
    engine = Engine(LiveFactory(resolver), concurrency=4)
    try:
        assert engine.prefetch(domains) == DOMAINS
        assert engine.prefetch(domains) == 0  # already scheduled
        gathered = [engine.evidence(domain) for domain in domains]
    finally:
        engine.close()
    assert [e.domain for e in gathered] == [d.name for d in domains]
    assert engine.prefetch_misses() == 0
    counts = engine.dns_counts()
    assert counts["domains"] == DOMAINS and counts["queries_sent"] == counts["unique_questions"]


def test_prefetch_does_nothing_for_replayed_sources(tmp_path: Path) -> None:
    from pytest_mailflow.dns.cassette import CassetteFolderFactory

    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(2))
    engine = Engine(CassetteFolderFactory(None, tmp_path), concurrency=8)
    assert engine.prefetch(load_policy(path).domains) == 0


def test_evidence_is_released_after_the_last_expected_check(server: FaultServer, tmp_path: Path) -> None:
    from pytest_mailflow.plan import plan

    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(2))
    checks = [check for domain in load_policy(path).domains for check in plan(domain)]
    live = LiveSource([Server(server.address, server.port)], timeout=0.5, retries=0)
    engine = Engine(LiveFactory(live))
    engine.expect(checks)
    first = [check for check in checks if check.domain.name == "d0.example"]
    for check in first[:-1]:
        engine.run(check)
    assert engine.evidence(first[0].domain) is engine.evidence(first[0].domain)  # still held
    engine.run(first[-1])
    sent = live.queries_sent
    for check in checks[len(first) :]:
        engine.run(check)
    assert engine.dns_counts()["domains"] == 2
    # d0.example's evidence was let go after its last check: asking again gathers again.
    engine.evidence(first[0].domain)
    assert live.queries_sent > sent

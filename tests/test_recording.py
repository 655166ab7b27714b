"""Record modes (vcrpy's meaning) against our own DNS server, and recording under xdist."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.faultserver import BehaviourKey, BehaviourSpec, FaultServer

POLICY = """\
mailflow: 1
domains:
  fabrikam.example:
    expect:
      mx: {hosts: [mail.fabrikam.example]}
      spf:
        include: [spf.vendor.test]
        must_pass: [203.0.113.10]
        must_fail: [198.51.100.7]
  northwind.example:
    scenario: custom
    rules: [MF-MX-001, MF-SPF-001]
"""

ZONE: dict[BehaviourKey, BehaviourSpec] = {
    "fabrikam.example.": {"MX": ["10 mail.fabrikam.example."], "TXT": ['"v=spf1 include:spf.vendor.test -all"']},
    "mail.fabrikam.example.": {"A": ["203.0.113.25"]},
    "_dmarc.fabrikam.example.": {"TXT": ['"v=DMARC1; p=reject; rua=mailto:dmarc@fabrikam.example"']},
    "spf.vendor.test.": {"TXT": ['"v=spf1 ip4:203.0.113.0/24 -all"']},
    "northwind.example.": {"MX": ["10 mx.northwind.example."], "TXT": ['"v=spf1 -all"']},
    "slow.northwind.example.": "timeout",
}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(ZONE, default="nxdomain") as running:
        yield running


@pytest.fixture
def policy(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "policy.yaml"
    path.write_text(POLICY)
    return path


def run(pytester: pytest.Pytester, server: FaultServer | None, *args: str) -> pytest.RunResult:
    live = ["--mailflow-nameserver", f"127.0.0.1:{server.port}", "--mailflow-timeout", "0.3"] if server else []
    return pytester.runpytest("--mailflow", "-p", "no:cacheprovider", *live, *args)


def cassette(pytester: pytest.Pytester, domain: str) -> Path:
    return pytester.path / "cassettes" / f"{domain}.yaml"


def test_none_never_records(pytester: pytest.Pytester, server: FaultServer, policy: Path) -> None:
    result = run(pytester, server, "--mailflow-record-mode", "none")
    assert result.parseoutcomes()["errors"] == 32
    assert not (pytester.path / "cassettes").exists()
    assert server.queries == []


def test_once_records_a_missing_cassette_then_replays_it(
    pytester: pytest.Pytester, server: FaultServer, policy: Path
) -> None:
    run(pytester, server, "--mailflow-record-mode", "once").assert_outcomes(passed=32)
    first = cassette(pytester, "fabrikam.example").read_text()
    assert "spf.vendor.test." in first
    sent = len(server.queries)
    assert sent > 0
    # With the cassette present, 'once' replays: no packet, same verdicts.
    run(pytester, server, "--mailflow-record-mode", "once").assert_outcomes(passed=32)
    assert len(server.queries) == sent
    # And plain replay needs no server at all.
    run(pytester, None).assert_outcomes(passed=32)


def test_once_with_a_cassette_refuses_new_questions(
    pytester: pytest.Pytester, server: FaultServer, policy: Path
) -> None:
    run(pytester, server, "--mailflow-record-mode", "once").assert_outcomes(passed=32)
    path = cassette(pytester, "fabrikam.example")
    data = yaml.safe_load(path.read_text())
    data["answers"] = [a for a in data["answers"] if a["type"] != "MX"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    server.reset_counts()
    result = run(pytester, server, "--mailflow-record-mode", "once", "-k", "fabrikam and MF-MX-001")
    result.assert_outcomes(errors=1)
    assert server.queries == []
    result.stdout.fnmatch_lines(["*this question was not recorded*"])


def test_new_episodes_adds_only_what_is_missing(pytester: pytest.Pytester, server: FaultServer, policy: Path) -> None:
    run(pytester, server, "--mailflow-record-mode", "once").assert_outcomes(passed=32)
    path = cassette(pytester, "fabrikam.example")
    original = path.read_text()
    data = yaml.safe_load(original)
    data["answers"] = [a for a in data["answers"] if not (a["name"] == "spf.vendor.test." and a["type"] == "TXT")]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    server.reset_counts()
    run(pytester, server, "--mailflow-record-mode", "new_episodes").assert_outcomes(passed=32)
    assert {(q.name, q.rdtype) for q in server.queries} == {("spf.vendor.test.", "TXT")}
    assert path.read_text() == original  # sorted and stable: the re-added answer lands where it was


def test_all_rerecords_and_an_unchanged_zone_gives_no_diff(
    pytester: pytest.Pytester, server: FaultServer, policy: Path
) -> None:
    run(pytester, server, "--mailflow-record-mode", "all").assert_outcomes(passed=32)
    before = {p.name: p.read_text() for p in (pytester.path / "cassettes").glob("*.yaml")}
    run(pytester, server, "--mailflow-record-mode", "all").assert_outcomes(passed=32)
    after = {p.name: p.read_text() for p in (pytester.path / "cassettes").glob("*.yaml")}
    assert before == after
    assert "ttl" not in before["fabrikam.example.yaml"]
    assert not list((pytester.path / "cassettes").glob(".*.tmp"))  # atomic writes leave no temporary files


def test_a_recorded_timeout_replays_as_an_error(pytester: pytest.Pytester, server: FaultServer) -> None:
    (pytester.path / "policy.yaml").write_text(
        "mailflow: 1\ndomains:\n  slow.northwind.example:\n    scenario: custom\n    rules: [MF-MX-001]\n"
    )
    run(pytester, server, "--mailflow-record-mode", "once", "--mailflow-retries", "0").assert_outcomes(errors=1)
    text = cassette(pytester, "slow.northwind.example").read_text()
    assert "error: TIMEOUT" in text
    result = run(pytester, None)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*slow.northwind.example. MX: TIMEOUT (recorded as an error)*"])


def test_live_source_writes_no_cassette(pytester: pytest.Pytester, server: FaultServer, policy: Path) -> None:
    run(pytester, server, "--mailflow-source", "live").assert_outcomes(passed=32)
    assert not (pytester.path / "cassettes").exists()


def test_recording_under_xdist_keeps_each_domain_on_one_worker(
    pytester: pytest.Pytester, server: FaultServer, policy: Path
) -> None:
    pytest.importorskip("xdist")
    result = pytester.runpytest_subprocess(
        "--mailflow",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "-v",
        "--mailflow-nameserver",
        f"127.0.0.1:{server.port}",
        "--mailflow-record-mode",
        "all",
    )
    result.assert_outcomes(passed=32)
    workers: dict[str, set[str]] = {}
    for line in result.outlines:
        match = re.search(r"\[(gw\d)\].*PASSED (\S+)::(\S+)::", line)
        if match:
            workers.setdefault(match.group(3), set()).add(match.group(1))
    assert set(workers) == {"fabrikam.example", "northwind.example"}
    assert all(len(w) == 1 for w in workers.values()), workers
    assert cassette(pytester, "fabrikam.example").is_file() and cassette(pytester, "northwind.example").is_file()


def test_recording_with_dist_each_is_refused(pytester: pytest.Pytester, server: FaultServer, policy: Path) -> None:
    pytest.importorskip("xdist")
    result = pytester.runpytest_subprocess(
        "--mailflow",
        "-n",
        "2",
        "--dist",
        "each",
        "--mailflow-nameserver",
        f"127.0.0.1:{server.port}",
        "--mailflow-record-mode",
        "once",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*recording under xdist needs --dist loadscope*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mailflow-nameserver", "dns.example"], "is not ADDR[[]:PORT[]]"),
        (["--mailflow-timeout", "0"], "must be a positive number"),
        (["--mailflow-source", "live", "--mailflow-record-mode", "once"], "never writes cassettes"),
    ],
)
def test_bad_options_are_usage_errors(pytester: pytest.Pytester, policy: Path, args: list[str], message: str) -> None:
    result = pytester.runpytest("--mailflow", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_ttls_are_kept_only_when_asked(pytester: pytest.Pytester, server: FaultServer, policy: Path) -> None:
    run(pytester, server, "--mailflow-record-mode", "all", "--mailflow-cassette-ttl", "keep").assert_outcomes(passed=32)
    data = yaml.safe_load(cassette(pytester, "fabrikam.example").read_text())
    assert {a.get("ttl") for a in data["answers"] if a["rcode"] == "NOERROR"} == {300}
    run(pytester, None).assert_outcomes(passed=32)  # a cassette with TTLs replays the same


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("mailflow_cassette_ttl = kep", "mailflow_cassette_ttl / --mailflow-cassette-ttl must be one of keep, drop"),
        ("mailflow_timeout = abc", "mailflow_timeout / --mailflow-timeout must be a number, not 'abc'"),
        ("mailflow_retries = -1", "--mailflow-retries must be 0 or more"),
    ],
)
def test_bad_ini_values_name_their_key(pytester: pytest.Pytester, policy: Path, ini: str, message: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest("--mailflow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_ipv6_senders_keep_a_domain_on_one_xdist_worker(pytester: pytest.Pytester) -> None:
    (pytester.path / "policy.yaml").write_text(
        "mailflow: 1\ndomains:\n  fabrikam.example:\n    expect: {spf: {must_pass: ['2001:DB8::10']}}\n"
    )
    result = pytester.runpytest("--mailflow", "--collect-only", "-q")
    ids = [line for line in result.outlines if "MF-SPF-010" in line]
    assert ids == ["policy.yaml::fabrikam.example::MF-SPF-010[2001:db8:0:0:0:0:0:10]"]
    assert ids[0].rsplit("::", 1)[0] == "policy.yaml::fabrikam.example"  # xdist's scope for loadscope


def test_one_domain_in_two_policies_records_one_complete_cassette_under_xdist(
    pytester: pytest.Pytester, server: FaultServer
) -> None:
    pytest.importorskip("xdist")
    for name, ip in (("a.yaml", "203.0.113.10"), ("b.yaml", "203.0.113.11")):
        (pytester.path / name).write_text(
            f"mailflow: 1\ndomains:\n  fabrikam.example:\n    expect: {{spf: {{must_pass: [{ip}]}}}}\n"
        )
    for mode in ("all", "once"):
        shutil.rmtree(pytester.path / "rec", ignore_errors=True)
        pytester.runpytest_subprocess(
            "--mailflow",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--mailflow-cassettes",
            "rec",
            "--mailflow-nameserver",
            f"127.0.0.1:{server.port}",
            "--mailflow-record-mode",
            mode,
        )
        replay = pytester.runpytest("--mailflow", "-p", "no:cacheprovider", "--mailflow-cassettes", "rec")
        assert "errors" not in replay.parseoutcomes(), (mode, replay.stdout.str()[-2000:])


def test_cassettes_get_the_mode_of_any_new_file(tmp_path: Path) -> None:
    # mkstemp makes files private (0600); a cassette is written for reviewers and CI jobs to read.
    import os

    from pytest_mailflow.dns.cassette import write_atomic

    mask = os.umask(0o022)
    os.umask(mask)
    target = tmp_path / "cassettes" / "fabrikam.example.yaml"
    write_atomic(target, "mailflow_cassette: 1\n")
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask

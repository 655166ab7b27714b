"""Fixtures for tests written in Python: the active source and explicit live, zone and cassette sources."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_mailflow.dns.cassette import cassette_path
from pytest_mailflow.names import InvalidDomainName
from tests.support.faultserver import FaultServer


def test_live_and_cassette_fixtures_record_then_replay(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_dns=textwrap.dedent(
            """
            from pytest_mailflow.dns.base import Question
            from pytest_mailflow.dns.records import txt_value

            def test_live(mailflow_live_source):
                answer = mailflow_live_source.resolve(Question.of("ok.test", "TXT"))
                assert txt_value(answer.records[0]) == "v=spf1 -all"

            def test_recorded(mailflow_cassette_source):
                answer = mailflow_cassette_source.resolve(Question.of("ok.test", "TXT"))
                assert txt_value(answer.records[0]) == "v=spf1 -all"
            """
        )
    )
    with FaultServer({"ok.test.": {"TXT": ['"v=spf1 -all"']}}) as server:
        live = ["--mailflow-nameserver", f"127.0.0.1:{server.port}"]
        pytester.runpytest(*live, "--mailflow-record-mode", "once").assert_outcomes(passed=2)
    recorded = pytester.path / "cassettes" / "test_dns" / "test_recorded.yaml"
    assert "ok.test." in recorded.read_text()
    # The server is gone: the cassette fixture replays; the live fixture cannot.
    result = pytester.runpytest("-k", "recorded")
    result.assert_outcomes(passed=1)


def test_zone_source_fixture(pytester: pytest.Pytester, examples: Path) -> None:
    pytester.makepyfile(
        test_zone=textwrap.dedent(
            """
            from pytest_mailflow.dns.base import Question

            def test_mx(mailflow_zone_source):
                answer = mailflow_zone_source.resolve(Question.of("fabrikam.example", "MX"))
                assert answer.records == ("10 mail.fabrikam.example.",)
                assert answer.provenance == "zone examples/zones/fabrikam.example.zone:7"

            def test_sources(mailflow_sources):
                source = mailflow_sources.source_for("fabrikam.example", "examples/contoso.yaml")
                assert source.resolve(Question.of("mail.fabrikam.example", "A")).records == ("203.0.113.25",)
            """
        )
    )
    result = pytester.runpytest("--mailflow-zones", "examples/zones", "--mailflow-fallback", "none", "test_zone.py")
    result.assert_outcomes(passed=2)


def test_zone_fixture_without_zones_says_what_to_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_zone="def test_x(mailflow_zone_source):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mailflow_zone_source needs --mailflow-zones PATH*"])


@pytest.mark.parametrize(
    "domain", ["../../etc/passwd", "..", "a/b.example", "a\\b.example", "/etc/x.example", "x.example/../../y"]
)
def test_a_domain_cannot_escape_the_cassette_folder(tmp_path: Path, domain: str) -> None:
    with pytest.raises(InvalidDomainName):
        cassette_path(tmp_path, domain)


def test_cassette_names_are_a_labels(tmp_path: Path) -> None:
    assert cassette_path(tmp_path, "Bücher.Example.").name == "xn--bcher-kva.example.yaml"

"""The pytest layer: opt-in collection, node IDs, markers, outcomes, and pytest features that must work."""

from __future__ import annotations

import re
import shutil
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLE_ITEMS = 109


def test_without_the_flag_nothing_is_collected(pytester: pytest.Pytester, examples: Path) -> None:
    result = pytester.runpytest("examples")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_ini_option_enables_collection(pytester: pytest.Pytester, examples: Path) -> None:
    pytester.makeini("[pytest]\nmailflow = true\n")
    result = pytester.runpytest("examples")
    result.assert_outcomes(passed=EXAMPLE_ITEMS)


def test_disabled_plugin_loads_none_of_the_engine(pytester: pytest.Pytester, examples: Path) -> None:
    # Proof of "costs nothing" when off: the collection hook returns before importing anything heavy.
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            loaded = sorted(m for m in sys.modules if m.startswith("pytest_mailflow.") or m in ("yaml", "jsonschema", "spf"))
            print("LOADED=" + ",".join(loaded))
        """
    )
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    loaded = next(line for line in result.outlines if "LOADED=" in line).split("LOADED=", 1)[1]
    assert loaded == "pytest_mailflow.plugin", loaded


def test_examples_pass_offline(pytester: pytest.Pytester, examples: Path) -> None:
    result = pytester.runpytest("--mailflow", "examples")
    result.assert_outcomes(passed=EXAMPLE_ITEMS)


def test_node_ids_are_stable_and_readable(pytester: pytest.Pytester, examples: Path) -> None:
    result = pytester.runpytest("--mailflow", "examples", "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert "examples/contoso.yaml::contoso.example::MF-SPF-003" in ids
    assert "examples/contoso.yaml::contoso.example::MF-SPF-010[40.107.22.5]" in ids
    assert "examples/contoso.yaml::fabrikam.example::MF-SPF-009[spf.old-provider.example]" in ids
    # A parked domain gets no must_pass items: rules without parameters are not collected at all.
    assert not [i for i in ids if i.startswith("examples/contoso.yaml::old-brand.example::MF-SPF-010")]
    assert ids == sorted(ids, key=ids.index)  # deterministic order
    again = pytester.runpytest("--mailflow", "examples", "--collect-only", "-q")
    assert [line for line in again.outlines if "::" in line] == ids


def test_domains_appear_as_lower_case_a_labels(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", policy="mailflow: 1\ndomains:\n  Bücher.Example:\n    scenario: custom\n    rules: [MF-MX-001]\n"
    )
    result = pytester.runpytest("--mailflow", "--collect-only", "-q")
    assert "policy.yaml::xn--bcher-kva.example::MF-MX-001" in result.outlines


def test_other_yaml_is_ignored(pytester: pytest.Pytester, examples: Path) -> None:
    pytester.makefile(".yml", ci="jobs:\n  test: {runs-on: ubuntu-latest}\n")
    pytester.makefile(".yaml", broken_but_not_ours="key: [unclosed\n")
    result = pytester.runpytest("--mailflow")
    result.assert_outcomes(passed=EXAMPLE_ITEMS)


BROKEN = {
    "typo.yaml": (
        "mailflow: 1\ndomains:\n  a.example:\n    expekt: {}\n",
        "typo.yaml:4:5: domains.a.example.expekt: unknown key 'expekt' (did you mean 'expect'?)",
    ),
    "badtype.yaml": (
        "mailflow: 1\ndomains:\n  a.example:\n    expect:\n      spf:\n        include: spf.example\n",
        "badtype.yaml:6:18: domains.a.example.expect.spf.include: expected a list, got a string ('spf.example')",
    ),
    "syntax.yaml": ("mailflow: 1\ndomains:\n  a.example: [unclosed\n", "syntax.yaml:4:1: YAML syntax error"),
}


def test_broken_policies_are_errors_for_their_file_only(pytester: pytest.Pytester, examples: Path) -> None:
    for name, (text, _) in BROKEN.items():
        (pytester.path / name).write_text(text)
    result = pytester.runpytest("--mailflow")
    result.assert_outcomes(passed=EXAMPLE_ITEMS, errors=len(BROKEN))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for _, expected in BROKEN.values():
        assert any(expected in line for line in result.outlines), expected
    assert "Traceback" not in result.stdout.str()
    assert "Interrupted" not in result.stdout.str()


def test_python_collection_errors_still_interrupt(pytester: pytest.Pytester, examples: Path) -> None:
    # The plugin only continues past its own policy errors; a broken test module still stops the run.
    pytester.makepyfile(test_broken="import does_not_exist\n")
    (pytester.path / "typo.yaml").write_text(BROKEN["typo.yaml"][0])
    result = pytester.runpytest("--mailflow")
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_marker_and_keyword_selection(pytester: pytest.Pytester, examples: Path) -> None:
    spf = pytester.runpytest("--mailflow", "examples", "-m", "mailflow(family='spf')", "--collect-only", "-q")
    spf_ids = [line for line in spf.outlines if "::" in line]
    assert spf_ids and all("::MF-SPF-" in i for i in spf_ids)
    critical = pytester.runpytest(
        "--mailflow", "examples", "-m", "mailflow(severity='critical')", "--collect-only", "-q"
    )
    assert {line.rsplit("::", 1)[1] for line in critical.outlines if "::" in line} == {"MF-SPF-005"}
    scenario = pytester.runpytest("--mailflow", "examples", "-m", "mailflow(scenario='baseline')", "-q")
    scenario.assert_outcomes(passed=EXAMPLE_ITEMS)
    by_domain = pytester.runpytest("--mailflow", "examples", "-m", "mailflow(domain='old-brand.example')", "-q")
    assert by_domain.parseoutcomes()["passed"] == 29
    keyword = pytester.runpytest("--mailflow", "examples", "-k", "fabrikam and MF-MX-001", "-q")
    keyword.assert_outcomes(passed=1)
    family_kw = pytester.runpytest("--mailflow", "examples", "-k", "mx and old-brand", "-q")
    family_kw.assert_outcomes(passed=6)


POLICY_ONE_FAILURE = """\
mailflow: 1
domains:
  contoso.example:
    expect:
      mx:
        hosts: [wrong.contoso.example]
  fabrikam.example: {}
"""


def test_last_failed_reruns_only_failures(pytester: pytest.Pytester, examples: Path) -> None:
    (examples / "contoso.yaml").write_text(POLICY_ONE_FAILURE)
    first = pytester.runpytest("--mailflow", "examples")
    outcomes = first.parseoutcomes()
    assert outcomes["failed"] == 1
    second = pytester.runpytest("--mailflow", "examples", "--lf")
    second.assert_outcomes(failed=1)
    assert "MF-MX-001" in second.stdout.str()


def test_xdist_runs_the_same_items(pytester: pytest.Pytester, examples: Path) -> None:
    pytest.importorskip("xdist")
    (examples / "typo.yaml").write_text(BROKEN["typo.yaml"][0])
    result = pytester.runpytest_subprocess("--mailflow", "examples", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=EXAMPLE_ITEMS, errors=1)
    result.stdout.fnmatch_lines(["*typo.yaml:4:5: domains.a.example.expekt: unknown key 'expekt'*"])


def test_xdist_reports_failures_with_their_text(pytester: pytest.Pytester, examples: Path) -> None:
    pytest.importorskip("xdist")
    (examples / "contoso.yaml").write_text(POLICY_ONE_FAILURE)
    result = pytester.runpytest_subprocess("--mailflow", "examples", "-n", "2", "-p", "no:cacheprovider")
    assert result.parseoutcomes()["failed"] == 1
    result.stdout.fnmatch_lines(["*MF-MX-001 [[]high[]] contoso.example: MX records differ from the policy*"])


def test_junit_carries_rule_facts(pytester: pytest.Pytester, examples: Path) -> None:
    report = pytester.path / "junit.xml"
    pytester.runpytest("--mailflow", "examples", f"--junitxml={report}").assert_outcomes(passed=EXAMPLE_ITEMS)
    cases = ET.parse(report).getroot().iter("testcase")
    case = next(c for c in cases if c.get("name") == "MF-SPF-003" and "contoso" in (c.get("classname") or ""))
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["mailflow.rule"] == "MF-SPF-003"
    assert props["mailflow.family"] == "spf"
    assert props["mailflow.severity"] == "high"
    assert props["mailflow.domain"] == "contoso.example"
    assert props["mailflow.scenario"] == "baseline"
    assert re.fullmatch(r"examples/contoso\.yaml:\d+", props["mailflow.policy"] or "")


def test_failure_text_explains_expected_observed_fix(pytester: pytest.Pytester, examples: Path) -> None:
    (examples / "contoso.yaml").write_text(POLICY_ONE_FAILURE)
    result = pytester.runpytest("--mailflow", "examples")
    text = result.stdout.str()
    assert "MF-MX-001 [high] contoso.example: MX records differ from the policy: missing wrong.contoso.example" in text
    assert "expected:  exactly these MX hosts: wrong.contoso.example  [examples/contoso.yaml:6]" in text
    assert (
        "contoso.example. MX -> 0 contoso-example.mail.protection.outlook.com.  [cassette examples/cassettes/contoso.example.yaml:"
        in text
    )
    assert "fix:" in text and "https://www.rfc-editor.org/rfc/rfc5321#section-5.1" in text
    assert "Traceback" not in text and "def runtest" not in text


def test_missing_cassette_is_an_error_not_a_verdict(pytester: pytest.Pytester, examples: Path) -> None:
    (examples / "cassettes" / "fabrikam.example.yaml").unlink()
    result = pytester.runpytest("--mailflow", "examples", "-k", "fabrikam")
    outcomes = result.parseoutcomes()
    assert outcomes["errors"] == 32
    assert "passed" not in outcomes and "failed" not in outcomes
    result.stdout.fnmatch_lines(
        ["*no cassette for this domain (expected examples/cassettes/fabrikam.example.yaml;*docs/cassettes.md*"]
    )
    result.stdout.fnmatch_lines(["ERROR examples/contoso.yaml::fabrikam.example::MF-MX-001 - CouldNotDetermine*"])


def test_unrecorded_question_names_the_nearest_recorded(pytester: pytest.Pytester, examples: Path) -> None:
    cassette = examples / "cassettes" / "old-brand.example.yaml"
    text = cassette.read_text()
    cassette.write_text(
        text.replace("  type: MX\n  rcode: NOERROR\n  records:\n  - 0 .\n", "  type: NS\n  rcode: NODATA\n")
    )
    result = pytester.runpytest("--mailflow", "examples", "-k", "old-brand and MF-MX-001")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*old-brand.example. MX: this question was not recorded*nearest recorded: old-brand.example. *re-record: run the same command again*"
        ]
    )


def test_cassettes_folder_option(pytester: pytest.Pytester, examples: Path) -> None:
    moved = pytester.path / "elsewhere"
    shutil.move(examples / "cassettes", moved)
    pytester.runpytest("--mailflow", "examples").assert_outcomes(errors=EXAMPLE_ITEMS)
    pytester.runpytest("--mailflow", "examples", "--mailflow-cassettes", str(moved)).assert_outcomes(
        passed=EXAMPLE_ITEMS
    )
    pytester.makeini("[pytest]\nmailflow_cassettes = elsewhere\n")
    pytester.runpytest("--mailflow", "examples").assert_outcomes(passed=EXAMPLE_ITEMS)


def test_replay_sends_no_packets(pytester: pytest.Pytester, examples: Path) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            import socket
            import pytest

            SENT = []

            def _refuse(name):
                def guard(self, *args, **kwargs):
                    SENT.append((name, args))
                    raise OSError(f"network access during replay: {name}")
                return guard

            @pytest.fixture(autouse=True, scope="session")
            def _no_network():
                yield

            def pytest_configure(config):
                for name in ("connect", "connect_ex", "sendto", "sendmsg", "send", "sendall"):
                    setattr(socket.socket, name, _refuse(name))

            def pytest_sessionfinish(session):
                print(f" PACKETS={len(SENT)}")
            """
        )
    )
    result = pytester.runpytest_subprocess("--mailflow", "examples", "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=EXAMPLE_ITEMS)
    assert any(line.endswith(" PACKETS=0") for line in result.outlines)


def test_last_failed_reruns_bracketed_ids(pytester: pytest.Pytester, examples: Path) -> None:
    # pytest 9.2 stores "[...]" as parameters; the items' IDs must parse the same way.
    policy = (examples / "contoso.yaml").read_text()
    (examples / "contoso.yaml").write_text(policy.replace("must_pass: [203.0.113.10]", "must_pass: [203.0.113.99]"))
    first = pytester.runpytest("--mailflow", "examples")
    assert first.parseoutcomes()["failed"] == 1
    again = pytester.runpytest("--mailflow", "examples", "--lf")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*MF-SPF-010[[]203.0.113.99[]]*"])


def test_failure_text_says_why_the_rule_exists(pytester: pytest.Pytester, examples: Path) -> None:
    (examples / "contoso.yaml").write_text(POLICY_ONE_FAILURE)
    result = pytester.runpytest("--mailflow", "examples")
    result.stdout.fnmatch_lines(["  why:       The MX records decide where the internet delivers mail*"])

"""Waivers, --mailflow-fail-on and the "mailflow summary": outcomes, the clock, and xdist."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_mailflow import waivers
from pytest_mailflow.waivers import MailflowWaiverWarning, WaiverError, load_waiver_text

# pytester's in-process runs inherit this process's warning filters, and pyproject.toml makes every
# warning an error: the inner runs would escalate their MailflowWaiverWarnings (and so fail). The inner
# runs record the warnings they expect; nothing reaches this process.
pytestmark = pytest.mark.filterwarnings("always::pytest_mailflow.waivers.MailflowWaiverWarning")

#: contoso.example's MX check (MF-MX-001, high) fails; everything else passes (54 items).
POLICY_ONE_FAILURE = """\
mailflow: 1
domains:
  contoso.example:
    expect:
      mx:
        hosts: [wrong.contoso.example]
  fabrikam.example: {}
"""
ITEMS = 54
MX_WAIVER_REASON = "waived W-2026-014 by mail-platform until 2026-06-30: MX moves to the new gateway in June"


def waiver(
    *,
    id: str = "W-2026-014",
    rule: str = "MF-MX-001",
    domains: str = "[contoso.example]",
    expires: str = "2026-06-30",
    extra: str = "",
) -> str:
    return (
        f"  - id: {id}\n"
        f"    rule: {rule}\n"
        f"    domains: {domains}\n"
        f"{extra}"
        "    reason: MX moves to the new gateway in June\n"
        "    owner: mail-platform\n"
        "    approved_by: secops@contoso.example\n"
        "    created: 2026-01-15\n"
        f"    expires: {expires}\n"
    )


def write_waivers(pytester: pytest.Pytester, *entries: str, name: str = "waivers.yaml") -> Path:
    path = pytester.path / name
    path.write_text("mailflow_waivers: 1\nwaivers:\n" + "".join(entries))
    return path


@pytest.fixture
def one_failure(examples: Path) -> Path:
    (examples / "contoso.yaml").write_text(POLICY_ONE_FAILURE)
    return examples


def summary_table(result: pytest.RunResult) -> dict[str, dict[str, int]]:
    """The "mailflow summary" counts: severity -> outcome -> count."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "mailflow summary" in line and line.startswith("="))
    header = lines[start + 1].split()
    assert header[0] == "severity", lines[start + 1]
    table: dict[str, dict[str, int]] = {}
    for line in lines[start + 2 :]:
        cells = line.split()
        if len(cells) != len(header) or not all(c.isdigit() for c in cells[1:]):
            break
        table[cells[0]] = dict(zip(header[1:], map(int, cells[1:]), strict=True))
    return table


# --- outcomes -----------------------------------------------------------------------------------


def test_waived_failure_is_xfailed_with_the_reason(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver())
    report = pytester.path / "junit.xml"
    result = pytester.runpytest(
        "--mailflow",
        "examples",
        "--mailflow-waivers",
        "waivers.yaml",
        "--mailflow-today",
        "2026-05-01",
        "-rx",
        f"--junitxml={report}",
    )
    result.assert_outcomes(passed=ITEMS - 1, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"XFAIL examples/contoso.yaml::contoso.example::MF-MX-001 - {MX_WAIVER_REASON}"])
    assert "MailflowWaiverWarning" not in result.stdout.str()
    case = next(c for c in ET.parse(report).getroot().iter("testcase") if c.get("name") == "MF-MX-001")
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "pytest.xfail"
    assert skipped.get("message") == MX_WAIVER_REASON
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["mailflow.waiver"] == "W-2026-014"
    assert props["mailflow.severity"] == "high"


def test_expired_waiver_does_not_waive_and_is_listed(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver())
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-07-01"
    )
    result.assert_outcomes(passed=ITEMS - 1, failed=1, warnings=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*MailflowWaiverWarning: expired: W-2026-014 (MF-MX-001 on contoso.example): expired on 2026-06-30 "
            "(today is 2026-07-01, UTC)*still failing on contoso.example",
            "*mailflow summary*",
            "*waivers to look at:",
            "  expired: W-2026-014 (MF-MX-001 on contoso.example): expired on 2026-06-30*[[]waivers.yaml:3[]]",
        ]
    )


def test_the_expiry_day_is_included(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver())
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-06-30"
    )
    result.assert_outcomes(passed=ITEMS - 1, xfailed=1)


def test_ignore_waivers_shows_the_unwaived_view(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver())
    result = pytester.runpytest(
        "--mailflow",
        "examples",
        "--mailflow-waivers",
        "waivers.yaml",
        "--mailflow-today",
        "2026-05-01",
        "--mailflow-ignore-waivers",
    )
    result.assert_outcomes(passed=ITEMS - 1, failed=1)
    result.stdout.fnmatch_lines(["*waivers ignored (--mailflow-ignore-waivers): 1 not applied*"])
    assert "MailflowWaiverWarning" not in result.stdout.str()


def test_waiver_for_a_passing_check_warns(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver(id="W-9", domains="[fabrikam.example]"))
    args = ("--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-05-01")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=ITEMS - 1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*waivers.yaml:3: MailflowWaiverWarning: stale: W-9 (MF-MX-001 on fabrikam.example): the check passed "
            "on fabrikam.example: remove the waiver*",
        ]
    )
    # Teams escalate stale waivers with -W: the run then fails although every check passed.
    (pytester.path / "examples" / "contoso.yaml").write_text(POLICY_ONE_FAILURE.replace("wrong.", "mail."))
    clean = pytester.runpytest(*args, "-k", "fabrikam")
    assert clean.ret == pytest.ExitCode.OK
    strict = pytester.runpytest(*args, "-k", "fabrikam", "-W", "error::pytest_mailflow.waivers.MailflowWaiverWarning")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines(["*MailflowWaiverWarning is an error in this run*1 waiver note above fails the run"])


def test_a_run_that_stops_early_judges_only_expiry(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver(id="W-1", domains="[fabrikam.example]"), waiver(id="W-2", expires="2026-01-31"))
    for extra in (("-x",), ("--collect-only",)):
        result = pytester.runpytest(
            "--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-05-01", *extra
        )
        text = result.stdout.str()
        assert "expired: W-2 " in text and "W-1" not in text, text
        result.stdout.fnmatch_lines(["*: only expiry is judged, not whether the waivers are still needed"])


def test_waiver_for_something_not_collected_warns(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(
        pytester,
        waiver(domains="[contoso.example, nowhere.example]"),
        waiver(id="W-2", rule="MF-CONN-002"),
    )
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-05-01"
    )
    result.assert_outcomes(passed=ITEMS - 1, xfailed=1, warnings=2)
    result.stdout.fnmatch_lines(
        [
            "*stale: W-2026-014 (MF-MX-001 on contoso.example, nowhere.example): matched nothing: domain "
            "nowhere.example was not collected in this run*",
            "*stale: W-2 (MF-CONN-002 on contoso.example): matched nothing: MF-CONN-002 was not collected for "
            "contoso.example in this run*",
        ]
    )


def test_scenario_narrows_a_waiver(pytester: pytest.Pytester, one_failure: Path) -> None:
    args = ("--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-05-01", "-rx")
    write_waivers(pytester, waiver(extra="    scenario: cloud-only\n"))
    other = pytester.runpytest(*args)
    other.assert_outcomes(passed=ITEMS - 1, failed=1, warnings=1)
    other.stdout.fnmatch_lines(
        [
            "*stale: W-2026-014 (MF-MX-001 on contoso.example in scenario cloud-only): matched nothing: "
            "contoso.example is in scenario baseline, not cloud-only*"
        ]
    )
    write_waivers(pytester, waiver(extra="    scenario: baseline\n"))
    same = pytester.runpytest(*args)
    same.assert_outcomes(passed=ITEMS - 1, xfailed=1)
    same.stdout.fnmatch_lines([f"XFAIL *::MF-MX-001 - {MX_WAIVER_REASON}"])


def test_ini_twin_is_relative_to_rootdir(pytester: pytest.Pytester, one_failure: Path) -> None:
    (pytester.path / "policy").mkdir()
    write_waivers(pytester, waiver(), name="policy/waivers.yaml")
    pytester.makeini("[pytest]\nmailflow = true\nmailflow_waivers = policy/waivers.yaml\n")
    # Started from a subfolder: the ini path still counts from rootdir.
    sub = pytester.mkdir("sub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        result = pytester.runpytest("--rootdir", str(pytester.path), str(one_failure), "--mailflow-today", "2026-05-01")
    result.assert_outcomes(passed=ITEMS - 1, xfailed=1)
    # On the command line, a path counts from the folder pytest was started in.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(pytester.path / "policy")
        result = pytester.runpytest(
            "--rootdir",
            str(pytester.path),
            str(one_failure),
            "--mailflow-waivers",
            "waivers.yaml",
            "--mailflow-today",
            "2026-05-01",
        )
    result.assert_outcomes(passed=ITEMS - 1, xfailed=1)


# --- usage errors -------------------------------------------------------------------------------


def test_unknown_rule_is_a_usage_error_with_did_you_mean(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver(rule="MF-MX-01"))
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-waivers", "waivers.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*pytest-mailflow: 1 problem in waiver files*",
            "waivers.yaml:4:11: waivers.0.rule: unknown rule ID 'MF-MX-01' (did you mean 'MF-MX-001'?)",
        ]
    )


def test_bad_date_is_a_usage_error_with_its_place(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver(expires="2026-6-30"))
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-waivers", "waivers.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["waivers.yaml:10:14: waivers.0.expires: '2026-6-30' is not a date written as YYYY-MM-DD (e.g. 2026-12-31)"]
    )


def test_every_problem_of_every_file_is_listed(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver(id="W-1"), name="a.yaml")
    (pytester.path / "b.yaml").write_text(
        "mailflow_waivers: 1\nwaiver: []\nwaivers:\n"
        + waiver(id="W-1", domains="[Contoso.Example, '*.contoso.example']", expires="2026-02-30")
        + "    justification: old spelling\n"
    )
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-waivers", "a.yaml", "--mailflow-waivers", "b.yaml"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*pytest-mailflow: 6 problems in waiver files*",
            "b.yaml:2:1: waiver: unknown key 'waiver' (did you mean 'waivers'?)",
            "b.yaml:4:9: waivers.0.id: duplicate waiver ID 'W-1' (also at a.yaml:3)",
            "b.yaml:6:15: waivers.0.domains.0: write the domain as a lower-case A-label without a final dot: "
            "'contoso.example'",
            "b.yaml:6:32: waivers.0.domains.1: '*.contoso.example': wildcards are not allowed; list each domain",
            "b.yaml:11:14: waivers.0.expires: '2026-02-30' is not a calendar date",
            "b.yaml:12:5: waivers.0.justification: unknown key 'justification': write it as 'reason'",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--mailflow-waivers", "missing.yaml"),
            "*missing.yaml does not exist (relative to the folder pytest was started in)",
        ),
        (("--mailflow-today", "2026-6-1"), "*--mailflow-today: '2026-6-1' is not a date written as YYYY-MM-DD*"),
        (("--mailflow-fail-on", "severe"), "*argument --mailflow-fail-on: invalid choice: 'severe'*"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, one_failure: Path, args: tuple[str, ...], message: str
) -> None:
    result = pytester.runpytest("--mailflow", "examples", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_bad_fail_on_in_ini_is_a_usage_error(pytester: pytest.Pytester, one_failure: Path) -> None:
    pytester.makeini("[pytest]\nmailflow_fail_on = severe\n")
    result = pytester.runpytest("--mailflow", "examples")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*mailflow_fail_on / --mailflow-fail-on must be one of info, low, medium, high, critical*"]
    )


# --- fail-on ------------------------------------------------------------------------------------


def test_fail_on_softens_less_severe_failures(pytester: pytest.Pytester, examples: Path) -> None:
    # Without its MS= record, contoso.example fails MF-M365-002 (low) and nothing else.
    cassette = examples / "cassettes" / "contoso.example.yaml"
    cassette.write_text(cassette.read_text().replace("  - '\"MS=ms41234567\"'\n", ""))
    full = pytester.runpytest("--mailflow", "examples")
    assert full.parseoutcomes()["failed"] == 1
    soft = pytester.runpytest("--mailflow", "examples", "--mailflow-fail-on", "high", "-rx")
    soft.assert_outcomes(passed=108, xfailed=1)
    assert soft.ret == pytest.ExitCode.OK
    soft.stdout.fnmatch_lines(["XFAIL examples/contoso.yaml::contoso.example::MF-M365-002 - below fail-on high: low"])
    assert summary_table(soft)["low"]["soft"] == 1
    # --runxfail is pytest's view without xfails: the failure is reported as one.
    pytester.runpytest("--mailflow", "examples", "--mailflow-fail-on", "high", "--runxfail").assert_outcomes(
        passed=108, failed=1
    )
    # A failure at the fail-on level still fails; the ini key works like the option.
    pytester.makeini("[pytest]\nmailflow_fail_on = low\n")
    pytester.runpytest("--mailflow", "examples").assert_outcomes(passed=108, failed=1)


def test_fail_on_never_softens_errors(pytester: pytest.Pytester, one_failure: Path) -> None:
    (one_failure / "cassettes" / "fabrikam.example.yaml").unlink()
    write_waivers(pytester, waiver(domains="[fabrikam.example]"))
    result = pytester.runpytest(
        "--mailflow",
        "examples",
        "--mailflow-fail-on",
        "critical",
        "--mailflow-waivers",
        "waivers.yaml",
        "--mailflow-today",
        "2026-05-01",
        "-rx",
    )
    outcomes = result.parseoutcomes()
    # fabrikam.example could not be determined: errors, waived or not, whatever fail-on says.
    assert outcomes["errors"] == 27 and "failed" not in outcomes
    assert outcomes["xfailed"] == 1  # contoso's high MX failure is below fail-on critical
    result.stdout.fnmatch_lines(["XFAIL *contoso.example::MF-MX-001 - below fail-on critical: high"])
    table = summary_table(result)
    assert table["total"]["error"] == 27 and table["high"]["soft"] == 1
    # An error is not "the check passed": the waiver for it is not called stale.
    assert "MailflowWaiverWarning" not in result.stdout.str()


# --- the summary --------------------------------------------------------------------------------


def test_summary_counts_by_severity_and_outcome(pytester: pytest.Pytester, one_failure: Path) -> None:
    write_waivers(pytester, waiver())
    plain = pytester.runpytest("--mailflow", "examples")
    table = summary_table(plain)
    assert table["high"] == {"passed": 21, "failed": 1, "error": 0, "waived": 0, "soft": 0, "total": 22}
    assert table["total"] == {"passed": 53, "failed": 1, "error": 0, "waived": 0, "soft": 0, "total": ITEMS}
    assert list(table) == ["critical", "high", "medium", "low", "total"]
    plain.stdout.fnmatch_lines(["fail-on info; today ????-??-?? (UTC, from the clock)"])
    waived = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-waivers", "waivers.yaml", "--mailflow-today", "2026-05-01"
    )
    table = summary_table(waived)
    assert table["high"]["waived"] == 1 and table["high"]["failed"] == 0
    waived.stdout.fnmatch_lines(
        ["fail-on info; today 2026-05-01 (UTC, --mailflow-today); waivers: 1, 1 unexpired, 1 applied"]
    )


def test_no_summary_without_mailflow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "mailflow summary" not in result.stdout.str()


# --- the clock ----------------------------------------------------------------------------------


def test_the_clock_is_read_once_at_configure(
    pytester: pytest.Pytester, one_failure: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def today() -> dt.date:
        calls.append("called")
        return dt.date(2026, 7, 1)

    monkeypatch.setattr(waivers, "utc_today", today)
    write_waivers(pytester, waiver())
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-waivers", "waivers.yaml")
    result.assert_outcomes(passed=ITEMS - 1, failed=1, warnings=1)
    assert calls == ["called"]
    result.stdout.fnmatch_lines(["fail-on info; today 2026-07-01 (UTC, from the clock)*"])
    calls.clear()
    pytester.runpytest("--mailflow", "examples", "--collect-only", "-q")
    assert len(calls) == 1  # configure, not collection


# --- xdist --------------------------------------------------------------------------------------


def test_xdist_waived_expired_and_counts(pytester: pytest.Pytester, one_failure: Path) -> None:
    pytest.importorskip("xdist")
    write_waivers(pytester, waiver())
    args = ("--mailflow", "examples", "-n", "2", "-p", "no:cacheprovider", "--mailflow-waivers", "waivers.yaml", "-rx")
    inside = pytester.runpytest_subprocess(*args, "--mailflow-today", "2026-06-30")
    inside.assert_outcomes(passed=ITEMS - 1, xfailed=1)
    inside.stdout.fnmatch_lines([f"XFAIL examples/contoso.yaml::contoso.example::MF-MX-001 - {MX_WAIVER_REASON}"])
    table = summary_table(inside)
    assert table["high"]["waived"] == 1 and table["total"]["total"] == ITEMS
    after = pytester.runpytest_subprocess(*args, "--mailflow-today", "2026-07-01")
    after.assert_outcomes(passed=ITEMS - 1, failed=1, warnings=1)
    after.stdout.fnmatch_lines(["*MailflowWaiverWarning: expired: W-2026-014*"])
    assert summary_table(after)["high"]["failed"] == 1
    # Warnings are issued once, by the controller, not by each worker.
    assert after.stdout.str().count("MailflowWaiverWarning: expired") == 1


def test_xdist_workers_take_the_controllers_date(pytester: pytest.Pytester, one_failure: Path) -> None:
    pytest.importorskip("xdist")
    # Only the controller's clock says 3000-01-01; the workers' own clocks would say today, when the
    # waiver is still valid. The check fails everywhere only if the workers use the controller's date.
    pytester.makeconftest(
        textwrap.dedent(
            """
            import datetime
            import pytest

            @pytest.hookimpl(tryfirst=True)
            def pytest_configure(config):
                workerinput = getattr(config, "workerinput", None)
                if workerinput is None:
                    import pytest_mailflow.waivers

                    pytest_mailflow.waivers.utc_today = lambda: datetime.date(3000, 1, 1)
                else:
                    print("WORKER", workerinput["workerid"], workerinput.get("mailflow_today"))
            """
        )
    )
    write_waivers(pytester, waiver(expires="2999-12-31"))
    result = pytester.runpytest_subprocess(
        "--mailflow", "examples", "-n", "2", "-p", "no:cacheprovider", "--mailflow-waivers", "waivers.yaml", "-s"
    )
    result.assert_outcomes(passed=ITEMS - 1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(["fail-on info; today 3000-01-01 (UTC, from the clock)*"])
    assert summary_table(result)["high"]["failed"] == 1
    # And with --mailflow-today, the controller hands that date on.
    pinned = pytester.runpytest_subprocess(
        "--mailflow",
        "examples",
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
        "--mailflow-waivers",
        "waivers.yaml",
        "--mailflow-today",
        "2999-12-31",
    )
    pinned.assert_outcomes(passed=ITEMS - 1, xfailed=1)


# --- the waiver file on its own -----------------------------------------------------------------


def test_loaded_waiver_has_every_key() -> None:
    text = "mailflow_waivers: 1\nwaivers:\n" + waiver(extra="    scenario: baseline\n")
    (loaded,) = load_waiver_text(text, "w.yaml")
    assert loaded.id == "W-2026-014" and loaded.rule == "MF-MX-001" and loaded.domains == ("contoso.example",)
    assert loaded.scenario == "baseline" and loaded.owner == "mail-platform"
    assert loaded.approved_by == "secops@contoso.example"
    assert loaded.created == dt.date(2026, 1, 15) and loaded.expires == dt.date(2026, 6, 30)
    assert loaded.where == "w.yaml:3"
    assert loaded.text == MX_WAIVER_REASON
    assert loaded.active(dt.date(2026, 6, 30)) and not loaded.active(dt.date(2026, 7, 1))
    assert loaded.matches("MF-MX-001", "contoso.example", "baseline")
    assert not loaded.matches("MF-MX-001", "contoso.example", "cloud-only")
    assert not loaded.matches("MF-MX-002", "contoso.example", "baseline")


def test_an_empty_waiver_list_is_allowed() -> None:
    assert load_waiver_text("mailflow_waivers: 1\nwaivers:\n", "w.yaml") == ()
    assert load_waiver_text("mailflow_waivers: 1\nwaivers: []\n", "w.yaml") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "w.yaml:1:1: a waiver file must be a mapping with 'mailflow_waivers: 1' and 'waivers'"),
        ("mailflow_waivers: 2\nwaivers: []\n", "w.yaml:1:19: mailflow_waivers: unsupported waiver file version 2"),
        ("mailflow_waivers: 1\n", "w.yaml:1:1: missing required key 'waivers'"),
        ("mailflow_waivers: 1\nwaivers: [{id: W-1}]\n", "w.yaml:2:11: waivers.0: missing required key 'domains'"),
        ("mailflow_waivers: 1\nwaivers: !!python/object:os.system {}\n", "is not allowed"),
        ("mailflow_waivers: 1\nmailflow_waivers: 1\nwaivers: []\n", "duplicate key 'mailflow_waivers'"),
        (
            "mailflow_waivers: 1\nwaivers:\n" + waiver(expires="2026-06-30T12:00:00"),
            "w.yaml:10:14: waivers.0.expires: '2026-06-30T12:00:00' is not a date written as YYYY-MM-DD",
        ),
        (
            "mailflow_waivers: 1\nwaivers:\n" + waiver(expires="2026-01-01"),
            "w.yaml:10:14: waivers.0.expires: expires (2026-01-01) is before created (2026-01-15)",
        ),
        (
            "mailflow_waivers: 1\nwaivers:\n" + waiver(extra="    scenario: cloud-onyl\n"),
            "waivers.0.scenario: unknown scenario 'cloud-onyl' (did you mean 'cloud-only'?)",
        ),
        (
            "mailflow_waivers: 1\nwaivers:\n" + waiver(domains="[bücher.example]"),
            "waivers.0.domains.0: write the domain as a lower-case A-label without a final dot: 'xn--bcher-kva.example'",
        ),
        (
            "mailflow_waivers: 1\nwaivers:\n" + waiver(domains="[]"),
            "w.yaml:5:14: waivers.0.domains: must not be empty",
        ),
        (
            "mailflow_waivers: 1\nwaivers:\n"
            + waiver().replace("reason: MX moves to the new gateway in June", "reason: ' '"),
            "w.yaml:6:13: waivers.0.reason: must not be empty",
        ),
        (
            "mailflow_waivers: 1\nwaivers:\n" + waiver(id="'W 1'"),
            "waivers.0.id: 'W 1' is not a waiver ID",
        ),
    ],
)
def test_waiver_file_problems(text: str, expected: str) -> None:
    with pytest.raises(WaiverError) as caught:
        load_waiver_text(text, "w.yaml")
    assert any(expected in str(p) for p in caught.value.problems), str(caught.value)


def test_warning_class_is_a_pytest_warning() -> None:
    assert issubclass(MailflowWaiverWarning, pytest.PytestWarning)
    assert re.fullmatch(r"pytest_mailflow\.waivers", MailflowWaiverWarning.__module__)

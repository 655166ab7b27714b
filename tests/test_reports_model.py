"""The report package on its own: without pytest, escaping, the Markdown cap, atomic writes."""

from __future__ import annotations

import datetime as dt
import email.message
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_mailflow.report import format_of, html_report, markdown_report, render, sarif_report, write
from pytest_mailflow.report.model import (
    CheckResult,
    Detail,
    Location,
    Report,
    RunInfo,
    SourceInfo,
    WaiverInfo,
    worst,
)
from tests.test_reports import validate_json_report, validate_sarif

ROOT = Path(__file__).resolve().parents[1]
MOMENT = dt.datetime(2026, 5, 1, 6, 17, 3, tzinfo=dt.UTC)


def result(
    domain: str = "contoso.example",
    rule: str = "MF-SPF-010",
    outcome: str = "failed",
    message: str = "SPF result is fail",
    param: str | None = None,
    **detail: object,
) -> CheckResult:
    return CheckResult(
        nodeid=f"policies/mail.yaml::{domain}::{rule}" + (f"[{param}]" if param else ""),
        rule=rule,
        family=rule.split("-")[1].lower(),
        severity="high",
        domain=domain,
        scenario="baseline",
        policy=Location("policies/mail.yaml", 12),
        outcome=outcome,
        detail=Detail(message=message, param=param, **detail),  # type: ignore[arg-type]
    )


def report(*results: CheckResult, **run: object) -> Report:
    info = RunInfo(
        started=MOMENT,
        finished=MOMENT,
        source=SourceInfo("cassette", "cassettes beside each policy file"),
        today=MOMENT.date(),
        **run,  # type: ignore[arg-type]
    )
    return Report.of(info, results)


def test_reports_work_without_pytest(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import datetime as dt
        import sys
        from pathlib import Path

        sys.modules["pytest"] = None  # from here on, importing pytest fails

        from pytest_mailflow.dns.cassette import CassetteFolderFactory
        from pytest_mailflow.engine import Engine
        from pytest_mailflow.plan import plan
        from pytest_mailflow.policy.load import load_policy
        from pytest_mailflow.report import write
        from pytest_mailflow.report.model import Report, RunInfo, SourceInfo, run_check, utc_now

        policy = load_policy(Path("examples/contoso.yaml"), "examples/contoso.yaml")
        engine = Engine(CassetteFolderFactory(None, Path(".")))
        started = utc_now()
        results = [run_check(engine, check) for domain in policy.domains for check in plan(domain)]
        run = RunInfo(started, utc_now(), SourceInfo("cassette", engine.sources.describe()), dt.date(2026, 5, 1))
        report = Report.of(run, results)
        for name in ("r.json", "r.sarif", "r.html", "r.md"):
            write(report, Path(sys.argv[1]) / "out" / name)
        print(report.counts()["passed"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "109"
    data = json.loads((tmp_path / "out" / "r.json").read_text())
    validate_json_report(data)
    assert data["results"][0]["nodeid"].startswith("examples/contoso.yaml::contoso.example::MF-")
    validate_sarif(json.loads((tmp_path / "out" / "r.sarif").read_text()))
    assert (tmp_path / "out" / "r.md").read_text().startswith("## ✅ Mail-flow checks: 109 passed, 0 failed")


def test_format_follows_the_extension() -> None:
    assert [format_of(f"r{ext}") for ext in (".json", ".SARIF", ".html", ".md")] == [
        "json",
        "sarif",
        "html",
        "markdown",
    ]
    with pytest.raises(ValueError, match=r"unknown report format \('.htm'\); use one of .json, .sarif, .html, .md"):
        format_of("r.htm")
    with pytest.raises(ValueError, match=r"unknown report format \(no extension\)"):
        format_of("report")


def test_write_is_atomic_creates_folders_and_uses_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "r.md"
    mask = os.umask(0o022)
    try:
        write(report(result()), target)
    finally:
        os.umask(mask)
    assert target.read_text().startswith("## ❌ Mail-flow checks:")
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["r.md"]
    # A failing render leaves the old report in place and no temporary file.
    with pytest.raises(ValueError):
        write(report(result()), tmp_path / "a" / "b" / "r.txt")
    assert [p.name for p in target.parent.iterdir()] == ["r.md"]


def test_detail_round_trips_as_plain_data() -> None:
    detail = Detail(
        message="m",
        param="selector1",
        observed=("o",),
        dns=("a. TXT -> x  [zone z.zone:3]",),
        zone_records=(Location("z.zone", 3),),
        fix="f",
        text="t",
    )
    assert Detail.from_dict(json.loads(json.dumps(detail.to_dict()))) == detail
    assert Location.parse("policies/mail.yaml:12") == Location("policies/mail.yaml", 12)
    assert Location.parse("C:/policies/mail.yaml") == Location("C:/policies/mail.yaml")
    assert str(Location("z.zone")) == "z.zone"


def test_worst_outcome_order() -> None:
    assert worst(["passed", "waived", "soft"]) == "soft"
    assert worst(["passed", "error", "failed"]) == "failed"
    assert worst(["passed", "error", "waived"]) == "error"
    assert worst(["skipped", "passed"]) == "skipped"
    assert worst([]) is None


def test_fingerprint_is_rule_domain_and_parameter() -> None:
    one = result(param="203.0.113.10")
    moved = CheckResult(**{**one.__dict__, "policy": Location("other.yaml", 99), "nodeid": "x"})
    assert moved.fingerprint == one.fingerprint
    assert result(param="203.0.113.11").fingerprint != one.fingerprint
    assert result(domain="fabrikam.example", param="203.0.113.10").fingerprint != one.fingerprint


def test_markdown_caps_long_lists_and_escapes() -> None:
    failures = [result(param=f"192.0.2.{n}", message=f"finding {n}") for n in range(60)]
    hostile = result(
        domain="fabrikam.example",
        message="TXT `v=spf1` | <b>bold</b> [link](https://evil.example) ![img](x)\nsecond line",
    )
    text = markdown_report.render(report(*failures, hostile), limit=50)
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith("| `MF-SPF-010")]
    assert len(rows) == 50
    assert "… and 11 more (see the full report)." in lines
    assert "### Failures (61)" in lines
    text = markdown_report.render(report(hostile))
    row = next(line for line in text.splitlines() if line.startswith("| `MF-SPF-010`"))
    assert row == (
        "| `MF-SPF-010` | high | fabrikam.example | TXT \\`v=spf1\\` \\| &lt;b&gt;bold&lt;/b&gt; "
        "\\[link\\]\\(https://evil.example\\) \\!\\[img\\]\\(x\\) second line |"
    )


def test_markdown_code_spans_survive_backticks() -> None:
    assert markdown_report._code("a`b") == "``a`b``"
    assert markdown_report._code("`x`") == "`` `x` ``"
    assert markdown_report._code("a|b") == "`a\\|b`"


def test_html_escapes_everything_from_the_run() -> None:
    evil = "<script>alert(1)</script>\"'&"
    page = html_report.render(
        report(
            result(
                domain="xn--evil.example",
                message=evil,
                observed=(evil,),
                dns=(evil,),
                zone_records=(Location(evil, 1),),
                fix=evil,
                text=evil,
                param=evil,
            ),
            result(outcome="waived", message="w"),
            args=("--mailflow", evil),
            waivers=(WaiverInfo("W-1", "MF-SPF-010", ("contoso.example",), evil, evil, "2026-12-31", True),),
        )
    )
    assert "<script>alert(1)" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;") >= 6


def test_empty_report() -> None:
    empty = report(partial="collection only")
    assert "No mail-flow check reported a result." in html_report.render(empty)
    assert "**Incomplete run:** collection only" in markdown_report.render(empty)
    validate_json_report(json.loads(render(empty, "r.json")))
    validate_sarif(json.loads(render(empty, "r.sarif")))


def test_sarif_names_the_home_page_only_when_the_package_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sarif_report._information_uri() is None
    meta = email.message.Message()
    meta["Project-URL"] = "Issues, https://tracker.example/issues"
    meta["Project-URL"] = "Homepage, https://pytest-mailflow.example/"
    monkeypatch.setattr("importlib.metadata.metadata", lambda name: meta)
    assert sarif_report._information_uri() == "https://pytest-mailflow.example/"
    driver = sarif_report.to_sarif(report())["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://pytest-mailflow.example/"

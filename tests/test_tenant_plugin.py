"""Connector rules end to end: a policy names a tenant export; rules run from it; a broken export is an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "tenant"
POLICY = """\
mailflow: 1
domains:
  contoso.example:
    scenario: custom
    rules: [MF-CONN-001, MF-CONN-014, MF-CONN-015]
    tenant_export: {export}
"""


@pytest.fixture
def folder(pytester: pytest.Pytester) -> Path:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "contoso.example.yaml").write_text(
        "mailflow_cassette: 1\ndomain: contoso.example\nanswers: []\n"
    )
    return pytester.path


@pytest.mark.parametrize("export", ["contoso-pwsh7.json", "contoso-winps51.json"])
def test_connector_rules_run_from_either_export_style(pytester: pytest.Pytester, folder: Path, export: str) -> None:
    shutil.copy(DATA / export, folder / "export.json")
    (folder / "policy.yaml").write_text(POLICY.format(export="export.json"))
    events = pytester.inline_run("--mailflow", "-p", "no:cacheprovider")
    outcomes = {
        r.nodeid.split("::")[-1]: r.outcome for r in events.getreports("pytest_runtest_logreport") if r.when == "call"
    }
    assert outcomes == {"MF-CONN-001": "passed", "MF-CONN-014": "passed", "MF-CONN-015": "failed"}


def test_without_an_export_no_connector_rule_is_collected(pytester: pytest.Pytester, folder: Path) -> None:
    (folder / "policy.yaml").write_text(POLICY.replace("    tenant_export: {export}\n", ""))
    result = pytester.runpytest("--mailflow", "--collect-only", "-q")
    assert not [line for line in result.outlines if "MF-CONN" in line]


def test_a_broken_export_makes_connector_checks_errors_with_its_location(
    pytester: pytest.Pytester, folder: Path
) -> None:
    (folder / "export.json").write_text('{"mailflow_tenant_export": 1, "inbound_connectors": [}\n')
    (folder / "policy.yaml").write_text(POLICY.format(export="export.json"))
    result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*the tenant export cannot be used: export.json:1:*"])
    result.stdout.fnmatch_lines(["*mailflow: tenant export notes*"])
    assert "Traceback" not in result.stdout.str()

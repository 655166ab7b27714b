"""The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers (docs/reports.md).

- ``tool.driver.rules`` is the whole rule registry, so that a viewer can explain any rule ID.
- A result per violation: failed, soft (below --mailflow-fail-on) and xfailed checks with kind
  ``fail``, waived ones too, with an external suppression carrying the waiver's reason. Passes and skips
  are left out: viewers such as GitHub code scanning show every result as an alert.
- A check that could not be determined is a result of kind ``open`` (SARIF's "not enough information
  to decide"; its level must then be ``none``) and a tool execution notification. Leaving it out would
  let a viewer close an open alert as fixed: "could not determine" would read as a pass.
- Locations: the policy file and line where the expectation is written, and, with --mailflow-zones,
  the zone file and line of the record consulted; URIs are relative to ``%SRCROOT%``, pytest's rootdir.
- ``partialFingerprints`` hash rule, domain and parameter, never a line number, so that an alert
  follows its check across runs and edits.
"""

from __future__ import annotations

import json
import re
import shlex
from importlib import metadata
from typing import Any
from urllib.parse import quote

from ..rules import Rule, all_rules
from .markdown_report import escape
from .model import FINGERPRINT_KEY, TOOL_NAME, CheckResult, Location, Report, iso

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: The uriBaseId of every location: the folder paths are relative to (pytest's rootdir).
SRCROOT = "%SRCROOT%"
#: Rule severity -> SARIF level.
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: The outcomes reported as results of kind "fail".
FAILING = ("failed", "soft", "xfailed", "waived")


def _information_uri() -> str | None:
    """The project's home page from the installed package's metadata (``[project.urls]``), if it has one."""
    try:
        urls: list[str] = metadata.metadata(TOOL_NAME).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for wanted in ("homepage", "documentation", "repository", "source"):
        for entry in urls:
            label, _, url = entry.partition(",")
            if label.strip().lower() == wanted and url.strip().startswith("https://"):
                return url.strip()
    return None


def _name(rule: Rule) -> str:
    """A PascalCase name from the title (SARIF's rule name is an identifier, not a sentence)."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", rule.title)) or rule.id


def _rule(rule: Rule) -> dict[str, Any]:
    severity = str(rule.severity)
    references = [{"title": ref.title, "url": ref.url} for ref in rule.references]
    sources_text = "".join(f"\n- {ref.title}: {ref.url}" for ref in rule.references)
    sources_markdown = "".join(f"\n- [{_md(ref.title)}]({ref.url})" for ref in rule.references)
    help_text = f"{rule.rationale}\n\nFix: {rule.remediation}" + (f"\n\nSources:{sources_text}" if references else "")
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": help_text,
            "markdown": f"{_md(rule.rationale)}\n\n**Fix:** {_md(rule.remediation)}"
            + (f"\n\n**Sources:**\n{sources_markdown}" if references else ""),
        },
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning")},
        "properties": {
            "family": rule.family,
            "severity": severity,
            "references": references,
            "tags": ["mail-flow", rule.family],
        },
    }
    if rule.references:
        # The rule's first source (an RFC section or a Microsoft Learn page) is where it comes from.
        descriptor["helpUri"] = rule.references[0].url
    return descriptor


def _md(text: str) -> str:
    return escape(text, width=None)


def _uri(path: str) -> dict[str, Any]:
    if path.startswith("/"):
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path), "uriBaseId": SRCROOT}


def _location(where: Location, message: str, id: int | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _uri(where.path)}
    if where.line:
        physical["region"] = {"startLine": where.line}
    location: dict[str, Any] = {"physicalLocation": physical, "message": {"text": message}}
    if id is not None:
        location["id"] = id
    return location


def _result(result: CheckResult, index: dict[str, int]) -> dict[str, Any]:
    detail = result.detail
    undetermined = result.outcome == "error"
    headline = f"{result.check} [{result.severity}] {result.domain}: {detail.message}"
    locations = [_location(result.policy, "the expectation in the policy")]
    zone = detail.zone_records
    if zone:
        locations.append(_location(zone[0], "the zone record consulted"))
    entry: dict[str, Any] = {
        "ruleId": result.rule,
        "kind": "open" if undetermined else "fail",
        "level": "none" if undetermined else LEVELS.get(result.severity, "warning"),
        "message": {"text": detail.text or headline},
        "locations": locations,
        "partialFingerprints": {FINGERPRINT_KEY: result.fingerprint},
        "properties": {
            "outcome": result.outcome,
            "check": result.check,
            "domain": result.domain,
            "scenario": result.scenario,
            "severity": result.severity,
            "nodeid": result.nodeid,
        },
    }
    if result.rule in index:
        entry["ruleIndex"] = index[result.rule]
    if len(zone) > 1:
        entry["relatedLocations"] = [_location(r, "a zone record consulted", i) for i, r in enumerate(zone, 1)]
    if result.outcome == "waived":
        entry["suppressions"] = [{"kind": "external", "status": "accepted", "justification": result.reason or ""}]
    if result.outcome in ("soft", "xfailed") and result.reason:
        entry["properties"]["reason"] = result.reason
    return entry


def _notification(result: CheckResult, index: dict[str, int]) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "level": "error",
        "message": {"text": f"{result.check} {result.domain}: could not determine: {result.detail.message}"},
        "locations": [_location(result.policy, "the expectation in the policy")],
        "associatedRule": {"id": result.rule},
    }
    if result.rule in index:
        notification["associatedRule"]["index"] = index[result.rule]
    return notification


def to_sarif(report: Report) -> dict[str, Any]:
    rules = all_rules()
    index = {rule.id: i for i, rule in enumerate(rules)}
    run = report.run
    reported = [r for r in report.results if r.outcome in (*FAILING, "error")]
    errors = report.with_outcome("error")
    driver: dict[str, Any] = {
        "name": TOOL_NAME,
        "version": run.tool_version,
        "semanticVersion": run.tool_version,
        "rules": [_rule(rule) for rule in rules],
    }
    information = _information_uri()
    if information:
        driver["informationUri"] = information
    notifications = [_notification(r, index) for r in errors]
    notifications += [
        {"level": "error", "message": {"text": f"{e.nodeid}: could not be collected: {e.message}"}}
        for e in run.collection_errors
    ]
    invocation: dict[str, Any] = {
        # Checks that could not be determined, broken policy files and an interrupted run are a
        # failure to analyse; violations are not.
        "executionSuccessful": not errors and not run.collection_errors and run.partial is None,
        "startTimeUtc": iso(run.started),
        "endTimeUtc": iso(run.finished),
        "commandLine": shlex.join(["pytest", *run.args]),
        "arguments": list(run.args),
        "exitCode": run.exit_status,
        "toolExecutionNotifications": notifications,
    }
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [invocation],
                "results": [_result(r, index) for r in reported],
                "properties": {
                    "counts": report.counts(),
                    "source": run.source.description,
                    "today": run.today.isoformat(),
                    "failOn": run.fail_on,
                },
            }
        ],
    }


def render(report: Report) -> str:
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"

"""The JSON report (``"mailflow_report": 1``): every result with its evidence, the counts and the run's
settings, for scripts and dashboards. The schema ships beside this module (``report.schema.json``) and
is documented in docs/reports.md."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from .model import SCHEMA_VERSION, TOOL_NAME, CheckResult, Report, iso


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the report."""
    text = resources.files(__package__).joinpath("report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def to_dict(report: Report) -> dict[str, Any]:
    run = report.run
    source = run.source
    return {
        "mailflow_report": SCHEMA_VERSION,
        "run": {
            "tool": {"name": TOOL_NAME, "version": run.tool_version},
            "started": iso(run.started),
            "finished": iso(run.finished),
            "pytest_args": list(run.args),
            "source": {
                "dns": source.dns,
                "description": source.description,
                "record_mode": source.record_mode,
                "cassettes": source.cassettes,
                "nameservers": list(source.nameservers),
                "zones": list(source.zones),
                "fallback": source.fallback,
            },
            "today": run.today.isoformat(),
            "today_from": run.today_from,
            "fail_on": run.fail_on,
            "waivers": {
                "ignored": run.ignore_waivers,
                "entries": [
                    {
                        "id": w.id,
                        "rule": w.rule,
                        "domains": list(w.domains),
                        "scenario": w.scenario,
                        "reason": w.reason,
                        "owner": w.owner,
                        "expires": w.expires,
                        "active": w.active,
                        "where": w.where,
                    }
                    for w in run.waivers
                ],
            },
            "exit_status": run.exit_status,
            "complete": run.partial is None,
            "partial": run.partial,
            "collection_errors": [{"nodeid": e.nodeid, "message": e.message} for e in run.collection_errors],
        },
        "counts": {
            "total": len(report.results),
            "outcomes": report.counts(),
            "by_severity": report.severity_counts(),
        },
        "results": [_result(r) for r in report.results],
    }


def _result(result: CheckResult) -> dict[str, Any]:
    detail = result.detail
    return {
        "nodeid": result.nodeid,
        "check": result.check,
        "rule": result.rule,
        "param": detail.param,
        "family": result.family,
        "severity": result.severity,
        "domain": result.domain,
        "scenario": result.scenario,
        "policy": result.policy.to_dict(),
        "outcome": result.outcome,
        "message": detail.message,
        "reason": result.reason,
        "waiver": result.waiver,
        "evidence": {
            "observed": list(detail.observed),
            "dns": list(detail.dns),
            "zone_records": [r.to_dict() for r in detail.zone_records],
        },
        "fix": detail.fix,
        "text": detail.text,
        "fingerprint": result.fingerprint,
    }


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"

"""The pytest side of ``--mailflow-report``: which files to write, the results as their test reports
arrive, and writing every report once, at the end of the session.

The process that runs a check attaches what it learned (a :class:`~.report.model.Detail`, as plain
data) to the check's test report; pytest-xdist serialises the report's attributes, so the details reach
the controller with the reports, and only the controller (or the only process) writes the files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .report.model import CheckResult, CollectionError, Detail, Location, Report, RunInfo, SourceInfo, WaiverInfo
from .report.model import utc_now as _utc_now
from .waivers import WAIVER_PROPERTY, outcome_of

if TYPE_CHECKING:
    from .sources import SourceSettings
    from .waivers import OutcomeRules

#: The test-report attribute that carries a check's Detail (a dict) from the process that ran it.
DETAIL_ATTRIBUTE = "mailflow_detail"


def check_destination(path: Path) -> str | None:
    """Why a report cannot be written at ``path``, or None; checked before any test runs."""
    from .report import format_of

    try:
        format_of(path)
    except ValueError as exc:
        return str(exc)
    if path.is_dir():
        return "is a folder; give a file name such as mailflow.html"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot create its folder: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write into {folder}"
    return None


def source_info(settings: SourceSettings, display: Callable[[Path], str]) -> SourceInfo:
    """Where the run's DNS answers come from, in words and as data; ``display`` makes paths rootdir-relative."""
    nameservers = tuple(str(s) for s in settings.nameservers)
    cassettes = display(settings.cassettes) if settings.cassettes else None
    cassette_text = f"cassettes in {cassettes}" if cassettes else "cassettes beside each policy file"
    if settings.record_mode != "none":
        cassette_text += f" (record mode {settings.record_mode})"
    live_text = "live DNS via " + (", ".join(nameservers) or "the system's resolvers")
    zones = tuple(display(z) for z in settings.zones)
    description = live_text if settings.source == "live" else cassette_text
    if zones:
        other = {"cassette": cassette_text, "live": live_text}.get(settings.fallback, "nowhere (they are errors)")
        description = f"zone files {', '.join(zones)}; other names: {other}"
    return SourceInfo(
        dns=settings.source,
        description=description,
        record_mode=settings.record_mode,
        cassettes=cassettes,
        nameservers=nameservers,
        zones=zones,
        fallback=settings.fallback if zones else None,
    )


def _reason(report: pytest.TestReport) -> str | None:
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail:
        return str(wasxfail)
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return None


@dataclass(eq=False)
class ReportCollector:
    """Registered as a plugin on the controller (or the only process): gathers results, writes reports."""

    #: (where to write, how to name it in messages)
    paths: list[tuple[Path, str]]
    rules: OutcomeRules
    source: SourceInfo
    args: tuple[str, ...]
    started: dt.datetime = field(default_factory=_utc_now)
    results: dict[str, CheckResult] = field(default_factory=dict)
    collection_errors: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = outcome_of(report)
        if outcome is None:
            return
        props = {key: str(value) for key, value in report.user_properties}
        reason = _reason(report)
        carried = getattr(report, DETAIL_ATTRIBUTE, None)
        # A check skipped before its setup ran (a skip marker) has no detail: its reason is its message.
        detail = Detail.from_dict(carried) if isinstance(carried, dict) else Detail(message=reason or "")
        self.results[report.nodeid] = CheckResult(
            nodeid=report.nodeid,
            rule=props["mailflow.rule"],
            family=props.get("mailflow.family", ""),
            severity=props.get("mailflow.severity", ""),
            domain=props.get("mailflow.domain", ""),
            scenario=props.get("mailflow.scenario", ""),
            policy=Location.parse(props.get("mailflow.policy", "")),
            outcome=outcome,
            detail=detail,
            reason=reason,
            waiver=props.get(WAIVER_PROPERTY),
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors[report.nodeid] = report.longreprtext

    def report(self, exit_status: int, partial: str | None) -> Report:
        rules = self.rules
        run = RunInfo(
            started=self.started,
            finished=_utc_now(),
            source=self.source,
            today=rules.today,
            today_from=rules.today_from,
            fail_on=rules.fail_on,
            ignore_waivers=rules.ignore_waivers,
            waivers=tuple(
                WaiverInfo(
                    id=w.id,
                    rule=w.rule,
                    domains=w.domains,
                    reason=w.reason,
                    owner=w.owner,
                    expires=w.expires.isoformat(),
                    active=w.active(rules.today),
                    scenario=w.scenario,
                    where=w.where,
                )
                for w in rules.waivers
            ),
            args=self.args,
            exit_status=exit_status,
            partial=partial,
            collection_errors=tuple(CollectionError(n, m) for n, m in sorted(self.collection_errors.items())),
        )
        return Report.of(run, self.results.values())

    def write(self, exit_status: int, partial: str | None) -> None:
        """Write every report; a report that cannot be written is noted (the others are still written)."""
        from .report import write

        report = self.report(exit_status, partial)
        for path, shown in self.paths:
            try:
                write(report, path)
            except OSError as exc:
                self.problems.append(f"{shown}: {exc.strerror or exc}")
            else:
                self.written.append(shown)

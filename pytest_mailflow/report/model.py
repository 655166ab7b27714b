"""The report model: one run's mail-flow results, as every report format needs them. Works without pytest.

The pytest layer (``pytest_mailflow.reporting``) builds a :class:`Report` from the test reports that
reach the xdist controller (or the only process); the writers of this package turn it into JSON,
SARIF, HTML or Markdown. A :class:`Detail` is what the process that ran a check learned about it: it
travels to the controller with the test report, so it holds only plain data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from ..engine import Engine, Result
    from ..errors import Indeterminate
    from ..plan import Check

#: The version of the JSON report (``"mailflow_report": 1``).
SCHEMA_VERSION = 1
TOOL_NAME = "pytest-mailflow"
#: Every outcome of a check, in the order of the terminal summary's columns.
OUTCOMES = ("passed", "failed", "error", "waived", "soft", "xfailed", "skipped")
#: Worst first: a cell of the compliance matrix takes the colour of its worst outcome. A violation
#: outranks "could not determine"; a failure nobody accepted (soft) outranks an accepted one (waived).
WORST_FIRST = ("failed", "error", "soft", "xfailed", "waived", "skipped", "passed")
#: Rule severities, most severe first (the names of rules.base.Severity).
SEVERITIES = ("critical", "high", "medium", "low", "info")
#: Table headings for families whose title in the rule index is long.
SHORT_TITLES = {"m365": "M365", "conn": "Connectors"}
#: The key of the SARIF partial fingerprint (versioned: a new recipe gets a new key).
FINGERPRINT_KEY = "mailflowCheck/v1"


@dataclass(frozen=True, order=True)
class Location:
    """A file (relative to rootdir, as the node IDs and failure texts show it) and a 1-based line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    @classmethod
    def parse(cls, text: str) -> Location:
        """``file:line`` (the ``mailflow.policy`` property); a text without a line is a bare path."""
        path, _, line = text.rpartition(":")
        return cls(path, int(line)) if path and line.isdigit() else cls(text)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Location:
        line = data.get("line")
        return cls(str(data["path"]), int(line) if line is not None else None)


@dataclass(frozen=True)
class Detail:
    """What the process that ran one check learned: the verdict in words and the evidence behind it."""

    #: One line: the finding's summary, or why the check could not be determined.
    message: str
    param: str | None = None
    #: What the rule observed (records, the SPF lookup tree, ...).
    observed: tuple[str, ...] = ()
    #: Each DNS answer the rule consulted, with where it came from.
    dns: tuple[str, ...] = ()
    #: The zone file lines of the records consulted (with --mailflow-zones), most relevant first.
    zone_records: tuple[Location, ...] = ()
    #: How to fix a failure (the finding's own fix, else the rule's remediation); None for passes.
    fix: str | None = None
    #: The whole explanation, as the terminal shows it; None for passes.
    text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the trip from an xdist worker to the controller."""
        return {
            "message": self.message,
            "param": self.param,
            "observed": list(self.observed),
            "dns": list(self.dns),
            "zone_records": [r.to_dict() for r in self.zone_records],
            "fix": self.fix,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Detail:
        return cls(
            message=str(data.get("message", "")),
            param=data.get("param"),
            observed=tuple(data.get("observed", ())),
            dns=tuple(data.get("dns", ())),
            zone_records=tuple(Location.from_dict(r) for r in data.get("zone_records", ())),
            fix=data.get("fix"),
            text=data.get("text"),
        )


def detail_of_result(result: Result, text: str | None) -> Detail:
    """The detail of a judged check; ``text`` is its failure explanation (None when it passed)."""
    from ..dns.zone import zone_records

    finding = result.finding
    records = [Location(path, line) for provenance in result.provenance for path, line in zone_records(provenance)]
    return Detail(
        message=finding.summary,
        param=result.check.param,
        observed=(*finding.observed, *finding.details),
        dns=result.consulted,
        zone_records=tuple(dict.fromkeys(records)),
        fix=None if finding.passed else (finding.fix or result.check.rule.remediation),
        text=text,
    )


def detail_of_error(check: Check, error: Indeterminate, consulted: Iterable[str], text: str) -> Detail:
    """The detail of a check whose evidence could not be determined."""
    return Detail(message=str(error), param=check.param, dns=tuple(consulted), text=text)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check (one pytest item) with everything the reports show about it."""

    nodeid: str
    rule: str
    family: str
    severity: str
    domain: str
    scenario: str
    #: Where the policy states the expectation.
    policy: Location
    #: One of OUTCOMES.
    outcome: str
    detail: Detail
    #: Why the check was xfailed (the waiver or fail-on text) or skipped.
    reason: str | None = None
    #: The ID of the waiver that waived it.
    waiver: str | None = None

    @property
    def check(self) -> str:
        """The check's name in node IDs: ``MF-SPF-010[203.0.113.10]``."""
        param = self.detail.param
        return f"{self.rule}[{param}]" if param is not None else self.rule

    @property
    def fingerprint(self) -> str:
        """Stable across runs and edits of the policy: rule, domain and parameter, never a line number."""
        key = "\x00".join((self.rule, self.domain, self.detail.param or ""))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def check_result(check: Check, detail: Detail, outcome: str) -> CheckResult:
    """A result outside pytest; its node ID is the one pytest would give the check."""
    rule, domain = check.rule, check.domain
    return CheckResult(
        nodeid=f"{domain.path}::{domain.name}::{check.name}",
        rule=rule.id,
        family=rule.family,
        severity=str(rule.severity),
        domain=domain.name,
        scenario=domain.scenario,
        policy=Location(domain.path, check.line),
        outcome=outcome,
        detail=detail,
    )


def run_check(engine: Engine, check: Check) -> CheckResult:
    """Judge one check as the pytest plugin does (passed, failed or error; no waivers, no fail-on)."""
    from ..engine import Undetermined
    from ..render import error_text, failure_text

    try:
        result = engine.run(check)
    except Undetermined as exc:
        text = error_text(check, exc.error, exc.consulted)
        return check_result(check, detail_of_error(check, exc.error, exc.consulted, text), "error")
    if result.finding.passed:
        return check_result(check, detail_of_result(result, None), "passed")
    return check_result(check, detail_of_result(result, failure_text(result)), "failed")


@dataclass(frozen=True)
class WaiverInfo:
    id: str
    rule: str
    domains: tuple[str, ...]
    reason: str
    owner: str
    #: The last day (UTC) it applies, YYYY-MM-DD.
    expires: str
    #: Not expired on the run's "today".
    active: bool
    scenario: str | None = None
    #: ``file:line`` of its entry.
    where: str = ""


@dataclass(frozen=True)
class SourceInfo:
    """Where the run's DNS answers came from."""

    #: cassette or live
    dns: str
    description: str
    record_mode: str = "none"
    cassettes: str | None = None
    nameservers: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    #: With zones: where other names were answered (cassette, live, none).
    fallback: str | None = None


@dataclass(frozen=True)
class CollectionError:
    """A policy file (or other node) that could not be collected: its checks are missing from the results."""

    nodeid: str
    message: str


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class RunInfo:
    started: dt.datetime
    finished: dt.datetime
    source: SourceInfo
    #: The date waiver expiry was judged against, and where it came from.
    today: dt.date
    today_from: str = ""
    fail_on: str = "info"
    ignore_waivers: bool = False
    waivers: tuple[WaiverInfo, ...] = ()
    #: The pytest command-line arguments.
    args: tuple[str, ...] = ()
    #: pytest's exit status (0 all passed, 1 some failed or errored, ...).
    exit_status: int = 0
    #: Why not every collected check ran (--collect-only, -x, Ctrl-C); None for a complete run.
    partial: str | None = None
    collection_errors: tuple[CollectionError, ...] = ()
    tool_version: str = __version__


@dataclass(frozen=True)
class Report:
    run: RunInfo
    #: Sorted by node ID, so that a report does not depend on the order xdist workers finished in.
    results: tuple[CheckResult, ...] = field(default=())

    @classmethod
    def of(cls, run: RunInfo, results: Iterable[CheckResult]) -> Report:
        return cls(run, tuple(sorted(results, key=lambda r: r.nodeid)))

    def counts(self) -> dict[str, int]:
        """Results per outcome; every outcome is present."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return counts

    def severity_counts(self) -> dict[str, dict[str, int]]:
        """severity -> outcome -> results, for the severities that have results (most severe first)."""
        table: dict[str, dict[str, int]] = {}
        for severity in (*SEVERITIES, *sorted({r.severity for r in self.results} - set(SEVERITIES))):
            found = [r for r in self.results if r.severity == severity]
            if found:
                table[severity] = {o: sum(1 for r in found if r.outcome == o) for o in OUTCOMES}
        return table

    def with_outcome(self, *outcomes: str) -> list[CheckResult]:
        return [r for r in self.results if r.outcome in outcomes]

    @cached_property
    def domains(self) -> list[str]:
        """Every domain with results, in node ID order (policy file, then domain)."""
        return list(dict.fromkeys(r.domain for r in self.results))

    @staticmethod
    def families() -> list[str]:
        """Every family of the rule registry, in the order of the rule index."""
        from ..rulesdoc import families

        return families()

    @cached_property
    def cells(self) -> dict[tuple[str, str], list[CheckResult]]:
        """(domain, family) -> its results."""
        cells: dict[tuple[str, str], list[CheckResult]] = {}
        for result in self.results:
            cells.setdefault((result.domain, result.family), []).append(result)
        return cells


def family_title(family: str, short: bool = False) -> str:
    """The family's title from the rule index (MTA-STS, Microsoft 365 records), or a short one for tables."""
    from ..rulesdoc import FAMILY_TITLES

    return (SHORT_TITLES.get(family) if short else None) or FAMILY_TITLES.get(family, family)


def worst(outcomes: Iterable[str]) -> str | None:
    """The worst of the outcomes (WORST_FIRST), or None when there are none."""
    present = set(outcomes)
    return next((o for o in WORST_FIRST if o in present), None)


def iso(moment: dt.datetime) -> str:
    """UTC, to the second, with a Z: ``2026-05-01T06:17:03Z``."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"

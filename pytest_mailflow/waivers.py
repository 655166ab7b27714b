"""Waivers, ``--mailflow-fail-on`` and the counts of the "mailflow summary".

A waiver is a time-limited, owned exception for one rule on named domains, kept in its own YAML
file (``mailflow_waivers: 1``) so that code owners can protect it. A failing check that an unexpired
waiver matches is reported as xfailed with the waiver's reason; a failing check whose rule is less
severe than ``--mailflow-fail-on`` is reported as xfailed too ("soft"). Checks that could not be
determined stay errors whatever a waiver or fail-on says.

The clock is read once, on the controller, in ``pytest_configure`` (or given with ``--mailflow-today``)
and handed to xdist workers through ``workerinput``: every process agrees on "today", also at
midnight. Collection never reads the clock.

Only the standard library and pytest are imported at module level: ``-W error::...MailflowWaiverWarning``
imports this module even in runs without ``--mailflow``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import InputFileError, Problem

if TYPE_CHECKING:
    import jsonschema

    from .rules.base import Severity
    from .yamlload import Located

SCHEMA_VERSION = 1
#: ``--mailflow-fail-on`` levels, least severe first (the names of rules.base.Severity).
LEVELS = ("info", "low", "medium", "high", "critical")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: user_properties keys (also in JUnit XML as <property>).
WAIVER_PROPERTY = "mailflow.waiver"
SOFT_PROPERTY = "mailflow.soft"
#: The workerinput key that carries the controller's "today" to xdist workers.
WORKERINPUT_TODAY = "mailflow_today"


class MailflowWaiverWarning(pytest.PytestWarning):
    """A waiver that is stale (its check passed, or it matched nothing) or expired.

    Escalate with ``-W error::pytest_mailflow.waivers.MailflowWaiverWarning`` (or ``filterwarnings``):
    the run then fails."""


class WaiverError(InputFileError):
    """A waiver file is invalid."""


def utc_today() -> dt.date:
    """Today's date in UTC: the controller's clock (read once per run, in pytest_configure)."""
    return dt.datetime.now(dt.UTC).date()


def parse_day(text: str) -> dt.date:
    """A strict ``YYYY-MM-DD`` date; ``ValueError`` otherwise."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date written as YYYY-MM-DD (e.g. 2026-12-31)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


@dataclass(frozen=True)
class Waiver:
    id: str
    rule: str
    domains: tuple[str, ...]
    reason: str
    owner: str
    #: The last day (inclusive, UTC) the waiver applies.
    expires: dt.date
    scenario: str | None = None
    approved_by: str | None = None
    created: dt.date | None = None
    #: ``path:line`` of the waiver's entry, for messages.
    where: str = ""
    #: The waiver file's full path (warnings point at it), when loaded from a file.
    source: str | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        """The xfail reason of a check this waiver waives."""
        return f"waived {self.id} by {self.owner} until {self.expires.isoformat()}: {self.reason}"

    def active(self, today: dt.date) -> bool:
        return today <= self.expires

    def matches(self, rule: str, domain: str, scenario: str) -> bool:
        return rule == self.rule and domain in self.domains and (self.scenario is None or self.scenario == scenario)

    @property
    def label(self) -> str:
        narrowed = f" in scenario {self.scenario}" if self.scenario else ""
        return f"{self.id} ({self.rule} on {', '.join(self.domains)}{narrowed})"


# --- loading ---------------------------------------------------------------------------------------


@functools.cache
def waiver_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("waivers.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _with_message(original: Any) -> Any:
    """Wrap a keyword's check so that an ``x-message`` beside it replaces jsonschema's message."""
    from jsonschema.exceptions import ValidationError

    def check(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        for error in original(validator, value, instance, schema):
            template = schema.get("x-message") if isinstance(schema, dict) else None
            yield ValidationError(template.format(value=instance)) if isinstance(template, str) else error

    return check


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema

    base = jsonschema.Draft202012Validator
    keywords = {name: _with_message(base.VALIDATORS[name]) for name in ("pattern", "const")}
    cls: Any = jsonschema.validators.extend(base, validators=keywords)  # type: ignore[no-untyped-call]
    validator: jsonschema.protocols.Validator = cls(waiver_schema())
    return validator


def load_waiver_files(files: Sequence[tuple[Path, str]]) -> tuple[Waiver, ...]:
    """Every waiver of the given files (path, display name), in order.

    Raises :class:`WaiverError` listing every problem of every file (``path:line:col: key.path: message``).
    """
    loaded: list[_Loaded] = []
    from .inputs import WAIVERS_MAX_BYTES, decode_text, read_input

    for path, display in files:
        try:
            raw = read_input(path, display, what="waiver file", limit=WAIVERS_MAX_BYTES, error=WaiverError)
            text = decode_text(raw, display, error=WaiverError)
        except WaiverError as exc:
            loaded.append(_Loaded(problems=list(exc.problems)))
            continue
        loaded.append(_load_text(text, display, str(path.resolve())))
    return _combine(loaded)


def load_waiver_text(text: str, display: str) -> tuple[Waiver, ...]:
    """The waivers of one file's text (for tests and tools); raises :class:`WaiverError`."""
    return _combine([_load_text(text, display)])


def _combine(files: Iterable[_Loaded]) -> tuple[Waiver, ...]:
    """All files' waivers, or a :class:`WaiverError` with all their problems (and duplicate IDs over all files)."""
    found: list[Problem] = []
    waivers: list[Waiver] = []
    first_seen: dict[str, str] = {}
    for loaded in files:
        problems = list(loaded.problems)
        for waiver_id, where, at in loaded.ids:
            if waiver_id in first_seen:
                problems.append(
                    replace(at, message=f"duplicate waiver ID '{waiver_id}' (also at {first_seen[waiver_id]})")
                )
            else:
                first_seen[waiver_id] = where
        found.extend(sorted(problems, key=lambda p: (p.line, p.column, p.message)))
        waivers.extend(loaded.waivers)
    if found:
        raise WaiverError(found)
    return tuple(waivers)


@dataclass
class _Loaded:
    waivers: list[Waiver] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: (waiver ID, "path:line", where its id key is) of every entry, for duplicate IDs over all files.
    ids: list[tuple[str, str, Problem]] = field(default_factory=list)


def _load_text(text: str, display: str, source: str | None = None) -> _Loaded:
    from .policy.validate import problems as schema_problems
    from .yamlload import YamlLoadError, load_located

    try:
        located = load_located(text, display)
    except YamlLoadError as exc:
        return _Loaded(problems=[exc.problem])
    if not isinstance(located.data, dict):
        return _Loaded(
            problems=[located.problem((), "a waiver file must be a mapping with 'mailflow_waivers: 1' and 'waivers'")]
        )
    loaded = _Loaded(problems=[_renamed(p) for p in schema_problems(_validator(), located)])
    flagged = {p.key_path for p in loaded.problems}
    raw = located.data.get("waivers")
    entries = [(("waivers", i), e) for i, e in enumerate(raw) if isinstance(e, dict)] if isinstance(raw, list) else []
    for path, entry in entries:
        loaded.problems.extend(p for p in _semantic_problems(located, path, entry) if p.key_path not in flagged)
        if isinstance(entry.get("id"), str):
            where = f"{located.path}:{located.mark(path)[0]}"
            loaded.ids.append((entry["id"], where, located.problem((*path, "id"), "")))
    loaded.problems.sort(key=lambda p: (p.line, p.column, p.message))
    if not loaded.problems:
        loaded.waivers = [replace(_build(located, path, entry), source=source) for path, entry in entries]
    return loaded


#: Keys people write from other tools (or earlier drafts of this format), and what to write instead.
_RENAMED = {"justification": "reason", "version": "mailflow_waivers", "expiry": "expires", "domain": "domains"}


def _renamed(problem: Problem) -> Problem:
    key = problem.key_path.rsplit(".", 1)[-1]
    if key in _RENAMED and problem.message.startswith(f"unknown key '{key}'"):
        return replace(problem, message=f"unknown key '{key}': write it as '{_RENAMED[key]}'")
    return problem


def _semantic_problems(located: Located, path: tuple[str | int, ...], entry: dict[str, Any]) -> Iterator[Problem]:
    """What the schema cannot say: known rule IDs and scenarios, A-label domains, real dates."""
    from .hints import did_you_mean
    from .names import InvalidDomainName, to_a_label
    from .policy.scenarios import scenarios
    from .rules import REGISTRY

    rule = entry.get("rule")
    if isinstance(rule, str) and rule and rule not in REGISTRY:
        hint = did_you_mean(rule, REGISTRY) or " (rule IDs look like MF-SPF-003; see docs/rules.md)"
        yield located.problem((*path, "rule"), f"unknown rule ID '{rule}'{hint}")
    scenario = entry.get("scenario")
    known = scenarios()
    if isinstance(scenario, str) and scenario and scenario not in known:
        hint = did_you_mean(scenario, known)
        yield located.problem(
            (*path, "scenario"), f"unknown scenario '{scenario}'{hint}; known: {', '.join(sorted(known))}"
        )
    domains = entry.get("domains")
    for index, name in enumerate(domains if isinstance(domains, list) else []):
        if not isinstance(name, str) or not name:
            continue
        where = (*path, "domains", index)
        if "*" in name:
            yield located.problem(where, f"'{name}': wildcards are not allowed; list each domain")
            continue
        try:
            a_label = to_a_label(name)
        except InvalidDomainName as exc:
            yield located.problem(where, str(exc))
            continue
        if a_label != name:
            yield located.problem(where, f"write the domain as a lower-case A-label without a final dot: '{a_label}'")
    days: dict[str, dt.date] = {}
    for key in ("created", "expires"):
        value = entry.get(key)
        if isinstance(value, str):
            try:
                days[key] = parse_day(value)
            except ValueError as exc:
                yield located.problem((*path, key), str(exc))
    if "created" in days and "expires" in days and days["expires"] < days["created"]:
        yield located.problem((*path, "expires"), f"expires ({days['expires']}) is before created ({days['created']})")


def _build(located: Located, path: tuple[str | int, ...], entry: dict[str, Any]) -> Waiver:
    created = entry.get("created")
    return Waiver(
        id=entry["id"],
        rule=entry["rule"],
        domains=tuple(entry["domains"]),
        reason=" ".join(str(entry["reason"]).split()),
        owner=str(entry["owner"]).strip(),
        expires=parse_day(entry["expires"]),
        scenario=entry.get("scenario"),
        approved_by=entry.get("approved_by"),
        created=parse_day(created) if created else None,
        where=f"{located.path}:{located.mark(path)[0]}",
    )


# --- per process: what a failing check becomes -----------------------------------------------------


@dataclass(frozen=True)
class OutcomeRules:
    """Everything that can soften a failure, fixed in pytest_configure; the same in every process."""

    waivers: tuple[Waiver, ...] = ()
    today: dt.date = field(default_factory=utc_today)
    #: One of LEVELS: failures of rules less severe than this are soft.
    fail_on: str = "info"
    ignore_waivers: bool = False
    #: Where the date came from, for the summary: "--mailflow-today", "controller clock (UTC)".
    today_from: str = ""

    def waiver_for(self, rule: str, domain: str, scenario: str) -> Waiver | None:
        """The first unexpired waiver that matches, unless waivers are ignored."""
        if self.ignore_waivers:
            return None
        for waiver in self.waivers:
            if waiver.active(self.today) and waiver.matches(rule, domain, scenario):
                return waiver
        return None

    def soften(self, rule: str, severity: Severity, domain: str, scenario: str) -> tuple[str, str, str] | None:
        """For a *failing* check: ``(property, value, xfail reason)``, or None when it stays a failure."""
        waiver = self.waiver_for(rule, domain, scenario)
        if waiver is not None:
            return WAIVER_PROPERTY, waiver.id, waiver.text
        if LEVELS.index(str(severity)) < LEVELS.index(self.fail_on):
            return SOFT_PROPERTY, self.fail_on, f"below fail-on {self.fail_on}: {severity}"
        return None


# --- on the controller: counts and stale waivers ---------------------------------------------------

#: Columns of the summary table, in order; the last two appear only when something has them.
OUTCOMES = ("passed", "failed", "error", "waived", "soft", "xfailed", "skipped")


def outcome_of(report: pytest.TestReport) -> str | None:
    """The one outcome a mail-flow item's report stands for, or None (other phases, other tests)."""
    props = dict(report.user_properties)
    if "mailflow.rule" not in props:
        return None
    if report.when == "setup":
        if report.failed:
            return "error"
        return "xfailed" if report.skipped and hasattr(report, "wasxfail") else "skipped" if report.skipped else None
    if report.when != "call":
        return None
    if report.failed:
        return "failed"
    if report.skipped and hasattr(report, "wasxfail"):
        if WAIVER_PROPERTY in props:
            return "waived"
        return "soft" if SOFT_PROPERTY in props else "xfailed"
    return "skipped" if report.skipped else "passed"


@dataclass(frozen=True)
class WaiverNote:
    """One line of the waiver list: ``kind`` is expired, unused or unknown."""

    kind: str
    waiver: Waiver
    detail: str

    @property
    def message(self) -> str:
        prefix = "expired" if self.kind == "expired" else "stale"
        return f"{prefix}: {self.waiver.label}: {self.detail}"

    def __str__(self) -> str:
        return f"{self.message} [{self.waiver.where}]"


@dataclass(eq=False)
class Tally:
    """Counts results as their reports arrive (on the controller under xdist) and judges the waivers."""

    rules: OutcomeRules
    counts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    #: (rule, domain, scenario) of every mail-flow result seen.
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    #: waiver ID -> domain -> outcomes of the checks it matched.
    matched: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    #: Notes that warning filters turned into errors (set at session end).
    escalated: list[WaiverNote] = field(default_factory=list)
    #: Why not every collected check ran (--collect-only, -x, Ctrl-C): then only expiry is judged.
    partial: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Registered as a plugin on the controller (or the only process): reports of every worker arrive here."""
        self.add(report)

    def add(self, report: pytest.TestReport) -> None:
        outcome = outcome_of(report)
        if outcome is None:
            return
        props = {key: str(value) for key, value in report.user_properties}
        self.counts[(props.get("mailflow.severity", "?"), outcome)] += 1
        rule, domain, scenario = (
            props["mailflow.rule"],
            props.get("mailflow.domain", ""),
            props.get("mailflow.scenario", ""),
        )
        self.seen.add((rule, domain, scenario))
        for waiver in self.rules.waivers:
            if waiver.matches(rule, domain, scenario):
                self.matched[waiver.id][domain].add(outcome)

    def notes(self) -> list[WaiverNote]:
        """Expired waivers, and unexpired ones that waived nothing: their check passed or was not collected."""
        if self.rules.ignore_waivers:
            return []
        notes: list[WaiverNote] = []
        today = self.rules.today
        for waiver in self.rules.waivers:
            if self.partial is not None and waiver.active(today):
                continue  # what it would have matched may not have run
            if not waiver.active(today):
                failing = sorted(d for d, seen in self.matched.get(waiver.id, {}).items() if "failed" in seen)
                also = f"; still failing on {', '.join(failing)}" if failing else ""
                notes.append(
                    WaiverNote(
                        "expired",
                        waiver,
                        f"expired on {waiver.expires.isoformat()} (today is {today.isoformat()}, UTC): it waives "
                        f"nothing, its checks are judged as if unwaived{also}",
                    )
                )
                continue
            passed: list[str] = []
            for domain in waiver.domains:
                outcomes = self.matched.get(waiver.id, {}).get(domain)
                if not outcomes:
                    notes.append(WaiverNote("unknown", waiver, self._why_nothing(waiver, domain)))
                elif outcomes <= {"passed"}:
                    passed.append(domain)
            if passed:
                which = "the check passed" if len(passed) == 1 else "the checks passed"
                notes.append(
                    WaiverNote(
                        "unused",
                        waiver,
                        f"{which} on {', '.join(passed)}: remove the waiver (or those domains from it)",
                    )
                )
        return notes

    def _why_nothing(self, waiver: Waiver, domain: str) -> str:
        domains = {d for _, d, _ in self.seen}
        if domain not in domains:
            return f"matched nothing: domain {domain} was not collected in this run"
        rules = {r for r, d, _ in self.seen if d == domain}
        if waiver.rule not in rules:
            return (
                f"matched nothing: {waiver.rule} was not collected for {domain} in this run "
                "(not in its scenario, skipped by its policy, or deselected)"
            )
        scenarios = sorted({s for r, d, s in self.seen if d == domain and r == waiver.rule})
        return f"matched nothing: {domain} is in scenario {', '.join(scenarios)}, not {waiver.scenario}"

    def table(self) -> list[str]:
        """The counts by severity and outcome, as aligned lines (empty when nothing ran)."""
        if not self.counts:
            return []
        columns = [o for o in OUTCOMES if o in OUTCOMES[:5] or any(k[1] == o for k in self.counts)]
        severities = [s for s in reversed(LEVELS) if any(k[0] == s for k in self.counts)]
        severities += sorted({k[0] for k in self.counts} - set(LEVELS))
        rows = [["severity", *columns, "total"]]
        for severity in [*severities, "total"]:
            cells = [
                sum(n for (s, o), n in self.counts.items() if o == column and severity in (s, "total"))
                for column in columns
            ]
            rows.append([severity, *(str(c) for c in cells), str(sum(cells))])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return [
            "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
            for row in rows
        ]

    def summary(self) -> list[str]:
        lines = self.table()
        rules = self.rules
        setting = f"fail-on {rules.fail_on}; today {rules.today.isoformat()} (UTC, {rules.today_from})"
        if rules.ignore_waivers:
            setting += f"; waivers ignored (--mailflow-ignore-waivers): {len(rules.waivers)} not applied"
        elif rules.waivers:
            active = sum(1 for w in rules.waivers if w.active(rules.today))
            used = sum(1 for w in rules.waivers if any("waived" in o for o in self.matched.get(w.id, {}).values()))
            setting += f"; waivers: {len(rules.waivers)}, {active} unexpired, {used} applied"
        lines.append(setting)
        if self.partial is not None and rules.waivers and not rules.ignore_waivers:
            lines.append(f"{self.partial}: only expiry is judged, not whether the waivers are still needed")
        notes = self.notes()
        if notes:
            lines.append("waivers to look at:")
            lines.extend(f"  {note}" for note in notes)
        return lines


def waiver_files(values: Iterable[str], base: Path) -> list[Path]:
    """Waiver paths resolved against ``base`` (the invocation folder for the command line, rootdir for ini)."""
    return [base / value for value in values]


def warn(notes: Iterable[WaiverNote]) -> list[WaiverNote]:
    """Issue a :class:`MailflowWaiverWarning` per note, located at the waiver's line; returns the notes
    that warning filters (``-W error::...``, ``filterwarnings``) turned into errors."""
    import linecache
    import warnings

    escalated: list[WaiverNote] = []
    for note in notes:
        display, _, line = note.waiver.where.rpartition(":")
        path = note.waiver.source or display or "waivers"
        linecache.checkcache(path)  # the summary quotes the waiver's line: not from an older copy of the file
        try:
            warnings.warn_explicit(MailflowWaiverWarning(note.message), MailflowWaiverWarning, path, int(line or 1))
        except MailflowWaiverWarning:
            escalated.append(note)
    return escalated

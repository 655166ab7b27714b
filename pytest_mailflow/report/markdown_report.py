"""The Markdown summary: short enough for a pull-request comment or a CI job summary.

Headline counts, a domains × families table, then the failures (capped), the checks that could not be
determined, the soft failures and the waived ones. Text from the run is escaped: in a comment, a TXT
record must not become a link, an image or markup.
"""

from __future__ import annotations

import re

from .model import TOOL_NAME, CheckResult, Report, family_title, worst

#: At most this many rows per list; the rest are counted.
LIMIT = 50
#: How each worst outcome shows in the table.
STATUS = {
    "passed": "✅",
    "failed": "❌",
    "error": "❓",
    "soft": "⚠️",
    "xfailed": "⚠️",
    "waived": "🔕",
    "skipped": "⏭️",
}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def escape(text: str, width: int | None = 200) -> str:
    """Plain text made safe in Markdown (no markup, no HTML); with a ``width``, one line for a table cell."""
    line = text
    if width is not None:
        line = " ".join(text.split())
        if len(line) > width:
            line = line[: width - 1] + "…"
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", line)


def _code(text: str) -> str:
    """Inline code that survives any backticks in the text."""
    text = " ".join(text.split()).replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _headline(report: Report) -> str:
    counts = report.counts()
    failed, errors = counts["failed"], counts["error"]
    if failed:
        icon = "❌"
    elif errors or report.run.collection_errors or not report.results:
        icon = "❓"
    else:
        icon = "✅"
    parts = [f"{counts['passed']} passed", f"{failed} failed", f"{errors} could not be determined"]
    parts += [f"{counts[o]} {o}" for o in ("waived", "soft", "xfailed", "skipped") if counts[o]]
    return f"## {icon} Mail-flow checks: " + ", ".join(parts)


def _table(report: Report) -> list[str]:
    families = [f for f in report.families() if any(k[1] == f for k in report.cells)]
    if not families:
        return []
    lines = [
        "| domain | " + " | ".join(family_title(f, short=True) for f in families) + " |",
        "| --- |" + " :---: |" * len(families),
    ]
    for domain in report.domains:
        cells = []
        for family in families:
            results = report.cells.get((domain, family), [])
            state = worst(r.outcome for r in results)
            if state is None:
                cells.append("·")
            elif state == "passed":
                cells.append(STATUS[state])
            else:
                cells.append(f"{STATUS[state]} {sum(1 for r in results if r.outcome == state)}")
        lines.append(f"| {escape(domain)} | " + " | ".join(cells) + " |")
    legend = ", ".join(
        f"{STATUS[o]} {name}"
        for o, name in (
            ("passed", "passed"),
            ("failed", "failed"),
            ("error", "could not determine"),
            ("soft", "soft (below fail-on)"),
            ("waived", "waived"),
            ("skipped", "skipped"),
        )
    )
    return [*lines, "", f"{legend}, · no check; numbers count the checks with that outcome."]


def _rows(title: str, header: list[str], rows: list[list[str]], limit: int) -> list[str]:
    if not rows:
        return []
    lines = ["", f"### {title} ({len(rows)})", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines += ["", f"… and {len(rows) - limit} more (see the full report)."]
    return lines


def _check(result: CheckResult) -> str:
    return _code(result.check)


def render(report: Report, limit: int = LIMIT) -> str:
    run = report.run
    lines = [_headline(report), ""]
    lines.append(
        f"<sub>{escape(TOOL_NAME)} {escape(run.tool_version)} · {run.finished:%Y-%m-%d %H:%M} UTC · "
        f"{escape(run.source.description)} · fail-on {escape(run.fail_on)}</sub>"
    )
    if run.partial:
        lines += ["", f"**Incomplete run:** {escape(run.partial)}; not every check ran."]
    for error in run.collection_errors:
        lines += ["", f"**Not loaded:** {_code(error.nodeid)}: its checks are missing."]
    table = _table(report)
    if table:
        lines += ["", *table]
    failures = report.with_outcome("failed")
    lines += _rows(
        "Failures",
        ["check", "severity", "domain", "finding"],
        [[_check(r), r.severity, escape(r.domain), escape(r.detail.message)] for r in failures],
        limit,
    )
    lines += _rows(
        "Could not determine",
        ["check", "domain", "cause"],
        [[_check(r), escape(r.domain), escape(r.detail.message)] for r in report.with_outcome("error")],
        limit,
    )
    lines += _rows(
        f"Soft failures (below fail-on {escape(run.fail_on)})",
        ["check", "severity", "domain", "finding"],
        [
            [_check(r), r.severity, escape(r.domain), escape(r.detail.message)]
            for r in report.with_outcome("soft", "xfailed")
        ],
        limit,
    )
    waivers = {w.id: w for w in run.waivers}
    waived_rows = []
    for result in report.with_outcome("waived"):
        waiver = waivers.get(result.waiver or "")
        waived_rows.append(
            [
                _check(result),
                escape(result.domain),
                escape(result.waiver or ""),
                escape(waiver.expires if waiver else ""),
                escape(waiver.reason if waiver else result.reason or ""),
            ]
        )
    lines += _rows("Waived", ["check", "domain", "waiver", "until", "reason"], waived_rows, limit)
    return "\n".join(lines) + "\n"

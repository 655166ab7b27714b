"""The HTML report: one self-contained page with a compliance matrix (domains × rule families), coloured
by each cell's worst outcome, and every finding with its evidence.

Everything from the run is escaped: domain names, TXT records and waiver reasons are input nobody
vetted. As a second line of defence the page's Content-Security-Policy allows no fetch at all and runs
only its own script (report.js, inlined and allowed by its hash), so markup that slipped through could
neither run a script nor load anything. The script only opens the findings of a clicked cell and filters
rows; without it the cells are plain links to their findings.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from html import escape
from importlib import resources

from ..rules import REGISTRY
from .model import OUTCOMES, TOOL_NAME, CheckResult, Report, family_title, worst

#: How each outcome is named on the page.
LABELS = {
    "passed": "passed",
    "failed": "failed",
    "error": "could not determine",
    "waived": "waived",
    "soft": "soft (below fail-on)",
    "xfailed": "xfailed",
    "skipped": "skipped",
}
LEGEND = {
    "passed": "every check passed",
    "failed": "the policy is violated",
    "error": "an answer was missing (timeout, SERVFAIL, no recording)",
    "soft": "violated; the rule is below --mailflow-fail-on",
    "waived": "violated; a waiver accepts it",
    "xfailed": "violated; marked xfail",
    "skipped": "not run",
}
#: Outcomes always shown in the counts and the legend, even at zero.
CORE = ("passed", "failed", "error")
SYMBOLS = {"passed": "✓", "failed": "✗", "error": "?", "soft": "!", "waived": "~", "xfailed": "!", "skipped": "–"}


@functools.cache
def _asset(name: str) -> str:
    """The page's stylesheet or script (package data beside this module), inlined into every page."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_asset("report.js").encode("utf-8")).digest()).decode("ascii")
    # Nothing may be fetched; styles are inline; the one script runs by its hash (no other script would).
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
        "base-uri 'none'; form-action 'none'"
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _verdict(report: Report) -> tuple[str, str]:
    counts = report.counts()
    total = len(report.results)
    if counts["failed"]:
        text = f"{_plural(counts['failed'], 'check')} failed"
        if counts["error"]:
            text += f", {counts['error']} could not be determined"
        return "bad", text + f" (of {total})"
    if counts["error"]:
        return "unsure", f"{_plural(counts['error'], 'check')} could not be determined (of {total})"
    if report.run.collection_errors:
        return "unsure", "some policy files could not be loaded"
    if not total:
        return "unsure", "no check ran"
    return "good", f"all {_plural(total, 'check')} passed or were accepted"


def _meta(report: Report) -> str:
    run = report.run
    waivers = "ignored (--mailflow-ignore-waivers)" if run.ignore_waivers else str(len(run.waivers) or "none")
    rows = [
        ("finished", f"{run.finished:%Y-%m-%d %H:%M:%S} UTC"),
        ("DNS", run.source.description),
        ("fail-on", run.fail_on),
        ("today", f"{run.today.isoformat()} ({run.today_from})" if run.today_from else run.today.isoformat()),
        ("waivers", waivers),
        ("command", " ".join(["pytest", *run.args])),
        ("tool", f"{TOOL_NAME} {run.tool_version}"),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _banners(report: Report) -> str:
    run = report.run
    parts = []
    if run.partial:
        parts.append(f'<div class="banner"><b>Incomplete run:</b> {_e(run.partial)}; not every check ran.</div>')
    for error in run.collection_errors:
        parts.append(
            f'<div class="banner"><b>Not loaded:</b> <code>{_e(error.nodeid)}</code>: its checks are missing.'
            f"<pre>{_e(error.message)}</pre></div>"
        )
    return "".join(parts)


def _cards(report: Report) -> str:
    counts = report.counts()
    shown = [o for o in OUTCOMES if counts[o] or o in CORE]
    cards = "".join(
        f'<div class="card s-{o}"><div class="n">{counts[o]}</div><div class="t">{_e(LABELS[o])}</div></div>'
        for o in shown
    )
    return f'<section class="cards" aria-label="counts">{cards}</section>'


def _legend(report: Report) -> str:
    counts = report.counts()
    shown = [o for o in ("passed", "failed", "error", "soft", "waived", "xfailed", "skipped") if counts[o] or o in CORE]
    keys = "".join(
        f'<span class="key s-{o}"><span class="swatch"></span>'
        f"<span><b>{_e(LABELS[o])}</b>: {_e(LEGEND[o])}</span></span>"
        for o in shown
    )
    return f'<div class="legend">{keys}<span class="key"><span><b>–</b>: no check of this family</span></span></div>'


def _cell_label(results: list[CheckResult], state: str) -> tuple[str, str]:
    total = len(results)
    if state == "passed":
        return f"{SYMBOLS[state]} passed", _plural(total, "check")
    count = sum(1 for r in results if r.outcome == state)
    name = "undetermined" if state == "error" else state
    return f"{SYMBOLS[state]} {count} {name}", f"of {_plural(total, 'check')}"


def _matrix(report: Report, ids: dict[tuple[str, str], str]) -> str:
    families = report.families()
    head = "".join(
        f'<th scope="col" title="{_e(family_title(f))}">{_e(family_title(f, short=True))}</th>' for f in families
    )
    rows = []
    for domain in report.domains:
        scenarios = sorted({r.scenario for r in report.results if r.domain == domain})
        cells = []
        for family in families:
            results = report.cells.get((domain, family), [])
            state = worst(r.outcome for r in results)
            if state is None:
                cells.append('<td class="cell"><span class="na" title="no check">–</span></td>')
                continue
            label, sub = _cell_label(results, state)
            anchor = ids[(domain, family)]
            tip = ", ".join(f"{n} {o}" for o in OUTCOMES if (n := sum(1 for r in results if r.outcome == o)))
            cells.append(
                f'<td class="cell s-{state}"><a href="#{anchor}" data-cell="{anchor}" title="{_e(tip)}">'
                f'<span class="l">{_e(label)}</span><span class="s">{_e(sub)}</span></a></td>'
            )
        rows.append(
            f'<tr><th scope="row">{_e(domain)}<span class="scenario">{_e(", ".join(scenarios))}</span></th>'
            + "".join(cells)
            + "</tr>"
        )
    return (
        '<div class="matrix-wrap"><table class="matrix"><colgroup><col class="c-domain"></colgroup>'
        '<thead><tr><th scope="col">Domain</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _pre(lines: tuple[str, ...] | list[str]) -> str:
    return f"<pre>{_e(chr(10).join(lines))}</pre>"


def _evidence(result: CheckResult) -> str:
    """The evidence of one check; open at once for anything but a pass or a skip."""
    detail = result.detail
    rule = REGISTRY.get(result.rule)
    rows = [("expected at", f"<code>{_e(result.policy)}</code>")]
    if result.reason:
        rows.append(("waiver" if result.outcome == "waived" else "reason", _e(result.reason)))
    if detail.observed:
        rows.append(("observed", _pre(detail.observed)))
    if detail.dns:
        rows.append(("DNS", _pre(detail.dns)))
    if detail.zone_records:
        rows.append(("zone records", ", ".join(f"<code>{_e(r)}</code>" for r in detail.zone_records)))
    if detail.fix:
        rows.append(("fix", _e(detail.fix)))
    if rule is not None:
        rows.append(("why", _e(rule.rationale)))
        if rule.references:
            links = "".join(
                f'<li><a href="{_e(ref.url)}" rel="noreferrer noopener">{_e(ref.title)}</a></li>'
                for ref in rule.references
            )
            rows.append(("see", f"<ul>{links}</ul>"))
    rows.append(("node ID", f"<code>{_e(result.nodeid)}</code>"))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    opened = "" if result.outcome in ("passed", "skipped") else " open"
    return f'<details class="evidence"{opened}><summary>evidence</summary><dl>{body}</dl></details>'


def _group(domain: str, family: str, results: list[CheckResult], anchor: str) -> str:
    state = worst(r.outcome for r in results) or "skipped"
    tally = " · ".join(f"{n} {LABELS[o]}" for o in OUTCOMES if (n := sum(1 for r in results if r.outcome == o)))
    rows = []
    for result in results:
        rule = REGISTRY.get(result.rule)
        title = f'<div class="title">{_e(rule.title)}</div>' if rule is not None else ""
        rows.append(
            f'<tr class="o-{result.outcome}"><td><code>{_e(result.check)}</code>{title}</td>'
            f'<td><span class="sev sev-{_e(result.severity)}">{_e(result.severity)}</span></td>'
            f'<td><span class="badge s-{result.outcome}">{_e(LABELS.get(result.outcome, result.outcome))}</span></td>'
            f"<td>{_e(result.detail.message)}{_evidence(result)}</td></tr>"
        )
    return (
        f'<details class="group s-{state}" id="{anchor}"><summary><span class="badge s-{state}">'
        f'{_e(LABELS.get(state, state))}</span><span class="fam">{_e(family_title(family))}</span>'
        f'<span class="mono">{_e(domain)}</span><span class="tally">{_e(tally)}</span></summary>'
        '<table class="checks"><colgroup><col class="c-check"><col class="c-sev"><col class="c-out"><col></colgroup>'
        "<thead><tr><th>Check</th><th>Severity</th><th>Outcome</th><th>Finding</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )


def _findings(report: Report, ids: dict[tuple[str, str], str]) -> str:
    order = {family: i for i, family in enumerate(report.families())}
    parts = [
        '<div class="toolbar"><button type="button" id="expand-all">Expand all</button>'
        '<button type="button" id="collapse-all">Collapse all</button>'
        '<label><input type="checkbox" id="hide-passed"> Hide passed checks</label></div>'
    ]
    for domain in report.domains:
        parts.append(f"<h3>{_e(domain)}</h3>")
        keys = sorted((k for k in report.cells if k[0] == domain), key=lambda k: order.get(k[1], len(order)))
        for key in keys:
            parts.append(_group(domain, key[1], report.cells[key], ids[key]))
    return "".join(parts)


def render(report: Report) -> str:
    ids = {key: f"cell-{i}" for i, key in enumerate(report.cells)}
    tone, verdict = _verdict(report)
    counts = report.counts()
    title = f"Mail-flow report: {verdict}"
    if not report.results:
        body = "<p>No mail-flow check reported a result.</p>"
    else:
        body = (
            f"<h2>Compliance matrix</h2>{_legend(report)}{_matrix(report, ids)}"
            f'<h2 id="findings">Findings</h2>{_findings(report, ids)}'
        )
    problems = sum(counts[o] for o in ("failed", "error"))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">'
        f'<meta name="generator" content="{_e(TOOL_NAME)} {_e(report.run.tool_version)}">'
        f"<title>{_e(title)}</title><style>{_asset('report.css')}</style></head>"
        f'<body data-problems="{problems}"><main>'
        f'<div class="top"><div><h1>Mail-flow compliance</h1><p class="verdict {tone}">{_e(verdict)}</p></div>'
        f"{_meta(report)}</div>{_banners(report)}{_cards(report)}{body}"
        f"<footer>Generated by {_e(TOOL_NAME)} {_e(report.run.tool_version)}. Rule details: "
        "<code>mailflow explain RULE-ID</code>.</footer>"
        f"</main><script>{_asset('report.js')}</script></body></html>\n"
    )

"""DMARC rules (RFC 7489 plus Microsoft's guidance for Microsoft 365 domains).

Every rule starts from policy discovery as receivers do it (RFC 7489 §6.6.3): the record at
``_dmarc.<domain>``, else the one at the organisational domain's ``_dmarc`` name. A domain that
inherits its policy gets the organisational record's subdomain policy (``sp``, default ``p``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..dmarc.discover import (
    Destination,
    Discovery,
    discover,
    dmarc_records,
    ignored_texts,
    report_destinations,
)
from ..dmarc.record import DmarcRecord, ReportUri, is_dmarc_record, parse, parse_uri, strength
from ..dns.base import Answer, ResolutionError
from ..dns.records import RecordSyntaxError, txt_value
from ..evidence import EvidenceView
from ..names import relative
from ..policy.model import DomainPolicy
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

_MS_DMARC = microsoft(
    "Set up DMARC to validate the From address domain for senders in Microsoft 365",
    "defender-office-365/email-authentication-dmarc-configure",
)
_RFC_ORG = rfc(7489, "3.2", "organizational domain")
_RFC_URIS = rfc(7489, "6.2", "DMARC URIs")
_RFC_TAGS = rfc(7489, "6.3", "general record format")
_RFC_ABNF = rfc(7489, "6.4", "formal definition")
_RFC_DISCOVERY = rfc(7489, "6.6.3", "policy discovery")
_RFC_SAMPLING = rfc(7489, "6.6.4", "message sampling")
_RFC_EXTERNAL = rfc(7489, "7.1", "verifying external destinations")

#: What a failing message gets when pct leaves it out of the requested policy (RFC 7489 §6.6.4).
_WEAKER = {"reject": "quarantine", "quarantine": "none", "none": "none"}
_THE_REST = {"reject": "is quarantined instead", "quarantine": "gets the receiver's normal handling"}


# --- discovery and what it means --------------------------------------------------------------------


def _discover(ev: EvidenceView) -> Discovery:
    found = ev.derive("dmarc-discovery", lambda view: discover(view.domain, view.lookup))
    if found.error is not None:
        raise found.error
    return found


def _answer_line(answer: Answer) -> str:
    name = relative(answer.question.name)
    if answer.is_void:
        return f"{name} TXT: {answer.status}"
    found = dmarc_records(answer)
    if not found:
        return f"{name} TXT: no record starting with v=DMARC1 ({len(answer.records)} other TXT)"
    return "; ".join(f'{name} TXT "{text}"' for text in found)


def _observed(found: Discovery) -> tuple[str, ...]:
    lines = [_answer_line(answer) for answer in found.answers]
    return tuple(lines) or (f"_dmarc.{found.domain} TXT: not asked",)


def _where(found: Discovery) -> str:
    if found.inherited:
        return f"_dmarc.{found.policy_domain} (inherited from the organisational domain)"
    return f"_dmarc.{found.policy_domain}"


@dataclass(frozen=True)
class _Applied:
    """The policy receivers apply to one kind of mail, and how the record says so."""

    policy: str | None  # None: no DMARC processing at all
    how: str
    pct: int | None
    raw_pct: str

    @property
    def weakest(self) -> str | None:
        """The mildest treatment a failing message can get, given pct (RFC 7489 §6.6.4)."""
        if self.policy is None or self.pct is None:
            return self.policy
        return self.policy if self.pct >= 100 else _WEAKER[self.policy]

    def sampling(self) -> str:
        """Words for pct < 100, or ""."""
        if self.policy in (None, "none") or self.pct is None or self.pct >= 100:
            return ""
        assert self.policy is not None
        return (
            f"pct={self.pct}: {self.policy} applies to only {self.pct}% of failing mail; "
            f"the rest {_THE_REST[self.policy]} (RFC 7489 §6.6.4)"
        )


def _applied(record: DmarcRecord, subdomain: bool) -> _Applied:
    effective = record.effective()
    raw_pct = record.tags.get("pct", "100")
    if effective.policy is None:
        broken = "no valid p" if record.policy is None else "an invalid sp"
        how = f"no DMARC: the record has {broken} and no valid rua address (RFC 7489 §6.6.3)"
        return _Applied(None, how, effective.pct, raw_pct)
    if effective.fallback:
        broken = "no valid p" if record.policy is None else "an invalid sp"
        how = (
            f"p=none: the record has {broken} but a valid rua address, so receivers act as if it "
            "said p=none (RFC 7489 §6.6.3)"
        )
        return _Applied("none", how, effective.pct, raw_pct)
    assert effective.policy is not None and effective.subdomain_policy is not None
    if not subdomain:
        return _Applied(effective.policy, f"p={effective.policy}", effective.pct, raw_pct)
    if record.subdomain_policy is not None:
        return _Applied(effective.subdomain_policy, f"sp={effective.subdomain_policy}", effective.pct, raw_pct)
    how = f"p={effective.policy} (no sp, so subdomains get p)"
    return _Applied(effective.subdomain_policy, how, effective.pct, raw_pct)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ignored_reason(text: str) -> str:
    record = parse(text)
    if record.errors and ("first tag" in record.errors[0] or "version" in record.errors[0]):
        return record.errors[0]
    return "it does not start with 'v=DMARC1'"


# --- MF-DMARC-001 -----------------------------------------------------------------------------------


def _lookalikes(found: Discovery) -> list[str]:
    hints = []
    for answer in found.answers:
        name = relative(answer.question.name)
        for text in ignored_texts(answer):
            lowered = text.strip().lower()
            if "dmarc" in lowered or lowered.startswith(("p=", "p =")):
                hints.append(f'the TXT record "{_short(text)}" at {name} is ignored: {_ignored_reason(text)}')
    return hints


def _apex_hint(ev: EvidenceView) -> list[str]:
    try:
        answer = ev.ask(ev.domain, "TXT")
    except ResolutionError:
        return []
    if answer.status != "NOERROR":
        return []
    for text in answer.records:
        try:
            value = txt_value(text)
        except RecordSyntaxError:
            continue
        if is_dmarc_record(value):
            return [
                f"a DMARC record is published at {relative(ev.domain)} itself, where receivers do not look; "
                f"move it to _dmarc.{relative(ev.domain)}"
            ]
    return []


def check_one_record(ev: EvidenceView, ctx: CheckContext) -> Finding:
    found = _discover(ev)
    observed = _observed(found)
    if len(found.records) == 1:
        if found.inherited:
            return Finding(
                True,
                f"{found.domain} has no DMARC record of its own; the record of its organisational domain "
                f"applies: _dmarc.{found.policy_domain} (RFC 7489 §6.6.3)",
                observed,
            )
        return Finding(True, f"one DMARC record applies, at _dmarc.{found.domain}", observed)
    if found.records:
        where = f"_dmarc.{found.policy_domain}"
        if found.policy_domain != found.domain:
            where += f" (the organisational domain, which {found.domain} would inherit from)"
        return Finding(
            False,
            f"{len(found.records)} DMARC records at {where}; with more than one, receivers apply no DMARC "
            "at all (RFC 7489 §6.6.3): keep exactly one",
            observed,
        )
    names = " or ".join(f"_dmarc.{name}" for name in dict.fromkeys((found.domain, found.org_domain)))
    hints = _lookalikes(found) + _apex_hint(ev)
    summary = f"no DMARC record at {names}; receivers apply no DMARC policy to mail from {found.domain}"
    return Finding(False, "; ".join([summary, *hints]), observed)


# --- MF-DMARC-002 -----------------------------------------------------------------------------------


def check_valid(ev: EvidenceView, ctx: CheckContext) -> Finding:
    found = _discover(ev)
    observed = _observed(found)
    record = found.record
    if record is None:
        return Finding(True, "no single DMARC record to check (see MF-DMARC-001)", observed)
    where = _where(found)
    if record.errors:
        effective = record.effective()
        consequences = []
        if effective.fallback:
            consequences.append("receivers act as if it said p=none, because rua has a valid address (RFC 7489 §6.6.3)")
        elif effective.policy is None:
            consequences.append(
                "with no valid p and no valid rua address, receivers apply no DMARC at all (RFC 7489 §6.6.3)"
            )
        if record.malformed:
            consequences.append("receivers may discard a malformed tag list entirely")
        return Finding(
            False,
            f"the DMARC record at {where} is invalid: " + "; ".join([*record.errors, *consequences]),
            observed,
            record.notes,
        )
    summary = f"the DMARC record at {where} is valid"
    if record.notes:
        summary += " (notes: " + "; ".join(record.notes) + ")"
    return Finding(True, summary, observed, record.notes)


# --- MF-DMARC-003 / 004: policy strength ------------------------------------------------------------


def _shortfall(applied: _Applied, want: str, pct_declared: bool) -> str:
    """Why the applied policy falls short of ``want`` ("" when it does not)."""
    assert applied.policy is not None
    if strength(applied.policy) < strength(want):
        return f"weaker than the declared {want}"
    if pct_declared or applied.pct is None:
        return ""
    weakest = applied.weakest
    assert weakest is not None
    if strength(weakest) < strength(want):
        return (
            f"{applied.sampling()}, so not every failing message gets {want}; declare expect.dmarc.pct to "
            "accept a partial rollout"
        )
    return ""


def _pct_problems(applied: _Applied, pct: int | None) -> list[str]:
    if applied.policy is None:
        return []
    if applied.pct is None:
        return [f"pct='{applied.raw_pct}' is not a whole number from 0 to 100 (see MF-DMARC-002)"]
    if pct is not None and applied.pct < pct and applied.policy != "none":
        return [
            f"pct={applied.pct} is below the declared {pct}: the policy applies to only {applied.pct}% of failing mail"
        ]
    return []


def check_policy(ev: EvidenceView, ctx: CheckContext) -> Finding:
    expect = ctx.policy.expect.dmarc
    found = _discover(ev)
    observed = _observed(found)
    record = found.record
    if record is None:
        why = f"{len(found.records)} records" if found.records else "no record"
        return Finding(False, f"no DMARC policy applies to {found.domain} ({why}; see MF-DMARC-001)", observed)
    applied = _applied(record, subdomain=found.inherited)
    if found.inherited:
        subject = f"{found.domain} inherits _dmarc.{found.policy_domain}; as a subdomain it gets {applied.how}"
    else:
        subject = f"the DMARC record at _dmarc.{found.domain} requests {applied.how}"
    if applied.policy is None:
        return Finding(False, f"{subject}; see MF-DMARC-002", observed)
    problems = []
    if expect.policy is not None:
        shortfall = _shortfall(applied, expect.policy, expect.pct is not None)
        if shortfall:
            problems.append(shortfall)
    if expect.pct is not None or applied.policy != "none":
        problems += _pct_problems(applied, expect.pct)
    if problems:
        return Finding(False, f"{subject}: " + "; ".join(problems), observed)
    sampling = applied.sampling()
    return Finding(True, subject + (f"; {sampling}" if sampling else ""), observed)


def _subdomain_views(found: Discovery) -> list[tuple[str, DmarcRecord | None, str]]:
    """(who looks there, the record they find, where) for the mail of the domain's subdomains."""
    if found.domain == found.org_domain or not found.records or found.inherited:
        source = f"_dmarc.{found.policy_domain}"
        return [("", found.record, source)]
    if found.org_error is not None:
        raise found.org_error
    org_records = dmarc_records(found.org_answer) if found.org_answer is not None else ()
    org_record = parse(org_records[0]) if len(org_records) == 1 else None
    views: list[tuple[str, DmarcRecord | None, str]] = [
        (
            f"receivers following RFC 7489 §6.6.3 look at the organisational domain, not at _dmarc.{found.domain}",
            org_record,
            f"_dmarc.{found.org_domain}",
        )
    ]
    if found.record is not None:
        views.append(
            ("receivers that walk the DNS tree (RFC 9989) use the domain's own record", found.record, _where(found))
        )
    return views


def check_subdomain_policy(ev: EvidenceView, ctx: CheckContext) -> Finding:
    expect = ctx.policy.expect.dmarc
    want = expect.subdomain_policy
    assert want is not None
    found = _discover(ev)
    views = _subdomain_views(found)
    observed = _observed(found)
    if found.org_answer is not None:
        observed += (_answer_line(found.org_answer),)
    problems, good = [], []
    for who, record, where in views:
        suffix = f" ({who})" if who else ""
        if record is None:
            problems.append(f"no single DMARC record at {where}, so subdomains get no DMARC policy{suffix}")
            continue
        applied = _applied(record, subdomain=True)
        if applied.policy is None:
            problems.append(f"{where}: {applied.how}{suffix}")
            continue
        shortfall = _shortfall(applied, want, expect.pct is not None)
        if shortfall:
            problems.append(f"{where} gives {applied.how}: {shortfall}{suffix}")
        else:
            sampling = applied.sampling()
            good.append(f"{where} gives {applied.how}" + (f"; {sampling}" if sampling else "") + suffix)
    if problems:
        return Finding(False, f"subdomains of {found.domain}: " + "; ".join(problems), observed, tuple(good))
    return Finding(True, f"subdomains of {found.domain}: " + "; ".join(good), observed)


# --- MF-DMARC-005: report URIs ----------------------------------------------------------------------


def check_uris(ev: EvidenceView, ctx: CheckContext) -> Finding:
    found = _discover(ev)
    observed = _observed(found)
    record = found.record
    if record is None:
        return Finding(True, "no single DMARC record to check (see MF-DMARC-001)", observed)
    problems: list[str] = []
    notes: list[str] = []
    listed: list[str] = []
    for tag in ("rua", "ruf"):
        if tag not in record.tags:
            continue
        uris = record.uris(tag)
        if not uris:
            problems.append(f"{tag} is present but lists no URI")
            continue
        for uri in uris:
            listed.append(f"{tag}={uri.text}")
            if uri.error:
                problems.append(f"{tag} '{uri.text}': {uri.error}")
            elif uri.scheme != "mailto":
                notes.append(
                    f"{tag} '{uri.text}' is a {uri.scheme}: URI; receivers send reports by e-mail only "
                    "(RFC 7489 §6.2 requires only mailto:), so it gets none"
                )
        if len(uris) > 2:
            notes.append(f"{tag} lists {len(uris)} URIs; receivers need send to only two (RFC 7489 §6.2)")
    where = _where(found)
    if problems:
        return Finding(
            False,
            f"the DMARC record at {where} has invalid report URIs: " + "; ".join(problems),
            observed,
            tuple(notes),
        )
    if not listed:
        return Finding(True, f"the DMARC record at {where} lists no report URIs (see MF-DMARC-009)", observed)
    summary = f"every report URI at {where} is valid: " + ", ".join(listed)
    if notes:
        summary += " (notes: " + "; ".join(notes) + ")"
    return Finding(True, summary, observed, tuple(notes))


# --- MF-DMARC-006: external destinations ------------------------------------------------------------


def _overrides(destination: Destination, answer: Answer) -> tuple[list[str], list[str]]:
    """Problems and notes about rua/ruf overrides in the authorising records (§7.1 step 8)."""
    problems, notes = [], []
    for text in dmarc_records(answer):
        confirming = parse(text)
        for tag in destination.tags:
            for uri in confirming.uris(tag):
                if not uri.domain:
                    continue
                if uri.domain != destination.host:
                    problems.append(
                        f"the authorising record at {destination.name} overrides {tag} with {uri.text}, on another "
                        f"host: receivers send {tag} reports to neither address (RFC 7489 §7.1)"
                    )
                else:
                    notes.append(f"{destination.host} redirects {tag} reports to {uri.text}")
    return problems, notes


def check_external_destinations(ev: EvidenceView, ctx: CheckContext) -> Finding:
    found = _discover(ev)
    record = found.record
    if record is None:
        return Finding(True, "no single DMARC record to check (see MF-DMARC-001)", _observed(found))
    destinations = report_destinations(found)
    observed = list(_observed(found))
    if not destinations:
        return Finding(
            True,
            f"no report address outside {found.org_domain}; nothing needs authorising",
            tuple(observed),
        )
    problems: list[str] = []
    notes: list[str] = []
    authorised: list[str] = []
    undetermined: ResolutionError | None = None
    for destination in destinations:
        shown = ", ".join(uri.text for uri in destination.uris)
        if not destination.name:
            problems.append(f"{shown}: {destination.problem}; receivers cannot verify it and ignore the address")
            continue
        try:
            answer = ev.ask(destination.name, "TXT")
        except ResolutionError as exc:
            undetermined = undetermined or exc
            continue
        observed.append(_answer_line(answer))
        if not dmarc_records(answer):
            status = answer.status if answer.is_void else "no TXT record starting with v=DMARC1"
            problems.append(
                f"{destination.host} does not authorise reports for {found.policy_domain} ({status}), so receivers "
                f'ignore {shown}: publish TXT "v=DMARC1" at {destination.name}'
            )
            continue
        override_problems, override_notes = _overrides(destination, answer)
        problems += override_problems
        notes += override_notes
        if not override_problems:
            authorised.append(f"{destination.host} authorises {found.policy_domain} at {destination.name}")
    if problems:
        return Finding(
            False,
            "external report destinations that receivers ignore: " + "; ".join(problems),
            tuple(observed),
            tuple(authorised + notes),
        )
    if undetermined is not None:
        raise undetermined
    return Finding(True, "; ".join(authorised), tuple(observed), tuple(notes))


# --- MF-DMARC-007: required aggregate-report addresses ----------------------------------------------


def normalise_address(text: str) -> str:
    """An address from the policy or a record, as compared: no mailto:, no !size, lower case."""
    stripped = text.strip()
    if not stripped.lower().startswith("mailto:"):
        stripped = "mailto:" + stripped
    uri = parse_uri(stripped)
    if uri.valid and uri.domain:
        return uri.mailbox
    return stripped[len("mailto:") :].split("!", 1)[0].lower()


def _mailboxes(uris: Sequence[ReportUri]) -> list[str]:
    return [uri.mailbox for uri in uris if uri.valid and uri.scheme == "mailto"]


def check_required_rua(ev: EvidenceView, ctx: CheckContext) -> Finding:
    assert ctx.param is not None
    wanted = normalise_address(ctx.param)
    found = _discover(ev)
    observed = _observed(found)
    record = found.record
    if record is None:
        return Finding(
            False,
            f"{ctx.param} gets no aggregate reports: no single DMARC record applies (see MF-DMARC-001)",
            observed,
        )
    where = _where(found)
    rua = _mailboxes(record.uris("rua"))
    if wanted in rua:
        return Finding(True, f"rua at {where} lists {ctx.param}", observed)
    listed = ", ".join(uri.text for uri in record.uris("rua")) or "nothing"
    summary = f"rua at {where} does not list {ctx.param}; it lists {listed}"
    if wanted in _mailboxes(record.uris("ruf")):
        summary += f" ({ctx.param} is under ruf, which is for failure reports, not under rua)"
    return Finding(False, summary, observed)


# --- MF-DMARC-008 / 009: advisories -----------------------------------------------------------------


def _monitoring(applied: _Applied) -> bool:
    """No failing message gets more than the receiver's normal handling."""
    return applied.policy == "none" or (applied.policy == "quarantine" and applied.pct == 0)


def check_enforced(ev: EvidenceView, ctx: CheckContext) -> Finding:
    found = _discover(ev)
    observed = _observed(found)
    record = found.record
    if record is None:
        return Finding(True, "no single DMARC record to check (see MF-DMARC-001)", observed)
    own = _applied(record, subdomain=found.inherited)
    if own.policy is None:
        return Finding(True, f"the record at {_where(found)} has no policy to judge (see MF-DMARC-002)", observed)
    problems = []
    who = f"{found.domain} (as a subdomain of {found.policy_domain})" if found.inherited else found.domain
    if _monitoring(own):
        detail = f"{own.how}" + (f", pct={own.pct}" if own.policy != "none" else "")
        problems.append(f"{who} gets {detail}")
    if not found.inherited and found.domain == found.org_domain:
        sub = _applied(record, subdomain=True)
        if sub.policy is not None and _monitoring(sub) and not _monitoring(own):
            problems.append(f"its subdomains get {sub.how}")
    if problems:
        return Finding(
            False,
            "DMARC is monitoring only: "
            + "; ".join(problems)
            + ". Receivers report failing mail but take no action on it; Microsoft recommends moving to "
            "p=quarantine and then p=reject once the reports show that legitimate mail passes",
            observed,
        )
    return Finding(True, f"{who} gets {own.how}: failing mail is acted on", observed)


def check_rua_requested(ev: EvidenceView, ctx: CheckContext) -> Finding:
    found = _discover(ev)
    observed = _observed(found)
    record = found.record
    if record is None:
        return Finding(True, "no single DMARC record to check (see MF-DMARC-001)", observed)
    where = _where(found)
    rua = [uri for uri in record.uris("rua") if uri.valid and uri.scheme == "mailto"]
    ruf_note = (
        "Microsoft 365 sends no failure (ruf) reports, and many other large receivers send none either"
        if "ruf" in record.tags
        else ""
    )
    if not rua:
        why = "has no rua tag" if "rua" not in record.tags else "has no usable mailto: address in rua"
        summary = (
            f"the DMARC record at {where} {why}: no receiver sends aggregate reports, so legitimate "
            "senders that fail DMARC and spoofing attempts go unseen"
        )
        if ruf_note:
            summary += f"; ruf alone does not make up for it: {ruf_note}"
        return Finding(False, summary, observed)
    summary = f"aggregate reports for {found.policy_domain} go to " + ", ".join(uri.text for uri in rua)
    if ruf_note:
        summary += f" (note: {ruf_note})"
    return Finding(True, summary, observed)


# --- parameters and expectations --------------------------------------------------------------------


def _if_policy_declared(policy: DomainPolicy) -> Sequence[str | None]:
    dmarc = policy.expect.dmarc
    return (None,) if dmarc.policy is not None or dmarc.pct is not None else ()


def _if_subdomain_policy_declared(policy: DomainPolicy) -> Sequence[str | None]:
    return (None,) if policy.expect.dmarc.subdomain_policy is not None else ()


def _required_rua(policy: DomainPolicy) -> Sequence[str | None]:
    return tuple(policy.expect.dmarc.rua)


def _expected_policy(ctx: CheckContext) -> str:
    dmarc = ctx.policy.expect.dmarc
    parts = []
    if dmarc.policy is not None:
        parts.append(f"p={dmarc.policy} or stronger (none < quarantine < reject)")
    if dmarc.pct is not None:
        parts.append(f"pct={dmarc.pct} or more")
    elif dmarc.policy is not None and dmarc.policy != "none":
        parts.append(f"every failing message gets at least {dmarc.policy} (pct below 100 counts as the weaker step)")
    return ", ".join(parts)


def _expected_subdomain_policy(ctx: CheckContext) -> str:
    return (
        f"subdomains get {ctx.policy.expect.dmarc.subdomain_policy} or stronger (sp, else p, of the record "
        "receivers use for them)"
    )


RULES = (
    Rule(
        id="MF-DMARC-001",
        title="Exactly one DMARC record applies",
        family="dmarc",
        severity=Severity.HIGH,
        rationale="Receivers look for a TXT record starting with 'v=DMARC1' at _dmarc.<domain>, and if there is "
        "none, at the organisational domain's _dmarc name (RFC 7489 §6.6.3, §3.2). With no record, or with "
        "more than one at the name where discovery stops, no DMARC policy applies and spoofed mail using the "
        "domain in From: is not refused.",
        remediation="Publish exactly one TXT record at _dmarc.<domain> starting with 'v=DMARC1' (Microsoft's "
        "template: 'v=DMARC1; p=reject; rua=mailto:…'); delete duplicates and records published at the domain "
        "itself instead of under _dmarc.",
        references=(_RFC_DISCOVERY, _RFC_ORG, _MS_DMARC),
        check=check_one_record,
        expectation=lambda ctx: (
            "exactly one TXT record starting with 'v=DMARC1' at _dmarc.<domain>, or else at "
            "the organisational domain's _dmarc name"
        ),
    ),
    Rule(
        id="MF-DMARC-002",
        title="The DMARC record is valid",
        family="dmarc",
        severity=Severity.HIGH,
        rationale="v=DMARC1 must come first and p is required (RFC 7489 §6.3). A record without a valid p (or "
        "with an invalid sp) is treated as p=none when rua has a valid address, and ignored otherwise "
        "(§6.6.3). Invalid sp, adkim, aspf, pct, fo, rf or ri values and duplicate tags break the tag list; "
        "unknown tags are ignored by receivers and only noted here.",
        remediation="Correct the tags named in the message: p and sp take none, quarantine or reject; adkim and "
        "aspf r or s; pct a whole number from 0 to 100; fo a colon-separated list of 0, 1, d, s; rf afrf; ri "
        "a number of seconds. Write each tag once.",
        references=(_RFC_TAGS, _RFC_ABNF, _RFC_DISCOVERY),
        check=check_valid,
        expectation=lambda ctx: (
            "a record that follows RFC 7489 §6.3/§6.4: v=DMARC1 first, a valid p, valid "
            "sp, adkim, aspf, pct, fo, rf and ri values, each tag once"
        ),
    ),
    Rule(
        id="MF-DMARC-003",
        title="The DMARC policy is at least as strong as the policy file declares",
        family="dmarc",
        severity=Severity.HIGH,
        rationale="p decides what receivers do with mail that fails DMARC (none < quarantine < reject), and pct "
        "limits it to a share of that mail; the rest gets the next weaker treatment (RFC 7489 §6.6.4). A "
        "subdomain without its own record gets the organisational domain's sp (default p). Microsoft's goal "
        "for every domain is p=reject.",
        remediation="Raise p (and pct) in the DMARC record that applies to the domain to at least the declared "
        "values, or publish a record for the domain itself.",
        references=(_RFC_TAGS, _RFC_SAMPLING, _RFC_DISCOVERY, _MS_DMARC),
        check=check_policy,
        expect_keys=("dmarc", "policy"),
        params=_if_policy_declared,
        expectation=_expected_policy,
    ),
    Rule(
        id="MF-DMARC-004",
        title="Subdomains get at least the declared DMARC policy",
        family="dmarc",
        severity=Severity.HIGH,
        rationale="Mail from a subdomain without its own record gets the organisational domain's sp, or p when "
        "there is no sp (RFC 7489 §6.3, §6.6.3). Attackers use made-up subdomains when the parent domain is "
        "protected and its subdomains are not.",
        remediation="Set sp (or p, when sp is absent) in the organisational domain's DMARC record to at least the "
        "declared policy.",
        references=(_RFC_TAGS, _RFC_DISCOVERY, _MS_DMARC),
        check=check_subdomain_policy,
        expect_keys=("dmarc", "subdomain_policy"),
        params=_if_subdomain_policy_declared,
        expectation=_expected_subdomain_policy,
    ),
    Rule(
        id="MF-DMARC-005",
        title="DMARC report URIs (rua, ruf) are valid",
        family="dmarc",
        severity=Severity.MEDIUM,
        rationale="rua and ruf hold comma-separated URIs, each with an optional size limit such as '!10m' "
        "(RFC 7489 §6.4). Receivers send reports by e-mail, so each needs a 'mailto:' scheme and a real "
        "mailbox; a malformed entry gets no reports.",
        remediation="Write each address as 'mailto:name@domain' (percent-encode any ',' or '!' in it), "
        "separated by commas, optionally followed by a size limit like '!10m'.",
        references=(_RFC_ABNF, _RFC_URIS, _RFC_TAGS),
        check=check_uris,
        expectation=lambda ctx: (
            "every rua/ruf entry is a mailto: URI with a mailbox address, optionally with a !size limit"
        ),
    ),
    Rule(
        id="MF-DMARC-006",
        title="External DMARC report destinations authorise the domain",
        family="dmarc",
        severity=Severity.MEDIUM,
        rationale="Receivers send reports to an address outside the policy domain's organisational domain only "
        "if that destination publishes TXT 'v=DMARC1' at <policy-domain>._report._dmarc.<destination> (a DNS "
        "wildcard *._report._dmarc.<destination> also answers); otherwise the address is ignored (RFC 7489 "
        "§7.1). Major receivers enforce this.",
        remediation="Ask the report destination (your DMARC reporting service) to publish the TXT record named "
        "in the message, or use a mailbox inside your own organisational domain.",
        references=(_RFC_EXTERNAL, _RFC_ORG),
        check=check_external_destinations,
        expectation=lambda ctx: (
            "each report destination outside the organisational domain publishes TXT "
            "'v=DMARC1' at <policy-domain>._report._dmarc.<destination>"
        ),
    ),
    Rule(
        id="MF-DMARC-007",
        title="DMARC aggregate reports go to the addresses the policy requires",
        family="dmarc",
        severity=Severity.MEDIUM,
        rationale="Aggregate reports (rua) show who sends mail as the domain and whether it passes; they are "
        "how a move to p=reject is judged safe. Addresses the policy file lists (a reporting service, a "
        "security team, a regulator) must be in rua, not only in ruf.",
        remediation="Add 'mailto:<address>' to the rua tag of the DMARC record that applies to the domain.",
        references=(_RFC_TAGS, _MS_DMARC),
        check=check_required_rua,
        expect_keys=("dmarc", "rua"),
        params=_required_rua,
        expectation=lambda ctx: f"rua lists {ctx.param} (compared without case, mailto: and !size)",
    ),
    Rule(
        id="MF-DMARC-008",
        title="DMARC is enforced, not monitoring only (p=none)",
        family="dmarc",
        severity=Severity.LOW,
        rationale="With p=none (or p=quarantine with pct=0) receivers send reports but treat failing mail as "
        "usual, so spoofed mail is still delivered. Microsoft recommends starting with p=none and moving to "
        "p=quarantine, then p=reject; leaving p=none in place indefinitely is a common mistake.",
        remediation="Once the aggregate reports show that legitimate senders pass DMARC, set p=quarantine "
        "(optionally stepping pct up) and then p=reject; do the same for sp.",
        references=(_MS_DMARC, _RFC_TAGS),
        check=check_enforced,
        expectation=lambda ctx: "p=quarantine or p=reject for the domain (and its subdomains)",
    ),
    Rule(
        id="MF-DMARC-009",
        title="DMARC aggregate reports are requested (rua)",
        family="dmarc",
        severity=Severity.LOW,
        rationale="Without rua no receiver sends aggregate reports, so legitimate senders that fail DMARC and "
        "spoofing attempts go unnoticed. Microsoft's setup guidance includes a rua address for a monitored "
        "mailbox or reporting service. ruf does not replace it: Microsoft 365 sends no failure (ruf) reports.",
        remediation="Add 'rua=mailto:<mailbox>' to the DMARC record, with a mailbox or reporting service that "
        "processes the reports.",
        references=(_MS_DMARC, _RFC_TAGS),
        check=check_rua_requested,
        expectation=lambda ctx: "a rua tag with at least one mailto: address",
    ),
)

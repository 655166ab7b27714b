"""SPF rules (RFC 7208 plus Microsoft's guidance for Microsoft 365 domains)."""

from __future__ import annotations

from collections.abc import Sequence

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype

from ..dns.base import Answer, Question, ResolutionError
from ..dns.records import RecordSyntaxError, parse_rdata, txt_strings
from ..evidence import EvidenceView
from ..policy.model import DomainPolicy
from ..spf.syntax import Term, is_spf_record
from ..spf.tree import SpfNode, build_tree, includes_in, render_tree
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
#: An mx mechanism may find at most this many MX names (RFC 7208 §4.6.4).
MX_NAME_LIMIT = 10
#: RFC 7208 §3.4's size guideline, applied to the SPF record's text.
RECORD_OCTETS = 450
#: A DNS message over UDP without EDNS (RFC 1035 §2.3.4), which RFC 7208 §3.4 asks SPF answers to fit.
UDP_MESSAGE_OCTETS = 512

_MS_SPF = microsoft(
    "Set up SPF to identify valid email sources for your Microsoft 365 domain",
    "defender-office-365/email-authentication-spf-configure",
)


def spf_tree(ev: EvidenceView) -> SpfNode:
    """The domain's SPF tree, walked once per domain over the gathered answers."""
    return ev.derive("spf-tree", lambda view: build_tree(view.domain, view.lookup))


def _tree(ev: EvidenceView) -> SpfNode:
    root = spf_tree(ev)
    if root.status == "unresolved" and root.error is not None:
        raise root.error
    return root


def _require_complete(root: SpfNode) -> None:
    """No verdict from a partial tree: an unread include could hold what the rule looks for."""
    if root.errors:
        raise root.errors[0]


def _tree_details(root: SpfNode) -> tuple[str, ...]:
    """The lookup tree, shown with every failure that concerns DNS-querying terms."""
    return ("lookup tree:", *render_tree(root))


def _record_line(root: SpfNode) -> tuple[str, ...]:
    if root.status == "ok" and root.record is not None:
        return (f'SPF record: "{root.record.text}"',)
    if root.status == "multiple":
        return tuple(f'SPF record: "{text}"' for text in root.spf_records)
    return ("no SPF record",)


def check_single_record(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    observed = _record_line(root)
    if root.status == "none":
        status = root.answer.status if root.answer else "no answer"
        return Finding(False, f"publishes no SPF record (TXT {status}); receivers get SPF 'none'", observed)
    if root.status == "multiple":
        return Finding(
            False,
            f"publishes {len(root.spf_records)} SPF records; more than one is a permerror "
            "(RFC 7208 §4.5): merge them into one",
            observed,
        )
    return Finding(True, "publishes exactly one SPF record", observed)


def check_syntax(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    if root.status != "ok":
        return Finding(True, "no single SPF record to check (see MF-SPF-001)", _record_line(root))
    problems: list[str] = []
    for node in root.nodes():
        if node.status == "ok" and node.record is not None:
            where = "" if node is root else f"{node.domain} (reached through the tree): "
            problems += [f"{where}{error}" for error in node.record.errors]
    # Include and redirect targets without exactly one SPF record, and loops, are MF-SPF-013's.
    problems = list(dict.fromkeys(problems))
    if problems:
        return Finding(
            False,
            "SPF syntax errors make evaluation a permerror: " + "; ".join(problems),
            _record_line(root),
            _tree_details(root),
        )
    _require_complete(root)
    return Finding(True, "every SPF record in the tree parses", _record_line(root))


def check_include_targets(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    if root.status != "ok":
        return Finding(True, "no single SPF record to check (see MF-SPF-001)", _record_line(root))
    problems: list[str] = []
    checked = 0
    macros: list[str] = []
    truncated = False
    for path, node, visit in root.walk_paths():
        kind = visit.term.kind
        if kind not in {"include", "redirect"}:
            continue
        where = f"'{visit.term.text}' in {node.domain}"
        if visit.term.has_macro:
            macros.append(where)
            continue
        child = visit.child
        if child is None or child.status == "unresolved":
            continue  # _require_complete() below
        if child.status == "truncated":
            truncated = True
            continue
        checked += 1
        section = "§5.2" if kind == "include" else "§6.1"
        if child.status == "none":
            status = child.answer.status if child.answer else "no answer"
            found = "does not exist (NXDOMAIN)" if status == "NXDOMAIN" else f"publishes no SPF record ({status})"
            problems.append(
                f"{where}: {child.domain} {found}, expected exactly one SPF record: permerror (RFC 7208 {section})"
            )
        elif child.status == "multiple":
            problems.append(
                f"{where}: {child.domain} publishes {len(child.spf_records)} SPF records, expected exactly one: "
                f"permerror (RFC 7208 §4.5, {section})"
            )
        elif child.status == "loop":
            chain = " -> ".join((*path, child.domain))
            article = "an" if kind == "include" else "a"
            problems.append(
                f"{where}: {child.domain} is already being evaluated ({chain}), {article} {kind} loop: evaluation "
                "never finishes and ends in permerror at the 10-lookup limit (RFC 7208 §4.6.4)"
            )
    if problems:
        return Finding(
            False,
            "include and redirect targets must each publish exactly one SPF record: " + "; ".join(problems),
            _record_line(root),
            _tree_details(root),
        )
    _require_complete(root)
    if not checked and not macros and not truncated:
        return Finding(True, "the SPF tree has no include or redirect", _record_line(root))
    notes = []
    if macros:
        notes.append(f"{len(macros)} with macros depend on the sender and were not checked: " + ", ".join(macros))
    if truncated:
        notes.append("targets past the depth or size the tree follows were not checked")
    if checked:
        summary = f"every include and redirect target publishes exactly one SPF record ({checked} checked)"
    else:
        summary = "no include or redirect target could be checked"
    return Finding(True, "; ".join([summary, *notes]), _record_line(root))


def _limit_finding(root: SpfNode, count: int, limit: int, what: str, rfc_text: str) -> Finding:
    tree = _tree_details(root)
    loops = [node.domain for node in root.nodes() if node.status == "loop"]
    if loops and what == "DNS-querying terms":
        return Finding(
            False,
            f"SPF includes {loops[0]} in a loop: evaluation can never finish within {limit} lookups ({rfc_text}; "
            "see also MF-SPF-013)",
            _record_line(root),
            tree,
        )
    if count > limit:
        return Finding(
            False,
            f"SPF needs {count} {what}; the limit is {limit} ({rfc_text})",
            _record_line(root),
            tree,
        )
    if not root.complete:
        error = root.errors[0] if root.errors else None
        if error is not None:
            raise error
        return Finding(
            False,
            f"the SPF tree is too deep or too large to follow; {count} {what} so far",
            _record_line(root),
            tree,
        )
    return Finding(True, f"SPF needs {count} {what} (limit {limit})", _record_line(root), tree)


def check_lookup_limit(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    if root.status != "ok":
        return Finding(True, "no single SPF record to count", _record_line(root))
    return _limit_finding(root, root.lookups, LOOKUP_LIMIT, "DNS-querying terms", "RFC 7208 §4.6.4")


def check_void_limit(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    if root.status != "ok":
        return Finding(True, "no single SPF record to count", _record_line(root))
    return _limit_finding(root, root.void_lookups, VOID_LIMIT, "void lookups", "RFC 7208 §4.6.4")


def _effective_all(node: SpfNode) -> tuple[Term | None, SpfNode]:
    """The 'all' that ends evaluation: the record's own, else the one its redirect reaches (§6.1)."""
    if node.record is None:
        return None, node
    if node.record.all_term is not None:
        return node.record.all_term, node
    for visit in node.visits:
        if visit.term.kind == "redirect" and visit.child is not None and visit.child.status == "ok":
            return _effective_all(visit.child)
    return None, node


def check_no_pass_all(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    if root.status != "ok":
        return Finding(True, "no single SPF record to check", _record_line(root))
    offenders = []
    for node in root.nodes():
        if node.record is None:
            continue
        term = node.record.all_term
        if term is not None and term.qualifier == "+":
            how = "in the record itself" if node is root else f"in {node.domain}, which the tree includes"
            offenders.append(f"'{term.text}' {how}")
    if not offenders:
        _require_complete(root)
    if offenders:
        return Finding(
            False,
            "SPF authorises every host on the internet: " + "; ".join(offenders),
            _record_line(root),
            _tree_details(root),
        )
    return Finding(True, "no '+all' anywhere in the SPF tree", _record_line(root))


def check_all_qualifier(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    allowed = ctx.policy.expect.spf.all
    if root.status != "ok":
        return Finding(True, "no single SPF record to check", _record_line(root))
    term, owner = _effective_all(root)
    broken_redirect = next(
        (v.child for v in owner.visits if v.term.kind == "redirect" and v.child is not None and v.child.status != "ok"),
        None,
    )
    if term is None and broken_redirect is not None and broken_redirect.status in {"none", "multiple", "loop"}:
        # The broken redirect itself (a permerror, RFC 7208 §6.1) is MF-SPF-013's finding.
        return Finding(
            True,
            f"no final 'all' to check: the record redirects to {broken_redirect.domain}, which has no single "
            "SPF record (see MF-SPF-013)",
            _record_line(root),
        )
    if term is None:
        _require_complete(root)
        return Finding(
            "?all" in allowed,
            "the SPF record ends without 'all' or 'redirect'; the default "
            "result is neutral, as with '?all' (RFC 7208 §4.7)",
            _record_line(root),
        )
    written = f"{term.qualifier}all"
    where = "" if owner is root else f" (through redirect to {owner.domain})"
    if written in allowed:
        return Finding(True, f"the SPF record ends with '{term.text}'{where}", _record_line(root))
    return Finding(
        False,
        f"the SPF record ends with '{term.text}'{where}; the policy allows {' or '.join(allowed)}",
        _record_line(root),
        () if owner is root else _tree_details(root),
    )


def check_no_ptr(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    uses = [f"'{visit.term.text}' in {node.domain}" for _depth, node, visit in root.walk() if visit.term.kind == "ptr"]
    if not uses:
        _require_complete(root)
    if uses:
        return Finding(False, "SPF uses the ptr mechanism: " + "; ".join(uses), _record_line(root), _tree_details(root))
    return Finding(True, "no ptr mechanism in the SPF tree", _record_line(root))


def check_required_include(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    assert ctx.param is not None
    if root.status != "ok":
        return Finding(
            False,
            f"include:{ctx.param} is not in effect: there is no single valid SPF record (see MF-SPF-001)",
            _record_line(root),
            fix=_BROKEN_RECORD_FIX,
        )
    found = includes_in(root)
    if ctx.param in found:
        via = "directly" if found[ctx.param] == root.domain else f"through {found[ctx.param]}"
        return Finding(True, f"SPF includes {ctx.param} {via}", _record_line(root))
    _require_complete(root)
    return Finding(False, f"SPF does not include {ctx.param}", _record_line(root), _tree_details(root))


def check_forbidden_include(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    assert ctx.param is not None
    found = includes_in(root)
    if ctx.param in found:
        via = "directly" if found[ctx.param] == root.domain else f"through {found[ctx.param]}"
        return Finding(False, f"SPF still includes {ctx.param} ({via})", _record_line(root), _tree_details(root))
    _require_complete(root)
    return Finding(True, f"SPF does not include {ctx.param}", _record_line(root))


def _verdict(ev: EvidenceView, ip: str) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """pyspf's result for ``ip``, the record line, and the lookup tree (shown when the check fails)."""
    verdict = ev.spf_verdict(ip)
    if verdict.result == "temperror":
        if verdict.error is not None:
            raise verdict.error
        raise ResolutionError(Question.of(ev.domain, "TXT"), "SPF temperror", verdict.explanation)
    root = spf_tree(ev)
    return verdict.result, verdict.explanation, _record_line(root), _tree_details(root)


#: When SPF as a whole is broken, the per-sender advice is beside the point: the record needs fixing.
_BROKEN_RECORD_FIX = (
    "The SPF record itself is broken (permerror): fix what MF-SPF-001, 002, 003, 004 or 013 report for this "
    "domain first (two records must be merged into one); this check passes again once evaluation works."
)


def check_must_pass(ev: EvidenceView, ctx: CheckContext) -> Finding:
    assert ctx.param is not None
    result, explanation, observed, tree = _verdict(ev, ctx.param)
    detail = f" ({explanation})" if explanation and result != "pass" else ""
    return Finding(
        result == "pass",
        f"SPF result for {ctx.param} is {result}{detail}",
        (*observed, f"check_host({ctx.param}, {ev.domain}) = {result}"),
        () if result == "pass" else tree,
        fix=_BROKEN_RECORD_FIX if result == "permerror" else None,
    )


def check_must_fail(ev: EvidenceView, ctx: CheckContext) -> Finding:
    assert ctx.param is not None
    result, _explanation, observed, tree = _verdict(ev, ctx.param)
    ok = result in {"fail", "softfail"}
    return Finding(
        ok,
        f"SPF result for {ctx.param} is {result}" + ("" if ok else "; this sender is not refused"),
        (*observed, f"check_host({ctx.param}, {ev.domain}) = {result}"),
        () if ok else tree,
        fix=_BROKEN_RECORD_FIX if result == "permerror" else None,
    )


def _txt_response_octets(answer: Answer) -> int:
    """The size of the DNS response carrying ``answer`` to a TXT query, as sent over UDP without EDNS.

    Header (12 octets), the question, and the answer section: the CNAME chain if any, then every TXT
    record at the final name (not only the SPF one); names compressed as dnspython writes them; no
    authority or additional records.
    """
    query = dns.message.make_query(answer.question.name, dns.rdatatype.TXT, use_edns=False)
    response = dns.message.make_response(query)
    owner = dns.name.from_text(answer.question.name)
    ttl = answer.ttl or 0
    for target in answer.cname_chain:
        alias = dns.name.from_text(target)
        rrset = response.find_rrset(response.answer, owner, dns.rdataclass.IN, dns.rdatatype.CNAME, create=True)
        rrset.add(parse_rdata("CNAME", alias.to_text()), ttl)
        owner = alias
    if answer.status == "NOERROR" and answer.records:
        rrset = response.find_rrset(response.answer, owner, dns.rdataclass.IN, dns.rdatatype.TXT, create=True)
        for text in answer.records:
            try:
                rrset.add(parse_rdata("TXT", text), ttl)
            except RecordSyntaxError:
                continue
    return len(response.to_wire())


def check_record_size(ev: EvidenceView, ctx: CheckContext) -> Finding:
    """MF-SPF-012: two measures of the domain's own TXT answer (include targets belong to others).

    - the SPF record: the octets of its character-strings joined (what SPF evaluates), at most 450;
    - the answer: the DNS response a server sends for ``<domain> TXT`` without EDNS, at most 512
      (see :func:`_txt_response_octets`): all TXT records at the name count, not only the SPF one.
    """
    answer = ev.ask(ev.domain, "TXT")
    records: list[tuple[str, int, int]] = []  # (text, octets of the joined strings, number of strings)
    spf: list[tuple[str, int, int]] = []
    for text in answer.records if answer.status == "NOERROR" else ():
        try:
            strings = txt_strings(text)
        except RecordSyntaxError:
            continue
        value = b"".join(strings).decode("utf-8", errors="replace")
        entry = (value, sum(len(part) for part in strings), len(strings))
        records.append(entry)
        if is_spf_record(value):
            spf.append(entry)
    if len(spf) != 1:
        observed = tuple(f'SPF record: "{value}"' for value, _, _ in spf) or ("no SPF record",)
        return Finding(True, "no single SPF record to measure (see MF-SPF-001)", observed)
    value, octets, count = spf[0]
    message = _txt_response_octets(answer)
    others = len(records) - 1
    observed = (
        f'SPF record: "{value}"',
        f"SPF record: {octets} octets in {count} character-string{'s' if count != 1 else ''} (limit {RECORD_OCTETS})",
        f"TXT answer for {ev.domain}: {len(records)} record{'s' if len(records) != 1 else ''}, {message} octets "
        f"as a DNS response without EDNS (limit {UDP_MESSAGE_OCTETS})",
    )
    problems = []
    if octets > RECORD_OCTETS:
        problems.append(
            f"the SPF record is {octets} octets, expected at most {RECORD_OCTETS} (RFC 7208 §3.4's guideline)"
        )
    if message > UDP_MESSAGE_OCTETS:
        with_others = f", with {others} other TXT record{'s' if others != 1 else ''} at the name" if others else ""
        problems.append(
            f"the TXT answer for {ev.domain} is {message} octets{with_others}, expected at most "
            f"{UDP_MESSAGE_OCTETS} so it fits a UDP response without EDNS (RFC 7208 §3.4, RFC 1035 §2.3.4); "
            "receivers whose retry over TCP fails may ignore the record"
        )
    if problems:
        details = tuple(f"TXT {size:>4} octets: {text}" for text, size, _ in records)
        return Finding(False, "; ".join(problems), observed, details)
    return Finding(
        True,
        f"the SPF record is {octets} octets and the TXT answer {message} octets "
        f"(limits {RECORD_OCTETS} and {UDP_MESSAGE_OCTETS})",
        observed,
    )


def check_mx_names(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    if root.status != "ok":
        return Finding(True, "no single SPF record to check (see MF-SPF-001)", _record_line(root))
    mx_terms = [(node, visit) for _depth, node, visit in root.walk() if visit.term.kind == "mx"]
    over = [
        f"'{visit.term.text}' in {node.domain} finds {visit.mx_names} MX names"
        for node, visit in mx_terms
        if visit.mx_names is not None and visit.mx_names > MX_NAME_LIMIT
    ]
    if over:
        return Finding(
            False,
            "; ".join(over) + f", expected at most {MX_NAME_LIMIT}: the mx mechanism is a permerror (RFC 7208 §4.6.4)",
            _record_line(root),
            _tree_details(root),
        )
    _require_complete(root)
    if not mx_terms:
        return Finding(True, "the SPF tree has no mx mechanism", _record_line(root))
    counted = [visit.mx_names for _node, visit in mx_terms if visit.mx_names is not None]
    summary = f"no mx mechanism finds more than {MX_NAME_LIMIT} MX names"
    if counted:
        summary += f" (the most is {max(counted)})"
    macros = [f"'{visit.term.text}' in {node.domain}" for node, visit in mx_terms if visit.term.has_macro]
    if macros:
        summary += "; mx with macros depends on the sender and was not checked: " + ", ".join(macros)
    return Finding(True, summary, _record_line(root))


def _per(values: Sequence[str]) -> Sequence[str | None]:
    return tuple(values)


def _includes(policy: DomainPolicy) -> Sequence[str | None]:
    return _per(policy.expect.spf.include)


def _forbidden(policy: DomainPolicy) -> Sequence[str | None]:
    return _per(policy.expect.spf.forbid_include)


def _passing(policy: DomainPolicy) -> Sequence[str | None]:
    return _per(policy.expect.spf.must_pass)


def _failing(policy: DomainPolicy) -> Sequence[str | None]:
    return _per(policy.expect.spf.must_fail)


_RFC_LIMITS = rfc(7208, "4.6.4", "DNS lookup limits")


def check_only_all(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    observed = _record_line(root)
    if root.status != "ok" or root.record is None:
        return Finding(False, "the domain sends no mail, so it should publish 'v=spf1 -all'", observed)
    terms = [t.text for t in root.record.terms]
    if [t.lower() for t in terms] == ["-all"]:
        return Finding(True, "publishes 'v=spf1 -all': no host may send for the domain", observed)
    return Finding(
        False,
        f"the record authorises or names {', '.join(terms) or 'nothing'}; a domain that sends no "
        "mail publishes exactly 'v=spf1 -all'",
        observed,
    )


def _when_only_all(policy: DomainPolicy) -> Sequence[str | None]:
    return (None,) if policy.expect.spf.only_all else ()


RULES = (
    Rule(
        id="MF-SPF-001",
        title="Exactly one SPF record",
        family="spf",
        severity=Severity.HIGH,
        rationale="Without an SPF record receivers cannot tell authorised senders; with two or more, SPF "
        "evaluation is a permerror (RFC 7208 §4.5) — the mistake Microsoft calls out most often.",
        remediation="Publish one TXT record starting with 'v=spf1' at the domain; merge any others into it.",
        references=(rfc(7208, "4.5", "selecting records"), rfc(7208, "3.2", "multiple records"), _MS_SPF),
        check=check_single_record,
        expectation=lambda ctx: "exactly one TXT record starting with 'v=spf1'",
    ),
    Rule(
        id="MF-SPF-002",
        title="SPF records are syntactically valid",
        family="spf",
        severity=Severity.HIGH,
        rationale="An unknown mechanism, a malformed address or a bad macro makes the whole evaluation a "
        "permerror, which DMARC treats as a failure.",
        remediation="Correct the terms named in the message; see RFC 7208 §5 for each mechanism's syntax.",
        references=(rfc(7208, "4.6", "record evaluation"), rfc(7208, "12", "collected ABNF")),
        check=check_syntax,
        expectation=lambda ctx: "every SPF record in the tree follows the RFC 7208 grammar",
    ),
    Rule(
        id="MF-SPF-003",
        title="SPF stays within 10 DNS-querying terms",
        family="spf",
        severity=Severity.HIGH,
        rationale="include, a, mx, ptr, exists and redirect each cost a DNS lookup, counted across nested "
        "includes; more than 10 is a permerror (RFC 7208 §4.6.4). Fewer than 10 includes does not mean fewer "
        "than 10 lookups, and the error may hit only some senders because evaluation stops at the first match.",
        remediation="Remove includes that are no longer needed, replace a and mx with ip4/ip6 ranges, or move "
        "bulk senders to a subdomain with its own SPF record.",
        references=(_RFC_LIMITS, _MS_SPF),
        check=check_lookup_limit,
        expectation=lambda ctx: f"at most {LOOKUP_LIMIT} DNS-querying terms, counted recursively",
    ),
    Rule(
        id="MF-SPF-004",
        title="SPF causes at most 2 void lookups",
        family="spf",
        severity=Severity.MEDIUM,
        rationale="Lookups that return NXDOMAIN or no records ('void lookups') SHOULD be limited to two; "
        "receivers that enforce the limit return permerror (RFC 7208 §4.6.4).",
        remediation="Remove mechanisms that name hosts without records (stale a:, mx: or include: targets).",
        references=(_RFC_LIMITS,),
        check=check_void_limit,
        expectation=lambda ctx: f"at most {VOID_LIMIT} void lookups",
    ),
    Rule(
        id="MF-SPF-005",
        title="SPF does not authorise every host (+all)",
        family="spf",
        severity=Severity.CRITICAL,
        rationale="'+all' (or a bare 'all') makes every host on the internet an authorised sender, in the "
        "record itself or in any record it includes, and defeats SPF entirely.",
        remediation="End the record with '-all' (or '~all'); ask the owner of an included record with '+all' "
        "to fix it, or stop including it.",
        references=(rfc(7208, "5.1", "all"), _MS_SPF),
        check=check_no_pass_all,
        expectation=lambda ctx: "no '+all' in the record or in any record it reaches",
    ),
    Rule(
        id="MF-SPF-006",
        title="SPF ends with an 'all' the policy allows",
        family="spf",
        severity=Severity.MEDIUM,
        rationale="The final 'all' decides what happens to unlisted senders. Microsoft recommends '-all' when "
        "DKIM and DMARC are deployed and accepts '~all'; '?all' (or no 'all') is for testing only.",
        remediation="End the record with one of the qualifiers the policy allows, normally '-all' or '~all'.",
        references=(rfc(7208, "5.1", "all"), rfc(7208, "4.7", "default result"), _MS_SPF),
        check=check_all_qualifier,
        expect_keys=("spf", "all"),
        expectation=lambda ctx: "the record ends with " + " or ".join(ctx.policy.expect.spf.all),
    ),
    Rule(
        id="MF-SPF-007",
        title="SPF does not use the ptr mechanism",
        family="spf",
        severity=Severity.LOW,
        rationale="ptr is slow, unreliable and 'SHOULD NOT be published' (RFC 7208 §5.5); some receivers "
        "ignore it, so senders relying on it fail.",
        remediation="Replace ptr with ip4/ip6 ranges or a/mx mechanisms for the hosts that send.",
        references=(rfc(7208, "5.5", "ptr (do not use)"),),
        check=check_no_ptr,
        expectation=lambda ctx: "no ptr mechanism in the SPF tree",
    ),
    Rule(
        id="MF-SPF-008",
        title="SPF includes what the policy requires",
        family="spf",
        severity=Severity.HIGH,
        rationale="A sending service is authorised only if its SPF record is included; Microsoft 365 needs "
        "its cloud's include (spf.protection.outlook.com worldwide).",
        remediation="Add 'include:<name>' to the SPF record before the final 'all'.",
        references=(rfc(7208, "5.2", "include"), _MS_SPF),
        check=check_required_include,
        expect_keys=("spf", "include"),
        params=_includes,
        expectation=lambda ctx: f"include:{ctx.param} somewhere in the SPF tree",
    ),
    Rule(
        id="MF-SPF-009",
        title="SPF does not include what the policy forbids",
        family="spf",
        severity=Severity.HIGH,
        rationale="An include left over from an old provider keeps authorising its servers and spends lookups; "
        "Microsoft asks for the previous provider to be removed after a cut-over.",
        remediation="Remove 'include:<name>' from the SPF record (and from any record you control that includes it).",
        references=(rfc(7208, "5.2", "include"), _MS_SPF),
        check=check_forbidden_include,
        expect_keys=("spf", "forbid_include"),
        params=_forbidden,
        expectation=lambda ctx: f"no include:{ctx.param} anywhere in the SPF tree",
    ),
    Rule(
        id="MF-SPF-010",
        title="Authorised senders pass SPF",
        family="spf",
        severity=Severity.HIGH,
        rationale="A server the organisation sends from must get SPF 'pass', or its mail fails SPF and, "
        "without aligned DKIM, DMARC.",
        remediation="Add the address with ip4:/ip6: (or the include of the service that owns it) before the "
        "final 'all'.",
        references=(rfc(7208, "4", "check_host()"), rfc(7208, "2.6.3", "pass")),
        check=check_must_pass,
        expect_keys=("spf", "must_pass"),
        params=_passing,
        expectation=lambda ctx: f"check_host({ctx.param}) = pass",
    ),
    Rule(
        id="MF-SPF-011",
        title="Unauthorised senders fail SPF",
        family="spf",
        severity=Severity.HIGH,
        rationale="An address that must not send for the domain has to get 'fail' or 'softfail'; 'pass' or "
        "'neutral' lets it spoof the domain.",
        remediation="Remove whatever authorises the address (a wide ip4 range, an include, '+all' or '?all').",
        references=(rfc(7208, "4", "check_host()"), rfc(7208, "2.6.4", "fail")),
        check=check_must_fail,
        expect_keys=("spf", "must_fail"),
        params=_failing,
        expectation=lambda ctx: f"check_host({ctx.param}) = fail or softfail",
    ),
    Rule(
        id="MF-SPF-012",
        title="SPF record and TXT answer fit RFC 7208's size guidance",
        family="spf",
        severity=Severity.MEDIUM,
        rationale="RFC 7208 §3.4 asks for SPF answers that fit a 512-octet UDP DNS message and gives 450 "
        "octets as the guideline; larger answers need TCP, which firewalls and some verifiers do not manage, "
        "so the record can be silently ignored. Every TXT record at the name travels in the same answer. "
        "Measured: the SPF record's text (its character-strings joined, without their length octets) against "
        "450 octets, and the DNS response to a TXT query for the name (header, question, the CNAME chain if "
        "any and every TXT record there, names compressed, no EDNS) against 512 octets.",
        remediation="Shorten the record: drop includes and addresses that are no longer used, merge ip4/ip6 "
        "ranges, move bulk senders to a subdomain with its own SPF record, and remove stale verification TXT "
        "records from the name.",
        references=(rfc(7208, "3.4", "record size"), rfc(1035, "2.3.4", "size limits")),
        check=check_record_size,
        expectation=lambda ctx: (
            f"an SPF record of at most {RECORD_OCTETS} octets, and a TXT answer of at most "
            f"{UDP_MESSAGE_OCTETS} octets as a DNS response without EDNS"
        ),
    ),
    Rule(
        id="MF-SPF-013",
        title="Include and redirect targets publish exactly one SPF record, without loops",
        family="spf",
        severity=Severity.HIGH,
        rationale="An include or redirect whose target has no SPF record, or more than one, makes the whole "
        "evaluation a permerror (RFC 7208 §5.2, §6.1, §4.5); a target that leads back to a record already "
        "being evaluated loops until the 10-lookup limit stops it with permerror. DMARC treats these as SPF "
        "failures for every sender.",
        remediation="Remove the include (or redirect), correct a mistyped target, or ask its owner to publish "
        "exactly one SPF record there; for on-premises servers use ip4:/ip6: instead of including a host name "
        "that has no SPF record. Break loops by removing the include that points back up the tree.",
        references=(rfc(7208, "5.2", "include"), rfc(7208, "6.1", "redirect"), rfc(7208, "4.5", "selecting records")),
        check=check_include_targets,
        expectation=lambda ctx: (
            "every include and redirect target in the SPF tree publishes exactly one SPF "
            "record, and no target includes a record already being evaluated"
        ),
    ),
    Rule(
        id="MF-SPF-014",
        title="No mx mechanism finds more than 10 MX names",
        family="spf",
        severity=Severity.HIGH,
        rationale="RFC 7208 §4.6.4 limits the MX names an 'mx' mechanism may look up to 10; a domain with more "
        "MX records makes the mechanism, and so the evaluation, a permerror (the RFC 7208 test suite's "
        "'mx-limit' case).",
        remediation="Replace the mx mechanism with ip4:/ip6: ranges of the hosts that actually send, or point "
        "it (mx:<name>) at a name with at most 10 MX records.",
        references=(_RFC_LIMITS,),
        check=check_mx_names,
        expectation=lambda ctx: f"every mx mechanism in the SPF tree finds at most {MX_NAME_LIMIT} MX names",
    ),
    Rule(
        id="MF-SPF-015",
        title="A domain that sends no mail publishes 'v=spf1 -all'",
        family="spf",
        severity=Severity.HIGH,
        rationale="Microsoft's guidance for parked and non-sending domains is SPF 'v=spf1 -all' (with DMARC "
        "p=reject and no DKIM): any mechanism left in the record lets someone send as the domain.",
        remediation="Replace the SPF record with exactly 'v=spf1 -all'.",
        references=(_MS_SPF, rfc(7208, "5.1", "all")),
        check=check_only_all,
        params=_when_only_all,
        expect_keys=("spf", "only_all"),
        expectation=lambda ctx: "exactly 'v=spf1 -all'",
    ),
)

"""SPF rules (RFC 7208 plus Microsoft's guidance for Microsoft 365 domains)."""

from __future__ import annotations

from collections.abc import Sequence

from ..dns.base import Question, ResolutionError
from ..evidence import EvidenceView
from ..policy.model import DomainPolicy
from ..spf.syntax import Term
from ..spf.tree import SpfNode, build_tree, includes_in, render_tree
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

LOOKUP_LIMIT = 10
VOID_LIMIT = 2

_MS_SPF = microsoft(
    "Set up SPF to identify valid email sources for your Microsoft 365 domain",
    "defender-office-365/email-authentication-spf-configure",
)


def _tree(ev: EvidenceView) -> SpfNode:
    root = build_tree(ev.domain, ev.lookup)
    if root.status == "unresolved" and root.error is not None:
        raise root.error
    return root


def _require_complete(root: SpfNode) -> None:
    """No verdict from a partial tree: an unread include could hold what the rule looks for."""
    if root.errors:
        raise root.errors[0]


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
    problems = []
    for node in root.nodes():
        where = "" if node is root else f"{node.domain} (reached through the tree): "
        if node.status == "ok" and node.record is not None:
            problems += [f"{where}{error}" for error in node.record.errors]
        elif node.status == "multiple" and node is not root:
            problems.append(f"{where}{len(node.spf_records)} SPF records (permerror)")
        elif node.status == "none" and node is not root:
            problems.append(
                f"{node.domain} is included or redirected to but has no SPF record (permerror, RFC 7208 §5.2, §6.1)"
            )
        elif node.status == "loop":
            problems.append(f"{node.domain} includes itself through the tree (a loop: permerror)")
    if root.status != "ok":
        return Finding(True, "no single SPF record to check (see MF-SPF-001)", _record_line(root))
    if not problems:
        _require_complete(root)
    if problems:
        return Finding(
            False,
            "SPF syntax errors make evaluation a permerror: " + "; ".join(problems),
            _record_line(root),
            tuple(render_tree(root)),
        )
    return Finding(True, "every SPF record in the tree parses", _record_line(root))


def _limit_finding(root: SpfNode, count: int, limit: int, what: str, rfc_text: str) -> Finding:
    tree = tuple(render_tree(root))
    loops = [node.domain for node in root.nodes() if node.status == "loop"]
    if loops and what == "DNS-querying terms":
        return Finding(
            False,
            f"SPF includes {loops[0]} in a loop: evaluation can never finish within {limit} lookups ({rfc_text})",
            _record_line(root),
            ("lookup tree:", *tree),
        )
    if count > limit:
        return Finding(
            False,
            f"SPF needs {count} {what}; the limit is {limit} ({rfc_text})",
            _record_line(root),
            ("lookup tree:", *tree),
        )
    if not root.complete:
        error = root.errors[0] if root.errors else None
        if error is not None:
            raise error
        return Finding(
            False,
            f"the SPF tree is too deep or too large to follow; {count} {what} so far",
            _record_line(root),
            ("lookup tree:", *tree),
        )
    return Finding(True, f"SPF needs {count} {what} (limit {limit})", _record_line(root), ("lookup tree:", *tree))


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
            tuple(render_tree(root)),
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
        return Finding(
            False,
            f"the SPF record redirects to {broken_redirect.domain}, which has no single SPF "
            "record: a permerror (RFC 7208 §6.1)",
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
    )


def check_no_ptr(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    uses = [f"'{visit.term.text}' in {node.domain}" for _depth, node, visit in root.walk() if visit.term.kind == "ptr"]
    if not uses:
        _require_complete(root)
    if uses:
        return Finding(False, "SPF uses the ptr mechanism: " + "; ".join(uses), _record_line(root))
    return Finding(True, "no ptr mechanism in the SPF tree", _record_line(root))


def check_required_include(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    assert ctx.param is not None
    if root.status != "ok":
        return Finding(
            False,
            f"include:{ctx.param} is not in effect: there is no single valid SPF record (see MF-SPF-001)",
            _record_line(root),
        )
    found = includes_in(root)
    if ctx.param in found:
        via = "directly" if found[ctx.param] == root.domain else f"through {found[ctx.param]}"
        return Finding(True, f"SPF includes {ctx.param} {via}", _record_line(root))
    _require_complete(root)
    return Finding(False, f"SPF does not include {ctx.param}", _record_line(root), tuple(render_tree(root)))


def check_forbidden_include(ev: EvidenceView, ctx: CheckContext) -> Finding:
    root = _tree(ev)
    assert ctx.param is not None
    found = includes_in(root)
    if ctx.param in found:
        via = "directly" if found[ctx.param] == root.domain else f"through {found[ctx.param]}"
        return Finding(False, f"SPF still includes {ctx.param} ({via})", _record_line(root), tuple(render_tree(root)))
    _require_complete(root)
    return Finding(True, f"SPF does not include {ctx.param}", _record_line(root))


def _verdict(ev: EvidenceView, ip: str) -> tuple[str, str, tuple[str, ...]]:
    verdict = ev.spf_verdict(ip)
    if verdict.result == "temperror":
        if verdict.error is not None:
            raise verdict.error
        raise ResolutionError(Question.of(ev.domain, "TXT"), "SPF temperror", verdict.explanation)
    root = build_tree(ev.domain, ev.lookup)
    return verdict.result, verdict.explanation, _record_line(root)


def check_must_pass(ev: EvidenceView, ctx: CheckContext) -> Finding:
    assert ctx.param is not None
    result, explanation, observed = _verdict(ev, ctx.param)
    detail = f" ({explanation})" if explanation and result != "pass" else ""
    return Finding(
        result == "pass",
        f"SPF result for {ctx.param} is {result}{detail}",
        (*observed, f"check_host({ctx.param}, {ev.domain}) = {result}"),
    )


def check_must_fail(ev: EvidenceView, ctx: CheckContext) -> Finding:
    assert ctx.param is not None
    result, _explanation, observed = _verdict(ev, ctx.param)
    ok = result in {"fail", "softfail"}
    return Finding(
        ok,
        f"SPF result for {ctx.param} is {result}" + ("" if ok else "; this sender is not refused"),
        (*observed, f"check_host({ctx.param}, {ev.domain}) = {result}"),
    )


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
)

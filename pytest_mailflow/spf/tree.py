"""The SPF lookup tree: every include, redirect, a, mx, ptr and exists a check can reach.

The same walk serves two purposes: the gatherer runs it against a DNS source to fetch the
evidence, and the rules run it again over that evidence (no I/O) to count lookups, void lookups
and includes, and to show the tree in failure messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..dns.base import Answer, Question, ResolutionError
from ..dns.records import RecordSyntaxError, mx_record, txt_value
from ..names import absolute, relative
from .syntax import SpfRecord, Term, is_spf_record, parse

Lookup = Callable[[Question], Answer]

#: Stop walking a hostile tree after this many nested records (the RFC limit is 10 lookups).
MAX_DEPTH = 12
#: Stop after this many lookup terms in total: enough to show how far past 10 a tree goes.
MAX_TERMS = 60
#: What each lookup term asks first (hints for a concurrent source; the walk asks the rest).
_TERM_QUESTIONS = {"include": ("TXT",), "redirect": ("TXT",), "a": ("A", "AAAA"), "exists": ("A",), "mx": ("MX",)}


@dataclass
class TermVisit:
    term: Term
    lookups: int = 0
    void: bool | None = False  # None: cannot be known without a sender (macros, ptr)
    child: SpfNode | None = None
    note: str = ""
    mx_names: int | None = None
    error: ResolutionError | None = None


@dataclass
class SpfNode:
    """One name's SPF record and the terms reached from it."""

    domain: str
    status: str  # ok | none | multiple | unresolved | loop | truncated
    answer: Answer | None = None
    record: SpfRecord | None = None
    spf_records: tuple[str, ...] = ()
    error: ResolutionError | None = None
    visits: list[TermVisit] = field(default_factory=list)

    @property
    def lookups(self) -> int:
        return sum(v.lookups + (v.child.lookups if v.child else 0) for v in self.visits)

    @property
    def void_lookups(self) -> int:
        return sum((1 if v.void else 0) + (v.child.void_lookups if v.child else 0) for v in self.visits)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, SpfNode, TermVisit]]:
        for visit in self.visits:
            yield depth, self, visit
            if visit.child is not None:
                yield from visit.child.walk(depth + 1)

    def walk_paths(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], SpfNode, TermVisit]]:
        """Like :meth:`walk`, with the names from the root down to (and including) the visiting node."""
        here = (*path, self.domain)
        for visit in self.visits:
            yield here, self, visit
            if visit.child is not None:
                yield from visit.child.walk_paths(here)

    def nodes(self) -> Iterator[SpfNode]:
        yield self
        for visit in self.visits:
            if visit.child is not None:
                yield from visit.child.nodes()

    @property
    def errors(self) -> list[ResolutionError]:
        found = [n.error for n in self.nodes() if n.error is not None]
        found += [v.error for _, _, v in self.walk() if v.error is not None]
        return found

    @property
    def complete(self) -> bool:
        """True when every part of the tree was resolved (so counts are exact)."""
        return not self.errors and all(n.status != "truncated" for n in self.nodes())


def spf_records_of(answer: Answer) -> tuple[str, ...]:
    """The SPF records among the TXT records of a name (RFC 7208 §4.5)."""
    if answer.status != "NOERROR":
        return ()
    values = []
    for record in answer.records:
        try:
            value = txt_value(record)
        except RecordSyntaxError:
            continue
        if is_spf_record(value):
            values.append(value)
    return tuple(values)


class _Walker:
    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.terms_seen = 0

    def ask(self, name: str, rdtype: str) -> Answer:
        return self.lookup(Question.of(name, rdtype))

    def node(self, domain: str, ancestors: tuple[str, ...]) -> SpfNode:
        domain = relative(domain)
        if domain in ancestors:
            return SpfNode(domain, "loop")
        if len(ancestors) >= MAX_DEPTH or self.terms_seen >= MAX_TERMS:
            return SpfNode(domain, "truncated")
        try:
            answer = self.ask(domain, "TXT")
        except ResolutionError as exc:
            return SpfNode(domain, "unresolved", error=exc)
        records = spf_records_of(answer)
        if not records:
            return SpfNode(domain, "none", answer=answer)
        if len(records) > 1:
            return SpfNode(domain, "multiple", answer=answer, spf_records=records)
        record = parse(records[0])
        node = SpfNode(domain, "ok", answer=answer, record=record, spf_records=records)
        self.warm(domain, record.evaluated_terms)
        for term in record.evaluated_terms:
            node.visits.append(self.visit(domain, term, (*ancestors, domain)))
        return node

    def visit(self, domain: str, term: Term, ancestors: tuple[str, ...]) -> TermVisit:
        visit = TermVisit(term)
        if not term.causes_lookup:
            return visit
        self.terms_seen += 1
        visit.lookups = 1
        if term.kind == "ptr":
            visit.void = None
            visit.note = "depends on the sender's address; RFC 7208 §5.5 says not to use ptr"
            return visit
        if term.has_macro:
            visit.void = None
            visit.note = "uses macros: what it looks up depends on the sender"
            return visit
        target = term.target or domain
        try:
            if term.kind in {"include", "redirect"}:
                visit.child = self.node(target, ancestors)
                child_answer = visit.child.answer
                visit.void = child_answer is not None and child_answer.is_void
            elif term.kind == "a":
                visit.void = self._addresses_void(target)
            elif term.kind == "exists":
                visit.void = self.ask(target, "A").is_void
            elif term.kind == "mx":
                answer = self.ask(target, "MX")
                visit.void = answer.is_void
                hosts = [mx_record(r) for r in answer.records] if answer.status == "NOERROR" else []
                visit.mx_names = len(hosts)
                for host in hosts[:10]:
                    if not host.is_null:
                        self._addresses_void(host.exchange)
        except ResolutionError as exc:
            visit.error = exc
            visit.void = None
        return visit

    def warm(self, domain: str, terms: Iterable[Term]) -> None:
        """Name the questions a record's terms lead to, so a concurrent source asks them together."""
        warm = getattr(self.lookup, "warm", None)
        if warm is None:
            return
        questions: list[tuple[str, str]] = []
        for term in terms:
            if not term.causes_lookup or term.kind == "ptr" or term.has_macro:
                continue
            target = term.target or domain
            rdtypes = _TERM_QUESTIONS.get(term.kind, ())
            questions += [(target, rdtype) for rdtype in rdtypes]
        warm(questions)

    def _addresses_void(self, name: str) -> bool:
        # A name with no address of either family is void for every sender.
        return self.ask(name, "A").is_void and self.ask(name, "AAAA").is_void


def build_tree(domain: str, lookup: Lookup) -> SpfNode:
    """Walk the SPF tree of ``domain`` through ``lookup`` (a source or the gathered evidence)."""
    return _Walker(lookup).node(domain, ())


def render_tree(root: SpfNode) -> list[str]:
    """The lookup tree, numbering each term that counts toward the limit of 10."""
    lines = [f"{root.domain}: {_describe_node(root)}"]
    counter = 0
    for depth, _node, visit in root.walk():
        indent = "  " * (depth + 1)
        if not visit.lookups and not (visit.term.kind == "all" and visit.term.qualifier == "+"):
            continue  # the record text above already shows terms that cost nothing
        if visit.lookups:
            counter += 1
            label = f"{counter:>2}."
        else:
            label = "   "
        extra = []
        if visit.void:
            extra.append("void lookup")
        if visit.mx_names is not None:
            extra.append(f"{visit.mx_names} MX name{'s' if visit.mx_names != 1 else ''}")
        if visit.note:
            extra.append(visit.note)
        if visit.error is not None:
            extra.append(f"could not determine: {visit.error.cause}")
        suffix = f"  ({'; '.join(extra)})" if extra else ""
        lines.append(f"{indent}{label} {visit.term.text}{suffix}")
        if visit.child is not None:
            lines.append(f"{indent}     {visit.child.domain}: {_describe_node(visit.child)}")
    voids = root.void_lookups
    lines.append(f"total: {root.lookups} DNS-querying terms, {voids} void lookup{'' if voids == 1 else 's'}")
    return lines


def _describe_node(node: SpfNode) -> str:
    if node.status == "ok" and node.record is not None:
        return f'"{node.record.text}"'
    if node.status == "none":
        status = node.answer.status if node.answer else "no answer"
        return f"no SPF record ({status})"
    if node.status == "multiple":
        return f"{len(node.spf_records)} SPF records (permerror)"
    if node.status == "loop":
        return "include loop (already on the path)"
    if node.status == "truncated":
        return "not followed (tree too deep or too large)"
    return f"could not determine ({node.error.cause if node.error else 'unknown'})"


def includes_in(root: SpfNode) -> dict[str, str]:
    """Every include/redirect target in the tree, mapped to the name whose record names it."""
    found: dict[str, str] = {}
    for _depth, node, visit in root.walk():
        if visit.term.kind in {"include", "redirect"} and visit.term.target and not visit.term.has_macro:
            found.setdefault(relative(absolute(visit.term.target)), node.domain)
    return found

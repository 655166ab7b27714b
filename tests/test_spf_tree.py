"""The SPF lookup tree: counting DNS-querying terms and void lookups (RFC 7208 §4.6.4)."""

from __future__ import annotations

import re

import pytest

from pytest_mailflow.dns.base import Answer, Question, ResolutionError
from pytest_mailflow.dns.zone import ZoneSource
from pytest_mailflow.evidence import NotGathered
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.rules import REGISTRY
from pytest_mailflow.rules.base import CheckContext
from pytest_mailflow.spf.tree import (
    MAX_DEPTH,
    MAX_TERMS,
    SpfNode,
    TermVisit,
    build_tree,
    includes_in,
    render_tree,
    spf_records_of,
)
from tests.support.scenario import zone, zone_source


def source(zones: dict[str, str]) -> ZoneSource:
    """Zone files from ``{origin: body}``; names outside them raise ResolutionError (no fallback)."""
    return zone_source({origin: zone(origin, body) for origin, body in zones.items()}, providers=False)


def tree(zones: dict[str, str], domain: str = "a.example") -> SpfNode:
    return build_tree(domain, source(zones).resolve)


def spf(domain_record: str, **extra: str) -> dict[str, str]:
    """a.example with ``domain_record`` as its SPF record, plus more zones (origin with '_' for '.')."""
    zones = {"a.example": f'@ TXT "{domain_record}"'}
    zones.update({origin.replace("_", "."): body for origin, body in extra.items()})
    return zones


def visits(root: SpfNode) -> list[TermVisit]:
    return [visit for _depth, _node, visit in root.walk()]


def only_visit(root: SpfNode, text: str) -> TermVisit:
    (found,) = [visit for visit in visits(root) if visit.term.text == text]
    return found


def include_chain(lookups: int) -> dict[str, str]:
    """a.example includes i1.chain.test, which includes i2 ... up to ``lookups`` includes in all."""
    lines = [f'i{k} TXT "v=spf1 include:i{k + 1}.chain.test -all"' for k in range(1, lookups)]
    lines.append(f'i{lookups} TXT "v=spf1 ip4:192.0.2.0/24 -all"')
    return {"a.example": '@ TXT "v=spf1 include:i1.chain.test -all"', "chain.test": "\n".join(lines)}


# --- counting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lookups", [1, 2, 9, 10, 11])
def test_recursive_includes_are_counted(lookups):
    root = tree(include_chain(lookups))
    assert root.status == "ok"
    assert root.complete
    assert root.lookups == lookups
    assert len(list(root.nodes())) == lookups + 1
    assert root.void_lookups == 0


@pytest.mark.parametrize(("lookups", "passed"), [(10, True), (11, False)])
def test_the_lookup_limit_rule_uses_the_recursive_count(lookups, passed):
    evidence = gather(GatherRequest("a.example"), source(include_chain(lookups)))
    policy_domain = load_policy_text("mailflow: 1\ndomains:\n  a.example:\n", "p.yaml").domains[0]
    result = REGISTRY["MF-SPF-003"].check(evidence.view(), CheckContext("a.example", policy_domain))
    assert result.passed is passed
    assert f"SPF needs {lookups} DNS-querying terms" in result.summary


def test_lookups_are_counted_across_a_wide_and_deep_tree():
    zones = {
        "a.example": '@ TXT "v=spf1 a mx include:spf.vendor.test include:_spf.other.test -all"\n'
        "@ A 192.0.2.1\n@ MX 10 mx.a.example.\nmx A 192.0.2.2",
        "vendor.test": 'spf TXT "v=spf1 include:s1.vendor.test include:s2.vendor.test ?all"\n'
        's1 TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
        's2 TXT "v=spf1 a:out.vendor.test ip6:2001:db8::/32 -all"\nout A 198.51.100.9',
        "other.test": '_spf TXT "v=spf1 exists:x.other.test redirect=_spf2.other.test"\n'
        'x A 127.0.0.2\n_spf2 TXT "v=spf1 ptr -all"',
    }
    root = tree(zones)
    # a, mx, include, include | include, include | a | exists, redirect | ptr
    assert root.lookups == 10
    per_node = {node.domain: sum(v.lookups for v in node.visits) for node in root.nodes()}
    assert per_node == {
        "a.example": 4,
        "spf.vendor.test": 2,
        "s1.vendor.test": 0,
        "s2.vendor.test": 1,
        "_spf.other.test": 2,
        "_spf2.other.test": 1,
    }


@pytest.mark.parametrize(
    ("record", "cost"),
    [
        ("v=spf1 mx -all", 1),
        ("v=spf1 mx:a.example/24//64 -all", 1),
        ("v=spf1 a -all", 1),
        ("v=spf1 a:mail.a.example -all", 1),
        ("v=spf1 exists:mail.a.example -all", 1),
        ("v=spf1 ptr -all", 1),
        ("v=spf1 ptr:a.example -all", 1),
        ("v=spf1 include:b.example -all", 1),
        ("v=spf1 redirect=b.example", 1),
        ("v=spf1 ip4:192.0.2.0/24 -all", 0),
        ("v=spf1 ip6:2001:db8::/32 -all", 0),
        ("v=spf1 -all", 0),
        ("v=spf1 +all", 0),
        ("v=spf1 ?all", 0),
        ("v=spf1 -all exp=explain.a.example", 0),
        ("v=spf1 -all foo=bar", 0),
        ("v=spf1", 0),
    ],
)
def test_cost_of_each_term(record, cost):
    zones = {
        "a.example": f'@ TXT "{record}"\n@ A 192.0.2.1\n@ MX 10 mail.a.example.\nmail A 192.0.2.2\n'
        'explain TXT "not allowed"',
        "b.example": '@ TXT "v=spf1 ip4:198.51.100.0/24 -all"',
    }
    root = tree(zones)
    assert root.complete
    assert root.lookups == cost
    assert sum(v.lookups for v in root.visits) == cost


def test_terms_after_all_and_redirect_next_to_all_cost_nothing():
    zones = spf(
        "v=spf1 ip4:192.0.2.1 -all include:b.example a mx redirect=b.example",
        b_example='@ TXT "v=spf1 -all"',
    )
    root = tree(zones)
    assert root.lookups == 0
    assert [v.term.text for v in root.visits] == ["ip4:192.0.2.1", "-all"]


def test_the_same_include_twice_counts_twice():
    zones = {
        "a.example": '@ TXT "v=spf1 include:b.example include:c.example -all"',
        "b.example": '@ TXT "v=spf1 include:d.example -all"',
        "c.example": '@ TXT "v=spf1 include:d.example -all"',
        "d.example": '@ TXT "v=spf1 a:d.example -all"\n@ A 192.0.2.4',
    }
    root = tree(zones)
    assert root.lookups == 6  # 2 + (1 + 1) + (1 + 1): a diamond is not a loop
    assert all(node.status == "ok" for node in root.nodes())


def test_mx_counts_one_and_records_the_number_of_mx_names():
    zones = spf(
        "v=spf1 mx -all",
    )
    zones["a.example"] += "\n@ MX 10 mx1.a.example.\n@ MX 20 mx2.a.example.\n@ MX 30 mx3.a.example.\n"
    zones["a.example"] += "mx1 A 192.0.2.1\nmx2 AAAA 2001:db8::2\nmx3 A 192.0.2.3"
    root = tree(zones)
    visit = only_visit(root, "mx")
    assert visit.lookups == 1
    assert visit.mx_names == 3
    assert visit.void is False
    assert root.lookups == 1


def test_names_are_compared_case_insensitively_and_without_the_trailing_dot():
    zones = spf("v=spf1 include:B.Example. -all", b_example='@ TXT "v=spf1 -all"')
    root = tree(zones)
    child = only_visit(root, "include:B.Example.").child
    assert child is not None
    assert child.domain == "b.example"
    assert child.status == "ok"
    assert includes_in(root) == {"b.example": "a.example"}


def test_a_and_mx_without_a_domain_use_the_record_owner():
    zones = {
        "a.example": '@ TXT "v=spf1 include:b.example -all"',
        "b.example": '@ TXT "v=spf1 a mx -all"\n@ A 198.51.100.1',
    }
    root = tree(zones)
    assert only_visit(root, "a").void is False  # b.example has an A record (a.example has none)
    assert only_visit(root, "mx").void is True  # b.example has no MX


def test_split_txt_strings_are_joined():
    root = tree({"a.example": '@ TXT "v=spf1 include:b.example" " mx -all"', "b.example": '@ TXT "v=spf1 -all"'})
    assert root.record is not None
    assert root.record.text == "v=spf1 include:b.example mx -all"
    assert root.lookups == 2


# --- macros and ptr -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "include:%{d}._spf.a.example",
        "exists:%{i}._spf.%{d}",
        "a:%{l}.a.example",
        "mx:%{d}",
        "redirect=%{d}.spf.a.example",
    ],
)
def test_macro_terms_count_once_and_are_not_followed(term):
    root = tree(spf(f"v=spf1 {term}" + ("" if term.startswith("redirect") else " -all")))
    visit = only_visit(root, term)
    assert visit.lookups == 1
    assert visit.void is None
    assert visit.child is None
    assert "macros" in visit.note
    assert root.lookups == 1
    assert root.void_lookups == 0
    assert root.complete
    assert includes_in(root) == {}


def test_ptr_counts_once_and_its_voidness_is_unknown():
    root = tree(spf("v=spf1 ptr -all"))
    visit = only_visit(root, "ptr")
    assert visit.lookups == 1
    assert visit.void is None
    assert "RFC 7208 §5.5" in visit.note
    assert root.void_lookups == 0


# --- void lookups (RFC 7208 §4.6.4) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "void"),
    [
        pytest.param("include:gone.a.example", True, id="include-nxdomain"),
        pytest.param("include:host.a.example", True, id="include-nodata"),
        pytest.param("include:text.a.example", False, id="include-non-spf-txt"),
        pytest.param("include:b.example", False, id="include-spf"),
        pytest.param("redirect=gone.a.example", True, id="redirect-nxdomain"),
        pytest.param("redirect=host.a.example", True, id="redirect-nodata"),
        pytest.param("a:gone.a.example", True, id="a-nxdomain"),
        pytest.param("a:text.a.example", True, id="a-nodata"),
        pytest.param("a:empty.a.example", True, id="a-empty-non-terminal"),
        pytest.param("a:host.a.example", False, id="a-ipv4"),
        pytest.param("a:v6.a.example", False, id="a-only-aaaa"),
        pytest.param("a:alias.a.example", False, id="a-through-cname"),
        pytest.param("a:dangling.a.example", True, id="a-cname-to-nxdomain"),
        pytest.param("a:any.wild.a.example", False, id="a-wildcard"),
        pytest.param("mx:gone.a.example", True, id="mx-nxdomain"),
        pytest.param("mx:host.a.example", True, id="mx-nodata"),
        pytest.param("mx:a.example", False, id="mx-present"),
        pytest.param("exists:gone.a.example", True, id="exists-nxdomain"),
        pytest.param("exists:v6.a.example", True, id="exists-only-aaaa"),
        pytest.param("exists:host.a.example", False, id="exists-present"),
    ],
)
def test_void_lookups(term, void):
    body = (
        f'@ TXT "v=spf1 {term}{"" if term.startswith("redirect") else " -all"}"\n'
        "@ MX 10 host.a.example.\n"
        "host A 192.0.2.10\n"
        "v6 AAAA 2001:db8::10\n"
        'text TXT "hello"\n'
        "x.empty A 192.0.2.11\n"
        "alias CNAME host.a.example.\n"
        "dangling CNAME nothing.a.example.\n"
        "*.wild A 192.0.2.12\n"
    )
    root = tree({"a.example": body, "b.example": '@ TXT "v=spf1 -all"'})
    assert root.complete
    visit = only_visit(root, term)
    assert visit.void is void
    assert root.void_lookups == (1 if void else 0)


def test_include_of_a_name_without_spf_has_status_none():
    root = tree(spf("v=spf1 include:b.example -all", b_example='@ TXT "google-site-verification=x"'))
    child = only_visit(root, "include:b.example").child
    assert child is not None
    assert child.status == "none"
    assert child.record is None
    assert child.answer is not None
    assert child.answer.status == "NOERROR"
    assert root.void_lookups == 0
    assert root.complete


def test_include_of_a_name_with_two_spf_records_has_status_multiple():
    root = tree(spf("v=spf1 include:b.example -all", b_example='@ TXT "v=spf1 -all"\n@ TXT "v=spf1 mx -all"'))
    child = only_visit(root, "include:b.example").child
    assert child is not None
    assert child.status == "multiple"
    assert sorted(child.spf_records) == ["v=spf1 -all", "v=spf1 mx -all"]
    assert child.visits == []


def test_void_lookups_are_summed_through_includes():
    zones = {
        "a.example": '@ TXT "v=spf1 a:gone.a.example include:b.example -all"',
        "b.example": '@ TXT "v=spf1 mx:gone.b.example exists:gone.b.example include:gone.b.example -all"',
    }
    root = tree(zones)
    assert root.void_lookups == 4
    assert root.lookups == 5


def test_spf_records_of_ignores_other_txt_and_non_noerror():
    question = Question.of("a.example", "TXT")
    answer = Answer(question, "NOERROR", ('"v=spf1 -all"', '"v=spf10 mx"', '"other"', '"V=SPF1 mx"'))
    assert spf_records_of(answer) == ("v=spf1 -all", "V=SPF1 mx")
    assert spf_records_of(Answer(question, "NXDOMAIN")) == ()
    assert spf_records_of(Answer(question, "NODATA")) == ()


# --- loops, depth and unresolved parts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zones", "lookups"),
    [
        pytest.param({"a.example": '@ TXT "v=spf1 include:a.example -all"'}, 1, id="self-include"),
        pytest.param({"a.example": '@ TXT "v=spf1 redirect=a.example"'}, 1, id="self-redirect"),
        pytest.param({"a.example": '@ TXT "v=spf1 include:A.EXAMPLE. -all"'}, 1, id="self-include-case"),
        pytest.param(
            {
                "a.example": '@ TXT "v=spf1 include:b.example -all"',
                "b.example": '@ TXT "v=spf1 include:a.example -all"',
            },
            2,
            id="two-names",
        ),
        pytest.param(
            {
                "a.example": '@ TXT "v=spf1 include:b.example -all"',
                "b.example": '@ TXT "v=spf1 include:c.example -all"',
                "c.example": '@ TXT "v=spf1 redirect=b.example"',
            },
            3,
            id="loop-below-the-root",
        ),
    ],
)
def test_include_loops_stop(zones, lookups):
    root = tree(zones)
    statuses = [node.status for node in root.nodes()]
    assert statuses.count("loop") == 1
    assert statuses[-1] == "loop"
    assert root.lookups == lookups
    (loop,) = [node for node in root.nodes() if node.status == "loop"]
    assert loop.visits == []
    assert "include loop" in "\n".join(render_tree(root))


def test_deep_trees_are_truncated():
    root = tree(include_chain(MAX_DEPTH + 3))
    statuses = [node.status for node in root.nodes()]
    assert statuses[-1] == "truncated"
    assert statuses[:-1] == ["ok"] * MAX_DEPTH
    assert not root.complete
    assert root.lookups == MAX_DEPTH
    assert "not followed" in render_tree(root)[-2]


def test_large_trees_are_truncated():
    record = "v=spf1 " + "a " * MAX_TERMS + "include:b.example -all"
    root = tree({"a.example": f'@ TXT "{record}"\n@ A 192.0.2.1', "b.example": '@ TXT "v=spf1 -all"'})
    child = only_visit(root, "include:b.example").child
    assert child is not None
    assert child.status == "truncated"
    assert root.lookups == MAX_TERMS + 1
    assert not root.complete


def test_an_unresolved_include_makes_the_tree_incomplete():
    root = tree(spf("v=spf1 include:spf.outside.test mx -all"))
    child = only_visit(root, "include:spf.outside.test").child
    assert child is not None
    assert child.status == "unresolved"
    assert child.error is not None
    assert child.error.question == Question.of("spf.outside.test", "TXT")
    assert not root.complete
    assert root.errors == [child.error]
    assert root.lookups == 2


@pytest.mark.parametrize("term", ["a:host.outside.test", "mx:outside.test", "exists:x.outside.test"])
def test_an_unresolved_term_keeps_its_error_and_unknown_voidness(term):
    root = tree(spf(f"v=spf1 {term} -all"))
    visit = only_visit(root, term)
    assert visit.lookups == 1
    assert visit.void is None
    assert isinstance(visit.error, ResolutionError)
    assert root.errors == [visit.error]
    assert not root.complete
    assert "could not determine" in "\n".join(render_tree(root))


def test_an_unresolved_root():
    root = tree({}, "a.example")
    assert root.status == "unresolved"
    assert root.error is not None
    assert root.visits == []
    assert not root.complete


class _Servfail:
    """A zone source that cannot answer some questions (as on SERVFAIL or a timeout)."""

    def __init__(self, inner: ZoneSource, failing: set[tuple[str, str]]) -> None:
        self.inner = inner
        self.failing = {Question.of(name, rdtype) for name, rdtype in failing}

    def resolve(self, question: Question) -> Answer:
        if question in self.failing:
            raise ResolutionError(question, "SERVFAIL", provenance="test")
        return self.inner.resolve(question)

    def describe(self) -> str:
        return "servfail test source"


def test_servfail_inside_a_zone_is_an_error_not_a_void_lookup():
    zones = spf("v=spf1 a:host.a.example include:b.example -all", b_example='@ TXT "v=spf1 -all"')
    zones["a.example"] += "\nhost A 192.0.2.1"
    failing = _Servfail(source(zones), {("host.a.example", "A"), ("b.example", "TXT")})
    root = build_tree("a.example", failing.resolve)
    assert only_visit(root, "a:host.a.example").void is None
    child = only_visit(root, "include:b.example").child
    assert child is not None
    assert child.status == "unresolved"
    assert len(root.errors) == 2
    assert root.void_lookups == 0


# --- rendering -----------------------------------------------------------------------------------


def _numbers(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines if (m := re.match(r"^\s+(\d+)\. ", line))]


def test_render_tree_numbers_every_lookup_once():
    zones = {
        "a.example": '@ TXT "v=spf1 ip4:192.0.2.0/24 a:gone.a.example mx include:b.example redirect=c.example"\n'
        "@ MX 10 mx1.a.example.\n@ MX 20 mx2.a.example.\nmx1 A 192.0.2.1\nmx2 A 192.0.2.2",
        "b.example": '@ TXT "v=spf1 exists:%{i}.b.example include:c.example +all"',
        "c.example": '@ TXT "v=spf1 ptr -all"',
    }
    root = tree(zones)
    lines = render_tree(root)
    assert lines[0] == f'a.example: "{root.record.text if root.record else ""}"'
    assert _numbers(lines) == list(range(1, root.lookups + 1))
    assert root.lookups == 8  # c.example's ptr is reached twice: through b.example and through the redirect
    assert lines[-1] == f"total: 8 DNS-querying terms, {root.void_lookups} void lookup" + (
        "" if root.void_lookups == 1 else "s"
    )
    assert root.void_lookups == 1
    text = "\n".join(lines)
    assert "a:gone.a.example  (void lookup)" in text
    assert "mx  (2 MX names)" in text
    assert "uses macros" in text
    assert "+all" in text  # shown (unnumbered) because it authorises everyone
    assert not any("ip4:" in line for line in lines[1:] if "example: " not in line)  # free terms are not listed
    assert '       b.example: "v=spf1 exists:%{i}.b.example include:c.example +all"' in lines


def test_render_tree_of_the_ten_lookup_chain():
    root = tree(include_chain(10))
    lines = render_tree(root)
    assert _numbers(lines) == list(range(1, 11))
    assert lines[-1] == "total: 10 DNS-querying terms, 0 void lookups"
    # Each level is indented one step more than its parent.
    indents = [len(line) - len(line.lstrip()) for line in lines if re.match(r"^\s+\d+\. ", line)]
    assert indents == sorted(indents)
    assert len(set(indents)) == 10


@pytest.mark.parametrize(
    ("zones", "text"),
    [
        ({"a.example": '@ TXT "hello"'}, "a.example: no SPF record (NOERROR)"),
        ({"a.example": "@ A 192.0.2.1"}, "a.example: no SPF record (NODATA)"),
        ({"a.example": '@ TXT "v=spf1 -all"\n@ TXT "v=spf1 ~all"'}, "a.example: 2 SPF records (permerror)"),
    ],
)
def test_render_tree_describes_the_root(zones, text):
    lines = render_tree(tree(zones))
    assert lines == [text, "total: 0 DNS-querying terms, 0 void lookups"]


def test_render_tree_of_a_nxdomain_root():
    lines = render_tree(tree({"a.example": ""}, "gone.a.example"))
    assert lines[0] == "gone.a.example: no SPF record (NXDOMAIN)"


# --- includes_in and evidence replay -------------------------------------------------------------


def test_includes_in_maps_every_include_and_redirect_to_its_parent():
    zones = {
        "a.example": '@ TXT "v=spf1 include:b.example include:%{d}.x.example -all include:late.example"',
        "b.example": '@ TXT "v=spf1 include:c.example redirect=d.example"',
        "c.example": '@ TXT "v=spf1 -all"',
        "d.example": '@ TXT "v=spf1 -all"',
    }
    root = tree(zones)
    # b.example has no 'all', so its redirect is evaluated; include:late.example after -all is not.
    assert includes_in(root) == {"b.example": "a.example", "c.example": "b.example", "d.example": "b.example"}


def test_the_tree_rebuilt_from_evidence_matches_the_live_walk():
    zones = {
        "a.example": '@ TXT "v=spf1 a:gone.a.example mx include:b.example include:outside.test -all"\n'
        "@ MX 10 mx.a.example.\nmx A 192.0.2.1",
        "b.example": '@ TXT "v=spf1 exists:%{i}.b.example redirect=c.example"',
        "c.example": '@ TXT "v=spf1 ptr -all"',
    }
    src = source(zones)
    live = build_tree("a.example", src.resolve)
    evidence = gather(GatherRequest("a.example"), src)
    view = evidence.view()
    replayed = build_tree("a.example", view.lookup)
    assert render_tree(replayed) == render_tree(live)
    assert replayed.lookups == live.lookups == 7
    assert len(replayed.errors) == 1
    assert not isinstance(replayed.errors[0], NotGathered)

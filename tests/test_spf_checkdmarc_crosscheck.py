"""The project's SPF lookup and void-lookup counts next to checkdmarc's, for the same zone data.

Both read the same zones: the project through its lookup tree (``build_tree``), checkdmarc 6.x through
``checkdmarc.spf.check_spf`` fed by :func:`checkdmarc_fed_by` (no network).

"The RFC count" of a record is what RFC 7208 §4.6.4 defines, counted over the whole record: every
include, a, mx, ptr and exists mechanism and redirect modifier that evaluation can reach, recursively
through include and redirect (terms after 'all', and a redirect next to an 'all', are never reached:
§5.1, §6.1), and among those the terms whose DNS query returns NXDOMAIN or no answer records ("void
lookups"). A record over a limit is counted to its end: the evaluation would stop at the limit with
permerror, and the count says how far over the record is.

Where checkdmarc disagrees, the project must give the RFC count, and checkdmarc's differing value is
asserted too, with the section of RFC 7208 that decides: the case documents the disagreement and fails
the day checkdmarc changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import checkdmarc.spf
import pytest

from pytest_mailflow.dns.checkdmarc_bridge import checkdmarc_fed_by
from pytest_mailflow.dns.zone import ZoneSource
from pytest_mailflow.spf.tree import build_tree
from tests.support.scenario import zone, zone_source

VENDOR = (
    'spf TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
    'old TXT "v=spf1 ip4:203.0.113.0/24 -all"\n'
    'nested TXT "v=spf1 include:spf.vendor.test include:old.vendor.test ~all"\n'
    'two TXT "v=spf1 -all"\ntwo TXT "v=spf1 ~all"\n'
    'text TXT "just text"\n'
)
ORGANISATION = (
    "@ A 192.0.2.1\n@ MX 10 mx1.a.example.\n@ MX 20 mx2.a.example.\nmx1 A 192.0.2.2\nmx2 AAAA 2001:db8::2\n"
    'x A 127.0.0.2\nv6 AAAA 2001:db8::1\nnoaddr TXT "no address here"\n'
    "mxna MX 10 nohost.a.example.\n"
    + "".join(f"many MX {n} m{n}.a.example.\nm{n} A 192.0.2.{n + 10}\n" for n in range(11))
    + "".join(f"h{n} A 192.0.2.{n + 50}\n" for n in range(12))
)


def chain(lookups: int) -> str:
    """i1.chain.test includes i2 ... ``lookups`` includes deep, counting the one that reaches i1."""
    lines = [f'i{k} TXT "v=spf1 include:i{k + 1}.chain.test -all"' for k in range(1, lookups)]
    lines.append(f'i{lookups} TXT "v=spf1 ip4:192.0.2.0/24 -all"')
    return "\n".join(lines)


@dataclass(frozen=True)
class Case:
    record: str
    #: (DNS-querying terms, void lookups) as RFC 7208 §4.6.4 counts them.
    rfc: tuple[int, int]
    #: checkdmarc's (dns_lookups, void_dns_lookups) where they differ from the RFC count (None: no count).
    checkdmarc: tuple[int | None, int | None] | None = None
    #: Why the RFC count is right, citing the section that decides.
    why: str = ""
    chain: int = 3


CASES: dict[str, Case] = {
    # --- plain and nested includes --------------------------------------------------------------
    "plain-includes": Case("v=spf1 include:spf.vendor.test include:old.vendor.test -all", (2, 0)),
    "nested-includes": Case("v=spf1 include:nested.vendor.test -all", (3, 0)),
    "duplicate-include": Case("v=spf1 include:spf.vendor.test include:spf.vendor.test -all", (2, 0)),
    "include-chain-10": Case("v=spf1 include:i1.chain.test -all", (10, 0), chain=10),
    # --- a, mx, ptr, exists ---------------------------------------------------------------------
    "a-mx-ptr-exists": Case("v=spf1 a mx ptr exists:x.a.example -all", (4, 0)),
    "a-with-only-aaaa": Case("v=spf1 a:v6.a.example -all", (1, 0)),
    "mx-host-without-address": Case("v=spf1 mx:mxna.a.example -all", (1, 0)),
    "ptr-target-without-address": Case(
        "v=spf1 ptr:noaddr.a.example -all",
        (1, 0),
        checkdmarc=(1, 1),
        # RFC 7208 §5.5: ptr looks up the sender's reverse name (and the A/AAAA records of the names it
        # finds); the domain-spec is only compared with those names, never queried. What ptr looks up
        # depends on the sender, so no void lookup can be charged to the record. checkdmarc queries A/AAAA
        # of the domain-spec itself and counts a void lookup when it has none.
        why="§5.5: ptr never queries its domain-spec",
    ),
    "ptr-target-nxdomain": Case(
        "v=spf1 ptr:gone.a.example -all",
        (1, 0),
        checkdmarc=(1, 1),
        why="§5.5: ptr never queries its domain-spec",
    ),
    "exists-void": Case(
        "v=spf1 exists:gone.a.example -all",
        (1, 1),
        checkdmarc=(1, 0),
        # RFC 7208 §5.7: exists performs an A query for its domain; §4.6.4: a query that returns NXDOMAIN
        # or no records is a void lookup. checkdmarc counts exists as a lookup but never sends the query,
        # so it never sees the NXDOMAIN.
        why="§5.7 + §4.6.4: the exists A query returns NXDOMAIN, a void lookup",
    ),
    # --- redirect -------------------------------------------------------------------------------
    "redirect": Case("v=spf1 redirect=spf.vendor.test", (1, 0)),
    "redirect-next-to-all": Case("v=spf1 -all redirect=spf.vendor.test", (0, 0)),
    "terms-after-all": Case("v=spf1 -all include:spf.vendor.test", (0, 0)),
    "exp-is-not-counted": Case("v=spf1 -all exp=x.a.example", (0, 0)),
    "redirect-nxdomain": Case(
        "v=spf1 redirect=gone.vendor.test",
        (1, 1),
        checkdmarc=(None, None),
        # RFC 7208 §4.6.4: the redirect's TXT query is a DNS-querying term and its NXDOMAIN a void lookup;
        # §6.1 makes the result permerror. checkdmarc ends with that error and reports no counts.
        why="§4.6.4 counts the redirect and its void lookup; §6.1 then makes it a permerror",
    ),
    # --- macros: one lookup each, never expanded ------------------------------------------------
    "macros": Case(
        "v=spf1 exists:%{i}._spf.%{d} include:%{d}.x.a.example a:%{l}.a.example mx:%{d} ptr:%{d} -all", (5, 0)
    ),
    "macro-redirect": Case("v=spf1 redirect=%{d}.spf.vendor.test", (1, 0)),
    # --- void lookups ---------------------------------------------------------------------------
    "two-voids": Case("v=spf1 a:gone.a.example mx:gone.a.example -all", (2, 2)),
    "nodata-void": Case("v=spf1 a:noaddr.a.example -all", (1, 1)),
    "four-voids": Case(
        "v=spf1 a:g1.a.example a:g2.a.example a:g3.a.example a:g4.a.example -all",
        (4, 4),
        checkdmarc=(None, 3),
        # RFC 7208 §4.6.4 defines both counts over the terms of the record: four a terms, each a void
        # lookup. checkdmarc stops at the third void lookup (its permerror) and then reports no lookup count.
        why="§4.6.4: four DNS-querying terms, each a void lookup",
    ),
    "include-nxdomain": Case(
        "v=spf1 include:gone.vendor.test -all",
        (1, 1),
        checkdmarc=(None, None),
        # RFC 7208 §4.6.4: the include's TXT query returns NXDOMAIN, a void lookup; §5.2 makes the include
        # a permerror, after which checkdmarc reports no counts.
        why="§4.6.4 counts the include and its void lookup; §5.2 then makes it a permerror",
    ),
    "include-without-spf": Case(
        "v=spf1 include:text.vendor.test -all",
        (1, 0),
        checkdmarc=(None, None),
        # RFC 7208 §4.6.4: a void lookup is a query answered with NXDOMAIN or with no records; this TXT
        # query returns a record (not an SPF one), so it is not void. §5.2 makes the include a permerror;
        # checkdmarc reports no counts then (internally it charges a void lookup for it).
        why="§4.6.4: the TXT answer has a record, so the lookup is not void; §5.2 permerror",
    ),
    "include-with-two-records": Case(
        "v=spf1 include:two.vendor.test -all",
        (1, 0),
        checkdmarc=(None, None),
        why="§4.6.4 counts the include; §4.5 and §5.2 make two records a permerror",
    ),
    # --- over the limit -------------------------------------------------------------------------
    "include-chain-11": Case("v=spf1 include:i1.chain.test -all", (11, 0), chain=11),
    "include-chain-12": Case(
        "v=spf1 include:i1.chain.test -all",
        (12, 0),
        checkdmarc=(1, 0),
        # RFC 7208 §4.6.4 counts DNS-querying terms recursively through includes: 12 here. checkdmarc's
        # parse of the nested i1.chain.test record raises at 11 (its error says "11/10"), and the top level
        # reports only the one term it had counted before.
        why="§4.6.4: terms are counted recursively across includes",
        chain=12,
    ),
    "twelve-flat-terms": Case("v=spf1 " + " ".join(f"a:h{n}.a.example" for n in range(12)) + " -all", (12, 0)),
    "void-past-the-limit": Case(
        "v=spf1 " + " ".join("a:x.a.example" for _ in range(10)) + " a:gone.a.example -all",
        (11, 1),
        checkdmarc=(11, 0),
        # RFC 7208 §4.6.4: the 11th term, a:gone.a.example, is a DNS-querying term whose A query returns
        # NXDOMAIN. checkdmarc counts the term but, being over the limit, no longer queries it.
        why="§4.6.4: the 11th term's query returns NXDOMAIN, a void lookup",
    ),
    "mx-with-11-names": Case(
        # One DNS-querying term; the 11 MX names make the mx mechanism a permerror (§4.6.4), which MF-SPF-014
        # reports. checkdmarc agrees on the counts and flags the error.
        "v=spf1 mx:many.a.example -all",
        (1, 0),
    ),
}


def source(case: Case) -> ZoneSource:
    return zone_source(
        {
            "a.example": zone("a.example", f'@ TXT "{case.record}"\n{ORGANISATION}'),
            "vendor.test": zone("vendor.test", VENDOR),
            "chain.test": zone("chain.test", chain(case.chain)),
        },
        providers=False,
    )


def checkdmarc_result(dns: ZoneSource) -> dict[str, Any]:
    with checkdmarc_fed_by(dns.resolve) as kwargs:
        result: dict[str, Any] = checkdmarc.spf.check_spf("a.example", **kwargs)
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_lookup_counts_match_the_rfc_and_checkdmarc(name: str) -> None:
    case = CASES[name]
    dns = source(case)
    root = build_tree("a.example", dns.resolve)
    assert not root.errors
    # The project always gives the RFC count.
    assert (root.lookups, root.void_lookups) == case.rfc

    theirs = checkdmarc_result(dns)
    counted = (theirs.get("dns_lookups"), theirs.get("void_dns_lookups"))
    if case.checkdmarc is None:
        assert counted == case.rfc, f"checkdmarc now disagrees: {theirs}"
    else:
        assert case.why, "every documented disagreement says which RFC section decides"
        assert case.checkdmarc != case.rfc
        assert counted == case.checkdmarc, f"checkdmarc changed ({case.why}): {theirs}"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("include-chain-11", "requires 11/10 maximum DNS lookups"),
        ("include-chain-12", "requires 11/10 maximum DNS lookups"),
        ("twelve-flat-terms", "requires 12/10 maximum DNS lookups"),
        ("four-voids", "3/2 maximum void DNS lookups"),
        ("mx-with-11-names", "has more than 10 MX records"),
        ("include-nxdomain", "has no SPF record"),
        ("include-without-spf", "has no SPF record"),
        ("include-with-two-records", "multiple SPF TXT records"),
        ("redirect-nxdomain", "does not exist"),
    ],
)
def test_checkdmarc_and_the_project_agree_that_these_records_are_broken(name: str, error: str) -> None:
    dns = source(CASES[name])
    theirs = checkdmarc_result(dns)
    assert theirs["valid"] is False
    assert error in theirs["error"]
    root = build_tree("a.example", dns.resolve)
    broken = (
        root.lookups > 10
        or root.void_lookups > 2
        or any(v.mx_names is not None and v.mx_names > 10 for _d, _n, v in root.walk())
        or any(node.status in {"none", "multiple"} for node in root.nodes() if node is not root)
    )
    assert broken


def test_an_include_loop_is_an_error_for_both():
    dns = zone_source(
        {
            "a.example": zone("a.example", '@ TXT "v=spf1 include:b.example -all"'),
            "b.example": zone("b.example", '@ TXT "v=spf1 include:a.example -all"'),
        },
        providers=False,
    )
    theirs = checkdmarc_result(dns)
    assert theirs["valid"] is False
    assert "Include loop: a.example -> b.example -> a.example" in theirs["error"]
    root = build_tree("a.example", dns.resolve)
    assert [node.status for node in root.nodes()] == ["ok", "ok", "loop"]
